/* Rill's env plugin ABI: what a user's shared library exports so that Rill
 * steps its environments in the actors and the evaluator without being
 * rebuilt. Plain C (C99 or C++), no dependency beyond <stddef.h> and
 * <stdint.h>: compile the env against this one header, with any compiler,
 * into a shared library, and name it in the config:
 *
 *   env { plugin { library: "/path/libmyenv.so" id: "MyEnv-v0" } }
 *
 * The library exports one function, rill_env_plugin (RILL_ENV_PLUGIN_EXPORT
 * marks it), returning a table that lives as long as the library: the ABI
 * version it was built for, its envs' spaces, and the functions Rill calls.
 * Rill loads it with dlopen, checks abi_version against its own
 * RILL_ENV_PLUGIN_ABI_VERSION (a library built for another version is
 * refused with both numbers, never called), validates every env's spaces,
 * and refuses by name a missing file, a missing symbol or a bad table.
 * examples/plugin/hover.cc is a complete plugin.
 *
 * Semantics (Gymnasium's, as Rill's own envs have):
 *  - Observations are tensors of observation_shape in observation_dtype
 *    (row-major): float32, or uint8 for images, which stay uint8 through
 *    the actors' buffers and replay and reach the networks as value / 255.
 *  - Actions: num_actions > 0 makes the env Discrete(num_actions) and
 *    action[0] holds the index as a float; num_actions == 0 makes it a Box
 *    of action_dim floats in env units, within [action_low, action_high]
 *    (Rill scales its policy's [-1, 1] to them).
 *  - step() reports terminated (a true terminal state: no bootstrapping)
 *    and may report truncated (the env cut the episode for its own
 *    reasons). Rill applies the time limit itself (max_episode_steps, or the
 *    config's env.max_episode_steps), as Gymnasium's TimeLimit does, and
 *    resets an env whose episode ended. A non-finite observation or reward
 *    counts as a failed step.
 *  - create() seeds the instance: equal seeds must give equal episode
 *    sequences. Rill seeds instance i of an actor with its own seed.
 *  - Errors: create returns NULL, reset and step return nonzero, each with
 *    a message written to `error` (at most error_size bytes, NUL
 *    included). A failed step or reset is counted
 *    (rill_actor_env_errors_total), logged with the message, the env is
 *    reset and what was being built from it is dropped; an actor whose every
 *    env keeps failing stops with the message. Functions must not throw
 *    C++ exceptions or call exit().
 *  - Threads: one instance is created, stepped and destroyed by one thread
 *    at a time; different instances may be used from different threads at
 *    once, so state shared between instances must be thread-safe.
 *
 * Multi-agent envs (version 2), in the shape of PettingZoo's parallel API:
 * the table's multi_agent_envs each declare their agents (names, in row
 * order) with each one's spaces (agents may differ; observations are
 * float32) and an optional global state for centralised critics. Named
 * in the config like any plugin env, such an env's agents become rows of
 * the actors' batches (or, with env.joint_agents, one row per env; see
 * docs/multi-agent.md, "Many agents in one env").
 *  - reset_multi_agent writes every agent's first observation to
 *    observations[k]; every agent is then live.
 *  - step_multi_agent gets actions[k] for each live agent and NULL for an
 *    agent that has left; it writes each live agent's next observation to
 *    observations[k] (also on its last step) and its results[k]. An agent
 *    whose result is terminated or truncated leaves: Rill stops passing it
 *    actions and leaves its observation alone until the next reset. The
 *    episode is over when no agent is live; Rill then resets the env. Rill
 *    applies the time limit (every live agent truncated at
 *    max_episode_steps).
 *  - state (state_rank > 0) writes the global state after a reset or a
 *    step: what a centralised critic (MAPPO's value) sees.
 *  - Errors, seeds and threads as above: a failed step or reset, or a
 *    non-finite observation, reward or state, fails that env (counted,
 *    logged, reset); create returns NULL with a message.
 * examples/plugin/rendezvous.c is a complete multi-agent plugin in C.
 *
 * Action masks (version 3), Gymnasium's "action_mask": an env (or an
 * agent) with Discrete actions and flat (rank-1) observations may end each
 * observation in num_actions elements, 1 where the state allows that
 * action and 0 where it does not, and say so in env_action_masks (or
 * agent_action_masks). Rill then gives masked actions no probability in
 * acting, in the random warm-up, in the losses and in the export, and
 * names a masked action that reaches the env; every observation an agent
 * acts from must allow at least one action (an episode's final one may
 * allow none). examples/plugin/gate.c is a complete masked plugin.
 *
 * Dict observations (version 4), Gymnasium's Dict (or Tuple) of boxes:
 * an env whose entry in env_dict_spaces is set observes a Dict of leaves,
 * each with its name, shape and dtype: images (rank 3, [C, H, W], uint8
 * or float32; several share H, W and dtype, and each gets a torso of its
 * own) and flat leaves (rank 0 to 2, float32; a Tuple's leaves are named
 * "0", "1", ...). Its RillEnvInfo then has
 * observation_rank 0, and reset_dict and step_dict take the place of reset
 * and step: Rill passes one buffer per leaf, leaves[k] for the table's
 * k-th leaf, each aligned for its dtype, and the env writes every leaf.
 * Rill keeps the observation as one row: the images first, in the table's
 * order (uint8 stays uint8), then the flat leaves in the table's order, as float32. With
 * env_action_masks set, the leaf named "action_mask" (num_actions floats,
 * flat) is the mask and goes last. A non-finite float fails the step, as
 * above. examples/plugin/beacon.c is a complete Dict plugin.
 *
 * ABI version history (a library declares the version it was built for;
 * Rill loads every version up to its own and refuses newer ones by
 * number):
 *   1: single-agent envs (the table up to `step`).
 *   2: multi-agent envs: num_multi_agent_envs .. multi_agent_state; a
 *      library may then offer no single-agent env (num_envs 0).
 *   3: action masks: env_action_masks and agent_action_masks.
 *   4: Dict observations: env_dict_spaces, reset_dict and step_dict.
 */
