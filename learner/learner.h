// The learner process's training loop. A ReplaySampler keeps whole batches
// prefetched from every shard (picked in proportion to the shards' sizes;
// training goes on while a shard is down, exported as
// rill_learner_replay_shards_up and rill_learner_replay_shard_up{shard}); each batch becomes tensors without per-element
// copies (views over the response bytes on CPU; pinned memory and
// non_blocking copies on CUDA), its columns looked up by the names the
// algorithm declares; the configured algorithm (learner/algorithms/)
// updates; every `publish_every` updates the policy is encoded once into the
// ParameterStore; every `checkpoint_every` updates (and at shutdown) the
// algorithm's TrainingState is saved (learner/checkpoint.h), and a restart
// resumes from the newest checkpoint. The loop knows no algorithm by name:
// its metrics come from the algorithm's named statistics
// (rill_learner_loss{name}, rill_learner_statistic{name}).
//
// Items stamped with the version that produced them (a policy_version
// column: IMPALA unrolls) have their policy lag measured
// (rill_learner_policy_lag_updates, min/mean/max on the log line), and those
// above learner.max_policy_lag are dropped and counted
// (rill_learner_stale_unrolls_total), never used silently. Items the
// algorithm refuses (Algorithm::RefusedRows: a NaN log-probability) are
// dropped, counted (rill_learner_refused_items_total) and logged; training
// goes on with the rest of the batch.
//
// Run() is called from one thread; the store is shared with the gRPC service.
#ifndef RILL_LEARNER_LEARNER_H_
#define RILL_LEARNER_LEARNER_H_

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "learner/algorithms/interface.h"
#include "learner/learner_group.h"
#include "learner/observation_normalizer.h"
#include "learner/thread_tuner.h"
#include "learner/training_health.h"
#include "common/scalar_log.h"
#include "parameters/parameter_service.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "proto/config.pb.h"
#include "replay/client/priority_updater.h"
#include "replay/client/sampler.h"

namespace rill::learner {

// The column an item carries the parameter version that produced it in
// (int64 []; IMPALA unrolls): the learner measures the policy lag by it.
inline constexpr char kPolicyVersionColumn[] = "policy_version";

struct LearnerOptions {
  v1::ExperimentConfig config;  // finalized
  // Every replay shard's address. Empty: no sampler; the caller hands the
  // batches to Train itself (the lock-step run, roles/lockstep_run.h).
  std::vector<std::string> replay_addresses;
  std::string checkpoint_dir;   // empty: no checkpoints
  uint64_t seed = 0;
  // Stop after this many updates (counting resumed ones); 0: until stopped.
  int64_t max_updates = 0;
  // Where each log interval's figures are appended (common/scalar_log.h);
  // null: nowhere. Outlives the learner.
  ScalarLog* scalars = nullptr;
  // Data-parallel learners: this learner's rank of its group, joined
  // (learner_group.h). Every rank samples its own batches from every shard
  // and averages each optimizer step's gradients with the others; rank 0
  // alone publishes parameters and writes checkpoints, and the others start
  // from its state (broadcast once, after rank 0's resume). Null: one
  // learner. Outlives the learner.
  LearnerGroup* group = nullptr;
  // False where other learners share this process (several policies): the
  // intra-op thread count is the process's, so none of them tunes it
  // (learner/thread_tuner.h); each keeps learner.num_threads, or every core.
  bool alone_in_process = true;
  // Without replay addresses, for a prioritized table: where the priorities
  // of each update's items go (their keys, |TD error| + epsilon).
  std::function<absl::Status(std::vector<uint64_t> keys, std::vector<double> priorities)> send_priorities;
};

class Learner {
 public:
  // Creates the algorithm on the configured device and, when checkpoint_dir
  // holds a checkpoint, resumes from it (InvalidArgument if it does not fit).
  // InvalidArgument naming the column when the table's signature lacks a
  // column the algorithm needs or gives it another dtype or shape.
  static absl::StatusOr<std::unique_ptr<Learner>> Create(const LearnerOptions& options, parameters::ParameterStore* store,
                                                         prometheus::Registry* registry);

  // Trains until `stop` is notified; saves a final checkpoint. Start, then
  // Train on every batch the sampler brings, then Finish. With a group,
  // every rank stops after the same update (LearnerGroup::AnyRank), once
  // any of them has been told to; a rank that has gone fails the others,
  // and rank 0 then still checkpoints what it has.
  absl::Status Run(const absl::Notification& stop);

