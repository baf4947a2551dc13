#include "roles/role.h"

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "experiment/config.h"
#include "flags/flags.h"
#include "common/logging.h"
#include "common/status_macros.h"

namespace rill::roles {

absl::StatusOr<v1::ExperimentConfig> LoadConfigFromFlags(const experiment::EnvSpacesSource& ask,
                                                         const experiment::ConfigEdit& edit) {
  ASSIGN_OR_RETURN(v1::ExperimentConfig config,
                   experiment::LoadExperimentConfig(absl::GetFlag(FLAGS_config), ask, edit));
  if (absl::GetFlag(FLAGS_seed) >= 0) config.set_seed(static_cast<uint64_t>(absl::GetFlag(FLAGS_seed)));
  return config;
}

absl::StatusOr<std::unique_ptr<ScalarLog>> OpenScalarLogFromFlags() {
  const std::string path = absl::GetFlag(FLAGS_scalars_file);
  if (path.empty()) return std::unique_ptr<ScalarLog>();
  return ScalarLog::Open(path);
}

absl::StatusOr<std::unique_ptr<MetricsServer>> StartMetricsFromFlags() {
  const int port = absl::GetFlag(FLAGS_metrics_port);
  if (port < 0) return std::unique_ptr<MetricsServer>();
  if (port > 65535) return absl::InvalidArgumentError(absl::StrCat("--metrics_port=", port, " is not a port"));
  ASSIGN_OR_RETURN(std::unique_ptr<MetricsServer> server,
                   MetricsServer::Create(absl::StrCat(absl::GetFlag(FLAGS_host), ":", port)));
  server->set_final_snapshot_path(absl::GetFlag(FLAGS_final_metrics_file));
  return server;
}

int ExitWith(const std::string& what, const absl::Status& status) {
  RILL_LOG(ERROR) << what << ": " << status;
  const bool bad_input = absl::IsInvalidArgument(status) || absl::IsNotFound(status) ||
                         absl::IsFailedPrecondition(status) || absl::IsOutOfRange(status);
  return bad_input ? kExitBadInput : kExitFailure;
}

}  // namespace rill::roles
