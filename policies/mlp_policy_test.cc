// MlpPolicy with a recurrent core (PolicySpec.lstm_size > 0), through the
// policy kinds built on it: the caller's state, the contract's parameters.
#include "policies/mlp_policy.h"

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policies/categorical.h"
#include "policies/deterministic.h"
#include "policies/gaussian.h"
#include "policies/registry.h"
#include "policies/spec.h"
#include "proto/parameters.pb.h"

namespace rill::policies {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int kObsDim = 4;
constexpr int kActionDim = 2;
constexpr int kLstmSize = 3;

v1::PolicySpec RecurrentSpec(const std::string& kind, int lstm_size = kLstmSize) {
  v1::PolicySpec spec;
  spec.set_kind(kind);
  spec.set_obs_dim(kObsDim);
  spec.set_action_dim(kActionDim);
  spec.add_hidden_sizes(6);
  spec.add_hidden_sizes(5);
  spec.set_lstm_size(lstm_size);
  if (kind != CategoricalPolicy::kKind) {
    for (int i = 0; i < kActionDim; ++i) {
      spec.add_action_low(-1);
      spec.add_action_high(1);
    }
  }
  return spec;
}

std::unique_ptr<Policy> Make(const v1::PolicySpec& spec, uint64_t seed) {
  absl::StatusOr<std::unique_ptr<Policy>> policy = MakePolicy(spec, seed);
  EXPECT_TRUE(policy.ok()) << policy.status();
  return *std::move(policy);
}

std::vector<float> Observations(int batch, int seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.f, 2.f);
  std::vector<float> obs(static_cast<size_t>(batch) * kObsDim);
  for (float& v : obs) v = normal(rng);
  return obs;
}

std::vector<float> Values(const v1::ParameterSet& set, int index) {
  const std::string& data = set.tensors(index).tensor().data();
  std::vector<float> values(data.size() / sizeof(float));
  std::memcpy(values.data(), data.data(), data.size());
  return values;
}

std::vector<float> DeterministicActions(Policy& policy, const std::vector<float>& obs, int batch) {
  PolicyOutput out;
  policy.Act(obs.data(), batch, /*deterministic=*/true, &out);
  return out.actions;
}

// The recurrent Gaussian policy's deterministic action for one row, in
// double from its exported parameters: ReLU after every hidden layer, the
// LSTM cell on (h, c) in `state`, advanced, then tanh of the head's means.
std::vector<double> ReferenceAct(const v1::ParameterSet& set, const float* obs, std::vector<double>* state) {
  int next = 0;
  std::vector<double> x(obs, obs + kObsDim);
  for (int l = 0; l < 2; ++l) {
    const std::vector<float> w = Values(set, next++), b = Values(set, next++);
    std::vector<double> y(b.size());
    for (size_t o = 0; o < b.size(); ++o) {
      double sum = b[o];
      for (size_t i = 0; i < x.size(); ++i) sum += w[o * x.size() + i] * x[i];
      y[o] = std::max(sum, 0.0);
    }
    x = y;
  }
  const std::vector<float> w_ih = Values(set, next++), w_hh = Values(set, next++), bias = Values(set, next++);
  const int n = kLstmSize;
  std::vector<double> gates(4 * n);
  for (int k = 0; k < 4 * n; ++k) {
    double sum = bias[k];
    for (size_t i = 0; i < x.size(); ++i) sum += w_ih[k * x.size() + i] * x[i];
    for (int j = 0; j < n; ++j) sum += w_hh[k * n + j] * (*state)[j];
    gates[k] = sum;
  }
  auto sigmoid = [](double v) { return 1 / (1 + std::exp(-v)); };
  for (int j = 0; j < n; ++j) {
    const double c = sigmoid(gates[n + j]) * (*state)[n + j] + sigmoid(gates[j]) * std::tanh(gates[2 * n + j]);
    (*state)[n + j] = c;
    (*state)[j] = sigmoid(gates[3 * n + j]) * std::tanh(c);
  }
  const std::vector<float> head_w = Values(set, next++), head_b = Values(set, next++);
  std::vector<double> actions(kActionDim);
  for (int a = 0; a < kActionDim; ++a) {  // the means are the head's first outputs
    double sum = head_b[a];
    for (int j = 0; j < n; ++j) sum += head_w[a * n + j] * (*state)[j];
    actions[a] = std::tanh(sum);
  }
  return actions;
}

