// The one `rill` binary: dispatches to each role's entry point. Every role's
// flags are absl flags (global), parsed here after the subcommand words.
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
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
#include "roles/eval_main.h"
#include "roles/render_main.h"
#include "roles/export_main.h"
#include "roles/learner_main.h"
#include "bench/bench_replay.h"
#include "bench/bench_system.h"
#include "bench/bench_torso.h"
#include "roles/info_main.h"
#include "roles/replay_main.h"
#include "roles/health_main.h"
#include "flags/flags.h"
#include "cli/cli.h"
#include "cli/launch_role.h"
#include "cli/launcher.h"
#include "cli/sweep.h"
#include "cli/version.h"

namespace {

using rill::cli::Command;

// The shared flags (flags/flags.h) of the processes of a run: config,
// addresses, ports, the launcher's ready pipe and final metrics, TLS.
const std::vector<std::string> kTls = {"tls_cert", "tls_key", "tls_ca"};

std::vector<std::string> With(std::vector<std::string> flags, const std::vector<std::string>& more) {
  flags.insert(flags.end(), more.begin(), more.end());
  return flags;
}

// Every command: its name, what it does, its entry point, and the flags it
// reads (cli/cli.h). The overview lists them in this order.
const std::vector<Command>& Commands() {
  const std::vector<std::string> process = With(
      {"config", "host", "port", "metrics_port", "ready_fd", "final_metrics_file", "seed"}, kTls);
  static const auto* const kCommands = new std::vector<Command>{
      {"launch", "run replay, learner, actors and evaluator on this machine", rill::cli::LaunchMain,
       {"cli/launcher.cc"}, With({"config", "seed", "num_learners", "set", "ready_fd"}, kTls)},
      {"sweep",
       "a grid of runs: every combination of --set=\"PATH=V1,V2;...\" for every seed of --seeds=1-5, each a launch "
       "with its own run folder, then a comparison (table of final and best returns, wall and steps/s with their "
       "spread per setting; a plot of the mean curves)",
       rill::cli::SweepMain, {"cli/sweep.cc"}, {"config", "max_env_steps", "num_actors", "plot_python", "set"}},
      {"replay", "one replay shard (gRPC server)", rill::roles::ReplayMain, {"roles/replay_main.cc"},
       With(process, {"checkpoint_dir"})},
      {"replay info", "a running shard's tables, rate limiters and last checkpoint (--address=HOST:PORT)",
       rill::roles::ReplayInfoMain, {"roles/info_main.cc"}, With({"address"}, kTls)},
      {"learner", "the learner (training loop + parameter service)", rill::roles::LearnerMain,
       {"roles/learner_main.cc"}, With(process, {"checkpoint_dir", "replay_address", "scalars_file"})},
      {"inference",
       "central inference for the actors of a topology.inference \"central\" run, on the parameters of "
       "--learner_address",
       rill::roles::InferenceMain, {"roles/inference_main.cc"}, With(process, {"learner_address"})},
      {"actor", "one actor; with --eval, the evaluator", rill::roles::ActorMain, {"roles/actor_main.cc"},
       With(process, {"replay_address", "learner_address", "scalars_file", "env_address"})},
      {"export",
       "a learner checkpoint's policy as TorchScript or ONNX (--checkpoint_dir=DIR --out=policy.pt or "
       "--out=policy.onnx; --format=torchscript|onnx)",
       rill::roles::ExportMain, {"roles/export_main.cc"}, {"checkpoint_dir", "out", "format"}},
      {"eval",
       "play a checkpoint's policy (--checkpoint_dir: a run folder, its checkpoints/learner or one checkpoint) for "
       "--episodes=N episodes and print the mean return and its spread; cross-play of two MADDPG runs with "
       "--opponent_checkpoint_dir=B --opponent_agents=agent_0,... (those agents play B's networks); head to head "
       "of a two-player game's shared policies (PongDuel-v0) with --opponent_checkpoint_dir=B alone (seats "
       "alternating; wins, draws, losses and the Elo difference); a run of remote envs on the server its "
       "env.remote.command starts (as launch does, stopped at the end) or on --env_address=HOST:PORT",
       rill::roles::EvalMain, {"roles/eval_main.cc"}, {"checkpoint_dir", "config", "seed", "episodes", "env_address"}},
      {"render",
       "play a checkpoint's policy (--checkpoint_dir, as eval) for --episodes=N episodes (default 1) and write what "
       "the env shows as an MP4 (--out=episode.mp4, --size=480x480, --camera, --fps; needs ffmpeg); remote envs "
       "as eval plays them (env.remote.command's server, or --env_address)",
       rill::roles::RenderMain, {"roles/render_main.cc"},
       {"checkpoint_dir", "config", "seed", "episodes", "out", "env_address"}},
      {"envs", "the environments, with their spaces and time limits, and which render from which cameras", rill::roles::ListEnvsMain,
       {"roles/envs_main.cc"}, {"plugin"}},
      {"env-server",
       "serve --env=ID (with --plugin=LIBRARY, the library's env) over rill.v1.EnvService on --address=HOST:PORT "
       "(port 0: a free one, printed as \"listening on HOST:PORT\") for actors with env { remote { address: ... } }; "
       "[--max_episode_steps=T]",
       rill::roles::EnvServerMain, {"roles/env_server_main.cc"}, With({"env", "plugin", "address", "ready_fd"}, kTls)},
      {"health",
       "whether the gRPC server on 127.0.0.1:--port is SERVING (exit 0), as a Kubernetes probe of a TLS server asks it",
       rill::roles::HealthMain, {"roles/health_main.cc"}, With({"port"}, kTls)},
      {"bench learner", "update throughput of --algo=sac|td3|ppo|dsac_t|droq|crossq|... (JSON on the last line)",
       rill::bench::RunLearnerBench, {"bench/bench_learner.cc", "bench/torso_flags.cc"},
       {"bench_seconds", "num_learners"}},
      {"bench replay",
       "replay shard insert / sample throughput and memory per stored byte, against a real shard process (JSON last "
       "line)",
       rill::bench::RunReplayBench, {"bench/bench_replay.cc"}, {"bench_seconds"}},
      {"bench env",
       "env steps per second of --env=NAME, alone and in the actor loop with its policy, against bare physics; with "
       "--render=WxH, frames drawn per second against the same env's steps; with --bench_env_server, in-process "
       "against behind the C++ env server at 1 and 64 envs per stream; with --bench_agents_vs_single, a multi-agent "
       "env's actor loop per agent-step against single-agent envs of one agent's size (JSON last line)",
       rill::bench::RunEnvBench, {"bench/bench_env.cc", "bench/torso_flags.cc"}, {"bench_seconds", "env", "plugin"}},
      {"bench inference",
       "central inference's actions/s and round trip for 1..256 actor streams, against local inference (JSON last "
       "line)",
       rill::bench::RunInferenceBench, {"bench/bench_inference.cc", "bench/torso_flags.cc"}, {"bench_seconds"}},
      {"bench parameters",
       "time for a new policy version to reach --bench_subscribers=1000 subscribed actors; with "
       "--bench_followers=N, what following the learner costs N actors on its host over gRPC and through the "
       "shared region (JSON last line)",
       rill::bench::RunParameterBench, {"bench/bench_parameters.cc"}, {"bench_seconds"}},
      {"bench torso",
       "the actors' conv forward (MinAtar, Nature, IMPALA ResNet torsos) against LibTorch's on the same shapes, one "
       "core each (JSON last line)",
       rill::bench::RunTorsoBench, {"bench/bench_torso.cc", "bench/torso_flags.cc"}, {"bench_seconds"}},
      {"bench system",
       "--config=NAME's run for --bench_seconds (default 30) after a warm-up, against its roofline: the env steps/s "
       "the machine's cores would make if they did only the config's env step, policy forward, learner updates and "
       "the run's other processes, each timed alone (JSON last line)",
       rill::bench::RunSystemBench, {"bench/bench_system.cc"}, {"bench_seconds", "config"}},
  };
  return *kCommands;
}

// `rill replay` and `rill actor`: replace this process with the role's
// TorchFreeBinary (cli/launch_role.h), the role linked without LibTorch.
// The pid, open descriptors (the ready pipe) and arguments carry over.
// Returns only when there is no such binary or the exec fails; the role
// then runs in this process.
void ExecTorchFreeRole(const std::string& command, int argc, char** argv, int consumed) {
  std::optional<std::string> path = rill::cli::TorchFreeBinary(command);
  if (!path.has_value()) return;
  std::vector<char*> args = {path->data()};
  for (int i = consumed; i < argc; ++i) args.push_back(argv[i]);
  args.push_back(nullptr);
  execv(path->c_str(), args.data());
  std::fprintf(stderr, "rill %s: cannot run %s (%s); running it in this process\n", command.c_str(), path->c_str(),
               std::strerror(errno));
}

}  // namespace

