// Runs the learner benchmark on its own (the same as `rill bench learner`).
#include "absl/flags/parse.h"
#include "bench/bench_learner.h"

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return rill::bench::RunLearnerBench();
}
