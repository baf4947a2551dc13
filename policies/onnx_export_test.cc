// The ONNX model's form: its signature per policy kind, every parameter
// written once with its bytes, a graph whose every input is defined before
// it is read, and refusals named. What the model computes is checked by
// tests/onnx/run.sh, which runs it under ONNX Runtime against the actors'
// forward and the TorchScript export.
#include "policies/onnx_export.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policies/registry.h"
#include "policies/spec.h"

namespace rill::policies {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

v1::PolicySpec Spec(const std::string& kind, int obs_dim, int action_dim) {
  v1::PolicySpec spec;
  spec.set_kind(kind);
  spec.set_obs_dim(obs_dim);
  spec.set_action_dim(action_dim);
  spec.add_hidden_sizes(16);
  spec.add_hidden_sizes(8);
  if (kind != "categorical") {
    for (int i = 0; i < action_dim; ++i) {
      spec.add_action_low(-1.f - i);
      spec.add_action_high(2.f);
    }
  }
  return spec;
}

v1::ParameterSet Parameters(const v1::PolicySpec& spec) {
  absl::StatusOr<std::unique_ptr<Policy>> policy = MakePolicy(spec, /*seed=*/3);
  EXPECT_TRUE(policy.ok()) << policy.status();
  return *(*policy)->ExportParameters();
}

// "name: elem [d0, d1, ...]" of a graph input or output, "batch" for the
// symbolic dimension.
std::string Describe(const onnx::ValueInfoProto& value) {
  std::string out = absl::StrCat(value.name(), ": ", value.type().tensor_type().elem_type(), " [");
  for (const auto& dim : value.type().tensor_type().shape().dim()) {
    absl::StrAppend(&out, dim.has_dim_param() ? dim.dim_param() : absl::StrCat(dim.dim_value()), ",");
  }
  return out + "]";
}

// Every node reads only graph inputs, initializers and outputs of earlier
// nodes, and the graph's outputs are produced.
void ExpectWellFormed(const onnx::ModelProto& model) {
  EXPECT_EQ(model.ir_version(), kOnnxIrVersion);
  ASSERT_EQ(model.opset_import_size(), 1);
  EXPECT_EQ(model.opset_import(0).domain(), "");
  EXPECT_EQ(model.opset_import(0).version(), kOnnxOpset);
  const onnx::GraphProto& graph = model.graph();
  absl::flat_hash_set<std::string> defined;
  for (const auto& input : graph.input()) defined.insert(input.name());
  for (const auto& tensor : graph.initializer()) {
    EXPECT_TRUE(defined.insert(tensor.name()).second) << "initializer " << tensor.name() << " defined twice";
  }
  const std::set<std::string> standard = {"Add", "ArgMax", "Cast", "Clip", "Concat", "Conv", "Div", "Erf", "Flatten",
                                          "Gemm", "LayerNormalization", "LessOrEqual", "Max", "MaxPool", "Mul", "OneHot",
                                          "Pad", "ReduceL2", "Relu", "Sigmoid", "Slice", "Split", "Sub", "Tanh",
                                          "Where"};
  for (const auto& node : graph.node()) {
    EXPECT_TRUE(standard.count(node.op_type())) << node.op_type();
    EXPECT_EQ(node.domain(), "");
    for (const std::string& input : node.input()) {
      EXPECT_TRUE(defined.contains(input)) << node.name() << " reads " << input << " before it is defined";
    }
    for (const std::string& output : node.output()) {
      EXPECT_TRUE(defined.insert(output).second) << output << " defined twice";
    }
  }
  for (const auto& output : graph.output()) {
    EXPECT_TRUE(defined.contains(output.name())) << "output " << output.name() << " is never produced";
  }
}

TEST(OnnxExportTest, EveryKindHasItsSignatureAndAWellFormedGraph) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"gaussian", {"obs: 1 [batch,5,]", "action: 1 [batch,3,]"}},
      {"deterministic", {"obs: 1 [batch,5,]", "action: 1 [batch,3,]"}},
      {"categorical", {"obs: 1 [batch,5,]", "action: 7 [batch,]"}},
  };
  for (const auto& [kind, signature] : cases) {
    SCOPED_TRACE(kind);
    absl::StatusOr<onnx::ModelProto> model = ToOnnx(Parameters(Spec(kind, 5, 3)));
    ASSERT_TRUE(model.ok()) << model.status();
    ExpectWellFormed(*model);
    ASSERT_EQ(model->graph().input_size(), 1);
    ASSERT_EQ(model->graph().output_size(), 1);
    EXPECT_EQ(Describe(model->graph().input(0)), signature[0]);
    EXPECT_EQ(Describe(model->graph().output(0)), signature[1]);
  }
}

