/* Gate-v0, an env plugin with an action mask, in plain C (env plugin ABI
 * version 3). Built by Bazel into libgate.so (examples/plugin/BUILD.bazel)
 * against Rill's public header alone, and named in a config like any
 * plugin env:
 *
 *   env { plugin { library: "bazel-bin/examples/plugin/libgate.so" id: "Gate-v0" } }
 *
 * Five gates; at each step every gate shows a prize drawn U(0, 1), and two
 * of the five, drawn at random, are locked. The agent passes one gate
 * (Discrete(5)): an open gate pays its prize, a locked one -1. Ten steps
 * make an episode (Rill's time limit truncates it).
 *
 * Observation (float32 [10]): the five prizes, then the action mask, 1 for
 * each open gate (env_action_masks below says the observations end in it).
 * With the mask Rill never passes a locked gate; the best policy takes the
 * largest open prize, about 0.75 a step (7.5 an episode), a uniform one
 * among the open gates 0.5 (5.0). With env.ignore_action_mask Rill sends
 * any gate, and a policy must learn from the mask elements of its
 * observation which ones not to take. */
#include <stdlib.h>

#include "envs/plugin/rill_env_plugin.h"

#define NUM_GATES 5
#define NUM_LOCKED 2

typedef struct Gate {
  uint64_t rng;
  float prizes[NUM_GATES];
  float open[NUM_GATES];
} Gate;

/* splitmix64: a small, seedable generator. */
static uint64_t NextRandom(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static float Uniform(uint64_t* state) { return (float)(NextRandom(state) >> 40) / (float)(1ull << 24); }

/* New prizes and locks, written with the mask into `observation`. */
static void Draw(Gate* gate, float* observation) {
  for (int g = 0; g < NUM_GATES; ++g) {
    gate->prizes[g] = Uniform(&gate->rng);
    gate->open[g] = 1.f;
  }
  for (int locked = 0; locked < NUM_LOCKED;) {
    const int g = (int)(NextRandom(&gate->rng) % NUM_GATES);
    if (gate->open[g] == 0.f) continue;
    gate->open[g] = 0.f;
    ++locked;
  }
  for (int g = 0; g < NUM_GATES; ++g) {
    observation[g] = gate->prizes[g];
    observation[NUM_GATES + g] = gate->open[g];
  }
}

static void* Create(int32_t env_index, uint64_t seed, char* error, size_t error_size) {
  (void)env_index;
  (void)error;
  (void)error_size;
  Gate* gate = (Gate*)calloc(1, sizeof(Gate));
  if (gate != NULL) gate->rng = seed;
  return gate;
}

static void Destroy(void* env) { free(env); }

static int32_t Reset(void* env, void* observation, char* error, size_t error_size) {
  (void)error;
  (void)error_size;
  Draw((Gate*)env, (float*)observation);
  return 0;
}

static int32_t Step(void* env, const float* action, void* observation, RillEnvStepResult* result, char* error,
                    size_t error_size) {
  (void)error;
  (void)error_size;
  Gate* gate = (Gate*)env;
  const int g = (int)action[0];
  result->reward = gate->open[g] > 0.f ? gate->prizes[g] : -1.f;
  result->terminated = 0;
  result->truncated = 0;
  Draw(gate, (float*)observation);
  return 0;
}

static const RillEnvInfo kEnvs[] = {{"Gate-v0", 1, {2 * NUM_GATES}, RILL_DTYPE_FLOAT32, NUM_GATES, 0, NULL, NULL, 10}};
/* Gate-v0's observations end in its action mask. */
static const int32_t kMasks[] = {1};

static const RillEnvPlugin kPlugin = {
    RILL_ENV_PLUGIN_ABI_VERSION, sizeof(RillEnvPlugin), 1, kEnvs, Create, Destroy, Reset, Step,
    /* No multi-agent env. */
    0, NULL, NULL, NULL, NULL, NULL, NULL,
    kMasks, NULL,
};

RILL_ENV_PLUGIN_EXPORT const RillEnvPlugin* rill_env_plugin(void) { return &kPlugin; }
