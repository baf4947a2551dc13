#include "tools/launcher.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/config.h"
#include "common/flags.h"
#include "common/grpc_util.h"
#include "common/logging.h"
#include "common/metrics_scrape.h"
#include "common/process.h"
#include "common/role.h"
#include "tools/child_process.h"

ABSL_FLAG(int32_t, num_actors, -1, "Actors to start; -1 uses the config's topology.num_actors.");
ABSL_FLAG(int64_t, max_env_steps, -1, "Stop after this many env steps over all actors; -1 uses the config.");
ABSL_FLAG(std::string, summary_json, "", "Write the run's summary JSON here at the end.");
ABSL_FLAG(std::string, run_dir, "", "Folder for logs and checkpoints; default .rill-runs/<name>-<time>.");
ABSL_FLAG(absl::Duration, progress_every, absl::Seconds(5), "Interval between progress lines.");
ABSL_FLAG(absl::Duration, start_timeout, absl::Seconds(60), "How long each process may take to become ready.");
ABSL_FLAG(int32_t, max_actor_restarts, 5, "Restarts allowed per actor before the run fails.");
ABSL_FLAG(int32_t, num_replay_shards, -1, "Replay shards to start; -1 uses the config's topology.num_replay_shards.");
ABSL_FLAG(int32_t, max_replay_restarts, 5, "Restarts allowed per replay shard before the run fails.");

namespace rill::tools {
namespace {

constexpr absl::Duration kTick = absl::Milliseconds(250);
constexpr absl::Duration kScrapeTimeout = absl::Seconds(2);

struct Role {
  std::unique_ptr<ChildProcess> process;
  std::vector<std::string> args;
  std::string log_path;
  int grpc_port = 0;
  int metrics_port = 0;
  // Actors: this actor's step budget, steps done by earlier incarnations and
  // by the current one (last scrape), restarts so far.
  int64_t budget = 0;
  int64_t earlier_steps = 0;
  int64_t current_steps = 0;
  int restarts = 0;
  bool finished = false;
};

std::string SelfBinary() {
  std::error_code error;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  return error ? std::string("rill") : self.string();
}

absl::Status StartRole(const std::string& name, Role& role) {
  RILL_LOG(INFO) << "starting " << name;
  auto child = ChildProcess::Start(name, SelfBinary(), role.args, role.log_path);
  if (!child.ok()) return child.status();
  role.process = std::move(*child);
  auto ports = role.process->WaitReady(absl::GetFlag(FLAGS_start_timeout));
  if (!ports.ok()) return ports.status();
  role.grpc_port = (*ports)["grpc_port"];
  role.metrics_port = (*ports)["metrics_port"];
  if (role.grpc_port > 0) {
    auto channel = MakeChannel(absl::StrCat("127.0.0.1:", role.grpc_port), 1 << 20);
    absl::Status health = CheckHealth(*channel, absl::Seconds(10));
    if (!health.ok()) return absl::UnavailableError(absl::StrCat(name, " is not healthy: ", health.message()));
  }
  return absl::OkStatus();
}

MetricSamples Scrape(const Role& role) {
  if (role.metrics_port <= 0 || role.process == nullptr) return {};
  absl::StatusOr<MetricSamples> samples = ScrapeMetrics("127.0.0.1", role.metrics_port, kScrapeTimeout);
  return samples.ok() ? *samples : MetricSamples{};
}

std::string FormatCount(double value) {
  std::string digits = absl::StrFormat("%.0f", value);
  std::string out;
  int count = 0;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (count > 0 && count % 3 == 0 && *it != '-') out.insert(out.begin(), ',');
    out.insert(out.begin(), *it);
    ++count;
  }
  return out;
}

class Launch {
 public:
  Launch(v1::ExperimentConfig config, std::string run_dir) : config_(std::move(config)), run_dir_(std::move(run_dir)) {}
  int Run(absl::Notification& stop);

 private:
  std::vector<std::string> CommonArgs() const {
    return {absl::StrCat("--config=", absl::GetFlag(FLAGS_config)), absl::StrCat("--seed=", config_.seed()),
            "--host=127.0.0.1", "--port=0", "--metrics_port=0"};
  }
  int64_t EnvSteps() const {
    int64_t total = 0;
    for (const Role& actor : actors_) total += actor.earlier_steps + actor.current_steps;
    return total;
  }
  void RefreshActorSteps();
  // Restarts a replay shard that ended, on its old ports so that the
  // actors' writers and the learner's sampler find it again.
  absl::Status SuperviseReplay();
  void RefreshLearner(const MetricSamples& learner);
  // Reads the evaluator's latest round, if it has finished one.
  void RefreshEval();
  absl::Status SuperviseActors();
  void PrintProgress();
  void FinalEvaluation();
  void StopAll();
  absl::Status WriteSummary(const std::string& path);

