// The replay section of the experiment config (experiment/config.h), once
// the env, learner and actor sections are finalized: the service's limits
// and durability, and each table, with the default table and signature
// the algorithm's items need.
//
// Thread-safe: a pure function.
#ifndef RILL_EXPERIMENT_FINALIZE_REPLAY_H_
#define RILL_EXPERIMENT_FINALIZE_REPLAY_H_

#include <cstdint>

#include "absl/status/status.h"
#include "envs/spec.h"
#include "learner/algorithms/spec.h"
#include "proto/config.pb.h"

namespace rill::experiment {

// Fills config.replay's defaults (a table when it lists none: a FIFO queue
// of unrolls, or a million transitions; each table's signature from the
// algorithm's items on `env`, shared planes for stacked frames, selector,
// remover, and the first table's rate limiter for an off-policy learner)
// and checks its rules (an algorithm of unrolls samples a FIFO table; every
// table's own, replay/table_config.h). Reads the finalized learner, actor
// and env sections. InvalidArgument naming the field.
absl::Status FinalizeReplay(v1::ExperimentConfig& config, const envs::EnvSpec& env,
                            const learner::AlgorithmSpec& algorithm, const learner::ActorDuty& duty);

// The first table of a finalized replay section as a learner of `batch`
// items has it (a policy's own learner.batch_size), where finalization
// sized it from the run's `run_batch`: the default queue of unrolls
// (max_size and rate limiter), or an off-policy table's default rate
// limiter (the run's updates per env step, with actor.learning_starts),
// resized for the policy's batch and `updates_per_env_step`. A table the
// config sized itself is returned as it is.
v1::TableConfig SizeTableForBatch(v1::TableConfig table, bool unrolls, int64_t run_batch, int64_t batch,
                                  double run_updates_per_env_step, double updates_per_env_step,
                                  int64_t learning_starts);

}  // namespace rill::experiment

#endif  // RILL_EXPERIMENT_FINALIZE_REPLAY_H_
