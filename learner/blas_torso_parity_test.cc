#include <omp.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "learner/torch_torso.h"
#include "policies/blas_torso.h"
#include "policies/registry.h"
#include "policies/spec.h"
#include "policies/torso.h"
#include "torch/torch.h"

namespace rill::learner {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The BlasTorso's parameters as tensors in its order (the learner's views).
std::vector<torch::Tensor> Tensors(policies::BlasTorso& torso) {
  std::vector<torch::Tensor> tensors;
  for (policies::NamedParameter& p : torso.parameters()) {
    tensors.push_back(torch::from_blob(p.values.data(), p.shape, torch::kFloat32));
  }
  return tensors;
}

// Images as actors see them: bytes scaled to [0, 1].
torch::Tensor Images(policies::ImageShape input, int64_t batch) {
  return torch::randint(0, 256, {batch, input.size()}).to(torch::kFloat32) / 255.0;
}

// Runs `blas` on `x` and expects what `torch_torso` computes on the same
// parameters; the input is left as it was.
void ExpectForwardOf(policies::BlasTorso& blas, const TorchTorso& torch_torso, const torch::Tensor& x,
                     const std::string& what) {
  const int64_t batch = x.size(0);
  const torch::Tensor expected = torch_torso.Forward(x, Tensors(blas));
  const torch::Tensor before = x.clone();
  const float* out = blas.Forward(x.data_ptr<float>(), batch);
  const torch::Tensor actual = torch::from_blob(const_cast<float*>(out), {batch, blas.out_dim()}, torch::kFloat32);
  EXPECT_TRUE(torch::allclose(actual, expected, 1e-4, 1e-4))
      << what << ", batch " << batch << " on " << policies::ImageShapeString(torch_torso.input())
      << ": largest difference " << (actual - expected).abs().max().item<float>();
  EXPECT_TRUE(torch::equal(x, before)) << what << ": Forward wrote into its input";
}

void ExpectSameForward(const std::vector<v1::TorsoLayer>& layers, policies::ImageShape input, int64_t batch,
                       const std::string& what = "") {
  policies::BlasTorso blas(layers, input, "policy", /*seed=*/batch);
  absl::StatusOr<TorchTorso> torch_torso = TorchTorso::Create(layers, input);
  ASSERT_TRUE(torch_torso.ok()) << torch_torso.status();
  ASSERT_EQ(blas.out_dim(), torch_torso->out_dim());
  torch::manual_seed(batch);
  ExpectForwardOf(blas, *torch_torso, Images(input, batch), what);
}

v1::TorsoLayer Conv(int channels, int kernel, int stride, int padding, bool relu) {
  v1::TorsoLayer layer;
  layer.set_kind(v1::TorsoLayer::CONV);
  layer.set_channels(channels);
  layer.set_kernel(kernel);
  layer.set_stride(stride);
  layer.set_padding(padding);
  layer.set_relu(relu);
  return layer;
}

v1::TorsoLayer MaxPool(int kernel, int stride, int padding) {
  v1::TorsoLayer layer;
  layer.set_kind(v1::TorsoLayer::MAX_POOL);
  layer.set_kernel(kernel);
  layer.set_stride(stride);
  layer.set_padding(padding);
  return layer;
}

v1::TorsoLayer Layer(v1::TorsoLayer::Kind kind) {
  v1::TorsoLayer layer;
  layer.set_kind(kind);
  return layer;
}

// The actors' oneDNN forward computes what the learner's LibTorch
// convolutions do, for each preset, at the batch sizes actors use.
TEST(BlasTorsoTest, ForwardMatchesTheLearnersTorsoOnTheSameParameters) {
  for (int64_t batch : {1, 7, 8, 40, 256}) ExpectSameForward(policies::MinAtarCnnLayers(), {4, 10, 10}, batch);
  for (int64_t batch : {1, 8, 25, 64}) ExpectSameForward(policies::NatureCnnLayers(), {4, 84, 84}, batch);
  for (int64_t batch : {1, 3, 8}) ExpectSameForward(policies::ImpalaResnetLayers(), {3, 64, 64}, batch);
}

