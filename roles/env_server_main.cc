#include "roles/env_server_main.h"

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/logging.h"
#include "common/process.h"
#include "common/status_macros.h"
#include "envs/catalog.h"
#include "envs/plugin/plugin_envs.h"
#include "envs/registry.h"
#include "envs/remote/env_server.h"
#include "flags/flags.h"
#include "proto/config.pb.h"
#include "roles/role.h"

ABSL_FLAG(int32_t, max_episode_steps, 0,
          "rill env-server: truncate episodes after this many steps (0: the env's own time limit).");

namespace rill::roles {
namespace {

// How long open streams may take to end by themselves once a signal came.
constexpr absl::Duration kShutdownGrace = absl::Seconds(2);

// Starts the server of the checked env on an address: Start's or
// StartMultiAgent's errors.
using ServerStarter = std::function<absl::StatusOr<std::unique_ptr<envs::EnvServer>>(const std::string& address)>;

// What serves --env (with --plugin, the library's env of that id), a
// single-agent env or a multi-agent one, checked as far as it can be
// without making an env: NotFound for an unknown id (listing the known
// ones), the loader's errors for a library.
absl::StatusOr<ServerStarter> StarterFromFlags(const std::string& id, const std::string& library,
                                               int max_episode_steps) {
  v1::PluginEnvConfig config;
  config.set_library(library);
  config.set_id(id);
  if (library.empty() ? envs::IsMultiAgentEnv(id) : envs::IsPluginMultiAgentEnv(config)) {
    envs::MultiAgentEnvFactory factory;
    if (library.empty()) {
      RETURN_IF_ERROR(envs::LookupMultiAgentSpec(id, max_episode_steps).status());
      factory = [id, max_episode_steps](uint64_t seed) { return envs::MakeMultiAgentEnv(id, max_episode_steps, seed); };
    } else {
      RETURN_IF_ERROR(envs::PluginMultiAgentSpec(config, max_episode_steps).status());
      factory = [config, max_episode_steps](uint64_t seed) {
        return envs::MakePluginMultiAgentEnv(config, max_episode_steps, seed);
      };
    }
    return ServerStarter([factory = std::move(factory)](const std::string& address) {
      return envs::EnvServer::StartMultiAgent(address, factory);
    });
  }
  envs::EnvFactory factory;
  if (library.empty()) {
    RETURN_IF_ERROR(envs::LookupEnvSpec(id, max_episode_steps).status());
    factory = [id, max_episode_steps](uint64_t seed) { return envs::MakeEnv(id, max_episode_steps, seed); };
  } else {
    RETURN_IF_ERROR(envs::PluginEnvSpec(config, max_episode_steps).status());
    factory = [config, max_episode_steps](uint64_t seed) {
      return envs::MakePluginEnv(config, max_episode_steps, seed);
    };
  }
  return ServerStarter(
      [factory = std::move(factory)](const std::string& address) { return envs::EnvServer::Start(address, factory); });
}

int BadInput(const std::string& message) {
  std::fprintf(stderr, "rill env-server: %s\n", message.c_str());
  return kExitBadInput;
}

}  // namespace

int EnvServerMain() {
  absl::Notification& stop = InstallShutdownSignals();
  SetLogRole("env-server");
  const std::string id = absl::GetFlag(FLAGS_env);
  const std::string library = absl::GetFlag(FLAGS_plugin);
  const std::string address = absl::GetFlag(FLAGS_address).empty() ? "127.0.0.1:0" : absl::GetFlag(FLAGS_address);
  const int max_episode_steps = absl::GetFlag(FLAGS_max_episode_steps);
  if (id.empty()) {
    return BadInput(library.empty() ? "--env=ID is required (`rill envs` lists the ids)"
                                    : absl::StrCat("--env=ID is required (`rill envs --plugin=", library,
                                                   "` lists the library's ids)"));
  }
  if (max_episode_steps < 0) return BadInput(absl::StrCat("--max_episode_steps ", max_episode_steps, " must be >= 0"));
  absl::StatusOr<ServerStarter> start = StarterFromFlags(id, library, max_episode_steps);
  if (!start.ok()) return BadInput(std::string(start.status().message()));
  absl::StatusOr<std::unique_ptr<envs::EnvServer>> server = (*start)(address);
  if (!server.ok()) {
    std::fprintf(stderr, "rill env-server: %s\n", std::string(server.status().message()).c_str());
    return absl::IsUnavailable(server.status()) ? kExitFailure : kExitBadInput;
  }
  std::unique_ptr<ShutdownHook> not_serving = OnShutdownSignal([&server] { (*server)->SetNotServing(); });
  RILL_LOG(INFO) << "serving " << (*server)->env_name() << (library.empty() ? "" : absl::StrCat(" of ", library))
                 << " on " << (*server)->address() << " (time limit " << (*server)->max_episode_steps() << ")";
  std::printf("listening on %s\n", (*server)->address().c_str());
  std::fflush(stdout);
  const absl::Status ready = AnnounceReady(absl::GetFlag(FLAGS_ready_fd), {{"grpc_port", (*server)->port()}});
  if (!ready.ok()) return ExitWith("ready", ready);

  stop.WaitForNotification();
  RILL_LOG(INFO) << "shutting down";
  (*server)->Stop(kShutdownGrace);
  return 0;
}

}  // namespace rill::roles
