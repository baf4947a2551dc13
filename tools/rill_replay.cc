// `rill-replay`: a replay shard on its own, linked without LibTorch and the
// other roles. `rill replay` execs it when it sits next to the `rill` binary
// (tools/rill_main.cc), so that a shard process does not map LibTorch: it
// starts at about 20 MB resident instead of 170 MB, which is most of what a
// shard holds beyond its items. It takes exactly the flags of `rill replay`.
#include <cstdio>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "replay/replay_main.h"

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "rill-replay: one replay shard (gRPC server); the same as `rill replay`.\n"
      "usage: rill-replay --config=FILE [--port --metrics_port --host --shard_index --checkpoint_dir --ready_fd]");
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() > 1) {
    std::fprintf(stderr, "rill replay: unexpected argument '%s'\n", positional[1]);
    return 2;
  }
  return rill::replay::ReplayMain();
}
