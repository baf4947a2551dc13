// AlgorithmSpec: what the rest of Rill knows of a learning algorithm without
// linking it (no LibTorch here: replay shards and config tools read it):
// its name (the field of the learner.algorithm oneof), the action space it
// acts in, the items it trains on, and the one function that fills its
// config section's defaults and checks every rule of it. Config
// finalization (experiment/config.h) calls FinalizeLearnerConfig and nothing
// else for the learner section, so each rule lives here once.
//
// A new algorithm is its files, one row in AlgorithmSpecs() (spec.cc, keyed
// by its oneof case, fields named) and its factory's line in registry.cc.
// Its name is written once, as the field of the learner.algorithm oneof in
// proto/config.proto: the spec reads it from the descriptor, and the
// algorithm's name() returns AlgorithmName(its case).
//
// Thread-safe: constant tables and pure functions.
#ifndef RILL_LEARNER_ALGORITHMS_SPEC_H_
#define RILL_LEARNER_ALGORITHMS_SPEC_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "envs/spec.h"
#include "items/registry.h"
#include "proto/config.pb.h"

namespace rill::learner {

// The action spaces an algorithm can act in.
enum class ActionSpaces { kContinuous, kDiscrete, kBoth };

// What the actors do for an algorithm. The actor knows no algorithm: its
// entry point (roles/actor_main.cc) reads this from the spec and hands it
// the item options and whether to wait for versions.
struct ActorDuty {
  items::ItemOptions items;
  // A3C style: after each round of items, every actor waits for the version
  // they produce, so the policy lag is 0. `synchronous_field` names the
  // config field that asked for it (for refusals).
  bool synchronous = false;
  std::string synchronous_field;
};

// A row of AlgorithmSpecs(), written with designated initializers
// (`{.config_case = C::kPpo, .item_kind = ..., .conv_torso = true}`); a field
// a row leaves out keeps the default below.
struct AlgorithmSpec {
  // The learner.algorithm oneof field that selects it.
  v1::LearnerConfig::AlgorithmCase config_case = v1::LearnerConfig::ALGORITHM_NOT_SET;
  // "td3": that field's name, filled from the descriptor (a row leaves it
  // out).
  std::string name;
  ActionSpaces action_spaces = ActionSpaces::kContinuous;
  // Fills the defaults of the algorithm's own section and checks it.
  // InvalidArgument naming the field ("learner.td3.policy_delay").
  absl::Status (*finalize)(v1::LearnerConfig& learner, const envs::EnvSpec& env) = nullptr;
  // The items it trains on, and the actors' duty under a finalized learner
  // section (item settings, synchronous mode).
  items::ItemKind item_kind = items::ItemKind::kTransition;
  ActorDuty (*actor_duty)(const v1::LearnerConfig& learner) = nullptr;
  // Whether it trains a convolutional torso (network.torso) for image
  // observations.
  bool conv_torso = false;
  // Whether it trains on a Dict observation of an image and flat leaves
  // (EnvSpec::flat_dim): rows of uint8 image bytes and float32 leaves
  // (EnvSpec::packed_observations), and its torso on the image with the
  // flat leaves beside the torso's features. Others take a Dict
  // observation only as all-float32 rows through their MLP.
  bool dict_observations = false;
  // Trains a recurrent core (network.lstm).
  bool recurrent_core = false;
  // Cannot train without a convolutional torso (network.torso).
  bool needs_torso = false;
  // Trains on a multi-agent env's agents together, one row of the actors'
  // batches (env.joint_agents, envs/multi_agent/joint.h): config
  // finalization sets env.joint_agents for it.
  bool joint_agents = false;
  // The width of the trunk its policy puts between the torso (or the
  // observation) and the MLP (PolicySpec.trunk_size) under a finalized
  // learner section; null: none.
  int (*policy_trunk)(const v1::LearnerConfig& learner) = nullptr;
  // The algorithm's rules on a finalized learner section together with the
  // network section (a recurrent core's minibatches, say); null: none.
  // InvalidArgument naming the field.
  absl::Status (*check_network)(const v1::LearnerConfig& learner, const v1::NetworkConfig& network) = nullptr;
  // Trains MLPs with GELU hidden layers (network.activation GELU).
  bool gelu = false;
  // network.activation when the config leaves it unset.
  v1::Activation default_activation = v1::RELU;
};

// The actors' duty under a finalized experiment config: the algorithm's,
// with the network's part (unrolls of a recurrent core carry its state).
ActorDuty ActorDutyFor(const AlgorithmSpec& spec, const v1::ExperimentConfig& config);

// Every algorithm, in the oneof's order.
const std::vector<AlgorithmSpec>& AlgorithmSpecs();

// "sac, td3, ddpg, sac_discrete, impala, ppo, drqv2".
std::string KnownAlgorithmNames();

// "ppo": the name of the algorithm `config_case` selects, for an
// algorithm's name(). CHECK-fails for a case no row has (a broken table).
const std::string& AlgorithmName(v1::LearnerConfig::AlgorithmCase config_case);

// Whether the algorithm `learner` selects trains on joint agents (false when
// none is selected).
bool TrainsOnJointAgents(const v1::LearnerConfig& learner);

// The spec of the algorithm `learner` selects. InvalidArgument when none is
// selected (FinalizeLearnerConfig picks one first).
absl::StatusOr<const AlgorithmSpec*> FindAlgorithmSpec(const v1::LearnerConfig& learner);
// By name; NotFound listing the known names.
absl::StatusOr<const AlgorithmSpec*> FindAlgorithmSpec(absl::string_view name);

// Fills the learner section's defaults (the algorithm when none is set: sac
// for a continuous action space, sac_discrete for a discrete one; batch
// size, gamma, tau, n_step, publish and checkpoint intervals, device,
// max_policy_lag) and checks every rule, including that the algorithm can act
// in `env`'s action space. InvalidArgument naming the field.
absl::Status FinalizeLearnerConfig(v1::LearnerConfig& learner, const envs::EnvSpec& env);

// The algorithm's section of `learner` as a message (for logs and tools);
// null when none is selected.
const google::protobuf::Message* AlgorithmSection(const v1::LearnerConfig& learner);

}  // namespace rill::learner

#endif  // RILL_LEARNER_ALGORITHMS_SPEC_H_