  v1::ExperimentConfig config_;
  std::string run_dir_;
  std::vector<Role> replays_;
  Role learner_, evaluator_;
  std::vector<Role> actors_;
  absl::Time start_ = absl::Now();
  absl::Time last_progress_ = absl::Now();
  int64_t last_steps_ = 0;
  double last_updates_ = 0;
  double learner_updates_ = 0;
  double eval_return_ = 0;
  double eval_episodes_ = 0;
  double eval_version_ = 0;
  bool have_eval_ = false;
  absl::Time end_;
};

void Launch::RefreshActorSteps() {
  for (Role& actor : actors_) {
    if (actor.process == nullptr || actor.finished) continue;
    MetricSamples samples = Scrape(actor);
    if (HasMetric(samples, "rill_actor_env_steps_total")) {
      actor.current_steps = static_cast<int64_t>(SumMetric(samples, "rill_actor_env_steps_total"));
    }
  }
}

absl::Status Launch::SuperviseReplay() {
  for (size_t i = 0; i < replays_.size(); ++i) {
    Role& shard = replays_[i];
    std::optional<int> status = shard.process->Poll();
    if (!status.has_value()) continue;
    const std::string name = absl::StrCat("replay/", i);
    if (WIFEXITED(*status) && WEXITSTATUS(*status) == kExitBadInput) {
      return absl::InvalidArgumentError(absl::StrCat(name, " rejected its input (", ChildProcess::DescribeStatus(*status),
                                                     "):\n", shard.process->LogTail(10)));
    }
    if (shard.restarts >= absl::GetFlag(FLAGS_max_replay_restarts)) {
      return absl::AbortedError(absl::StrCat(name, " ended ", shard.restarts + 1, " times; last: ",
                                             ChildProcess::DescribeStatus(*status), "\n", shard.process->LogTail(10)));
    }
    ++shard.restarts;
    RILL_LOG(WARNING) << name << " ended (" << ChildProcess::DescribeStatus(*status) << "); restarting it (restart "
                      << shard.restarts << ") on port " << shard.grpc_port
                      << "; the actors write to the other shards meanwhile";
    std::printf("%s ended (%s); restarting it on port %d\n", name.c_str(),
                ChildProcess::DescribeStatus(*status).c_str(), shard.grpc_port);
    std::fflush(stdout);
    for (std::string& arg : shard.args) {
      if (arg == "--port=0" || absl::StartsWith(arg, "--port=")) arg = absl::StrCat("--port=", shard.grpc_port);
      if (arg == "--metrics_port=0" || absl::StartsWith(arg, "--metrics_port=")) {
        arg = absl::StrCat("--metrics_port=", shard.metrics_port);
      }
    }
    absl::Status started = StartRole(name, shard);
    if (!started.ok()) return started;
  }
  return absl::OkStatus();
}

absl::Status Launch::SuperviseActors() {
  for (size_t i = 0; i < actors_.size(); ++i) {
    Role& actor = actors_[i];
    if (actor.finished) continue;
    std::optional<int> status = actor.process->Poll();
    if (!status.has_value()) continue;
    if (WIFEXITED(*status) && WEXITSTATUS(*status) == 0) {
      // A clean exit means its step budget is spent; count it exactly.
      actor.current_steps = actor.budget - actor.earlier_steps;
      actor.finished = true;
      continue;
    }
    const std::string name = absl::StrCat("actor/", i);
    if (WIFEXITED(*status) && WEXITSTATUS(*status) == kExitBadInput) {
      return absl::InvalidArgumentError(absl::StrCat(name, " rejected its input (", ChildProcess::DescribeStatus(*status),
                                                     "):\n", actor.process->LogTail(10)));
    }
    if (actor.restarts >= absl::GetFlag(FLAGS_max_actor_restarts)) {
      return absl::AbortedError(absl::StrCat(name, " crashed ", actor.restarts + 1, " times; last: ",
                                             ChildProcess::DescribeStatus(*status), "\n", actor.process->LogTail(10)));
    }
    actor.earlier_steps += actor.current_steps;
    actor.current_steps = 0;
    ++actor.restarts;
    RILL_LOG(WARNING) << name << " ended (" << ChildProcess::DescribeStatus(*status) << "); restarting it (restart "
                      << actor.restarts << ") with " << actor.budget - actor.earlier_steps << " steps left";
    if (actor.budget > 0) {
      actor.args.back() = absl::StrCat("--actor_max_env_steps=", std::max<int64_t>(1, actor.budget - actor.earlier_steps));
    }
    absl::Status started = StartRole(name, actor);
    if (!started.ok()) return started;
  }
  return absl::OkStatus();
}

void Launch::RefreshLearner(const MetricSamples& learner) {
  if (HasMetric(learner, "rill_learner_updates_total")) learner_updates_ = SumMetric(learner, "rill_learner_updates_total");
}

void Launch::RefreshEval() {
  MetricSamples eval = Scrape(evaluator_);
  if (SumMetric(eval, "rill_eval_rounds_total") <= 0) return;
  have_eval_ = true;
  eval_return_ = SumMetric(eval, "rill_eval_return_mean");
  eval_episodes_ = SumMetric(eval, "rill_eval_episodes_total");
  eval_version_ = SumMetric(eval, "rill_eval_parameter_version");
}

void Launch::PrintProgress() {
  const absl::Time now = absl::Now();
  RefreshLearner(Scrape(learner_));
  RefreshEval();
  const double seconds = std::max(1e-3, absl::ToDoubleSeconds(now - last_progress_));
  const int64_t steps = EnvSteps();
  std::string line = absl::StrFormat("[%6.1fs] env steps %s (%.0f/s) | updates %s (%.0f/s)",
                                     absl::ToDoubleSeconds(now - start_), FormatCount(static_cast<double>(steps)),
                                     (steps - last_steps_) / seconds, FormatCount(learner_updates_),
                                     (learner_updates_ - last_updates_) / seconds);
  int shards_up = 0;
  double replay_items = 0;
  for (const Role& shard : replays_) {
    MetricSamples samples = Scrape(shard);
    if (!HasMetric(samples, "rill_replay_table_size")) continue;
    ++shards_up;
    replay_items += SumMetric(samples, "rill_replay_table_size");
  }
  absl::StrAppendFormat(&line, " | replay %d/%d shards up, %s items", shards_up, static_cast<int>(replays_.size()),
                        FormatCount(replay_items));
  if (have_eval_) {
    absl::StrAppendFormat(&line, " | eval return %.1f (version %.0f)", eval_return_, eval_version_);
  } else {
    line += " | eval return -";
  }
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
  last_progress_ = now;
  last_steps_ = steps;
  last_updates_ = learner_updates_;
}

void Launch::FinalEvaluation() {
  // The learner goes on until the rate limiter holds it (actors have stopped
  // inserting); then its newest version is final. Wait for the evaluator to
  // finish a round with that version.
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  double version = -1;
  absl::Time stable_since = absl::Now();
  while (absl::Now() < deadline) {
    MetricSamples learner = Scrape(learner_);
    RefreshLearner(learner);
    const double current = SumMetric(learner, "rill_learner_parameter_version");
    if (current != version) {
      version = current;
      stable_since = absl::Now();
    }
    RefreshEval();
    if (absl::Now() - stable_since >= absl::Seconds(1) && eval_version_ >= version) return;
    absl::SleepFor(kTick);
  }
  RILL_LOG(WARNING) << "no evaluation of the final version " << version << " within 60 s; reporting version "
                    << eval_version_;
}

void Launch::StopAll() {
  for (Role& actor : actors_) {
    if (actor.process) actor.process->Stop(absl::Seconds(20));
  }
  if (learner_.process) learner_.process->Stop(absl::Seconds(30));
  if (evaluator_.process) evaluator_.process->Stop(absl::Seconds(10));
  for (Role& shard : replays_) {
    if (shard.process) shard.process->Stop(absl::Seconds(10));
  }
}

absl::Status Launch::WriteSummary(const std::string& path) {
  const double wall = absl::ToDoubleSeconds(end_ - start_);
  const double steps = static_cast<double>(EnvSteps());
  int restarts = 0;
  for (const Role& actor : actors_) restarts += actor.restarts;
  int replay_restarts = 0;
  for (const Role& shard : replays_) replay_restarts += shard.restarts;
  std::string json = absl::StrFormat(
      "{\"env_steps\": %.0f, \"learner_updates\": %.0f, \"wall_seconds\": %.3f, \"env_steps_per_second\": %.3f, "
      "\"updates_per_second\": %.3f, \"eval_return_mean\": %s, \"eval_episodes\": %.0f, "
      "\"eval_parameter_version\": %.0f, \"num_actors\": %d, \"actor_restarts\": %d, \"replay_shards\": %d, "
      "\"replay_restarts\": %d, \"run_dir\": \"%s\"}",
      steps, learner_updates_, wall, steps / wall, learner_updates_ / wall,
      have_eval_ ? absl::StrFormat("%.3f", eval_return_) : std::string("null"), eval_episodes_, eval_version_,
      static_cast<int>(actors_.size()), restarts, static_cast<int>(replays_.size()), replay_restarts, run_dir_);
  std::printf("%s\n", json.c_str());
  if (path.empty()) return absl::OkStatus();
  std::ofstream out(path, std::ios::trunc);
  if (!out) return absl::PermissionDeniedError(absl::StrCat("cannot write summary '", path, "'"));
  out << json << "\n";
  return absl::OkStatus();
}

int Launch::Run(absl::Notification& stop) {
  const std::string logs = run_dir_ + "/logs";
  std::error_code error;
  std::filesystem::create_directories(logs, error);
  if (error) return ExitWith("run folder", absl::PermissionDeniedError(absl::StrCat("cannot create '", logs, "': ", error.message())));
  const int num_actors = config_.topology().num_actors();
  const int64_t max_steps = config_.max_env_steps();
  std::printf("rill launch: %s, %d replay shard(s), %d actors, %s env steps; logs in %s\n", config_.env().name().c_str(),
              config_.topology().num_replay_shards(), num_actors,
              max_steps > 0 ? FormatCount(static_cast<double>(max_steps)).c_str() : "unlimited", logs.c_str());
  std::fflush(stdout);

  absl::Status status = [&]() -> absl::Status {
    const int num_shards = config_.topology().num_replay_shards();
    const bool durable = config_.replay().durability().mode() != "none";
    replays_.resize(num_shards);
    std::vector<std::string> shard_addresses;
    for (int i = 0; i < num_shards; ++i) {
      Role& shard = replays_[i];
      shard.args = CommonArgs();
      shard.args.insert(shard.args.begin(), "replay");
      shard.args.push_back(absl::StrCat("--shard_index=", i));
      if (durable) shard.args.push_back(absl::StrCat("--checkpoint_dir=", run_dir_, "/replay-", i));
      shard.log_path = num_shards == 1 ? logs + "/replay.log" : absl::StrCat(logs, "/replay-", i, ".log");
      absl::Status started = StartRole(absl::StrCat("replay/", i), shard);
      if (!started.ok()) return started;
      shard_addresses.push_back(absl::StrCat("127.0.0.1:", shard.grpc_port));
    }
    // Every shard, in shard order: writers pick their home shard by actor
    // id, the learner samples them all.
    const std::string replay_address = absl::StrJoin(shard_addresses, ",");

    learner_.args = CommonArgs();
    learner_.args.insert(learner_.args.begin(), "learner");
    learner_.args.push_back(absl::StrCat("--replay_address=", replay_address));
    learner_.args.push_back(absl::StrCat("--checkpoint_dir=", run_dir_, "/checkpoints/learner"));
    learner_.log_path = logs + "/learner.log";
    absl::Status started = StartRole("learner", learner_);
    if (!started.ok()) return started;
    const std::string learner_address = absl::StrCat("127.0.0.1:", learner_.grpc_port);

    actors_.resize(num_actors);
    for (int i = 0; i < num_actors; ++i) {
      Role& actor = actors_[i];
      actor.budget = max_steps > 0 ? (max_steps + num_actors - 1 - i) / num_actors : 0;
      actor.args = CommonArgs();
      actor.args.insert(actor.args.begin(), "actor");
      actor.args.push_back(absl::StrCat("--replay_address=", replay_address));
      actor.args.push_back(absl::StrCat("--learner_address=", learner_address));
      actor.args.push_back(absl::StrCat("--actor_id=", i));
      actor.args.push_back(absl::StrCat("--actor_max_env_steps=", actor.budget));
      actor.log_path = absl::StrCat(logs, "/actor-", i, ".log");
      started = StartRole(absl::StrCat("actor/", i), actor);
      if (!started.ok()) return started;
    }
    evaluator_.args = CommonArgs();
    evaluator_.args.insert(evaluator_.args.begin(), "actor");
    evaluator_.args.push_back(absl::StrCat("--replay_address=", replay_address));
    evaluator_.args.push_back(absl::StrCat("--learner_address=", learner_address));
    evaluator_.args.push_back("--eval");
    evaluator_.log_path = logs + "/evaluator.log";
    started = StartRole("evaluator", evaluator_);
    if (!started.ok()) return started;
    std::printf("all processes ready after %.1fs: replay %s, learner :%d\n",
                absl::ToDoubleSeconds(absl::Now() - start_), replay_address.c_str(), learner_.grpc_port);
    std::fflush(stdout);

    const absl::Duration progress_every = absl::GetFlag(FLAGS_progress_every);
    while (!stop.WaitForNotificationWithTimeout(kTick)) {
      absl::Status replay_supervised = SuperviseReplay();
      if (!replay_supervised.ok()) return replay_supervised;
      for (Role* core : {&learner_, &evaluator_}) {
        std::optional<int> ended = core->process->Poll();
        if (ended.has_value()) {
          return absl::AbortedError(absl::StrCat(core->process->name(), " ended (", ChildProcess::DescribeStatus(*ended),
                                                 "); its log ends with:\n", core->process->LogTail(15)));
        }
      }
      absl::Status supervised = SuperviseActors();
      if (!supervised.ok()) return supervised;
      const bool all_done = max_steps > 0 && std::all_of(actors_.begin(), actors_.end(),
                                                         [](const Role& a) { return a.finished; });
      if (all_done || absl::Now() - last_progress_ >= progress_every) {
        RefreshActorSteps();
        PrintProgress();
      }
      if (all_done) {
        std::printf("reached %s env steps; final evaluation\n", FormatCount(static_cast<double>(EnvSteps())).c_str());
        std::fflush(stdout);
        FinalEvaluation();
        return absl::OkStatus();
      }
    }
    std::printf("interrupted; stopping all processes\n");
    std::fflush(stdout);
    RefreshActorSteps();
    return absl::OkStatus();
  }();
  end_ = absl::Now();
  StopAll();
  if (!status.ok()) {
    std::fprintf(stderr, "rill launch failed: %s\n", std::string(status.message()).c_str());
    return absl::IsInvalidArgument(status) ? kExitBadInput : kExitFailure;
  }
  absl::Status written = WriteSummary(absl::GetFlag(FLAGS_summary_json));
  if (!written.ok()) return ExitWith("summary", written);
  return 0;
}

}  // namespace

