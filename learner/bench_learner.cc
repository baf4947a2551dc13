#include "learner/bench_learner.h"

#include <algorithm>
#include <cstdint>
#include <iostream>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/flags.h"
#include "common/status_macros.h"
#include "learner/networks.h"
#include "learner/sac.h"
#include "torch/torch.h"

ABSL_FLAG(std::string, algo, "sac", "Algorithm whose update the learner benchmark times (only \"sac\").");
ABSL_FLAG(int, obs_dim, 17, "Observation size of the benchmarked networks.");
ABSL_FLAG(int, act_dim, 6, "Action size of the benchmarked networks.");
ABSL_FLAG(int, batch, 256, "Transitions per benchmarked update.");
ABSL_FLAG(int, bench_threads, 0, "Intra-op threads for the benchmark (0: all cores).");

namespace rill::learner {
namespace {

// Runs `step` repeatedly for about `seconds` (after `warmup` calls) and
// returns calls per second. `sync` waits for the device to finish.
template <typename Step, typename Sync>
double Rate(double seconds, int warmup, Step step, Sync sync) {
  for (int i = 0; i < warmup; ++i) step();
  sync();
  int64_t calls = 0;
  const absl::Time start = absl::Now();
  const absl::Time end = start + absl::Seconds(seconds);
  absl::Time now = start;
  while (now < end) {
    for (int i = 0; i < 10; ++i) step();
    calls += 10;
    sync();
    now = absl::Now();
  }
  return static_cast<double>(calls) / absl::ToDoubleSeconds(now - start);
}

absl::Status Run() {
  const std::string algo = absl::GetFlag(FLAGS_algo);
  if (algo != "sac") return absl::InvalidArgumentError(absl::StrCat("--algo=", algo, " is not benchmarked (only sac)"));
  const int batch = absl::GetFlag(FLAGS_batch);
  double seconds = absl::GetFlag(FLAGS_bench_seconds);
  if (seconds == 0) seconds = 10;  // the flag is shared with other benchmarks
  if (batch <= 0) return absl::InvalidArgumentError("--batch must be positive");
  if (!(seconds > 0)) return absl::InvalidArgumentError("--bench_seconds must be positive");
  int threads = absl::GetFlag(FLAGS_bench_threads);
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(threads);
  const std::string blas_core = EnsureFastOpenBlasKernels();

  SacOptions options;
  options.obs_dim = absl::GetFlag(FLAGS_obs_dim);
  options.act_dim = absl::GetFlag(FLAGS_act_dim);
  options.device = torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  ASSIGN_OR_RETURN(std::unique_ptr<Sac> sac, Sac::Create(options));

  const auto float_options = torch::TensorOptions().dtype(torch::kFloat32).device(options.device);
  TransitionBatch transitions;
  transitions.obs = torch::randn({batch, options.obs_dim}, float_options);
  transitions.action = torch::rand({batch, options.act_dim}, float_options).mul_(2).sub_(1);
  transitions.reward = torch::randn({batch}, float_options);
  transitions.terminated = torch::rand({batch}, float_options).lt(0.05).to(torch::kFloat32);
  transitions.next_obs = torch::randn({batch, options.obs_dim}, float_options);

  absl::Status update_status;
  auto update = [&] {
    if (update_status.ok()) update_status = sac->Update(transitions);
  };
  // Reading the stats waits for the device.
  auto sync_sac = [&] { (void)sac->LastStats(); };
  const double updates_per_second = Rate(seconds, 20, update, sync_sac);
  RETURN_IF_ERROR(update_status);
  const SacStats stats = sac->LastStats();

  // The reference: a 256x256 matmul on the same threads and device.
  torch::Tensor a = torch::randn({256, 256}, float_options);
  torch::Tensor b = torch::randn({256, 256}, float_options);
  torch::Tensor c = torch::empty({256, 256}, float_options);
  auto matmul = [&] { torch::mm_out(c, a, b); };
  auto sync_matmul = [&] { (void)c[0][0].item<float>(); };
  const double matmuls_per_second = Rate(std::clamp(seconds / 4, 0.5, 3.0), 50, matmul, sync_matmul);
  const double matmul_gflops = 2.0 * 256 * 256 * 256 * matmuls_per_second / 1e9;

  // FLOPs of one update, counted from the matmul shapes (2*M*N*K each): the
  // actor forward over s' and s (2B rows), three twin-critic forwards (target
  // on s', online on the replay actions, online on the policy's actions), the
  // critics' weight gradients and their input gradients for layers >= 1, the
  // input gradients through the critics for the actor (layers >= 1 plus the
  // action columns of the first layer), and the actor's weight gradients and
  // input gradients for layers >= 1 (B rows). Element-wise work is not
  // counted. For 17/6/256x256/B=256 this is 577.1 MFLOP; see
  // Sac::UpdateMatmulFlops.
  const int64_t flops_per_update = Sac::UpdateMatmulFlops(options, batch);
  const double achieved_gflops = static_cast<double>(flops_per_update) * updates_per_second / 1e9;
  const std::string device = options.device.is_cuda() ? "cuda" : "cpu";

  std::cerr << absl::StrFormat(
      "learner bench: SAC obs %d act %d hidden 256x256 batch %d on %s, %d threads (OpenBLAS core: %s)\n"
      "  %.1f updates/s, %.2f MFLOP/update -> %.1f GFLOP/s; 256x256 matmul %.1f GFLOP/s (%.0f%%)\n"
      "  last update: critic loss %.4f, actor loss %.4f, alpha %.4f\n",
      options.obs_dim, options.act_dim, batch, device, threads, blas_core.empty() ? "n/a" : blas_core,
      updates_per_second, flops_per_update / 1e6, achieved_gflops, matmul_gflops,
      100 * achieved_gflops / matmul_gflops, stats.critic_loss, stats.actor_loss, stats.alpha);
  std::cout << absl::StrFormat(
                   "{\"algo\":\"sac\",\"obs_dim\":%d,\"act_dim\":%d,\"batch\":%d,\"threads\":%d,\"device\":\"%s\","
                   "\"updates_per_second\":%.2f,\"achieved_gflops\":%.3f,\"matmul_gflops\":%.3f,"
                   "\"flops_per_update\":%d,\"fraction_of_matmul\":%.4f}",
                   options.obs_dim, options.act_dim, batch, threads, device, updates_per_second, achieved_gflops,
                   matmul_gflops, flops_per_update, achieved_gflops / matmul_gflops)
            << std::endl;
  return absl::OkStatus();
}

}  // namespace

int RunLearnerBench() {
  absl::Status status = Run();
  if (!status.ok()) {
    std::cerr << "learner bench failed: " << status << std::endl;
    return 1;
  }
  return 0;
}

}  // namespace rill::learner
