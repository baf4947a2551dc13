// A stand-alone replay shard for tests; `rill replay` is the real entry point.
#include "absl/flags/parse.h"
#include "replay/replay_main.h"

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return rill::replay::ReplayMain();
}
