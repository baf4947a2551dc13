// PerAgentPolicy through the registry: each agent sees its own slice of the
// row, a categorical agent writes a one-hot, parameters travel prefixed by
// agent, and bad specs or parameter sets are refused.
#include "policies/per_agent.h"

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policies/registry.h"
#include "policies/spec.h"
#include "proto/parameters.pb.h"

namespace rill::policies {
namespace {

using ::testing::HasSubstr;

// Agent 0: categorical, 3 observations, 4 actions. Agent 1: deterministic,
// 5 observations, 2 actions. The row: 8 observations, 6 action entries.
constexpr int kObs0 = 3, kActions0 = 4, kObs1 = 5, kActions1 = 2;
constexpr int kRowObs = kObs0 + kObs1, kRowActions = kActions0 + kActions1;

v1::PolicySpec AgentSpec(const std::string& kind, int obs_dim, int action_dim, double noise = 0) {
  v1::PolicySpec spec;
  spec.set_kind(kind);
  spec.set_obs_dim(obs_dim);
  spec.set_action_dim(action_dim);
  spec.add_hidden_sizes(8);
  spec.set_exploration_noise(noise);
  if (kind == PolicyKindName(PolicyKind::kDeterministic)) {
    for (int i = 0; i < action_dim; ++i) {
      spec.add_action_low(-2);
      spec.add_action_high(2);
    }
  }
  return spec;
}

v1::PolicySpec RowSpec(double noise = 0.5) {
  v1::PolicySpec spec;
  spec.set_kind(PerAgentPolicy::kKind);
  *spec.add_agents() = AgentSpec("categorical", kObs0, kActions0);
  *spec.add_agents() = AgentSpec("deterministic", kObs1, kActions1, noise);
  spec.set_obs_dim(kRowObs);
  spec.set_action_dim(kRowActions);
  for (int i = 0; i < kActions0; ++i) {
    spec.add_action_low(-1);
    spec.add_action_high(1);
  }
  for (int i = 0; i < kActions1; ++i) {
    spec.add_action_low(-2);
    spec.add_action_high(2);
  }
  return spec;
}

std::unique_ptr<Policy> Make(const v1::PolicySpec& spec, uint64_t seed) {
  absl::StatusOr<std::unique_ptr<Policy>> policy = MakePolicy(spec, seed);
  EXPECT_TRUE(policy.ok()) << policy.status();
  return policy.ok() ? *std::move(policy) : nullptr;
}

std::vector<float> Rows(int batch, int width, int seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.f, 2.f);
  std::vector<float> values(static_cast<size_t>(batch) * width);
  for (float& v : values) v = normal(rng);
  return values;
}

// Columns [begin, begin + n) of `rows` [batch, width].
std::vector<float> Slice(const std::vector<float>& rows, int width, int begin, int n) {
  std::vector<float> slice;
  for (size_t r = 0; r < rows.size() / width; ++r) {
    slice.insert(slice.end(), rows.begin() + r * width + begin, rows.begin() + r * width + begin + n);
  }
  return slice;
}

// Agent k's part of an exported set, prefix stripped, as its own set.
v1::ParameterSet AgentPart(const v1::ParameterSet& set, int k) {
  v1::ParameterSet part;
  const std::string prefix = PerAgentPolicy::AgentPrefix(k);
  for (const v1::NamedTensor& tensor : set.tensors()) {
    if (tensor.name().rfind(prefix, 0) != 0) continue;
    v1::NamedTensor* copy = part.add_tensors();
    *copy = tensor;
    copy->set_name(tensor.name().substr(prefix.size()));
  }
  *part.mutable_policy() = set.policy().agents(k);
  return part;
}

std::vector<float> ActDeterministic(Policy& policy, const std::vector<float>& obs, int batch) {
  PolicyOutput out;
  policy.Act(obs.data(), batch, /*deterministic=*/true, &out);
  return out.actions;
}

TEST(PerAgentPolicyTest, EachAgentActsOnItsOwnSliceAndCategoricalWritesItsArgmaxAsOneHot) {
  constexpr int kBatch = 6;
  std::unique_ptr<Policy> row = Make(RowSpec(), 7);
  ASSERT_NE(row, nullptr);
  absl::StatusOr<v1::ParameterSet> params = row->ExportParameters();
  ASSERT_TRUE(params.ok()) << params.status();
  absl::StatusOr<std::unique_ptr<Policy>> agent0 = PolicyFromParameters(AgentPart(*params, 0), 1);
  absl::StatusOr<std::unique_ptr<Policy>> agent1 = PolicyFromParameters(AgentPart(*params, 1), 1);
  ASSERT_TRUE(agent0.ok()) << agent0.status();
  ASSERT_TRUE(agent1.ok()) << agent1.status();

  const std::vector<float> obs = Rows(kBatch, kRowObs, 3);
  const std::vector<float> actions = ActDeterministic(*row, obs, kBatch);
  ASSERT_EQ(actions.size(), static_cast<size_t>(kBatch * kRowActions));
  PolicyOutput out0, out1;
  (*agent0)->Act(Slice(obs, kRowObs, 0, kObs0).data(), kBatch, true, &out0);
  (*agent1)->Act(Slice(obs, kRowObs, kObs0, kObs1).data(), kBatch, true, &out1);
  for (int r = 0; r < kBatch; ++r) {
    for (int i = 0; i < kActions0; ++i) {
      EXPECT_EQ(actions[r * kRowActions + i], i == out0.indices[r] ? 1.f : 0.f) << "row " << r << " entry " << i;
    }
    for (int i = 0; i < kActions1; ++i) {
      EXPECT_FLOAT_EQ(actions[r * kRowActions + kActions0 + i], out1.actions[r * kActions1 + i]) << "row " << r;
    }
  }
}

TEST(PerAgentPolicyTest, ExploringSamplesOneHotsAndAddsNoiseWhileDeterministicRepeats) {
  constexpr int kBatch = 200;
  std::unique_ptr<Policy> row = Make(RowSpec(/*noise=*/0.5), 11);
  ASSERT_NE(row, nullptr);
  const std::vector<float> obs = Rows(kBatch, kRowObs, 5);
  const std::vector<float> best = ActDeterministic(*row, obs, kBatch);
  EXPECT_EQ(ActDeterministic(*row, obs, kBatch), best);
  PolicyOutput explored;
  row->Act(obs.data(), kBatch, /*deterministic=*/false, &explored);
  int other_index = 0, moved = 0;
  for (int r = 0; r < kBatch; ++r) {
    const float* a = explored.actions.data() + r * kRowActions;
    int ones = 0;
    for (int i = 0; i < kActions0; ++i) {
      EXPECT_TRUE(a[i] == 0.f || a[i] == 1.f) << "row " << r << " entry " << i << " is " << a[i];
      ones += a[i] == 1.f;
      if (a[i] != best[r * kRowActions + i]) ++other_index;
    }
    EXPECT_EQ(ones, 1) << "row " << r;
    for (int i = kActions0; i < kRowActions; ++i) moved += a[i] != best[r * kRowActions + i];
  }
  // Near-uniform logits of fresh weights: many draws leave the argmax.
  EXPECT_GT(other_index, 0);
  EXPECT_GT(moved, kBatch);
}

TEST(PerAgentPolicyTest, ExportPrefixesByAgentAndLoadRestoresTheActions) {
  constexpr int kBatch = 4;
  std::unique_ptr<Policy> source = Make(RowSpec(), 1);
  std::unique_ptr<Policy> target = Make(RowSpec(), 2);
  ASSERT_NE(source, nullptr);
  ASSERT_NE(target, nullptr);
  absl::StatusOr<v1::ParameterSet> params = source->ExportParameters();
  ASSERT_TRUE(params.ok()) << params.status();
  ASSERT_EQ(params->tensors_size(), 8);  // two layers of weight and bias per agent
  EXPECT_EQ(params->tensors(0).name(), "agent_0.policy.layers.0.weight");
  EXPECT_EQ(params->tensors(3).name(), "agent_0.policy.layers.1.bias");
  EXPECT_EQ(params->tensors(4).name(), "agent_1.policy.layers.0.weight");
  EXPECT_EQ(params->policy().kind(), "per_agent");

  const std::vector<float> obs = Rows(kBatch, kRowObs, 9);
  EXPECT_NE(ActDeterministic(*target, obs, kBatch), ActDeterministic(*source, obs, kBatch));
  ASSERT_TRUE(target->LoadParameters(*params).ok());
  EXPECT_EQ(ActDeterministic(*target, obs, kBatch), ActDeterministic(*source, obs, kBatch));
  absl::StatusOr<std::unique_ptr<Policy>> rebuilt = PolicyFromParameters(*params, 3);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status();
  EXPECT_EQ(ActDeterministic(**rebuilt, obs, kBatch), ActDeterministic(*source, obs, kBatch));
}

TEST(PerAgentPolicyTest, LoadRefusesAMismatchNamingAgentAndTensorAndKeepsEveryAgentsOldParameters) {
  constexpr int kBatch = 4;
  std::unique_ptr<Policy> policy = Make(RowSpec(), 1);
  std::unique_ptr<Policy> other = Make(RowSpec(), 2);
  ASSERT_NE(policy, nullptr);
  ASSERT_NE(other, nullptr);
  const std::vector<float> obs = Rows(kBatch, kRowObs, 4);
  const std::vector<float> before = ActDeterministic(*policy, obs, kBatch);
  absl::StatusOr<v1::ParameterSet> params = other->ExportParameters();
  ASSERT_TRUE(params.ok()) << params.status();

  // Agent 0's part is fine (and differs), agent 1's last tensor has the wrong shape.
  v1::ParameterSet bad_shape = *params;
  bad_shape.mutable_tensors(7)->mutable_tensor()->mutable_shape()->Set(0, 3);
  absl::Status status = policy->LoadParameters(bad_shape);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("agent 1"));
  EXPECT_THAT(status.message(), HasSubstr("policy.layers.1.bias"));
  EXPECT_EQ(ActDeterministic(*policy, obs, kBatch), before);