TEST(MlpPolicyTest, RecurrentParametersFollowTheContractsNamesShapesAndOrder) {
  v1::PolicySpec spec = RecurrentSpec(GaussianPolicy::kKind);
  spec.set_observation_clip(5);
  const v1::ParameterSet set = *Make(spec, 1)->ExportParameters();
  std::vector<std::string> names;
  std::vector<std::vector<int64_t>> shapes;
  for (const v1::NamedTensor& tensor : set.tensors()) {
    names.push_back(tensor.name());
    shapes.emplace_back(tensor.tensor().shape().begin(), tensor.tensor().shape().end());
  }
  EXPECT_THAT(names, ElementsAre("policy.layers.0.weight", "policy.layers.0.bias", "policy.layers.1.weight",
                                 "policy.layers.1.bias", "policy.lstm.weight_ih", "policy.lstm.weight_hh",
                                 "policy.lstm.bias", "policy.head.weight", "policy.head.bias", "obs_norm.mean",
                                 "obs_norm.std"));
  EXPECT_THAT(shapes, ElementsAre(ElementsAre(6, 4), ElementsAre(6), ElementsAre(5, 6), ElementsAre(5),
                                  ElementsAre(12, 5), ElementsAre(12, 3), ElementsAre(12), ElementsAre(4, 3),
                                  ElementsAre(4), ElementsAre(4), ElementsAre(4)));
  EXPECT_EQ(set.policy().lstm_size(), kLstmSize);
}

TEST(MlpPolicyTest, RecurrentActionsMatchTheNetworkComputedByHandOverSteps) {
  std::unique_ptr<Policy> policy = Make(RecurrentSpec(GaussianPolicy::kKind), 2);
  const v1::ParameterSet set = *policy->ExportParameters();
  const int batch = 3;
  ASSERT_EQ(policy->state_size(), 2 * kLstmSize);
  std::vector<float> state(batch * 2 * kLstmSize, 0.f);
  std::vector<std::vector<double>> expected_state(batch, std::vector<double>(2 * kLstmSize, 0.0));
  policy->set_state(state.data());
  for (int t = 0; t < 5; ++t) {
    const std::vector<float> obs = Observations(batch, t);
    const std::vector<float> actions = DeterministicActions(*policy, obs, batch);
    for (int r = 0; r < batch; ++r) {
      const std::vector<double> expected = ReferenceAct(set, obs.data() + r * kObsDim, &expected_state[r]);
      for (int a = 0; a < kActionDim; ++a) {
        EXPECT_NEAR(actions[r * kActionDim + a], expected[a], 1e-5) << "step " << t << ", row " << r;
      }
      for (int k = 0; k < 2 * kLstmSize; ++k) {
        EXPECT_NEAR(state[r * 2 * kLstmSize + k], expected_state[r][k], 1e-5) << "step " << t << ", row " << r;
      }
    }
  }
}

TEST(MlpPolicyTest, ActAdvancesTheCallersStateInPlace) {
  std::unique_ptr<Policy> policy = Make(RecurrentSpec(CategoricalPolicy::kKind), 3);
  const std::vector<float> obs = Observations(2, 1);
  std::vector<float> state(2 * 2 * kLstmSize, 0.f);
  policy->set_state(state.data());
  PolicyOutput out;
  policy->Act(obs.data(), 2, /*deterministic=*/true, &out);
  const std::vector<float> after_one = state;
  EXPECT_NE(after_one, std::vector<float>(state.size(), 0.f));
  policy->Act(obs.data(), 2, /*deterministic=*/true, &out);
  EXPECT_NE(state, after_one);  // the same observation, a different state
}

TEST(MlpPolicyTest, ActWithBehaviourAdvancesTheStateAsActDoes) {
  std::unique_ptr<Policy> policy = Make(RecurrentSpec(CategoricalPolicy::kKind), 4);
  const std::vector<float> obs = Observations(2, 2);
  std::vector<float> acted(2 * 2 * kLstmSize, 0.f), behaved = acted;
  PolicyOutput out;
  policy->set_state(acted.data());
  policy->Act(obs.data(), 2, /*deterministic=*/false, &out);
  policy->set_state(behaved.data());
  ASSERT_TRUE(policy->ActWithBehaviour(obs.data(), 2, &out).ok());
  EXPECT_EQ(behaved, acted);
}

