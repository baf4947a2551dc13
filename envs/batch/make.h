// MakeEnvBatch: the EnvBatch a config's env section asks for, the one
// place that knows where envs live. The actor and the evaluator
// (actor/lockstep_envs.h), `rill eval` and `rill render` step what it
// returns and never ask.
//   env.remote: a RemoteEnvBatch (envs/remote/remote_env_batch.h) at
//     env.remote.address, expecting the section's spaces;
//   env.plugin: a LocalEnvBatch of the library's envs, each failing on its
//     own row (envs/plugin/plugin_envs.h);
//   env.joint_agents: a JointAgentsEnvBatch of the registry's multi-agent
//     envs, one row each, its agents together (envs/batch/joint.h);
//   a multi-agent env: an AgentRowsEnvBatch of the registry's envs, whose
//     rows are their agents (num_envs envs of K agents are K * num_envs
//     rows);
//   otherwise:  a LocalEnvBatch of the registry's envs (envs/registry.h).
// Whatever the batch, the section's batch wrappers go around it in their
// one order (envs/wrappers.h): an ActionRepeatBatch for env.action_repeat
// > 1, a PixelsBatch for env.pixels, a FrameStackBatch for env.frame_stack
// > 1; errors name the field. Instance i is seeded base_seed + i + 1.
//
// Thread-safe: a pure function.
#ifndef RILL_ENVS_BATCH_MAKE_H_
#define RILL_ENVS_BATCH_MAKE_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "envs/batch/interface.h"
#include "proto/config.pb.h"

namespace rill::envs {

// `num_envs` (>= 1) instances of `env` (a finalized section: defaults
// filled in, experiment/config.h). Errors: ConfiguredBaseEnvSpec's and
// WrappedSpec's (an unknown name, env.frame_stack of an env that is not
// uint8 [C, H, W], ...), the registry's or the plugin's when an instance
// cannot be made, the wrappers', and RemoteEnvBatch::Create's (a server
// that cannot be reached within env.remote.reconnect_seconds, or whose
// spaces differ from the section's). A multi-agent env's rows are every
// agent's, env.row_agents or not (catalog.h's PolicyRowSpec).
absl::StatusOr<std::unique_ptr<EnvBatch>> MakeEnvBatch(const v1::EnvConfig& env, int num_envs, uint64_t base_seed);

}  // namespace rill::envs

#endif  // RILL_ENVS_BATCH_MAKE_H_