  v1::ParameterSet unprefixed = *params;
  unprefixed.mutable_tensors(2)->set_name("policy.layers.1.weight");
  status = policy->LoadParameters(unprefixed);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("'policy.layers.1.weight'"));
  EXPECT_EQ(ActDeterministic(*policy, obs, kBatch), before);
}

TEST(PerAgentPolicyTest, SpecChecksRefuseRowsThatDoNotAddUpOrAgentsOfOtherKinds) {
  EXPECT_TRUE(CheckPolicySpec(RowSpec(), PolicyKind::kPerAgent).ok());
  const struct {
    const char* what;
    void (*spoil)(v1::PolicySpec&);
    const char* message;
  } cases[] = {
      {"no agents", [](v1::PolicySpec& s) { s.clear_agents(); }, "agents"},
      {"obs_dim", [](v1::PolicySpec& s) { s.set_obs_dim(kRowObs + 1); }, "obs_dim: 9 is not the agents' sum 8"},
      {"action_dim", [](v1::PolicySpec& s) { s.set_action_dim(kRowActions - 1); }, "action_dim"},
      {"bounds", [](v1::PolicySpec& s) { s.mutable_action_high()->RemoveLast(); }, "action_low"},
      {"own network", [](v1::PolicySpec& s) { s.add_hidden_sizes(4); }, "no network of its own"},
      {"gaussian agent", [](v1::PolicySpec& s) { s.mutable_agents(1)->set_kind("gaussian"); }, "agents[1]: kind"},
      {"bad agent", [](v1::PolicySpec& s) { s.mutable_agents(0)->clear_hidden_sizes(); }, "agents[0]: hidden_sizes"},
      {"recurrent agent", [](v1::PolicySpec& s) { s.mutable_agents(0)->set_lstm_size(4); }, "agents[0]"},
  };
  for (const auto& c : cases) {
    v1::PolicySpec spec = RowSpec();
    c.spoil(spec);
    const absl::Status status = CheckPolicySpec(spec, PolicyKind::kPerAgent);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.what;
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.message)) << c.what;
    EXPECT_FALSE(MakePolicy(spec, 1).ok()) << c.what;
  }
  v1::PolicySpec deterministic = AgentSpec("deterministic", 2, 1);
  *deterministic.add_agents() = AgentSpec("deterministic", 2, 1);
  EXPECT_THAT(CheckPolicySpec(deterministic, PolicyKind::kDeterministic).message(), HasSubstr("agents"));
}

