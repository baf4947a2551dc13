#include "policies/blas_mlp.h"

#include <cstring>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "learner/networks.h"
#include "torch/torch.h"

namespace rill::learner {
namespace {

using ::testing::HasSubstr;

std::vector<policies::NamedParameter*> Pointers(policies::BlasMlp& mlp) {
  std::vector<policies::NamedParameter*> pointers;
  for (policies::NamedParameter& param : mlp.parameters()) pointers.push_back(&param);
  return pointers;
}

// The learner's FlatMlp loaded with the same parameters computes the same
// outputs (the two share names and layouts; the learner trains one, the
// actors run the other).
TEST(BlasMlpTest, ForwardMatchesTheLearnersNetworkOnTheSameParameters) {
  for (const v1::Activation activation : {v1::RELU, v1::GELU})
  for (const int64_t batch : {1, 7, 256}) {
    SCOPED_TRACE(v1::Activation_Name(activation));
    policies::BlasMlp mlp(17, {64, 32}, 12, "policy", /*seed=*/3, activation);
    MlpShape shape;
    shape.in_dim = 17;
    shape.hidden = {64, 32};
    shape.out_dim = 12;
    shape.activation = activation;
    FlatMlp reference = *FlatMlp::Create(shape, /*seed=*/99, torch::kCPU);
    ASSERT_TRUE(CopyFromParameterSet(ExportNamedParameters(Pointers(mlp)), reference.NamedParameters("policy")).ok());
    torch::manual_seed(batch);
    const torch::Tensor obs = torch::randn({batch, 17});
    MlpTrace trace;
    const torch::Tensor expected = reference.Forward(obs, trace).squeeze(0);
    const float* out = mlp.Forward(obs.data_ptr<float>(), batch);
    const torch::Tensor actual = torch::from_blob(const_cast<float*>(out), {batch, 12}, torch::kFloat32);
    EXPECT_TRUE(torch::allclose(actual, expected, 1e-5, 1e-5)) << "batch " << batch;
  }
}

TEST(BlasMlpTest, InitialisesAsTorchLinearWithinOneOverSqrtFanIn) {
  policies::BlasMlp mlp(16, {100}, 4, "policy", /*seed=*/1);
  ASSERT_EQ(mlp.parameters().size(), 4u);
  EXPECT_EQ(mlp.parameters()[0].name, "policy.layers.0.weight");
  EXPECT_THAT(mlp.parameters()[0].shape, ::testing::ElementsAre(100, 16));
  EXPECT_EQ(mlp.parameters()[3].name, "policy.layers.1.bias");
  float largest = 0;
  for (float w : mlp.parameters()[0].values) largest = std::max(largest, std::abs(w));
  EXPECT_LE(largest, 0.25f);  // 1 / sqrt(16)
  EXPECT_GT(largest, 0.2f);
  for (float w : mlp.parameters()[2].values) EXPECT_LE(std::abs(w), 0.1f);  // 1 / sqrt(100)
  policies::BlasMlp same(16, {100}, 4, "policy", /*seed=*/1);
  EXPECT_EQ(same.parameters()[2].values, mlp.parameters()[2].values);
}

TEST(BlasMlpTest, LoadRefusesAWrongDtypeOrByteCountNamingTheTensorAndChangesNothing) {
  policies::BlasMlp mlp(3, {4}, 2, "policy", /*seed=*/1);
  const std::vector<float> before = mlp.parameters()[0].values;
  policies::BlasMlp other(3, {4}, 2, "policy", /*seed=*/2);
  v1::ParameterSet set = ExportNamedParameters(Pointers(other));

  v1::ParameterSet wrong_dtype = set;
  wrong_dtype.mutable_tensors(1)->mutable_tensor()->set_dtype(v1::DTYPE_FLOAT64);
  absl::Status status = policies::LoadNamedParameters(wrong_dtype, Pointers(mlp));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("'policy.layers.0.bias' must be float32"));

  v1::ParameterSet short_data = set;
  short_data.mutable_tensors(2)->mutable_tensor()->mutable_data()->resize(5);
  status = policies::LoadNamedParameters(short_data, Pointers(mlp));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("'policy.layers.1.weight' holds 5 bytes"));
  EXPECT_EQ(mlp.parameters()[0].values, before);

  ASSERT_TRUE(policies::LoadNamedParameters(set, Pointers(mlp)).ok());
  EXPECT_EQ(mlp.parameters()[0].values, other.parameters()[0].values);
}

}  // namespace
}  // namespace rill::learner
