#include "bench/bench_system.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "actor/action_sources/fixed.h"
#include "actor/action_sources/row_subset.h"
#include "actor/lockstep_envs.h"
#include "bench/random_batch.h"
#include "common/blas.h"
#include "common/child_process.h"
#include "common/os.h"
#include "common/status_macros.h"
#include "envs/catalog.h"
#include "experiment/config.h"
#include "experiment/policies.h"
#include "flags/flags.h"
#include "learner/algorithms/registry.h"
#include "learner/algorithms/spec.h"
#include "torch/torch.h"

ABSL_FLAG(double, bench_warmup_seconds, 10,
          "`rill bench system`: seconds of the run (after its first learner update) left out before the "
          "measured window.");

namespace rill::bench {
namespace {

// One process of the tree: its parent, its role and its CPU seconds.
struct ProcessCpu {
  int parent = 0;
  std::string role;
  double seconds = 0;
};

std::optional<std::string> ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::string RoleOfCommandLine(const std::string& cmdline) {
  const std::vector<std::string> args = absl::StrSplit(cmdline, '\0', absl::SkipEmpty());
  const std::string binary = std::filesystem::path(args.empty() ? "" : args[0]).filename().string();
  // The evaluator is an actor started with --eval (cli/run_plan.cc).
  const bool eval = std::find(args.begin(), args.end(), "--eval") != args.end();
  std::string role = binary;
  if (absl::StartsWith(binary, "rill-")) role = binary.substr(5);
  if (binary == "rill" && args.size() >= 2) role = args[1] == "launch" ? "launcher" : args[1];
  return role == "actor" && eval ? "evaluator" : role;
}

namespace {

// /proc/PID/stat: the parent and utime + stime (fields 4, 14 and 15; the
// command name, field 2, may hold spaces, so fields count from its ')').
std::optional<ProcessCpu> ReadProcess(int pid) {
  const std::optional<std::string> stat = ReadWhole(absl::StrCat("/proc/", pid, "/stat"));
  const std::optional<std::string> cmdline = ReadWhole(absl::StrCat("/proc/", pid, "/cmdline"));
  if (!stat.has_value() || !cmdline.has_value()) return std::nullopt;
  const size_t close = stat->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  const std::vector<std::string> fields = absl::StrSplit(stat->substr(close + 2), ' ');
  // fields[0] is field 3 (state).
  int64_t parent = 0, utime = 0, stime = 0;
  if (fields.size() < 13 || !absl::SimpleAtoi(fields[1], &parent) || !absl::SimpleAtoi(fields[11], &utime) ||
      !absl::SimpleAtoi(fields[12], &stime)) {
    return std::nullopt;
  }
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  return ProcessCpu{static_cast<int>(parent), RoleOfCommandLine(*cmdline), static_cast<double>(utime + stime) / tick};
}

// Seconds every core of the machine has spent busy since boot (/proc/stat's
// first line: all but idle and iowait); -1 when it cannot be read.
double MachineBusySeconds() {
  const std::optional<std::string> stat = ReadWhole("/proc/stat");
  if (!stat.has_value()) return -1;
  const std::vector<std::string> fields =
      absl::StrSplit(stat->substr(0, stat->find('\n')), ' ', absl::SkipEmpty());
  double busy = 0;
  for (size_t i = 1; i < fields.size(); ++i) {
    int64_t ticks = 0;
    if (!absl::SimpleAtoi(fields[i], &ticks)) return -1;
    if (i != 4 && i != 5) busy += static_cast<double>(ticks);  // 4 idle, 5 iowait
  }
  return busy / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double ProcessCpuSeconds() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

}  // namespace

std::map<std::string, double> ProcessTreeCpuSeconds(int root) {
  std::map<int, ProcessCpu> processes;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", error)) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid)) continue;
    if (std::optional<ProcessCpu> process = ReadProcess(pid)) processes[pid] = *process;
  }
  std::map<std::string, double> by_role;
  for (const auto& [pid, process] : processes) {
    // In the tree when root is an ancestor (bounded: /proc holds no cycle,
    // but a pid reused mid-scan could make one).
    int at = pid;
    for (int hops = 0; hops < 64 && at > 1 && at != root; ++hops) {
      const auto parent = processes.find(at);
      at = parent == processes.end() ? 0 : parent->second.parent;
    }
    if (at == root) by_role[process.role] += process.seconds;
  }
  return by_role;
}

double ProgressField(const std::string& json, const std::string& name) {
  const std::string key = absl::StrCat("\"", name, "\": ");
  const size_t at = json.find(key);
  if (at == std::string::npos) return -1;
  const size_t begin = at + key.size();
  const size_t end = json.find_first_of(",}", begin);
  double value = 0;
  if (end == std::string::npos || !absl::SimpleAtod(json.substr(begin, end - begin), &value)) return -1;
  return value;
}

std::map<std::string, double> PolicyUpdates(const std::string& run_dir) {
  std::map<std::string, double> updates;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(run_dir + "/metrics", error)) {
    const std::string file = entry.path().filename().string();
    if (!absl::StartsWith(file, "learner.") && file != "learner.jsonl") continue;
    if (!absl::EndsWith(file, ".jsonl")) continue;
    std::string policy = file.substr(0, file.size() - std::string(".jsonl").size());
    policy = policy == "learner" ? "" : policy.substr(std::string("learner.").size());
    const std::optional<std::string> text = ReadWhole(entry.path().string());
    if (!text.has_value()) continue;
    // The last whole line (a line being written has no newline yet).
    const size_t end = text->rfind('\n');
    if (end == std::string::npos || end == 0) continue;
    const size_t before = text->rfind('\n', end - 1);
    const size_t begin = before == std::string::npos ? 0 : before + 1;
    const double value = ProgressField(text->substr(begin, end - begin), "updates");
    if (value >= 0) updates[policy] = value;
  }
  return updates;
}

namespace {

// What the run had done at one progress line, and its processes' CPU then.
struct Snapshot {
  double env_steps = 0, updates = 0, run_seconds = 0;
  // Each policy's updates as its learner log last said (PolicyUpdates).
  std::map<std::string, double> policy_updates;
  std::map<std::string, double> cpu;
  double machine_busy = 0;  // MachineBusySeconds
  absl::Time at;
};



// The measured window of a run.
struct SystemWindow {
  Snapshot first, last;
  std::string run_dir;
};

std::optional<Snapshot> TakeSnapshot(const std::string& progress_path, int root, std::string* seen) {
  const std::optional<std::string> json = ReadWhole(progress_path);
  if (!json.has_value() || *json == *seen || json->empty() || json->back() != '\n') return std::nullopt;
  *seen = *json;
  Snapshot snapshot;
  snapshot.cpu = ProcessTreeCpuSeconds(root);
  snapshot.machine_busy = MachineBusySeconds();
  snapshot.at = absl::Now();
  snapshot.env_steps = ProgressField(*json, "env_steps");
  snapshot.updates = ProgressField(*json, "learner_updates");
  snapshot.run_seconds = ProgressField(*json, "wall_seconds");
  if (snapshot.env_steps < 0 || snapshot.updates < 0 || snapshot.run_seconds < 0) return std::nullopt;
  snapshot.policy_updates = PolicyUpdates(std::filesystem::path(progress_path).parent_path().string());
  return snapshot;
}

// Runs `rill launch --config` until the window after the warm-up is
// measured (from one progress line to the first at least `window` later),
// then stops it as Ctrl-C would. Its log is <run_dir>.log.
absl::StatusOr<SystemWindow> MeasureRun(const std::string& config, const std::string& run_dir, absl::Duration warmup,
                                       absl::Duration window) {
  ASSIGN_OR_RETURN(const std::string binary, SelfBinary());
  ASSIGN_OR_RETURN(std::unique_ptr<ChildProcess> launch,
                   ChildProcess::StartProgram("launch", binary,
                                              {"launch", absl::StrCat("--config=", config),
                                               absl::StrCat("--run_dir=", run_dir), "--max_env_steps=1000000000000"},
                                              run_dir + ".log"));
  const std::string progress = run_dir + "/progress.json";
  std::string seen;
  std::optional<Snapshot> first;
  const absl::Time began = absl::Now();
  const absl::Time deadline = began + warmup + window + absl::Minutes(5);
  while (absl::Now() < deadline) {
    if (!launch->running()) {
      return absl::FailedPreconditionError(
          absl::StrCat("rill launch --config=", config, " ended before the window was measured:\n", launch->LogTail(20)));
    }
    std::optional<Snapshot> snapshot = TakeSnapshot(progress, launch->pid(), &seen);
    if (snapshot.has_value() && snapshot->updates > 0 && snapshot->at >= began + warmup) {
      if (!first.has_value()) {
        first = std::move(snapshot);
      } else if (snapshot->at - first->at >= window) {
        launch->Stop(absl::Seconds(60));
        return SystemWindow{*std::move(first), *std::move(snapshot), run_dir};
      }
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  launch->Stop(absl::Seconds(60));
  return absl::DeadlineExceededError(absl::StrCat("rill launch --config=", config, " made no learner update (or no ",
                                                  "progress line) within ", absl::FormatDuration(deadline - began)));
}

// CPU seconds of this process per unit of `step` (which does `per_call`
// units), over `duration` after 10 untimed calls.
template <typename F>
absl::StatusOr<double> CpuSecondsPer(absl::Duration duration, double per_call, F step) {
  for (int i = 0; i < 10; ++i) RETURN_IF_ERROR(step());
  const double cpu = ProcessCpuSeconds();
  const absl::Time end = absl::Now() + duration;
  int64_t calls = 0;
  while (absl::Now() < end) {
    RETURN_IF_ERROR(step());
    ++calls;
  }
  return (ProcessCpuSeconds() - cpu) / (static_cast<double>(calls) * per_call);
}

// Wall seconds per call of `step`, over `duration` after 10 untimed calls.
template <typename F>
absl::StatusOr<double> WallSecondsPer(absl::Duration duration, F step) {
  for (int i = 0; i < 10; ++i) RETURN_IF_ERROR(step());
  const absl::Time start = absl::Now();
  const absl::Time end = start + duration;
  int64_t calls = 0;
  while (absl::Now() < end) {
    RETURN_IF_ERROR(step());
    ++calls;
  }
  return absl::ToDoubleSeconds(absl::Now() - start) / static_cast<double>(calls);
}

// Each part of an env step alone, in CPU seconds.
// One policy's learner update alone.
struct UpdateCosts {
  std::string policy;  // "" without config.policies
  double cpu = 0;      // CPU seconds per update, on one thread
  // The fastest update alone in wall seconds, on 1 thread or on every
  // core (threads): the bound of its training thread.
  double wall = 0;
  int threads = 1;
};

struct PartCosts {
  double env_step = 0;           // per env step (a row of the actors' batch)
  double forward = 0;            // the policies', per env step
  std::vector<UpdateCosts> updates;  // each policy's, in config order
  std::string forward_where;     // "actors" or "inference server"
};

// Policy `name`'s update timed alone (its view of `config`: its agents'
// spaces, its own learner section), and its exported policy in `exported`.
absl::StatusOr<UpdateCosts> TimeUpdate(const v1::ExperimentConfig& config, const std::string& name,
                                       absl::Duration each, v1::ParameterSet* exported) {
  UpdateCosts costs;
  costs.policy = name;
  learner::AlgorithmContext context;
  ASSIGN_OR_RETURN(context.config, experiment::PolicyView(config, name));
  ASSIGN_OR_RETURN(context.env, envs::ConfiguredEnvSpec(context.config.env()));
  context.seed = context.config.seed();
  ASSIGN_OR_RETURN(std::unique_ptr<learner::Algorithm> algorithm, learner::CreateAlgorithm(context));
  const learner::Batch batch =
      RandomBatch(*algorithm, context.config.learner().batch_size(), context.env.num_actions);
  auto update = [&] { return algorithm->Update(batch); };
  ASSIGN_OR_RETURN(costs.cpu, CpuSecondsPer(each, 1, update));
  // The training thread's fastest: on one thread, or on every core.
  ASSIGN_OR_RETURN(costs.wall, WallSecondsPer(each, update));
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (cores > 1) {
    torch::set_num_threads(cores);
    ASSIGN_OR_RETURN(const double wide, WallSecondsPer(each, update));
    torch::set_num_threads(1);
    if (wide < costs.wall) {
      costs.wall = wide;
      costs.threads = cores;
    }
  }
  ASSIGN_OR_RETURN(*exported, algorithm->ExportPolicy());
  return costs;
}

absl::StatusOr<PartCosts> TimeParts(const v1::ExperimentConfig& config, absl::Duration each) {
  torch::set_num_threads(1);
  ASSIGN_OR_RETURN(const experiment::PolicyMap map, experiment::ResolvePolicies(config));
  ASSIGN_OR_RETURN(std::unique_ptr<actor::LockstepEnvs> envs,
                   actor::LockstepEnvs::Create(config.env(), config.actor().num_envs(), config.seed() + 1));
  PartCosts costs;
  // What acts: the one policy, or each policy on its agents' rows.
  std::vector<std::unique_ptr<actor::ActionSource>> policies;
  std::vector<int> obs_dims;
  for (int p = 0; p < map.num_policies(); ++p) {
    v1::ParameterSet exported;
    ASSIGN_OR_RETURN(UpdateCosts update, TimeUpdate(config, map.names[p], each, &exported));
    costs.updates.push_back(std::move(update));
    // The envs' own spec for a lone policy, else its rows' (as the actor).
    envs::EnvSpec spec = envs->spec();
    if (map.several()) {
      ASSIGN_OR_RETURN(spec, envs::PolicyRowSpec(config.env(), map.agent_policy, p));
    }
    auto policy = std::make_unique<actor::FixedPolicySource>(spec, config.seed() + 2 + p);
    RETURN_IF_ERROR(policy->Load(exported, 1));
    policies.push_back(std::move(policy));
    obs_dims.push_back(spec.obs_dim());
  }
  const std::unique_ptr<actor::ActionSource> acting =
      actor::ActingTogether(std::move(policies), obs_dims, map.agent_policy, envs->size());
  RETURN_IF_ERROR(envs->ResetAll());
  const absl::Notification never;
  ASSIGN_OR_RETURN(const learner::AlgorithmSpec* spec, learner::FindAlgorithmSpec(config.learner()));
  // Unrolls carry the behaviour policy's log-probabilities (IMPALA, PPO).
  const bool behaviour = spec->item_kind == items::ItemKind::kUnroll;
  auto act = [&] { return acting->Act(envs->observation_rows(), false, behaviour, never, envs->buffers()); };
  const int n = envs->size();
  ASSIGN_OR_RETURN(costs.forward, CpuSecondsPer(each, n, act));
  std::vector<uint8_t> next(envs->obs().size()), final_obs(envs->obs().size());
  std::vector<actor::EnvOutcome> outcomes;
  // The env steps on the last forward's actions (its cost, not the
  // policy's choice, is what is timed).
  ASSIGN_OR_RETURN(costs.env_step, CpuSecondsPer(each, n, [&]() -> absl::Status {
                     RETURN_IF_ERROR(envs->Step(n, &next, &final_obs, &outcomes));
                     envs->obs().swap(next);
                     return absl::OkStatus();
                   }));
  costs.forward_where = config.topology().inference() == v1::TopologyConfig::CENTRAL ? "inference server" : "actors";
  return costs;
}

// What the window of the run measured, per env step and per second.
struct RunFigures {
  double env_steps_per_second = 0, updates_per_second = 0, updates_per_env_step = 0;
  // CPU seconds per env step and cores in use, by role.
  std::map<std::string, double> cpu_per_env_step, cores;
  double cores_used = 0;
  // Cores the machine kept busy in the window beyond the run's own: other
  // work on the machine, which the bound's cores were not free of.
  double other_cores = 0;
  // Each policy's updates per env step: its share of the window's updates
  // in its learner log, times the run's (all of them for one policy).
  std::map<std::string, double> policy_updates_per_env_step;

  double UpdatesPerEnvStep(const std::string& policy) const {
    const auto found = policy_updates_per_env_step.find(policy);
    return found != policy_updates_per_env_step.end() ? found->second : updates_per_env_step;
  }
};

RunFigures FiguresOf(const SystemWindow& run) {
  RunFigures figures;
  const double steps = run.last.env_steps - run.first.env_steps;
  const double seconds = run.last.run_seconds - run.first.run_seconds;
  const double wall = absl::ToDoubleSeconds(run.last.at - run.first.at);
  figures.env_steps_per_second = seconds > 0 ? steps / seconds : 0;
  figures.updates_per_second = seconds > 0 ? (run.last.updates - run.first.updates) / seconds : 0;
  figures.updates_per_env_step = steps > 0 ? (run.last.updates - run.first.updates) / steps : 0;
  for (const auto& [role, cpu] : run.last.cpu) {
    const auto before = run.first.cpu.find(role);
    const double used = cpu - (before == run.first.cpu.end() ? 0 : before->second);
    figures.cpu_per_env_step[role] = steps > 0 ? used / steps : 0;
    figures.cores[role] = wall > 0 ? used / wall : 0;
    figures.cores_used += figures.cores[role];
  }
  double logged = 0;
  std::map<std::string, double> policy_logged;
  for (const auto& [policy, updates] : run.last.policy_updates) {
    const auto before = run.first.policy_updates.find(policy);
    policy_logged[policy] = updates - (before == run.first.policy_updates.end() ? 0 : before->second);
    logged += policy_logged[policy];
  }
  for (const auto& [policy, updates] : policy_logged) {
    if (logged > 0) figures.policy_updates_per_env_step[policy] = figures.updates_per_env_step * updates / logged;
  }
  if (wall > 0 && run.first.machine_busy >= 0 && run.last.machine_busy >= 0) {
    const double machine = (run.last.machine_busy - run.first.machine_busy) / wall;
    figures.other_cores = std::max(0.0, machine - figures.cores_used);
  }
  return figures;
}

double Lookup(const std::map<std::string, double>& values, const std::string& key) {
  const auto found = values.find(key);
  return found == values.end() ? 0 : found->second;
}

// The bound's stages, CPU seconds per env step: the parts timed alone, and
// the processes costed from the run.
std::vector<std::pair<std::string, double>> Stages(const PartCosts& parts, const RunFigures& run) {
  std::vector<std::pair<std::string, double>> stages = {
      {"env_step", parts.env_step},
      {"policy_forward", parts.forward},
  };
  for (const UpdateCosts& update : parts.updates) {
    stages.emplace_back(update.policy.empty() ? "learner_update" : "learner_update/" + update.policy,
                        update.cpu * run.UpdatesPerEnvStep(update.policy));
  }
  for (const auto& [role, cpu] : run.cpu_per_env_step) {
    if (role != "actor" && role != "learner" && role != "inference") stages.emplace_back(role + "_in_run", cpu);
  }
  return stages;
}

// The policy whose training thread needs the most wall time per env step
// alone (each policy's learner trains on a thread of its own); null
// without updates.
const UpdateCosts* SlowestThread(const PartCosts& parts, const RunFigures& run) {
  const UpdateCosts* slowest = nullptr;
  double most = 0;
  for (const UpdateCosts& update : parts.updates) {
    const double seconds = update.wall * run.UpdatesPerEnvStep(update.policy);
    if (seconds > most) {
      most = seconds;
      slowest = &update;
    }
  }
  return slowest;
}

// The stage that keeps the run below its bound: other work on the
// machine; where the learner's one thread sets the bound, that thread's
// updates in the run against its fastest alone; idle cores when the run
// used less than 80% of them; else the process furthest above its parts
// timed alone (CPU per env step in the run less alone).
std::string Shortfall(const PartCosts& parts, const RunFigures& run, int cores, const Roofline& roofline) {
  if (run.other_cores > 0.2 * cores) {
    return absl::StrFormat("other work: processes outside the run kept %.2f of %d cores busy", run.other_cores,
                           cores);
  }
  const UpdateCosts* slowest = SlowestThread(parts, run);
  if (roofline.bound_by == "learner thread" && slowest != nullptr && slowest->wall > 0) {
    const std::string whose = slowest->policy.empty() ? "" : absl::StrCat(" (policy ", slowest->policy, ")");
    return absl::StrFormat("learner thread%s: %.0f updates/s in the run against %.0f for its fastest update alone "
                           "(%.1f us on %d thread%s): it shares its core with the run's other threads",
                           whose, run.env_steps_per_second * run.UpdatesPerEnvStep(slowest->policy),
                           1 / slowest->wall, 1e6 * slowest->wall, slowest->threads, slowest->threads == 1 ? "" : "s");
  }
  if (run.cores_used < 0.8 * cores) {
    return absl::StrFormat("idle cores: the run kept %.2f of %d busy (it waits: rate limiter, policy lag or a round "
                           "trip), so the bound's cores are not all at work",
                           run.cores_used, cores);
  }
  const double actors = Lookup(run.cpu_per_env_step, "actor") + Lookup(run.cpu_per_env_step, "inference");
  const double actors_alone = parts.env_step + parts.forward;
  const double learner = Lookup(run.cpu_per_env_step, "learner");
  double learner_alone = 0;
  for (const UpdateCosts& update : parts.updates) learner_alone += update.cpu * run.UpdatesPerEnvStep(update.policy);
  if (actors - actors_alone >= learner - learner_alone) {
    return absl::StrFormat("actors: %.2f us of CPU per env step in the run against %.2f us for the env step and "
                           "forward alone (items, replay writes, parameter updates, contention)",
                           1e6 * actors, 1e6 * actors_alone);
  }
  return absl::StrFormat("learner: %.2f us of CPU per env step in the run against %.2f us for its updates on one "
                         "thread alone (its threads' waits, sampling, publishing)",
                         1e6 * learner, 1e6 * learner_alone);
}

}  // namespace

Roofline RooflineOf(double cpu_per_env_step, int cores, double serial_seconds_per_env_step) {
  Roofline roofline;
  roofline.cores_bound = cpu_per_env_step > 0 ? cores / cpu_per_env_step : 0;
  roofline.serial_bound = serial_seconds_per_env_step > 0 ? 1 / serial_seconds_per_env_step : 0;
  roofline.bound = roofline.cores_bound;
  roofline.bound_by = "cores";
  if (roofline.serial_bound > 0 && (roofline.bound == 0 || roofline.serial_bound < roofline.bound)) {
    roofline.bound = roofline.serial_bound;
    roofline.bound_by = "learner thread";
  }
  return roofline;
}

namespace {

std::string JsonMap(const std::map<std::string, double>& values, double scale) {
  std::vector<std::string> fields;
  for (const auto& [name, value] : values) fields.push_back(absl::StrFormat("\"%s\": %.4g", name, scale * value));
  return absl::StrCat("{", absl::StrJoin(fields, ", "), "}");
}

absl::Status BenchSystem(absl::Duration window) {
  const std::string config_flag = absl::GetFlag(FLAGS_config);
  const std::string run_dir = absl::StrCat(std::filesystem::temp_directory_path().string(), "/rill-bench-system-",
                                           getpid(), "-", absl::ToUnixMillis(absl::Now()));
  const absl::Duration warmup = absl::Seconds(absl::GetFlag(FLAGS_bench_warmup_seconds));
  if (warmup < absl::ZeroDuration()) return absl::InvalidArgumentError("--bench_warmup_seconds must be >= 0");
  ASSIGN_OR_RETURN(const SystemWindow window_run, MeasureRun(config_flag, run_dir, warmup, window));
  ASSIGN_OR_RETURN(const v1::ExperimentConfig config, experiment::LoadExperimentConfig(run_dir + "/config.textpb"));
  if (config.env().has_remote()) {
    return absl::InvalidArgumentError("bench system: a remote env's step is its server's, which the run does not start");
  }
  const RunFigures run = FiguresOf(window_run);
  EnsureFastOpenBlasKernels();
  ASSIGN_OR_RETURN(const PartCosts parts, TimeParts(config, std::max(window / 6, absl::Seconds(1))));
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  double per_step = 0;
  std::vector<std::string> stages;
  for (const auto& [name, cost] : Stages(parts, run)) {
    per_step += cost;
    stages.push_back(absl::StrFormat("\"%s\": %.4g", name, 1e6 * cost));
  }
  const UpdateCosts* slowest = SlowestThread(parts, run);
  const Roofline roofline =
      RooflineOf(per_step, cores, slowest != nullptr ? slowest->wall * run.UpdatesPerEnvStep(slowest->policy) : 0);
  // The first policy's update (the run's only one without policies), and
  // each policy's where there are several.
  const UpdateCosts& first = parts.updates.front();
  std::vector<std::string> policies;
  for (const UpdateCosts& update : parts.updates) {
    if (update.policy.empty()) continue;
    policies.push_back(absl::StrFormat(
        "\"%s\": {\"updates_per_env_step\": %.5g, \"update_us_one_thread\": %.1f, \"update_wall_us_fastest\": %.1f}",
        update.policy, run.UpdatesPerEnvStep(update.policy), 1e6 * update.cpu, 1e6 * update.wall));
  }
  const double bound = roofline.bound;
  const double fraction = bound > 0 ? run.env_steps_per_second / bound : 0;
  std::printf("%s: %.0f env steps/s, %.1f updates/s (%.4g per env step) over %.1f s; bound %.0f env steps/s (set by "
              "the %s: %.0f for %d cores, %.0f for one update after another): %.0f%%\n",
              config.name().c_str(), run.env_steps_per_second, run.updates_per_second, run.updates_per_env_step,
              window_run.last.run_seconds - window_run.first.run_seconds, bound, roofline.bound_by.c_str(),
              roofline.cores_bound, cores, roofline.serial_bound, 100 * fraction);
  std::printf("{\"config\": \"%s\", \"cores\": %d, \"window_seconds\": %.2f, \"env_steps_per_second\": %.1f, "
              "\"updates_per_second\": %.2f, \"updates_per_env_step\": %.5g, \"bound_env_steps_per_second\": %.1f, "
              "\"bound_updates_per_second\": %.2f, \"fraction_of_bound\": %.3f, \"bound_by\": \"%s\", "
              "\"cores_bound_env_steps_per_second\": %.1f, \"serial_bound_env_steps_per_second\": %.1f, "
              "\"stage_us_per_env_step\": {%s}, \"update_us_one_thread\": %.1f, \"update_wall_us_fastest\": %.1f, "
              "\"update_fastest_threads\": %d, \"policies\": {%s}, \"forward_on\": \"%s\", \"run_us_per_env_step\": %s, "
              "\"run_cores\": %s, \"run_cores_used\": %.2f, \"other_cores\": %.2f, \"below_bound_by\": \"%s\", "
              "\"run_dir\": \"%s\"}\n",
              config.name().c_str(), cores, window_run.last.run_seconds - window_run.first.run_seconds,
              run.env_steps_per_second, run.updates_per_second, run.updates_per_env_step, bound,
              bound * run.updates_per_env_step, fraction, roofline.bound_by.c_str(), roofline.cores_bound,
              roofline.serial_bound, absl::StrJoin(stages, ", ").c_str(), 1e6 * first.cpu, 1e6 * first.wall,
              first.threads, absl::StrJoin(policies, ", ").c_str(), parts.forward_where.c_str(),
              JsonMap(run.cpu_per_env_step, 1e6).c_str(), JsonMap(run.cores, 1).c_str(), run.cores_used,
              run.other_cores, Shortfall(parts, run, cores, roofline).c_str(), run_dir.c_str());
  return absl::OkStatus();
}

}  // namespace

int RunSystemBench() {
  double seconds = absl::GetFlag(FLAGS_bench_seconds);
  if (seconds == 0) seconds = 30;  // the flag is shared with other benchmarks
  if (!(seconds > 0)) {
    std::fprintf(stderr, "rill bench system: --bench_seconds must be positive\n");
    return 2;
  }
  const absl::Status ran = BenchSystem(absl::Seconds(seconds));
  if (!ran.ok()) {
    std::fprintf(stderr, "rill bench system: %s\n", std::string(ran.message()).c_str());
    return 1;
  }
  return 0;
}

}  // namespace rill::bench
