/* A plugin, in C, whose envs misbehave on purpose, for plugin_envs_test:
 *   Lever-v0    Discrete(2), observation float32 [2]: lever 0 pays 1, lever 1
 *               makes step fail with "lever 1 is broken"; a seed of 7 makes
 *               reset fail with "cannot reset with seed 7".
 *   Drift-v0    Box [-1, 1] of 1, observation float32 [1]: an action above
 *               0.5 returns a NaN observation, one below -0.5 a NaN reward.
 *   Camera-v0   Discrete(3), uint8 observations [2, 4, 4]: after reset every
 *               pixel is the seed % 200; step t with action a sets channel 0
 *               to t and channel 1 to 100 + 50 * a, and pays a.
 *   Broken-v0   create fails with "no licence".
 * Compiling it as C also checks that rill_env_plugin.h is plain C. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envs/plugin/rill_env_plugin.h"

typedef struct Faulty {
  int32_t kind;
  uint64_t seed;
  int32_t steps;
} Faulty;

static const float kLow[] = {-1.f};
static const float kHigh[] = {1.f};

static const RillEnvInfo kEnvs[] = {
    {"Lever-v0", 1, {2}, RILL_DTYPE_FLOAT32, 2, 0, NULL, NULL, 50},
    {"Drift-v0", 1, {1}, RILL_DTYPE_FLOAT32, 0, 1, kLow, kHigh, 100},
    {"Camera-v0", 3, {2, 4, 4}, RILL_DTYPE_UINT8, 3, 0, NULL, NULL, 10},
    {"Broken-v0", 1, {1}, RILL_DTYPE_FLOAT32, 2, 0, NULL, NULL, 10},
};

static void* Create(int32_t env_index, uint64_t seed, char* error, size_t error_size) {
  if (env_index == 3) {
    snprintf(error, error_size, "no licence");
    return NULL;
  }
  Faulty* env = (Faulty*)calloc(1, sizeof(Faulty));
  env->kind = env_index;
  env->seed = seed;
  return env;
}

static void Destroy(void* env) { free(env); }

static int32_t Reset(void* handle, void* observation, char* error, size_t error_size) {
  Faulty* env = (Faulty*)handle;
  env->steps = 0;
  if (env->kind == 0 && env->seed == 7) {
    snprintf(error, error_size, "cannot reset with seed 7");
    return 1;
  }
  if (env->kind == 2) {
    memset(observation, (int)(env->seed % 200), 32);
  } else {
    float* obs = (float*)observation;
    obs[0] = 0.f;
    if (env->kind == 0) obs[1] = 0.f;
  }
  return 0;
}

static int32_t Step(void* handle, const float* action, void* observation, RillEnvStepResult* result, char* error,
                    size_t error_size) {
  Faulty* env = (Faulty*)handle;
  float* obs = (float*)observation;
  env->steps += 1;
  result->terminated = 0;
  result->truncated = 0;
  if (env->kind == 2) {
    unsigned char* pixels = (unsigned char*)observation;
    memset(pixels, env->steps, 16);
    memset(pixels + 16, 100 + 50 * (int)action[0], 16);
    result->reward = action[0];
    return 0;
  }
  if (env->kind == 0) {
    if (action[0] == 1.f) {
      snprintf(error, error_size, "lever 1 is broken");
      return 1;
    }
    obs[0] = (float)env->steps;
    obs[1] = 1.f;
    result->reward = 1.f;
    return 0;
  }
  obs[0] = action[0] > 0.5f ? NAN : action[0];
  result->reward = action[0] < -0.5f ? NAN : 0.f;
  return 0;
}

static const RillEnvPlugin kPlugin = {
    RILL_ENV_PLUGIN_ABI_VERSION, sizeof(RillEnvPlugin), 4, kEnvs, Create, Destroy, Reset, Step,
};

RILL_ENV_PLUGIN_EXPORT const RillEnvPlugin* rill_env_plugin(void) { return &kPlugin; }
