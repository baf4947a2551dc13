#include "learner/networks.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ATen/Parallel.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::learner {
namespace {

using ::testing::HasSubstr;

std::map<std::string, torch::Tensor> ByName(const std::vector<std::pair<std::string, torch::Tensor>>& named) {
  return std::map<std::string, torch::Tensor>(named.begin(), named.end());
}

void Set(const torch::Tensor& target, std::vector<float> values) {
  torch::NoGradGuard no_grad;
  target.copy_(torch::tensor(values).view(target.sizes()));
}

// A 2 -> 2 -> 1 ensemble of two MLPs with weights set by hand.
FlatMlp TinyEnsemble() {
  FlatMlp mlp = *FlatMlp::Create(MlpShape{2, {2}, 1, 2}, /*seed=*/1, torch::kCPU);
  auto p = ByName(mlp.NamedParameters("net"));
  // Member 0: h = relu([x1 - x2, x1 + x2 + 1]), out = 2 h1 - h2 + 0.5.
  // Member 1: h = relu([x2, -x1]),             out = h1 + 3 h2.
  Set(p["net.layers.0.weight"], {1, -1, 1, 1, /**/ 0, 1, -1, 0});
  Set(p["net.layers.0.bias"], {0, 1, /**/ 0, 0});
  Set(p["net.layers.1.weight"], {2, -1, /**/ 1, 3});
  Set(p["net.layers.1.bias"], {0.5, /**/ 0});
  return mlp;
}

TEST(FlatMlpTest, ForwardMatchesHandComputation) {
  FlatMlp mlp = TinyEnsemble();
  MlpTrace trace;
  torch::Tensor out = mlp.Forward(torch::tensor({{3.f, 1.f}, {-1.f, 2.f}}), trace);
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{2, 2, 1}));
  // Member 0, x = (3, 1): h = relu(2, 5) = (2, 5), out = 4 - 5 + 0.5 = -0.5.
  //           x = (-1, 2): h = relu(-3, 2) = (0, 2), out = 0 - 2 + 0.5 = -1.5.
  // Member 1, x = (3, 1): h = relu(1, -3) = (1, 0), out = 1.
  //           x = (-1, 2): h = relu(2, 1) = (2, 1), out = 2 + 3 = 5.
  EXPECT_FLOAT_EQ(out[0][0][0].item<float>(), -0.5f);
  EXPECT_FLOAT_EQ(out[0][1][0].item<float>(), -1.5f);
  EXPECT_FLOAT_EQ(out[1][0][0].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(out[1][1][0].item<float>(), 5.0f);
}

TEST(FlatMlpTest, BackwardMatchesHandComputation) {
  FlatMlp mlp = TinyEnsemble();
  MlpTrace trace;
  mlp.Forward(torch::tensor({{3.f, 1.f}}), trace);
  // d loss / d out = 1 for both members.
  torch::Tensor input_grad =
      mlp.Backward(trace, torch::ones({2, 1, 1}), 0, /*weight_grads=*/true, std::make_pair<int64_t, int64_t>(0, 2));
  auto g = ByName(mlp.NamedGradients("net"));
  // Member 0 at x = (3, 1): h = (2, 5) (both active). d/dW1 = h = (2, 5),
  // d/db1 = 1; d/dh = W1 = (2, -1) -> d/dW0 = outer((2, -1), x) =
  // [[6, 2], [-3, -1]], d/db0 = (2, -1); d/dx = W0^T (2, -1) = (2 - 1, -2 - 1).
  // Member 1: h = relu(1, -3) = (1, 0): only unit 0 is active. d/dW1 = (1, 0);
  // d/dh = (1, 3) masked to (1, 0) -> d/dW0 = [[3, 1], [0, 0]], d/db0 = (1, 0);
  // d/dx = W0^T (1, 0) = (0, 1).
  EXPECT_TRUE(torch::equal(g["net.layers.1.weight"], torch::tensor({2.f, 5.f, 1.f, 0.f}).view({2, 1, 2})));
  EXPECT_TRUE(torch::equal(g["net.layers.1.bias"], torch::tensor({1.f, 1.f}).view({2, 1})));
  EXPECT_TRUE(torch::equal(g["net.layers.0.weight"],
                           torch::tensor({6.f, 2.f, -3.f, -1.f, 3.f, 1.f, 0.f, 0.f}).view({2, 2, 2})));
  EXPECT_TRUE(torch::equal(g["net.layers.0.bias"], torch::tensor({2.f, -1.f, 1.f, 0.f}).view({2, 2})));
  EXPECT_TRUE(torch::equal(input_grad, torch::tensor({1.f, -3.f, 0.f, 1.f}).view({2, 1, 2})));
}

