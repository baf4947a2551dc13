/* A library built for env plugin ABI version 3, before Dict observations:
 * its table is version 3's, which this file spells out as the version-3
 * header declared it (the fields up to `agent_action_masks`). What follows
 * it in memory here is not NULL, so Rill must read nothing past it.
 * Switch-v0: Discrete(2), observation float32 [3] = the steps so far, then
 * its action mask (action 1 only after an even step); 5 steps. */
#include <stdint.h>
#include <stdlib.h>

#include "envs/plugin/rill_env_plugin.h"

typedef struct RillEnvPluginV3 {
  uint32_t abi_version;
  uint32_t struct_size;
  int32_t num_envs;
  const RillEnvInfo* envs;
  void* (*create)(int32_t env_index, uint64_t seed, char* error, size_t error_size);
  void (*destroy)(void* env);
  int32_t (*reset)(void* env, void* observation, char* error, size_t error_size);
  int32_t (*step)(void* env, const float* action, void* observation, RillEnvStepResult* result, char* error,
                  size_t error_size);
  int32_t num_multi_agent_envs;
  const RillMultiAgentEnvInfo* multi_agent_envs;
  void* (*create_multi_agent)(int32_t env_index, uint64_t seed, char* error, size_t error_size);
  void (*destroy_multi_agent)(void* env);
  int32_t (*reset_multi_agent)(void* env, float* const* observations, char* error, size_t error_size);
  int32_t (*step_multi_agent)(void* env, const float* const* actions, float* const* observations,
                              RillEnvStepResult* results, char* error, size_t error_size);
  int32_t (*multi_agent_state)(void* env, float* state, char* error, size_t error_size);
  const int32_t* env_action_masks;
  const int32_t* const* agent_action_masks;
} RillEnvPluginV3;

static const RillEnvInfo kEnvs[] = {{"Switch-v0", 1, {3}, RILL_DTYPE_FLOAT32, 2, 0, NULL, NULL, 5}};
static const int32_t kMasks[] = {1};

static void* Create(int32_t env_index, uint64_t seed, char* error, size_t error_size) {
  (void)env_index;
  (void)seed;
  (void)error;
  (void)error_size;
  return calloc(1, sizeof(float));
}
static void Destroy(void* env) { free(env); }
static void Observe(float steps, float* observation) {
  observation[0] = steps;
  observation[1] = 1.f;
  observation[2] = ((int)steps % 2 == 0) ? 1.f : 0.f;
}
static int32_t Reset(void* env, void* observation, char* error, size_t error_size) {
  (void)error;
  (void)error_size;
  *(float*)env = 0.f;
  Observe(0.f, (float*)observation);
  return 0;
}
static int32_t Step(void* env, const float* action, void* observation, RillEnvStepResult* result, char* error,
                    size_t error_size) {
  (void)error;
  (void)error_size;
  float* steps = (float*)env;
  *steps += 1.f;
  Observe(*steps, (float*)observation);
  result->reward = action[0];
  result->terminated = 0;
  result->truncated = 0;
  return 0;
}

/* The table, then words that a reader past its end would take for a
 * version-4 table's env_dict_spaces, reset_dict and step_dict. */
static const struct {
  RillEnvPluginV3 table;
  uintptr_t after[3];
} kPlugin = {{3, sizeof(RillEnvPluginV3), 1, kEnvs, Create, Destroy, Reset, Step, 0, NULL, NULL, NULL, NULL, NULL,
              NULL, kMasks, NULL},
             {8, 16, 24}};

/* Declared by the header with the current table's type; an old library's
 * symbol returned its own, as this one does. */
RILL_ENV_PLUGIN_EXPORT const RillEnvPlugin* rill_env_plugin(void) {
  return (const RillEnvPlugin*)(const void*)&kPlugin.table;
}
