#include <iostream>
#include "learner/sac.h"
#include "torch/csrc/autograd/profiler_legacy.h"
namespace rill::learner { double g_phase_dummy; }
using namespace rill::learner;
int main(int argc, char** argv) {
  torch::set_num_threads(2);
  EnsureFastOpenBlasKernels();
  SacOptions o; o.obs_dim = 17; o.act_dim = 6;
  auto sac = std::move(Sac::Create(o)).value();
  int B = 256;
  TransitionBatch t{torch::randn({B,17}), torch::rand({B,6})*2-1, torch::randn({B}), torch::zeros({B}), torch::randn({B,17})};
  for (int i = 0; i < 200; ++i) (void)sac->Update(t);
  { torch::autograd::profiler::RecordProfile guard("/tmp/exp/trace2.json");
    for (int i = 0; i < 50; ++i) (void)sac->Update(t); }
}
