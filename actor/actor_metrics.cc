#include "actor/actor_metrics.h"

#include <map>

#include "common/metrics.h"
#include "replay/client/client_metrics.h"

namespace rill::actor {

ActorMetrics RegisterActorMetrics(prometheus::Registry& registry_ref, const std::string& role) {
  prometheus::Registry* registry = &registry_ref;
  ActorMetrics metrics;
  const std::map<std::string, std::string> labels = {{"role", role}};
  metrics.env_steps = &prometheus::BuildCounter().Name("rill_actor_env_steps_total")
                            .Help("Environment steps taken").Register(*registry).Add(labels);
  metrics.env_errors = &prometheus::BuildCounter().Name("rill_actor_env_errors_total")
                            .Help("Env steps that failed (a remote env that raised or broke its spaces, or a server "
                                  "that went away); the env was reset")
                            .Register(*registry).Add(labels);
  metrics.inference_reconnects = &prometheus::BuildCounter().Name("rill_actor_inference_reconnects_total")
                            .Help("Streams to the central inference server that ended (it went away, or the link "
                                  "was cut) and were reopened with backoff")
                            .Register(*registry).Add(labels);
  metrics.episodes = &prometheus::BuildCounter().Name("rill_actor_episodes_total")
                           .Help("Episodes finished").Register(*registry).Add(labels);
  metrics.episode_return = &prometheus::BuildGauge().Name("rill_actor_episode_return")
                                 .Help("Return of the last finished episode").Register(*registry).Add(labels);
  metrics.episode_return_hist = &prometheus::BuildHistogram().Name("rill_actor_episode_return_distribution")
                                      .Help("Returns of finished episodes").Register(*registry)
                                      .Add(labels, prometheus::Histogram::BucketBoundaries{
                                          -2000, -1000, -500, -300, -200, -150, -100, -50, 0, 50, 100, 200,
                                          300, 500, 1000, 2000, 3000, 5000, 10000});
  metrics.episode_length = &prometheus::BuildGauge().Name("rill_actor_episode_length")
                                 .Help("Length in env steps of the last finished episode").Register(*registry).Add(labels);
  metrics.episode_length_hist = &prometheus::BuildHistogram().Name("rill_actor_episode_length_distribution")
                                      .Help("Lengths in env steps of finished episodes").Register(*registry)
                                      .Add(labels, prometheus::Histogram::BucketBoundaries{
                                          10, 20, 50, 100, 200, 300, 500, 1000, 2000, 5000, 10000});
  metrics.agent_episodes = &prometheus::BuildCounter().Name("rill_actor_agent_episodes_total")
                                 .Help("Episodes of each agent of a multi-agent env finished; label agent")
                                 .Register(*registry);
  metrics.agent_episode_return = &prometheus::BuildGauge().Name("rill_actor_agent_episode_return")
                                       .Help("Return of each agent's last finished episode in a multi-agent env; "
                                             "label agent")
                                       .Register(*registry);
  metrics.env_metric = &prometheus::BuildGauge().Name("rill_actor_env_metric")
                           .Help("A task's own figure (landmark distance, collisions, touches, wins) of the last env "
                                 "episode that ended; label metric")
                           .Register(*registry);
  metrics.parameter_versions = &prometheus::BuildGauge().Name("rill_actor_parameter_version")
                                     .Help("Policy parameter version in use (label policy when the run has several)")
                                     .Register(*registry);
  metrics.parameter_version = &metrics.parameter_versions->Add(labels);
  metrics.step_seconds = &prometheus::BuildHistogram().Name("rill_actor_step_seconds")
                               .Help("Wall time of one lockstep step of all envs (policy + envs + write)")
                               .Register(*registry).Add(labels, LatencyBuckets());
  metrics.insert_rpc_seconds =
      &replay::ClientRpcSeconds(*registry).Add({{"role", role}, {"method", "Insert"}}, LatencyBuckets());
  metrics.parameter_delay_seconds = &prometheus::BuildHistogram().Name("rill_actor_parameter_delay_seconds")
                                          .Help("From the learner's publish of a parameter version to its receipt here")
                                          .Register(*registry).Add(labels, LatencyBuckets());
  metrics.eval_rounds = &prometheus::BuildCounter().Name("rill_eval_rounds_total")
                              .Help("Evaluation rounds finished").Register(*registry).Add({});
  metrics.eval_episodes = &prometheus::BuildCounter().Name("rill_eval_episodes_total")
                                .Help("Evaluation episodes finished").Register(*registry).Add({});
  metrics.eval_return_mean = &prometheus::BuildGauge().Name("rill_eval_return_mean")
                                   .Help("Mean return of the last evaluation round").Register(*registry).Add({});
  metrics.eval_episode_length_mean = &prometheus::BuildGauge().Name("rill_eval_episode_length_mean")
                                           .Help("Mean episode length of the last evaluation round")
                                           .Register(*registry).Add({});
  metrics.eval_env_metric = &prometheus::BuildGauge().Name("rill_eval_env_metric")
                                  .Help("A task's own figure (landmark distance, collisions, touches, wins) per env "
                                        "episode, the mean over the last evaluation round; label metric")
                                  .Register(*registry);
  metrics.eval_agent_return_mean = &prometheus::BuildGauge().Name("rill_eval_agent_return_mean")
                                         .Help("Mean return of each agent of a multi-agent env over the last "
                                               "evaluation round; label agent")
                                         .Register(*registry);
  metrics.eval_policy_return_mean = &prometheus::BuildGauge().Name("rill_eval_policy_return_mean")
                                          .Help("Mean return of each policy's agents over the last evaluation round "
                                                "(a run of several policies); label policy")
                                          .Register(*registry);
  metrics.eval_policy_version = &prometheus::BuildGauge().Name("rill_eval_policy_version")
                                      .Help("Each policy's parameter version the last evaluation round played (a "
                                            "run of several policies); label policy")
                                      .Register(*registry);
  metrics.eval_rating = &prometheus::BuildGauge().Name("rill_eval_rating")
                              .Help("Elo-style rating of the last evaluated version of a self-play run (the "
                                    "scripted player 1000)").Register(*registry).Add({});
  metrics.eval_win_rate = &prometheus::BuildGauge().Name("rill_eval_win_rate")
                                .Help("Fraction of the last self-play evaluation's games won; label opponent "
                                      "scripted or past").Register(*registry);
  metrics.eval_draw_rate = &prometheus::BuildGauge().Name("rill_eval_draw_rate")
                                 .Help("Fraction of the last self-play evaluation's games drawn; label opponent "
                                       "scripted or past").Register(*registry);
  metrics.eval_loss_rate = &prometheus::BuildGauge().Name("rill_eval_loss_rate")
                                 .Help("Fraction of the last self-play evaluation's games lost; label opponent "
                                       "scripted or past").Register(*registry);
  metrics.replay_failovers = &prometheus::BuildCounter().Name("rill_actor_replay_failovers_total")
                                   .Help("Times the replay writer left a down shard for another").Register(*registry).Add(labels);
  metrics.replay_shard = &prometheus::BuildGauge().Name("rill_actor_replay_shard")
                               .Help("Replay shard the writer sends new items to").Register(*registry).Add(labels);
  metrics.replay_blocked_seconds =
      &prometheus::BuildCounter().Name("rill_actor_replay_blocked_seconds_total")
           .Help("Time the actor waited for room among its unacknowledged inserts: replay's rate limiter, a slow "
                 "link or a shard out of reach (an actor blocks rather than drop items)")
           .Register(*registry).Add(labels);
  metrics.insert_window_batches =
      &prometheus::BuildGauge().Name("rill_actor_insert_window_batches")
           .Help("Insert messages the writer keeps unacknowledged on its current shard before it waits: "
                 "actor.max_in_flight_batches, or the link's bandwidth-delay product where that is more")
           .Register(*registry).Add(labels);
  metrics.eval_parameter_version = &prometheus::BuildGauge().Name("rill_eval_parameter_version")
                                         .Help("Parameter version the last evaluation round used").Register(*registry).Add({});
  return metrics;
}

}  // namespace rill::actor
