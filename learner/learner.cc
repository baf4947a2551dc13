#include "learner/learner.h"

#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/config.h"
#include "common/logging.h"
#include "common/metrics.h"
#include "common/status_macros.h"
#include "common/torch_tensor.h"
#include "learner/networks.h"

namespace rill::learner {
namespace {

constexpr const char* kColumns[5] = {"obs", "action", "reward", "terminated", "next_obs"};

absl::StatusOr<torch::Device> PickDevice(const std::string& wanted) {
  const bool cuda = torch::cuda::is_available();
  if (wanted == "cuda" && !cuda) return absl::FailedPreconditionError("learner.device is cuda but LibTorch sees no CUDA device");
  if (wanted == "cpu" || !cuda) return torch::Device(torch::kCPU);
  return torch::Device(torch::kCUDA, 0);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Learner>> Learner::Create(const LearnerOptions& options, ParameterStore* store,
                                                         prometheus::Registry* registry) {
  std::unique_ptr<Learner> learner(new Learner(options, store));
  const v1::ExperimentConfig& config = learner->options_.config;
  ASSIGN_OR_RETURN(learner->device_, PickDevice(config.learner().device()));
  if (learner->device_.is_cpu()) {
    // Set explicitly, as the benchmark does: SAC runs its twin critics on
    // the intra-op threads side by side.
    int threads = config.learner().num_threads();
    if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    torch::set_num_threads(threads);
    RILL_LOG(INFO) << "learner: " << at::get_num_threads() << " intra-op threads, BLAS kernels "
                   << EnsureFastOpenBlasKernels();
  }
  ASSIGN_OR_RETURN(EnvSpaces spaces, LookupEnvSpaces(config.env().name()));
  const v1::TableConfig& table = config.replay().tables(0);
  for (int c = 0; c < 5; ++c) {
    int found = -1;
    for (int i = 0; i < table.signature().columns_size(); ++i) {
      if (table.signature().columns(i).name() == kColumns[c]) found = i;
    }
    if (found < 0) {
      return absl::InvalidArgumentError(absl::StrCat("table '", table.name(), "' has no column '", kColumns[c], "' that SAC needs"));
    }
    learner->column_index_[c] = found;
  }

  SacOptions sac;
  sac.obs_dim = spaces.obs_dim;
  sac.act_dim = spaces.act_dim;
  sac.hidden.assign(config.network().hidden_sizes().begin(), config.network().hidden_sizes().end());
  sac.actor_lr = config.sac().actor_lr();
  sac.critic_lr = config.sac().critic_lr();
  sac.alpha_lr = config.sac().alpha_lr();
  sac.gamma = config.sac().gamma();
  sac.tau = config.sac().tau();
  sac.initial_alpha = config.sac().initial_alpha();
  sac.target_entropy = config.sac().target_entropy();
  sac.fixed_alpha = config.sac().fixed_alpha();
  sac.device = learner->device_;
  sac.seed = options.seed;
  ASSIGN_OR_RETURN(learner->sac_, Sac::Create(sac));

  if (!options.checkpoint_dir.empty()) {
    std::error_code error;
    std::filesystem::create_directories(options.checkpoint_dir, error);
    if (error) return absl::PermissionDeniedError(absl::StrCat("cannot create checkpoint folder '", options.checkpoint_dir, "': ", error.message()));
    const std::string latest = options.checkpoint_dir + "/latest";
    if (std::filesystem::exists(latest)) {
      RETURN_IF_ERROR(learner->sac_->Load(latest));
      RILL_LOG(INFO) << "resumed from " << latest << " at update " << learner->sac_->updates();
    }
    RETURN_IF_ERROR(WriteExperimentConfig(config, options.checkpoint_dir + "/config.textpb"));
  }

  replay::SamplerOptions sampler;
  sampler.addresses = options.replay_addresses;
  sampler.table = table.name();
  sampler.batch_size = config.sac().batch_size();
  sampler.prefetch_batches = config.learner().prefetch_batches();
  sampler.max_message_bytes = config.replay().max_message_bytes();
  ASSIGN_OR_RETURN(learner->sampler_, replay::ReplaySampler::Create(sampler));
  if (table.selector() == "prioritized") {
    replay::PriorityUpdaterOptions updater;
    updater.addresses = options.replay_addresses;
    updater.table = table.name();
    updater.max_message_bytes = config.replay().max_message_bytes();
    ASSIGN_OR_RETURN(learner->priority_updater_, replay::PriorityUpdater::Create(updater));
  }

  if (registry == nullptr) {
    learner->own_registry_ = std::make_unique<prometheus::Registry>();
    registry = learner->own_registry_.get();
  }
  auto gauge = [registry](const std::string& name, const std::string& help) {
    return &prometheus::BuildGauge().Name(name).Help(help).Register(*registry).Add({});
  };
  auto& losses = prometheus::BuildGauge().Name("rill_learner_loss").Help("Loss of the latest logged update").Register(*registry);
  learner->critic_loss_ = &losses.Add({{"loss", "critic"}});
  learner->actor_loss_ = &losses.Add({{"loss", "actor"}});
  learner->alpha_loss_ = &losses.Add({{"loss", "alpha"}});
  learner->updates_total_ = &prometheus::BuildCounter().Name("rill_learner_updates_total").Help("Gradient updates").Register(*registry).Add({});
  learner->samples_total_ = &prometheus::BuildCounter().Name("rill_learner_samples_total").Help("Transitions consumed by updates").Register(*registry).Add({});
  learner->version_gauge_ = gauge("rill_learner_parameter_version", "Newest published parameter version");
  learner->updates_per_second_ = gauge("rill_learner_updates_per_second", "Updates per second over the last interval");
  learner->samples_per_second_ = gauge("rill_learner_samples_per_second", "Transitions consumed per second over the last interval");
  learner->alpha_ = gauge("rill_learner_alpha", "SAC entropy temperature");
  learner->q_mean_ = gauge("rill_learner_q_mean", "Mean Q value of the latest logged batch");
  learner->shards_up_ = gauge("rill_learner_replay_shards_up", "Replay shards the sampler currently reaches");
  auto& shard_up = prometheus::BuildGauge().Name("rill_learner_replay_shard_up")
      .Help("1 while the sampler reaches this replay shard, 0 while it is down").Register(*registry);
  auto& shard_size = prometheus::BuildGauge().Name("rill_learner_replay_shard_table_size")
      .Help("Table size of this replay shard at its latest sampled batch").Register(*registry);
  for (size_t i = 0; i < options.replay_addresses.size(); ++i) {
    learner->shard_up_.push_back(&shard_up.Add({{"shard", std::to_string(i)}}));
    learner->shard_table_size_.push_back(&shard_size.Add({{"shard", std::to_string(i)}}));
  }
  learner->ExportShardMetrics();
  auto& priority_updates = prometheus::BuildGauge().Name("rill_learner_priority_updates")
      .Help("Priority updates sent back to a prioritized replay table, by result (sent, dropped from a full "
            "queue, failed)").Register(*registry);
  learner->priority_updates_sent_ = &priority_updates.Add({{"result", "sent"}});
  learner->priority_updates_dropped_ = &priority_updates.Add({{"result", "dropped"}});
  learner->priority_updates_failed_ = &priority_updates.Add({{"result", "failed"}});
  learner->batch_wait_seconds_ = &prometheus::BuildHistogram().Name("rill_learner_batch_wait_seconds")
      .Help("Time the update loop waited for a sampled batch").Register(*registry).Add({}, LatencyBuckets());
  learner->update_seconds_ = &prometheus::BuildHistogram().Name("rill_learner_update_seconds")
      .Help("Time of one gradient update").Register(*registry).Add({}, LatencyBuckets());
  learner->checkpoint_seconds_ = &prometheus::BuildHistogram().Name("rill_learner_checkpoint_seconds")
      .Help("Time to write a checkpoint").Register(*registry).Add({}, LatencyBuckets());
  return learner;
}

absl::Status Learner::Publish() {
  // The version is the update count plus one: it increases with every
  // publish and carries on across a restart from a checkpoint.
  const int64_t version = sac_->updates() + 1;
  if (version <= version_) return absl::OkStatus();
  ASSIGN_OR_RETURN(v1::ParameterSet parameters, sac_->ExportPolicy());
  version_ = version;
  RETURN_IF_ERROR(store_->Publish(version_, sac_->updates(), parameters.SerializeAsString()));
  version_gauge_->Set(static_cast<double>(version_));
  return absl::OkStatus();
}

absl::Status Learner::Checkpoint() {
  if (options_.checkpoint_dir.empty()) return absl::OkStatus();
  const absl::Time start = absl::Now();
  const std::string latest = options_.checkpoint_dir + "/latest";
  const std::string staging = options_.checkpoint_dir + "/latest.new";
  std::error_code error;
  std::filesystem::remove_all(staging, error);
  RETURN_IF_ERROR(sac_->Save(staging));
  // Swap in the finished checkpoint; a crash before this rename keeps the old one.
  const std::string previous = options_.checkpoint_dir + "/previous";
  std::filesystem::remove_all(previous, error);
  if (std::filesystem::exists(latest)) std::filesystem::rename(latest, previous, error);
  std::filesystem::rename(staging, latest, error);
  if (error) return absl::InternalError(absl::StrCat("cannot install checkpoint '", latest, "': ", error.message()));
  std::filesystem::remove_all(previous, error);
  checkpoint_seconds_->Observe(absl::ToDoubleSeconds(absl::Now() - start));
  return absl::OkStatus();
}

absl::StatusOr<TransitionBatch> Learner::ToBatch(const v1::SampleResponse& response) {
  std::vector<torch::Tensor> columns(5);
  for (int c = 0; c < 5; ++c) {
    if (column_index_[c] >= response.columns_size()) {
      return absl::InvalidArgumentError(absl::StrCat("sampled batch lacks column '", kColumns[c], "'"));
    }
    // A view over the response's bytes: no per-element copy on CPU.
    ASSIGN_OR_RETURN(torch::Tensor view, ViewAsTorch(response.columns(column_index_[c])));
    if (device_.is_cuda()) view = view.pin_memory().to(device_, /*non_blocking=*/true);
    columns[c] = view;
  }
  TransitionBatch batch;
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
  batch.obs = columns[0];
  batch.action = columns[1];
  batch.reward = columns[2];
  batch.terminated = columns[3];
  batch.next_obs = columns[4];
  return batch;
}

void Learner::ExportShardMetrics() {
  const std::vector<replay::SamplerShardStats> stats = sampler_->shard_stats();
  int up = 0;
  for (size_t i = 0; i < stats.size() && i < shard_up_.size(); ++i) {
    up += stats[i].up ? 1 : 0;
    shard_up_[i]->Set(stats[i].up ? 1 : 0);
    if (stats[i].table_size >= 0) shard_table_size_[i]->Set(static_cast<double>(stats[i].table_size));
  }
  shards_up_->Set(up);
}

absl::Status Learner::SendPriorities(const v1::SampleResponse& response, int shard) {
  // p_i = |delta_i| + epsilon: a transition the critics already fit is still
  // drawn now and then (Schaul et al. 2016).
  constexpr double kPriorityEpsilon = 1e-6;
  torch::Tensor td = sac_->LastTdErrors().to(torch::kCPU, torch::kFloat64).contiguous();
  const double* errors = td.data_ptr<double>();
  std::vector<double> priorities(errors, errors + td.numel());
  for (double& p : priorities) p += kPriorityEpsilon;
  return priority_updater_->Enqueue(shard, std::vector<uint64_t>(response.keys().begin(), response.keys().end()),
                                    std::move(priorities));
}

absl::Status Learner::Run(const absl::Notification& stop) {
  RETURN_IF_ERROR(Publish());
  const int publish_every = options_.config.learner().publish_every();
  const int64_t checkpoint_every = options_.config.learner().checkpoint_every();
  absl::Time interval_start = absl::Now();
  int64_t interval_updates = 0;
  RILL_LOG(INFO) << "learner on " << device_.str() << " sampling from " << options_.replay_addresses.size()
                 << " shard(s), batch " << options_.config.sac().batch_size();
  while (!stop.HasBeenNotified() && (options_.max_updates == 0 || sac_->updates() < options_.max_updates)) {
    const absl::Time wait_start = absl::Now();
    int shard = -1;
    absl::StatusOr<std::unique_ptr<v1::SampleResponse>> response = sampler_->Next(absl::Milliseconds(200), &shard);
    if (absl::IsDeadlineExceeded(response.status())) {
      ExportShardMetrics();
      continue;
    }
    if (!response.ok()) return response.status();
    batch_wait_seconds_->Observe(absl::ToDoubleSeconds(absl::Now() - wait_start));
    const absl::Time update_start = absl::Now();
    ASSIGN_OR_RETURN(TransitionBatch batch, ToBatch(**response));
    RETURN_IF_ERROR(sac_->Update(batch));
    if (priority_updater_ != nullptr) RETURN_IF_ERROR(SendPriorities(**response, shard));
    update_seconds_->Observe(absl::ToDoubleSeconds(absl::Now() - update_start));
    const int64_t batch_items = (*response)->keys_size();
    samples_ += batch_items;
    updates_total_->Increment();
    samples_total_->Increment(static_cast<double>(batch_items));
    ++interval_updates;
    const int64_t updates = sac_->updates();
    if (updates % publish_every == 0) RETURN_IF_ERROR(Publish());
    if (checkpoint_every > 0 && updates % checkpoint_every == 0) RETURN_IF_ERROR(Checkpoint());
    const absl::Duration elapsed = absl::Now() - interval_start;
    if (elapsed >= absl::Seconds(2)) {
      const double seconds = absl::ToDoubleSeconds(elapsed);
      const double rate = interval_updates / seconds;
      updates_per_second_->Set(rate);
      samples_per_second_->Set(rate * options_.config.sac().batch_size());
      // Reading the stats synchronizes the device, so only every interval.
      SacStats stats = sac_->LastStats();
      critic_loss_->Set(stats.critic_loss);
      actor_loss_->Set(stats.actor_loss);
      alpha_loss_->Set(stats.alpha_loss);
      alpha_->Set(stats.alpha);
      q_mean_->Set(stats.q_mean);
      store_->SetProgress(updates, samples_, rate);
      ExportShardMetrics();
      if (priority_updater_ != nullptr) {
        const replay::PriorityUpdaterStats priority = priority_updater_->stats();
        priority_updates_sent_->Set(static_cast<double>(priority.sent));
        priority_updates_dropped_->Set(static_cast<double>(priority.dropped));
        priority_updates_failed_->Set(static_cast<double>(priority.failed));
      }
      RILL_LOG(INFO) << absl::StrFormat("update %d: %.0f updates/s, critic %.3f, actor %.3f, alpha %.4f, q %.1f",
                                        updates, rate, stats.critic_loss, stats.actor_loss, stats.alpha, stats.q_mean);
      interval_start = absl::Now();
      interval_updates = 0;
    }
  }
  sampler_->Close();
  if (priority_updater_ != nullptr) {
    absl::Status flushed = priority_updater_->Flush(absl::Seconds(5));
    if (!flushed.ok()) RILL_LOG(WARNING) << "last priority updates not sent: " << flushed;
  }
  store_->SetProgress(sac_->updates(), samples_, 0);
  RETURN_IF_ERROR(Publish());
  RETURN_IF_ERROR(Checkpoint());
  RILL_LOG(INFO) << "learner stops after " << sac_->updates() << " updates, parameter version " << version_;
  return absl::OkStatus();
}

}  // namespace rill::learner
