#include "envs/batch/make.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "envs/batch/action_repeat.h"
#include "envs/batch/agent_rows.h"
#include "envs/batch/frame_stack.h"
#include "envs/batch/joint.h"
#include "envs/batch/local.h"
#include "envs/batch/local_multi_agent_envs.h"
#include "envs/batch/pixels.h"
#include "envs/catalog.h"
#include "envs/plugin/plugin_envs.h"
#include "envs/registry.h"
#include "envs/remote/remote_env_batch.h"
#include "envs/remote/remote_multi_agent_envs.h"
#include "envs/wrappers.h"

namespace rill::envs {
namespace {

// `status` with the config field it concerns in front of its message.
absl::Status InField(const char* field, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat(field, ": ", status.message()));
}

// The section's batch wrappers around `batch`, in their one order
// (envs/wrappers.h). Errors name the field.
absl::StatusOr<std::unique_ptr<EnvBatch>> WrapAsConfigured(std::unique_ptr<EnvBatch> batch,
                                                           const v1::EnvConfig& env) {
  if (env.action_repeat() > 1) {
    absl::StatusOr<std::unique_ptr<ActionRepeatBatch>> repeated =
        ActionRepeatBatch::Create(std::move(batch), env.action_repeat());
    if (!repeated.ok()) return InField("env.action_repeat", repeated.status());
    batch = *std::move(repeated);
  }
  if (env.has_pixels()) {
    absl::StatusOr<std::unique_ptr<PixelsBatch>> pixels = PixelsBatch::Create(std::move(batch), PixelsOptionsOf(env.pixels()));
    if (!pixels.ok()) return InField("env.pixels", pixels.status());
    batch = *std::move(pixels);
  }
  if (env.frame_stack() > 1) {
    absl::StatusOr<std::unique_ptr<FrameStackBatch>> stacked = FrameStackBatch::Create(std::move(batch), env.frame_stack());
    if (!stacked.ok()) return InField("env.frame_stack", stacked.status());
    batch = *std::move(stacked);
  }
  return batch;
}

// The section's envs in this process; `spec` is their own.
absl::StatusOr<std::unique_ptr<EnvBatch>> MakeLocal(const v1::EnvConfig& env, EnvSpec spec, int num_envs,
                                                    uint64_t base_seed) {
  std::vector<std::unique_ptr<Env>> instances;
  for (int i = 0; i < num_envs; ++i) {
    const uint64_t seed = base_seed + i + 1;
    ASSIGN_OR_RETURN(std::unique_ptr<Env> made, env.has_plugin()
                                                     ? MakePluginEnv(env.plugin(), env.max_episode_steps(), seed)
                                                     : MakeEnv(env.name(), env.max_episode_steps(), seed));
    instances.push_back(std::move(made));
  }
  // A user's plugin env may fail as a remote one does: a row's failure,
  // not the actor's.
  return LocalEnvBatch::Create(std::move(spec), std::move(instances),
                               env.has_plugin() ? LocalEnvBatch::StepErrors::kFailInstance
                                                : LocalEnvBatch::StepErrors::kFailStep);
}

// A multi-agent env's instances in this process.
absl::StatusOr<std::vector<std::unique_ptr<MultiAgentEnv>>> MakeMultiAgentEnvs(const v1::EnvConfig& env, int num_envs,
                                                                               uint64_t base_seed) {
  std::vector<std::unique_ptr<MultiAgentEnv>> instances;
  for (int i = 0; i < num_envs; ++i) {
    const uint64_t seed = base_seed + i + 1;
    ASSIGN_OR_RETURN(std::unique_ptr<MultiAgentEnv> made,
                     env.has_plugin() ? MakePluginMultiAgentEnv(env.plugin(), env.max_episode_steps(), seed)
                                      : MakeMultiAgentEnv(env.name(), env.max_episode_steps(), seed));
    instances.push_back(std::move(made));
  }
  return instances;
}

RemoteEnvs::Transport RemoteTransport(const v1::RemoteEnvConfig& remote) {
  return remote.has_shared_memory() && !remote.shared_memory() ? RemoteEnvs::Transport::kGrpc
                                                               : RemoteEnvs::Transport::kSharedMemoryWhenLocal;
}

// The section's multi-agent envs: the registry's or a plugin library's in
// this process, or a remote server's (env.remote.agents).
absl::StatusOr<std::unique_ptr<MultiAgentEnvs>> MakeMultiAgentSource(const v1::EnvConfig& env, int num_envs,
                                                                    uint64_t base_seed) {
  if (!env.has_remote()) {
    ASSIGN_OR_RETURN(std::vector<std::unique_ptr<MultiAgentEnv>> instances,
                     MakeMultiAgentEnvs(env, num_envs, base_seed));
    // A user's plugin env may fail as a remote one does: that env's
    // failure, not the actor's.
    return LocalMultiAgentEnvs::Create(std::move(instances), env.has_plugin()
                                                                 ? LocalMultiAgentEnvs::StepErrors::kFailEnv
                                                                 : LocalMultiAgentEnvs::StepErrors::kFailStep);
  }
  RemoteMultiAgentEnvs::Options options;
  options.address = env.remote().address();
  options.num_envs = num_envs;
  options.base_seed = base_seed;
  ASSIGN_OR_RETURN(options.spec, ConfiguredMultiAgentSpec(env));
  options.reconnect_seconds = env.remote().reconnect_seconds();
  options.transport = RemoteTransport(env.remote());
  return RemoteMultiAgentEnvs::Create(std::move(options));
}

absl::StatusOr<std::unique_ptr<EnvBatch>> MakeRemote(const v1::EnvConfig& env, EnvSpec spec, int num_envs,
                                                     uint64_t base_seed) {
  const v1::RemoteEnvConfig& remote = env.remote();
  RemoteEnvBatch::Options options;
  options.address = remote.address();
  options.num_envs = num_envs;
  options.base_seed = base_seed;
  options.spec = std::move(spec);
  options.reconnect_seconds = remote.reconnect_seconds();
  options.transport = RemoteTransport(remote);
  return RemoteEnvBatch::Create(std::move(options));
}

}  // namespace

