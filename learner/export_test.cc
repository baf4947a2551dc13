// Every policy kind exported as TorchScript runs under torch::jit::load,
// with no Rill code, and gives the policy class's deterministic action in
// env units (or its action index).
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "envs/observation.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "learner/torch_policy.h"
#include "learner/networks.h"
#include "policies/registry.h"
#include "policies/spec.h"
#include "policies/torso.h"
#include "torch/script.h"

namespace rill::learner {
namespace {

using ::testing::HasSubstr;

v1::PolicySpec Spec(const std::string& kind, int obs_dim, int action_dim) {
  v1::PolicySpec spec;
  spec.set_kind(kind);
  spec.set_obs_dim(obs_dim);
  spec.set_action_dim(action_dim);
  spec.add_hidden_sizes(16);
  spec.add_hidden_sizes(8);
  spec.set_exploration_noise(0.1);
  if (kind != "categorical") {
    for (int i = 0; i < action_dim; ++i) {
      spec.add_action_low(-2.f - i);  // asymmetric in the last dimension below
      spec.add_action_high(i == action_dim - 1 ? 0.5f : 2.f + i);
    }
  }
  return spec;
}

std::string Path(const std::string& name) { return std::string(std::getenv("TEST_TMPDIR")) + "/" + name; }

// The policy's deterministic action, mapped to env units as the actor does.
torch::Tensor EnvUnits(const v1::PolicySpec& spec, const torch::Tensor& a) {
  torch::Tensor low = torch::tensor(std::vector<float>(spec.action_low().begin(), spec.action_low().end()));
  torch::Tensor high = torch::tensor(std::vector<float>(spec.action_high().begin(), spec.action_high().end()));
  return low + (a + 1) * 0.5 * (high - low);
}

class ExportTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ExportTest, LoadedModuleGivesThePolicysDeterministicActions) {
  const v1::PolicySpec spec = Spec(GetParam(), 5, 3);
  std::unique_ptr<policies::Policy> policy = *policies::MakePolicy(spec, /*seed=*/11);
  const std::string path = Path(GetParam() + ".pt");
  ASSERT_TRUE(ExportTorchScript(*policy->ExportParameters(), path).ok());

