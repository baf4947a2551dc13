#include "roles/env_server_main.h"

#include <cstdint>
#include <cstdio>
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

// The factory of --env (with --plugin, the library's env of that id),
// checked as far as it can be without making an env: NotFound for an
// unknown id (listing the known ones), the loader's errors for a library,
// InvalidArgument for a multi-agent env (this server's streams are
// single-agent).
absl::StatusOr<envs::EnvFactory> FactoryFromFlags(const std::string& id, const std::string& library,
                                                  int max_episode_steps) {
  v1::PluginEnvConfig config;
  config.set_library(library);
  config.set_id(id);
  if (library.empty() ? envs::IsMultiAgentEnv(id) : envs::IsPluginMultiAgentEnv(config)) {
    return absl::InvalidArgumentError(absl::StrCat(
        id, " is a multi-agent env, and rill env-server serves single-agent envs only so far: name it in the "
        "config's env section (", library.empty() ? "env { name: ... }" : "env { plugin { ... } }",
        ") for the actors to step it, or serve it from Python (python3 -m rill.env_server)"));
  }
  if (library.empty()) {
    RETURN_IF_ERROR(envs::LookupEnvSpec(id, max_episode_steps).status());
    return envs::EnvFactory([id, max_episode_steps](uint64_t seed) {
      return envs::MakeEnv(id, max_episode_steps, seed);
    });
  }
  RETURN_IF_ERROR(envs::PluginEnvSpec(config, max_episode_steps).status());
  return envs::EnvFactory([config, max_episode_steps](uint64_t seed) {
    return envs::MakePluginEnv(config, max_episode_steps, seed);
  });
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
  absl::StatusOr<envs::EnvFactory> factory = FactoryFromFlags(id, library, max_episode_steps);
  if (!factory.ok()) return BadInput(std::string(factory.status().message()));
  absl::StatusOr<std::unique_ptr<envs::EnvServer>> server = envs::EnvServer::Start(address, *std::move(factory));
  if (!server.ok()) {
    std::fprintf(stderr, "rill env-server: %s\n", std::string(server.status().message()).c_str());
    return absl::IsUnavailable(server.status()) ? kExitFailure : kExitBadInput;
  }
  std::unique_ptr<ShutdownHook> not_serving = OnShutdownSignal([&server] { (*server)->SetNotServing(); });
  const envs::EnvSpec& spec = (*server)->spec();
  RILL_LOG(INFO) << "serving " << spec.name << (library.empty() ? "" : absl::StrCat(" of ", library)) << " on "
                 << (*server)->address() << " (time limit " << spec.max_episode_steps << ")";
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
