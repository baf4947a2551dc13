/* Action masks of a multi-agent env (ABI version 3). Duo-v0: "picker",
 * Discrete(3), observes float32 [4] (a step count, then its mask: only
 * action (step mod 3) is allowed) and "mover", Box [-1, 1], observes [2]
 * unmasked; 4 steps. Built once per BAD_CASE (0: none):
 *   1: the mask flag set on mover, a Box agent;
 *   2: a single-agent env, Tiny-v0, flagged masked with observations of
 *      [3] for Discrete(3): no room for a mask after anything else. */
#include <stdlib.h>

#include "envs/plugin/rill_env_plugin.h"

#ifndef BAD_CASE
#define BAD_CASE 0
#endif

typedef struct Duo {
  int steps;
} Duo;

static void Observe(const Duo* duo, float* const* observations) {
  observations[0][0] = (float)duo->steps;
  for (int a = 0; a < 3; ++a) observations[0][1 + a] = a == duo->steps % 3 ? 1.f : 0.f;
  observations[1][0] = (float)duo->steps;
  observations[1][1] = 0.f;
}

static void* Create(int32_t env_index, uint64_t seed, char* error, size_t error_size) {
  (void)env_index;
  (void)seed;
  (void)error;
  (void)error_size;
  return calloc(1, sizeof(Duo));
}
static void Destroy(void* env) { free(env); }
static int32_t Reset(void* env, float* const* observations, char* error, size_t error_size) {
  (void)error;
  (void)error_size;
  Duo* duo = (Duo*)env;
  duo->steps = 0;
  Observe(duo, observations);
  return 0;
}
static int32_t Step(void* env, const float* const* actions, float* const* observations, RillEnvStepResult* results,
                    char* error, size_t error_size) {
  (void)error;
  (void)error_size;
  Duo* duo = (Duo*)env;
  const int allowed = duo->steps % 3;
  ++duo->steps;
  for (int k = 0; k < 2; ++k) {
    results[k].reward = k == 0 && actions[0] != NULL && (int)actions[0][0] == allowed ? 1.f : 0.f;
    results[k].terminated = 0;
    results[k].truncated = 0;
  }
  Observe(duo, observations);
  return 0;
}

static void* CreateTiny(int32_t env_index, uint64_t seed, char* error, size_t error_size) {
  return Create(env_index, seed, error, error_size);
}
static int32_t ResetTiny(void* env, void* observation, char* error, size_t error_size) {
  (void)env;
  (void)error;
  (void)error_size;
  float* obs = (float*)observation;
  obs[0] = obs[1] = obs[2] = 1.f;
  return 0;
}
static int32_t StepTiny(void* env, const float* action, void* observation, RillEnvStepResult* result, char* error,
                        size_t error_size) {
  (void)action;
  result->reward = 0.f;
  result->terminated = 0;
  result->truncated = 0;
  return ResetTiny(env, observation, error, error_size);
}

static const float kLow[] = {-1.f};
static const float kHigh[] = {1.f};
static const RillAgentInfo kAgents[] = {
    {"picker", 1, {4}, 3, 0, NULL, NULL},
    {"mover", 1, {2}, 0, 1, kLow, kHigh},
};
static const RillMultiAgentEnvInfo kMultiAgentEnvs[] = {{"Duo-v0", 2, kAgents, 0, {0}, 4}};
static const int32_t kAgentMasks[] = {1, BAD_CASE == 1 ? 1 : 0};
static const int32_t* const kMultiAgentMasks[] = {kAgentMasks};
static const RillEnvInfo kEnvs[] = {{"Tiny-v0", 1, {3}, RILL_DTYPE_FLOAT32, 3, 0, NULL, NULL, 4}};
static const int32_t kEnvMasks[] = {BAD_CASE == 2 ? 1 : 0};

static const RillEnvPlugin kPlugin = {
    RILL_ENV_PLUGIN_ABI_VERSION, sizeof(RillEnvPlugin), 1, kEnvs, CreateTiny, Destroy, ResetTiny, StepTiny,
    1, kMultiAgentEnvs, Create, Destroy, Reset, Step, NULL,
    kEnvMasks, kMultiAgentMasks,
};

RILL_ENV_PLUGIN_EXPORT const RillEnvPlugin* rill_env_plugin(void) { return &kPlugin; }
