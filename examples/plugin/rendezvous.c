/* Rendezvous-v0, a multi-agent env plugin in plain C (env plugin ABI
 * version 2): three scouts on a plane must meet. Built by Bazel into
 * librendezvous.so (examples/plugin/BUILD.bazel) against Rill's public
 * header alone, and named in a config like any plugin env:
 *
 *   env { plugin { library: "bazel-bin/examples/plugin/librendezvous.so" id: "Rendezvous-v0" } }
 *
 * Its agents, scout_0 to scout_2, become rows of the actors' batches (one
 * policy shared by all three), or one row per env with env.joint_agents.
 *
 * Dynamics: each scout starts uniformly in [-1, 1]^2 and moves by
 * 0.1 * action per step, its action a Box [-1, 1]^2, within [-2, 2]^2.
 * Observation of scout k (float32 [6]): its own position, then the
 * positions of the other two relative to it, in agent order. Reward, the
 * same for every scout (a cooperative task): minus the scouts' mean
 * distance from their centroid. Global state (float32 [6], for a
 * centralised critic such as MAPPO's value): the three positions. The
 * episode lasts 25 steps (truncated; no scout leaves early).
 *
 * Mean returns per scout over 200 episodes (envs/plugin/plugin_envs_test
 * measures them): standing still about -14, each scout heading for the
 * centroid of the other two at full speed about -2. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "envs/plugin/rill_env_plugin.h"

#define NUM_SCOUTS 3
#define STEP_SIZE 0.1f
#define BOUND 2.f

typedef struct Rendezvous {
  uint64_t rng;
  float x[NUM_SCOUTS];
  float y[NUM_SCOUTS];
} Rendezvous;

/* splitmix64: a small, seedable generator. */
static uint64_t NextRandom(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* Uniform in [-1, 1). */
static float Uniform(uint64_t* state) { return (float)((NextRandom(state) >> 40) * (2.0 / 16777216.0) - 1.0); }

static float Clamp(float v, float low, float high) { return v < low ? low : v > high ? high : v; }

static void Observe(const Rendezvous* env, float* const* observations) {
  for (int k = 0; k < NUM_SCOUTS; ++k) {
    float* obs = observations[k];
    obs[0] = env->x[k];
    obs[1] = env->y[k];
    int at = 2;
    for (int j = 0; j < NUM_SCOUTS; ++j) {
      if (j == k) continue;
      obs[at++] = env->x[j] - env->x[k];
      obs[at++] = env->y[j] - env->y[k];
    }
  }
}

/* Minus the scouts' mean distance from their centroid. */
static float TeamReward(const Rendezvous* env) {
  float cx = 0.f, cy = 0.f;
  for (int k = 0; k < NUM_SCOUTS; ++k) {
    cx += env->x[k] / NUM_SCOUTS;
    cy += env->y[k] / NUM_SCOUTS;
  }
  float spread = 0.f;
  for (int k = 0; k < NUM_SCOUTS; ++k) spread += hypotf(env->x[k] - cx, env->y[k] - cy) / NUM_SCOUTS;
  return -spread;
}

static void* Create(int32_t env_index, uint64_t seed, char* error, size_t error_size) {
  if (env_index != 0) {
    snprintf(error, error_size, "no multi-agent env %d", (int)env_index);
    return NULL;
  }
  Rendezvous* env = (Rendezvous*)calloc(1, sizeof(Rendezvous));
  if (env == NULL) {
    snprintf(error, error_size, "out of memory");
    return NULL;
  }
  env->rng = seed;
  return env;
}

static void Destroy(void* env) { free(env); }

static int32_t Reset(void* handle, float* const* observations, char* error, size_t error_size) {
  (void)error;
  (void)error_size;
  Rendezvous* env = (Rendezvous*)handle;
  for (int k = 0; k < NUM_SCOUTS; ++k) {
    env->x[k] = Uniform(&env->rng);
    env->y[k] = Uniform(&env->rng);
  }
  Observe(env, observations);
  return 0;
}

static int32_t Step(void* handle, const float* const* actions, float* const* observations,
                    RillEnvStepResult* results, char* error, size_t error_size) {
  (void)error;
  (void)error_size;
  Rendezvous* env = (Rendezvous*)handle;
  /* No scout leaves before the time limit, so every action is set. */
  for (int k = 0; k < NUM_SCOUTS; ++k) {
    env->x[k] = Clamp(env->x[k] + STEP_SIZE * actions[k][0], -BOUND, BOUND);
    env->y[k] = Clamp(env->y[k] + STEP_SIZE * actions[k][1], -BOUND, BOUND);
  }
  Observe(env, observations);
  const float reward = TeamReward(env);
  for (int k = 0; k < NUM_SCOUTS; ++k) {
    results[k].reward = reward;
    results[k].terminated = 0;
    results[k].truncated = 0;  /* Rill applies the 25-step limit */
  }
  return 0;
}

static int32_t State(void* handle, float* state, char* error, size_t error_size) {
  (void)error;
  (void)error_size;
  const Rendezvous* env = (const Rendezvous*)handle;
  for (int k = 0; k < NUM_SCOUTS; ++k) {
    state[2 * k] = env->x[k];
    state[2 * k + 1] = env->y[k];
  }
  return 0;
}

static const float kLow[] = {-1.f, -1.f};
static const float kHigh[] = {1.f, 1.f};
static const RillAgentInfo kScouts[NUM_SCOUTS] = {
    {"scout_0", 1, {6}, 0, 2, kLow, kHigh},
    {"scout_1", 1, {6}, 0, 2, kLow, kHigh},
    {"scout_2", 1, {6}, 0, 2, kLow, kHigh},
};
static const RillMultiAgentEnvInfo kEnvs[] = {{"Rendezvous-v0", NUM_SCOUTS, kScouts, 1, {6}, 25}};

static const RillEnvPlugin kPlugin = {
    RILL_ENV_PLUGIN_ABI_VERSION,
    sizeof(RillEnvPlugin),
    /* No single-agent env. */
    0, NULL, NULL, NULL, NULL, NULL,
    1, kEnvs, Create, Destroy, Reset, Step, State,
};

RILL_ENV_PLUGIN_EXPORT const RillEnvPlugin* rill_env_plugin(void) { return &kPlugin; }