TEST(MlpPolicyTest, AZeroedRowActsAsAFreshEpisode) {
  std::unique_ptr<Policy> policy = Make(RecurrentSpec(GaussianPolicy::kKind), 5);
  const int batch = 2;
  std::vector<float> state(batch * 2 * kLstmSize, 0.f);
  policy->set_state(state.data());
  for (int t = 0; t < 3; ++t) DeterministicActions(*policy, Observations(batch, t), batch);
  const std::vector<float> row0(state.begin(), state.begin() + 2 * kLstmSize);
  std::fill(state.begin() + 2 * kLstmSize, state.end(), 0.f);  // row 1's episode ends

  const std::vector<float> obs = Observations(batch, 9);
  const std::vector<float> actions = DeterministicActions(*policy, obs, batch);

  // Row 1 acts as a fresh policy at its first step; row 0 carries on.
  std::unique_ptr<Policy> fresh = Make(RecurrentSpec(GaussianPolicy::kKind), 5);
  std::vector<float> fresh_state(2 * kLstmSize, 0.f);
  fresh->set_state(fresh_state.data());
  const std::vector<float> first = DeterministicActions(*fresh, {obs.begin() + kObsDim, obs.end()}, 1);
  // (Batches of 1 and 2 may round differently in the BLAS.)
  for (int a = 0; a < kActionDim; ++a) EXPECT_NEAR(actions[kActionDim + a], first[a], 1e-6);
  for (int k = 0; k < 2 * kLstmSize; ++k) EXPECT_NEAR(state[2 * kLstmSize + k], fresh_state[k], 1e-6);

  std::vector<float> carried = row0;
  fresh->set_state(carried.data());
  const std::vector<float> continued = DeterministicActions(*fresh, {obs.begin(), obs.begin() + kObsDim}, 1);
  for (int a = 0; a < kActionDim; ++a) EXPECT_NEAR(actions[a], continued[a], 1e-6);
}

TEST(MlpPolicyTest, NullStateActsAsAZeroStateAndCarriesNothing) {
  std::unique_ptr<Policy> policy = Make(RecurrentSpec(GaussianPolicy::kKind), 6);
  const std::vector<float> obs = Observations(3, 4);
  const std::vector<float> stateless = DeterministicActions(*policy, obs, 3);
  EXPECT_EQ(DeterministicActions(*policy, obs, 3), stateless);  // nothing carried between calls
  std::vector<float> zeros(3 * 2 * kLstmSize, 0.f);
  policy->set_state(zeros.data());
  EXPECT_EQ(DeterministicActions(*policy, obs, 3), stateless);
  policy->set_state(nullptr);
  EXPECT_EQ(DeterministicActions(*policy, obs, 3), stateless);
}

TEST(MlpPolicyTest, RecurrentParametersRoundTripIntoAnotherPolicy) {
  v1::PolicySpec spec = RecurrentSpec(GaussianPolicy::kKind);
  spec.set_observation_clip(5);
  std::unique_ptr<Policy> source = Make(spec, 7);
  const v1::ParameterSet set = *source->ExportParameters();
  absl::StatusOr<std::unique_ptr<Policy>> target = PolicyFromParameters(set, /*seed=*/8);
  ASSERT_TRUE(target.ok()) << target.status();
  EXPECT_EQ((*(*target)->ExportParameters()).SerializeAsString(), set.SerializeAsString());
  std::vector<float> a(2 * 2 * kLstmSize, 0.f), b = a;
  source->set_state(a.data());
  (*target)->set_state(b.data());
  for (int t = 0; t < 3; ++t) {
    const std::vector<float> obs = Observations(2, t);
    EXPECT_EQ(DeterministicActions(*source, obs, 2), DeterministicActions(**target, obs, 2));
  }
  EXPECT_EQ(a, b);
}

TEST(MlpPolicyTest, WrongShapedLstmTensorIsRefusedByNameAndTheOldParametersStay) {
  std::unique_ptr<Policy> policy = Make(RecurrentSpec(GaussianPolicy::kKind), 9);
  const std::vector<float> obs = Observations(2, 5);
  const std::vector<float> before = DeterministicActions(*policy, obs, 2);
  // Parameters of a 4-unit core for a 3-unit policy.
  v1::ParameterSet other = *Make(RecurrentSpec(GaussianPolicy::kKind, 4), 10)->ExportParameters();
  absl::Status status = policy->LoadParameters(other);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("policy.lstm.weight_ih"));
  EXPECT_EQ(DeterministicActions(*policy, obs, 2), before);

  v1::ParameterSet set = *policy->ExportParameters();
  set.mutable_tensors(5)->mutable_tensor()->set_shape(1, 4);  // weight_hh [12, 4]
  status = policy->LoadParameters(set);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("policy.lstm.weight_hh"));
}

