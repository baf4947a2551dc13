#include "roles/learner_main.h"

#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "flags/flags.h"
#include "common/grpc_util.h"
#include "common/logging.h"
#include "common/os.h"
#include "common/process.h"
#include "common/region_server.h"
#include "common/scalar_log.h"
#include "common/status_macros.h"
#include "experiment/config.h"
#include "experiment/policies.h"
#include "roles/role.h"
#include "learner/inference/batcher.h"
#include "learner/inference/inference_service.h"
#include "learner/learner.h"

ABSL_FLAG(int64_t, max_updates, 0, "Stop after this many updates; 0 trains until stopped.");
ABSL_FLAG(int32_t, learner_threads, 0,
          "Intra-op threads on the CPU when the config's learner.num_threads is 0: each rank's share of the cores "
          "the actors leave when `rill launch` runs several ranks or policies. 0: up to every core, as many as "
          "update fastest, measured as the learner trains.");
ABSL_FLAG(int32_t, world_size, 0,
          "Data-parallel learner ranks of this run; 0: the config's topology.num_learners (1: this learner alone).");
ABSL_FLAG(int32_t, rank, 0,
          "This learner's rank in [0, --world_size): rank 0 hosts the group's store and alone publishes parameters "
          "and writes checkpoints.");
ABSL_FLAG(std::string, store, "",
          "HOST:PORT of rank 0's store (c10d TCPStore) for --world_size > 1; rank 0 listens on PORT (0: a free "
          "port, which it logs).");
ABSL_FLAG(std::string, store_port_file, "",
          "Rank 0: once its store listens, writes the port to this file (what `rill launch` reads when the port "
          "was 0, a free one).");
ABSL_FLAG(absl::Duration, group_timeout, absl::Seconds(60),
          "How long joining the learner group, and each gradient allreduce, may wait for the other ranks.");

