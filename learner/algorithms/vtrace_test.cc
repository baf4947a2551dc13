#include "learner/algorithms/vtrace.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::learner {
namespace {

using ::testing::HasSubstr;

// Options in C++17 (no designated initializers).
VTraceOptions Options(double gamma, double rho_bar = 1.0, double c_bar = 1.0, double lambda = 1.0) {
  VTraceOptions options;
  options.gamma = gamma;
  options.rho_bar = rho_bar;
  options.c_bar = c_bar;
  options.lambda = lambda;
  return options;
}

// One unroll, [T][B] in double for the reference computations.
struct Unroll {
  int64_t T = 0, B = 0;
  std::vector<std::vector<double>> log_rhos, rewards, values, bootstrap_values, terminated, truncated;
};

std::vector<std::vector<double>> Grid(int64_t T, int64_t B, double value = 0) {
  return std::vector<std::vector<double>>(T, std::vector<double>(B, value));
}

Unroll Zeros(int64_t T, int64_t B) {
  Unroll u;
  u.T = T;
  u.B = B;
  u.log_rhos = u.rewards = u.values = u.bootstrap_values = u.terminated = u.truncated = Grid(T, B);
  return u;
}

// Random rewards, values and log ratios; about one step in six terminates and
// one in six truncates. bootstrap_values[t] is values[t + 1] inside an episode
// and an independent value after a boundary or at the unroll's end, as an
// actor would send them.
Unroll RandomUnroll(int64_t T, int64_t B, uint64_t seed) {
  torch::manual_seed(seed);
  Unroll u = Zeros(T, B);
  auto normal = [](double scale) { return torch::randn({1}, torch::kFloat64).item<double>() * scale; };
  auto uniform = []() { return torch::rand({1}, torch::kFloat64).item<double>(); };
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t b = 0; b < B; ++b) {
      u.log_rhos[t][b] = normal(1.0);
      u.rewards[t][b] = normal(1.0);
      u.values[t][b] = normal(2.0);
      const double draw = uniform();
      u.terminated[t][b] = draw < 1.0 / 6 ? 1 : 0;
      u.truncated[t][b] = draw > 5.0 / 6 ? 1 : 0;
    }
  }
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t b = 0; b < B; ++b) {
      const bool boundary = u.terminated[t][b] > 0 || u.truncated[t][b] > 0;
      u.bootstrap_values[t][b] = (t + 1 < T && !boundary) ? u.values[t + 1][b] : normal(2.0);
    }
  }
  return u;
}

torch::Tensor ToTensor(const std::vector<std::vector<double>>& grid) {
  const int64_t T = grid.size(), B = grid.empty() ? 0 : grid[0].size();
  torch::Tensor t = torch::empty({T, B}, torch::kFloat32);
  auto a = t.accessor<float, 2>();
  for (int64_t i = 0; i < T; ++i) {
    for (int64_t j = 0; j < B; ++j) a[i][j] = static_cast<float>(grid[i][j]);
  }
  return t;
}

absl::StatusOr<VTraceReturns> RunVTrace(const VTraceOptions& options, const Unroll& u) {
  return VTrace(options, ToTensor(u.log_rhos), ToTensor(u.rewards), ToTensor(u.values),
                ToTensor(u.bootstrap_values), ToTensor(u.terminated), ToTensor(u.truncated));
}

struct Reference {
  std::vector<std::vector<double>> vs, pg_advantages;
};

