// Shared pieces of the multi-process tests: start `rill` roles as real child
// processes (port 0, ready pipe), read their /metrics, and wait for a
// condition with a deadline. Children are killed when their handle dies, so
// a failing test leaves no process behind.
#ifndef RILL_TESTS_HARNESS_H_
#define RILL_TESTS_HARNESS_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/metrics_scrape.h"
#include "proto/replay.pb.h"
#include "common/child_process.h"

namespace rill::testing {

struct RoleProcess {
  std::unique_ptr<ChildProcess> process;
  int grpc_port = 0;
  int metrics_port = 0;
  std::string host = "127.0.0.1";  // what it binds: --host, 127.0.0.1 unless the args say otherwise
  std::string address() const { return host + ":" + std::to_string(grpc_port); }
  MetricSamples Metrics() const;
};

// The `rill` binary in the test's runfiles.
std::string RillBinary();

// A fresh folder under TEST_TMPDIR.
std::string TempDir(const std::string& name);

// Starts `rill <args...> --host=127.0.0.1 --port=PORT --metrics_port=0` and
// waits until it is ready (a --host=... in `args` replaces the 127.0.0.1). `binary` replaces the `rill` of the runfiles
// when given; `port` 0 picks a free one (a restart passes the old one).
absl::StatusOr<RoleProcess> StartRole(const std::string& name, std::vector<std::string> args,
                                      const std::string& binary = "", int port = 0);

// The contents of the file at `path` ("" if it cannot be read).
std::string ReadFile(const std::string& path);

// A live (not zombie) process, read from /proc: its pid, its process group
// and its command line (arguments joined by spaces).
struct LiveProcess {
  int pid = 0;
  int group = 0;
  std::string cmdline;
};
std::vector<LiveProcess> ListLiveProcesses();

// A number field of a flat JSON object (a run's summary.json or
// progress.json): "key": value; NaN if absent.
double JsonNumber(const std::string& json, const std::string& key);

// The config at `config` with the first `from` in its text replaced by
// `to`, written to a fresh folder named after `name`: its path, or "" when
// the text holds no `from` (the config changed under the test).
std::string ConfigWith(const std::string& config, const std::string& name, const std::string& from,
                       const std::string& to);

// /proc/<pid>/`name` of the role's process ("maps", "status"; "" if
// unreadable), and the path of the image it runs (/proc/<pid>/exe).
std::string ProcFile(const RoleProcess& role, const std::string& name);
std::string ExePath(const RoleProcess& role);

// Five zero Pendulum transitions (obs 3, action 1, reward, terminated,
// next_obs 3) for table "transitions", keys 100..104.
v1::InsertRequest FiveTransitions();

// Polls `condition` every 50 ms until it holds (true) or the timeout passes.
bool WaitUntil(const std::function<bool()>& condition, absl::Duration timeout);

}  // namespace rill::testing

#endif  // RILL_TESTS_HARNESS_H_