namespace rill::roles {

using learner::InferenceBatcher;
using learner::InferenceServiceImpl;
using learner::Learner;
using learner::InferenceOptions;
using learner::LearnerOptions;

namespace {

// One policy's learner state in this process.
struct PolicyLearner {
  std::string name;  // "" without config.policies
  std::unique_ptr<parameters::ParameterStore> store = std::make_unique<parameters::ParameterStore>();
  // Its own series, served labelled policy="<name>" when the run names
  // policies; the process's registry otherwise.
  std::shared_ptr<prometheus::Registry> registry;
  std::unique_ptr<ScalarLog> scalars;
  std::unique_ptr<Learner> learner;
  std::unique_ptr<InferenceBatcher> batcher;
};

// "<dir>/metrics/learner.jsonl" for policy "red": "<dir>/metrics/learner.red.jsonl".
std::string PolicyScalarsPath(const std::string& path, const std::string& policy) {
  const size_t dot = path.rfind('.');
  const size_t slash = path.rfind('/');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return absl::StrCat(path, ".", policy);
  return absl::StrCat(path.substr(0, dot), ".", policy, path.substr(dot));
}

// Makes `policy`'s learner state from the process's `options` (whose
// config is the whole run's): its view of the config, its checkpoint
// folder <checkpoint_dir>/<name>, its scalar log and its registry.
absl::Status MakePolicyLearner(const v1::ExperimentConfig& config, const LearnerOptions& options,
                               MetricsServer* metrics, PolicyLearner& policy) {
  LearnerOptions mine = options;
  ASSIGN_OR_RETURN(mine.config, experiment::PolicyView(config, policy.name));
  if (!policy.name.empty()) {
    mine.seed = mine.config.seed();
    if (!mine.checkpoint_dir.empty()) mine.checkpoint_dir = absl::StrCat(options.checkpoint_dir, "/", policy.name);
    if (!absl::GetFlag(FLAGS_scalars_file).empty()) {
      ASSIGN_OR_RETURN(policy.scalars, ScalarLog::Open(PolicyScalarsPath(absl::GetFlag(FLAGS_scalars_file), policy.name)));
      mine.scalars = policy.scalars.get();
    }
    if (metrics != nullptr) {
      policy.registry = std::make_shared<prometheus::Registry>();
      metrics->AddLabelledRegistry(policy.registry, {{"policy", policy.name}});
    }
  } else if (metrics != nullptr) {
    policy.registry = metrics->shared_registry();
  }
  ASSIGN_OR_RETURN(policy.learner, Learner::Create(mine, policy.store.get(), policy.registry.get()));
  if (!policy.name.empty() && !mine.checkpoint_dir.empty()) {
    // The policy's own config (a run of it alone), what `rill eval` and
    // `rill export` read beside its checkpoints.
    RETURN_IF_ERROR(experiment::WriteExperimentConfig(mine.config, mine.checkpoint_dir + "/config.textpb"));
  }
  return absl::OkStatus();
}

// Runs every policy's learner until `stop`, each on a thread of its own
// when there are several; the first to fail stops the others, and its
// error (naming the policy) is returned.
absl::Status RunPolicyLearners(std::vector<PolicyLearner>& policies, const absl::Notification& stop) {
  if (policies.size() == 1) return policies[0].learner->Run(stop);
  absl::Notification quit;
  absl::Mutex mu;
  absl::Status first;
  int running = static_cast<int>(policies.size());
  std::vector<std::thread> threads;
  for (PolicyLearner& policy : policies) {
    threads.emplace_back([&, learner = policy.learner.get(), name = policy.name] {
      absl::Status status = learner->Run(quit);
      absl::MutexLock lock(&mu);
      --running;
      if (!status.ok() && first.ok()) {
        first = absl::Status(status.code(), absl::StrCat("policy '", name, "': ", status.message()));
      }
    });
  }
  // Until the process is told to stop, a learner fails, or all are done
  // (their max_updates).
  auto ended = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return !first.ok() || running == 0; };
  while (!stop.WaitForNotificationWithTimeout(absl::Milliseconds(100))) {
    absl::MutexLock lock(&mu);
    if (ended()) break;
  }
  quit.Notify();
  for (std::thread& thread : threads) thread.join();
  return first;
}

// Central inference: the actors' policies run here, each on its newest
// version with a batcher of its own, unless inference.address or
// topology.num_inference_servers says separate `rill inference` processes
// serve it (then null, as without central inference).
std::unique_ptr<InferenceServiceImpl> ServeCentralInference(const v1::ExperimentConfig& config,
                                                            std::vector<PolicyLearner>& policies) {
  if (config.topology().inference() != v1::TopologyConfig::CENTRAL) return nullptr;
  if (!config.inference().address().empty() || config.topology().num_inference_servers() > 0) {
    RILL_LOG(INFO) << "central inference is served by "
                   << (config.inference().address().empty()
                           ? absl::StrCat(config.topology().num_inference_servers(), " rill inference processes")
                           : absl::StrCat(config.inference().address(), " (rill inference)"));
    return nullptr;
  }
  learner::InferenceBatchers batchers;
  for (PolicyLearner& policy : policies) {
    parameters::ParameterStore* store = policy.store.get();
    policy.batcher = std::make_unique<InferenceBatcher>(InferenceOptions::FromConfig(config),
                                                        [store] { return store->Latest(); }, policy.registry.get());
    batchers.emplace_back(policy.name, policy.batcher.get());
  }
  return std::make_unique<InferenceServiceImpl>(std::move(batchers));
}

// The region server through which subscribers on this host take parameter
// versions (learner.shared_memory_parameters), or null: not asked for, or
// this host has no shared memory (they follow the gRPC stream).
std::unique_ptr<RegionServer> ShareParametersOnHost(const v1::ExperimentConfig& config) {
  if (!config.learner().shared_memory_parameters()) return nullptr;
  absl::StatusOr<std::unique_ptr<RegionServer>> regions = RegionServer::Create("rill-parameters");
  if (!regions.ok()) {
    RILL_LOG(WARNING) << "parameter versions over gRPC only: " << regions.status().message();
    return nullptr;
  }
  return *std::move(regions);
}

// The data-parallel group of --world_size ranks this learner joins as
// --rank (null for a learner alone): InvalidArgument for bad flags.
absl::StatusOr<std::unique_ptr<learner::LearnerGroup>> JoinGroupFromFlags(int world_size) {
  if (world_size <= 1 && absl::GetFlag(FLAGS_rank) == 0) return nullptr;
  learner::LearnerGroupOptions group_options;
  group_options.rank = absl::GetFlag(FLAGS_rank);
  group_options.world_size = world_size;
  group_options.store_address = absl::GetFlag(FLAGS_store);
  group_options.timeout = absl::GetFlag(FLAGS_group_timeout);
  if (group_options.store_address.empty()) {
    return absl::InvalidArgumentError("--world_size > 1 needs --store=HOST:PORT (rank 0's store)");
  }
  if (group_options.rank == 0) {
    group_options.on_store_port = [](uint16_t port) {
      RILL_LOG(INFO) << "learner group store listening on port " << port;
      const std::string file = absl::GetFlag(FLAGS_store_port_file);
      if (file.empty()) return;
      absl::Status written = WriteFileAtomically(file, absl::StrCat(port, "\n"));
      if (!written.ok()) RILL_LOG(WARNING) << "cannot write --store_port_file: " << written;
    };
  }
  return learner::LearnerGroup::Join(group_options);
}

}  // namespace