TEST(MlpPolicyTest, FeedForwardPolicyIgnoresTheStateAndKeepsItsParameters) {
  std::unique_ptr<Policy> policy = Make(RecurrentSpec(GaussianPolicy::kKind, 0), 11);
  EXPECT_EQ(policy->state_size(), 0);
  const v1::ParameterSet set = *policy->ExportParameters();
  ASSERT_EQ(set.tensors_size(), 6);
  EXPECT_EQ(set.tensors(4).name(), "policy.layers.2.weight");
  const std::vector<float> obs = Observations(2, 6);
  const std::vector<float> stateless = DeterministicActions(*policy, obs, 2);
  std::vector<float> state = {1, 2, 3};
  policy->set_state(state.data());
  EXPECT_EQ(DeterministicActions(*policy, obs, 2), stateless);
  EXPECT_THAT(state, ElementsAre(1, 2, 3));
}

TEST(MlpPolicyTest, LstmSizeOutOfRangeOrWithoutAHiddenLayerIsRefusedNamingTheField) {
  for (int size : {-1, kMaxLstmSize + 1}) {
    absl::Status status = MakePolicy(RecurrentSpec(CategoricalPolicy::kKind, size), 1).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << size;
    EXPECT_THAT(status.message(), HasSubstr("lstm_size")) << size;
  }
  v1::PolicySpec spec = RecurrentSpec(GaussianPolicy::kKind);
  spec.clear_hidden_sizes();
  absl::Status status = MakePolicy(spec, 1).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("lstm_size"));
  EXPECT_THAT(status.message(), HasSubstr("hidden"));
}

// GELU hidden layers: x * Phi(x) by hand on a one-hidden-layer network,
// and refused where the spec's network is not a flat feed-forward MLP.
TEST(MlpPolicyTest, GeluPolicyActsThroughTheExactGeluAndIsRefusedOutsideFlatMlps) {
  v1::PolicySpec spec;
  spec.set_kind(DeterministicPolicy::kKind);
  spec.set_obs_dim(1);
  spec.set_action_dim(1);
  spec.add_hidden_sizes(1);
  spec.add_action_low(-1);
  spec.add_action_high(1);
  spec.set_activation(v1::GELU);
  std::unique_ptr<Policy> policy = *MakePolicy(spec, 1);
  // w0 = 1, b0 = 0, w1 = 1, b1 = 0: the action is tanh(gelu(x)).
  v1::ParameterSet params = *policy->ExportParameters();
  for (int k = 0; k < 4; ++k) {
    const float value = k % 2 == 0 ? 1.f : 0.f;
    params.mutable_tensors(k)->mutable_tensor()->set_data(&value, sizeof(value));
  }
  ASSERT_TRUE(policy->LoadParameters(params).ok());
  for (const float x : {-2.f, -0.5f, 0.f, 0.7f, 3.f}) {
    PolicyOutput out;
    policy->Act(&x, 1, /*deterministic=*/true, &out);
    const double gelu = 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
    EXPECT_NEAR(out.actions[0], std::tanh(gelu), 1e-6) << x;
  }
  spec.set_lstm_size(4);
  const absl::Status refused = MakePolicy(spec, 1).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(), HasSubstr("activation"));
  EXPECT_THAT(refused.message(), HasSubstr("feed-forward MLP on flat observations"));
}

// A deterministic policy with DrQ-v2's trunk (PolicySpec.trunk_size).
v1::PolicySpec TrunkSpec(int trunk_size) {
  v1::PolicySpec spec;
  spec.set_kind(DeterministicPolicy::kKind);
  spec.set_obs_dim(kObsDim);
  spec.set_action_dim(kActionDim);
  spec.add_hidden_sizes(5);
  spec.set_trunk_size(trunk_size);
  for (int i = 0; i < kActionDim; ++i) {
    spec.add_action_low(-1);
    spec.add_action_high(1);
  }
  return spec;
}