// The paper's definition, loop by loop, with the sum stopped at the first
// episode boundary or at the unroll's end (both inclusive):
//   v_s = V(x_s) + sum_{t=s}^{end} gamma^{t-s} (prod_{i=s}^{t-1} c_i) delta_t,
//   delta_t = rho_t (r_t + discount_t bootstrap_values_t - V(x_t)).
// No termination lies before `end`, so discount_i = gamma there.
Reference PaperVTrace(const VTraceOptions& o, const Unroll& u) {
  Reference ref{Grid(u.T, u.B), Grid(u.T, u.B)};
  auto rho = [&](int64_t t, int64_t b) { return std::min(o.rho_bar, std::exp(u.log_rhos[t][b])); };
  auto c = [&](int64_t t, int64_t b) { return o.lambda * std::min(o.c_bar, std::exp(u.log_rhos[t][b])); };
  auto discount = [&](int64_t t, int64_t b) { return o.gamma * (1 - u.terminated[t][b]); };
  auto boundary = [&](int64_t t, int64_t b) { return u.terminated[t][b] > 0 || u.truncated[t][b] > 0; };
  auto delta = [&](int64_t t, int64_t b) {
    return rho(t, b) * (u.rewards[t][b] + discount(t, b) * u.bootstrap_values[t][b] - u.values[t][b]);
  };
  for (int64_t b = 0; b < u.B; ++b) {
    for (int64_t s = 0; s < u.T; ++s) {
      int64_t end = s;
      while (end + 1 < u.T && !boundary(end, b)) ++end;
      double sum = 0;
      for (int64_t t = s; t <= end; ++t) {
        double product = 1;
        for (int64_t i = s; i < t; ++i) product *= c(i, b);
        sum += std::pow(o.gamma, t - s) * product * delta(t, b);
      }
      ref.vs[s][b] = u.values[s][b] + sum;
    }
    for (int64_t s = 0; s < u.T; ++s) {
      const double next = (s + 1 < u.T && !boundary(s, b)) ? ref.vs[s + 1][b] : u.bootstrap_values[s][b];
      ref.pg_advantages[s][b] = rho(s, b) * (u.rewards[s][b] + discount(s, b) * next - u.values[s][b]);
    }
  }
  return ref;
}

void ExpectNear(const torch::Tensor& actual, const std::vector<std::vector<double>>& expected,
                const std::string& what) {
  ASSERT_EQ(actual.dim(), 2) << what;
  ASSERT_EQ(actual.size(0), static_cast<int64_t>(expected.size())) << what;
  auto a = actual.accessor<float, 2>();
  for (size_t t = 0; t < expected.size(); ++t) {
    for (size_t b = 0; b < expected[t].size(); ++b) {
      EXPECT_NEAR(a[t][b], expected[t][b], 1e-4 * (1 + std::abs(expected[t][b])))
          << what << " at [" << t << ", " << b << "]";
    }
  }
}

// The on-policy lambda-return, by its own recursion:
//   G_t = r_t + discount_t * ((1 - lambda) V(x_{t+1}) + lambda G_{t+1})
// inside an episode, and G_t = r_t + discount_t * bootstrap_values_t at a
// boundary or the unroll's end. lambda = 1 gives the n-step bootstrapped
// discounted return.
std::vector<std::vector<double>> LambdaReturns(const Unroll& u, double gamma, double lambda) {
  auto g = Grid(u.T, u.B);
  for (int64_t b = 0; b < u.B; ++b) {
    for (int64_t t = u.T - 1; t >= 0; --t) {
      const double discount = gamma * (1 - u.terminated[t][b]);
      const bool cut = t + 1 == u.T || u.terminated[t][b] > 0 || u.truncated[t][b] > 0;
      const double next =
          cut ? u.bootstrap_values[t][b] : (1 - lambda) * u.values[t + 1][b] + lambda * g[t + 1][b];
      g[t][b] = u.rewards[t][b] + discount * next;
    }
  }
  return g;
}

TEST(VTraceTest, MatchesThePapersSumOnRandomUnrollsWithBoundaries) {
  uint64_t seed = 1;
  int boundaries = 0;
  for (int64_t T : {1, 5, 20}) {
    for (int64_t B : {1, 7}) {
      for (double rho_bar : {0.5, 1.0, 2.0}) {
        for (double c_bar : {0.5, 1.0, 2.0}) {
          for (double lambda : {0.5, 1.0}) {
            SCOPED_TRACE(absl::StrCat("T=", T, " B=", B, " rho_bar=", rho_bar, " c_bar=", c_bar, " lambda=", lambda));
            const Unroll u = RandomUnroll(T, B, seed++);
            for (int64_t t = 0; t < T; ++t) {
              for (int64_t b = 0; b < B; ++b) boundaries += u.terminated[t][b] + u.truncated[t][b];
            }
            const VTraceOptions options = Options(0.9, rho_bar, c_bar, lambda);
            absl::StatusOr<VTraceReturns> returns = RunVTrace(options, u);
            ASSERT_TRUE(returns.ok()) << returns.status();
            const Reference ref = PaperVTrace(options, u);
            ExpectNear(returns->vs, ref.vs, "vs");
            ExpectNear(returns->pg_advantages, ref.pg_advantages, "pg_advantages");
          }
        }
      }
    }
  }
  EXPECT_GT(boundaries, 50);  // the random unrolls really hold terminations and truncations
}

