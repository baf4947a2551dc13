#include "experiment/finalize_network.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/invalid_field.h"
#include "common/shape.h"
#include "common/status_macros.h"
#include "policies/torso.h"

namespace rill::experiment {
namespace {

// That the torso (a preset's layers or CUSTOM ones) fits the env's image
// observations.
absl::Status CheckTorsoFits(const v1::NetworkConfig& network, const std::string& torso_name,
                            const envs::EnvSpec& env) {
  using Network = v1::NetworkConfig;
  const std::string field = network.torso() == Network::CUSTOM ? "network.torso_layers" : "network.torso";
  if (env.observation_shape.size() != 3) {
    return InvalidField(field, absl::StrCat(torso_name, " needs image observations [C, H, W]; env ", env.name,
                                            " observes ", ShapeString(env.observation_shape)));
  }
  absl::StatusOr<std::vector<policies::ImageShape>> shapes = policies::TorsoShapes(
      std::vector<v1::TorsoLayer>(network.torso_layers().begin(), network.torso_layers().end()),
      {env.observation_shape[0], env.observation_shape[1], env.observation_shape[2]});
  if (!shapes.ok()) {
    return InvalidField(field, absl::StrCat(torso_name, " on env ", env.name, "'s ", ShapeString(env.observation_shape),
                                            " observations: ", shapes.status().message()));
  }
  return absl::OkStatus();
}

// "impala, ppo": the algorithms with `ability` (an AlgorithmSpec flag).
std::string AlgorithmsThat(bool learner::AlgorithmSpec::*ability) {
  std::vector<std::string> able;
  for (const learner::AlgorithmSpec& spec : learner::AlgorithmSpecs()) {
    if (spec.*ability) able.push_back(spec.name);
  }
  return absl::StrJoin(able, ", ");
}

}  // namespace

// Expands network.torso's preset into torso_layers, fills hidden_sizes
// (the preset's usual head, or [256, 256]) and checks that the torso fits
// the env's observations.
absl::Status FinalizeNetwork(v1::NetworkConfig& network, const envs::EnvSpec& env) {
  using Network = v1::NetworkConfig;
  if (!Network::Torso_IsValid(network.torso())) {
    return InvalidField("network.torso", absl::StrCat(network.torso(), " is unknown (known: NO_TORSO, NATURE_CNN, "
                                                      "IMPALA_RESNET, MINATAR_CNN, CUSTOM, DRQV2_ENCODER)"));
  }
  const std::string torso_name = Network::Torso_Name(network.torso());
  std::vector<v1::TorsoLayer> preset;
  int head = 0;
  int head_layers = 1;
  switch (network.torso()) {
    case Network::NATURE_CNN:
      preset = policies::NatureCnnLayers();
      head = 512;
      break;
    case Network::IMPALA_RESNET:
      preset = policies::ImpalaResnetLayers();
      head = 256;
      break;
    case Network::MINATAR_CNN:
      preset = policies::MinAtarCnnLayers();
      head = 128;
      break;
    case Network::DRQV2_ENCODER:
      preset = policies::DrqV2EncoderLayers();
      head = 1024;
      head_layers = 2;
      break;
    case Network::CUSTOM:
      if (network.torso_layers_size() == 0) return InvalidField("network.torso_layers", "torso: CUSTOM needs layers");
      head = 256;
      break;
    default:
      break;
  }
  if (network.torso() != Network::CUSTOM && network.torso_layers_size() > 0) {
    // A finalized config (a launcher's, handed to its children) holds the
    // preset's layers already.
    bool same = network.torso_layers_size() == static_cast<int>(preset.size());
    for (int i = 0; same && i < network.torso_layers_size(); ++i) {
      same = network.torso_layers(i).SerializeAsString() == preset[i].SerializeAsString();
    }
    if (!same) {
      return InvalidField("network.torso_layers", absl::StrCat("is read with torso: CUSTOM only (torso is ",
                                                               torso_name, ")"));
    }
    preset.clear();
  }
  for (const v1::TorsoLayer& layer : preset) *network.add_torso_layers() = layer;
  if (network.hidden_sizes_size() == 0) {
    if (head > 0) {
      for (int l = 0; l < head_layers; ++l) network.add_hidden_sizes(head);
    } else {
      network.add_hidden_sizes(256);
      network.add_hidden_sizes(256);
    }
  }
  if (network.torso() != Network::NO_TORSO) RETURN_IF_ERROR(CheckTorsoFits(network, torso_name, env));
  for (int h : network.hidden_sizes()) {
    if (h <= 0 || h > 65536) {
      return InvalidField("network.hidden_sizes", absl::StrCat("width ", h, " is out of range (1..65536)"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckNetworkFitsAlgorithm(const v1::NetworkConfig& network, const v1::LearnerConfig& learner,
                                       const envs::EnvSpec& env,
                                       const learner::AlgorithmSpec& algorithm) {
  if (network.torso_layers_size() == 0 && algorithm.needs_torso) {
    return InvalidField("network.torso", absl::StrCat(algorithm.name, " learns through a convolutional encoder: "
                                                      "set network.torso (DRQV2_ENCODER is the paper's)"));
  }
  if (network.torso_layers_size() > 0 && !algorithm.conv_torso) {
    return InvalidField("network.torso", absl::StrCat(algorithm.name, " does not train a convolutional torso yet (",
                                                      AlgorithmsThat(&learner::AlgorithmSpec::conv_torso), " does)"));
  }
  const bool torso = network.torso_layers_size() > 0;
  if (env.flat_dim > 0 && (torso || env.packed_observations()) && !algorithm.dict_observations) {
    return InvalidField(torso ? "network.torso" : "learner",
                        absl::StrCat(algorithm.name, " does not train on a Dict observation of ",
                                     envs::ObservationTypeName(env.observation_type), " image ",
                                     ShapeString(env.observation_shape), " and flat leaves yet (env ", env.name, "; ",
                                     AlgorithmsThat(&learner::AlgorithmSpec::dict_observations), " do)"));
  }
  if (network.has_lstm()) {
    const int32_t units = network.lstm().size();
    if (units < 1 || units > 4096) {
      return InvalidField("network.lstm.size", absl::StrCat(units, " is out of range: must be in 1..4096 (or leave "
                                                            "network.lstm out for a feed-forward network)"));
    }
    if (!algorithm.recurrent_core) {
      return InvalidField("network.lstm",
                          absl::StrCat(algorithm.name, " does not train a recurrent core (",
                                       AlgorithmsThat(&learner::AlgorithmSpec::recurrent_core), " do)"));
    }
  }
  if (!v1::Activation_IsValid(network.activation())) {
    return InvalidField("network.activation",
                        absl::StrCat(network.activation(), " is unknown (known: RELU, GELU; unset: the algorithm's)"));
  }
  if (network.activation() == v1::GELU && !algorithm.gelu) {
    return InvalidField("network.activation",
                        absl::StrCat("GELU: ", algorithm.name, " trains ReLU networks only (",
                                     AlgorithmsThat(&learner::AlgorithmSpec::gelu), " train GELU ones)"));
  }
  if (network.activation() == v1::GELU && (network.torso_layers_size() > 0 || network.has_lstm())) {
    return InvalidField("network.activation", "GELU: for feed-forward MLPs on flat observations (no torso, no lstm)");
  }
  // The algorithm's own rules on the network (spec.cc).
  if (algorithm.check_network != nullptr) return algorithm.check_network(learner, network);
  return absl::OkStatus();
}

}  // namespace rill::experiment
