// `rill-replay`: a replay shard on its own, linked without LibTorch and the
// other roles. `rill replay` execs it when it sits next to the `rill` binary
// (cli/rill_main.cc), so that a shard process does not map LibTorch: it
// starts at about 20 MB resident instead of 170 MB, which is most of what a
// shard holds beyond its items. It takes exactly the flags of `rill replay`.
//
// `rill-replay health --port=PORT` is `rill health` (roles/health_main.h)
// without LibTorch: a Kubernetes exec probe runs it every few seconds, and
// it starts in about 60 ms where `rill` takes about a CPU-second to load
// LibTorch.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "common/lock_order.h"
#include "common/malloc_tuning.h"
#include "common/tls.h"
#include "flags/tls_flags.h"
#include "roles/replay_main.h"
#include "roles/health_main.h"

int main(int argc, char** argv) {
  rill::ConfigureLockOrderChecking();  // before any thread or mutex: see common/lock_order.h
  rill::TuneMallocForLargeMessages();   // see common/malloc_tuning.h
  absl::SetProgramUsageMessage(
      "rill-replay: one replay shard (gRPC server); the same as `rill replay`.\n"
      "usage: rill-replay --config=FILE [--port --metrics_port --host --shard_index --checkpoint_dir --ready_fd\n"
      "                   --tls_cert --tls_key --tls_ca]\n"
      "       rill-replay health --port=PORT [--health_timeout --tls_cert --tls_key --tls_ca]");
  const bool health = argc >= 2 && std::strcmp(argv[1], "health") == 0;
  std::vector<char*> args = {argv[0]};
  for (int i = health ? 2 : 1; i < argc; ++i) args.push_back(argv[i]);
  std::vector<char*> positional = absl::ParseCommandLine(static_cast<int>(args.size()), args.data());
  const char* command = health ? "health" : "replay";
  if (positional.size() > 1) {
    std::fprintf(stderr, "rill %s: unexpected argument '%s'\n", command, positional[1]);
    return 2;
  }
  const absl::Status tls = rill::ConfigureTlsFromFlags();
  if (!tls.ok()) {
    std::fprintf(stderr, "rill %s: %s\n", command, std::string(tls.message()).c_str());
    return 2;
  }
  return health ? rill::roles::HealthMain() : rill::roles::ReplayMain();
}