// Forward and Backward of a random ensemble against torch autograd over
// the same parameters, for rows [row_begin, rows) and input columns [1, 4),
// run on `threads` intra-op threads (more rows than kMinRowsPerTask per
// thread split each member's rows into blocks).
void ExpectBackwardMatchesAutograd(v1::Activation activation, int64_t rows, int64_t row_begin, int threads) {
  const int saved_threads = at::get_num_threads();
  at::set_num_threads(threads);
  MlpShape shape{5, {7, 4}, 3, 2};
  shape.activation = activation;
  FlatMlp mlp = *FlatMlp::Create(shape, /*seed=*/3, torch::kCPU);
  torch::Tensor x = torch::randn({rows, 5});
  torch::Tensor grad_out = torch::randn({2, rows, 3});
  const int64_t n = rows - row_begin;
  MlpTrace trace;
  const torch::Tensor out = mlp.Forward(x, trace).clone();
  torch::Tensor input_grad = mlp.Backward(trace, grad_out.narrow(1, row_begin, n).contiguous(), row_begin, true,
                                          std::make_pair<int64_t, int64_t>(1, 4));

  auto params = ByName(mlp.NamedParameters("net"));
  std::map<std::string, torch::Tensor> leaves;
  for (auto& [name, t] : params) leaves[name] = t.detach().clone().requires_grad_(true);
  torch::Tensor x_leaf = x.detach().clone().requires_grad_(true);
  torch::Tensor loss = torch::zeros({});
  for (int e = 0; e < 2; ++e) {
    torch::Tensor h = x_leaf;
    for (int l = 0; l < 3; ++l) {
      const std::string prefix = "net.layers." + std::to_string(l);
      h = torch::nn::functional::linear(h, leaves[prefix + ".weight"][e], leaves[prefix + ".bias"][e]);
      if (l < 2) h = activation == v1::GELU ? torch::gelu(h) : torch::relu(h);
    }
    EXPECT_TRUE(torch::allclose(out[e], h.detach(), 1e-5, 1e-6)) << "member " << e;
    loss = loss + (h.narrow(0, row_begin, n) * grad_out[e].narrow(0, row_begin, n)).sum();
  }
  loss.backward();
  auto grads = ByName(mlp.NamedGradients("net"));
  for (auto& [name, leaf] : leaves) {
    EXPECT_TRUE(torch::allclose(grads[name], leaf.grad(), 1e-4, 1e-5)) << name;
  }
  // The input gradient sums over members in autograd; ours is per member.
  EXPECT_TRUE(torch::allclose(input_grad.sum(0), x_leaf.grad().narrow(0, row_begin, n).narrow(1, 1, 3), 1e-5, 1e-6));
  at::set_num_threads(saved_threads);
}

TEST(FlatMlpTest, BackwardMatchesAutogradOnRandomNetwork) {
  // Differentiate rows [2, 6) only.
  ExpectBackwardMatchesAutograd(v1::RELU, 6, 2, 1);
}

