#include "cli/supervisor.h"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "cli/ordered_stop.h"
#include "common/child_process.h"
#include "common/grpc_util.h"
#include "common/logging.h"
#include "common/metrics_scrape.h"
#include "common/status_macros.h"
#include "grpcpp/grpcpp.h"
#include "proto/replay.grpc.pb.h"
#include "roles/role.h"

namespace rill::cli {

namespace {

// A child that ends this soon after it became ready failed its start-up:
// restarted once, and if it ends the same way again the run stops with its
// message (it would only fail again).
constexpr absl::Duration kStartUpGrace = absl::Seconds(10);

bool RefusedInput(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == roles::kExitBadInput; }

void Say(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

}  // namespace

int Restarts(const std::vector<Role>& roles) {
  int restarts = 0;
  for (const Role& role : roles) restarts += role.restarts;
  return restarts;
}

Supervisor::Supervisor(RunPlan plan, Options options, absl::Notification& stop)
    : plan_(std::move(plan)), options_(std::move(options)), stop_(stop) {
  learners_.resize(std::max<size_t>(1, plan_.learners.size()));
}

absl::Status Supervisor::Start(const std::string& name, Role& role) {
  if (stop_.HasBeenNotified()) return absl::CancelledError(absl::StrCat("interrupted before ", name, " started"));
  absl::Status started = StartRole(name, role, options_.start_timeout, WhileStarting(name));
  ready_at_[&role] = absl::Now();
  UpdatePrometheusTargets();
  return started;
}

std::function<absl::Status()> Supervisor::WhileStarting(const std::string& name) {
  // Ctrl-C ends the wait; and an actor or the evaluator opens its envs
  // before it is ready: keep the env server up meanwhile, or one that
  // ended would hold it up until env.remote.reconnect_seconds.
  return [this, name]() -> absl::Status {
    if (stop_.HasBeenNotified()) return absl::CancelledError(absl::StrCat("interrupted while ", name, " started"));
    return env_server_ != nullptr ? SuperviseEnvServer() : absl::OkStatus();
  };
}

Role Supervisor::MakeRole(const ProcessPlan& process) const {
  Role role;
  role.args = ResolveArgs(process.args, endpoints_);
  role.log_path = process.log_path;
  role.final_metrics_path = process.final_metrics_path;
  role.budget = process.budget;
  return role;
}

absl::Status Supervisor::CheckEnded(const std::string& name, const Role& role, int status, int log_lines) {
  if (RefusedInput(status)) {
    return absl::InvalidArgumentError(absl::StrCat(name, " rejected its input (", ChildProcess::DescribeStatus(status),
                                                   "):\n", role.process->LogTail(log_lines)));
  }
  const auto ready = ready_at_.find(&role);
  const bool start_up = ready != ready_at_.end() && absl::Now() - ready->second < kStartUpGrace;
  const std::string how = ChildProcess::DescribeStatus(status);
  if (!start_up) {
    start_up_failure_.erase(&role);
    return absl::OkStatus();
  }
  const auto previous = start_up_failure_.find(&role);
  if (previous != start_up_failure_.end() && previous->second == how) {
    return absl::AbortedError(absl::StrCat(name, " failed the same way twice right after starting (", how,
                                           "), so it is not restarted again; its log ends with:\n",
                                           role.process->LogTail(15)));
  }
  start_up_failure_[&role] = how;
  return absl::OkStatus();
}

void Supervisor::UpdatePrometheusTargets() {
  if (prometheus_ == nullptr) return;
  std::map<std::string, std::vector<ScrapeTarget>> jobs;
  auto add = [&](const char* job, std::string instance, const Role& role) {
    if (role.process != nullptr && role.metrics_port > 0) jobs[job].push_back({std::move(instance), role.metrics_port});
  };
  for (size_t i = 0; i < replays_.size(); ++i) add("replay", absl::StrCat("replay-", i), replays_[i]);
  for (size_t i = 0; i < learners_.size(); ++i) {
    add("learner", i == 0 ? "learner" : absl::StrCat("learner-", i), learners_[i]);
  }
  for (size_t i = 0; i < inference_.size(); ++i) add("inference", absl::StrCat("inference-", i), inference_[i]);
  for (size_t i = 0; i < actors_.size(); ++i) add("actor", absl::StrCat("actor-", i), actors_[i]);
  add("evaluator", "evaluator", evaluator_);
  for (const char* job : PrometheusServer::kJobs) {
    absl::Status written = prometheus_->SetTargets(job, jobs[job]);
    if (!written.ok()) RILL_LOG(WARNING) << "prometheus targets of " << job << ": " << written.message();
  }
}

void Supervisor::StopPrometheus() {
  if (prometheus_ == nullptr) return;
  const absl::Duration linger = options_.prometheus_linger;
  if (linger > absl::ZeroDuration() && !stop_.HasBeenNotified()) {
    Say(absl::StrCat("prometheus keeps serving ", prometheus_->DashboardUrl(), " for ", absl::FormatDuration(linger),
                     " (Ctrl-C ends it)"));
    stop_.WaitForNotificationWithTimeout(linger);
  }
  prometheus_->Stop(absl::Seconds(30));
  Say(absl::StrCat("prometheus stopped; its data stays in ", prometheus_->data_dir()));
  prometheus_.reset();
}

absl::Status Supervisor::StartEnvServer() {
  if (!plan_.has_env_server) return absl::OkStatus();
  roles::EnvServerRole::Options options;
  options.command = plan_.env_server.command;
  options.address = plan_.env_server.address;
  options.log_path = plan_.env_server.log_path;
  options.start_timeout = options_.start_timeout;
  options.start_timeout_flag = "--start_timeout";
  options.stop = &stop_;
  ASSIGN_OR_RETURN(env_server_, roles::EnvServerRole::Start(options));
  std::printf("env server listening on %s after %.1fs (pid %d); log in %s\n", env_server_->address().c_str(),
              absl::ToDoubleSeconds(absl::Now() - options_.run_start), static_cast<int>(env_server_->pid()),
              options.log_path.c_str());
  std::fflush(stdout);
  endpoints_.env_server = env_server_->address();
  return absl::OkStatus();
}

absl::Status Supervisor::StartAll() {
  if (options_.prometheus) {
    ASSIGN_OR_RETURN(prometheus_, PrometheusServer::Start(options_.prometheus_options));
    Say(absl::StrCat("prometheus: ", prometheus_->DashboardUrl()));
  }
  // The env server comes first: it depends on no other process, and a
  // command that fails (a typo in the factory, a missing module) then fails
  // the run in seconds, before replay and the learner have been started.
  RETURN_IF_ERROR(StartEnvServer());
  replays_.resize(plan_.replays.size());
  for (size_t i = 0; i < replays_.size(); ++i) {
    replays_[i] = MakeRole(plan_.replays[i]);
    RETURN_IF_ERROR(Start(plan_.replays[i].name, replays_[i]));
    endpoints_.replay.push_back(absl::StrCat("127.0.0.1:", replays_[i].grpc_port));
  }
  // Every shard, in shard order: writers pick their home shard by actor
  // id, the learner samples them all.
  for (size_t rank = 0; rank < learners_.size(); ++rank) learners_[rank] = MakeRole(plan_.learners[rank]);
  RETURN_IF_ERROR(StartLearners());
  endpoints_.learner = absl::StrCat("127.0.0.1:", lead().grpc_port);
  inference_.resize(plan_.inference.size());
  for (size_t i = 0; i < inference_.size(); ++i) {
    inference_[i] = MakeRole(plan_.inference[i]);
    RETURN_IF_ERROR(Start(plan_.inference[i].name, inference_[i]));
    endpoints_.inference.push_back(absl::StrCat("127.0.0.1:", inference_[i].grpc_port));
  }
  // The evaluator before the actors: its first round plays the learner's
  // first version while they start, the point every evaluation curve
  // starts from.
  evaluator_ = MakeRole(plan_.evaluator);
  RETURN_IF_ERROR(Start(plan_.evaluator.name, evaluator_));
  actors_.resize(plan_.actors.size());
  for (size_t i = 0; i < actors_.size(); ++i) {
    actors_[i] = MakeRole(plan_.actors[i]);
    RETURN_IF_ERROR(Start(plan_.actors[i].name, actors_[i]));
  }
  std::printf("all processes ready after %.1fs: replay %s, learner :%d\n",
              absl::ToDoubleSeconds(absl::Now() - options_.run_start), absl::StrJoin(endpoints_.replay, ",").c_str(),
              lead().grpc_port);
  std::fflush(stdout);
  return absl::OkStatus();
}

absl::Status Supervisor::StartLearners() {
  if (learners_.size() == 1) return Start("learner", mutable_lead());
  if (stop_.HasBeenNotified()) return absl::CancelledError("interrupted before the learner ranks started");
  // Rank 0 binds its store to a free port and writes which to a file: a
  // port picked here and handed to it could be taken meanwhile (by another
  // rank's own connections among others).
  const std::string port_file =
      std::filesystem::path(plan_.learners.front().log_path).parent_path().string() + "/learner-store-port";
  std::error_code error;
  std::filesystem::remove(port_file, error);
  mutable_lead().args.back() = "--store=127.0.0.1:0";
  mutable_lead().args.push_back(absl::StrCat("--store_port_file=", port_file));
  absl::Status spawned = SpawnRole("learner/0", mutable_lead());
  mutable_lead().args.pop_back();
  RETURN_IF_ERROR(spawned);
  const absl::Time deadline = absl::Now() + options_.start_timeout;
  const std::function<absl::Status()> meanwhile = WhileStarting("learner/0");
  int store_port = 0;
  while (true) {
    std::ifstream in(port_file);
    if (in >> store_port && store_port > 0) break;
    if (const std::optional<int> status = mutable_lead().process->Poll(); status.has_value()) {
      const std::string why = absl::StrCat("learner/0 exited before its group's store listened (",
                                           ChildProcess::DescribeStatus(*status), "); its log ends with:\n",
                                           mutable_lead().process->LogTail(15));
      // A refused flag or config fails the run as a bad input.
      return RefusedInput(*status) ? absl::InvalidArgumentError(why) : absl::FailedPreconditionError(why);
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat("learner/0's group store did not listen within ",
                                                      absl::FormatDuration(options_.start_timeout),
                                                      "; its log ends with:\n", mutable_lead().process->LogTail(15)));
    }
    RETURN_IF_ERROR(meanwhile());
    absl::SleepFor(absl::Milliseconds(20));  // the next look at the file: nothing notifies it
  }
  for (size_t rank = 1; rank < learners_.size(); ++rank) {
    learners_[rank].args.back() = absl::StrCat("--store=127.0.0.1:", store_port);
    RETURN_IF_ERROR(SpawnRole(absl::StrCat("learner/", rank), learners_[rank]));
  }
  // Rank 0 is ready once every rank has joined it.
  for (size_t rank = 0; rank < learners_.size(); ++rank) {
    const std::string name = absl::StrCat("learner/", rank);
    absl::Status ready = AwaitRole(name, learners_[rank], std::max(absl::Seconds(1), deadline - absl::Now()),
                                   WhileStarting(name));
    ready_at_[&learners_[rank]] = absl::Now();
    if (!ready.ok()) return ready;
  }
  UpdatePrometheusTargets();
  return absl::OkStatus();
}

absl::Status Supervisor::SuperviseOnce() {
  RETURN_IF_ERROR(SuperviseEnvServer());
  RETURN_IF_ERROR(SuperviseReplay());
  RETURN_IF_ERROR(SuperviseLearners());
  RETURN_IF_ERROR(SuperviseCore(evaluator_, RoleKind::kEvaluator));
  for (Role& server : inference_) RETURN_IF_ERROR(SuperviseCore(server, RoleKind::kInference));
  return SuperviseActors();
}

std::string Supervisor::RestartLimit(RoleKind kind) const {
  const RestartPolicy policy = plan_.restart(kind);
  return absl::StrCat(" (", policy.flag, "=", policy.max_restarts, ")");
}

absl::Status Supervisor::SuperviseEnvServer() {
  if (env_server_ == nullptr) return absl::OkStatus();
  std::optional<int> status = env_server_->Poll();
  if (!status.has_value()) return absl::OkStatus();
  if (env_server_->restarts() >= plan_.restart(RoleKind::kEnvServer).max_restarts) {
    return absl::AbortedError(absl::StrCat("the env server ended ", env_server_->restarts() + 1, " times",
                                           RestartLimit(RoleKind::kEnvServer), "; last: ",
                                           ChildProcess::DescribeStatus(*status), "; its log ",
                                           env_server_->log_path(), " ends with:\n", env_server_->LogTail(15)));
  }
  RILL_LOG(WARNING) << "env server ended (" << ChildProcess::DescribeStatus(*status) << "); restarting it (restart "
                    << env_server_->restarts() + 1 << ") on " << env_server_->address()
                    << "; the actors reconnect to it";
  Say(absl::StrCat("env server ended (", ChildProcess::DescribeStatus(*status), "); restarting it on ",
                   env_server_->address()));
  RETURN_IF_ERROR(env_server_->Restart());
  Say(absl::StrCat("env server listening on ", env_server_->address(), " again (pid ",
                   static_cast<int>(env_server_->pid()), ")"));
  return absl::OkStatus();
}

absl::Status Supervisor::SuperviseReplay() {
  for (size_t i = 0; i < replays_.size(); ++i) {
    Role& shard = replays_[i];
    std::optional<int> status = shard.process->Poll();
    if (!status.has_value()) continue;
    const std::string name = absl::StrCat("replay/", i);
    RETURN_IF_ERROR(CheckEnded(name, shard, *status, 10));
    if (shard.restarts >= plan_.restart(RoleKind::kReplay).max_restarts) {
      return absl::AbortedError(absl::StrCat(name, " ended ", shard.restarts + 1, " times",
                                             RestartLimit(RoleKind::kReplay), "; last: ",
                                             ChildProcess::DescribeStatus(*status), "\n", shard.process->LogTail(10)));
    }
    CountEndedProcess(shard);
    ++shard.restarts;
    RILL_LOG(WARNING) << name << " ended (" << ChildProcess::DescribeStatus(*status) << "); restarting it (restart "
                      << shard.restarts << ") on port " << shard.grpc_port
                      << "; the actors write to the other shards meanwhile";
    Say(absl::StrCat(name, " ended (", ChildProcess::DescribeStatus(*status), "); restarting it on port ",
                     shard.grpc_port));
    PinPorts(shard);
    RETURN_IF_ERROR(Start(name, shard));
  }
  return absl::OkStatus();
}

absl::Status Supervisor::SuperviseCore(Role& role, RoleKind kind) {
  std::optional<int> status = role.process->Poll();
  if (!status.has_value()) return absl::OkStatus();
  const std::string name = role.process->name();
  RETURN_IF_ERROR(CheckEnded(name, role, *status, 15));
  if (role.restarts >= plan_.restart(kind).max_restarts) {
    return absl::AbortedError(absl::StrCat(name, " ended ", role.restarts + 1, " times", RestartLimit(kind), "; last: ",
                                           ChildProcess::DescribeStatus(*status), "; its log ends with:\n",
                                           role.process->LogTail(15)));
  }
  CountEndedProcess(role);
  ++role.restarts;
  RILL_LOG(WARNING) << name << " ended (" << ChildProcess::DescribeStatus(*status) << "); restarting it (restart "
                    << role.restarts << ") on port " << role.grpc_port;
  Say(absl::StrCat(name, " ended (", ChildProcess::DescribeStatus(*status), "); restarting it on port ",
                   role.grpc_port));
  PinPorts(role);
  return Start(name, role);
}

absl::Status Supervisor::SuperviseLearners() {
  Role* ended = nullptr;
  std::optional<int> status;
  for (Role& rank : learners_) {
    if (rank.process == nullptr) continue;
    status = rank.process->Poll();
    if (status.has_value()) {
      ended = &rank;
      break;
    }
  }
  if (ended == nullptr) return absl::OkStatus();
  const std::string name = ended->process->name();
  RETURN_IF_ERROR(CheckEnded(name, *ended, *status, 15));
  const std::string what = learners_.size() > 1 ? "the learner group" : "the learner";
  if (learner_restarts_ >= plan_.restart(RoleKind::kLearner).max_restarts) {
    return absl::AbortedError(absl::StrCat(what, " ended ", learner_restarts_ + 1, " times",
                                           RestartLimit(RoleKind::kLearner), "; last: ", name, " ",
                                           ChildProcess::DescribeStatus(*status), "; its log ends with:\n",
                                           ended->process->LogTail(15)));
  }
  ++learner_restarts_;
  RILL_LOG(WARNING) << name << " ended (" << ChildProcess::DescribeStatus(*status) << "); restarting " << what
                    << " (restart " << learner_restarts_ << ")";
  const std::string how = ChildProcess::DescribeStatus(*status);
  if (learners_.size() > 1) {
    // The other ranks would only fail at their next collective: stop them
    // now (rank 0 checkpoints as it goes), killing what still runs after
    // half of the stop timeout.
    Say(absl::StrCat(name, " ended (", how, "); stopping the other learner ranks to restart the group from rank 0's "
                     "last checkpoint"));
    std::vector<ChildProcess*> others;
    for (Role& rank : learners_) {
      if (&rank == ended || rank.process == nullptr || rank.process->Poll().has_value()) continue;
      rank.process->Signal(SIGTERM);
      others.push_back(rank.process.get());
    }
    if (!ChildProcess::WaitAll(others, absl::Now() + options_.stop_timeout / 2)) {
      for (ChildProcess* rank : others) {
        if (rank->running()) rank->Kill();
      }
    }
  }
  for (Role& rank : learners_) {
    CountEndedProcess(rank);
    PinPorts(rank);
  }
  if (learners_.size() > 1) {
    Say(absl::StrCat(name, " ended (", how, "); restarting the learner group on port ", lead().grpc_port,
                     "; it resumes from rank 0's last checkpoint"));
  } else {
    Say(absl::StrCat(name, " ended (", how, "); restarting it on port ", lead().grpc_port,
                     "; it resumes from its last checkpoint"));
  }
  return StartLearners();
}

absl::Status Supervisor::SuperviseActors() {
  for (size_t i = 0; i < actors_.size(); ++i) {
    Role& actor = actors_[i];
    if (actor.finished) continue;
    std::optional<int> status = actor.process->Poll();
    if (!status.has_value()) continue;
    if (WIFEXITED(*status) && WEXITSTATUS(*status) == 0) {
      // A clean exit means its step budget is spent: its own final count,
      // or without one the budget, exactly.
      if (!ReadFinalMetrics(actor) || !HasMetric(actor.current, kEnvStepsTotal)) {
        actor.current = {{kEnvStepsTotal, static_cast<double>(actor.budget) - SumMetric(actor.ended, kEnvStepsTotal)}};
      }
      actor.finished = true;
      continue;
    }
    const std::string name = absl::StrCat("actor/", i);
    RETURN_IF_ERROR(CheckEnded(name, actor, *status, 10));
    if (actor.restarts >= plan_.restart(RoleKind::kActor).max_restarts) {
      return absl::AbortedError(absl::StrCat(name, " crashed ", actor.restarts + 1, " times",
                                             RestartLimit(RoleKind::kActor), "; last: ",
                                             ChildProcess::DescribeStatus(*status), "\n", actor.process->LogTail(10)));
    }
    CountEndedProcess(actor);
    ++actor.restarts;
    const int64_t steps_left = actor.budget - static_cast<int64_t>(SumMetric(actor.ended, kEnvStepsTotal));
    RILL_LOG(WARNING) << name << " ended (" << ChildProcess::DescribeStatus(*status) << "); restarting it (restart "
                      << actor.restarts << ") with " << steps_left << " steps left";
    if (actor.budget > 0) actor.args.back() = absl::StrCat("--actor_max_env_steps=", std::max<int64_t>(1, steps_left));
    RETURN_IF_ERROR(Start(name, actor));
  }
  return absl::OkStatus();
}

bool Supervisor::ActorsFinished() const {
  return std::all_of(actors_.begin(), actors_.end(), [](const Role& actor) { return actor.finished; });
}

void Supervisor::RefreshActors() {
  for (Role& actor : actors_) {
    if (actor.process == nullptr || actor.finished) continue;
    ScrapeInto(actor);
  }
}

void Supervisor::RefreshLearners() {
  for (Role& rank : learners_) ScrapeInto(rank);
  for (Role& server : inference_) ScrapeInto(server);
}

void Supervisor::RefreshEvaluator() { ScrapeInto(evaluator_); }

int64_t Supervisor::EnvSteps() const {
  double total = 0;
  for (const Role& actor : actors_) total += actor.Total(kEnvStepsTotal);
  return static_cast<int64_t>(total);
}

int64_t Supervisor::EnvErrors() const {
  double total = 0;
  for (const Role& actor : actors_) total += actor.Total(kEnvErrorsTotal);
  return static_cast<int64_t>(total);
}

int64_t Supervisor::InferenceReconnects() const {
  double total = 0;
  for (const Role& actor : actors_) total += actor.Total(kInferenceReconnectsTotal);
  return static_cast<int64_t>(total);
}

// A restarted learner's counter starts again at 0; its checkpoint's
// updates are counted by the process that made them.
double Supervisor::LearnerUpdates() const { return lead().Total(kUpdatesTotal); }

double Supervisor::InferenceTotal(const std::string& name) const {
  if (inference_.empty()) return lead().Total(name);
  double total = 0;
  for (const Role& server : inference_) total += server.Total(name);
  return total;
}

int Supervisor::ShardsUp(double* items) {
  int up = 0;
  *items = 0;
  for (Role& shard : replays_) {
    if (!ScrapeInto(shard) || !HasMetric(shard.current, "rill_replay_table_size")) continue;
    ++up;
    *items += SumMetric(shard.current, "rill_replay_table_size");
  }
  return up;
}

void Supervisor::ReleaseReplayInserts() {
  for (size_t i = 0; i < endpoints_.replay.size() && i < replays_.size(); ++i) {
    if (replays_[i].process == nullptr || replays_[i].process->Poll().has_value()) continue;
    std::unique_ptr<v1::ReplayService::Stub> stub =
        v1::ReplayService::NewStub(MakeChannel(endpoints_.replay[i], int64_t{1} << 20));
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
    v1::ReleaseInsertsRequest request;
    v1::ReleaseInsertsResponse response;
    const grpc::Status status = stub->ReleaseInserts(&context, request, &response);
    // A shard that does not answer still stops in its turn; its writers
    // then flush as the rate limiter lets them.
    if (!status.ok()) {
      RILL_LOG(WARNING) << replays_[i].process->name()
                        << ": the stop could not release its inserts: " << status.error_message();
    }
  }
}

std::vector<std::string> Supervisor::StopAll() {
  StopGroups groups;
  groups.steppers = {&evaluator_};
  for (Role& actor : actors_) groups.steppers.push_back(&actor);
  for (Role& rank : learners_) groups.servers.push_back(&rank);
  for (Role& server : inference_) groups.servers.push_back(&server);
  for (Role& shard : replays_) groups.shards.push_back(&shard);
  // The last of the env steppers' peers; it stops beside the learner.
  if (env_server_ != nullptr) groups.stop_env_server = [this](absl::Duration left) { env_server_->Stop(left); };
  groups.release_inserts = [this] { ReleaseReplayInserts(); };
  const StopOutcome outcome = StopInOrder(groups, options_.stop_timeout);
  stop_duration_ = outcome.took;
  return outcome.killed;
}

void Supervisor::ReadFinalFigures() {
  std::vector<std::string> missing;
  const auto read = [&missing](Role& role) {
    if (role.process != nullptr && !ReadFinalMetrics(role)) missing.push_back(role.process->name());
  };
  for (Role& actor : actors_) {
    if (!actor.finished) read(actor);  // a finished actor's were read as it exited
  }
  for (Role& shard : replays_) read(shard);
  for (Role& rank : learners_) read(rank);
  for (Role& server : inference_) read(server);
  read(evaluator_);
  if (!missing.empty()) {
    RILL_LOG(WARNING) << "no final metrics from " << absl::StrJoin(missing, ", ")
                      << " (killed, or ended before serving metrics); the summary counts what they last served "
                         "on /metrics";
  }
}

}  // namespace rill::cli
