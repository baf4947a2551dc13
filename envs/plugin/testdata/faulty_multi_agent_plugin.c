/* A plugin, in C, whose multi-agent envs misbehave or leave on purpose,
 * for plugin_envs_test and envs/batch's make_test:
 *   Countdown-v0  agents a, b, c, Discrete(2), observation float32 [1] =
 *                 steps taken. Agent k terminates at step k + 1 (a leaves
 *                 first) and is paid k + 1 per step. A step that is given
 *                 an action for an agent that left fails with "got an
 *                 action for left agent X". State [2]: steps taken, agents
 *                 live.
 *   Glitch-v0     agents x, y, Box [-1, 1] of 1, observation float32 [1].
 *                 x's action above 0.5 gives y a NaN observation, below
 *                 -0.5 a NaN reward; y's action above 0.5 makes step fail
 *                 with "y pulled the plug", below -0.5 makes the next state
 *                 read NaN; a seed of 7 makes reset fail with "cannot reset
 *                 with seed 7". State [1].
 *   Jammed-v0     create fails with "jammed". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "envs/plugin/rill_env_plugin.h"

typedef struct Faulty {
  int32_t kind;
  uint64_t seed;
  int32_t steps;
  int32_t live[3];
  int32_t nan_state;
} Faulty;

static const float kLow[] = {-1.f};
static const float kHigh[] = {1.f};
static const RillAgentInfo kCountdown[] = {
    {"a", 1, {1}, 2, 0, NULL, NULL},
    {"b", 1, {1}, 2, 0, NULL, NULL},
    {"c", 1, {1}, 2, 0, NULL, NULL},
};
static const RillAgentInfo kGlitch[] = {
    {"x", 1, {1}, 0, 1, kLow, kHigh},
    {"y", 1, {1}, 0, 1, kLow, kHigh},
};
static const RillMultiAgentEnvInfo kEnvs[] = {
    {"Countdown-v0", 3, kCountdown, 1, {2}, 10},
    {"Glitch-v0", 2, kGlitch, 1, {1}, 20},
    {"Jammed-v0", 2, kGlitch, 0, {0}, 20},
};

static void* Create(int32_t env_index, uint64_t seed, char* error, size_t error_size) {
  if (env_index == 2) {
    snprintf(error, error_size, "jammed");
    return NULL;
  }
  Faulty* env = (Faulty*)calloc(1, sizeof(Faulty));
  env->kind = env_index;
  env->seed = seed;
  return env;
}

static void Destroy(void* env) { free(env); }

static int32_t NumAgents(const Faulty* env) { return env->kind == 0 ? 3 : 2; }

static int32_t Reset(void* handle, float* const* observations, char* error, size_t error_size) {
  Faulty* env = (Faulty*)handle;
  env->steps = 0;
  env->nan_state = 0;
  if (env->kind == 1 && env->seed == 7) {
    snprintf(error, error_size, "cannot reset with seed 7");
    return 1;
  }
  for (int k = 0; k < NumAgents(env); ++k) {
    env->live[k] = 1;
    observations[k][0] = 0.f;
  }
  return 0;
}

static int32_t Step(void* handle, const float* const* actions, float* const* observations,
                    RillEnvStepResult* results, char* error, size_t error_size) {
  Faulty* env = (Faulty*)handle;
  env->steps += 1;
  if (env->kind == 0) {
    for (int k = 0; k < 3; ++k) {
      if (!env->live[k] && actions[k] != NULL) {
        snprintf(error, error_size, "got an action for left agent %c", 'a' + k);
        return 1;
      }
    }
    for (int k = 0; k < 3; ++k) {
      if (!env->live[k]) continue;
      observations[k][0] = (float)env->steps;
      results[k].reward = (float)(k + 1);
      results[k].terminated = env->steps >= k + 1;
      results[k].truncated = 0;
      if (results[k].terminated) env->live[k] = 0;
    }
    return 0;
  }
  const float x = actions[0][0], y = actions[1][0];
  if (y > 0.5f) {
    snprintf(error, error_size, "y pulled the plug");
    return 1;
  }
  env->nan_state = y < -0.5f;
  for (int k = 0; k < 2; ++k) {
    observations[k][0] = (float)env->steps;
    results[k].reward = 1.f;
    results[k].terminated = 0;
    results[k].truncated = 0;
  }
  if (x > 0.5f) observations[1][0] = NAN;
  if (x < -0.5f) results[1].reward = NAN;
  return 0;
}

static int32_t State(void* handle, float* state, char* error, size_t error_size) {
  (void)error;
  (void)error_size;
  const Faulty* env = (const Faulty*)handle;
  state[0] = (float)env->steps;
  if (env->kind == 0) state[1] = (float)(env->live[0] + env->live[1] + env->live[2]);
  if (env->kind == 1 && env->nan_state) state[0] = NAN;
  return 0;
}

static const RillEnvPlugin kPlugin = {
    RILL_ENV_PLUGIN_ABI_VERSION, sizeof(RillEnvPlugin), 0, NULL, NULL, NULL, NULL, NULL,
    3, kEnvs, Create, Destroy, Reset, Step, State,
};

RILL_ENV_PLUGIN_EXPORT const RillEnvPlugin* rill_env_plugin(void) { return &kPlugin; }