TEST(VTraceTest, ClipsRhosAtRhoBar) {
  Unroll u = Zeros(3, 1);
  u.log_rhos = {{std::log(0.25)}, {std::log(1.5)}, {std::log(4.0)}};
  absl::StatusOr<VTraceReturns> returns = RunVTrace(Options(0.99, 2.0), u);
  ASSERT_TRUE(returns.ok()) << returns.status();
  ExpectNear(returns->clipped_rhos, {{0.25}, {1.5}, {2.0}}, "clipped_rhos");
}

TEST(VTraceTest, OnPolicyWithLambdaOneGivesNStepBootstrappedReturns) {
  // One episode of 5 steps cut by the unroll's end, bootstrapped from 10:
  // v_0 = 1 + .9*2 + .81*3 + .729*4 + .6561*5 + .59049*10 and so on.
  Unroll u = Zeros(5, 1);
  u.rewards = {{1}, {2}, {3}, {4}, {5}};
  u.values = {{-3}, {7}, {0.5}, {2}, {-1}};
  u.bootstrap_values = {{7}, {0.5}, {2}, {-1}, {10}};
  const std::vector<std::vector<double>> expected = {
      {1 + 0.9 * 2 + 0.81 * 3 + 0.729 * 4 + 0.6561 * 5 + 0.59049 * 10},
      {2 + 0.9 * 3 + 0.81 * 4 + 0.729 * 5 + 0.6561 * 10},
      {3 + 0.9 * 4 + 0.81 * 5 + 0.729 * 10},
      {4 + 0.9 * 5 + 0.81 * 10},
      {5 + 0.9 * 10},
  };
  for (double bar : {1.0, 2.0}) {
    SCOPED_TRACE(absl::StrCat("rho_bar = c_bar = ", bar));
    absl::StatusOr<VTraceReturns> returns = RunVTrace(Options(0.9, bar, bar), u);
    ASSERT_TRUE(returns.ok()) << returns.status();
    ExpectNear(returns->vs, expected, "vs");
  }
}

TEST(VTraceTest, OnPolicyWithLambdaOneGivesNStepReturnsOnRandomUnrolls) {
  for (int64_t T : {1, 5, 20}) {
    SCOPED_TRACE(absl::StrCat("T=", T));
    Unroll u = RandomUnroll(T, 7, 100 + T);
    u.log_rhos = Grid(T, 7);
    absl::StatusOr<VTraceReturns> returns = RunVTrace(Options(0.95), u);
    ASSERT_TRUE(returns.ok()) << returns.status();
    ExpectNear(returns->vs, LambdaReturns(u, 0.95, 1.0), "vs");
  }
}

TEST(VTraceTest, OnPolicyWithLambdaBelowOneGivesLambdaReturns) {
  for (double lambda : {0.0, 0.5, 0.9}) {
    SCOPED_TRACE(absl::StrCat("lambda=", lambda));
    Unroll u = RandomUnroll(20, 7, 200);
    u.log_rhos = Grid(20, 7);
    const VTraceOptions options = Options(0.95, 1.0, 1.0, lambda);
    absl::StatusOr<VTraceReturns> returns = RunVTrace(options, u);
    ASSERT_TRUE(returns.ok()) << returns.status();
    ExpectNear(returns->vs, LambdaReturns(u, 0.95, lambda), "vs against the lambda-return");
    ExpectNear(returns->vs, PaperVTrace(options, u).vs, "vs against the paper's sum");
  }
}

// Steps 0..1 of one episode terminate at step 1; steps 2..3 start the next.
Unroll TerminatingUnroll() {
  Unroll u = Zeros(4, 1);
  u.rewards = {{1}, {2}, {3}, {4}};
  u.values = {{5}, {6}, {7}, {8}};
  u.bootstrap_values = {{6}, {100}, {8}, {9}};
  u.terminated = {{0}, {1}, {0}, {0}};
  return u;
}

TEST(VTraceTest, TerminationStopsBootstrapping) {
  const Unroll u = TerminatingUnroll();
  absl::StatusOr<VTraceReturns> returns = RunVTrace(Options(0.9), u);
  ASSERT_TRUE(returns.ok()) << returns.status();
  // The terminal step's target is its reward; bootstrap_values[1] (100) and
  // the next episode (values and rewards of steps 2, 3) do not reach it.
  ExpectNear(returns->vs.narrow(0, 0, 2), {{1 + 0.9 * 2}, {2}}, "vs of the terminated episode");
  ExpectNear(returns->pg_advantages.narrow(0, 0, 2), {{1 + 0.9 * 2 - 5}, {2 - 6}}, "pg_advantages");
}