TEST(OnnxExportTest, RecurrentImageAndHypersphericalPoliciesAreWellFormed) {
  v1::PolicySpec recurrent = Spec("categorical", 6, 4);
  recurrent.set_lstm_size(5);
  absl::StatusOr<onnx::ModelProto> model = ToOnnx(Parameters(recurrent));
  ASSERT_TRUE(model.ok()) << model.status();
  ExpectWellFormed(*model);
  ASSERT_EQ(model->graph().input_size(), 2);
  EXPECT_EQ(Describe(model->graph().input(1)), "state: 1 [batch,10,]");
  ASSERT_EQ(model->graph().output_size(), 2);
  EXPECT_EQ(Describe(model->graph().output(1)), "new_state: 1 [batch,10,]");

  v1::PolicySpec image = Spec("gaussian", 3 * 12 * 12, 2);
  for (int d : {3, 12, 12}) image.add_observation_shape(d);
  image.set_observation_dtype(v1::DTYPE_UINT8);
  v1::TorsoLayer* conv = image.add_torso();
  conv->set_kind(v1::TorsoLayer::CONV);
  conv->set_channels(4);
  conv->set_kernel(3);
  conv->set_stride(2);
  conv->set_relu(true);
  v1::TorsoLayer* pool = image.add_torso();
  pool->set_kind(v1::TorsoLayer::MAX_POOL);
  pool->set_kernel(3);
  pool->set_stride(2);
  pool->set_padding(1);
  image.add_torso()->set_kind(v1::TorsoLayer::RESIDUAL);
  image.set_trunk_size(8);
  model = ToOnnx(Parameters(image));
  ASSERT_TRUE(model.ok()) << model.status();
  ExpectWellFormed(*model);
  EXPECT_EQ(Describe(model->graph().input(0)), "obs: 2 [batch,3,12,12,]");

  v1::PolicySpec sphere = Spec("gaussian", 5, 2);
  sphere.clear_hidden_sizes();
  sphere.add_hidden_sizes(16);
  sphere.mutable_hyperspherical()->set_blocks(2);
  sphere.mutable_hyperspherical()->set_shift(3);
  model = ToOnnx(Parameters(sphere));
  ASSERT_TRUE(model.ok()) << model.status();
  ExpectWellFormed(*model);
}

// Each parameter is one initializer holding its float32 bytes as published,
// the normaliser's statistics included.
TEST(OnnxExportTest, EveryParameterIsWrittenOnceWithItsBytes) {
  v1::PolicySpec spec = Spec("deterministic", 5, 3);
  spec.set_lstm_size(4);
  v1::ParameterSet params = Parameters(spec);
  const int network = params.tensors_size();
  for (const char* name : {kObsNormMeanName, kObsNormStdName}) {
    v1::NamedTensor* tensor = params.add_tensors();
    tensor->set_name(name);
    tensor->mutable_tensor()->set_dtype(v1::DTYPE_FLOAT32);
    tensor->mutable_tensor()->add_shape(5);
    const float first = tensor->name() == kObsNormMeanName ? 0.5f : 2.f;
    const std::vector<float> values = {first, 1.f, 2.f, 3.f, 4.f};
    tensor->mutable_tensor()->set_data(values.data(), values.size() * sizeof(float));
  }
  params.mutable_policy()->set_observation_clip(5);
  absl::StatusOr<onnx::ModelProto> model = ToOnnx(params);
  ASSERT_TRUE(model.ok()) << model.status();
  // The float initializers other than the constants (rank 0) and the
  // action bounds are the parameters, each once (zero biases look alike).
  std::multiset<std::string> written;
  for (const auto& tensor : model->graph().initializer()) {
    if (tensor.data_type() == onnx::TensorProto::FLOAT && tensor.dims_size() > 0 && tensor.name() != "low" &&
        tensor.name() != "range") {
      written.insert(tensor.raw_data());
    }
  }
  std::multiset<std::string> published;
  for (const auto& tensor : params.tensors()) published.insert(tensor.tensor().data());
  EXPECT_EQ(written.size(), static_cast<size_t>(params.tensors_size()));
  EXPECT_TRUE(written == published);
  EXPECT_EQ(written.count(params.tensors(network).tensor().data()), 1u) << "the normaliser's mean";
  EXPECT_THAT(model->metadata_props(), ::testing::Contains(::testing::Property(
                                           &onnx::StringStringEntryProto::value, "deterministic")));
}

