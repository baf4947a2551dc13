#include "experiment/finalize_self_play.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/declared_defaults.h"
#include "common/invalid_field.h"
#include "envs/catalog.h"

namespace rill::experiment {

absl::Status FinalizeSelfPlay(v1::ExperimentConfig& config) {
  if (!config.has_self_play()) return absl::OkStatus();
  v1::SelfPlayConfig& self_play = *config.mutable_self_play();
  FillDeclaredDefaults(self_play);
  const v1::EnvConfig& env = config.env();
  absl::StatusOr<envs::MultiAgentSpec> multi = envs::LookupMultiAgentSpec(env.name());
  if (config.policies_size() > 0) {
    // Between policies (actor/policy_opponents.h): any multi-agent env of
    // the registry whose agents are rows; the policies section checks its
    // map (experiment/policies.h).
    if (env.has_remote() || env.has_plugin() || !multi.ok()) {
      return InvalidField("self_play", absl::StrCat(env.name(), " is no multi-agent env of the registry (`rill "
                                                    "envs` lists them)"));
    }
  } else if (env.has_remote() || env.has_plugin() || !multi.ok() || multi->num_agents() != 2) {
    return InvalidField("self_play", absl::StrCat(env.name(), " is no two-player game of the registry (`rill envs` "
                                                  "lists them: PongDuel-v0); a game of more agents takes "
                                                  "self_play between policies (policies { })"));
  } else if (!multi->homogeneous()) {
    return InvalidField("self_play", absl::StrCat(env.name(), "'s players must be rows of one shared policy: two "
                                                  "agents of the same spaces, without env.joint_agents"));
  }
  if (env.joint_agents()) {
    return InvalidField("self_play", absl::StrCat(env.name(), "'s players must be rows of their policies, without "
                                                  "env.joint_agents"));
  }
  if (config.network().has_lstm()) {
    return InvalidField("self_play", "opponents play as feed-forward policies (actor/opponent_seats.h); "
                                     "network.lstm makes a recurrent one");
  }
  if (config.topology().inference() == v1::TopologyConfig::CENTRAL) {
    return InvalidField("self_play", "the actors play pool opponents with their own policy copies; "
                                     "topology.inference CENTRAL gives them none");
  }
  if (self_play.pool_size() < 1 || self_play.pool_size() > 1000) {
    return InvalidField("self_play.pool_size", absl::StrCat(self_play.pool_size(), " is out of range: 1..1000"));
  }
  if (self_play.snapshot_every() < 1) {
    return InvalidField("self_play.snapshot_every", absl::StrCat(self_play.snapshot_every(), " must be >= 1"));
  }
  const double p = self_play.latest_probability();
  if (!std::isfinite(p) || p < 0 || p > 1) {
    return InvalidField("self_play.latest_probability", absl::StrCat(p, " is out of range: [0, 1]"));
  }
  if (self_play.eval_opponents() < 0 || self_play.eval_opponents() > 16) {
    return InvalidField("self_play.eval_opponents",
                        absl::StrCat(self_play.eval_opponents(), " is out of range: 0..16"));
  }
  return absl::OkStatus();
}

}  // namespace rill::experiment
