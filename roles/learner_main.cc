#include "roles/learner_main.h"

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "flags/flags.h"
#include "common/grpc_util.h"
#include "common/logging.h"
#include "common/os.h"
#include "common/process.h"
#include "experiment/config.h"
#include "roles/role.h"
#include "learner/inference/batcher.h"
#include "learner/inference/inference_service.h"
#include "learner/learner.h"

ABSL_FLAG(int64_t, max_updates, 0, "Stop after this many updates; 0 trains until stopped.");
ABSL_FLAG(int32_t, learner_threads, 0,
          "Intra-op threads on the CPU when the config's learner.num_threads is 0: what `rill launch` leaves the "
          "learner beside its actors. 0: every core.");
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
  absl::StatusOr<std::unique_ptr<ScalarLog>> scalars = OpenScalarLogFromFlags();
  if (!scalars.ok()) return ExitWith("flags", scalars.status());
  options.scalars = scalars->get();

  // Data-parallel ranks: the group is joined before the learner is made
  // (its first act is to take rank 0's state).
  std::unique_ptr<learner::LearnerGroup> group;
  const int world_size =
      absl::GetFlag(FLAGS_world_size) > 0 ? absl::GetFlag(FLAGS_world_size) : config->topology().num_learners();
  if (world_size > 1 || absl::GetFlag(FLAGS_rank) != 0) {
    learner::LearnerGroupOptions group_options;
    group_options.rank = absl::GetFlag(FLAGS_rank);
    group_options.world_size = world_size;
    group_options.store_address = absl::GetFlag(FLAGS_store);
    group_options.timeout = absl::GetFlag(FLAGS_group_timeout);
    if (group_options.store_address.empty()) {
      return ExitWith("flags", absl::InvalidArgumentError("--world_size > 1 needs --store=HOST:PORT (rank 0's store)"));
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
    absl::StatusOr<std::unique_ptr<learner::LearnerGroup>> joined = learner::LearnerGroup::Join(group_options);
    if (!joined.ok()) {
      return ExitWith(absl::IsInvalidArgument(joined.status()) ? "flags" : "cannot join the learner group",
                      joined.status());
    }
    group = *std::move(joined);
    options.group = group.get();
    // Each rank its own noise (the networks are rank 0's, broadcast).
    options.seed = config->seed() + static_cast<uint64_t>(group->rank()) * 1000003;
    // Only rank 0 keeps checkpoints; the others start from its state.
    if (group->rank() != 0) options.checkpoint_dir.clear();
  }

  parameters::ParameterStore store;
  absl::StatusOr<std::unique_ptr<Learner>> learner =
      Learner::Create(options, &store, *metrics ? &(*metrics)->registry() : nullptr);
  if (!learner.ok()) return ExitWith("cannot start the learner", learner.status());
  if (!options.checkpoint_dir.empty()) {
    // The config the run used, beside its checkpoints (Create made the folder).
    absl::Status written = experiment::WriteExperimentConfig(*config, options.checkpoint_dir + "/config.textpb");
    if (!written.ok()) return ExitWith("cannot start the learner", written);
  }
  parameters::ParameterServiceImpl service(&store);
  std::vector<grpc::Service*> services = {&service};
  // Central inference: the actors' policy runs here, on the newest version,
  // unless inference.address or topology.num_inference_servers says separate
  // `rill inference` processes serve it.
  std::unique_ptr<InferenceBatcher> batcher;
  std::unique_ptr<InferenceServiceImpl> inference;
  const bool central = config->topology().inference() == v1::TopologyConfig::CENTRAL;
  if (central && (!config->inference().address().empty() || config->topology().num_inference_servers() > 0)) {
    RILL_LOG(INFO) << "central inference is served by "
                   << (config->inference().address().empty()
                           ? absl::StrCat(config->topology().num_inference_servers(), " rill inference processes")
                           : absl::StrCat(config->inference().address(), " (rill inference)"));
  } else if (central) {
    batcher = std::make_unique<InferenceBatcher>(InferenceOptions::FromConfig(*config), [&store] { return store.Latest(); },
                                                 *metrics ? &(*metrics)->registry() : nullptr);
    inference = std::make_unique<InferenceServiceImpl>(batcher.get());
    services.push_back(inference.get());
  }
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

  absl::Status status = (*learner)->Run(stop);
  store.Close();
  if (batcher) batcher->Stop();  // queued requests end CANCELLED, streams finish
  server->server->Shutdown(DeadlineIn(absl::Seconds(2)));
  if (!status.ok()) return ExitWith("learner failed", status);
  return 0;
}

}  // namespace rill::roles
