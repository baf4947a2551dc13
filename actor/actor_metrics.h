// The metric families of an actor process, training actor or evaluator
// (role label "actor" or "evaluator"): both register every family, so a
// dashboard finds the same series whichever role a process runs.
#ifndef RILL_ACTOR_ACTOR_METRICS_H_
#define RILL_ACTOR_ACTOR_METRICS_H_

#include <string>

#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace rill::actor {

struct ActorMetrics {
  prometheus::Counter* env_steps = nullptr;
  prometheus::Counter* env_errors = nullptr;
  // Streams to a central inference server that ended and were reopened.
  prometheus::Counter* inference_reconnects = nullptr;
  prometheus::Counter* episodes = nullptr;
  prometheus::Gauge* episode_return = nullptr;
  prometheus::Histogram* episode_return_hist = nullptr;
  prometheus::Gauge* episode_length = nullptr;
  // The envs' own figures (envs::EnvMetric) of the last env episode that
  // ended here, one series per label metric="collisions", ...
  prometheus::Family<prometheus::Gauge>* env_metric = nullptr;
  prometheus::Histogram* episode_length_hist = nullptr;
  // Multi-agent envs (agent_returns.h): each agent's episodes and the
  // return of its last one, one series per label agent="agent_0", ...
  prometheus::Family<prometheus::Counter>* agent_episodes = nullptr;
  prometheus::Family<prometheus::Gauge>* agent_episode_return = nullptr;
  prometheus::Gauge* parameter_version = nullptr;
  // Several policies (config.policies): each one's version, label policy.
  prometheus::Family<prometheus::Gauge>* parameter_versions = nullptr;
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
  // The envs' own figures over the last round, one series per label
  // metric="landmark_distance", ... (envs::EnvMetric).
  prometheus::Family<prometheus::Gauge>* eval_env_metric = nullptr;
  // Multi-agent envs: each agent's mean return over the last round, one
  // series per label agent.
  prometheus::Family<prometheus::Gauge>* eval_agent_return_mean = nullptr;
  // Several policies: each one's mean return over its agents, label
  // policy.
  prometheus::Family<prometheus::Gauge>* eval_policy_return_mean = nullptr;
  // ... and the version of it the round played.
  prometheus::Family<prometheus::Gauge>* eval_policy_version = nullptr;
  // Self-play runs (config.self_play, evaluator.h): the last evaluated
  // version's Elo-style rating, and the fractions of its games won, drawn
  // and lost, one series per label opponent="scripted" (the env's
  // scripted player) or "past" (the versions of the last rounds, together).
  prometheus::Gauge* eval_rating = nullptr;
  prometheus::Family<prometheus::Gauge>* eval_win_rate = nullptr;
  prometheus::Family<prometheus::Gauge>* eval_draw_rate = nullptr;
  prometheus::Family<prometheus::Gauge>* eval_loss_rate = nullptr;
  // Replay writer failover: times it left a down shard, and the shard it
  // writes to now; that shard's insert window (replay/client/link_window.h).
  prometheus::Counter* replay_failovers = nullptr;
  prometheus::Gauge* replay_shard = nullptr;
  prometheus::Gauge* insert_window_batches = nullptr;
  // Time it waited on that window.
  prometheus::Counter* replay_blocked_seconds = nullptr;
};

// Registers every family in `registry` with the label role=`role`.
ActorMetrics RegisterActorMetrics(prometheus::Registry& registry, const std::string& role);

}  // namespace rill::actor

#endif  // RILL_ACTOR_ACTOR_METRICS_H_