  // The parts of Run, for a caller that brings the batches itself: Start
  // publishes the first version; Train updates on one sampled batch (of
  // shard `shard`), publishing and checkpointing at their intervals, and
  // logs its figures every 2 s; Finish publishes the last version and
  // saves the last checkpoint.
  absl::Status Start();
  absl::Status Train(const v1::SampleResponse& response, int shard);
  absl::Status Finish();

  int64_t updates() const { return algorithm_->updates(); }
  const Algorithm& algorithm() const { return *algorithm_; }
  const torch::Device& device() const { return device_; }

 private:
  Learner(LearnerOptions options, parameters::ParameterStore* store) : options_(std::move(options)), store_(store) {}
  // The parts of Create, in order. Picks learner.device (and the CPU's
  // intra-op threads).
  absl::Status UseDevice();
  // The configured algorithm on that device, and the observation normaliser
  // when the run normalises.
  absl::Status CreateAlgorithmAndNormalizer();
  // Where the algorithm's columns (and the policy_version column) sit in the
  // table's signature; InvalidArgument naming a missing or mistyped column.
  absl::Status MapTableColumns();
  // Creates checkpoint_dir and restores its latest checkpoint, if any.
  absl::Status Resume();
  // Self-play: puts the opponent pool saved with `checkpoint` back into the
  // store (a checkpoint without one: an empty pool, warned). DataLoss for
  // a pool file that does not parse.
  absl::Status ResumePool(const std::string& checkpoint);
  // With a group: gives the algorithm the group's averager and every rank
  // rank 0's training state (and observation statistics).
  absl::Status JoinRanks();
  // Rank 0, or the only learner: the one that publishes and checkpoints.
  bool lead() const { return options_.group == nullptr || options_.group->rank() == 0; }
  // The group's collective figures into the metrics.
  void ExportGroupMetrics();
  // The sampler over every shard and, for a prioritized table, the priority
  // updater; their client-side latencies go to `registry`.
  absl::Status ConnectReplay(prometheus::Registry& registry);
  // The learner's metric families.
  void InitMetrics(prometheus::Registry& registry);
  absl::Status Publish();
  absl::Status Checkpoint();
  // The algorithm's policy, with the observation normaliser's statistics
  // when the run normalises observations.
  absl::StatusOr<v1::ParameterSet> ExportPolicy() const;
  // Normalisation: merges the batch's "obs" into the statistics, then
  // normalises every observation column in place.
  absl::Status NormalizeObservations(Batch& batch);
  absl::StatusOr<Batch> ToBatch(const v1::SampleResponse& response);
  // ToBatch and FilterBatch: nullopt when no item is left to learn from.
  absl::StatusOr<std::optional<Batch>> PrepareBatch(const v1::SampleResponse& response);
  // One update on a prepared batch, then what follows it (priorities,
  // publishing, checkpoints, the interval's figures).
  absl::Status Apply(const v1::SampleResponse& response, int shard, Batch& batch, absl::Time update_start);
  // Returns `status`, a collective's failure; rank 0 first checkpoints
  // when a rank has gone (Unavailable).
  absl::Status FailedInGroup(const absl::Status& status);
  // Measures the policy lag of the batch's items (when the table has a
  // policy_version column) and drops, in place, the items above
  // learner.max_policy_lag and those the algorithm refuses, counting and
  // logging them. kept_rows_ then lists the rows kept (empty: all).
  absl::Status FilterBatch(const v1::SampleResponse& response, Batch& batch);
  // Prioritized tables: sends the algorithm's priorities (|TD error|) +
  // kPriorityEpsilon of the last update's items to the shard they came from.
  absl::Status SendPriorities(const v1::SampleResponse& response, int shard);
  // The figures of the interval since the last: metrics, log line, scalar
  // log, training-health warnings.
  void LogInterval(int64_t updates, double seconds);
  // Hands one update's compute time to the thread tuner; logs what it keeps.
  void ObserveUpdateTime(absl::Duration update_time);
  // Copies the sampler's view of the replay shards into the metrics.
  void ExportShardMetrics();
  // Reads the algorithm's statistics (synchronizes with the device) into the
  // metrics; returns them for the log line.
  std::vector<Statistic> ExportStatistics();
  // One line of the scalar log (options_.scalars, if any): updates,
  // samples, `rates`, the policy lag's mean when there is one, and every
  // statistic (losses as "loss/<name>").
  void LogScalars(const std::vector<Statistic>& statistics, const std::vector<std::pair<std::string, double>>& rates,
                  std::optional<double> lag_mean);