namespace {

// RILL_CHECK_COMMAND_LINES=FILE: checks each line of FILE (a command line's
// words after `rill`, separated by tabs) as rill would before running it,
// prints each problem ("line N: ...": an unknown command or flag, a flag
// of another command) and runs nothing: 0 when there is none, 1 otherwise.
// tests/cli_test.cc checks every command line the README and docs show.
int CheckCommandLines(const std::vector<Command>& commands, const char* path) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "rill: cannot read %s\n", path);
    return 2;
  }
  int problems = 0;
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    std::vector<std::string> words = absl::StrSplit(line, '\t', absl::SkipEmpty());
    if (words.empty()) continue;
    // What main answers before it looks for a command: `rill help [COMMAND]`
    // (the command is checked), --version, --helpfull.
    const std::string& first = words[0];
    if (first == "--version" || first == "-version" || first == "version" || first == "--helpfull") continue;
    if (first == "help" || first == "--help" || first == "-h" || first == "-help") {
      if (words.size() == 1) continue;
      words.erase(words.begin());
      if (!rill::cli::MatchCommand(commands, words).has_value()) {
        std::printf("line %d: %s\n", number, rill::cli::UnknownCommandMessage(commands, words).c_str());
        ++problems;
      }
      continue;
    }
    std::optional<rill::cli::CommandMatch> match = rill::cli::MatchCommand(commands, words);
    if (!match.has_value()) {
      std::printf("line %d: %s\n", number, rill::cli::UnknownCommandMessage(commands, words).c_str());
      ++problems;
      continue;
    }
    const std::vector<std::string> args(words.begin() + match->words, words.end());
    std::vector<std::string> warnings;
    const absl::Status names = rill::cli::CheckFlagNames(*match->command, commands, args, &warnings);
    if (!names.ok()) warnings.emplace_back(names.message());
    for (const std::string& warning : warnings) {
      std::printf("line %d: rill %s: %s\n", number, match->command->name.c_str(), warning.c_str());
      ++problems;
    }
  }
  return problems == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  rill::ConfigureLockOrderChecking();  // before any thread or mutex: see common/lock_order.h
  rill::TuneMallocForLargeMessages();   // see common/malloc_tuning.h
  const std::vector<Command>& commands = Commands();
  if (const char* lines = std::getenv("RILL_CHECK_COMMAND_LINES"); lines != nullptr && *lines != '\0') {
    return CheckCommandLines(commands, lines);
  }
  std::vector<std::string> words(argv + 1, argv + argc);
  if (words.empty()) {
    std::fputs(rill::cli::Overview(commands).c_str(), stderr);
    return 2;
  }
  if (words[0] == "help" || words[0] == "--help" || words[0] == "-h" || words[0] == "-help") {
    if (words.size() == 1) {
      std::fputs(rill::cli::Overview(commands).c_str(), stdout);
      return 0;
    }
    // `rill help launch`, `rill help bench learner`.
    const std::vector<std::string> asked(words.begin() + 1, words.end());
    std::optional<rill::cli::CommandMatch> match = rill::cli::MatchCommand(commands, asked);
    if (!match.has_value()) {
      std::fprintf(stderr, "%s\n", rill::cli::UnknownCommandMessage(commands, asked).c_str());
      return 2;
    }
    std::fputs(rill::cli::CommandHelp(*match->command).c_str(), stdout);
    return 0;
  }
  if (words[0] == "--version" || words[0] == "-version" || words[0] == "version") {
    std::printf("rill %s\n", rill::cli::BuildCommit().c_str());
    return 0;
  }
  if (words[0] == "--helpfull") {
    for (const Command& command : commands) std::printf("%s\n", rill::cli::CommandHelp(command).c_str());
    return 0;
  }
  std::optional<rill::cli::CommandMatch> match = rill::cli::MatchCommand(commands, words);
  if (!match.has_value()) {
    std::fprintf(stderr, "%s\n", rill::cli::UnknownCommandMessage(commands, words).c_str());
    return 2;
  }
  const Command& command = *match->command;
  const int consumed = 1 + match->words;
  const std::vector<std::string> args(argv + consumed, argv + argc);
  if (rill::cli::AsksForHelp(args)) {
    std::fputs(rill::cli::CommandHelp(command).c_str(), stdout);
    return 0;
  }
  std::vector<std::string> warnings;
  const absl::Status names = rill::cli::CheckFlagNames(command, commands, args, &warnings);
  if (!names.ok()) {
    std::fprintf(stderr, "rill %s: %s\n", command.name.c_str(), std::string(names.message()).c_str());
    return 2;
  }
  for (const std::string& warning : warnings) std::fprintf(stderr, "rill %s: %s\n", command.name.c_str(), warning.c_str());
  ExecTorchFreeRole(command.name, argc, argv, consumed);
  absl::FlagsUsageConfig usage;
  usage.version_string = [] { return absl::StrCat("rill ", rill::cli::BuildCommit(), "\n"); };
  absl::SetFlagsUsageConfig(usage);
  absl::SetProgramUsageMessage(rill::cli::CommandHelp(command));
  std::vector<char*> parse_args = {argv[0]};
  for (int i = consumed; i < argc; ++i) parse_args.push_back(argv[i]);
  std::vector<char*> positional = absl::ParseCommandLine(static_cast<int>(parse_args.size()), parse_args.data());
  if (positional.size() > 1) {
    std::fprintf(stderr, "rill %s: unexpected argument '%s'\n", command.name.c_str(), positional[1]);
    return 2;
  }
  // A config by name ("pendulum_sac"), from any folder.
  const std::vector<std::string> flags = rill::cli::CommandFlagNames(command);
  if (std::binary_search(flags.begin(), flags.end(), "config")) {
    absl::StatusOr<std::string> self = rill::SelfBinary();
    absl::StatusOr<std::string> config = rill::cli::FindConfig(absl::GetFlag(FLAGS_config), self.ok() ? *self : "");
    // The default config may not be there (an install without the stock
    // configs): only a command that reads it says so.
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag("config");
    if (!config.ok() && flag != nullptr && absl::GetFlag(FLAGS_config) != flag->DefaultValue()) {
      std::fprintf(stderr, "rill %s: %s\n", command.name.c_str(), std::string(config.status().message()).c_str());
      return 2;
    }
    if (config.ok()) absl::SetFlag(&FLAGS_config, *config);
  }
  // Before any role makes a server or channel: every one of them then uses
  // the same TLS setting (plain text without the flags).
  const absl::Status tls = rill::ConfigureTlsFromFlags();
  if (!tls.ok()) {
    std::fprintf(stderr, "rill %s: %s\n", command.name.c_str(), std::string(tls.message()).c_str());
    return 2;
  }
  return command.main();
}
