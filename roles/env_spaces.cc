#include "roles/env_spaces.h"

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "envs/remote/remote_envs.h"
#include "roles/env_server_role.h"

namespace rill::roles {

absl::Status AskEnvForSpaces(v1::EnvConfig& env, const absl::Notification* stop) {
  v1::RemoteEnvConfig& remote = *env.mutable_remote();
  // Nowhere to ask: the config's own check names the missing field.
  if (remote.address().empty() && remote.command().empty()) return absl::OkStatus();
  std::unique_ptr<EnvServerRole> server;
  std::string address = remote.address();
  const std::string server_log =
      (std::filesystem::temp_directory_path() / absl::StrCat("rill-env-spaces-", getpid(), ".log")).string();
  if (!remote.command().empty()) {
    EnvServerRole::Options options;
    options.command = remote.command();
    options.address = remote.address();
    options.log_path = server_log;
    options.stop = stop;
    absl::StatusOr<std::unique_ptr<EnvServerRole>> started = EnvServerRole::Start(options);
    if (!started.ok()) {
      return absl::Status(started.status().code(),
                          absl::StrCat("config field env.remote: states no spaces, and the env server that "
                                       "env.remote.command starts, asked for them, failed: ",
                                       started.status().message()));
    }
    server = *std::move(started);
    address = server->address();
  }
  absl::StatusOr<std::unique_ptr<envs::RemoteEnvs>> opened =
      envs::RemoteEnvs::Open(address, 1, 0, absl::Seconds(30), envs::RemoteEnvs::Transport::kGrpc);
  if (!opened.ok()) {
    return absl::Status(opened.status().code(),
                        absl::StrCat("config field env.remote: states no spaces, and the env server at ", address,
                                     ", asked for them, did not answer: ", opened.status().message()));
  }
  if ((*opened)->multi_agent()) {
    *remote.mutable_agents() = (*opened)->agent_spaces();
    for (int64_t d : (*opened)->multi_agent_spec().state_shape) remote.add_state_shape(d);
  } else {
    *remote.mutable_observation_space() = (*opened)->observation_space();
    *remote.mutable_action_space() = (*opened)->action_space();
    remote.set_action_mask((*opened)->spec().action_mask);
  }
  const std::string served = (*opened)->spec().name;
  const bool agents = (*opened)->multi_agent();
  // Closed before its server stops, which then has no stream to end.
  opened->reset();
  if (server != nullptr) {
    server->Stop(absl::Seconds(5));
    std::error_code ignored;
    std::filesystem::remove(server_log, ignored);  // a failure's log stays, for its reader
  }
  // The run is named after what the server serves (rather than "remote").
  if (env.name().empty()) env.set_name(served);
  RILL_LOG(INFO) << "env.remote: the spaces of " << served << " as the env server at " << address
                 << " announces them (" << (agents ? "its agents" : "observation and action")
                 << "; `rill envs --remote` prints them for the config)";
  return absl::OkStatus();
}

}  // namespace rill::roles