#ifndef RILL_ENVS_PLUGIN_RILL_ENV_PLUGIN_H_
#define RILL_ENVS_PLUGIN_RILL_ENV_PLUGIN_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RILL_ENV_PLUGIN_ABI_VERSION 4
/* The symbol Rill looks up. */
#define RILL_ENV_PLUGIN_SYMBOL "rill_env_plugin"
/* Most observation dimensions. */
#define RILL_ENV_PLUGIN_MAX_RANK 8
/* Most agents of one multi-agent env. */
#define RILL_ENV_PLUGIN_MAX_AGENTS 64
/* Most leaves of one Dict observation. */
#define RILL_ENV_PLUGIN_MAX_LEAVES 64

#if defined(__GNUC__)
#define RILL_ENV_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define RILL_ENV_PLUGIN_EXPORT
#endif

typedef enum RillDType {
  RILL_DTYPE_FLOAT32 = 1,
  RILL_DTYPE_UINT8 = 2,
} RillDType;

/* One environment the library offers. */
typedef struct RillEnvInfo {
  /* Its id, e.g. "Hover-v0"; unique within the library. */
  const char* id;
  int32_t observation_rank; /* 1..RILL_ENV_PLUGIN_MAX_RANK; 0 with a Dict */
  int64_t observation_shape[RILL_ENV_PLUGIN_MAX_RANK];
  int32_t observation_dtype; /* a RillDType */
  /* > 0: Discrete(num_actions). 0: a Box of action_dim floats. */
  int32_t num_actions;
  int32_t action_dim;
  /* Box: action_dim bounds each, finite, low <= high. */
  const float* action_low;
  const float* action_high;
  /* The default time limit, > 0. */
  int32_t max_episode_steps;
} RillEnvInfo;

typedef struct RillEnvStepResult {
  float reward;
  int32_t terminated;
  int32_t truncated;
} RillEnvStepResult;

/* One agent of a multi-agent env: its name and spaces, as RillEnvInfo's
 * fields mean them (observations are float32). */
typedef struct RillAgentInfo {
  /* PettingZoo's agent name, e.g. "agent_0"; unique within its env. */
  const char* name;
  int32_t observation_rank; /* 1..RILL_ENV_PLUGIN_MAX_RANK */
  int64_t observation_shape[RILL_ENV_PLUGIN_MAX_RANK];
  int32_t num_actions;
  int32_t action_dim;
  const float* action_low;
  const float* action_high;
} RillAgentInfo;

/* One leaf of a Dict observation (version 4). */
typedef struct RillObservationLeaf {
  /* Gymnasium's key, e.g. "image"; unique within its env. */
  const char* name;
  /* 3: an image [C, H, W]; 0..2: a flat leaf (rank 0 is one number). */
  int32_t rank;
  int64_t shape[RILL_ENV_PLUGIN_MAX_RANK];
  int32_t dtype; /* a RillDType; flat leaves are float32 */
} RillObservationLeaf;

/* A Dict observation (version 4): its leaves, in the order reset_dict and
 * step_dict's `leaves` hold them. */
typedef struct RillDictSpace {
  int32_t num_leaves; /* 1..RILL_ENV_PLUGIN_MAX_LEAVES */
  const RillObservationLeaf* leaves;
} RillDictSpace;