v1::ParameterSet Exported(const v1::PolicySpec& spec, uint64_t seed) {
  std::unique_ptr<Policy> policy = Make(spec, seed);
  EXPECT_NE(policy, nullptr);
  if (policy == nullptr) return {};
  absl::StatusOr<v1::ParameterSet> params = policy->ExportParameters();
  EXPECT_TRUE(params.ok()) << params.status();
  return params.ok() ? *std::move(params) : v1::ParameterSet();
}

std::vector<std::string> Names(const v1::ParameterSet& set) {
  std::vector<std::string> names;
  for (const v1::NamedTensor& tensor : set.tensors()) names.push_back(tensor.name());
  return names;
}

TEST(TakeAgentsTest, TheTakenAgentActsAsInTheOtherPolicyAndTheRestAsInTheBase) {
  constexpr int kBatch = 16;
  const v1::ParameterSet base = Exported(RowSpec(), 1);
  const v1::ParameterSet other = Exported(RowSpec(), 2);
  absl::StatusOr<v1::ParameterSet> mixed = TakeAgents(base, other, {1});
  ASSERT_TRUE(mixed.ok()) << mixed.status();
  EXPECT_EQ(Names(*mixed), Names(base)) << "base's order";
  for (int i = 0; i < mixed->tensors_size(); ++i) {
    const v1::ParameterSet& from = i < 4 ? base : other;  // agent 0's four tensors, then agent 1's
    EXPECT_EQ(mixed->tensors(i).tensor().data(), from.tensors(i).tensor().data()) << mixed->tensors(i).name();
  }

  absl::StatusOr<std::unique_ptr<Policy>> base_policy = PolicyFromParameters(base, 1);
  absl::StatusOr<std::unique_ptr<Policy>> other_policy = PolicyFromParameters(other, 1);
  absl::StatusOr<std::unique_ptr<Policy>> mixed_policy = PolicyFromParameters(*mixed, 1);
  ASSERT_TRUE(base_policy.ok() && other_policy.ok() && mixed_policy.ok()) << mixed_policy.status();
  const std::vector<float> obs = Rows(kBatch, kRowObs, 8);
  const std::vector<float> from_base = ActDeterministic(**base_policy, obs, kBatch);
  const std::vector<float> from_other = ActDeterministic(**other_policy, obs, kBatch);
  const std::vector<float> from_mixed = ActDeterministic(**mixed_policy, obs, kBatch);
  EXPECT_NE(Slice(from_base, kRowActions, kActions0, kActions1), Slice(from_other, kRowActions, kActions0, kActions1))
      << "seeds 1 and 2 give agent 1 different networks";
  EXPECT_EQ(Slice(from_mixed, kRowActions, 0, kActions0), Slice(from_base, kRowActions, 0, kActions0));
  EXPECT_EQ(Slice(from_mixed, kRowActions, kActions0, kActions1),
            Slice(from_other, kRowActions, kActions0, kActions1));
}