// Layers the presets do not have: strides, paddings and pools that leave a
// ragged edge, channel counts that do not fill oneDNN's blocks of 8 or 16
// (a residual block on them too), a first layer with many input channels,
// 1x1 kernels, and torsos that start with a layer that is not a convolution.
TEST(BlasTorsoTest, ForwardMatchesTheLearnersTorsoOnOddLayers) {
  ExpectSameForward({Conv(5, 3, 2, 2, false), MaxPool(2, 3, 1)}, {2, 11, 7}, 6, "conv 5 stride 2 pad 2, ragged pool");
  ExpectSameForward(
      {Conv(24, 5, 3, 2, true), Layer(v1::TorsoLayer::RESIDUAL), MaxPool(3, 2, 1), Layer(v1::TorsoLayer::RELU)},
      {3, 23, 17}, 9, "conv 24 stride 3, residual on 24 channels, pool, relu");
  ExpectSameForward({Conv(20, 1, 1, 0, true), Conv(7, 3, 1, 1, true), Conv(33, 2, 2, 1, false)}, {20, 12, 12}, 8,
                    "20 input channels, 1x1 kernel, 7 and 33 channels");
  ExpectSameForward({Layer(v1::TorsoLayer::RESIDUAL), Layer(v1::TorsoLayer::RELU), Conv(16, 3, 1, 0, true)},
                    {4, 10, 10}, 8, "a residual block on the input");
  ExpectSameForward({MaxPool(3, 1, 1), Layer(v1::TorsoLayer::RELU)}, {4, 9, 9}, 8, "a pool, then relu, no conv");
  ExpectSameForward({Layer(v1::TorsoLayer::RELU)}, {3, 5, 5}, 8, "relu alone");
}

// LoadNamedParameters copies into parameters() in place, out of the torso's
// sight: the next Forward computes with the new values.
TEST(BlasTorsoTest, ForwardReadsParametersReplacedInPlace) {
  const std::vector<v1::TorsoLayer> layers = policies::ImpalaResnetLayers();
  policies::BlasTorso blas(layers, {3, 32, 32}, "policy", /*seed=*/1);
  const TorchTorso torch_torso = *TorchTorso::Create(layers, {3, 32, 32});
  torch::manual_seed(1);
  const torch::Tensor x = Images({3, 32, 32}, 8);
  ExpectForwardOf(blas, torch_torso, x, "initial parameters");
  const policies::BlasTorso other(layers, {3, 32, 32}, "policy", /*seed=*/2);
  for (size_t i = 0; i < blas.parameters().size(); ++i) {
    std::memcpy(blas.parameters()[i].values.data(), other.parameters()[i].values.data(),
                other.parameters()[i].values.size() * sizeof(float));
  }
  ExpectForwardOf(blas, torch_torso, x, "replaced parameters");
}

// An evaluator's or a varying caller's batch sizes: more than the torso
// keeps primitives for, then back to the first.
TEST(BlasTorsoTest, ForwardStaysRightAcrossManyBatchSizes) {
  const std::vector<v1::TorsoLayer> layers = policies::NatureCnnLayers();
  policies::BlasTorso blas(layers, {4, 36, 36}, "policy", /*seed=*/3);
  const TorchTorso torch_torso = *TorchTorso::Create(layers, {4, 36, 36});
  torch::manual_seed(3);
  for (int64_t batch : {1, 2, 3, 4, 5, 6, 1, 6, 2}) {
    ExpectForwardOf(blas, torch_torso, Images({4, 36, 36}, batch), "cycling batch sizes");
  }
}

int ThreadsOfThisProcess() {
  int threads = 0;
  for ([[maybe_unused]] const auto& task : std::filesystem::directory_iterator("/proc/self/task")) ++threads;
  return threads;
}

// An actor shares its cores with the learner: a forward runs on the calling
// thread alone, whatever that thread's OpenMP setting (oneDNN's runtime is
// OpenMP, whose threads would outlive the call), and leaves the setting as
// it found it.
TEST(BlasTorsoTest, ForwardStartsNoThreadsAndKeepsTheCallersOpenMpSetting) {
  policies::BlasTorso blas(policies::NatureCnnLayers(), {4, 84, 84}, "policy", /*seed=*/4);
  torch::manual_seed(4);
  const torch::Tensor x = Images({4, 84, 84}, 32);
  std::thread caller([&] {
    omp_set_num_threads(4);  // a team of 4 unless the torso says otherwise
    const int before = ThreadsOfThisProcess();
    blas.Forward(x.data_ptr<float>(), 32);
    blas.Forward(x.data_ptr<float>(), 32);
    EXPECT_EQ(ThreadsOfThisProcess(), before);
    EXPECT_EQ(omp_get_max_threads(), 4);
  });
  caller.join();
}

TEST(BlasTorsoTest, ImpalaResnetHasFifteenConvolutionsNamedAsTheLearnerNamesThem) {
  const std::vector<v1::TorsoLayer> layers = policies::ImpalaResnetLayers();
  policies::BlasTorso torso(layers, {3, 64, 64}, "policy", /*seed=*/1);
  ASSERT_EQ(torso.parameters().size(), 30u);  // 15 weights and 15 biases
  EXPECT_EQ(torso.parameters()[0].name, "policy.torso.0.weight");
  EXPECT_THAT(torso.parameters()[0].shape, ElementsAre(16, 3, 3, 3));
  EXPECT_EQ(torso.parameters()[2].name, "policy.torso.2.conv0.weight");
  EXPECT_EQ(torso.parameters()[5].name, "policy.torso.2.conv1.bias");
  EXPECT_EQ(torso.out_dim(), 32 * 8 * 8);
  const TorchTorso learner = *TorchTorso::Create(layers, {3, 64, 64});
  const std::vector<policies::TorsoParameter> named = learner.Parameters("policy");
  ASSERT_EQ(named.size(), torso.parameters().size());
  for (size_t i = 0; i < named.size(); ++i) {
    EXPECT_EQ(named[i].name, torso.parameters()[i].name);
    EXPECT_EQ(named[i].shape, torso.parameters()[i].shape);
  }
}

