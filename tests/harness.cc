#include "tests/harness.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <utility>

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
  // A shard or an actor from the binary `rill` would exec for it (the same
  // flags, without LibTorch): `rill` itself first spends about a CPU-second
  // loading LibTorch, for each of the suite's many shards.
  std::string program = binary.empty() ? RillBinary() : binary;
  if (binary.empty() && !args.empty() && (args[0] == "actor" || (args[0] == "replay" && (args.size() < 2 || args[1] != "info")))) {
    const std::string slim = std::filesystem::absolute("rill-" + args[0]).string();
    if (std::filesystem::exists(slim)) {
      program = slim;
      args.erase(args.begin());
    }
  }
  absl::StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::Start(name, program, args, log);
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

v1::InsertRequest FiveTransitions() {
  v1::InsertRequest request;
  request.set_table("transitions");
  const int n = 5;
  for (int i = 0; i < n; ++i) request.add_keys(100 + i);
  for (int dims : {3, 1, 0, 0, 3}) {
    v1::Tensor* column = request.add_columns();
    column->set_dtype(v1::DTYPE_FLOAT32);
    column->add_shape(n);
    if (dims > 0) column->add_shape(dims);
    column->mutable_data()->assign(static_cast<size_t>(n * std::max(dims, 1)) * sizeof(float), '\0');
  }
  return request;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<LiveProcess> ListLiveProcesses() {
  std::vector<LiveProcess> live;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string stat = ReadFile(entry.path().string() + "/stat");
    const size_t comm_end = stat.rfind(')');
    if (comm_end == std::string::npos) continue;
    std::istringstream fields(stat.substr(comm_end + 1));
    std::string state;
    int parent = 0;
    LiveProcess process;
    fields >> state >> parent >> process.group;
    if (state == "Z") continue;
    process.pid = std::stoi(name);
    process.cmdline = ReadFile(entry.path().string() + "/cmdline");
    std::replace(process.cmdline.begin(), process.cmdline.end(), '\0', ' ');
    live.push_back(std::move(process));
  }
  return live;
}

double JsonNumber(const std::string& json, const std::string& key) {
  std::smatch match;
  if (!std::regex_search(json, match, std::regex("\"" + key + "\": (-?[0-9.eE+-]+)"))) return std::nan("");
  return std::stod(match[1].str());
}

std::string ConfigWith(const std::string& config, const std::string& name, const std::string& from,
                       const std::string& to) {
  std::string text = ReadFile(config);
  const size_t at = text.find(from);
  if (at == std::string::npos) return "";
  text.replace(at, from.size(), to);
  const std::string path = TempDir("config-" + name) + "/config.textpb";
  std::ofstream(path) << text;
  return path;
}

std::string ProcFile(const RoleProcess& role, const std::string& name) {
  return ReadFile("/proc/" + std::to_string(role.process->pid()) + "/" + name);
}

std::string ExePath(const RoleProcess& role) {
  std::error_code error;
  return std::filesystem::read_symlink("/proc/" + std::to_string(role.process->pid()) + "/exe", error).string();
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
