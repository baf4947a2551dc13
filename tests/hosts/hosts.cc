#include "tests/hosts/hosts.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace rill::testing::hosts {
namespace {

constexpr char kIp[] = "/usr/sbin/ip";
constexpr char kIptables[] = "/usr/sbin/iptables";
constexpr char kNamespacePrefix[] = "rillhost-";
constexpr char kBridgePrefix[] = "rhb";
constexpr char kVethPrefix[] = "rhv";
constexpr char kPeerPrefix[] = "rhp";
// Held while a subnet is picked and its bridge made, so that two test
// processes starting together do not pick the same one.
constexpr char kLockFile[] = "/run/lock/rill-hosts.lock";

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs `binary args...` to its end with its output in `log_dir`/command.out
// (appended to commands.log after); the output, or Internal with its tail.
absl::StatusOr<std::string> Command(const std::string& log_dir, const std::string& binary,
                                    const std::vector<std::string>& args, absl::Duration timeout = absl::Seconds(30)) {
  const std::string out = log_dir + "/command.out";
  std::filesystem::remove(out);
  absl::StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::StartProgram("command", binary, args, out);
  if (!child.ok()) return child.status();
  std::optional<int> status = (*child)->WaitExit(timeout);
  const std::string output = ReadAll(out);
  std::ofstream(log_dir + "/commands.log", std::ios::app)
      << "$ " << binary << " " << absl::StrJoin(args, " ") << "\n" << output;
  if (!status.has_value()) {
    (*child)->Kill();
    return absl::InternalError(absl::StrCat(binary, " ", absl::StrJoin(args, " "), " did not end within ",
                                            absl::FormatDuration(timeout)));
  }
  if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
    return absl::InternalError(absl::StrCat(binary, " ", absl::StrJoin(args, " "), ": ",
                                            ChildProcess::DescribeStatus(*status), ": ", output));
  }
  return output;
}

bool Alive(int pid) { return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM); }

// The pid in a name "<prefix><pid><rest>"; 0 if there is none.
int PidIn(const std::string& name, const std::string& prefix) {
  if (!absl::StartsWith(name, prefix)) return 0;
  size_t end = prefix.size();
  while (end < name.size() && isdigit(static_cast<unsigned char>(name[end]))) ++end;
  int pid = 0;
  return absl::SimpleAtoi(name.substr(prefix.size(), end - prefix.size()), &pid) ? pid : 0;
}

// SIGKILLs every process in namespace `name`.
void KillIn(const std::string& log_dir, const std::string& name) {
  absl::StatusOr<std::string> pids = Command(log_dir, kIp, {"netns", "pids", name});
  if (!pids.ok()) return;
  for (absl::string_view line : absl::StrSplit(*pids, '\n', absl::SkipWhitespace())) {
    int pid = 0;
    if (absl::SimpleAtoi(line, &pid) && pid > 1 && pid != getpid()) kill(pid, SIGKILL);
  }
}

std::vector<std::string> NamespaceNames(const std::string& log_dir) {
  std::vector<std::string> names;
  absl::StatusOr<std::string> list = Command(log_dir, kIp, {"netns", "list"});
  if (!list.ok()) return names;
  for (absl::string_view line : absl::StrSplit(*list, '\n', absl::SkipWhitespace())) {
    names.emplace_back(line.substr(0, line.find(' ')));
  }
  return names;
}

// Names of the root namespace's links ("rhv123n0@if2" -> "rhv123n0").
std::vector<std::string> LinkNames(const std::string& log_dir) {
  std::vector<std::string> names;
  absl::StatusOr<std::string> list = Command(log_dir, kIp, {"-o", "link", "show"});
  if (!list.ok()) return names;
  for (absl::string_view line : absl::StrSplit(*list, '\n', absl::SkipWhitespace())) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ', absl::SkipWhitespace());
    if (fields.size() < 2) continue;
    std::string name(fields[1]);
    name = name.substr(0, name.find_first_of("@:"));
    names.push_back(name);
  }
  return names;
}

std::string StaleLogDir() {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = std::string(tmp != nullptr ? tmp : "/tmp") + "/rill-hosts-cleanup";
  std::filesystem::create_directories(dir);
  return dir;
}

// Releases an flock'ed file when it goes.
class FileLock {
 public:
  explicit FileLock(const std::string& path) : fd_(open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
    if (fd_ >= 0) flock(fd_, LOCK_EX);
  }
  ~FileLock() {
    if (fd_ >= 0) close(fd_);
  }

 private:
  int fd_;
};

}  // namespace

