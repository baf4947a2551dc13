/* A library built for env plugin ABI version 1, before multi-agent envs:
 * its table is version 1's, which this file spells out as the version-1
 * header declared it (the fields up to `step`), so Rill must read nothing
 * past it. Tally-v0: Discrete(3), observation float32 [1] = the sum of the
 * actions so far; each step pays its action; 5 steps. */
#include <stdio.h>
#include <stdlib.h>

#include "envs/plugin/rill_env_plugin.h"

typedef struct RillEnvPluginV1 {
  uint32_t abi_version;
  uint32_t struct_size;
  int32_t num_envs;
  const RillEnvInfo* envs;
  void* (*create)(int32_t env_index, uint64_t seed, char* error, size_t error_size);
  void (*destroy)(void* env);
  int32_t (*reset)(void* env, void* observation, char* error, size_t error_size);
  int32_t (*step)(void* env, const float* action, void* observation, RillEnvStepResult* result, char* error,
                  size_t error_size);
} RillEnvPluginV1;

static const RillEnvInfo kEnvs[] = {{"Tally-v0", 1, {1}, RILL_DTYPE_FLOAT32, 3, 0, NULL, NULL, 5}};

static void* Create(int32_t env_index, uint64_t seed, char* error, size_t error_size) {
  (void)env_index;
  (void)seed;
  (void)error;
  (void)error_size;
  return calloc(1, sizeof(float));
}
static void Destroy(void* env) { free(env); }
static int32_t Reset(void* env, void* observation, char* error, size_t error_size) {
  (void)error;
  (void)error_size;
  *(float*)env = 0.f;
  *(float*)observation = 0.f;
  return 0;
}
static int32_t Step(void* env, const float* action, void* observation, RillEnvStepResult* result, char* error,
                    size_t error_size) {
  (void)error;
  (void)error_size;
  float* sum = (float*)env;
  *sum += action[0];
  *(float*)observation = *sum;
  result->reward = action[0];
  result->terminated = 0;
  result->truncated = 0;
  return 0;
}

static const RillEnvPluginV1 kPlugin = {1, sizeof(RillEnvPluginV1), 1, kEnvs, Create, Destroy, Reset, Step};

/* Declared by the header with the current table's type; an old library's
 * symbol returned its own, as this one does. */
RILL_ENV_PLUGIN_EXPORT const RillEnvPlugin* rill_env_plugin(void) { return (const RillEnvPlugin*)(const void*)&kPlugin; }