absl::StatusOr<std::unique_ptr<EnvBatch>> MakeEnvBatch(const v1::EnvConfig& section, int num_envs,
                                                      uint64_t base_seed) {
  // The batch holds every agent, whichever one policy's view the section is
  // (env.row_agents: PolicyRowSpec's rows are a part of each batch row).
  v1::EnvConfig env = section;
  env.clear_row_agents();
  ASSIGN_OR_RETURN(const EnvSpec base, ConfiguredBaseEnvSpec(env));
  // Every wrapper's spec is checked before anything is made.
  RETURN_IF_ERROR(WrappedSpec(base, env).status());
  std::unique_ptr<EnvBatch> batch;
  if (IsMultiAgentSection(env)) {
    // Wherever the envs live, their agents as rows (`base` is an agent's
    // spec), or each env one row.
    ASSIGN_OR_RETURN(std::unique_ptr<MultiAgentEnvs> source, MakeMultiAgentSource(env, num_envs, base_seed));
    if (env.joint_agents()) {
      ASSIGN_OR_RETURN(batch, JointAgentsEnvBatch::CreateOver(std::move(source), !env.ignore_action_mask()));
    } else {
      ASSIGN_OR_RETURN(batch, AgentRowsEnvBatch::CreateOver(base, std::move(source)));
    }
  } else if (env.has_remote()) {
    ASSIGN_OR_RETURN(batch, MakeRemote(env, base, num_envs, base_seed));
  } else {
    ASSIGN_OR_RETURN(batch, MakeLocal(env, base, num_envs, base_seed));
  }
  return WrapAsConfigured(std::move(batch), env);
}

}  // namespace rill::envs
