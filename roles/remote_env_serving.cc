#include "roles/remote_env_serving.h"

#include <unistd.h>

#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/status_macros.h"

namespace rill::roles {
namespace {

std::string TempLogPath() {
  std::error_code error;
  const std::filesystem::path folder = std::filesystem::temp_directory_path(error);
  const std::string name = absl::StrCat("rill-env-server-", getpid(), ".log");
  return error ? absl::StrCat("/tmp/", name) : (folder / name).string();
}

}  // namespace

absl::Status ApplyEnvAddress(const std::string& env_address, v1::ExperimentConfig& config) {
  if (!env_address.empty()) {
    if (!config.env().has_remote()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--env_address=", env_address, " is set, but the config's env has no remote section"));
    }
    config.mutable_env()->mutable_remote()->set_address(env_address);
  }
  if (config.env().has_remote() && config.env().remote().address().empty()) {
    return absl::InvalidArgumentError(
        "config field env.remote.address is empty and no --env_address was given: name the env server's "
        "HOST:PORT in one of them, or the command that starts it in env.remote.command (`rill launch`, `rill "
        "eval` and `rill render` start it; `rill launch` passes each actor --env_address)");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<EnvServerRole>> ServeRemoteEnvs(const RemoteEnvServing& serving,
                                                               v1::ExperimentConfig& config) {
  const v1::RemoteEnvConfig& remote = config.env().remote();
  if (!serving.env_address.empty() || !config.env().has_remote() || remote.command().empty()) {
    RETURN_IF_ERROR(ApplyEnvAddress(serving.env_address, config));
    return nullptr;
  }
  EnvServerRole::Options options;
  options.command = remote.command();
  options.address = remote.address();
  options.log_path = serving.log_path.empty() ? TempLogPath() : serving.log_path;
  options.stop = serving.stop;
  ASSIGN_OR_RETURN(std::unique_ptr<EnvServerRole> server, EnvServerRole::Start(options));
  RILL_LOG(INFO) << "env server listening on " << server->address() << " (pid " << server->pid() << "); log in "
                 << options.log_path;
  config.mutable_env()->mutable_remote()->set_address(server->address());
  return server;
}

}  // namespace rill::roles