/* One multi-agent environment the library offers (version 2). */
typedef struct RillMultiAgentEnvInfo {
  /* Its id, unique within the library (single-agent ids included). */
  const char* id;
  int32_t num_agents; /* 1..RILL_ENV_PLUGIN_MAX_AGENTS */
  const RillAgentInfo* agents; /* num_agents entries, in row order */
  /* The global state's shape (float32); rank 0: the env offers none. */
  int32_t state_rank; /* 0..RILL_ENV_PLUGIN_MAX_RANK */
  int64_t state_shape[RILL_ENV_PLUGIN_MAX_RANK];
  /* The default time limit, > 0. */
  int32_t max_episode_steps;
} RillMultiAgentEnvInfo;

typedef struct RillEnvPlugin {
  /* RILL_ENV_PLUGIN_ABI_VERSION as the library was compiled. */
  uint32_t abi_version;
  /* sizeof(RillEnvPlugin) as the library was compiled. */
  uint32_t struct_size;
  int32_t num_envs;
  const RillEnvInfo* envs; /* num_envs entries */

  /* A new instance of envs[env_index], seeded; NULL on failure. */
  void* (*create)(int32_t env_index, uint64_t seed, char* error, size_t error_size);
  void (*destroy)(void* env);
  /* Starts an episode: writes its first observation. 0 on success. */
  int32_t (*reset)(void* env, void* observation, char* error, size_t error_size);
  /* One step with `action` (see above): writes the next observation and the
   * result. 0 on success. */
  int32_t (*step)(void* env, const float* action, void* observation, RillEnvStepResult* result, char* error,
                  size_t error_size);

  /* Version 2: multi-agent envs (see above); num_multi_agent_envs 0 and
   * the functions NULL in a library that offers none. */
  int32_t num_multi_agent_envs;
  const RillMultiAgentEnvInfo* multi_agent_envs; /* num_multi_agent_envs entries */
  /* A new instance of multi_agent_envs[env_index], seeded; NULL on
   * failure. */
  void* (*create_multi_agent)(int32_t env_index, uint64_t seed, char* error, size_t error_size);
  void (*destroy_multi_agent)(void* env);
  /* Starts an episode: writes agent k's first observation to
   * observations[k]. 0 on success. */
  int32_t (*reset_multi_agent)(void* env, float* const* observations, char* error, size_t error_size);
  /* One step of the live agents (actions[k] NULL for one that left):
   * writes their next observations and results. 0 on success. */
  int32_t (*step_multi_agent)(void* env, const float* const* actions, float* const* observations,
                              RillEnvStepResult* results, char* error, size_t error_size);
  /* The global state now (state_rank > 0; may be NULL otherwise). 0 on
   * success. */
  int32_t (*multi_agent_state)(void* env, float* state, char* error, size_t error_size);

  /* Version 3: action masks (see above). NULL, or num_envs flags:
   * nonzero where envs[i]'s observations end in its action mask. */
  const int32_t* env_action_masks;
  /* NULL, or num_multi_agent_envs entries, each NULL or that env's
   * num_agents flags: nonzero where the agent's observations end in its
   * action mask. */
  const int32_t* const* agent_action_masks;

  /* Version 4: Dict observations (see above). NULL, or num_envs entries,
   * each NULL (the env observes its RillEnvInfo's box) or the env's Dict. */
  const RillDictSpace* const* env_dict_spaces;
  /* A Dict env's reset and step: they write leaf k of the observation to
   * leaves[k]. Needed when an env has a Dict; may be NULL otherwise. */
  int32_t (*reset_dict)(void* env, void* const* leaves, char* error, size_t error_size);
  int32_t (*step_dict)(void* env, const float* action, void* const* leaves, RillEnvStepResult* result,
                       char* error, size_t error_size);
} RillEnvPlugin;

/* The size of a version-1 table: what a library built before version 2
 * declares in struct_size. */
#define RILL_ENV_PLUGIN_V1_STRUCT_SIZE (offsetof(RillEnvPlugin, num_multi_agent_envs))
/* ...and of a version-2 and a version-3 table. */
#define RILL_ENV_PLUGIN_V2_STRUCT_SIZE (offsetof(RillEnvPlugin, env_action_masks))
#define RILL_ENV_PLUGIN_V3_STRUCT_SIZE (offsetof(RillEnvPlugin, env_dict_spaces))

/* What the library exports: a pointer to its table, valid until it is
 * unloaded. Declared here so that the definition is checked against it. */
RILL_ENV_PLUGIN_EXPORT const RillEnvPlugin* rill_env_plugin(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* RILL_ENVS_PLUGIN_RILL_ENV_PLUGIN_H_ */
