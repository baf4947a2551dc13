#include <algorithm>
#include <chrono>
#include <iostream>
#include "learner/sac.h"
namespace rill::learner { extern double g_phase[8]; }
using namespace rill::learner;
int main(int argc, char** argv) {
  torch::set_num_threads(argc > 1 ? atoi(argv[1]) : 2);
  EnsureFastOpenBlasKernels();
  SacOptions o; o.obs_dim = 17; o.act_dim = 6;
  auto sac = std::move(Sac::Create(o)).value();
  int B = 256;
  TransitionBatch t{torch::randn({B,17}), torch::rand({B,6})*2-1, torch::randn({B}), torch::zeros({B}), torch::randn({B,17})};
  for (int i = 0; i < 100; ++i) (void)sac->Update(t);
  double best = 1e9, best_phase[8];
  for (int w = 0; w < 30; ++w) {
    for (double& p : g_phase) p = 0;
    auto t0 = std::chrono::steady_clock::now();
    const int N = 40;
    for (int i = 0; i < N; ++i) (void)sac->Update(t);
    double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / N;
    if (el < best) { best = el; for (int i = 0; i < 8; ++i) best_phase[i] = g_phase[i] / N; }
  }
  std::cout << "best window: updates/s " << 1 / best << "  us/update " << best * 1e6 << std::endl;
  const char* names[] = {"actor fwd+logp", "target", "critic fwd+bwd", "critic adam", "pi critic fwd", "pi critic bwd", "actor bwd+adam", "alpha+polyak"};
  for (int i = 0; i < 8; ++i) std::cout << "  " << names[i] << ": " << best_phase[i] * 1e6 << " us\n";
}
