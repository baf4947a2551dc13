#include "roles/inference_main.h"

#include <map>
#include <memory>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "parameters/parameter_client.h"
#include "flags/flags.h"
#include "common/grpc_util.h"
#include "common/logging.h"
#include "common/metrics.h"
#include "common/process.h"
#include "roles/role.h"
#include "learner/inference/batcher.h"
#include "learner/inference/inference_service.h"
#include "parameters/parameter_service.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace rill::roles {

using learner::InferenceBatcher;
using learner::InferenceOptions;
using learner::InferenceServiceImpl;
using learner::InferenceStats;

namespace {

// The newest parameter version received from the learner, as the batcher
// loads it before its next batch. Set on the ParameterClient's thread, read
// on the inference thread; thread-safe, and neither side waits on the other
// for more than the swap of a pointer.
class NewestParameters {
 public:
  // With a registry it exports rill_inference_parameter_version.
  explicit NewestParameters(prometheus::Registry* registry) {
    if (registry == nullptr) return;
    version_gauge_ = &prometheus::BuildGauge()
                          .Name("rill_inference_parameter_version")
                          .Help("Newest parameter version received from the learner")
                          .Register(*registry)
                          .Add({});
  }

  void Set(v1::ParameterUpdate update) ABSL_LOCKS_EXCLUDED(mu_) {
    const int64_t version = update.version();
    parameters::ParameterUpdatePtr newest = std::make_shared<const v1::ParameterUpdate>(std::move(update));
    int64_t previous;
    {
      absl::MutexLock lock(&mu_);
      previous = latest_ == nullptr ? 0 : latest_->version();
      latest_.swap(newest);  // the old version is freed outside the lock
    }
    if (version_gauge_ != nullptr) version_gauge_->Set(static_cast<double>(version));
    // A version older than the last one: the learner restarted from a
    // checkpoint; its versions count on from there.
    if (previous == 0 || version < previous) {
      RILL_LOG(INFO) << "parameter version " << version << " from the learner"
                     << (previous == 0 ? "" : absl::StrCat(" (after version ", previous, ")"));
    }
  }

  // Null before the first version.
  parameters::ParameterUpdatePtr Get() const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return latest_;
  }

 private:
  mutable absl::Mutex mu_;
  parameters::ParameterUpdatePtr latest_ ABSL_GUARDED_BY(mu_);
  prometheus::Gauge* version_gauge_ = nullptr;
};

}  // namespace

int InferenceMain() {
  absl::Notification& stop = InstallShutdownSignals();
  SetLogRole("inference");
  const std::string learner_address = absl::GetFlag(FLAGS_learner_address);
  if (learner_address.empty()) {
    return ExitWith("flags", absl::InvalidArgumentError(
                                 "--learner_address is empty: the inference role follows the learner's parameter "
                                 "stream at that HOST:PORT"));
  }
  const int port = absl::GetFlag(FLAGS_port);
  if (port < 0 || port > 65535) {
    return ExitWith("flags", absl::InvalidArgumentError(absl::StrCat("--port=", port, " is not a port")));
  }
  absl::StatusOr<v1::ExperimentConfig> config = LoadConfigFromFlags();
  if (!config.ok()) return ExitWith("bad config", config.status());
  absl::StatusOr<std::unique_ptr<MetricsServer>> metrics = StartMetricsFromFlags();
  if (!metrics.ok()) return ExitWith("metrics", metrics.status());
  prometheus::Registry* registry = *metrics ? &(*metrics)->registry() : nullptr;
  if (config->topology().inference() != v1::TopologyConfig::CENTRAL) {
    RILL_LOG(WARNING) << "topology.inference is " << v1::TopologyConfig::Inference_Name(config->topology().inference())
                      << ": the actors of this config act with their own policy copy, not through this service";
  }
  const int64_t max_message_bytes = config->replay().max_message_bytes();

  // Declared in dependency order, so that they go in reverse: the client's
  // callback and the batcher both read `newest`.
  NewestParameters newest(registry);
  InferenceBatcher batcher(InferenceOptions::FromConfig(*config), [&newest] { return newest.Get(); }, registry);
  InferenceServiceImpl service(&batcher);
  parameters::ParameterClient parameters(learner_address, max_message_bytes,
                                    [&newest](v1::ParameterUpdate update) { newest.Set(std::move(update)); });

  absl::StatusOr<StartedServer> server =
      StartGrpcServer(HostPort(absl::GetFlag(FLAGS_host), port), {&service}, max_message_bytes);
  if (!server.ok()) return ExitWith("cannot serve inference", server.status());
  // On SIGTERM, readiness goes first (common/process.h); then the batcher
  // stops, which ends every open stream.
  std::unique_ptr<ShutdownHook> not_serving = OnShutdownSignal([&server] {
    server->server->GetHealthCheckService()->SetServingStatus(false);
    RILL_LOG(INFO) << "health: NOT_SERVING";
  });
  RILL_LOG(INFO) << "central inference on port " << server->port << " with the parameters of the learner at "
                 << learner_address << (*metrics ? absl::StrCat(", metrics on port ", (*metrics)->port()) : "")
                 << "; requests get UNAVAILABLE until its first version arrives";
  std::map<std::string, int> ports = {{"grpc_port", server->port}};
  if (*metrics) ports["metrics_port"] = (*metrics)->port();
  absl::Status ready = AnnounceReady(absl::GetFlag(FLAGS_ready_fd), ports);
  if (!ready.ok()) return ExitWith("ready", ready);

  stop.WaitForNotification();
  RILL_LOG(INFO) << "shutting down";
  batcher.Stop();  // queued requests end CANCELLED, streams finish
  server->server->Shutdown(DeadlineIn(absl::Seconds(2)));
  const InferenceStats stats = batcher.Stats();
  RILL_LOG(INFO) << "stopped after " << stats.requests << " requests in " << stats.batches << " batches ("
                 << stats.rows << " rows), last with parameter version " << stats.version;
  return 0;
}

}  // namespace rill::roles