MetricSamples HostProcess::Metrics() const {
  absl::StatusOr<MetricSamples> samples = ScrapeMetrics(host_address, metrics_port, absl::Seconds(2));
  return samples.ok() ? *samples : MetricSamples{};
}

int64_t HostProcess::ResidentBytes() const {
  if (process == nullptr) return -1;
  const std::string status = ReadAll(absl::StrCat("/proc/", process->pid(), "/status"));
  for (absl::string_view line : absl::StrSplit(status, '\n')) {
    if (!absl::StartsWith(line, "VmRSS:")) continue;
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ', absl::SkipWhitespace());
    int64_t kib = 0;
    if (fields.size() >= 2 && absl::SimpleAtoi(fields[1], &kib)) return kib * 1024;
  }
  return -1;
}

absl::Status Hosts::Available() {
  if (geteuid() != 0) return absl::UnavailableError("network namespaces need root (this test runs as a user)");
  for (const char* binary : {kIp, kIptables}) {
    if (access(binary, X_OK) != 0) return absl::UnavailableError(absl::StrCat(binary, " is missing"));
  }
  return absl::OkStatus();
}

int Hosts::RemoveStale() {
  const std::string log_dir = StaleLogDir();
  int removed = 0;
  for (const std::string& name : NamespaceNames(log_dir)) {
    const int pid = PidIn(name, kNamespacePrefix);
    if (pid == 0 || Alive(pid)) continue;
    KillIn(log_dir, name);
    if (Command(log_dir, kIp, {"netns", "del", name}).ok()) ++removed;
  }
  for (const std::string& name : LinkNames(log_dir)) {
    int pid = PidIn(name, kBridgePrefix);
    if (pid == 0) pid = PidIn(name, kVethPrefix);
    if (pid == 0 || Alive(pid)) continue;
    if (Command(log_dir, kIp, {"link", "del", name}).ok()) ++removed;
  }
  return removed;
}

Hosts::Hosts(std::string log_dir, int subnet_octet)
    : log_dir_(std::move(log_dir)),
      pid_(getpid()),
      subnet_(absl::StrCat("10.213.", subnet_octet, ".0/24")),
      bridge_address_(absl::StrCat("10.213.", subnet_octet, ".1")),
      bridge_(absl::StrCat(kBridgePrefix, getpid())) {}

absl::StatusOr<std::unique_ptr<Hosts>> Hosts::Create(const std::vector<std::string>& names,
                                                     const std::string& log_dir) {
  if (absl::Status available = Available(); !available.ok()) return available;
  if (names.empty() || names.size() > 200) return absl::InvalidArgumentError("1 to 200 hosts");
  std::set<std::string> seen;
  for (const std::string& name : names) {
    if (name.empty() || name.size() > 20 || name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") !=
                                                 std::string::npos || !seen.insert(name).second) {
      return absl::InvalidArgumentError(absl::StrCat("host name '", name, "': [a-z0-9-]{1,20}, unique"));
    }
  }
  std::filesystem::create_directories(log_dir);
  RemoveStale();
  FileLock lock(kLockFile);
  // The first 10.213.X.0/24 no address of this machine's root namespace uses.
  absl::StatusOr<std::string> addresses = Command(log_dir, kIp, {"-o", "-4", "addr", "show"});
  if (!addresses.ok()) return addresses.status();
  int octet = 1;
  while (octet < 255 && absl::StrContains(*addresses, absl::StrCat(" 10.213.", octet, "."))) ++octet;
  if (octet == 255) return absl::ResourceExhaustedError("every 10.213.X.0/24 is in use");
  std::unique_ptr<Hosts> hosts(new Hosts(log_dir, octet));
  absl::Status built = hosts->Build(names);
  if (!built.ok()) return built;  // the destructor removes what was made
  return hosts;
}

absl::Status Hosts::Build(const std::vector<std::string>& names) {
  auto ip = [&](const std::vector<std::string>& args) { return Command(log_dir_, kIp, args).status(); };
  // The bridge first: the destructor removes it even if a host fails.
  if (absl::Status made = ip({"link", "add", bridge_, "type", "bridge"}); !made.ok()) return made;
  if (absl::Status made = ip({"addr", "add", bridge_address_ + "/24", "dev", bridge_}); !made.ok()) return made;
  if (absl::Status made = ip({"link", "set", bridge_, "up"}); !made.ok()) return made;
  const std::string base = subnet_.substr(0, subnet_.rfind('.') + 1);
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string& name = names[i];
    const std::string ns = absl::StrCat(kNamespacePrefix, pid_, "-", name);
    const std::string veth = absl::StrCat(kVethPrefix, pid_, "n", i);
    const std::string peer = absl::StrCat(kPeerPrefix, pid_, "n", i);
    const std::string address = absl::StrCat(base, 10 + i);
    if (absl::Status made = ip({"netns", "add", ns}); !made.ok()) return made;
    names_.push_back(name);
    addresses_[name] = address;
    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
             {"link", "add", veth, "type", "veth", "peer", "name", peer, "netns", ns},
             {"link", "set", veth, "master", bridge_},
             {"link", "set", veth, "up"},
             {"-n", ns, "addr", "add", address + "/24", "dev", peer},
             {"-n", ns, "link", "set", peer, "up"},
             {"-n", ns, "link", "set", "lo", "up"}}) {
      if (absl::Status made = ip(args); !made.ok()) return made;
    }
  }
  return absl::OkStatus();
}

