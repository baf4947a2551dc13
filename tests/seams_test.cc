// The learner-and-actor seams across real processes: a table whose columns
// are declared in another order than the derived one is filled and read by
// name (the items in replay are exactly what the env produced), a learner
// trains on it, and its checkpoint exports a TorchScript policy that C++
// (torch::jit::load) and Python (torch.jit.load) both run with no Rill code.
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "replay/client/sampler.h"
#include "tests/harness.h"
#include "torch/script.h"
#include "torch/torch.h"

namespace rill::testing {
namespace {

constexpr char kConfig[] = "--config=tests/configs/tiny_pendulum_shuffled.textpb";
constexpr double kGamma = 0.9;  // the config's learner.gamma

// The float32 values of column `name` of a sampled batch.
std::vector<float> Column(const v1::SampleResponse& batch, const v1::Signature& signature, const std::string& name) {
  for (int i = 0; i < signature.columns_size(); ++i) {
    if (signature.columns(i).name() != name) continue;
    const std::string& data = batch.columns(i).data();
    std::vector<float> values(data.size() / sizeof(float));
    std::memcpy(values.data(), data.data(), data.size());
    return values;
  }
  ADD_FAILURE() << "no column " << name;
  return {};
}

// Gymnasium's Pendulum-v1 step from an observation (cos th, sin th, thdot)
// and a torque: the reward and the next observation.
std::pair<double, std::array<double, 3>> PendulumStep(const float* obs, double torque) {
  const double th = std::atan2(obs[1], obs[0]);  // already in [-pi, pi]
  const double thdot = obs[2];
  const double u = std::clamp(torque, -2.0, 2.0);
  const double cost = th * th + 0.1 * thdot * thdot + 0.001 * u * u;
  const double new_thdot = std::clamp(thdot + (3 * 10.0 / 2 * std::sin(th) + 3.0 * u) * 0.05, -8.0, 8.0);
  const double new_th = th + new_thdot * 0.05;
  return {-cost, {std::cos(new_th), std::sin(new_th), new_thdot}};
}

TEST(SeamsTest, ShuffledColumnsHoldWhatTheEnvProducedAndTheExportedPolicyRunsInCppAndPython) {
  absl::StatusOr<RoleProcess> replay = StartRole("replay", {"replay", kConfig});
  ASSERT_TRUE(replay.ok()) << replay.status();
  const std::string checkpoints = TempDir("seams-checkpoints");
  absl::StatusOr<RoleProcess> learner = StartRole(
      "learner", {"learner", kConfig, "--replay_address=" + replay->address(), "--checkpoint_dir=" + checkpoints});
  ASSERT_TRUE(learner.ok()) << learner.status();
  absl::StatusOr<RoleProcess> actor =
      StartRole("actor", {"actor", kConfig, "--actor_id=0", "--replay_address=" + replay->address(),
                          "--learner_address=" + learner->address()});
  ASSERT_TRUE(actor.ok()) << actor.status();
  ASSERT_TRUE(WaitUntil([&] { return SumMetric(learner->Metrics(), "rill_learner_updates_total") >= 100; },
                        absl::Seconds(60)))
      << "the learner did not make 100 updates on the shuffled table\n"
      << learner->process->LogTail(10);
  // The learner's statistics are exported by name.
  const MetricSamples learner_metrics = learner->Metrics();
  EXPECT_TRUE(learner_metrics.count("rill_learner_loss{name=\"critic\"}") > 0);

  // Sample straight from the shard and replay every item's step on Pendulum.
  const v1::Signature signature = [] {
    v1::Signature s;
    for (const char* name : {"next_obs", "discount", "reward", "action", "terminated", "obs"}) {
      s.add_columns()->set_name(name);
    }
    return s;
  }();
  replay::SamplerOptions options;
  options.addresses = {replay->address()};
  options.table = "transitions";
  options.batch_size = 64;
  options.prefetch_batches = 1;
  absl::StatusOr<std::unique_ptr<replay::ReplaySampler>> sampler = replay::ReplaySampler::Create(options);
  ASSERT_TRUE(sampler.ok()) << sampler.status();
  absl::StatusOr<std::unique_ptr<v1::SampleResponse>> batch = (*sampler)->Next(absl::Seconds(20));
  ASSERT_TRUE(batch.ok()) << batch.status();
  (*sampler)->Close();
  const std::vector<float> obs = Column(**batch, signature, "obs");
  const std::vector<float> action = Column(**batch, signature, "action");
  const std::vector<float> reward = Column(**batch, signature, "reward");
  const std::vector<float> terminated = Column(**batch, signature, "terminated");
  const std::vector<float> next_obs = Column(**batch, signature, "next_obs");
  const std::vector<float> discount = Column(**batch, signature, "discount");
  ASSERT_EQ(obs.size(), 64u * 3);
  ASSERT_EQ(action.size(), 64u);
  for (int i = 0; i < 64; ++i) {
    SCOPED_TRACE(absl::StrCat("item ", i));
    ASSERT_GE(action[i], -1.f);
    ASSERT_LE(action[i], 1.f);
    // The policy acts in [-1, 1]; Pendulum's torque is 2 * action.
    const auto [expected_reward, expected_next] = PendulumStep(&obs[3 * i], 2.0 * action[i]);
    EXPECT_NEAR(reward[i], expected_reward, 1e-4);
    for (int j = 0; j < 3; ++j) EXPECT_NEAR(next_obs[3 * i + j], expected_next[j], 1e-4);
    EXPECT_EQ(terminated[i], 0.f);  // Pendulum never terminates
    EXPECT_NEAR(discount[i], kGamma, 1e-6);
  }

  for (RoleProcess* role : {&*actor, &*learner, &*replay}) {
    const int status = role->process->Stop(absl::Seconds(30));
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << role->process->name() << ": " << ChildProcess::DescribeStatus(status) << "\n"
        << role->process->LogTail(10);
  }

  // rill export: the final checkpoint's deterministic policy as TorchScript.
  const std::string policy = TempDir("seams-export") + "/policy.pt";
  auto exporter = ChildProcess::Start("export", RillBinary(),
                                             {"export", "--checkpoint_dir=" + checkpoints, "--out=" + policy},
                                             TempDir("seams-export-log") + "/out.log");
  ASSERT_TRUE(exporter.ok()) << exporter.status();
  std::optional<int> exported = (*exporter)->WaitExit(absl::Seconds(60));
  ASSERT_TRUE(exported.has_value() && WIFEXITED(*exported) && WEXITSTATUS(*exported) == 0) << (*exporter)->LogTail(10);
  EXPECT_THAT((*exporter)->LogTail(5), ::testing::HasSubstr("deterministic policy"));

  // C++: torch::jit::load, no Rill code involved.
  const std::vector<std::vector<float>> observations = {{1, 0, 0}, {0, 1, -3}, {-1, 0, 5}};
  torch::jit::Module module = torch::jit::load(policy);
  std::vector<float> flat;
  for (const auto& o : observations) flat.insert(flat.end(), o.begin(), o.end());
  const torch::Tensor cpp = module.forward({torch::tensor(flat).view({3, 3})}).toTensor();
  ASSERT_EQ(cpp.sizes(), (std::vector<int64_t>{3, 1}));
  EXPECT_LE(cpp.abs().max().item<float>(), 2.f);

  // Python: torch.jit.load, docs/trained-policy.md's two lines.
  const std::string out = TempDir("seams-python") + "/actions.txt";
  const std::string script = absl::StrCat(
      "import torch\n"
      "policy = torch.jit.load('", policy, "')\n",
      "actions = policy(torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, -3.0], [-1.0, 0.0, 5.0]]))\n"
      "open('", out, "', 'w').write(' '.join(repr(float(a)) for a in actions.flatten()))\n");
  auto python = ChildProcess::Start("python", "/usr/bin/python3", {"-c", script},
                                           TempDir("seams-python-log") + "/out.log");
  ASSERT_TRUE(python.ok()) << python.status();
  std::optional<int> ran = (*python)->WaitExit(absl::Seconds(120));
  ASSERT_TRUE(ran.has_value() && WIFEXITED(*ran) && WEXITSTATUS(*ran) == 0) << (*python)->LogTail(20);
  const std::vector<std::string> values = absl::StrSplit(ReadFile(out), ' ', absl::SkipEmpty());
  ASSERT_EQ(values.size(), 3u) << ReadFile(out);
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(std::stod(values[i]), cpp[i][0].item<float>(), 1e-5) << "row " << i;

  // rill export to a .onnx file: ONNX, which onnx.checker accepts with the
  // signature the export printed (tests/onnx/run.sh runs such models under
  // ONNX Runtime against this forward).
  const std::string onnx = TempDir("seams-onnx") + "/policy.onnx";
  auto onnx_exporter = ChildProcess::Start(
      "export-onnx", RillBinary(), {"export", "--checkpoint_dir=" + checkpoints, "--out=" + onnx},
      TempDir("seams-onnx-log") + "/out.log");
  ASSERT_TRUE(onnx_exporter.ok()) << onnx_exporter.status();
  exported = (*onnx_exporter)->WaitExit(absl::Seconds(60));
  ASSERT_TRUE(exported.has_value() && WIFEXITED(*exported) && WEXITSTATUS(*exported) == 0)
      << (*onnx_exporter)->LogTail(10);
  EXPECT_THAT((*onnx_exporter)->LogTail(5),
              ::testing::HasSubstr("ONNX (opset 17) deterministic policy, obs float32 [batch, 3] -> action float32 "
                                   "[batch, 1]"));
  const std::string checked = TempDir("seams-onnx-check") + "/checked.txt";
  const std::string check = absl::StrCat(
      "import onnx\n"
      "model = onnx.load('", onnx, "')\n",
      "onnx.checker.check_model(model, full_check=True)\n"
      "shape = lambda v: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]\n"
      "open('", checked, "', 'w').write(' '.join(v.name + str(shape(v)) for v in list(model.graph.input) + "
      "list(model.graph.output)))\n");
  auto checker = ChildProcess::Start("onnx-checker", "/usr/bin/python3", {"-c", check},
                                     TempDir("seams-onnx-check-log") + "/out.log");
  ASSERT_TRUE(checker.ok()) << checker.status();
  ran = (*checker)->WaitExit(absl::Seconds(120));
  ASSERT_TRUE(ran.has_value() && WIFEXITED(*ran) && WEXITSTATUS(*ran) == 0) << (*checker)->LogTail(20);
  EXPECT_EQ(ReadFile(checked), "obs['batch', 3] action['batch', 1]");

  // A format it does not write is refused by name, and writes nothing.
  const std::string refused_path = TempDir("seams-refused") + "/policy.tflite";
  auto refused = ChildProcess::Start(
      "export-refused", RillBinary(),
      {"export", "--checkpoint_dir=" + checkpoints, "--out=" + refused_path, "--format=tflite"},
      TempDir("seams-refused-log") + "/out.log");
  ASSERT_TRUE(refused.ok()) << refused.status();
  exported = (*refused)->WaitExit(absl::Seconds(60));
  ASSERT_TRUE(exported.has_value() && WIFEXITED(*exported));
  EXPECT_EQ(WEXITSTATUS(*exported), 2);
  EXPECT_THAT((*refused)->LogTail(5), ::testing::HasSubstr("--format=tflite is unknown (known: torchscript, onnx)"));
  EXPECT_FALSE(std::filesystem::exists(refused_path));
}

}  // namespace
}  // namespace rill::testing
