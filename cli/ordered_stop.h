// The ordered stop of a `rill launch` run's processes (Supervisor::StopAll):
// three groups, each signalled (SIGTERM) at once so that its processes
// drain in parallel, under one deadline. First the env steppers (actors
// and the evaluator), and at once the replay shards are told that the run
// is stopping, so that they admit every insert past their rate limiters:
// the steppers' writes in flight are stored as they flush them, for at
// most a quarter of the deadline; then
// the servers (learner ranks, inference servers, and the env server beside
// them: final checkpoint), up to half of it; then the replay shards (final
// checkpoint). Steppers still flushing once replay has stopped wait for
// nothing more and are killed at once; whatever runs at the deadline too.
// A process about to be killed is scraped first (it still serves /metrics
// and counts nothing new once it has stopped working). It says, once a
// second, which processes it still waits for: a stop under load is not
// silent.
//
// Not thread-safe: the launcher's one thread calls it.
#ifndef RILL_CLI_ORDERED_STOP_H_
#define RILL_CLI_ORDERED_STOP_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "cli/launch_role.h"

namespace rill::cli {

struct StopGroups {
  std::vector<Role*> steppers;  // actors and the evaluator
  std::vector<Role*> servers;   // learner ranks and inference servers
  std::vector<Role*> shards;    // replay
  // Stops the env server within the time it is given; none when empty.
  std::function<void(absl::Duration)> stop_env_server;
  // Tells the replay shards that the run is stopping, right after the
  // steppers are: their last batches are then stored at once, past the rate limiter
  // (otherwise they wait for samples that a learner about to stop takes
  // slowly, if at all). None when empty.
  std::function<void()> release_inserts;
};

struct StopOutcome {
  std::vector<std::string> killed;  // the names of the processes killed
  absl::Duration took;
};

// Stops `groups` in order within `timeout`; roles without a process are
// passed over.
StopOutcome StopInOrder(const StopGroups& groups, absl::Duration timeout);

}  // namespace rill::cli

#endif  // RILL_CLI_ORDERED_STOP_H_
