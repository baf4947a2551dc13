#include "experiment/finalize_replay.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/declared_defaults.h"
#include "common/invalid_field.h"
#include "common/status_macros.h"
#include "items/registry.h"
#include "replay/table_config.h"

namespace rill::experiment {
namespace {

// Gives the observation columns of `table` (obs and next_obs, a frame-
// stacking env's images, flat in transitions) share_planes with planes of
// `plane_size` elements (one channel of a frame, H x W), each one the
// config's `compression` does not list (replay/plane_pool.h): a stacked
// transition then stores about one new frame instead of 2k. A column the
// config lists is left as the config says (`compression { column: "obs" }`
// stores it as is).
void AddSharedPlanes(int64_t plane_size, v1::TableConfig* table) {
  for (const v1::ColumnSpec& column : table->signature().columns()) {
    if (column.name() != "obs" && column.name() != "next_obs") continue;
    int64_t elements = 1;
    for (int64_t d : column.shape()) elements *= d;
    if (plane_size <= 0 || elements % plane_size != 0) continue;
    const bool listed = std::any_of(table->compression().begin(), table->compression().end(),
                                    [&](const auto& entry) { return entry.column() == column.name(); });
    if (listed) continue;
    v1::TableConfig::ColumnCompression* entry = table->add_compression();
    entry->set_column(column.name());
    entry->set_share_planes(true);
    entry->set_plane_size(plane_size);
  }
}

// The service's own settings: message and stream limits, gRPC memory and
// durability.
absl::Status FinalizeReplayService(v1::ReplayConfig& replay) {
  FillDeclaredDefaults(replay);
  if (replay.max_in_flight_inserts_per_stream() < 0) {
    return InvalidField("replay.max_in_flight_inserts_per_stream", "must be > 0");
  }
  if (replay.grpc_memory_quota_bytes() < (int64_t{16} << 20)) {
    return InvalidField("replay.grpc_memory_quota_bytes", "must be at least 16 MiB (16777216)");
  }
  v1::DurabilityConfig& durability = *replay.mutable_durability();
  FillDeclaredDefaults(durability);
  if (!v1::DurabilityConfig::Mode_IsValid(durability.mode())) {
    return InvalidField("replay.durability.mode",
                        absl::StrCat(durability.mode(), " is unknown (known: NONE, CHECKPOINT, WAL)"));
  }
  if (!(durability.checkpoint_interval_seconds() > 0)) {
    return InvalidField("replay.durability.checkpoint_interval_seconds", "must be > 0");
  }
  if (durability.keep_latest() < 0) return InvalidField("replay.durability.keep_latest", "must be > 0");
  if (durability.group_commit_micros() < 0) {
    return InvalidField("replay.durability.group_commit_micros", "must be >= 0");
  }
  return absl::OkStatus();
}

// The default queue of unrolls' sizes, for the learner's batches of
// `batch` items: each unroll is sampled once, oldest first, in whole
// batches; actors run at most 4 batches ahead of the learner (the rate
// limiter blocks their inserts before the table would have to evict).
void SizeUnrollQueue(int64_t batch, v1::TableConfig& table) {
  table.set_max_size(4 * batch);
  table.mutable_rate_limiter()->set_min_size_to_sample(batch);
  table.mutable_rate_limiter()->set_samples_per_insert(1);
  table.mutable_rate_limiter()->set_error_buffer(3 * batch);
}

// An off-policy table's default rate limiter for batches of `batch` items
// at `updates_per_env_step` updates per env step (learner.
// updates_per_env_step). An off-policy learner gets it unless the table
// says otherwise, as SB3 and CleanRL do: without a limiter the actors
// outrun the learner (TD3 on MountainCarContinuous measured 5,000 env
// steps against 31 updates) and the run trains on little.
v1::RateLimiterConfig OffPolicyLimiter(int64_t batch, double updates_per_env_step, int64_t learning_starts,
                                       int64_t max_size) {
  int64_t warm_up = std::max<int64_t>(batch, learning_starts);
  if (max_size > 0) warm_up = std::min(warm_up, max_size);
  v1::RateLimiterConfig limiter;
  limiter.set_min_size_to_sample(warm_up);
  const double samples_per_insert = static_cast<double>(batch) * updates_per_env_step;
  limiter.set_samples_per_insert(samples_per_insert);
  // 50 env steps of slack, as the stock configs have (12,800 for 256).
  limiter.set_error_buffer(50.0 * samples_per_insert);
  return limiter;
}

// The first table's rate limiter and learner.updates_per_env_step agree:
// a table without one gets OffPolicyLimiter at the stated ratio (1 where
// none is stated, then written out so that config.textpb says it); a
// table with its own states the ratio itself (UpdatesPerEnvStep reads it
// back). A stated ratio with a limiter that contradicts it is refused,
// unless that limiter is the default sized for another batch (a config
// finalized before, its batch_size changed since: a sweep's setting), which
// is sized again for this one.
absl::Status ReconcileUpdatesPerEnvStep(v1::ExperimentConfig& config, v1::TableConfig& table) {
  v1::LearnerConfig& learner = *config.mutable_learner();
  const int64_t learning_starts = config.actor().learning_starts();
  if (!table.has_rate_limiter()) {
    if (!learner.has_updates_per_env_step()) learner.set_updates_per_env_step(1);
    *table.mutable_rate_limiter() =
        OffPolicyLimiter(learner.batch_size(), learner.updates_per_env_step(), learning_starts, table.max_size());
    return absl::OkStatus();
  }
  if (!learner.has_updates_per_env_step()) return absl::OkStatus();
  const double ratio = learner.updates_per_env_step();
  const double stated = ratio * static_cast<double>(learner.batch_size());
  const double samples_per_insert = table.rate_limiter().samples_per_insert();
  if (std::abs(samples_per_insert - stated) <= 1e-9 * std::max(1.0, stated)) return absl::OkStatus();
  const double old_batch = std::round(samples_per_insert / ratio);
  if (old_batch >= 1 && table.rate_limiter().SerializeAsString() ==
                            OffPolicyLimiter(static_cast<int64_t>(old_batch), ratio, learning_starts, table.max_size())
                                .SerializeAsString()) {
    *table.mutable_rate_limiter() = OffPolicyLimiter(learner.batch_size(), ratio, learning_starts, table.max_size());
    return absl::OkStatus();
  }
  return InvalidField("learner.updates_per_env_step",
                      absl::StrCat(ratio, " updates of ", learner.batch_size(), " per env step need samples_per_insert ",
                                   stated, "; replay.tables[0].rate_limiter states ", samples_per_insert,
                                   " (drop one of the two)"));
}

// The table a config that lists none gets, for the learner's batches of
// `batch` items.
void AddDefaultTable(bool unrolls, int64_t batch, v1::ReplayConfig& replay) {
  if (unrolls) {
    v1::TableConfig* table = replay.add_tables();
    table->set_name("unrolls");
    table->mutable_selector()->mutable_fifo();
    SizeUnrollQueue(batch, *table);
  } else {
    v1::TableConfig* table = replay.add_tables();
    table->set_name("transitions");
    table->set_max_size(1000000);
  }
}

// Table `i` of `config`'s replay section: its signature (the algorithm's
// items when the config gives none), storage, selector, remover and rate
// limiter defaults, and its rules.
absl::Status FinalizeTable(v1::ExperimentConfig& config, int i, const envs::EnvSpec& env,
                           const learner::AlgorithmSpec& algorithm, const learner::ActorDuty& duty) {
  v1::ReplayConfig& replay = *config.mutable_replay();
  const bool unrolls = duty.items.kind == items::ItemKind::kUnroll;
  v1::TableConfig* table = replay.mutable_tables(i);
  const std::string field = absl::StrCat("replay.tables[", i, "]");
  if (table->name().empty()) return InvalidField(field + ".name", "is required");
  for (int j = 0; j < i; ++j) {
    if (replay.tables(j).name() == table->name()) {
      return InvalidField(field + ".name", absl::StrCat("'", table->name(), "' is used twice"));
    }
  }
  if (table->signature().columns_size() == 0) {
    *table->mutable_signature() = items::DefaultSignature(duty.items, env);
  }
  // Stacked frames are stored once: obs and next_obs of a frame-stacking
  // env share planes unless the config says how to store them.
  if (config.env().frame_stack() > 1 && env.observation_shape.size() == 3) {
    AddSharedPlanes(env.observation_shape[1] * env.observation_shape[2], table);
  }
  // The table's own rules (replay/table_config.h), the ones every shard
  // applies, named by their config field. The roles that fill or read the
  // columns (the actor's item builder, the learner's algorithm) check
  // theirs by name at start-up.
  // The defaults written out, so the run's config.textpb says what ran.
  if (!table->has_selector() || table->selector().kind_case() == v1::SelectorConfig::KIND_NOT_SET) {
    table->mutable_selector()->mutable_uniform();
  }
  if (!table->has_remover() || table->remover().kind_case() == v1::RemoverConfig::KIND_NOT_SET) {
    table->mutable_remover()->mutable_fifo();
  }
  // An off-policy learner gets learner.updates_per_env_step (one unless
  // stated) unless the table says otherwise (ReconcileUpdatesPerEnvStep).
  // A table that bounds its sampling itself (fifo, max_times_sampled)
  // keeps its own rule, and `rate_limiter {}` written out means none.
  if (!unrolls && i == 0) {
    if (table->max_times_sampled() == 0 && table->selector().kind_case() != v1::SelectorConfig::kFifo) {
      RETURN_IF_ERROR(ReconcileUpdatesPerEnvStep(config, *table));
    } else if (config.learner().has_updates_per_env_step()) {
      return InvalidField("learner.updates_per_env_step",
                          absl::StrCat(field, " bounds its own sampling (",
                                       table->max_times_sampled() > 0 ? "max_times_sampled" : "a fifo selector",
                                       "): no rate limiter sets the ratio"));
    }
  }
  // The learner samples the first table. An algorithm of unrolls trains
  // on each one once, oldest first: a table that samples at random
  // replays old unrolls again and again, their policy lag growing without
  // bound (IMPALA on a uniform table measured a mean lag of 9,408 and a
  // baseline loss of 1.9e6) while nothing looks wrong.
  if (unrolls && i == 0 && table->selector().kind_case() != v1::SelectorConfig::kFifo) {
    return InvalidField(field + ".selector",
                        absl::StrCat(algorithm.name, " trains on each unroll once, oldest first: write selector { "
                                     "fifo {} } (a ",
                                     table->selector().has_prioritized() ? "prioritized" : "uniform",
                                     " table would replay stale unrolls, their policy lag unbounded)"));
  }
  if (std::optional<FieldIssue> issue = replay::FindTableConfigIssue(*table)) {
    return InvalidField(absl::StrCat(field, ".", issue->field), issue->why);
  }
  return absl::OkStatus();
}

}  // namespace

v1::TableConfig SizeTableForBatch(v1::TableConfig table, bool unrolls, int64_t run_batch, int64_t batch,
                                  double run_updates_per_env_step, double updates_per_env_step,
                                  int64_t learning_starts) {
  if (unrolls) {
    if (run_batch == batch) return table;
    v1::TableConfig sized = table;
    SizeUnrollQueue(run_batch, sized);
    if (sized.SerializeAsString() != table.SerializeAsString()) return table;
    SizeUnrollQueue(batch, table);
    return table;
  }
  if (run_batch == batch && run_updates_per_env_step == updates_per_env_step) return table;
  const v1::RateLimiterConfig run =
      OffPolicyLimiter(run_batch, run_updates_per_env_step, learning_starts, table.max_size());
  if (!table.has_rate_limiter() || table.rate_limiter().SerializeAsString() != run.SerializeAsString()) return table;
  *table.mutable_rate_limiter() = OffPolicyLimiter(batch, updates_per_env_step, learning_starts, table.max_size());
  return table;
}

absl::Status FinalizeReplay(v1::ExperimentConfig& config, const envs::EnvSpec& env,
                            const learner::AlgorithmSpec& algorithm, const learner::ActorDuty& duty) {
  v1::ReplayConfig& replay = *config.mutable_replay();
  RETURN_IF_ERROR(FinalizeReplayService(replay));
  if (replay.tables_size() == 0) {
    AddDefaultTable(duty.items.kind == items::ItemKind::kUnroll, config.learner().batch_size(), replay);
  }
  for (int i = 0; i < replay.tables_size(); ++i) RETURN_IF_ERROR(FinalizeTable(config, i, env, algorithm, duty));
  return absl::OkStatus();
}

}  // namespace rill::experiment
