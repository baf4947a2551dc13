// The replay section of the experiment config (experiment/config.h), once
// the env, learner and actor sections are finalized: the service's limits
// and durability, and each table, with the default table and signature
// the algorithm's items need.
//
// Thread-safe: a pure function.
#ifndef RILL_EXPERIMENT_FINALIZE_REPLAY_H_
#define RILL_EXPERIMENT_FINALIZE_REPLAY_H_

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

}  // namespace rill::experiment

#endif  // RILL_EXPERIMENT_FINALIZE_REPLAY_H_
