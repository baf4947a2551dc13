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
 * ABI version history:
 *   1: this table.
 */
#ifndef RILL_ENVS_PLUGIN_RILL_ENV_PLUGIN_H_
#define RILL_ENVS_PLUGIN_RILL_ENV_PLUGIN_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RILL_ENV_PLUGIN_ABI_VERSION 1
/* The symbol Rill looks up. */
#define RILL_ENV_PLUGIN_SYMBOL "rill_env_plugin"
/* Most observation dimensions. */
#define RILL_ENV_PLUGIN_MAX_RANK 8

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
  int32_t observation_rank; /* 1..RILL_ENV_PLUGIN_MAX_RANK */
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
} RillEnvPlugin;

/* What the library exports: a pointer to its table, valid until it is
 * unloaded. Declared here so that the definition is checked against it. */
RILL_ENV_PLUGIN_EXPORT const RillEnvPlugin* rill_env_plugin(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* RILL_ENVS_PLUGIN_RILL_ENV_PLUGIN_H_ */