TEST(MlpPolicyTest, TrunkParametersFollowTheContractsNamesAndShapes) {
  std::unique_ptr<Policy> policy = Make(TrunkSpec(3), 7);
  absl::StatusOr<v1::ParameterSet> set = policy->ExportParameters();
  ASSERT_TRUE(set.ok()) << set.status();
  ASSERT_EQ(set->tensors_size(), 8);
  EXPECT_EQ(set->tensors(0).name(), kPolicyTrunkWeightName);
  EXPECT_THAT(set->tensors(0).tensor().shape(), ElementsAre(3, kObsDim));
  EXPECT_EQ(set->tensors(1).name(), kPolicyTrunkBiasName);
  EXPECT_EQ(set->tensors(2).name(), kPolicyTrunkNormWeightName);
  EXPECT_THAT(Values(*set, 2), ElementsAre(1, 1, 1));  // LayerNorm starts as the identity
  EXPECT_EQ(set->tensors(3).name(), kPolicyTrunkNormBiasName);
  EXPECT_THAT(Values(*set, 3), ElementsAre(0, 0, 0));
  EXPECT_EQ(set->tensors(4).name(), "policy.layers.0.weight");
  EXPECT_THAT(set->tensors(4).tensor().shape(), ElementsAre(5, 3));
}

TEST(MlpPolicyTest, TrunkActionsMatchTanhOfLayerNormComputedByHand) {
  std::unique_ptr<Policy> policy = Make(TrunkSpec(3), 11);
  v1::ParameterSet set = policy->ExportParameters().value();
  // A LayerNorm scale and shift other than the identity, so both count.
  for (int index : {2, 3}) {
    std::vector<float> values = {0.5f, -1.5f, 2.0f};
    if (index == 3) values = {0.1f, 0.2f, -0.3f};
    set.mutable_tensors(index)->mutable_tensor()->set_data(values.data(), values.size() * sizeof(float));
  }
  ASSERT_TRUE(policy->LoadParameters(set).ok());
  const int batch = 4;
  const std::vector<float> obs = Observations(batch, 3);
  const std::vector<float> actions = DeterministicActions(*policy, obs, batch);
  const std::vector<float> w = Values(set, 0), b = Values(set, 1), g = Values(set, 2), beta = Values(set, 3);
  const std::vector<float> w0 = Values(set, 4), b0 = Values(set, 5), w1 = Values(set, 6), b1 = Values(set, 7);
  for (int r = 0; r < batch; ++r) {
    std::vector<double> z(3);
    double mean = 0, var = 0;
    for (int o = 0; o < 3; ++o) {
      z[o] = b[o];
      for (int i = 0; i < kObsDim; ++i) z[o] += w[o * kObsDim + i] * obs[r * kObsDim + i];
      mean += z[o] / 3;
    }
    for (int o = 0; o < 3; ++o) var += (z[o] - mean) * (z[o] - mean) / 3;
    for (int o = 0; o < 3; ++o) z[o] = std::tanh((z[o] - mean) / std::sqrt(var + 1e-5) * g[o] + beta[o]);
    std::vector<double> h(5);
    for (int o = 0; o < 5; ++o) {
      double sum = b0[o];
      for (int i = 0; i < 3; ++i) sum += w0[o * 3 + i] * z[i];
      h[o] = std::max(sum, 0.0);
    }
    for (int a = 0; a < kActionDim; ++a) {
      double sum = b1[a];
      for (int i = 0; i < 5; ++i) sum += w1[a * 5 + i] * h[i];
      EXPECT_NEAR(actions[r * kActionDim + a], std::tanh(sum), 1e-5) << "row " << r << " action " << a;
    }
  }
}

TEST(MlpPolicyTest, TrunkSizeOutOfRangeIsRefusedNamingTheField) {
  absl::StatusOr<std::unique_ptr<Policy>> policy = MakePolicy(TrunkSpec(-1), 1);
  ASSERT_FALSE(policy.ok());
  EXPECT_THAT(policy.status().message(), HasSubstr("trunk_size"));
  policy = MakePolicy(TrunkSpec(kMaxTrunkSize + 1), 1);
  ASSERT_FALSE(policy.ok());
  EXPECT_THAT(policy.status().message(), HasSubstr("out of range"));
}

}  // namespace
}  // namespace rill::policies
