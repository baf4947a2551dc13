#include "learner/learner.h"

#include <algorithm>
#include <optional>
#include <cstring>
#include <filesystem>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "common/metrics.h"
#include "common/shape.h"
#include "common/status_macros.h"
#include "common/tensor_codec.h"
#include "common/torch_tensor.h"
#include "envs/catalog.h"
#include "learner/algorithms/registry.h"
#include "learner/algorithms/spec.h"
#include "learner/checkpoint.h"
#include "learner/device.h"
#include "learner/networks.h"
#include "replay/client/client_metrics.h"

namespace rill::learner {
namespace {

// The position of each column the algorithm reads in the table's signature.
// InvalidArgument naming the column for a missing one, or one of another
// dtype or item shape.
absl::StatusOr<std::vector<std::pair<std::string, int>>> MapColumns(const Algorithm& algorithm,
                                                                    const v1::TableConfig& table) {
  std::vector<std::pair<std::string, int>> columns;
  for (const ColumnRequirement& need : algorithm.Columns()) {
    int found = -1;
    for (int i = 0; i < table.signature().columns_size(); ++i) {
      if (table.signature().columns(i).name() == need.name) found = i;
    }
    if (found < 0) {
      if (need.optional) continue;
      return absl::InvalidArgumentError(absl::StrCat("replay table '", table.name(), "' has no column '", need.name,
                                                     "' that ", algorithm.name(), " needs"));
    }
    const v1::ColumnSpec& column = table.signature().columns(found);
    const std::vector<int64_t> shape(column.shape().begin(), column.shape().end());
    if (column.dtype() != need.dtype || shape != need.shape) {
      return absl::InvalidArgumentError(absl::StrCat(
          "replay table '", table.name(), "' column '", need.name, "' is ", DTypeName(column.dtype()), " ",
          ShapeString(shape), "; ", algorithm.name(), " needs ", DTypeName(need.dtype), " ", ShapeString(need.shape)));
    }
    columns.emplace_back(need.name, found);
  }
  return columns;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Learner>> Learner::Create(const LearnerOptions& options, parameters::ParameterStore* store,
                                                         prometheus::Registry* registry) {
  std::unique_ptr<Learner> learner(new Learner(options, store));
  RETURN_IF_ERROR(learner->UseDevice());
  RETURN_IF_ERROR(learner->CreateAlgorithmAndNormalizer());
  RETURN_IF_ERROR(learner->MapTableColumns());
  if (options.config.has_self_play() && store != nullptr) {
    store->KeepSnapshots(options.config.self_play().pool_size(), options.config.self_play().snapshot_every());
  }
  RETURN_IF_ERROR(learner->Resume());
  RETURN_IF_ERROR(learner->JoinRanks());
  if (registry == nullptr) {
    learner->own_registry_ = std::make_unique<prometheus::Registry>();
    registry = learner->own_registry_.get();
  }
  RETURN_IF_ERROR(learner->ConnectReplay(*registry));
  learner->InitMetrics(*registry);
  return learner;
}

absl::Status Learner::UseDevice() {
  const v1::ExperimentConfig& config = options_.config;
  ASSIGN_OR_RETURN(device_, PickDevice(config.learner().device(), "learner.device"));
  if (device_.is_cpu()) {
    // Set explicitly, as the benchmark does: SAC runs its twin critics on
    // the intra-op threads side by side.
    int threads = config.learner().num_threads();
    const bool tune = threads <= 0 && options_.group == nullptr && options_.alone_in_process;
    if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    torch::set_num_threads(threads);
    RILL_LOG(INFO) << "learner: " << (tune ? "up to " : "") << at::get_num_threads() << " intra-op threads"
                   << (tune ? ", as many as update fastest, measured as it trains (learner.num_threads fixes them)"
                            : "")
                   << "; BLAS kernels " << EnsureFastOpenBlasKernels();
    if (tune) {
      ThreadTuner::Options tuning;
      tuning.max_threads = threads;
      thread_tuner_ = std::make_unique<ThreadTuner>(tuning, [](int n) { torch::set_num_threads(n); });
    }
  }
  return absl::OkStatus();
}

absl::Status Learner::CreateAlgorithmAndNormalizer() {
  const v1::ExperimentConfig& config = options_.config;
  AlgorithmContext context;
  context.config = config;
  ASSIGN_OR_RETURN(context.env, envs::ConfiguredEnvSpec(config.env()));
  context.device = device_;
  context.seed = options_.seed;
  ASSIGN_OR_RETURN(algorithm_, CreateAlgorithm(context));
  // IMPALA and PPO keep a policy exploring with their entropy_cost.
  ASSIGN_OR_RETURN(const AlgorithmSpec* spec, FindAlgorithmSpec(config.learner()));
  const bool entropy_cost = spec->item_kind == items::ItemKind::kUnroll;
  // A mask lowers the entropy's maximum state by state: no collapse check.
  health_ = std::make_unique<TrainingHealth>(context.env.discrete && !context.env.action_mask ? context.env.num_actions : 0,
                                             entropy_cost ? absl::StrCat("learner.", spec->name, ".entropy_cost") : "");
  if (config.learner().normalize_observations()) {
    normalizer_ = std::make_unique<ObservationNormalizer>(
        context.env.obs_dim(), config.learner().observation_clip(), device_,
        /*raw_tail=*/context.env.action_mask ? context.env.num_actions : 0);
  }
  return absl::OkStatus();
}

absl::Status Learner::MapTableColumns() {
  const v1::ExperimentConfig& config = options_.config;
  const v1::TableConfig& table = config.replay().tables(0);
  ASSIGN_OR_RETURN(columns_, MapColumns(*algorithm_, table));
  for (int i = 0; i < table.signature().columns_size(); ++i) {
    const v1::ColumnSpec& column = table.signature().columns(i);
    if (column.name() != kPolicyVersionColumn) continue;
    if (column.dtype() != v1::DTYPE_INT64 || column.shape_size() != 0) {
      return absl::InvalidArgumentError(absl::StrCat("replay table '", table.name(), "' column '", kPolicyVersionColumn,
                                                     "' is ", DTypeName(column.dtype()), " ",
                                                     ShapeString(column.shape()),
                                                     "; the learner reads it as DTYPE_INT64 []"));
    }
    version_column_ = i;
  }
  if (config.learner().has_max_policy_lag() && version_column_ < 0) {
    return absl::InvalidArgumentError(absl::StrCat("learner.max_policy_lag is set but replay table '", table.name(),
                                                   "' has no column '", kPolicyVersionColumn, "' to measure the lag by"));
  }
  ASSIGN_OR_RETURN(const AlgorithmSpec* spec, FindAlgorithmSpec(config.learner()));
  steps_per_item_ = ActorDutyFor(*spec, config).items.env_steps_per_item();

  return absl::OkStatus();
}

absl::Status Learner::Resume() {
  const std::string& checkpoint_dir = options_.checkpoint_dir;
  if (checkpoint_dir.empty()) return absl::OkStatus();
  std::error_code error;
  std::filesystem::create_directories(checkpoint_dir, error);
  if (error) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create checkpoint folder '", checkpoint_dir, "': ", error.message()));
  }
  const std::string latest = checkpoint_dir + "/latest";
  if (!RecoverCheckpoint(latest)) return absl::OkStatus();
  absl::StatusOr<std::map<std::string, torch::Tensor>> saved = ReadCheckpointState(latest);
  absl::Status restored = saved.ok() ? algorithm_->state().Restore(*saved) : saved.status();
  if (restored.ok() && normalizer_ != nullptr) restored = normalizer_->state().Restore(*saved);
  if (!restored.ok()) {
    return absl::Status(restored.code(), absl::StrCat("cannot resume ", algorithm_->name(), " from '", latest,
                                                      "': ", restored.message()));
  }
  RILL_LOG(INFO) << "resumed from " << latest << " at update " << algorithm_->updates();
  return ResumePool(latest);
}

absl::Status Learner::ResumePool(const std::string& checkpoint) {
  if (!options_.config.has_self_play() || store_ == nullptr) return absl::OkStatus();
  absl::StatusOr<std::string> bytes = ReadCheckpointFile(checkpoint, kCheckpointPoolFile);
  if (absl::IsNotFound(bytes.status())) {
    RILL_LOG(WARNING) << "self-play: " << checkpoint << " holds no opponent pool; the pool starts empty";
    return absl::OkStatus();
  }
  v1::ParameterPool pool;
  if (!bytes.ok() || !pool.ParseFromString(*bytes)) {
    return absl::DataLossError(absl::StrCat("cannot resume self-play's opponent pool from '", checkpoint, "/",
                                            kCheckpointPoolFile, "': ",
                                            bytes.ok() ? "not a rill.v1.ParameterPool" : bytes.status().message()));
  }
  std::vector<v1::ParameterUpdate> snapshots(pool.snapshots().begin(), pool.snapshots().end());
  RETURN_IF_ERROR(store_->RestoreSnapshots(std::move(snapshots)));
  std::string versions;
  for (const parameters::ParameterUpdatePtr& snapshot : store_->Snapshots()) {
    absl::StrAppend(&versions, versions.empty() ? "" : ", ", snapshot->version());
  }
  RILL_LOG(INFO) << "self-play: resumed the opponent pool of versions " << (versions.empty() ? "(none)" : versions);
  return absl::OkStatus();
}

absl::Status Learner::JoinRanks() {
  LearnerGroup* group = options_.group;
  if (group == nullptr) return absl::OkStatus();
  algorithm_->set_gradient_averager(group);
  // Rank 0's state, as saved and restored: networks, optimizer moments and
  // counters. Not its noise generators: each rank draws its own noise (its
  // algorithm was seeded by rank), as it samples its own batch.
  std::vector<std::pair<std::string, torch::Tensor>> saved = algorithm_->state().Save(/*generators=*/false);
  if (normalizer_ != nullptr) {
    for (auto& named : normalizer_->state().Save()) saved.push_back(std::move(named));
  }
  std::vector<torch::Tensor> tensors;
  for (const auto& [name, tensor] : saved) tensors.push_back(tensor.contiguous());
  RETURN_IF_ERROR(group->Broadcast(tensors));
  std::map<std::string, torch::Tensor> shared;
  for (size_t i = 0; i < saved.size(); ++i) shared[saved[i].first] = tensors[i];
  RETURN_IF_ERROR(algorithm_->state().Restore(shared));
  if (normalizer_ != nullptr) RETURN_IF_ERROR(normalizer_->state().Restore(shared));
  RILL_LOG(INFO) << "learner rank " << group->rank() << " of " << group->world_size() << ": rank 0's state at update "
                 << algorithm_->updates() << ", " << (lead() ? "publishing and checkpointing" : "training beside it");
  return absl::OkStatus();
}

void Learner::ExportGroupMetrics() {
  if (options_.group == nullptr || allreduces_ == nullptr) return;
  const LearnerGroupStats now = options_.group->stats();
  allreduces_->Increment(static_cast<double>(now.allreduces - exported_group_.allreduces));
  allreduce_bytes_->Increment(static_cast<double>(now.allreduce_bytes - exported_group_.allreduce_bytes));
  allreduce_seconds_->Increment(now.allreduce_seconds - exported_group_.allreduce_seconds);
  exported_group_ = now;
}

absl::Status Learner::ConnectReplay(prometheus::Registry& registry) {
  // No addresses: the batches come through Train (a lock-step run).
  if (options_.replay_addresses.empty()) return absl::OkStatus();
  const v1::ExperimentConfig& config = options_.config;
  const v1::TableConfig& table = config.replay().tables(0);
  auto& client_rpc = replay::ClientRpcSeconds(registry);
  auto observer = [](prometheus::Histogram* histogram) {
    return [histogram](absl::Duration latency) { histogram->Observe(absl::ToDoubleSeconds(latency)); };
  };

  replay::SamplerOptions sampler;
  sampler.addresses = options_.replay_addresses;
  sampler.table = table.name();
  sampler.batch_size = config.learner().batch_size();
  sampler.prefetch_batches = config.learner().prefetch_batches();
  sampler.max_prefetch_bytes = config.learner().max_prefetch_bytes();
  sampler.max_message_bytes = config.replay().max_message_bytes();
  sampler.on_batch_latency = observer(&client_rpc.Add({{"role", "learner"}, {"method", "Sample"}}, LatencyBuckets()));
  ASSIGN_OR_RETURN(sampler_, replay::ReplaySampler::Create(sampler));
  if (table.selector().has_prioritized()) {
    replay::PriorityUpdaterOptions updater;
    updater.addresses = options_.replay_addresses;
    updater.table = table.name();
    updater.max_message_bytes = config.replay().max_message_bytes();
    updater.on_rpc_latency =
        observer(&client_rpc.Add({{"role", "learner"}, {"method", "UpdatePriorities"}}, LatencyBuckets()));
    ASSIGN_OR_RETURN(priority_updater_, replay::PriorityUpdater::Create(updater));
  }
  return absl::OkStatus();
}

void Learner::InitMetrics(prometheus::Registry& registry_ref) {
  prometheus::Registry* registry = &registry_ref;
  auto gauge = [registry](const std::string& name, const std::string& help) {
    return &prometheus::BuildGauge().Name(name).Help(help).Register(*registry).Add({});
  };
  auto& losses = prometheus::BuildGauge().Name("rill_learner_loss")
      .Help("The algorithm's losses at the latest logged update, by name").Register(*registry);
  auto& statistics = prometheus::BuildGauge().Name("rill_learner_statistic")
      .Help("The algorithm's other statistics (temperature, mean Q, ...) at the latest logged update, by name")
      .Register(*registry);
  for (const Statistic& statistic : algorithm_->Statistics()) {
    auto& family = statistic.is_loss ? losses : statistics;
    statistic_gauges_.push_back(&family.Add({{"name", statistic.name}}));
  }
  // With ranks, by rank: the ranks update in step, so a run's updates are
  // rank 0's (rill:learner_updates:rate1m counts those alone).
  std::map<std::string, std::string> by_rank;
  if (options_.group != nullptr) by_rank["rank"] = std::to_string(options_.group->rank());
  updates_total_ = &prometheus::BuildCounter().Name("rill_learner_updates_total")
      .Help("Gradient updates (of this rank, in a group of data-parallel ranks)").Register(*registry).Add(by_rank);
  samples_total_ = &prometheus::BuildCounter().Name("rill_learner_samples_total").Help("Transitions consumed by updates").Register(*registry).Add({});
  version_gauge_ = gauge("rill_learner_parameter_version", "Newest published parameter version");
  updates_per_second_ = gauge("rill_learner_updates_per_second", "Updates per second over the last interval");
  samples_per_second_ = gauge("rill_learner_samples_per_second", "Transitions consumed per second over the last interval");
  env_steps_per_second_ = gauge("rill_learner_env_steps_per_second",
                                         "Env steps learned per second over the last interval (items x steps per item)");
  policy_lag_ = &prometheus::BuildHistogram().Name("rill_learner_policy_lag_updates")
      .Help("Updates between the parameter version that produced a sampled item and the learner's current one")
      .Register(*registry).Add({}, prometheus::Histogram::BucketBoundaries{0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64, 128, 256});
  stale_items_ = &prometheus::BuildCounter().Name("rill_learner_stale_unrolls_total")
      .Help("Sampled items dropped for a policy lag above learner.max_policy_lag").Register(*registry).Add({});
  warnings_ = &prometheus::BuildCounter().Name("rill_learner_warnings_total")
      .Help("Signs of a run training on nonsense, by kind (each warned once in the log): nonfinite_loss, "
            "exploding_loss, entropy_collapse, policy_lag").Register(*registry);
  for (const char* kind : {"nonfinite_loss", "exploding_loss", "entropy_collapse", "policy_lag"}) warnings_->Add({{"kind", kind}});
  refused_items_ = &prometheus::BuildCounter().Name("rill_learner_refused_items_total")
      .Help("Sampled items the algorithm refused (non-finite inputs) and the learner dropped").Register(*registry).Add({});
  shards_up_ = gauge("rill_learner_replay_shards_up", "Replay shards the sampler currently reaches");
  auto& shard_up = prometheus::BuildGauge().Name("rill_learner_replay_shard_up")
      .Help("1 while the sampler reaches this replay shard, 0 while it is down").Register(*registry);
  auto& shard_size = prometheus::BuildGauge().Name("rill_learner_replay_shard_table_size")
      .Help("Table size of this replay shard at its latest sampled batch").Register(*registry);
  auto& window = prometheus::BuildGauge().Name("rill_learner_sample_window_batches")
      .Help("Batches queued and requested that the sampler allows this replay shard: learner.prefetch_batches, or "
            "the link's bandwidth-delay product where that is more").Register(*registry);
  auto& round_trip = prometheus::BuildGauge().Name("rill_learner_replay_round_trip_seconds")
      .Help("Longest health-check round trip to this replay shard in the last 10 s, which sizes its window")
      .Register(*registry);
  for (size_t i = 0; i < options_.replay_addresses.size(); ++i) {
    shard_up_.push_back(&shard_up.Add({{"shard", std::to_string(i)}}));
    shard_table_size_.push_back(&shard_size.Add({{"shard", std::to_string(i)}}));
    shard_window_.push_back(&window.Add({{"shard", std::to_string(i)}}));
    shard_round_trip_.push_back(&round_trip.Add({{"shard", std::to_string(i)}}));
  }
  ExportShardMetrics();
  auto& priority_updates = prometheus::BuildGauge().Name("rill_learner_priority_updates")
      .Help("Priority updates sent back to a prioritized replay table, by result (sent, dropped from a full "
            "queue, failed)").Register(*registry);
  priority_updates_sent_ = &priority_updates.Add({{"result", "sent"}});
  priority_updates_dropped_ = &priority_updates.Add({{"result", "dropped"}});
  priority_updates_failed_ = &priority_updates.Add({{"result", "failed"}});
  batch_wait_seconds_ = &prometheus::BuildHistogram().Name("rill_learner_batch_wait_seconds")
      .Help("Time the update loop waited for a sampled batch").Register(*registry).Add({}, LatencyBuckets());
  intra_op_threads_ = gauge("rill_learner_intra_op_threads",
                            "Intra-op threads the learner's updates run on (on a CPU learner with learner.num_threads 0, "
                            "as many as updated fastest when last measured)");
  intra_op_threads_->Set(thread_tuner_ != nullptr ? thread_tuner_->threads()
                         : device_.is_cpu()       ? at::get_num_threads()
                                                  : 0);
  update_seconds_ = &prometheus::BuildHistogram().Name("rill_learner_update_seconds")
      .Help("Time of one gradient update").Register(*registry).Add({}, LatencyBuckets());
  checkpoint_seconds_ = &prometheus::BuildHistogram().Name("rill_learner_checkpoint_seconds")
      .Help("Time to write a checkpoint").Register(*registry).Add({}, LatencyBuckets());
  if (options_.group != nullptr) {
    const std::map<std::string, std::string> rank = {{"rank", std::to_string(options_.group->rank())}};
    gauge("rill_learner_group_ranks", "Data-parallel learner ranks of this learner's group")
        ->Set(options_.group->world_size());
    allreduces_ = &prometheus::BuildCounter().Name("rill_learner_allreduces_total")
        .Help("Gradient allreduces with the other learner ranks, by this rank").Register(*registry).Add(rank);
    allreduce_bytes_ = &prometheus::BuildCounter().Name("rill_learner_allreduce_bytes_total")
        .Help("Bytes this rank contributed to the gradient allreduces").Register(*registry).Add(rank);
    allreduce_seconds_ = &prometheus::BuildCounter().Name("rill_learner_allreduce_seconds_total")
        .Help("Time this rank spent in gradient allreduces").Register(*registry).Add(rank);
  }
}

absl::Status Learner::Publish() {
  if (!lead()) return absl::OkStatus();
  // The version is the update count plus one: it increases with every
  // publish and carries on across a restart from a checkpoint.
  const int64_t version = algorithm_->updates() + 1;
  if (version <= version_) return absl::OkStatus();
  ASSIGN_OR_RETURN(v1::ParameterSet parameters, ExportPolicy());
  version_ = version;
  RETURN_IF_ERROR(store_->Publish(version_, algorithm_->updates(), parameters.SerializeAsString()));
  version_gauge_->Set(static_cast<double>(version_));
  return absl::OkStatus();
}

absl::StatusOr<v1::ParameterSet> Learner::ExportPolicy() const {
  ASSIGN_OR_RETURN(v1::ParameterSet parameters, algorithm_->ExportPolicy());
  if (normalizer_ != nullptr) RETURN_IF_ERROR(normalizer_->AddTo(&parameters));
  return parameters;
}

absl::Status Learner::NormalizeObservations(Batch& batch) {
  if (normalizer_ == nullptr) return absl::OkStatus();
  // Statistics from the observations the actors saw (an unroll's obs
  // include its bootstrap observation; next_obs and final_obs would count
  // most observations twice).
  RETURN_IF_ERROR(normalizer_->Update(batch.column("obs"), options_.group));
  for (const char* name : {"obs", "next_obs", "final_obs"}) {
    auto it = batch.columns.find(name);
    if (it != batch.columns.end()) it->second = normalizer_->Normalize(it->second);
  }
  return absl::OkStatus();
}

absl::Status Learner::Checkpoint() {
  if (options_.checkpoint_dir.empty() || !lead()) return absl::OkStatus();
  const absl::Time start = absl::Now();
  ASSIGN_OR_RETURN(v1::ParameterSet policy, ExportPolicy());
  std::vector<std::pair<std::string, torch::Tensor>> state = algorithm_->state().Save();
  if (normalizer_ != nullptr) {
    for (auto& entry : normalizer_->state().Save()) state.push_back(std::move(entry));
  }
  std::vector<std::pair<std::string, std::string>> files;
  if (options_.config.has_self_play() && store_ != nullptr) {
    v1::ParameterPool pool;
    for (const parameters::ParameterUpdatePtr& snapshot : store_->Snapshots()) *pool.add_snapshots() = *snapshot;
    files.emplace_back(kCheckpointPoolFile, pool.SerializeAsString());
  }
  RETURN_IF_ERROR(WriteCheckpoint(options_.checkpoint_dir + "/latest", state, policy, files));
  checkpoint_seconds_->Observe(absl::ToDoubleSeconds(absl::Now() - start));
  return absl::OkStatus();
}

absl::StatusOr<Batch> Learner::ToBatch(const v1::SampleResponse& response) {
  Batch batch;
  batch.size = response.keys_size();
  for (const auto& [name, index] : columns_) {
    if (index >= response.columns_size()) {
      return absl::InvalidArgumentError(absl::StrCat("sampled batch lacks column '", name, "'"));
    }
    // A view over the response's bytes: no per-element copy on CPU.
    ASSIGN_OR_RETURN(torch::Tensor view, ViewAsTorch(response.columns(index)));
    if (device_.is_cuda()) view = view.pin_memory().to(device_, /*non_blocking=*/true);
    batch.columns[name] = view;
  }
  if (priority_updater_ != nullptr) {
    if (response.importance_weights_size() != response.keys_size()) {
      return absl::InvalidArgumentError(absl::StrCat("sampled batch of a prioritized table has ",
                                                     response.importance_weights_size(), " importance weights for ",
                                                     response.keys_size(), " items"));
    }
    batch.weight = torch::tensor(std::vector<double>(response.importance_weights().begin(),
                                                     response.importance_weights().end()),
                                 torch::kFloat64)
                       .to(device_, torch::kFloat32);
  }
  return batch;
}

void Learner::LogScalars(const std::vector<Statistic>& statistics,
                         const std::vector<std::pair<std::string, double>>& rates, std::optional<double> lag_mean) {
  if (options_.scalars == nullptr) return;
  std::vector<std::pair<std::string, double>> fields = {{"updates", static_cast<double>(algorithm_->updates())},
                                                        {"samples", static_cast<double>(samples_)}};
  fields.insert(fields.end(), rates.begin(), rates.end());
  if (lag_mean.has_value()) fields.push_back({"policy_lag_mean", *lag_mean});
  for (const Statistic& statistic : statistics) {
    fields.push_back({absl::StrCat(statistic.is_loss ? "loss/" : "", statistic.name), statistic.value});
  }
  options_.scalars->Append(fields);
}

std::vector<Statistic> Learner::ExportStatistics() {
  std::vector<Statistic> statistics = algorithm_->Statistics();
  for (size_t i = 0; i < statistics.size() && i < statistic_gauges_.size(); ++i) {
    statistic_gauges_[i]->Set(statistics[i].value);
  }
  return statistics;
}

void Learner::ExportShardMetrics() {
  if (sampler_ == nullptr) return;
  const std::vector<replay::SamplerShardStats> stats = sampler_->shard_stats();
  int up = 0;
  for (size_t i = 0; i < stats.size() && i < shard_up_.size(); ++i) {
    up += stats[i].up ? 1 : 0;
    shard_up_[i]->Set(stats[i].up ? 1 : 0);
    if (stats[i].table_size >= 0) shard_table_size_[i]->Set(static_cast<double>(stats[i].table_size));
    shard_window_[i]->Set(stats[i].window_batches);
    shard_round_trip_[i]->Set(absl::ToDoubleSeconds(stats[i].round_trip));
  }
  shards_up_->Set(up);
}

absl::Status Learner::FilterBatch(const v1::SampleResponse& response, Batch& batch) {
  kept_rows_.clear();
  std::vector<bool> keep(static_cast<size_t>(batch.size), true);
  int64_t dropped = 0;
  if (version_column_ >= 0) {
    const v1::Tensor& column = response.columns(version_column_);
    if (static_cast<int64_t>(column.data().size()) != batch.size * static_cast<int64_t>(sizeof(int64_t))) {
      return absl::InvalidArgumentError(absl::StrCat("sampled batch column '", kPolicyVersionColumn, "' holds ",
                                                     column.data().size(), " bytes for ", batch.size, " items"));
    }
    const int64_t current = algorithm_->updates() + 1;  // the version these parameters publish as
    const bool bounded = options_.config.learner().has_max_policy_lag();
    const int64_t max_lag = options_.config.learner().max_policy_lag();
    int64_t stale = 0;
    for (int64_t i = 0; i < batch.size; ++i) {
      int64_t version;
      std::memcpy(&version, column.data().data() + i * sizeof(int64_t), sizeof(int64_t));
      const int64_t lag = std::max<int64_t>(0, current - version);
      policy_lag_->Observe(static_cast<double>(lag));
      lag_.Add(lag);
      if (bounded && lag > max_lag) {
        keep[i] = false;
        ++stale;
      }
    }
    if (stale > 0) {
      stale_items_->Increment(static_cast<double>(stale));
      dropped += stale;
    }
    interval_sampled_ += batch.size;
    interval_stale_ += stale;
  }
  torch::Tensor refused = algorithm_->RefusedRows(batch);
  if (refused.defined()) {
    refused = refused.to(torch::kCPU, torch::kBool).contiguous();
    const bool* bad = refused.data_ptr<bool>();
    int64_t count = 0;
    std::string keys;
    for (int64_t i = 0; i < batch.size; ++i) {
      if (!bad[i]) continue;
      if (keep[i]) ++dropped;
      keep[i] = false;
      ++count;
      if (count <= 5) absl::StrAppend(&keys, count > 1 ? ", " : "", response.keys(static_cast<int>(i)));
    }
    if (count > 0) {
      refused_items_->Increment(static_cast<double>(count));
      RILL_LOG(WARNING) << "dropped " << count << " sampled item(s) that " << algorithm_->name()
                        << " refuses (non-finite observations, rewards or behaviour log-probabilities); keys " << keys
                        << (count > 5 ? ", ..." : "");
    }
  }
  if (dropped == 0) return absl::OkStatus();
  for (int64_t i = 0; i < batch.size; ++i) {
    if (keep[i]) kept_rows_.push_back(i);
  }
  torch::Tensor rows = torch::tensor(kept_rows_, torch::kInt64).to(device_);
  for (auto& [name, column] : batch.columns) column = column.index_select(0, rows);
  if (batch.weight.defined()) batch.weight = batch.weight.index_select(0, rows);
  batch.size = static_cast<int64_t>(kept_rows_.size());
  return absl::OkStatus();
}

absl::Status Learner::SendPriorities(const v1::SampleResponse& response, int shard) {
  // p_i = |delta_i| + epsilon: a transition the critics already fit is still
  // drawn now and then (Schaul et al. 2016).
  constexpr double kPriorityEpsilon = 1e-6;
  if (priority_updater_ == nullptr && !options_.send_priorities) return absl::OkStatus();
  torch::Tensor priorities_now = algorithm_->Priorities();
  if (!priorities_now.defined()) return absl::OkStatus();
  torch::Tensor td = priorities_now.to(torch::kCPU, torch::kFloat64).contiguous();
  const double* errors = td.data_ptr<double>();
  std::vector<double> priorities(errors, errors + td.numel());
  for (double& p : priorities) p += kPriorityEpsilon;
  std::vector<uint64_t> keys;
  if (kept_rows_.empty()) {
    keys.assign(response.keys().begin(), response.keys().end());
  } else {
    for (int64_t row : kept_rows_) keys.push_back(response.keys(static_cast<int>(row)));
  }
  if (priority_updater_ == nullptr) return options_.send_priorities(std::move(keys), std::move(priorities));
  return priority_updater_->Enqueue(shard, std::move(keys), std::move(priorities));
}

absl::Status Learner::Start() {
  RETURN_IF_ERROR(Publish());
  interval_start_ = absl::Now();
  interval_updates_ = 0;
  interval_start_samples_ = samples_;
  RILL_LOG(INFO) << "learner on " << device_.str() << " sampling from "
                 << (sampler_ != nullptr ? absl::StrCat(options_.replay_addresses.size(), " shard(s)")
                                         : std::string("a table in this process"))
                 << ", " << algorithm_->name() << ", batch " << options_.config.learner().batch_size();
  return absl::OkStatus();
}

absl::Status Learner::Run(const absl::Notification& stop) {
  if (sampler_ == nullptr) return absl::FailedPreconditionError("a learner without replay addresses has no sampler");
  RETURN_IF_ERROR(Start());
  LearnerGroup* group = options_.group;
  const auto stopping = [&] {
    return stop.HasBeenNotified() || (options_.max_updates > 0 && algorithm_->updates() >= options_.max_updates);
  };
  while (true) {
    // A batch to learn from (nullopt once this learner stops).
    std::unique_ptr<v1::SampleResponse> response;
    std::optional<Batch> batch;
    int shard = -1;
    const absl::Time wait_start = absl::Now();
    while (!batch.has_value() && !stopping()) {
      absl::StatusOr<std::unique_ptr<v1::SampleResponse>> next = sampler_->Next(absl::Milliseconds(200), &shard);
      if (absl::IsDeadlineExceeded(next.status())) {
        ExportShardMetrics();
        continue;
      }
      if (!next.ok()) return next.status();
      response = *std::move(next);
      ASSIGN_OR_RETURN(batch, PrepareBatch(*response));
    }
    if (group != nullptr) {
      // Every rank updates in step (each update's allreduces must meet
      // their peers'), so the ranks stop together: once any has stopped,
      // every one finishes after the same update.
      absl::StatusOr<bool> any_stops = group->AnyRank(!batch.has_value());
      if (!any_stops.ok()) return FailedInGroup(any_stops.status());
      if (*any_stops) break;
    } else if (!batch.has_value()) {
      break;
    }
    batch_wait_seconds_->Observe(absl::ToDoubleSeconds(absl::Now() - wait_start));
    absl::Status trained = Apply(*response, shard, *batch, absl::Now());
    if (!trained.ok()) return group != nullptr ? FailedInGroup(trained) : trained;
  }
  return Finish();
}

absl::Status Learner::FailedInGroup(const absl::Status& status) {
  if (lead() && absl::IsUnavailable(status)) {
    // A rank has gone. Whatever this rank had done is rank 0's state to
    // restart the group from (an update stopped between its allreduces has
    // stepped some of its networks, as a whole update would have).
    absl::Status saved = Checkpoint();
    if (!saved.ok()) RILL_LOG(WARNING) << "no checkpoint after the group failed: " << saved;
  }
  return status;
}

absl::StatusOr<std::optional<Batch>> Learner::PrepareBatch(const v1::SampleResponse& response) {
  ASSIGN_OR_RETURN(Batch batch, ToBatch(response));
  RETURN_IF_ERROR(FilterBatch(response, batch));
  if (batch.size == 0) return std::nullopt;  // every item was stale or refused
  return batch;
}

absl::Status Learner::Train(const v1::SampleResponse& response, int shard) {
  const absl::Time update_start = absl::Now();
  ASSIGN_OR_RETURN(std::optional<Batch> batch, PrepareBatch(response));
  if (!batch.has_value()) return absl::OkStatus();
  return Apply(response, shard, *batch, update_start);
}

absl::Status Learner::Apply(const v1::SampleResponse& response, int shard, Batch& batch, absl::Time update_start) {
  RETURN_IF_ERROR(NormalizeObservations(batch));
  const absl::Time compute_start = absl::Now();
  RETURN_IF_ERROR(algorithm_->Update(batch));
  if (thread_tuner_ != nullptr) ObserveUpdateTime(absl::Now() - compute_start);
  RETURN_IF_ERROR(SendPriorities(response, shard));
  update_seconds_->Observe(absl::ToDoubleSeconds(absl::Now() - update_start));
  const int64_t batch_items = batch.size;
  samples_ += batch_items;
  updates_total_->Increment();
  samples_total_->Increment(static_cast<double>(batch_items));
  ++interval_updates_;
  const int64_t updates = algorithm_->updates();
  if (updates % options_.config.learner().publish_every() == 0) RETURN_IF_ERROR(Publish());
  const int64_t checkpoint_every = options_.config.learner().checkpoint_every();
  if (checkpoint_every > 0 && updates % checkpoint_every == 0) RETURN_IF_ERROR(Checkpoint());
  const absl::Duration elapsed = absl::Now() - interval_start_;
  if (elapsed >= absl::Seconds(2)) LogInterval(updates, absl::ToDoubleSeconds(elapsed));
  return absl::OkStatus();
}

void Learner::ObserveUpdateTime(absl::Duration update_time) {
  const int kept = thread_tuner_->kept();
  thread_tuner_->Observe(update_time);
  intra_op_threads_->Set(thread_tuner_->threads());
  // Say what the first probe found, and every change after it.
  if (thread_tuner_->kept() != kept) {
    RILL_LOG(INFO) << "learner: " << thread_tuner_->kept() << " intra-op thread"
                   << (thread_tuner_->kept() == 1 ? "" : "s") << (kept == 0 ? "" : " from now on") << " ("
                   << thread_tuner_->Describe() << ")";
  }
}

void Learner::LogInterval(int64_t updates, double seconds) {
  const double rate = interval_updates_ / seconds;
  updates_per_second_->Set(rate);
  const double items_per_second = static_cast<double>(samples_ - interval_start_samples_) / seconds;
  samples_per_second_->Set(items_per_second);
  env_steps_per_second_->Set(items_per_second * steps_per_item_);
  // Reading the statistics synchronizes the device, so only every interval.
  const std::vector<Statistic> statistics = ExportStatistics();
  store_->SetProgress(updates, samples_, rate);
  ExportShardMetrics();
  ExportGroupMetrics();
  if (priority_updater_ != nullptr) {
    const replay::PriorityUpdaterStats priority = priority_updater_->stats();
    priority_updates_sent_->Set(static_cast<double>(priority.sent));
    priority_updates_dropped_->Set(static_cast<double>(priority.dropped));
    priority_updates_failed_->Set(static_cast<double>(priority.failed));
  }
  std::string line = absl::StrFormat("update %d: %.0f updates/s", updates, rate);
  if (steps_per_item_ > 1) absl::StrAppendFormat(&line, ", %.0f env steps/s learned", items_per_second * steps_per_item_);
  const LagWindow interval_lag = lag_;
  if (lag_.count > 0) {
    absl::StrAppendFormat(&line, ", policy lag min %d mean %.1f max %d", lag_.min, lag_.Mean(), lag_.max);
    lag_ = LagWindow();
  }
  for (const Statistic& statistic : statistics) {
    absl::StrAppendFormat(&line, ", %s%s %.4g", statistic.name, statistic.is_loss ? " loss" : "", statistic.value);
  }
  RILL_LOG(INFO) << line;
  LogScalars(statistics, {{"updates_per_second", rate}, {"env_steps_learned_per_second", items_per_second * steps_per_item_}},
             interval_lag.count > 0 ? std::optional<double>(interval_lag.Mean()) : std::nullopt);
  for (const HealthWarning& warning : health_->Observe(updates, statistics, interval_stale_, interval_sampled_,
                                                       options_.config.learner().max_policy_lag())) {
    warnings_->Add({{"kind", warning.kind}}).Increment();
    RILL_LOG(WARNING) << warning.message;
  }
  interval_sampled_ = 0;
  interval_stale_ = 0;
  interval_start_ = absl::Now();
  interval_updates_ = 0;
  interval_start_samples_ = samples_;
}

absl::Status Learner::Finish() {
  if (sampler_ != nullptr) sampler_->Close();
  if (priority_updater_ != nullptr) {
    absl::Status flushed = priority_updater_->Flush(absl::Seconds(5));
    if (!flushed.ok()) RILL_LOG(WARNING) << "last priority updates not sent: " << flushed;
  }
  store_->SetProgress(algorithm_->updates(), samples_, 0);
  // The group's figures since the last interval, for the final metrics.
  ExportGroupMetrics();
  // The last figures, after the last interval's line.
  if (options_.scalars != nullptr && algorithm_->updates() > 0) LogScalars(ExportStatistics(), {}, std::nullopt);
  RETURN_IF_ERROR(Publish());
  RETURN_IF_ERROR(Checkpoint());
  if (thread_tuner_ != nullptr && thread_tuner_->kept() == 0 && algorithm_->updates() > 0) {
    // A short run (or a loaded machine) can end before the first probe.
    RILL_LOG(INFO) << "learner: stopped while measuring its intra-op threads, before choosing a count";
  }
  RILL_LOG(INFO) << "learner stops after " << algorithm_->updates() << " updates, parameter version " << version_;
  return absl::OkStatus();
}

}  // namespace rill::learner