int LearnerMain() {
  absl::Notification& stop = InstallShutdownSignals();
  SetLogRole("learner");
  absl::StatusOr<v1::ExperimentConfig> config = LoadConfigFromFlags();
  if (!config.ok()) return ExitWith("bad config", config.status());
  absl::StatusOr<std::unique_ptr<MetricsServer>> metrics = StartMetricsFromFlags();
  if (!metrics.ok()) return ExitWith("metrics", metrics.status());

  if (absl::GetFlag(FLAGS_learner_threads) < 0) {
    return ExitWith("flags", absl::InvalidArgumentError("--learner_threads must be >= 0"));
  }
  if (config->learner().num_threads() == 0 && absl::GetFlag(FLAGS_learner_threads) > 0) {
    config->mutable_learner()->set_num_threads(absl::GetFlag(FLAGS_learner_threads));
  }
  LearnerOptions options;
  options.config = *config;
  options.replay_addresses = absl::StrSplit(absl::GetFlag(FLAGS_replay_address), ',', absl::SkipEmpty());
  options.checkpoint_dir = absl::GetFlag(FLAGS_checkpoint_dir);
  options.seed = config->seed();
  options.max_updates = absl::GetFlag(FLAGS_max_updates);
  if (options.replay_addresses.empty()) return ExitWith("flags", absl::InvalidArgumentError("--replay_address is empty"));
  // A run of several policies logs each one's scalars apart (MakePolicyLearner).
  absl::StatusOr<std::unique_ptr<ScalarLog>> scalars =
      config->policies_size() == 0 ? OpenScalarLogFromFlags() : std::unique_ptr<ScalarLog>();
  if (!scalars.ok()) return ExitWith("flags", scalars.status());
  options.scalars = scalars->get();

  // Data-parallel ranks: the group is joined before the learner is made
  // (its first act is to take rank 0's state).
  const int world_size =
      absl::GetFlag(FLAGS_world_size) > 0 ? absl::GetFlag(FLAGS_world_size) : config->topology().num_learners();
  absl::StatusOr<std::unique_ptr<learner::LearnerGroup>> group = JoinGroupFromFlags(world_size);
  if (!group.ok()) {
    return ExitWith(absl::IsInvalidArgument(group.status()) ? "flags" : "cannot join the learner group",
                    group.status());
  }
  if (*group != nullptr) {
    options.group = group->get();
    // Each rank its own noise (the networks are rank 0's, broadcast).
    options.seed = config->seed() + static_cast<uint64_t>((*group)->rank()) * 1000003;
    // Only rank 0 keeps checkpoints; the others start from its state.
    if ((*group)->rank() != 0) options.checkpoint_dir.clear();
  }

  // One learner state per policy (config.policies; without it, one named
  // ""), each with its own store, checkpoints, scalars and metrics.
  absl::StatusOr<experiment::PolicyMap> map = experiment::ResolvePolicies(*config);
  if (!map.ok()) return ExitWith("bad config", map.status());
  // Ranks of several policies: each policy averages through a subgroup of
  // its own, since the policies train on threads of their own and one
  // group's collectives must come in the same order on every rank.
  // Declared before the learners, so that they outlive them.
  std::vector<std::unique_ptr<learner::LearnerGroup>> policy_groups;
  for (const std::string& name : map->names) {
    if (*group == nullptr || !map->several()) break;
    absl::StatusOr<std::unique_ptr<learner::LearnerGroup>> made = (*group)->Subgroup(name);
    if (!made.ok()) return ExitWith("cannot join the learner group", made.status());
    policy_groups.push_back(*std::move(made));
  }
  // Shared memory for subscribers on this host (declared before the
  // stores, which write into its regions, so that it outlives them).
  std::unique_ptr<RegionServer> parameter_regions = ShareParametersOnHost(*config);
  std::vector<PolicyLearner> policies(static_cast<size_t>(map->num_policies()));
  options.alone_in_process = policies.size() == 1;
  for (int p = 0; p < map->num_policies(); ++p) {
    PolicyLearner& policy = policies[p];
    policy.name = map->names[p];
    if (parameter_regions != nullptr) policy.store->ShareOnHost(parameter_regions.get());
    if (!policy_groups.empty()) options.group = policy_groups[p].get();
    absl::Status made = MakePolicyLearner(*config, options, *metrics ? metrics->get() : nullptr, policy);
    if (!made.ok()) return ExitWith("cannot start the learner", made);
  }
  if (!options.checkpoint_dir.empty()) {
    // The config the run used, beside its checkpoints (Create made the folder).
    absl::Status written = experiment::WriteExperimentConfig(*config, options.checkpoint_dir + "/config.textpb");
    if (!written.ok()) return ExitWith("cannot start the learner", written);
  }
  std::vector<std::pair<std::string, parameters::ParameterStore*>> stores;
  for (PolicyLearner& policy : policies) stores.emplace_back(policy.name, policy.store.get());
  parameters::ParameterServiceImpl service(std::move(stores));
  std::vector<grpc::Service*> services = {&service};
  std::unique_ptr<InferenceServiceImpl> inference = ServeCentralInference(*config, policies);
  if (inference) services.push_back(inference.get());
  absl::StatusOr<StartedServer> server =
      StartGrpcServer(HostPort(absl::GetFlag(FLAGS_host), absl::GetFlag(FLAGS_port)), services,
                      config->replay().max_message_bytes());
  if (!server.ok()) return ExitWith("cannot serve parameters", server.status());
  // On SIGTERM, readiness goes first; then the update loop stops, the last
  // version is published and the final checkpoint written (common/process.h).
  std::unique_ptr<ShutdownHook> not_serving = OnShutdownSignal([&server] {
    server->server->GetHealthCheckService()->SetServingStatus(false);
    RILL_LOG(INFO) << "health: NOT_SERVING";
  });
  RILL_LOG(INFO) << "parameter service" << (inference ? " and central inference" : "") << " on port " << server->port
                 << (*metrics ? absl::StrCat(", metrics on port ", (*metrics)->port()) : "");
  std::map<std::string, int> ports = {{"grpc_port", server->port}};
  if (*metrics) ports["metrics_port"] = (*metrics)->port();
  absl::Status ready = AnnounceReady(absl::GetFlag(FLAGS_ready_fd), ports);
  if (!ready.ok()) return ExitWith("ready", ready);

  absl::Status status = RunPolicyLearners(policies, stop);
  for (PolicyLearner& policy : policies) {
    policy.store->Close();
    if (policy.batcher) policy.batcher->Stop();  // queued requests end CANCELLED, streams finish
  }
  server->server->Shutdown(DeadlineIn(absl::Seconds(2)));
  if (!status.ok()) return ExitWith("learner failed", status);
  return 0;
}

}  // namespace rill::roles
