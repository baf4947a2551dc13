// `rill-actor`: an actor (or, with --eval, the evaluator) on its own, linked
// without LibTorch: its policy's forward is OpenBLAS's sgemm
// (policies/blas_mlp.h), and in central mode it runs no policy at
// all. `rill actor` execs it when it sits next to the `rill` binary
// (cli/rill_main.cc), so that an actor process does not map LibTorch. It
// takes exactly the flags of `rill actor`.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "roles/actor_main.h"
#include "common/lock_order.h"
#include "common/malloc_tuning.h"
#include "common/tls.h"
#include "flags/tls_flags.h"

int main(int argc, char** argv) {
  rill::ConfigureLockOrderChecking();  // before any thread or mutex: see common/lock_order.h
  rill::TuneMallocForLargeMessages();   // see common/malloc_tuning.h
  absl::SetProgramUsageMessage(
      "rill-actor: one actor, or with --eval the evaluator; the same as `rill actor`.\n"
      "usage: rill-actor --config=FILE --replay_address=HOST:PORT[,...] --learner_address=HOST:PORT\n"
      "                  [--actor_id --eval --actor_max_env_steps --metrics_port --host --seed --ready_fd\n"
      "                   --tls_cert --tls_key --tls_ca]");
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() > 1) {
    std::fprintf(stderr, "rill actor: unexpected argument '%s'\n", positional[1]);
    return 2;
  }
  const absl::Status tls = rill::ConfigureTlsFromFlags();
  if (!tls.ok()) {
    std::fprintf(stderr, "rill actor: %s\n", std::string(tls.message()).c_str());
    return 2;
  }
  return rill::roles::ActorMain();
}