TEST(TakeAgentsTest, TakingNoAgentIsTheBaseAndEveryAgentIsTheOther) {
  const v1::ParameterSet base = Exported(RowSpec(), 1);
  const v1::ParameterSet other = Exported(RowSpec(/*noise=*/0.25), 2);
  absl::StatusOr<v1::ParameterSet> none = TakeAgents(base, other, {});
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(none->SerializeAsString(), base.SerializeAsString());
  absl::StatusOr<v1::ParameterSet> all = TakeAgents(base, other, {1, 0});
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->SerializeAsString(), other.SerializeAsString()) << "tensors and each agent's noise";
}

TEST(TakeAgentsTest, RefusesSetsThatCannotTradeAgentsNamingTheProblem) {
  const v1::ParameterSet base = Exported(RowSpec(), 1);
  const v1::ParameterSet good = Exported(RowSpec(), 2);
  v1::PolicySpec wider = RowSpec();
  wider.mutable_agents(1)->set_hidden_sizes(0, 16);
  v1::PolicySpec more_obs = RowSpec();
  more_obs.mutable_agents(1)->set_obs_dim(kObs1 + 1);
  more_obs.set_obs_dim(kRowObs + 1);
  v1::PolicySpec one_agent = RowSpec();
  one_agent.mutable_agents()->RemoveLast();
  one_agent.set_obs_dim(kObs0);
  one_agent.set_action_dim(kActions0);
  one_agent.mutable_action_low()->Truncate(kActions0);
  one_agent.mutable_action_high()->Truncate(kActions0);
  v1::ParameterSet missing = good;
  missing.mutable_tensors()->RemoveLast();
  v1::ParameterSet reshaped = good;
  reshaped.mutable_tensors(5)->mutable_tensor()->mutable_shape()->Set(0, 3);
  v1::ParameterSet single = base;
  single.mutable_policy()->set_kind("deterministic");
  const struct {
    const char* what;
    v1::ParameterSet base, other;
    std::vector<int> agents;
    const char* message;
  } cases[] = {
      {"base not per_agent", single, good, {0}, "the base policy is kind 'deterministic', not per_agent"},
      {"other not per_agent", base, single, {0}, "the other policy is kind 'deterministic'"},
      {"agent counts", base, Exported(one_agent, 2), {0}, "the base policy has 2 agents but the other 1"},
      {"out of range", base, good, {2}, "agent 2 is out of range: the policies have 2 agents (0..1)"},
      {"negative", base, good, {-1}, "agent -1 is out of range"},
      {"twice", base, good, {1, 1}, "agent 1 is named twice"},
      {"hidden sizes", base, Exported(wider, 2), {1}, "agent 1's hidden_sizes is [8] in the base policy but [16]"},
      {"obs_dim", base, Exported(more_obs, 2), {1}, "agent 1's obs_dim is 5 in the base policy but 6"},
      {"missing tensor", base, missing, {1}, "agent 1: the other policy has no tensor 'agent_1.policy.layers.1.bias'"},
      {"shape", base, reshaped, {1}, "agent 1: tensor 'agent_1.policy.layers.0.bias' is [8]"},
  };
  for (const auto& c : cases) {
    absl::StatusOr<v1::ParameterSet> taken = TakeAgents(c.base, c.other, c.agents);
    EXPECT_EQ(taken.status().code(), absl::StatusCode::kInvalidArgument) << c.what;
    EXPECT_THAT(std::string(taken.status().message()), HasSubstr(c.message)) << c.what;
  }
  EXPECT_TRUE(TakeAgents(base, Exported(wider, 2), {0}).ok()) << "agent 0 is alike in both";
  EXPECT_TRUE(TakeAgents(base, missing, {0}).ok()) << "agent 0's tensors are all there";
}

TEST(PerAgentPolicyTest, KindParsesAndActsInAContinuousRow) {
  absl::StatusOr<PolicyKind> kind = ParsePolicyKind("per_agent");
  ASSERT_TRUE(kind.ok());
  EXPECT_EQ(*kind, PolicyKind::kPerAgent);
  EXPECT_FALSE(IsDiscrete(PolicyKind::kPerAgent));
  EXPECT_THAT(std::string(ParsePolicyKind("beta").status().message()), HasSubstr("per_agent"));
}

}  // namespace
}  // namespace rill::policies
