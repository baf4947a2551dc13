#include "tests/harness.h"

#include <cstdlib>
#include <filesystem>

#include "absl/time/clock.h"

namespace rill::testing {

MetricSamples RoleProcess::Metrics() const {
  absl::StatusOr<MetricSamples> samples = ScrapeMetrics(host, metrics_port, absl::Seconds(2));
  return samples.ok() ? *samples : MetricSamples{};
}

std::string RillBinary() { return std::filesystem::absolute("rill").string(); }

std::string TempDir(const std::string& name) {
  const char* root = std::getenv("TEST_TMPDIR");
  std::string dir = std::string(root ? root : "/tmp") + "/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

absl::StatusOr<RoleProcess> StartRole(const std::string& name, std::vector<std::string> args,
                                      const std::string& binary, int port) {
  std::string host = "127.0.0.1";
  for (const std::string& arg : args) {
    if (arg.rfind("--host=", 0) == 0) host = arg.substr(7);
  }
  if (host == "127.0.0.1") args.push_back("--host=127.0.0.1");
  args.push_back("--port=" + std::to_string(port));
  args.push_back("--metrics_port=0");
  const std::string log = TempDir("logs-" + name) + "/out.log";
  absl::StatusOr<std::unique_ptr<tools::ChildProcess>> child = tools::ChildProcess::Start(name, binary.empty() ? RillBinary() : binary, args, log);
  if (!child.ok()) return child.status();
  RoleProcess role;
  role.process = std::move(*child);
  role.host = host;
  absl::StatusOr<std::map<std::string, int>> ports = role.process->WaitReady(absl::Seconds(60));
  if (!ports.ok()) return ports.status();
  role.grpc_port = (*ports)["grpc_port"];
  role.metrics_port = (*ports)["metrics_port"];
  return role;
}

bool WaitUntil(const std::function<bool()>& condition, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (condition()) return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return condition();
}

}  // namespace rill::testing