TEST(VTraceTest, TerminationIgnoresTheNextEpisodeOffPolicy) {
  Unroll u = TerminatingUnroll();
  u.log_rhos = {{0.3}, {-0.2}, {0.7}, {-1.0}};
  absl::StatusOr<VTraceReturns> before = RunVTrace(Options(0.9), u);
  u.rewards[2][0] = u.rewards[3][0] = -50;
  u.values[2][0] = 40;
  u.bootstrap_values[1][0] = -1000;
  absl::StatusOr<VTraceReturns> after = RunVTrace(Options(0.9), u);
  ASSERT_TRUE(before.ok() && after.ok());
  EXPECT_TRUE(torch::equal(before->vs.narrow(0, 0, 2), after->vs.narrow(0, 0, 2)));
  EXPECT_TRUE(torch::equal(before->pg_advantages.narrow(0, 0, 2), after->pg_advantages.narrow(0, 0, 2)));
}

TEST(VTraceTest, TruncationBootstrapsFromBootstrapValues) {
  // The episode is cut after step 1; its real final observation is worth 20,
  // while values[2] (-30) belongs to the next episode's first observation.
  Unroll u = Zeros(4, 1);
  u.rewards = {{1}, {2}, {3}, {4}};
  u.values = {{5}, {6}, {-30}, {8}};
  u.bootstrap_values = {{6}, {20}, {8}, {9}};
  u.truncated = {{0}, {1}, {0}, {0}};
  absl::StatusOr<VTraceReturns> returns = RunVTrace(Options(0.9), u);
  ASSERT_TRUE(returns.ok()) << returns.status();
  ExpectNear(returns->vs, {{1 + 0.9 * 2 + 0.81 * 20}, {2 + 0.9 * 20}, {3 + 0.9 * 4 + 0.81 * 9}, {4 + 0.9 * 9}},
             "vs");
  ExpectNear(returns->pg_advantages.narrow(0, 1, 1), {{2 + 0.9 * 20 - 6}}, "pg_advantages at the truncation");
}

TEST(VTraceTest, TruncationDoesNotCarryTheNextEpisodesCorrectionOffPolicy) {
  Unroll u = Zeros(3, 1);
  u.log_rhos = {{0.4}, {0.1}, {-0.5}};
  u.rewards = {{1}, {2}, {3}};
  u.values = {{5}, {6}, {7}};
  u.bootstrap_values = {{6}, {20}, {9}};
  u.truncated = {{0}, {1}, {0}};
  absl::StatusOr<VTraceReturns> before = RunVTrace(Options(0.9, 2.0, 2.0), u);
  u.rewards[2][0] = 100;
  u.values[2][0] = -100;
  absl::StatusOr<VTraceReturns> after = RunVTrace(Options(0.9, 2.0, 2.0), u);
  ASSERT_TRUE(before.ok() && after.ok());
  EXPECT_TRUE(torch::equal(before->vs.narrow(0, 0, 2), after->vs.narrow(0, 0, 2)));
  EXPECT_TRUE(torch::equal(before->pg_advantages.narrow(0, 0, 2), after->pg_advantages.narrow(0, 0, 2)));
}

TEST(VTraceTest, UnrollEndBootstrapsFromTheLastBootstrapValue) {
  Unroll u = Zeros(2, 1);
  u.log_rhos = {{0.0}, {std::log(0.5)}};
  u.rewards = {{1}, {2}};
  u.values = {{3}, {4}};
  u.bootstrap_values = {{4}, {10}};
  absl::StatusOr<VTraceReturns> returns = RunVTrace(Options(0.9), u);
  ASSERT_TRUE(returns.ok()) << returns.status();
  // rho_1 = 0.5: v_1 = 4 + 0.5 (2 + 9 - 4) = 7.5; pg uses vs_next = 10.
  ExpectNear(returns->vs.narrow(0, 1, 1), {{7.5}}, "vs");
  ExpectNear(returns->pg_advantages.narrow(0, 1, 1), {{0.5 * (2 + 0.9 * 10 - 4)}}, "pg_advantages");
}

TEST(VTraceTest, ReturnsDetachedResultsForInputsThatRequireGrad) {
  const Unroll u = RandomUnroll(5, 3, 7);
  torch::Tensor values = ToTensor(u.values).requires_grad_();
  torch::Tensor log_rhos = ToTensor(u.log_rhos).requires_grad_();
  absl::StatusOr<VTraceReturns> returns =
      VTrace({}, log_rhos, ToTensor(u.rewards), values, ToTensor(u.bootstrap_values), ToTensor(u.terminated),
             ToTensor(u.truncated));
  ASSERT_TRUE(returns.ok()) << returns.status();
  EXPECT_FALSE(returns->vs.requires_grad());
  EXPECT_FALSE(returns->pg_advantages.requires_grad());
  EXPECT_FALSE(returns->clipped_rhos.requires_grad());
}

