// An actor: owns `num_envs` environments stepped in lockstep, runs ONE
// batched forward of its local policy copy per step for all of them (or,
// with central inference, sends their observations to the inference
// service in one request: action_sources/central.h), turns
// the steps into items with an ItemBuilder (items/: n-step
// transitions, or IMPALA unrolls with the behaviour policy; columns filled
// by name from the table's signature) and writes them to replay through a
// ReplayWriter (batched, acknowledged, long-lived stream). New policy
// parameters are picked up between steps from a ParameterClient, never
// stalling the env loop. The policy is whatever network the learner
// publishes (its ParameterSet's PolicySpec; policies/): the actor
// knows no algorithm.
//
// In evaluator mode it writes nothing: it runs rounds of `eval.episodes`
// episodes in lockstep with the deterministic policy of the newest version
// and reports each round's mean return (metrics and log).
//
// Run() is called from one thread; the object is not otherwise thread-safe.
#ifndef RILL_ACTOR_ACTOR_H_
#define RILL_ACTOR_ACTOR_H_

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "actor/action_sources/central.h"
#include "envs/episode_statistics.h"
#include "envs/interface.h"
#include "envs/spec.h"
#include "items/interface.h"
#include "items/registry.h"
#include "parameters/parameter_client.h"
#include "policies/interface.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "proto/config.pb.h"
#include "replay/client/writer.h"

namespace rill::actor {

struct ActorOptions {
  v1::ExperimentConfig config;  // finalized (experiment/config.h)
  int actor_id = 0;
  bool evaluator = false;
  std::string replay_address;
  std::string learner_address;
  // Central inference: the InferenceService's address; empty: the config's
  // inference.address, and the learner's when that is empty too.
  std::string inference_address;
  // This actor stops after this many env steps; 0: runs until stopped.
  int64_t max_env_steps = 0;
  uint64_t seed = 0;
  // What a training actor writes (its entry point reads it from the
  // algorithm's spec: the actor knows no algorithm).
  items::ItemOptions items;
  // A3C style: after each round of items, wait for the version they
  // produce.
  bool synchronous = false;
};

class Actor {
 public:
  // InvalidArgument for a bad config; `registry` may be null (no metrics).
  static absl::StatusOr<std::unique_ptr<Actor>> Create(const ActorOptions& options,
                                                       prometheus::Registry* registry);

  // Steps until `stop` is notified or the step budget is spent, then flushes
  // what it wrote (all acknowledged). Returns the first error that cannot be
  // retried (a replay that rejects the items, an env error).
  absl::Status Run(const absl::Notification& stop);

  int64_t env_steps() const { return env_steps_; }

 private:
  struct Metrics {
    prometheus::Counter* env_steps = nullptr;
    prometheus::Counter* episodes = nullptr;
    prometheus::Gauge* episode_return = nullptr;
    prometheus::Histogram* episode_return_hist = nullptr;
    prometheus::Gauge* episode_length = nullptr;
    prometheus::Histogram* episode_length_hist = nullptr;
    prometheus::Gauge* parameter_version = nullptr;
    prometheus::Histogram* step_seconds = nullptr;
    // Client side of the RPCs: a written batch until its acknowledgement,
    // and a parameter version from the learner's publish to its receipt.
    prometheus::Histogram* insert_rpc_seconds = nullptr;
    prometheus::Histogram* parameter_delay_seconds = nullptr;
    prometheus::Counter* eval_rounds = nullptr;
    prometheus::Gauge* eval_return_mean = nullptr;
    prometheus::Gauge* eval_parameter_version = nullptr;
    prometheus::Counter* eval_episodes = nullptr;
    prometheus::Gauge* eval_episode_length_mean = nullptr;
    // Replay writer failover: times it left a down shard, and the shard it
    // writes to now.
    prometheus::Counter* replay_failovers = nullptr;
    prometheus::Gauge* replay_shard = nullptr;
  };

  explicit Actor(ActorOptions options) : options_(std::move(options)) {}
  void InitMetrics(prometheus::Registry* registry);
  // Copies the writer's failover counters into the metrics.
  void ExportWriterMetrics();
  // Exports env i's episode if its last step finished one, and adds it to
  // the training log's summary.
  void RecordEpisode(int i);
  // Logs the episodes finished since the last summary (every 30 s, and at
  // the end of the run): count, mean / min / max return, mean length.
  void LogEpisodeSummary(bool force);
  // Loads the newest received parameters, if any arrived; the first ones
  // build the policy. InvalidArgument when they do not fit this env.
  absl::Status MaybeUpdatePolicy();
  // Fills `actions_` ([num_envs, act_dim] in [-1, 1]) or, for a discrete
  // env, `action_indices_` ([num_envs]) for `obs_`; when the item builder
  // needs the behaviour policy (and not deterministic), also `log_probs_`
  // and `distributions_`. FailedPrecondition when it needs them and the
  // policy has none.
  absl::Status ChooseActions(bool random, bool deterministic);
  // Writes env i's chosen action in env units into `env_action`.
  void EnvAction(int i, float* env_action) const;
  // Writes the builder's ready items; false if asked to stop while replay
  // held them back.
  absl::StatusOr<bool> WriteReady(const absl::Notification& stop);
  absl::Status RunTraining(const absl::Notification& stop);
  absl::Status RunEvaluation(const absl::Notification& stop);

  ActorOptions options_;
  // Each env wrapped to record its finished episodes' return and length
  // (Gymnasium's RecordEpisodeStatistics).
  std::vector<std::unique_ptr<envs::EpisodeStatistics>> envs_;
  envs::EnvSpec env_spec_;
  uint64_t seed_ = 0;
  std::unique_ptr<policies::Policy> policy_;
  std::unique_ptr<items::ItemBuilder> items_;
  // ActorOptions::synchronous: after each round of unrolls, wait for the
  // next parameter version.
  bool synchronous_ = false;
  // Local inference: the parameter stream that refreshes policy_. Central
  // inference (topology.inference "central", not the evaluator): central_
  // instead, and no policy_.
  std::unique_ptr<parameters::ParameterClient> parameters_;
  std::unique_ptr<CentralActionSource> central_;
  const absl::Notification* stop_ = nullptr;  // Run's, for waits inside a step
  std::unique_ptr<replay::ReplayWriter> writer_;
  std::unique_ptr<prometheus::Registry> own_registry_;
  Metrics metrics_;
  std::mt19937_64 rng_;
  int obs_dim_ = 0;
  int act_dim_ = 0;  // continuous: action dimensions; discrete: 1 (the index)
  int64_t policy_version_ = 0;
  int64_t env_steps_ = 0;
  // Episodes finished since the last LogEpisodeSummary.
  struct EpisodeSummary {
    int64_t episodes = 0;
    double return_sum = 0, return_min = 0, return_max = 0;
    int64_t length_sum = 0;
    absl::Time since = absl::InfinitePast();
  } summary_;
  std::vector<float> obs_;      // [num_envs, obs_dim]
  std::vector<float> actions_;  // [num_envs, act_dim], policy space [-1, 1]
  std::vector<int64_t> action_indices_;  // [num_envs], discrete envs
  // The behaviour policy of the last step (unroll items): log mu(a|obs)
  // [num_envs] and the distribution's parameters [num_envs, width].
  std::vector<float> log_probs_;
  std::vector<float> distributions_;
  // What the local policy last wrote (reused, so a step allocates nothing).
  policies::PolicyOutput policy_output_;
  int distribution_width_ = 0;
};

}  // namespace rill::actor

#endif  // RILL_ACTOR_ACTOR_H_