  LearnerOptions options_;
  parameters::ParameterStore* store_;
  torch::Device device_ = torch::kCPU;
  std::unique_ptr<Algorithm> algorithm_;
  // Set when learner.normalize_observations.
  std::unique_ptr<ObservationNormalizer> normalizer_;
  std::unique_ptr<replay::ReplaySampler> sampler_;
  // Set when the sampled table is prioritized: the update then weighs each
  // transition by its importance weight and sends new priorities back.
  std::unique_ptr<replay::PriorityUpdater> priority_updater_;
  std::unique_ptr<prometheus::Registry> own_registry_;
  int64_t version_ = 0;
  int64_t samples_ = 0;
  // The log interval: its start, and the updates and samples since.
  absl::Time interval_start_;
  int64_t interval_updates_ = 0;
  int64_t interval_start_samples_ = 0;
  // The algorithm's columns: name and position in the table's signature.
  std::vector<std::pair<std::string, int>> columns_;
  // Position of the policy_version column in the signature; -1: none.
  int version_column_ = -1;
  // Env steps per item: 1 for transitions, T for unrolls.
  int64_t steps_per_item_ = 1;
  // Rows of the last batch FilterBatch kept, when it dropped some.
  std::vector<int64_t> kept_rows_;
  // Policy lag of the items sampled since the last log line.
  struct LagWindow {
    int64_t count = 0, min = 0, max = 0, sum = 0;
    void Add(int64_t lag) {
      min = count == 0 ? lag : std::min(min, lag);
      max = count == 0 ? lag : std::max(max, lag);
      sum += lag;
      ++count;
    }
    double Mean() const { return count > 0 ? static_cast<double>(sum) / count : 0.0; }
  };
  LagWindow lag_;
  // Items sampled, and those dropped as stale, since the last log line.
  int64_t interval_sampled_ = 0, interval_stale_ = 0;
  // Warnings of a run going wrong (learner/training_health.h), and their
  // counters by kind.
  std::unique_ptr<TrainingHealth> health_;
  // On a CPU learner alone in its process with learner.num_threads 0; null
  // otherwise.
  std::unique_ptr<ThreadTuner> thread_tuner_;
  prometheus::Family<prometheus::Counter>* warnings_ = nullptr;

  prometheus::Counter* updates_total_ = nullptr;
  prometheus::Counter* samples_total_ = nullptr;
  prometheus::Gauge* version_gauge_ = nullptr;
  prometheus::Gauge* intra_op_threads_ = nullptr;
  prometheus::Gauge* updates_per_second_ = nullptr;
  prometheus::Gauge* samples_per_second_ = nullptr;
  prometheus::Gauge* env_steps_per_second_ = nullptr;
  prometheus::Histogram* policy_lag_ = nullptr;
  prometheus::Counter* stale_items_ = nullptr;
  prometheus::Counter* refused_items_ = nullptr;
  // One gauge per statistic, in the algorithm's order.
  std::vector<prometheus::Gauge*> statistic_gauges_;
  // Replay shards the sampler sees up (all, and one gauge per shard), and
  // each shard's table size at its latest batch.
  prometheus::Gauge* shards_up_ = nullptr;
  std::vector<prometheus::Gauge*> shard_up_;
  std::vector<prometheus::Gauge*> shard_window_;
  std::vector<prometheus::Gauge*> shard_round_trip_;
  std::vector<prometheus::Gauge*> shard_table_size_;
  prometheus::Gauge* priority_updates_sent_ = nullptr;
  prometheus::Gauge* priority_updates_dropped_ = nullptr;
  prometheus::Gauge* priority_updates_failed_ = nullptr;
  prometheus::Histogram* batch_wait_seconds_ = nullptr;
  prometheus::Histogram* update_seconds_ = nullptr;
  prometheus::Histogram* checkpoint_seconds_ = nullptr;
  // Data-parallel learners: the group's allreduces, their bytes and time.
  prometheus::Counter* allreduces_ = nullptr;
  prometheus::Counter* allreduce_bytes_ = nullptr;
  prometheus::Counter* allreduce_seconds_ = nullptr;
  LearnerGroupStats exported_group_;
};

}  // namespace rill::learner

#endif  // RILL_LEARNER_LEARNER_H_
