#include "experiment/finalize_env.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/declared_defaults.h"
#include "common/invalid_field.h"
#include "common/status_macros.h"
#include "envs/catalog.h"
#include "envs/wrappers.h"

namespace rill::experiment {

namespace {

// A served env's section, before its spaces are read.
absl::Status CheckRemoteEnv(const v1::RemoteEnvConfig& remote) {
  if (remote.address().empty() && remote.command().empty()) {
    return InvalidField("env.remote.address", "is required (HOST:PORT of the env server), or env.remote.command "
                                              "to start one");
  }
  if (remote.address().empty() && !absl::StrContains(remote.command(), "{address}")) {
    return InvalidField("env.remote.command", "must contain {address} when env.remote.address is empty (the "
                                              "launcher puts the address the server should bind there)");
  }
  if (remote.agents_size() > 0 && (remote.has_observation_space() || remote.has_action_space())) {
    return InvalidField("env.remote", "sets agents and observation_space/action_space: a multi-agent env's "
                                      "spaces are its agents' (rill envs --remote=HOST:PORT prints them)");
  }
  if (remote.agents_size() == 0 && remote.has_observation_space() != remote.has_action_space()) {
    return InvalidField("env.remote", "sets only one of observation_space and action_space: give both, as the "
                                      "server announces them (rill envs --remote=HOST:PORT prints them), or "
                                      "neither, and `rill launch` asks the server");
  }
  if (remote.agents_size() == 0 && !remote.has_observation_space()) {
    return InvalidField("env.remote", "needs observation_space and action_space (or, for a multi-agent env, "
                                      "agents), as the server announces them (rill envs --remote=HOST:PORT "
                                      "prints them); `rill launch` asks the server for them and writes them "
                                      "into the run folder's config, which its processes read");
  }
  if (remote.agents_size() == 0 && remote.state_shape_size() > 0) {
    return InvalidField("env.remote.state_shape", "is a multi-agent env's; env.remote.agents is empty");
  }
  if (remote.has_reconnect_seconds() && !(remote.reconnect_seconds() > 0)) {
    return InvalidField("env.remote.reconnect_seconds", "must be > 0");
  }
  return absl::OkStatus();
}

absl::Status CheckPluginEnv(const v1::PluginEnvConfig& plugin) {
  if (plugin.library().empty()) {
    return InvalidField("env.plugin.library", "is required (path of the env's shared library)");
  }
  if (plugin.id().empty()) {
    return InvalidField("env.plugin.id", "is required (rill envs --plugin=LIBRARY lists the library's envs)");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<envs::EnvSpec> FinalizeEnv(v1::EnvConfig& env_config) {
  const bool remote_env = env_config.has_remote(), plugin_env = env_config.has_plugin();
  if (remote_env && plugin_env) return InvalidField("env", "sets both remote and plugin; choose one");
  if (env_config.name().empty() && !remote_env && !plugin_env) return InvalidField("env.name", "is required");
  if (env_config.max_episode_steps() < 0) return InvalidField("env.max_episode_steps", "must be >= 0");
  if (remote_env) {
    RETURN_IF_ERROR(CheckRemoteEnv(env_config.remote()));
    if (env_config.name().empty()) env_config.set_name("remote");
  }
  if (plugin_env) {
    RETURN_IF_ERROR(CheckPluginEnv(env_config.plugin()));
    if (env_config.name().empty()) env_config.set_name(env_config.plugin().id());
  }
  absl::StatusOr<envs::EnvSpec> env = envs::ConfiguredBaseEnvSpec(env_config);
  // A refusal that names its field (a remote env's spaces, envs/remote/spaces.h:
  // "env.remote.action_space.box.low: ...") reads "config field <it>: why".
  if (!env.ok() && absl::StartsWith(env.status().message(), "env.")) {
    return absl::Status(env.status().code(), absl::StrCat("config field ", env.status().message()));
  }
  if (!env.ok()) {
    return absl::Status(env.status().code(), absl::StrCat("config field ",
                                                          remote_env   ? "env.remote"
                                                          : plugin_env ? "env.plugin"
                                                                       : "env.name",
                                                          ": ",
                                                          env.status().message()));
  }
  // The spec every process derives from it (envs::ConfiguredEnvSpec).
  env = envs::WrappedSpec(*env, env_config);
  if (!env.ok()) return absl::Status(env.status().code(), absl::StrCat("config field ", env.status().message()));
  if (env_config.has_remote()) FillDeclaredDefaults(*env_config.mutable_remote());
  if (env_config.has_pixels()) FillDeclaredDefaults(*env_config.mutable_pixels());
  return env;
}

}  // namespace rill::experiment