// The seven arguments of VTrace as tensors, valid [3, 2] float32 by default.
struct Args {
  std::vector<torch::Tensor> t = std::vector<torch::Tensor>(6);
  Args() {
    for (auto& x : t) x = torch::zeros({3, 2});
  }
  absl::Status Call(const VTraceOptions& options = {}) const {
    return VTrace(options, t[0], t[1], t[2], t[3], t[4], t[5]).status();
  }
};

const char* const kNames[] = {"log_rhos", "rewards", "values", "bootstrap_values", "terminated", "truncated"};

TEST(VTraceTest, RejectsABadRankNamingTheArgument) {
  for (int i = 0; i < 6; ++i) {
    Args args;
    args.t[i] = torch::zeros({3, 2, 1});
    absl::Status status = args.Call();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << kNames[i];
    EXPECT_THAT(status.message(), HasSubstr(std::string(kNames[i]) + " must have rank 2"));
  }
}

TEST(VTraceTest, RejectsAShapeOtherThanLogRhosNamingTheArgument) {
  for (int i = 1; i < 6; ++i) {
    Args args;
    args.t[i] = torch::zeros({3, 3});
    absl::Status status = args.Call();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << kNames[i];
    EXPECT_THAT(status.message(), HasSubstr(std::string(kNames[i]) + " has shape [3, 3], log_rhos has [3, 2]"));
  }
}

TEST(VTraceTest, RejectsADtypeOtherThanFloat32NamingTheArgument) {
  for (int i = 0; i < 6; ++i) {
    Args args;
    args.t[i] = torch::zeros({3, 2}, torch::kFloat64);
    absl::Status status = args.Call();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << kNames[i];
    EXPECT_THAT(status.message(), HasSubstr(std::string(kNames[i]) + " must be float32"));
  }
}

TEST(VTraceTest, RejectsAnUndefinedTensorNamingTheArgument) {
  Args args;
  args.t[3] = torch::Tensor();
  EXPECT_EQ(args.Call(), absl::InvalidArgumentError("bootstrap_values is undefined"));
}

TEST(VTraceTest, RejectsAnEmptyTimeAxis) {
  Args args;
  for (auto& x : args.t) x = torch::zeros({0, 2});
  absl::Status status = args.Call();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("at least one time step"));
}

TEST(VTraceTest, RejectsNaNInLogRhosWithItsIndex) {
  Args args;
  args.t[0][2][1] = std::nan("");
  EXPECT_EQ(args.Call(), absl::InvalidArgumentError("log_rhos holds NaN at [2, 1]"));
}

TEST(VTraceTest, RejectsEpisodeFlagsOtherThanZeroOrOne) {
  for (int i : {4, 5}) {
    Args args;
    args.t[i][1][0] = 0.5;
    absl::Status status = args.Call();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << kNames[i];
    EXPECT_THAT(status.message(), HasSubstr(std::string(kNames[i]) + " holds 0.5 at [1, 0]"));
  }
}

TEST(VTraceTest, RejectsOptionsOutOfRangeNamingTheOption) {
  struct Case {
    VTraceOptions options;
    const char* name;
  };
  const Case cases[] = {
      {Options(0.99, 0.0), "rho_bar"},
      {Options(0.99, -1.0), "rho_bar"},
      {Options(0.99, 1.0, 0.0), "c_bar"},
      {Options(-0.1), "gamma"},
      {Options(1.5), "gamma"},
      {Options(std::nan("")), "gamma"},
      {Options(0.99, 1.0, 1.0, -0.1), "lambda"},
      {Options(0.99, 1.0, 1.0, 1.01), "lambda"},
  };
  for (const Case& c : cases) {
    absl::Status status = Args().Call(c.options);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_THAT(status.message(), HasSubstr(c.name));
  }
}

TEST(VTraceTest, AcceptsTheBoundsOfTheOptionRanges) {
  for (const VTraceOptions& options : {Options(0.0, 1.0, 1.0, 0.0), Options(1.0)}) {
    EXPECT_TRUE(Args().Call(options).ok());
  }
}

}  // namespace
}  // namespace rill::learner