Hosts::~Hosts() { (void)Teardown(); }

absl::Status Hosts::Teardown() {
  absl::Status result;
  for (const std::string& name : names_) {
    const std::string ns = Namespace(name);
    KillIn(log_dir_, ns);
    // Deleting the namespace deletes its end of the veth pair, and so ours.
    absl::StatusOr<std::string> deleted = Command(log_dir_, kIp, {"netns", "del", ns});
    if (!deleted.ok()) result.Update(deleted.status());
  }
  names_.clear();
  // Links whose namespace could not be made still sit in the root namespace.
  for (const std::string& link : LinkNames(log_dir_)) {
    if (PidIn(link, kVethPrefix) == pid_ || link == bridge_) {
      absl::StatusOr<std::string> deleted = Command(log_dir_, kIp, {"link", "del", link});
      if (!deleted.ok()) result.Update(deleted.status());
    }
  }
  return result;
}

const std::string& Hosts::Address(const std::string& host) const {
  static const std::string& none = *new std::string();
  auto it = addresses_.find(host);
  return it == addresses_.end() ? none : it->second;
}

std::string Hosts::Namespace(const std::string& host) const { return absl::StrCat(kNamespacePrefix, pid_, "-", host); }

std::string Hosts::NamespacePath(const std::string& host) const { return "/run/netns/" + Namespace(host); }

absl::StatusOr<HostProcess> Hosts::StartRole(const std::string& host, const std::string& name,
                                             const std::string& binary, std::vector<std::string> args) {
  if (!addresses_.contains(host)) return absl::NotFoundError(absl::StrCat("no host '", host, "'"));
  HostProcess role;
  role.host_address = Address(host);
  role.log_path = absl::StrCat(log_dir_, "/", name, ".log");
  std::vector<std::string> full = {"netns", "exec", Namespace(host), binary};
  full.insert(full.end(), args.begin(), args.end());
  full.push_back("--host=" + role.host_address);
  full.push_back("--port=0");
  full.push_back("--metrics_port=0");
  // `ip netns exec` execs the binary in place (no fork), so the child's pid,
  // process group, parent-death signal and ready pipe are the binary's own.
  absl::StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::Start(name, kIp, full, role.log_path);
  if (!child.ok()) return child.status();
  role.process = *std::move(child);
  absl::StatusOr<std::map<std::string, int>> ports = role.process->WaitReady(absl::Seconds(60));
  if (!ports.ok()) return ports.status();
  role.grpc_port = (*ports)["grpc_port"];
  role.metrics_port = (*ports)["metrics_port"];
  return role;
}

absl::Status Hosts::RunIn(const std::string& host, const std::vector<std::string>& args, absl::Duration timeout) {
  std::vector<std::string> full = {"netns", "exec", Namespace(host)};
  full.insert(full.end(), args.begin(), args.end());
  return Command(log_dir_, kIp, full, timeout).status();
}

absl::Status Hosts::Partition(const std::string& a, const std::string& b) {
  if (!addresses_.contains(a) || !addresses_.contains(b)) return absl::NotFoundError(a + " or " + b);
  if (absl::Status out = RunIn(a, {kIptables, "-w", "-A", "OUTPUT", "-d", Address(b), "-j", "DROP"}); !out.ok()) {
    return out;
  }
  return RunIn(a, {kIptables, "-w", "-A", "INPUT", "-s", Address(b), "-j", "DROP"});
}

absl::Status Hosts::Heal(const std::string& a, const std::string& b) {
  if (!addresses_.contains(a) || !addresses_.contains(b)) return absl::NotFoundError(a + " or " + b);
  if (absl::Status out = RunIn(a, {kIptables, "-w", "-D", "OUTPUT", "-d", Address(b), "-j", "DROP"}); !out.ok()) {
    return out;
  }
  return RunIn(a, {kIptables, "-w", "-D", "INPUT", "-s", Address(b), "-j", "DROP"});
}

}  // namespace rill::testing::hosts
