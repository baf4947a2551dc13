// The one `rill` binary: dispatches to each role's entry point. Every role's
// flags are absl flags (global), parsed here after the subcommand words.
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "roles/actor_main.h"
#include "bench/bench_env.h"
#include "roles/env_server_main.h"
#include "roles/envs_main.h"
#include "common/lock_order.h"
#include "common/malloc_tuning.h"
#include "common/os.h"
#include "common/tls.h"
#include "flags/tls_flags.h"
#include "bench/bench_learner.h"
#include "bench/bench_parameters.h"
#include "bench/bench_inference.h"
#include "roles/inference_main.h"
#include "roles/export_main.h"
#include "roles/learner_main.h"
#include "bench/bench_replay.h"
#include "bench/bench_torso.h"
#include "roles/info_main.h"
#include "roles/replay_main.h"
#include "roles/health_main.h"
#include "tools/launcher.h"

namespace {

constexpr char kUsage[] = R"(rill: a distributed actor-learner system for deep RL.

usage: rill <command> [--flags]

commands:
  launch          run replay, learner, actors and evaluator on this machine
  replay          one replay shard (gRPC server)
  replay info     a running shard's tables, rate limiters and last checkpoint
                  (--address=HOST:PORT)
  learner         the learner (training loop + parameter service)
  inference       central inference for the actors of a topology.inference
                  "central" run, on the parameters of --learner_address
  actor           one actor; with --eval, the evaluator
  export          a learner checkpoint's policy as TorchScript
                  (--checkpoint_dir=DIR --out=policy.pt)
  envs            the environments, with their spaces and time limits
  env-server      serve --env=ID (with --plugin=LIBRARY, the library's env) over
                  rill.v1.EnvService on --address=HOST:PORT (port 0: a free
                  one, printed as "listening on HOST:PORT") for actors with
                  env { remote { address: ... } }; [--max_episode_steps=T]
  health          whether the gRPC server on 127.0.0.1:--port is SERVING
                  (exit 0), as a Kubernetes probe of a TLS server asks it
  bench learner   update throughput of --algo=sac|td3|ddpg|sac_discrete
                  (JSON on the last line)
  bench replay    replay shard insert / sample throughput and memory per
                  stored byte, against a real shard process (JSON last line)
  bench env       env steps per second of --env=NAME, alone and in the actor
                  loop with its policy, against bare physics; with
                  --bench_env_server, in-process against behind the C++ env
                  server at 1 and 64 envs per stream (JSON last line)
  bench inference central inference's actions/s and round trip for 1..256
                  actor streams, against local inference (JSON last line)
  bench parameters
                  time for a new policy version to reach
                  --bench_subscribers=1000 subscribed actors (JSON last line)
  bench torso     the actors' conv forward (MinAtar, Nature, IMPALA ResNet
                  torsos) against LibTorch's on the same shapes, one core
                  each (JSON last line)

Common flags: --config=deploy/configs/pendulum_sac.textpb --port --metrics_port
--host --seed; --tls_cert --tls_key --tls_ca (PEM files) for mutual TLS on
every gRPC server and channel (`rill launch --tls` makes a throwaway set).
`rill <command> --helpfull` lists every flag.
)";

// `rill replay` and `rill actor`: replace this process with `binary`
// (rill-replay, rill-actor) from the same folder, the role linked without
// LibTorch (about 150 MB less resident memory per process). The pid, open
// descriptors (the ready pipe) and arguments carry over. Returns only when
// there is no such binary or the exec fails; the role then runs in this
// process.
void ExecTorchFreeRole(const char* binary, const char* command, int argc, char** argv, int consumed) {
  absl::StatusOr<std::string> self = rill::SelfBinary();
  if (!self.ok()) return;
  std::string path = self->substr(0, self->rfind('/') + 1) + binary;
  if (access(path.c_str(), X_OK) != 0) return;
  std::vector<char*> args = {path.data()};
  for (int i = consumed; i < argc; ++i) args.push_back(argv[i]);
  args.push_back(nullptr);
  execv(path.c_str(), args.data());
  std::fprintf(stderr, "rill %s: cannot run %s (%s); running it in this process\n", command, path.c_str(),
               std::strerror(errno));
}

int Usage() {
  std::fputs(kUsage, stderr);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  rill::ConfigureLockOrderChecking();  // before any thread or mutex: see common/lock_order.h
  rill::TuneMallocForLargeMessages();   // see common/malloc_tuning.h
  absl::SetProgramUsageMessage(kUsage);
  if (argc < 2 || std::strcmp(argv[1], "help") == 0 || std::strcmp(argv[1], "--help") == 0) return Usage();
  std::string command = argv[1];
  int consumed = 2;
  if (command == "bench") {
    if (argc < 3) return Usage();
    command = std::string("bench ") + argv[2];
    consumed = 3;
  } else if (command == "replay" && argc >= 3 && std::strcmp(argv[2], "info") == 0) {
    command = "replay info";
    consumed = 3;
  }
  if (command == "replay") ExecTorchFreeRole("rill-replay", "replay", argc, argv, consumed);
  if (command == "actor") ExecTorchFreeRole("rill-actor", "actor", argc, argv, consumed);
  std::vector<char*> args = {argv[0]};
  for (int i = consumed; i < argc; ++i) args.push_back(argv[i]);
  std::vector<char*> positional = absl::ParseCommandLine(static_cast<int>(args.size()), args.data());
  if (positional.size() > 1) {
    std::fprintf(stderr, "rill %s: unexpected argument '%s'\n", command.c_str(), positional[1]);
    return 2;
  }
  // Before any role makes a server or channel: every one of them then uses
  // the same TLS setting (plain text without the flags).
  const absl::Status tls = rill::ConfigureTlsFromFlags();
  if (!tls.ok()) {
    std::fprintf(stderr, "rill %s: %s\n", command.c_str(), std::string(tls.message()).c_str());
    return 2;
  }
  if (command == "launch") return rill::tools::LaunchMain();
  if (command == "replay") return rill::roles::ReplayMain();
  if (command == "replay info") return rill::roles::ReplayInfoMain();
  if (command == "learner") return rill::roles::LearnerMain();
  if (command == "actor") return rill::roles::ActorMain();
  if (command == "inference") return rill::roles::InferenceMain();
  if (command == "export") return rill::roles::ExportMain();
  if (command == "envs") return rill::roles::ListEnvsMain();
  if (command == "env-server") return rill::roles::EnvServerMain();
  if (command == "health") return rill::roles::HealthMain();
  if (command == "bench learner") return rill::bench::RunLearnerBench();
  if (command == "bench replay") return rill::bench::RunReplayBench();
  if (command == "bench env") return rill::bench::RunEnvBench();
  if (command == "bench parameters") return rill::bench::RunParameterBench();
  if (command == "bench inference") return rill::bench::RunInferenceBench();
  if (command == "bench torso") return rill::bench::RunTorsoBench();
  std::fprintf(stderr, "rill: unknown command '%s'\n\n", command.c_str());
  return Usage();
}