TEST(TorsoShapesTest, RefusesLayersThatDoNotFitTheImageNamingTheLayer) {
  absl::StatusOr<std::vector<policies::ImageShape>> shapes =
      policies::TorsoShapes(policies::NatureCnnLayers(), {4, 10, 10});
  EXPECT_EQ(shapes.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(shapes.status().message(), HasSubstr("torso layer 1 (conv 64 4x4 stride 2 + relu) on [32, 1, 1]"));
  EXPECT_THAT(shapes.status().message(), HasSubstr("smaller than the 4x4 kernel"));

  v1::TorsoLayer bad;
  bad.set_kind(v1::TorsoLayer::CONV);
  bad.set_channels(8);
  bad.set_kernel(3);
  bad.set_padding(3);
  EXPECT_THAT(policies::TorsoShapes({bad}, {1, 8, 8}).status().message(), HasSubstr("padding 3 is out of range"));
  bad.set_padding(0);
  bad.set_channels(1 << 20);
  EXPECT_THAT(policies::TorsoShapes({bad}, {1, 8, 8}).status().message(), HasSubstr("channels 1048576"));
  v1::TorsoLayer unknown;
  EXPECT_THAT(policies::TorsoShapes({unknown}, {1, 8, 8}).status().message(),
              HasSubstr("KIND_UNSPECIFIED is not a layer"));
}

// A categorical policy with a torso acts on the argmax of what the
// learner's torso and MLP compute, and its spec refuses a torso that does
// not fit its observation shape.
TEST(TorsoPolicyTest, CategoricalPolicyWithATorsoActsAsTheLearnersNetwork) {
  envs::EnvSpec env;
  env.name = "image";
  env.observation_shape = {4, 10, 10};
  env.observation_type = envs::ObservationType::kUint8;
  env.discrete = true;
  env.num_actions = 6;
  v1::PolicySpec spec = policies::PolicySpecFor("categorical", env, {32});
  ASSERT_TRUE(policies::SetTorso(env, policies::MinAtarCnnLayers(), &spec).ok());
  absl::StatusOr<std::unique_ptr<policies::Policy>> policy = policies::MakePolicy(spec, /*seed=*/5);
  ASSERT_TRUE(policy.ok()) << policy.status();
  const v1::ParameterSet params = *(*policy)->ExportParameters();
  ASSERT_EQ(params.tensors_size(), 6);  // torso conv, two linear layers
  EXPECT_EQ(params.tensors(0).name(), "policy.torso.0.weight");
  EXPECT_EQ(params.tensors(2).name(), "policy.layers.0.weight");
  EXPECT_EQ(params.tensors(2).tensor().shape(1), 16 * 8 * 8);

  std::vector<torch::Tensor> tensors;
  for (const v1::NamedTensor& named : params.tensors()) {
    const std::vector<int64_t> shape(named.tensor().shape().begin(), named.tensor().shape().end());
    tensors.push_back(torch::from_blob(const_cast<char*>(named.tensor().data().data()), shape, torch::kFloat32));
  }
  const TorchTorso torso = *TorchTorso::Create(policies::MinAtarCnnLayers(), {4, 10, 10});
  torch::manual_seed(0);
  const torch::Tensor obs = (torch::rand({9, 400}) < 0.2).to(torch::kFloat32);
  torch::Tensor h = torso.Forward(obs, {tensors[0], tensors[1]});
  h = torch::relu(torch::addmm(tensors[3], h, tensors[2].t()));
  const torch::Tensor logits = torch::addmm(tensors[5], h, tensors[4].t());
  policies::PolicyOutput out;
  (*policy)->Act(obs.data_ptr<float>(), 9, /*deterministic=*/true, &out);
  const torch::Tensor expected = logits.argmax(1);
  for (int64_t r = 0; r < 9; ++r) EXPECT_EQ(out.indices[r], expected[r].item<int64_t>()) << "row " << r;

  envs::EnvSpec flat = env;
  flat.observation_shape = {400};
  v1::PolicySpec bad = policies::PolicySpecFor("categorical", flat, {32});
  EXPECT_THAT(policies::SetTorso(flat, policies::MinAtarCnnLayers(), &bad).message(), HasSubstr("[C, H, W]"));
}

}  // namespace
}  // namespace rill::learner
