#include "bench/bench_torso.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/bench_probes.h"
#include "common/blas.h"
#include "common/os.h"
#include "common/status_macros.h"
#include "flags/flags.h"
#include "learner/torch_torso.h"
#include "policies/blas_torso.h"
#include "policies/torso.h"
#include "torch/torch.h"

namespace rill::bench {
namespace {

struct Case {
  std::string name;
  std::vector<v1::TorsoLayer> layers;
  policies::ImageShape input;
  int64_t batch;
};

// Calls of `step` per second over about `duration` (after one warm-up call).
template <typename F>
double CallsPerSecond(absl::Duration duration, F step) {
  step();
  int64_t calls = 0;
  const absl::Time start = absl::Now();
  absl::Duration elapsed;
  do {
    step();
    ++calls;
    elapsed = absl::Now() - start;
  } while (elapsed < duration);
  return static_cast<double>(calls) / absl::ToDoubleSeconds(elapsed);
}

// Rounds in which the actor's and LibTorch's forwards take turns: on a
// machine shared with other work, a burst of load then slows both sides
// rather than the one measured at the time.
constexpr int kRounds = 5;

// The calls per second of `a` and of `b`, each the best of kRounds
// alternating slices of `duration` / kRounds (the least disturbed one).
template <typename A, typename B>
std::pair<double, double> BestOfInterleaved(absl::Duration duration, A a, B b) {
  double best_a = 0, best_b = 0;
  for (int round = 0; round < kRounds; ++round) {
    best_a = std::max(best_a, CallsPerSecond(duration / kRounds, a));
    best_b = std::max(best_b, CallsPerSecond(duration / kRounds, b));
  }
  return {best_a, best_b};
}

absl::StatusOr<std::string> RunCase(const Case& c, absl::Duration duration) {
  policies::BlasTorso blas(c.layers, c.input, "policy", /*seed=*/1);
  ASSIGN_OR_RETURN(const learner::TorchTorso torso, learner::TorchTorso::Create(c.layers, c.input));
  std::vector<torch::Tensor> params;
  for (policies::NamedParameter& p : blas.parameters()) {
    params.push_back(torch::from_blob(p.values.data(), p.shape, torch::kFloat32).clone().requires_grad_(true));
  }
  // Binary-ish images as MinAtar and Atari frames are: mostly background.
  const torch::Tensor x = (torch::rand({c.batch, c.input.size()}) < 0.1).to(torch::kFloat32);
  const float* input = x.data_ptr<float>();
  const auto [actor_calls, reference_calls] = BestOfInterleaved(
      duration, [&] { blas.Forward(input, c.batch); },
      [&] {
        torch::NoGradGuard no_grad;
        torso.Forward(x, params);
      });
  const double actor = c.batch * actor_calls;
  const double reference = c.batch * reference_calls;
  const double train = c.batch * CallsPerSecond(duration, [&] {
    for (torch::Tensor& p : params) p.mutable_grad() = torch::Tensor();
    torso.Forward(x, params).sum().backward();
  });
  const int64_t macs = policies::TorsoMultiplyAdds(c.layers, *policies::TorsoShapes(c.layers, c.input));
  std::fprintf(stderr,
               "bench torso %s on %s, batch %ld: actor %.0f samples/s, LibTorch forward %.0f (actor at %.0f%%), "
               "LibTorch forward+backward %.0f; %.1f M multiply-adds per sample\n",
               c.name.c_str(), policies::ImageShapeString(c.input).c_str(), static_cast<long>(c.batch), actor,
               reference, 100 * actor / reference, train, macs / 1e6);
  return absl::StrFormat(
      "{\"torso\": \"%s\", \"input\": \"%s\", \"batch\": %d, \"actor_samples_per_second\": %.1f, "
      "\"libtorch_samples_per_second\": %.1f, \"actor_fraction_of_libtorch\": %.3f, "
      "\"libtorch_train_samples_per_second\": %.1f, \"multiply_adds_per_sample\": %d}",
      c.name, policies::ImageShapeString(c.input), c.batch, actor, reference, actor / reference, train, macs);
}

absl::Status Run() {
  const double seconds = absl::GetFlag(FLAGS_bench_seconds);
  const absl::Duration duration = absl::Seconds(seconds > 0 ? seconds : 1);
  SetBlasThreads(1);
  at::set_num_threads(1);
  const std::string load_before = LoadAverage();
  std::vector<Case> cases;
  // Batch 1 (one env), and 8 to 256, the envs an actor steps together.
  for (int64_t batch : {1, 8, 32, 256}) {
    cases.push_back({"minatar_cnn", policies::MinAtarCnnLayers(), {4, 10, 10}, batch});
  }
  for (int64_t batch : {1, 8, 32, 256}) {
    cases.push_back({"nature_cnn", policies::NatureCnnLayers(), {4, 84, 84}, batch});
  }
  for (int64_t batch : {1, 8, 32}) {
    cases.push_back({"impala_resnet", policies::ImpalaResnetLayers(), {3, 64, 64}, batch});
  }
  std::vector<std::string> results;
  for (const Case& c : cases) {
    ASSIGN_OR_RETURN(std::string result, RunCase(c, duration));
    results.push_back(std::move(result));
  }
  // Forward samples/s are each side's best of `forward_rounds` interleaved
  // rounds (BestOfInterleaved).
  std::printf(
      "{\"bench\": \"torso\", \"cores\": %d, \"load_average_1m_before\": %s, \"load_average_1m_after\": %s, "
      "\"forward_rounds\": %d, \"cases\": [%s]}\n",
      OnlineCores(), load_before.c_str(), LoadAverage().c_str(), kRounds, absl::StrJoin(results, ", ").c_str());
  return absl::OkStatus();
}

}  // namespace

int RunTorsoBench() {
  absl::Status status;
  try {
    status = Run();
  } catch (const c10::Error& e) {
    status = absl::InternalError(e.what_without_backtrace());
  }
  if (!status.ok()) {
    std::fprintf(stderr, "rill bench torso: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}

}  // namespace rill::bench
