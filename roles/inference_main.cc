#include "roles/inference_main.h"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "parameters/parameter_client.h"
#include "flags/flags.h"
#include "common/grpc_util.h"
#include "common/logging.h"
#include "common/metrics.h"
#include "common/process.h"
#include "experiment/policies.h"
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
  // With a registry it exports rill_inference_parameter_version. `policy`
  // names the stream in the log ("" for a run without policies).
  NewestParameters(prometheus::Registry* registry, std::string policy) : policy_(std::move(policy)) {
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
      RILL_LOG(INFO) << (policy_.empty() ? "" : absl::StrCat("policy '", policy_, "': ")) << "parameter version "
                     << version << " from the learner"
                     << (previous == 0 ? "" : absl::StrCat(" (after version ", previous, ")"));
    }
  }

  // Null before the first version.
  parameters::ParameterUpdatePtr Get() const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return latest_;
  }

 private:
  const std::string policy_;
  mutable absl::Mutex mu_;
  parameters::ParameterUpdatePtr latest_ ABSL_GUARDED_BY(mu_);
  prometheus::Gauge* version_gauge_ = nullptr;
};

// One policy served here. Members in dependency order, so that they go in
// reverse: the client's callback and the batcher both read `newest`.
struct PolicyServing {
  std::shared_ptr<prometheus::Registry> registry;  // null: the process's
  std::unique_ptr<NewestParameters> newest;
  std::unique_ptr<InferenceBatcher> batcher;
  std::unique_ptr<parameters::ParameterClient> client;
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

  // Every policy of the run (config.policies), each on its own parameter
  // stream with a batcher of its own; its series labelled policy="<name>"
  // when the run names policies.
  absl::StatusOr<experiment::PolicyMap> policies = experiment::ResolvePolicies(*config);
  if (!policies.ok()) return ExitWith("bad config", policies.status());
  std::vector<PolicyServing> servings(policies->names.size());
  learner::InferenceBatchers batchers;
  for (size_t p = 0; p < servings.size(); ++p) {
    PolicyServing& serving = servings[p];
    const std::string& name = policies->names[p];
    prometheus::Registry* own = registry;
    if (policies->several() && *metrics) {
      serving.registry = std::make_shared<prometheus::Registry>();
      (*metrics)->AddLabelledRegistry(serving.registry, {{"policy", name}});
      own = serving.registry.get();
    }
    serving.newest = std::make_unique<NewestParameters>(own, name);
    NewestParameters* newest = serving.newest.get();
    serving.batcher = std::make_unique<InferenceBatcher>(InferenceOptions::FromConfig(*config),
                                                         [newest] { return newest->Get(); }, own);
    batchers.emplace_back(name, serving.batcher.get());
  }
  InferenceServiceImpl service(std::move(batchers));
  for (size_t p = 0; p < servings.size(); ++p) {
    NewestParameters* newest = servings[p].newest.get();
    servings[p].client = std::make_unique<parameters::ParameterClient>(
        learner_address, max_message_bytes, [newest](v1::ParameterUpdate update) { newest->Set(std::move(update)); },
        policies->names[p]);
  }

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
  // Queued requests end CANCELLED, streams finish.
  for (PolicyServing& serving : servings) serving.batcher->Stop();
  server->server->Shutdown(DeadlineIn(absl::Seconds(2)));
  InferenceStats total;
  std::vector<std::string> versions;
  for (size_t p = 0; p < servings.size(); ++p) {
    const InferenceStats stats = servings[p].batcher->Stats();
    total.requests += stats.requests;
    total.batches += stats.batches;
    total.rows += stats.rows;
    versions.push_back(policies->several() ? absl::StrCat(policies->names[p], " ", stats.version)
                                           : absl::StrCat(stats.version));
  }
  RILL_LOG(INFO) << "stopped after " << total.requests << " requests in " << total.batches << " batches ("
                 << total.rows << " rows), last with parameter version " << absl::StrJoin(versions, ", ");
  return 0;
}

}  // namespace rill::roles
