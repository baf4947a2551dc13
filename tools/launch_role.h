// One process of a `rill launch` run as the launcher's supervisor sees it:
// the child process, the arguments and log it was started with, the ports
// it announced, and (for actors) its step budget and restarts. The
// supervisor (launcher.cc) starts, scrapes and restarts roles through the
// functions here. Not thread-safe: the launcher's one supervising thread
// owns every Role.
#ifndef RILL_TOOLS_LAUNCH_ROLE_H_
#define RILL_TOOLS_LAUNCH_ROLE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/child_process.h"
#include "common/metrics_scrape.h"

namespace rill::tools {

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

// Pins a restarting process to the ports its previous incarnation had, so
// that its peers find it again at the address they were given.
void PinPorts(Role& role);

// Starts this binary with `role.args`, waits up to `start_timeout` for its
// ready line (ports) and, for a gRPC server, for grpc.health.v1 SERVING.
// Meanwhile `while_waiting`, when given, runs about every 250 ms (the
// launcher keeps the env server up, which an actor needs to become ready);
// its error ends the wait. The ChildProcess's errors; Unavailable naming
// `name` when it is not healthy.
absl::Status StartRole(const std::string& name, Role& role, absl::Duration start_timeout,
                       const std::function<absl::Status()>& while_waiting = nullptr);

// The role's /metrics now; empty when it has none or does not answer.
MetricSamples Scrape(const Role& role);

// 1234567 -> "1,234,567".
std::string FormatCount(double value);

}  // namespace rill::tools

#endif  // RILL_TOOLS_LAUNCH_ROLE_H_
