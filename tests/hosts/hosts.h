// Hosts: a small network of "hosts" on this machine for tests of faults
// between them. Each host is a network namespace of its own with loopback
// up and one veth link to a Linux bridge in the root namespace; the bridge
// holds the subnet's .1 (so the test process reaches every host: metrics,
// Info RPCs, a FaultProxy) and each host .10, .11, ... of a private /24
// (10.213.X.0/24, X the first one no address of this machine uses). Rill's
// real binaries run inside a host with `ip netns exec`; partitions are
// iptables DROP rules in a host's namespace, removed again to heal.
//
// Every namespace, link and rule is named after a prefix and this process's
// pid ("rillhost-<pid>-<host>", links "rhb<pid>", "rhv<pid>n<i>"), so that
// tests running in parallel do not collide; Create first removes what a
// killed earlier run left (names whose pid is no longer alive), and the
// destructor kills what still runs in the namespaces and removes them all,
// also when a test failed. Needs root and iproute2's `ip` (Unavailable
// otherwise: tests skip); iptables for partitions.
//
// Thread-compatible: one test thread drives it.
#ifndef RILL_TESTS_HOSTS_HOSTS_H_
#define RILL_TESTS_HOSTS_HOSTS_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/child_process.h"
#include "common/metrics_scrape.h"

namespace rill::testing::hosts {

// A Rill role started in a host: its ports (bound on the host's address).
struct HostProcess {
  std::unique_ptr<ChildProcess> process;
  std::string host_address;
  int grpc_port = 0;
  int metrics_port = 0;
  std::string log_path;
  std::string address() const { return host_address + ":" + std::to_string(grpc_port); }
  // Its /metrics, scraped from the test process over the bridge; empty if
  // it does not answer within 2 s.
  MetricSamples Metrics() const;
  // VmRSS from /proc/<pid>/status in bytes; -1 if it has ended.
  int64_t ResidentBytes() const;
};

class Hosts {
 public:
  // OK when this process can make namespaces (root, `ip` and `iptables`
  // present); otherwise Unavailable saying what is missing.
  static absl::Status Available();

  // Makes one namespace per name (names: [a-z0-9-], at most 20 chars),
  // after removing what dead earlier runs left. `log_dir` receives the
  // output of every `ip`/`iptables` command and of every process started.
  static absl::StatusOr<std::unique_ptr<Hosts>> Create(const std::vector<std::string>& names,
                                                       const std::string& log_dir);
  // Kills every process left in the namespaces, removes them, the links and
  // the bridge.
  ~Hosts();

  Hosts(const Hosts&) = delete;
  Hosts& operator=(const Hosts&) = delete;

  // The host's address ("10.213.X.10"); the bridge's (the root namespace's)
  // address; the subnet as a CIDR; the namespace's name and its path.
  const std::string& Address(const std::string& host) const;
  const std::string& BridgeAddress() const { return bridge_address_; }
  const std::string& Subnet() const { return subnet_; }
  std::string Namespace(const std::string& host) const;
  std::string NamespacePath(const std::string& host) const;

  // Starts `binary args... --host=ADDRESS --port=0 --metrics_port=0` in the
  // host through `ip netns exec` (ChildProcess: own process group, parent-
  // death signal, ready pipe) and waits up to a minute for its ready line.
  absl::StatusOr<HostProcess> StartRole(const std::string& host, const std::string& name, const std::string& binary,
                                        std::vector<std::string> args);

  // Runs `args...` in the host (`ip netns exec`) to its end; Internal with
  // its output's tail unless it exits 0 within `timeout`.
  absl::Status RunIn(const std::string& host, const std::vector<std::string>& args,
                     absl::Duration timeout = absl::Seconds(30));

  // Drops every packet between hosts `a` and `b` (iptables in a's
  // namespace, both directions): established connections stall as on a cut
  // link, new ones time out. Heal removes the rules again.
  absl::Status Partition(const std::string& a, const std::string& b);
  absl::Status Heal(const std::string& a, const std::string& b);

  // Removes the namespaces and links of earlier runs whose process is no
  // longer alive; returns how many it removed.
  static int RemoveStale();

 private:
  Hosts(std::string log_dir, int subnet_octet);
  absl::Status Build(const std::vector<std::string>& names);
  absl::Status Teardown();

  const std::string log_dir_;
  const int pid_;
  const std::string subnet_;
  const std::string bridge_address_;
  const std::string bridge_;
  std::vector<std::string> names_;
  std::map<std::string, std::string> addresses_;
};

}  // namespace rill::testing::hosts

#endif  // RILL_TESTS_HOSTS_HOSTS_H_