// A joint row's agents: one network per agent on its slice of the row,
// each agent's initializers under its prefix, a one-hot for a categorical
// agent, the row's action float32 [batch, sum of the agents' actions].
TEST(OnnxExportTest, PerAgentPolicyWritesEachAgentOnItsSlice) {
  v1::PolicySpec joint;
  joint.set_kind("per_agent");
  *joint.add_agents() = Spec("categorical", 4, 2);
  *joint.add_agents() = Spec("deterministic", 3, 2);
  joint.set_obs_dim(7);
  joint.set_action_dim(4);
  for (int k = 0; k < 4; ++k) {
    joint.add_action_low(-1);
    joint.add_action_high(1);
  }
  absl::StatusOr<std::unique_ptr<Policy>> policy = MakePolicy(joint, 1);
  ASSERT_TRUE(policy.ok()) << policy.status();
  absl::StatusOr<onnx::ModelProto> model = ToOnnx(*(*policy)->ExportParameters());
  ASSERT_TRUE(model.ok()) << model.status();
  ExpectWellFormed(*model);
  EXPECT_EQ(Describe(model->graph().input(0)), "obs: 1 [batch,7,]");
  EXPECT_EQ(Describe(model->graph().output(0)), "action: 1 [batch,4,]");
  int one_hots = 0, agent0 = 0, agent1 = 0;
  for (const auto& node : model->graph().node()) one_hots += node.op_type() == "OneHot";
  for (const auto& tensor : model->graph().initializer()) {
    agent0 += absl::StartsWith(tensor.name(), "agent_0.");
    agent1 += absl::StartsWith(tensor.name(), "agent_1.");
  }
  EXPECT_EQ(one_hots, 1);
  EXPECT_EQ(agent0, 6 + 1);  // three layers' weights and biases, and the one-hot's values
  EXPECT_EQ(agent1, 6);
}

// GELU hidden layers as opset 17 writes them: x * 0.5 * (1 + erf(x / sqrt 2)),
// one Erf per hidden layer and no Relu.
TEST(OnnxExportTest, GeluLayersAreWrittenThroughErf) {
  v1::PolicySpec spec = Spec("gaussian", 5, 3);
  spec.set_activation(v1::GELU);
  absl::StatusOr<onnx::ModelProto> model = ToOnnx(Parameters(spec));
  ASSERT_TRUE(model.ok()) << model.status();
  ExpectWellFormed(*model);
  int erfs = 0, relus = 0;
  for (const auto& node : model->graph().node()) {
    erfs += node.op_type() == "Erf";
    relus += node.op_type() == "Relu";
  }
  EXPECT_EQ(erfs, 2);
  EXPECT_EQ(relus, 0);
}

TEST(OnnxExportTest, MaskedCategoricalReadsTheObservationsTail) {
  v1::PolicySpec spec = Spec("categorical", 8, 3);
  spec.set_action_mask(true);
  absl::StatusOr<onnx::ModelProto> model = ToOnnx(Parameters(spec));
  ASSERT_TRUE(model.ok()) << model.status();
  ExpectWellFormed(*model);
  int wheres = 0;
  for (const auto& node : model->graph().node()) {
    if (node.op_type() == "Where") ++wheres;
    if (node.op_type() == "Slice" && node.input(0) == "obs") {
      // starts: obs_dim - action_dim.
      for (const auto& tensor : model->graph().initializer()) {
        if (tensor.name() == node.input(1)) {
          int64_t start = 0;
          std::memcpy(&start, tensor.raw_data().data(), sizeof(start));
          EXPECT_EQ(start, 5);
        }
      }
    }
  }
  EXPECT_EQ(wheres, 1);
}

TEST(OnnxExportTest, RefusalsNameTheProblem) {
  v1::ParameterSet params = Parameters(Spec("gaussian", 5, 3));
  params.mutable_tensors(0)->mutable_tensor()->clear_shape();
  params.mutable_tensors(0)->mutable_tensor()->add_shape(7);
  absl::StatusOr<onnx::ModelProto> model = ToOnnx(params);
  EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(model.status().message(), HasSubstr(params.tensors(0).name()));


  const absl::Status written = ExportOnnx(Parameters(Spec("gaussian", 5, 3)), "/nonexistent-folder/policy.onnx");
  EXPECT_EQ(written.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(written.message(), HasSubstr("/nonexistent-folder/policy.onnx"));
}

TEST(OnnxExportTest, WrittenFileParsesBackAsTheModel) {
  const std::string path = absl::StrCat(std::getenv("TEST_TMPDIR"), "/policy.onnx");
  const v1::ParameterSet params = Parameters(Spec("gaussian", 5, 3));
  ASSERT_TRUE(ExportOnnx(params, path).ok());
  std::ifstream in(path, std::ios::binary);
  onnx::ModelProto read;
  ASSERT_TRUE(read.ParseFromIstream(&in));
  EXPECT_EQ(read.SerializeAsString(), ToOnnx(params)->SerializeAsString());
}

}  // namespace
}  // namespace rill::policies
