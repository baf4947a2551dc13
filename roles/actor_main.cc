#include "roles/actor_main.h"

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "actor/actor.h"
#include "actor/evaluator.h"
#include "flags/flags.h"
#include "common/logging.h"
#include "common/process.h"
#include "experiment/policies.h"
#include "learner/algorithms/spec.h"
#include "roles/remote_env_serving.h"
#include "roles/role.h"

ABSL_FLAG(int32_t, actor_id, 0, "This actor's id: picks its seed, its replay shard and its item keys.");
ABSL_FLAG(bool, eval, false, "Run as the evaluator: deterministic policy, no replay writes.");
ABSL_FLAG(std::string, video_dir, "",
          "With --eval: where eval.video_every_seconds writes its videos (rill launch: <run_dir>/videos); empty: no "
          "videos.");
ABSL_FLAG(int64_t, actor_max_env_steps, 0, "Stop after this many env steps; 0 runs until stopped.");
ABSL_FLAG(std::string, inference_address, "",
          "Central inference: the InferenceService to stream to (HOST:PORT), in place of the config's "
          "inference.address (`rill launch` points each actor at one of its `rill inference` processes).");

namespace rill::roles {
namespace {

// Announces readiness (the metrics port, if any) and runs `role` until it
// ends or `stop` is notified.
template <typename Role>
int RunReady(Role& role, absl::Notification& stop, int metrics_port, const char* failed) {
  std::map<std::string, int> ports;
  if (metrics_port >= 0) ports["metrics_port"] = metrics_port;
  absl::Status ready = AnnounceReady(absl::GetFlag(FLAGS_ready_fd), ports);
  if (!ready.ok()) return ExitWith("ready", ready);
  absl::Status status = role.Run(stop);
  if (!status.ok()) return ExitWith(failed, status);
  return 0;
}

}  // namespace

int ActorMain() {
  absl::Notification& stop = InstallShutdownSignals();
  const bool eval = absl::GetFlag(FLAGS_eval);
  SetLogRole(eval ? "evaluator" : absl::StrCat("actor/", absl::GetFlag(FLAGS_actor_id)));
  absl::StatusOr<v1::ExperimentConfig> config = LoadConfigFromFlags();
  if (!config.ok()) return ExitWith("bad config", config.status());
  absl::Status env_address = ApplyEnvAddress(absl::GetFlag(FLAGS_env_address), *config);
  if (!env_address.ok()) return ExitWith("bad config", env_address);
  absl::StatusOr<std::unique_ptr<MetricsServer>> metrics = StartMetricsFromFlags();
  if (!metrics.ok()) return ExitWith("metrics", metrics.status());
  // Which policy each agent plays for (config.policies).
  absl::StatusOr<experiment::PolicyMap> policies = experiment::ResolvePolicies(*config);
  if (!policies.ok()) return ExitWith("bad config", policies.status());

  if (eval) {
    actor::EvaluatorOptions options;
    options.config = *config;
    options.id = absl::GetFlag(FLAGS_actor_id);
    options.learner_address = absl::GetFlag(FLAGS_learner_address);
    options.seed = config->seed();
    if (policies->several()) {
      options.policy_names = policies->names;
      options.agent_policy = policies->agent_policy;
    }
    absl::StatusOr<std::unique_ptr<ScalarLog>> scalars = OpenScalarLogFromFlags();
    if (!scalars.ok()) return ExitWith("flags", scalars.status());
    options.scalars = scalars->get();
    options.video_dir = absl::GetFlag(FLAGS_video_dir);
    absl::StatusOr<std::unique_ptr<actor::Evaluator>> evaluator =
        actor::Evaluator::Create(options, *metrics ? &(*metrics)->registry() : nullptr);
    if (!evaluator.ok()) return ExitWith("cannot start the evaluator", evaluator.status());
    return RunReady(**evaluator, stop, *metrics ? (*metrics)->port() : -1, "evaluator failed");
  }

  // The actor knows no algorithm: it is told what to write and whether to
  // wait for versions.
  absl::StatusOr<const learner::AlgorithmSpec*> algorithm = learner::FindAlgorithmSpec(config->learner());
  if (!algorithm.ok()) return ExitWith("bad config", algorithm.status());
  const learner::ActorDuty duty = learner::ActorDutyFor(**algorithm, *config);

  actor::ActorOptions options;
  options.config = *config;
  options.actor_id = absl::GetFlag(FLAGS_actor_id);
  options.replay_address = absl::GetFlag(FLAGS_replay_address);
  options.learner_address = absl::GetFlag(FLAGS_learner_address);
  options.inference_address = absl::GetFlag(FLAGS_inference_address);
  options.max_env_steps = absl::GetFlag(FLAGS_actor_max_env_steps);
  options.seed = config->seed();
  options.items = duty.items;
  options.synchronous = duty.synchronous;
  if (policies->several()) {
    options.policy_names = policies->names;
    options.agent_policy = policies->agent_policy;
    for (const std::string& name : policies->names) {
      absl::StatusOr<v1::ExperimentConfig> view = experiment::PolicyView(*config, name);
      if (!view.ok()) return ExitWith("bad config", view.status());
      absl::StatusOr<const learner::AlgorithmSpec*> own = learner::FindAlgorithmSpec(view->learner());
      if (!own.ok()) return ExitWith("bad config", own.status());
      options.policy_writes.push_back({view->replay().tables(0), learner::ActorDutyFor(**own, *view).items});
    }
  }
  if (options.max_env_steps < 0) return ExitWith("flags", absl::InvalidArgumentError("--actor_max_env_steps must be >= 0"));
  absl::StatusOr<std::unique_ptr<ScalarLog>> scalars = OpenScalarLogFromFlags();
  if (!scalars.ok()) return ExitWith("flags", scalars.status());
  options.scalars = scalars->get();
  absl::StatusOr<std::unique_ptr<actor::Actor>> actor =
      actor::Actor::Create(options, *metrics ? &(*metrics)->registry() : nullptr);
  if (!actor.ok()) return ExitWith("cannot start the actor", actor.status());
  return RunReady(**actor, stop, *metrics ? (*metrics)->port() : -1, "actor failed");
}


}  // namespace rill::roles
