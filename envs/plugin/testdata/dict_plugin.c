/* Dict observations (env plugin ABI version 4), for plugin_envs_test: one
 * library per BAD_CASE (envs/plugin/BUILD.bazel builds each).
 *
 * BAD_CASE 0, well formed: Plain-v0, a Box env (float32 [2]) stepped by
 * reset and step, beside Pair-v0, a Dict env stepped by reset_dict and
 * step_dict, declared as "state" float32 [3] then "image" uint8 [1, 2, 2]
 * (Rill's row puts the image first). Pair-v0's image holds the step count
 * in every pixel, its state (t, t + 0.5, -t); with seed 7 its third step
 * writes NaN to state[1].
 *
 * Each other case breaks one rule of the Dict table, which Rill refuses by
 * name:
 *   1: two image leaves of different sizes;
 *   2: a uint8 flat leaf;
 *   3: observation_rank 1 beside a Dict;
 *   4: a leaf declared twice;
 *   5: env_action_masks set with no "action_mask" leaf of num_actions;
 *   6: no step_dict;
 *   7: a leaf of rank 4. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "envs/plugin/rill_env_plugin.h"

#ifndef BAD_CASE
#define BAD_CASE 0
#endif

typedef struct Counter {
  uint64_t seed;
  int steps;
} Counter;

static void* Create(int32_t env_index, uint64_t seed, char* error, size_t error_size) {
  (void)env_index;
  (void)error;
  (void)error_size;
  Counter* counter = (Counter*)calloc(1, sizeof(Counter));
  if (counter != NULL) counter->seed = seed;
  return counter;
}

static void Destroy(void* env) { free(env); }

static int32_t Reset(void* env, void* observation, char* error, size_t error_size) {
  (void)error;
  (void)error_size;
  ((Counter*)env)->steps = 0;
  ((float*)observation)[0] = ((float*)observation)[1] = 0.f;
  return 0;
}

static int32_t Step(void* env, const float* action, void* observation, RillEnvStepResult* result, char* error,
                    size_t error_size) {
  (void)action;
  (void)error;
  (void)error_size;
  Counter* counter = (Counter*)env;
  ++counter->steps;
  ((float*)observation)[0] = ((float*)observation)[1] = (float)counter->steps;
  result->reward = 1.f;
  result->terminated = 0;
  result->truncated = 0;
  return 0;
}

static void Observe(const Counter* counter, void* const* leaves) {
  const float t = (float)counter->steps;
  float* state = (float*)leaves[0];
  state[0] = t;
  state[1] = counter->seed == 7 && counter->steps == 3 ? NAN : t + 0.5f;
  state[2] = -t;
  memset(leaves[1], counter->steps, 4);
}

static int32_t ResetDict(void* env, void* const* leaves, char* error, size_t error_size) {
  (void)error;
  (void)error_size;
  ((Counter*)env)->steps = 0;
  Observe((Counter*)env, leaves);
  return 0;
}

#if BAD_CASE == 6
__attribute__((unused))
#endif
static int32_t StepDict(void* env, const float* action, void* const* leaves, RillEnvStepResult* result,
                        char* error, size_t error_size) {
  (void)error;
  (void)error_size;
  Counter* counter = (Counter*)env;
  ++counter->steps;
  Observe(counter, leaves);
  result->reward = action[0];
  result->terminated = 0;
  result->truncated = 0;
  return 0;
}

static const RillObservationLeaf kLeaves[] = {
    {"state", 1, {3}, RILL_DTYPE_FLOAT32},
#if BAD_CASE == 1
    {"image", 3, {1, 2, 2}, RILL_DTYPE_UINT8},
    {"depth", 3, {1, 3, 3}, RILL_DTYPE_UINT8},
#elif BAD_CASE == 2
    {"image", 1, {4}, RILL_DTYPE_UINT8},
#elif BAD_CASE == 4
    {"state", 3, {1, 2, 2}, RILL_DTYPE_UINT8},
#elif BAD_CASE == 7
    {"image", 4, {1, 1, 2, 2}, RILL_DTYPE_UINT8},
#else
    {"image", 3, {1, 2, 2}, RILL_DTYPE_UINT8},
#endif
};
static const RillDictSpace kDict = {sizeof(kLeaves) / sizeof(kLeaves[0]), kLeaves};
static const RillDictSpace* const kDicts[] = {NULL, &kDict};
/* Unused by case 5, whose Pair-v0 is Discrete. */
__attribute__((unused)) static const float kLow[] = {-1.f}, kHigh[] = {1.f};
static const RillEnvInfo kEnvs[] = {
    {"Plain-v0", 1, {2}, RILL_DTYPE_FLOAT32, 2, 0, NULL, NULL, 10},
#if BAD_CASE == 3
    {"Pair-v0", 1, {4}, RILL_DTYPE_FLOAT32, 0, 1, kLow, kHigh, 10},
#elif BAD_CASE == 5
    {"Pair-v0", 0, {0}, RILL_DTYPE_FLOAT32, 3, 0, NULL, NULL, 10},
#else
    {"Pair-v0", 0, {0}, RILL_DTYPE_FLOAT32, 0, 1, kLow, kHigh, 10},
#endif
};
#if BAD_CASE == 5
static const int32_t kMasks[] = {0, 1};
#define MASKS kMasks
#else
#define MASKS NULL
#endif

static const RillEnvPlugin kPlugin = {
    RILL_ENV_PLUGIN_ABI_VERSION, sizeof(RillEnvPlugin), 2, kEnvs, Create, Destroy, Reset, Step,
    0, NULL, NULL, NULL, NULL, NULL, NULL,
    MASKS, NULL,
#if BAD_CASE == 6
    kDicts, ResetDict, NULL,
#else
    kDicts, ResetDict, StepDict,
#endif
};

RILL_ENV_PLUGIN_EXPORT const RillEnvPlugin* rill_env_plugin(void) { return &kPlugin; }