TEST(FlatMlpTest, GeluBackwardMatchesAutogradInOneBlockAndAcrossRowBlocks) {
  ExpectBackwardMatchesAutograd(v1::GELU, 6, 2, 1);
  // 4 threads, 300 rows: each member's rows in two blocks; rows [40, 300).
  ExpectBackwardMatchesAutograd(v1::GELU, 300, 40, 4);
  ExpectBackwardMatchesAutograd(v1::RELU, 300, 40, 4);
}

TEST(FlatMlpTest, FirstMemberAloneMatchesItsPartOfTheFullPass) {
  // Two threads and 200 rows: the full pass runs one task per member, the
  // lone member's pass splits its rows into two blocks.
  const int threads = at::get_num_threads();
  at::set_num_threads(2);
  FlatMlp mlp = *FlatMlp::Create(MlpShape{5, {7, 4}, 3, 2}, /*seed=*/4, torch::kCPU);
  torch::Tensor x = torch::randn({200, 5});
  torch::Tensor grad_out = torch::randn({2, 200, 3});
  MlpTrace full;
  torch::Tensor out_full = mlp.Forward(x, full).clone();
  torch::Tensor input_grad_full =
      mlp.Backward(full, grad_out, 0, /*weight_grads=*/true, std::make_pair<int64_t, int64_t>(0, 5)).clone();
  std::map<std::string, torch::Tensor> grads_full;
  for (auto& [name, t] : mlp.NamedGradients("net")) grads_full[name] = t.clone();

  mlp.grads().fill_(7);  // a marker: member 1's gradients must keep it
  MlpTrace one;
  torch::Tensor out_one = mlp.Forward(x, one, /*members=*/1);
  ASSERT_EQ(out_one.sizes(), (std::vector<int64_t>{1, 200, 3}));
  EXPECT_TRUE(torch::allclose(out_one[0], out_full[0], 1e-5, 1e-6));
  // Garbage in the per-block scratch: only member 0's part of it may be used.
  one.partial_grads = torch::full({1, mlp.num_parameters()}, 1000.f);
  torch::Tensor input_grad_one = mlp.Backward(one, grad_out.narrow(0, 0, 1).contiguous(), 0, /*weight_grads=*/true,
                                              std::make_pair<int64_t, int64_t>(0, 5));
  ASSERT_EQ(input_grad_one.sizes(), (std::vector<int64_t>{1, 200, 5}));
  EXPECT_TRUE(torch::allclose(input_grad_one[0], input_grad_full[0], 1e-5, 1e-6));
  for (auto& [name, g] : mlp.NamedGradients("net")) {
    EXPECT_TRUE(torch::allclose(g[0], grads_full[name][0], 1e-4, 1e-5)) << name;
    EXPECT_TRUE(torch::equal(g[1], torch::full_like(g[1], 7))) << name;
  }
  at::set_num_threads(threads);
}

TEST(FlatMlpTest, ForwardRejectsMoreMembersThanTheEnsembleHas) {
  FlatMlp mlp = TinyEnsemble();
  MlpTrace trace;
  EXPECT_THROW(mlp.Forward(torch::ones({1, 2}), trace, /*members=*/3), c10::Error);
  EXPECT_THROW(mlp.Forward(torch::ones({1, 2}), trace, /*members=*/0), c10::Error);
}

TEST(FlatMlpTest, CreateRejectsNonPositiveSizes) {
  EXPECT_EQ(FlatMlp::Create(MlpShape{0, {4}, 1, 1}, 0, torch::kCPU).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FlatMlp::Create(MlpShape{3, {0}, 1, 1}, 0, torch::kCPU).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(FlatMlpTest, CloneCopiesParametersIntoItsOwnBuffer) {
  FlatMlp mlp = TinyEnsemble();
  FlatMlp copy = mlp.Clone();
  EXPECT_TRUE(torch::equal(copy.params(), mlp.params()));
  mlp.params().add_(1);
  EXPECT_FALSE(torch::equal(copy.params(), mlp.params()));
}

}  // namespace
}  // namespace rill::learner