  torch::jit::Module module = torch::jit::load(path);
  const torch::Tensor obs = torch::randn({64, 5});
  const torch::Tensor scripted = module.forward({obs}).toTensor();
  const torch::Tensor expected = Act(*policy, obs, /*deterministic=*/true);
  if (GetParam() == "categorical") {
    EXPECT_EQ(scripted.scalar_type(), torch::kInt64);
    EXPECT_TRUE(torch::equal(scripted, expected));
  } else {
    EXPECT_EQ(scripted.scalar_type(), torch::kFloat32);
    ASSERT_EQ(scripted.sizes(), (std::vector<int64_t>{64, 3}));
    EXPECT_TRUE(torch::allclose(scripted, EnvUnits(spec, expected), 1e-5, 1e-6));
    EXPECT_LE(scripted.select(1, 2).max().item<float>(), 0.5f);
  }
}

// GELU hidden layers (PolicySpec.activation) export as torch.gelu, the
// exact one the actors and the learner compute.
TEST_P(ExportTest, GeluPolicyExportsItsActivation) {
  v1::PolicySpec spec = Spec(GetParam(), 5, 3);
  spec.set_activation(v1::GELU);
  std::unique_ptr<policies::Policy> policy = *policies::MakePolicy(spec, /*seed=*/11);
  const std::string path = Path(GetParam() + "-gelu.pt");
  ASSERT_TRUE(ExportTorchScript(*policy->ExportParameters(), path).ok());
  const torch::Tensor obs = torch::randn({64, 5}) * 2;
  const torch::Tensor scripted = torch::jit::load(path).forward({obs}).toTensor();
  const torch::Tensor expected = Act(*policy, obs, /*deterministic=*/true);
  if (GetParam() == "categorical") {
    EXPECT_TRUE(torch::equal(scripted, expected));
  } else {
    EXPECT_TRUE(torch::allclose(scripted, EnvUnits(spec, expected), 1e-5, 1e-5));
  }
  // The ReLU network of the same parameters acts otherwise.
  v1::ParameterSet relu = *policy->ExportParameters();
  relu.mutable_policy()->set_activation(v1::RELU);
  const torch::Tensor relu_actions = Act(**policies::PolicyFromParameters(relu, 11), obs, true);
  EXPECT_FALSE(torch::equal(relu_actions, expected));
}

// A joint row's agents (per_agent, MADDPG's): the module acts as the
// policy does, a one-hot for the discrete agent, the row's bounds for the
// continuous one, with one observation too.
void ExpectPerAgentModuleActsAsThePolicy(bool masked) {
  v1::PolicySpec joint;
  joint.set_kind("per_agent");
  *joint.add_agents() = Spec("categorical", 4, 3);
  joint.mutable_agents(0)->set_action_mask(masked);
  *joint.add_agents() = Spec("deterministic", 5, 2);
  joint.set_obs_dim(9);
  joint.set_action_dim(5);
  for (int k = 0; k < 5; ++k) {
    joint.add_action_low(k < 3 ? -1.f : joint.agents(1).action_low(k - 3));
    joint.add_action_high(k < 3 ? 1.f : joint.agents(1).action_high(k - 3));
  }
  absl::StatusOr<std::unique_ptr<policies::Policy>> policy = policies::MakePolicy(joint, /*seed=*/5);
  ASSERT_TRUE(policy.ok()) << policy.status();
  const std::string path = Path(masked ? "per-agent-masked.pt" : "per-agent.pt");
  absl::Status exported = ExportTorchScript(*(*policy)->ExportParameters(), path);
  ASSERT_TRUE(exported.ok()) << exported;
  torch::jit::Module module = torch::jit::load(path);
  torch::Tensor obs = torch::randn({32, 9}) * 2;
  // A mask of 0s and 1s, each row allowing something: the last 3 of the
  // discrete agent's 4.
  if (masked) obs.narrow(1, 1, 3).copy_((torch::rand({32, 3}) < 0.5).to(torch::kFloat32)).select(1, 2).fill_(1);
  const torch::Tensor scripted = module.forward({obs}).toTensor();
  const torch::Tensor expected = EnvUnits(joint, Act(**policy, obs, /*deterministic=*/true));
  ASSERT_EQ(scripted.sizes(), (std::vector<int64_t>{32, 5}));
  EXPECT_TRUE(torch::allclose(scripted, expected, 1e-5, 1e-5));
  EXPECT_TRUE(torch::equal(scripted.narrow(1, 0, 3).sum(1), torch::ones({32})));  // one-hots
  if (masked) {
    const torch::Tensor chosen = scripted.narrow(1, 0, 3).argmax(1);
    const torch::Tensor allowed = obs.narrow(1, 1, 3).gather(1, chosen.unsqueeze(1)).squeeze(1);
    EXPECT_TRUE(torch::equal(allowed, torch::ones({32}))) << "every chosen action is one its mask allows";
  }
  EXPECT_TRUE(torch::allclose(module.forward({obs[3]}).toTensor(), expected[3], 1e-5, 1e-5));
}

TEST(ExportTest, PerAgentModuleActsAsTheJointPolicy) {
  for (const bool masked : {false, true}) {
    SCOPED_TRACE(masked ? "the discrete agent's observation ends in its action mask" : "no mask");
    ExpectPerAgentModuleActsAsThePolicy(masked);
  }
}

// What a Gymnasium env hands over goes in as it is: numpy's float64, and
// one observation [obs_dim] rather than a batch, whose action comes back
// without the batch dimension. Both act as the float32 batch does.
TEST_P(ExportTest, Float64AndSingleObservationsActAsTheFloat32Batch) {
  std::unique_ptr<policies::Policy> policy = *policies::MakePolicy(Spec(GetParam(), 5, 3), /*seed=*/11);
  const std::string path = Path(GetParam() + "-inputs.pt");
  ASSERT_TRUE(ExportTorchScript(*policy->ExportParameters(), path).ok());
  torch::jit::Module module = torch::jit::load(path);

  const torch::Tensor obs = torch::randn({16, 5});
  const torch::Tensor batch = module.forward({obs}).toTensor();
  EXPECT_TRUE(torch::equal(module.forward({obs.to(torch::kFloat64)}).toTensor(), batch));
  for (int64_t row : {0, 7, 15}) {
    const torch::Tensor single = module.forward({obs[row]}).toTensor();
    ASSERT_EQ(single.sizes(), batch[row].sizes()) << "row " << row;
    EXPECT_TRUE(torch::equal(single, batch[row])) << "row " << row;
    EXPECT_TRUE(torch::equal(module.forward({obs[row].to(torch::kFloat64)}).toTensor(), batch[row])) << "row " << row;
  }
}

// A wrong shape or an integer tensor is refused with the shapes the policy
// takes and the one it got.
TEST_P(ExportTest, WrongShapeOrDtypeIsRefusedNamingTheExpectedShape) {
  std::unique_ptr<policies::Policy> policy = *policies::MakePolicy(Spec(GetParam(), 5, 3), /*seed=*/11);
  const std::string path = Path(GetParam() + "-refused.pt");
  ASSERT_TRUE(ExportTorchScript(*policy->ExportParameters(), path).ok());
  torch::jit::Module module = torch::jit::load(path);
  const std::vector<std::pair<torch::Tensor, std::string>> refused = {
      {torch::randn({8, 6}), "takes observations [B, 5] or [5]; got [8, 6]"},
      {torch::randn({4}), "takes observations [B, 5] or [5]; got [4]"},
      {torch::randn({2, 8, 5}), "takes observations [B, 5] or [5]; got [2, 8, 5]"},
      {torch::ones({8, 5}, torch::kInt64), "takes float observations [B, 5] or [5]"},
  };
  for (const auto& [obs, message] : refused) {
    try {
      module.forward({obs});
      ADD_FAILURE() << "observations " << obs.sizes() << " of " << obs.dtype() << " were accepted";
    } catch (const std::exception& e) {
      EXPECT_THAT(e.what(), HasSubstr(message));
    }
  }
}

// A policy whose spec normalises observations acts on
// clip((obs - mean) / std, -clip, clip) with the mean and std of its
// parameter set, in C++ and in the exported module alike.
TEST_P(ExportTest, NormalizingPolicyActsOnNormalizedObservations) {
  const v1::PolicySpec plain_spec = Spec(GetParam(), 5, 3);
  std::unique_ptr<policies::Policy> plain = *policies::MakePolicy(plain_spec, /*seed=*/11);
  v1::ParameterSet params = *plain->ExportParameters();
  const torch::Tensor mean = torch::tensor({1.0f, -2.0f, 0.0f, 30.0f, 0.5f});
  const torch::Tensor std = torch::tensor({0.5f, 2.0f, 1.0f, 10.0f, 0.01f});
  v1::NamedTensor* mean_tensor = params.add_tensors();
  v1::NamedTensor* std_tensor = params.add_tensors();
  *mean_tensor = (*ToParameterSet({{policies::kObsNormMeanName, mean}})).tensors(0);
  *std_tensor = (*ToParameterSet({{policies::kObsNormStdName, std}})).tensors(0);
  params.mutable_policy()->set_observation_clip(4);
  absl::StatusOr<std::unique_ptr<policies::Policy>> normalizing = policies::PolicyFromParameters(params, /*seed=*/11);
  ASSERT_TRUE(normalizing.ok()) << normalizing.status();

  const torch::Tensor obs = torch::randn({64, 5}) * 20;  // far outside: the clip matters
  const torch::Tensor expected = Act(*plain, ((obs - mean) / std).clamp(-4, 4), /*deterministic=*/true);
  const torch::Tensor acted = Act(**normalizing, obs, /*deterministic=*/true);
  EXPECT_TRUE(torch::allclose(acted.to(torch::kFloat32), expected.to(torch::kFloat32), 1e-5, 1e-6));

  // Exported parameters round-trip with the statistics, and the module agrees.
  v1::ParameterSet exported = *(*normalizing)->ExportParameters();
  EXPECT_EQ(exported.tensors(exported.tensors_size() - 1).name(), policies::kObsNormStdName);
  const std::string path = Path(GetParam() + "-normalized.pt");
  ASSERT_TRUE(ExportTorchScript(exported, path).ok());
  const torch::Tensor scripted = torch::jit::load(path).forward({obs}).toTensor();
  if (GetParam() == "categorical") {
    EXPECT_TRUE(torch::equal(scripted, expected));
  } else {
    EXPECT_TRUE(torch::allclose(scripted, EnvUnits(plain_spec, expected), 1e-5, 1e-5));
  }

  // A set that says it normalises but lacks the statistics is refused.
  v1::ParameterSet missing = *plain->ExportParameters();
  missing.mutable_policy()->set_observation_clip(4);
  EXPECT_THAT(policies::PolicyFromParameters(missing, 1).status().message(), HasSubstr("expected"));
}

INSTANTIATE_TEST_SUITE_P(EveryKind, ExportTest, ::testing::Values("gaussian", "deterministic", "categorical"));

// A recurrent policy (lstm_size > 0, here behind a normaliser) exports to
// forward(obs, state) -> (action, new state): stepped several times with
// its state carried, and one row zeroed as at an episode's start, the
// module gives the actions and states of the policy's deterministic Act
// carrying its own. A state of the wrong shape is refused by name.
class RecurrentExportTest : public ::testing::TestWithParam<std::string> {};

TEST_P(RecurrentExportTest, LoadedModuleStepsAsThePolicyCarryingItsState) {
  constexpr int kLstmSize = 6;
  constexpr int64_t kBatch = 8;
  v1::PolicySpec spec = Spec(GetParam(), 5, 3);
  spec.set_lstm_size(kLstmSize);
  spec.set_observation_clip(4);
  v1::ParameterSet params = *(*policies::MakePolicy(spec, /*seed=*/13))->ExportParameters();
  const int n = params.tensors_size();
  ASSERT_EQ(params.tensors(n - 4).name(), "policy.head.weight");
  const torch::Tensor mean = torch::tensor({1.f, -2.f, 0.f, 3.f, .5f});
  const torch::Tensor std = torch::tensor({.5f, 2.f, 1.f, 4.f, .1f});
  *params.mutable_tensors(n - 2) = (*ToParameterSet({{policies::kObsNormMeanName, mean}})).tensors(0);
  *params.mutable_tensors(n - 1) = (*ToParameterSet({{policies::kObsNormStdName, std}})).tensors(0);
  absl::StatusOr<std::unique_ptr<policies::Policy>> policy = policies::PolicyFromParameters(params, /*seed=*/13);
  ASSERT_TRUE(policy.ok()) << policy.status();
  const std::string path = Path(GetParam() + "-recurrent.pt");
  absl::Status exported = ExportTorchScript(params, path);
  ASSERT_TRUE(exported.ok()) << exported;
  torch::jit::Module module = torch::jit::load(path);

  torch::manual_seed(5);
  std::vector<float> state(kBatch * 2 * kLstmSize, 0.f);
  (*policy)->set_state(state.data());
  const torch::Tensor policy_state = torch::from_blob(state.data(), {kBatch, 2 * kLstmSize}, torch::kFloat32);
  torch::Tensor module_state = torch::zeros({kBatch, 2 * kLstmSize});
  for (int t = 0; t < 6; ++t) {
    if (t == 4) {  // row 2's episode ends
      policy_state[2].zero_();
      module_state[2].zero_();
    }
    const torch::Tensor obs = torch::randn({kBatch, 5}) * 3;
    const torch::Tensor expected = Act(**policy, obs, /*deterministic=*/true);
    const c10::intrusive_ptr<c10::ivalue::Tuple> result = module.forward({obs, module_state}).toTuple();
    ASSERT_EQ(result->elements().size(), 2u);
    const torch::Tensor scripted = result->elements()[0].toTensor();
    module_state = result->elements()[1].toTensor();
    ASSERT_EQ(module_state.sizes(), (std::vector<int64_t>{kBatch, 2 * kLstmSize}));
    EXPECT_TRUE(torch::allclose(module_state, policy_state, 1e-5, 1e-5)) << "step " << t;
    EXPECT_GT(module_state.abs().max().item<float>(), 0.f);
    if (GetParam() == "categorical") {
      EXPECT_EQ(scripted.scalar_type(), torch::kInt64);
      EXPECT_TRUE(torch::equal(scripted, expected)) << "step " << t;
    } else {
      ASSERT_EQ(scripted.sizes(), (std::vector<int64_t>{kBatch, 3}));
      EXPECT_TRUE(torch::allclose(scripted, EnvUnits(spec, expected), 1e-5, 1e-5)) << "step " << t;
    }
  }

  try {
    module.forward({torch::randn({kBatch, 5}), torch::zeros({kBatch, 2 * kLstmSize - 1})});
    ADD_FAILURE() << "a state of the wrong shape was accepted";
  } catch (const std::exception& e) {
    EXPECT_THAT(e.what(), HasSubstr("core state [B, 12]"));
  }
}

// One observation [obs_dim] with its state [2N] steps as its row of the
// batch does, and gives its action and new state without the batch
// dimension.
TEST_P(RecurrentExportTest, OneObservationWithItsStateStepsAsItsBatchRow) {
  constexpr int kLstmSize = 6;
  v1::PolicySpec spec = Spec(GetParam(), 5, 3);
  spec.set_lstm_size(kLstmSize);
  const std::string path = Path(GetParam() + "-recurrent-single.pt");
  ASSERT_TRUE(ExportTorchScript(*(*policies::MakePolicy(spec, /*seed=*/13))->ExportParameters(), path).ok());
  torch::jit::Module module = torch::jit::load(path);

  const torch::Tensor obs = torch::randn({4, 5}) * 3;
  const torch::Tensor state = torch::randn({4, 2 * kLstmSize}) * 0.5;
  const auto batch = module.forward({obs, state}).toTuple();
  for (int64_t row = 0; row < 4; ++row) {
    const auto single = module.forward({obs[row].to(torch::kFloat64), state[row]}).toTuple();
    const torch::Tensor action = single->elements()[0].toTensor();
    const torch::Tensor new_state = single->elements()[1].toTensor();
    ASSERT_EQ(action.sizes(), batch->elements()[0].toTensor()[row].sizes()) << "row " << row;
    ASSERT_EQ(new_state.sizes(), (std::vector<int64_t>{2 * kLstmSize})) << "row " << row;
    EXPECT_TRUE(torch::allclose(action.to(torch::kFloat32), batch->elements()[0].toTensor()[row].to(torch::kFloat32),
                                1e-6, 1e-6))
        << "row " << row;
    EXPECT_TRUE(torch::allclose(new_state, batch->elements()[1].toTensor()[row], 1e-6, 1e-6)) << "row " << row;
  }
}

INSTANTIATE_TEST_SUITE_P(EveryKind, RecurrentExportTest, ::testing::Values("gaussian", "deterministic", "categorical"));

// An image policy (uint8 [C, H, W] observations through a conv torso)
// exports to a module that takes uint8 images [B, C, H, W] (or one image
// [C, H, W], whose action comes back alone), scales them by 1/255 as the
// actors do, and acts as the policy; /usr/bin/python3's torch.jit.load
// runs it to the same actions. Float input and images of another size are
// refused by name.
TEST(ExportTest, ImagePolicyTakesUint8ImagesInCppAndPython) {
  struct Case {
    std::vector<v1::TorsoLayer> torso;
    std::vector<int64_t> shape;
  };
  int index = 0;
  for (const Case& c : {Case{policies::MinAtarCnnLayers(), {4, 10, 10}}, Case{policies::ImpalaResnetLayers(), {3, 20, 20}}}) {
    envs::EnvSpec env;
    env.name = "image";
    env.observation_shape = c.shape;
    env.observation_type = envs::ObservationType::kUint8;
    env.discrete = true;
    env.num_actions = 5;
    v1::PolicySpec spec = policies::PolicySpecFor("categorical", env, {32});
    ASSERT_TRUE(policies::SetTorso(env, c.torso, &spec).ok());
    std::unique_ptr<policies::Policy> policy = *policies::MakePolicy(spec, /*seed=*/3);
    const std::string path = Path(absl::StrCat("image", index++, ".pt"));
    absl::Status exported = ExportTorchScript(*policy->ExportParameters(), path);
    ASSERT_TRUE(exported.ok()) << exported;

    torch::manual_seed(index);
    std::vector<int64_t> batch_shape = {32};
    batch_shape.insert(batch_shape.end(), c.shape.begin(), c.shape.end());
    const torch::Tensor images = torch::randint(0, 256, batch_shape, torch::kUInt8);
    const torch::Tensor expected =
        Act(*policy, images.reshape({32, -1}).to(torch::kFloat32) * envs::kUint8ObservationScale, true);
    torch::jit::Module module = torch::jit::load(path);
    const torch::Tensor scripted = module.forward({images}).toTensor();
    EXPECT_TRUE(torch::equal(scripted, expected)) << "torso " << index;
    // One image [C, H, W] gives its action alone, as a 0-d index.
    EXPECT_TRUE(torch::equal(module.forward({images[0]}).toTensor(), expected[0]));
    try {
      module.forward({images.to(torch::kFloat32)});
      ADD_FAILURE() << "float input was accepted";
    } catch (const std::exception& e) {
      EXPECT_THAT(e.what(), HasSubstr("takes uint8 observations"));
    }
    try {
      module.forward({images.narrow(2, 0, 5)});
      ADD_FAILURE() << "images of another size were accepted";
    } catch (const std::exception& e) {
      const std::string shape = absl::StrJoin(c.shape, ", ");
      EXPECT_THAT(e.what(), HasSubstr(absl::StrCat("takes observations [B, ", shape, "] or [", shape, "]")));
    }

    // The same module in Python, with no Rill code.
    const std::string raw = Path(absl::StrCat("images", index, ".bin"));
    const std::string out = Path(absl::StrCat("actions", index, ".txt"));
    {
      std::FILE* file = std::fopen(raw.c_str(), "wb");
      ASSERT_NE(file, nullptr);
      std::fwrite(images.data_ptr<uint8_t>(), 1, images.numel(), file);
      std::fclose(file);
    }
    const std::string script = absl::StrCat(
        "import numpy, torch\n", "x = numpy.fromfile('", raw, "', dtype=numpy.uint8).reshape(", 32, ", ",
        absl::StrJoin(c.shape, ", "), ")\n", "a = torch.jit.load('", path, "')(torch.from_numpy(x))\n",
        "open('", out, "', 'w').write(' '.join(str(int(v)) for v in a))\n");
    const std::string command = absl::StrCat("/usr/bin/python3 -c \"", script, "\"");
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
    std::ifstream actions(out);
    for (int64_t r = 0; r < 32; ++r) {
      int64_t action = -1;
      actions >> action;
      EXPECT_EQ(action, expected[r].item<int64_t>()) << "python, row " << r;
    }
  }
}

// A masked categorical policy (PolicySpec.action_mask): the module reads
// the mask from the observation's last elements as the actors do, so its
// action is the policy's and never a forbidden one.
TEST(ExportTest, MaskedCategoricalModuleActsAsThePolicyAndHonoursTheMask) {
  v1::PolicySpec spec = Spec("categorical", 8, 3);
  spec.set_action_mask(true);
  std::unique_ptr<policies::Policy> policy = *policies::MakePolicy(spec, /*seed=*/11);
  const std::string path = Path("categorical-masked.pt");
  ASSERT_TRUE(ExportTorchScript(*policy->ExportParameters(), path).ok());
  // Masks of one or two allowed actions, every pattern in turn.
  const torch::Tensor patterns = torch::tensor({1.f, 0.f, 0.f, 0.f, 1.f, 0.f, 0.f, 0.f, 1.f, 1.f, 1.f, 0.f, 0.f, 1.f, 1.f, 1.f, 0.f, 1.f}).view({6, 3});
  torch::Tensor obs = torch::randn({600, 8});
  obs.narrow(1, 5, 3).copy_(patterns.repeat({100, 1}));
  const torch::Tensor scripted = torch::jit::load(path).forward({obs}).toTensor();
  EXPECT_TRUE(torch::equal(scripted, Act(*policy, obs, /*deterministic=*/true)));
  const torch::Tensor chosen_allowed = obs.narrow(1, 5, 3).gather(1, scripted.unsqueeze(1));
  EXPECT_TRUE(chosen_allowed.eq(1).all().item<bool>());
}

TEST(ExportTest, MaskLogitsSetsForbiddenActionsToTheMaskedLogit) {
  const torch::Tensor logits = torch::tensor({0.5f, 2.f, -1.f, 3.f, 0.f, 1.f}).view({2, 3});
  const torch::Tensor obs = torch::tensor({9.f, 1.f, 0.f, 1.f, 9.f, 0.f, 0.f, 1.f}).view({2, 4});
  const torch::Tensor masked = MaskLogits(logits, obs);
  const float m = policies::kMaskedLogit;
  EXPECT_TRUE(torch::equal(masked, torch::tensor({0.5f, m, -1.f, m, m, 1.f}).view({2, 3})));
  // Softmax gives the forbidden actions exactly nothing, and p log p stays finite.
  const torch::Tensor log_p = torch::log_softmax(masked, 1);
  EXPECT_EQ(log_p.exp()[0][1].item<float>(), 0.f);
  EXPECT_TRUE(torch::isfinite((log_p.exp() * log_p).sum()).item<bool>());
}

TEST(ExportTest, UnknownKindIsRefusedNamingIt) {
  v1::ParameterSet params;
  params.mutable_policy()->set_kind("beta");
  absl::Status status = ExportTorchScript(params, Path("beta.pt"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("beta"));
}

TEST(ExportTest, ParametersOfAnotherShapeAreRefusedNamingTheTensor) {
  std::unique_ptr<policies::Policy> policy = *policies::MakePolicy(Spec("gaussian", 5, 3), 1);
  v1::ParameterSet params = *policy->ExportParameters();
  params.mutable_policy()->set_obs_dim(6);
  absl::Status status = ExportTorchScript(params, Path("wrong.pt"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("policy.layers.0.weight"));
}

TEST(ExportTest, MissingBoundsAreRefusedNamingTheField) {
  v1::PolicySpec spec = Spec("deterministic", 5, 3);
  spec.clear_action_high();
  EXPECT_THAT(policies::MakePolicy(spec, 1).status().message(), HasSubstr("action_low"));
}

}  // namespace
}  // namespace rill::learner
