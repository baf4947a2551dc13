// One process of a `rill launch` run as the launcher's supervisor sees it:
// the child process, the arguments and log it was started with, the ports
// it announced, its figures (scraped while it runs, its own final metrics
// once it has ended) and (for actors) its step budget and restarts. The
// supervisor (launcher.cc) starts, scrapes and restarts roles through the
// functions here. Not thread-safe: the launcher's one supervising thread
// owns every Role.
#ifndef RILL_CLI_LAUNCH_ROLE_H_
#define RILL_CLI_LAUNCH_ROLE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/child_process.h"
#include "common/metrics_scrape.h"

namespace rill::cli {

struct Role {
  std::unique_ptr<ChildProcess> process;
  std::vector<std::string> args;
  std::string log_path;
  // Given to each of the role's processes as --final_metrics_file: it
  // writes its metrics there as it exits (common/metrics.h). Empty: none.
  std::string final_metrics_path;
  int grpc_port = 0;
  int metrics_port = 0;
  // The running (or last) process's figures: its latest scrape, replaced by
  // the final metrics it wrote once it has ended (ReadFinalMetrics).
  MetricSamples current;
  // The series of the role's ended processes, summed: a restarted process
  // counts from 0 again, so a counter's total is `ended` plus `current`.
  MetricSamples ended;
  // Actors: this actor's step budget (0: none). Every role: restarts so
  // far; `finished` once an actor has spent its budget and exited.
  int64_t budget = 0;
  int restarts = 0;
  bool finished = false;

  // The counter `name` (all its series) over every process of the role.
  // Meaningless for a gauge, which does not add up across processes.
  double Total(const std::string& name) const { return SumMetric(ended, name) + SumMetric(current, name); }
};

// Pins a restarting process to the ports its previous incarnation had, so
// that its peers find it again at the address they were given.
void PinPorts(Role& role);

// The binary beside this one that runs `rill <command>` linked without
// LibTorch: rill-replay for "replay", rill-actor for "actor" (about 150 MB
// less resident memory a process, and a start that skips LibTorch's
// initialisation, about 1 s of CPU). nullopt for another command, or when
// it is not there (the role then runs in `rill` itself).
std::optional<std::string> TorchFreeBinary(absl::string_view command);

// Starts this binary with `role.args` (its command's TorchFreeBinary, when
// there is one, with the rest of them: what `rill replay` and `rill actor`
// would exec after a start of their own) (and --final_metrics_file, after
// removing what an earlier process left there), waits up to
// `start_timeout` for its ready line (ports) and, for a gRPC server, for
// grpc.health.v1 SERVING. Meanwhile `while_waiting`, when given, runs
// about every 250 ms (the launcher keeps the env server up, which an actor
// needs to become ready, and notices Ctrl-C); its error ends the wait.
// InvalidArgument with the child's log when it exits with
// roles::kExitBadInput before it is ready (it refused its flags or config,
// naming the field); the ChildProcess's other errors; Unavailable naming
// `name` when it is not healthy.
absl::Status StartRole(const std::string& name, Role& role, absl::Duration start_timeout,
                       const std::function<absl::Status()>& while_waiting = nullptr);

// StartRole's two halves, for roles that become ready only together (the
// learner ranks: rank 0 is ready once every rank has joined it): SpawnRole
// starts the process, AwaitRole waits for it as StartRole does.
absl::Status SpawnRole(const std::string& name, Role& role);
absl::Status AwaitRole(const std::string& name, Role& role, absl::Duration start_timeout,
                       const std::function<absl::Status()>& while_waiting = nullptr);

// The role's /metrics now; empty when it has none or does not answer.
MetricSamples Scrape(const Role& role);

// Scrape, kept in `role.current` when the process answered (a process
// that does not answer keeps its last figures). Returns whether it did.
bool ScrapeInto(Role& role);

// Once the role's process has ended: replaces `role.current` with the
// final metrics the process wrote as it exited. False, keeping the last
// scrape, when it wrote none (killed, or it ended before its metrics
// server started).
bool ReadFinalMetrics(Role& role);

// Once the role's process has ended and before it is restarted: its final
// figures (ReadFinalMetrics, or its last scrape) are added to `ended` and
// `current` is cleared for the next process.
void CountEndedProcess(Role& role);

// 1234567 -> "1,234,567".
std::string FormatCount(double value);

}  // namespace rill::cli

#endif  // RILL_CLI_LAUNCH_ROLE_H_
