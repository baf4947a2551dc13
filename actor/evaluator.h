// The evaluator: `eval.episodes` envs run in lockstep with the deterministic
// policy of the newest parameter version (its own policy copy, following the
// learner's parameter stream: action_sources/local.h), one episode per env
// per round, writing nothing. Each round evaluates a version at least
// `eval.every_updates` newer than the last one evaluated, or the final one
// once the learner has stopped publishing for a second, and reports the
// round's mean return and length (metrics rill_eval_*, and the log).
//
// Run() is called from one thread; the object is not otherwise thread-safe.
#ifndef RILL_ACTOR_EVALUATOR_H_
#define RILL_ACTOR_EVALUATOR_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "actor/action_sources/local.h"
#include "actor/actor_metrics.h"
#include "actor/lockstep_envs.h"
#include "prometheus/registry.h"
#include "proto/config.pb.h"

namespace rill::actor {

struct EvaluatorOptions {
  v1::ExperimentConfig config;  // finalized (experiment/config.h)
  std::string learner_address;
  // Seeds envs and policy apart from every actor's.
  int id = 0;
  uint64_t seed = 0;
};

class Evaluator {
 public:
  // The registry's errors for the env; `registry` may be null (no metrics).
  static absl::StatusOr<std::unique_ptr<Evaluator>> Create(const EvaluatorOptions& options,
                                                           prometheus::Registry* registry);

  // Evaluates rounds until `stop` is notified. InvalidArgument when a
  // version does not fit the env; an env's error.
  absl::Status Run(const absl::Notification& stop);

 private:
  explicit Evaluator(EvaluatorOptions options) : options_(std::move(options)) {}
  // Waits for the version the next round evaluates and takes it up; false
  // when stopped first.
  absl::StatusOr<bool> AwaitVersion(int64_t evaluated_version, const absl::Notification& stop);
  // One episode per env with the deterministic policy; false when stopped
  // before every episode ended.
  absl::StatusOr<bool> RunRound(const absl::Notification& stop, std::vector<envs::EpisodeRecord>* episodes);
  void Report(const std::vector<envs::EpisodeRecord>& episodes);

  EvaluatorOptions options_;
  std::unique_ptr<LockstepEnvs> envs_;
  std::unique_ptr<LocalPolicySource> policy_;
  std::unique_ptr<prometheus::Registry> own_registry_;
  ActorMetrics metrics_;
  int64_t env_steps_ = 0;
};

}  // namespace rill::actor

#endif  // RILL_ACTOR_EVALUATOR_H_
