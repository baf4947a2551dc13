#include "policies/hand_set.h"

#include "envs/spec.h"
#include "gtest/gtest.h"
#include "policies/registry.h"
#include "policies/spec.h"

namespace rill::policies {

void SetTensor(v1::ParameterSet* params, const std::string& name, const std::vector<float>& values) {
  for (v1::NamedTensor& named : *params->mutable_tensors()) {
    if (named.name() != name) continue;
    ASSERT_EQ(named.tensor().data().size(), values.size() * sizeof(float)) << name;
    named.mutable_tensor()->set_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * 4));
    return;
  }
  FAIL() << "no tensor " << name;
}

v1::ParameterSet PongDuelPaddle(bool track) {
  envs::EnvSpec env;
  env.name = "PongDuel-v0";
  env.observation_shape = {6};
  env.discrete = true;
  env.num_actions = 3;
  v1::PolicySpec spec = PolicySpecFor("categorical", env, {2});
  v1::ParameterSet params = *(*MakePolicy(spec, /*seed=*/1))->ExportParameters();
  SetTensor(&params, "policy.layers.0.weight", {-9, 0, 0, 11, 0, 0, 9, 0, 0, -11, 0, 0});
  SetTensor(&params, "policy.layers.0.bias", {-1, 1});
  // Logits: stay 0.5, up relu(-s), down relu(s); never moving: 0 weights.
  const float gain = track ? 1 : 0;
  SetTensor(&params, "policy.layers.1.weight", {0, 0, 0, gain, gain, 0});
  SetTensor(&params, "policy.layers.1.bias", {0.5, 0, 0});
  return params;
}

}  // namespace rill::policies