int LaunchMain() {
  absl::Notification& stop = InstallShutdownSignals();
  SetLogRole("launch");
  absl::StatusOr<v1::ExperimentConfig> config = LoadConfigFromFlags();
  if (!config.ok()) return ExitWith("bad config", config.status());
  if (absl::GetFlag(FLAGS_num_actors) == 0 || absl::GetFlag(FLAGS_num_actors) < -1) {
    return ExitWith("flags", absl::InvalidArgumentError("--num_actors must be >= 1 (or -1 for the config's)"));
  }
  if (absl::GetFlag(FLAGS_num_actors) > 0) config->mutable_topology()->set_num_actors(absl::GetFlag(FLAGS_num_actors));
  if (absl::GetFlag(FLAGS_max_env_steps) >= 0) config->set_max_env_steps(absl::GetFlag(FLAGS_max_env_steps));
  if (absl::GetFlag(FLAGS_num_replay_shards) == 0 || absl::GetFlag(FLAGS_num_replay_shards) < -1) {
    return ExitWith("flags", absl::InvalidArgumentError("--num_replay_shards must be >= 1 (or -1 for the config's)"));
  }
  if (absl::GetFlag(FLAGS_num_replay_shards) > 0) {
    config->mutable_topology()->set_num_replay_shards(absl::GetFlag(FLAGS_num_replay_shards));
  }
  std::string run_dir = absl::GetFlag(FLAGS_run_dir);
  if (run_dir.empty()) {
    run_dir = absl::StrCat(".rill-runs/", config->name().empty() ? "run" : config->name(), "-",
                           absl::FormatTime("%Y%m%d-%H%M%S", absl::Now(), absl::LocalTimeZone()));
  }
  // Children read the config file; write the effective one (with overrides)
  // into the run folder and point them at it.
  std::error_code error;
  std::filesystem::create_directories(run_dir, error);
  const std::string effective = run_dir + "/config.textpb";
  absl::Status written = WriteExperimentConfig(*config, effective);
  if (!written.ok()) return ExitWith("run folder", written);
  absl::SetFlag(&FLAGS_config, effective);
  Launch launch(*config, run_dir);
  return launch.Run(stop);
}

}  // namespace rill::tools
