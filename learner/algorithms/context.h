// AlgorithmContext: what every algorithm's FromConfig gets.
#ifndef RILL_LEARNER_ALGORITHMS_CONTEXT_H_
#define RILL_LEARNER_ALGORITHMS_CONTEXT_H_

#include <cstdint>
#include <vector>

#include "envs/spec.h"
#include "proto/config.pb.h"
#include "torch/torch.h"

namespace rill::learner {

struct AlgorithmContext {
  // Finalized (experiment/config.h): every default filled in, every rule checked.
  v1::ExperimentConfig config;
  // The env's spaces (envs/registry.h).
  envs::EnvSpec env;
  torch::Device device = torch::kCPU;
  uint64_t seed = 0;

  // network.hidden_sizes.
  std::vector<int> hidden() const {
    return std::vector<int>(config.network().hidden_sizes().begin(), config.network().hidden_sizes().end());
  }
  // network.torso_layers: the convolutional torso (finalization expands a
  // preset into them); empty: none.
  std::vector<v1::TorsoLayer> torso() const {
    return std::vector<v1::TorsoLayer>(config.network().torso_layers().begin(), config.network().torso_layers().end());
  }
  // network.lstm.size: the recurrent core's units; 0: none.
  int lstm_size() const { return config.network().lstm().size(); }
};

}  // namespace rill::learner

#endif  // RILL_LEARNER_ALGORITHMS_CONTEXT_H_
