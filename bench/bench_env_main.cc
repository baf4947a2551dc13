// Runs the env benchmark on its own (the same as `rill bench env`).
#include "absl/flags/parse.h"
#include "bench/bench_env.h"

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return rill::bench::RunEnvBench();
}
