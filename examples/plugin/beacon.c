/* Beacon-v0 as an env plugin in plain C (env plugin ABI version 4), with a
 * Dict observation: the rules of Rill's own Beacon-v0 (envs/games/beacon.h)
 * and of examples/python/beacon.py. Built by Bazel into libbeacon.so
 * (examples/plugin/BUILD.bazel) against Rill's public header alone, and
 * named in a config like any plugin env:
 *
 *   env { plugin { library: "bazel-bin/examples/plugin/libbeacon.so" id: "Beacon-v0" } }
 *
 * An agent walks a 7 x 7 grid to a beacon, both on distinct cells drawn at
 * random (Discrete(4): up, right, down, left; a move into the edge stays
 * put). Reaching the beacon pays +1 and ends the episode, every other step
 * costs 0.02; Rill cuts episodes at 40 steps. Walking straight there pays
 * 0.93 on average.
 *
 * The observation is a Dict of three leaves, declared in the order
 * Gymnasium sorts a Dict's keys:
 *   "action_mask" float32 [4]: 1 for each move that stays on the grid;
 *   "beacon"      float32 [2]: the beacon's column and row, each / 6;
 *   "image"       uint8 [1, 7, 7]: 255 on the agent's cell, 0 elsewhere.
 * Rill passes one buffer per leaf to reset_dict and step_dict, and keeps
 * the observation as one row: the image's bytes, the beacon's floats, then
 * the mask (env_action_masks below says there is one). */
#include <stdlib.h>
#include <string.h>

#include "envs/plugin/rill_env_plugin.h"

#define SIZE 7
#define NUM_MOVES 4

static const int kMoves[NUM_MOVES][2] = {{0, -1}, {1, 0}, {0, 1}, {-1, 0}}; /* (column, row) */

typedef struct Beacon {
  uint64_t rng;
  int agent_col, agent_row;
  int beacon_col, beacon_row;
} Beacon;

/* splitmix64: a small, seedable generator. */
static uint64_t NextRandom(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static int OnGrid(int col, int row) { return col >= 0 && col < SIZE && row >= 0 && row < SIZE; }

/* The observation's three leaves, in the table's order (kLeaves). */
static void Observe(const Beacon* beacon, void* const* leaves) {
  float* mask = (float*)leaves[0];
  float* position = (float*)leaves[1];
  uint8_t* image = (uint8_t*)leaves[2];
  for (int m = 0; m < NUM_MOVES; ++m) {
    mask[m] = OnGrid(beacon->agent_col + kMoves[m][0], beacon->agent_row + kMoves[m][1]) ? 1.f : 0.f;
  }
  position[0] = (float)beacon->beacon_col / (SIZE - 1);
  position[1] = (float)beacon->beacon_row / (SIZE - 1);
  memset(image, 0, SIZE * SIZE);
  image[beacon->agent_row * SIZE + beacon->agent_col] = 255;
}

static void* Create(int32_t env_index, uint64_t seed, char* error, size_t error_size) {
  (void)env_index;
  (void)error;
  (void)error_size;
  Beacon* beacon = (Beacon*)calloc(1, sizeof(Beacon));
  if (beacon != NULL) beacon->rng = seed;
  return beacon;
}

static void Destroy(void* env) { free(env); }

static int32_t ResetDict(void* env, void* const* leaves, char* error, size_t error_size) {
  (void)error;
  (void)error_size;
  Beacon* beacon = (Beacon*)env;
  const int agent = (int)(NextRandom(&beacon->rng) % (SIZE * SIZE));
  /* The beacon on one of the other 48 cells. */
  int cell = (int)(NextRandom(&beacon->rng) % (SIZE * SIZE - 1));
  if (cell >= agent) ++cell;
  beacon->agent_col = agent % SIZE;
  beacon->agent_row = agent / SIZE;
  beacon->beacon_col = cell % SIZE;
  beacon->beacon_row = cell / SIZE;
  Observe(beacon, leaves);
  return 0;
}

static int32_t StepDict(void* env, const float* action, void* const* leaves, RillEnvStepResult* result,
                        char* error, size_t error_size) {
  (void)error;
  (void)error_size;
  Beacon* beacon = (Beacon*)env;
  const int m = (int)action[0];
  const int col = beacon->agent_col + kMoves[m][0], row = beacon->agent_row + kMoves[m][1];
  if (OnGrid(col, row)) {
    beacon->agent_col = col;
    beacon->agent_row = row;
  }
  const int reached = beacon->agent_col == beacon->beacon_col && beacon->agent_row == beacon->beacon_row;
  result->reward = reached ? 1.f : -0.02f;
  result->terminated = reached;
  result->truncated = 0;
  Observe(beacon, leaves);
  return 0;
}

static const RillObservationLeaf kLeaves[] = {
    {"action_mask", 1, {NUM_MOVES}, RILL_DTYPE_FLOAT32},
    {"beacon", 1, {2}, RILL_DTYPE_FLOAT32},
    {"image", 3, {1, SIZE, SIZE}, RILL_DTYPE_UINT8},
};
static const RillDictSpace kDict = {3, kLeaves};
static const RillDictSpace* const kDicts[] = {&kDict};
/* observation_rank 0: the Dict above is the observation. */
static const RillEnvInfo kEnvs[] = {{"Beacon-v0", 0, {0}, RILL_DTYPE_FLOAT32, NUM_MOVES, 0, NULL, NULL, 40}};
static const int32_t kMasks[] = {1};

static const RillEnvPlugin kPlugin = {
    RILL_ENV_PLUGIN_ABI_VERSION, sizeof(RillEnvPlugin), 1, kEnvs, Create, Destroy,
    /* reset and step: the Dict env has reset_dict and step_dict instead. */
    NULL, NULL,
    /* No multi-agent env. */
    0, NULL, NULL, NULL, NULL, NULL, NULL,
    kMasks, NULL,
    kDicts, ResetDict, StepDict,
};

RILL_ENV_PLUGIN_EXPORT const RillEnvPlugin* rill_env_plugin(void) { return &kPlugin; }
