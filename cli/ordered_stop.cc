#include "cli/ordered_stop.h"

#include <signal.h>

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/child_process.h"

namespace rill::cli {

StopOutcome StopInOrder(const StopGroups& groups, absl::Duration timeout) {
  const absl::Time begin = absl::Now(), deadline = begin + timeout;
  const std::vector<Role*>& steppers = groups.steppers;
  const std::vector<Role*>& servers = groups.servers;
  const std::vector<Role*>& shards = groups.shards;
  int stopped = 0;
  // SIGTERM to every process of `roles` at once; returns them.
  const auto signal = [&stopped](const std::vector<Role*>& roles) {
    std::vector<ChildProcess*> group;
    for (Role* role : roles) {
      if (role->process != nullptr) group.push_back(role->process.get());
    }
    for (ChildProcess* child : group) child->Signal(SIGTERM);
    stopped += static_cast<int>(group.size());
    return group;
  };
  std::vector<std::string> killed;
  // Kills what still runs of `roles`, reading its figures first while
  // there is time: it still serves /metrics, and counts nothing new once
  // it has stopped working.
  const auto kill = [&killed, deadline](const std::vector<Role*>& roles) {
    for (Role* role : roles) {
      if (role->process == nullptr || role->process->Poll().has_value()) continue;
      if (absl::Now() < deadline) ScrapeInto(*role);
      killed.push_back(role->process->name());
      role->process->Kill();
    }
  };
  // Waits for `group` until `until`, saying once a second after the first
  // which processes it still waits for: a stop under load is not silent.
  absl::Time next_note = begin + absl::Seconds(1);
  const auto wait = [&next_note, begin, deadline, timeout](const std::vector<ChildProcess*>& group, absl::Time until) {
    while (!ChildProcess::WaitAll(group, std::min(until, next_note)) && absl::Now() < until) {
      std::vector<std::string> running;
      for (ChildProcess* child : group) {
        if (child->running()) running.push_back(child->name());
      }
      if (running.empty()) return;
      std::printf("stopping (%.0fs): waiting for %s; what still runs at %.0fs (--stop_timeout) is killed\n",
                  absl::ToDoubleSeconds(absl::Now() - begin), absl::StrJoin(running, ", ").c_str(),
                  absl::ToDoubleSeconds(timeout));
      std::fflush(stdout);
      next_note = std::min(deadline, absl::Now() + absl::Seconds(1));
    }
  };

  // Signalled first, so that the evaluator ends on the round the launcher
  // saw last; their flushes meet the release a moment later.
  const std::vector<ChildProcess*> stepper_group = signal(steppers);
  if (groups.release_inserts) groups.release_inserts();
  wait(stepper_group, begin + timeout / 4);
  const std::vector<ChildProcess*> server_group = signal(servers);
  if (groups.stop_env_server) groups.stop_env_server(std::max(absl::ZeroDuration(), begin + timeout / 2 - absl::Now()));
  wait(server_group, begin + timeout / 2);
  wait(signal(shards), deadline);
  // An actor still flushing now waits for a replay that has gone.
  kill(steppers);
  wait(server_group, deadline);
  kill(servers);
  kill(shards);
  const absl::Duration took = absl::Now() - begin;
  if (killed.empty()) {
    std::printf("%d processes stopped in %.1fs\n", stopped, absl::ToDoubleSeconds(took));
  } else {
    std::printf("%d processes stopped in %.1fs; killed %s (still writing once replay had stopped, or running at "
                "the %s deadline, --stop_timeout)\n",
                stopped, absl::ToDoubleSeconds(took), absl::StrJoin(killed, ", ").c_str(),
                absl::FormatDuration(timeout).c_str());
  }
  std::fflush(stdout);
  return StopOutcome{killed, took};
}

}  // namespace rill::cli
