#include "cli/launch_role.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/grpc_util.h"
#include "common/logging.h"
#include "common/os.h"
#include "common/status_macros.h"
#include "roles/role.h"

namespace rill::cli {
namespace {

constexpr absl::Duration kScrapeTimeout = absl::Seconds(2);
// How often StartRole runs its `while_waiting` while a role starts.
constexpr absl::Duration kWaitSlice = absl::Milliseconds(250);

}  // namespace

void PinPorts(Role& role) {
  for (std::string& arg : role.args) {
    if (absl::StartsWith(arg, "--port=")) arg = absl::StrCat("--port=", role.grpc_port);
    if (absl::StartsWith(arg, "--metrics_port=")) arg = absl::StrCat("--metrics_port=", role.metrics_port);
  }
}

absl::Status StartRole(const std::string& name, Role& role, absl::Duration start_timeout,
                       const std::function<absl::Status()>& while_waiting) {
  RETURN_IF_ERROR(SpawnRole(name, role));
  return AwaitRole(name, role, start_timeout, while_waiting);
}

std::optional<std::string> TorchFreeBinary(absl::string_view command) {
  const char* binary = command == "replay" ? "rill-replay" : command == "actor" ? "rill-actor" : nullptr;
  absl::StatusOr<std::string> self = SelfBinary();
  if (binary == nullptr || !self.ok()) return std::nullopt;
  std::string path = absl::StrCat(self->substr(0, self->rfind('/') + 1), binary);
  if (access(path.c_str(), X_OK) != 0) return std::nullopt;
  return path;
}

absl::Status SpawnRole(const std::string& name, Role& role) {
  RILL_LOG(INFO) << "starting " << name;
  std::vector<std::string> args = role.args;
  if (!role.final_metrics_path.empty()) {
    // What an earlier process left is not this one's.
    std::remove(role.final_metrics_path.c_str());
    args.push_back(absl::StrCat("--final_metrics_file=", role.final_metrics_path));
  }
  std::string binary = SelfBinary().value_or("rill");
  if (std::optional<std::string> torch_free = args.empty() ? std::nullopt : TorchFreeBinary(args.front())) {
    binary = *torch_free;
    args.erase(args.begin());
  }
  auto child = ChildProcess::Start(name, binary, args, role.log_path);
  if (!child.ok()) return child.status();
  role.process = std::move(*child);
  return absl::OkStatus();
}

absl::Status AwaitRole(const std::string& name, Role& role, absl::Duration start_timeout,
                       const std::function<absl::Status()>& while_waiting) {
  const absl::Time deadline = absl::Now() + start_timeout;
  absl::StatusOr<std::map<std::string, int>> ports;
  while (true) {
    const absl::Duration left = deadline - absl::Now();
    ports = role.process->WaitReady(while_waiting ? std::min(left, kWaitSlice) : left);
    if (ports.ok() || !absl::IsDeadlineExceeded(ports.status()) || absl::Now() >= deadline) break;
    absl::Status meanwhile = while_waiting();
    if (!meanwhile.ok()) return meanwhile;
  }
  if (!ports.ok()) {
    const std::optional<int> status = role.process->Poll();
    if (status.has_value() && WIFEXITED(*status) && WEXITSTATUS(*status) == roles::kExitBadInput) {
      // The child's own words name what it refused; `rill launch` exits
      // with the same code.
      return absl::InvalidArgumentError(absl::StrCat(name, " refused its flags or config (",
                                                     ChildProcess::DescribeStatus(*status), "); its log ends with:\n",
                                                     role.process->LogTail(15)));
    }
    if (!absl::IsDeadlineExceeded(ports.status()) || !while_waiting) return ports.status();
    // The last slice's message names the slice, not the whole wait.
    return absl::DeadlineExceededError(absl::StrCat(name, " did not become ready within ",
                                                    absl::FormatDuration(start_timeout), "; its log ends with:\n",
                                                    role.process->LogTail(15)));
  }
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

bool ScrapeInto(Role& role) {
  MetricSamples samples = Scrape(role);
  if (samples.empty()) return false;
  role.current = std::move(samples);
  return true;
}

bool ReadFinalMetrics(Role& role) {
  if (role.final_metrics_path.empty()) return false;
  std::ifstream in(role.final_metrics_path);
  if (!in) return false;
  std::stringstream text;
  text << in.rdbuf();
  MetricSamples samples = ParseMetricsText(text.str());
  if (samples.empty()) return false;
  role.current = std::move(samples);
  return true;
}

void CountEndedProcess(Role& role) {
  ReadFinalMetrics(role);
  for (const auto& [series, value] : role.current) role.ended[series] += value;
  role.current.clear();
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

}  // namespace rill::cli
