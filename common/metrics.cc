#include "common/metrics.h"

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/os.h"
#include "prometheus/text_serializer.h"

namespace rill {
namespace {

// How often the accept loop looks at stopping_.
constexpr int kPollMillis = 200;
// How long Create tries a given port that is in use.
constexpr absl::Duration kBindRetry = absl::Seconds(3);

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Create(const std::string& address) {
  const size_t colon = address.rfind(':');
  int port = -1;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("metrics address '", address, "' is not HOST:PORT"));
  }
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* resolved = nullptr;
  if (getaddrinfo(host.empty() ? nullptr : host.c_str(), std::to_string(port).c_str(), &hints, &resolved) != 0 ||
      resolved == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("cannot resolve metrics host '", host, "'"));
  }
  int fd = socket(resolved->ai_family, resolved->ai_socktype | SOCK_CLOEXEC, resolved->ai_protocol);
  int one = 1;
  if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  bool bound_port = fd >= 0 && bind(fd, resolved->ai_addr, resolved->ai_addrlen) == 0;
  // A restarted process asks for its old port, which a short-lived
  // connection (a scrape's, another process's) may hold as its local port
  // for a moment after the old process died: try again for a while.
  const absl::Time deadline = absl::Now() + kBindRetry;
  while (fd >= 0 && !bound_port && errno == EADDRINUSE && port != 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));
    bound_port = bind(fd, resolved->ai_addr, resolved->ai_addrlen) == 0;
  }
  if (fd < 0 || !bound_port || listen(fd, 64) != 0) {
    const std::string why = strerror(errno);
    if (fd >= 0) close(fd);
    freeaddrinfo(resolved);
    return absl::UnavailableError(absl::StrCat("cannot serve metrics on ", address, ": ", why));
  }
  freeaddrinfo(resolved);
  sockaddr_storage bound{};
  socklen_t length = sizeof(bound);
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
  std::unique_ptr<MetricsServer> server(new MetricsServer());
  server->registry_ = std::make_shared<prometheus::Registry>();
  server->RegisterProcessMetrics();
  server->listen_fd_ = fd;
  server->port_ = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                              : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  server->thread_ = std::thread([s = server.get()] { s->Serve(); });
  return server;
}

MetricsServer::~MetricsServer() {
  stopping_.store(true);
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) close(listen_fd_);
  if (!final_snapshot_path_.empty()) WriteFinalSnapshot();
}

void MetricsServer::WriteFinalSnapshot() {
  UpdateProcessMetrics();
  const absl::Status written =
      WriteFileAtomically(final_snapshot_path_, prometheus::TextSerializer().Serialize(Collect()));
  // The process is ending: say why on stderr, which the launcher keeps in its log.
  if (!written.ok()) std::fprintf(stderr, "final metrics: %s\n", written.ToString().c_str());
}

void MetricsServer::AddLabelledRegistry(std::shared_ptr<prometheus::Registry> registry,
                                        std::vector<prometheus::ClientMetric::Label> labels) {
  absl::MutexLock lock(&mu_);
  labelled_.push_back({std::move(registry), std::move(labels)});
}

std::vector<prometheus::MetricFamily> MetricsServer::Collect() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  absl::MutexLock lock(&mu_);
  for (const Labelled& labelled : labelled_) {
    for (prometheus::MetricFamily& family : labelled.registry->Collect()) {
      for (prometheus::ClientMetric& metric : family.metric) {
        metric.label.insert(metric.label.end(), labelled.labels.begin(), labelled.labels.end());
      }
      // One family per name in the exposition, whichever registries hold it.
      auto same = std::find_if(families.begin(), families.end(),
                               [&family](const prometheus::MetricFamily& f) { return f.name == family.name; });
      if (same == families.end()) {
        families.push_back(std::move(family));
      } else {
        same->metric.insert(same->metric.end(), std::make_move_iterator(family.metric.begin()),
                            std::make_move_iterator(family.metric.end()));
      }
    }
  }
  return families;
}

void MetricsServer::Serve() {
  while (!stopping_.load()) {
    pollfd fd{listen_fd_, POLLIN, 0};
    if (poll(&fd, 1, kPollMillis) <= 0) continue;
    int connection = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (connection < 0) continue;
    Answer(connection);
    close(connection);
  }
}

void MetricsServer::Answer(int connection) {
  // A slow or silent client cannot hold the server for more than a second.
  timeval timeout{1, 0};
  setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  std::string request;
  char buffer[4096];
  while (request.find("\r\n\r\n") == std::string::npos && request.size() < 16384) {
    ssize_t n = recv(connection, buffer, sizeof(buffer), 0);
    if (n <= 0) return;
    request.append(buffer, static_cast<size_t>(n));
  }
  std::string status = "200 OK";
  std::string body;
  if (request.compare(0, 4, "GET ") != 0) {
    status = "405 Method Not Allowed";
    body = "only GET /metrics is served\n";
  } else if (request.compare(4, 9, "/metrics ") != 0 && request.compare(4, 9, "/metrics?") != 0 &&
             request.compare(4, 2, "/ ") != 0) {
    status = "404 Not Found";
    body = "metrics are at /metrics\n";
  } else {
    UpdateProcessMetrics();
    body = prometheus::TextSerializer().Serialize(Collect());
  }
  const std::string response = absl::StrCat("HTTP/1.1 ", status,
                                            "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                                            "Content-Length: ", body.size(), "\r\nConnection: close\r\n\r\n", body);
  size_t sent = 0;
  while (sent < response.size()) {
    ssize_t n = send(connection, response.data() + sent, response.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += static_cast<size_t>(n);
  }
}

void MetricsServer::RegisterProcessMetrics() {
  auto gauge = [&](const char* name, const char* help) {
    return &prometheus::BuildGauge().Name(name).Help(help).Register(*registry_).Add({});
  };
  process_.cpu_seconds = &prometheus::BuildCounter().Name("process_cpu_seconds_total")
                              .Help("Total user and system CPU time spent in seconds.").Register(*registry_).Add({});
  process_.resident_memory_bytes = gauge("process_resident_memory_bytes", "Resident memory size in bytes.");
  process_.virtual_memory_bytes = gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.");
  process_.start_time_seconds =
      gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.");
  process_.open_fds = gauge("process_open_fds", "Number of open file descriptors.");
  process_.max_fds = gauge("process_max_fds", "Maximum number of open file descriptors.");
  UpdateProcessMetrics();
}

void MetricsServer::UpdateProcessMetrics() {
  // /proc/self/stat: the fields after the command's closing parenthesis
  // start at field 3 (state); utime 14, stime 15, starttime 22 (clock ticks),
  // vsize 23 (bytes), rss 24 (pages). See proc(5).
  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  const size_t close_paren = stat.rfind(')');
  if (close_paren == std::string::npos) return;
  std::vector<std::string> fields = absl::StrSplit(stat.substr(close_paren + 2), ' ', absl::SkipEmpty());
  auto field = [&](int number) {
    double value = 0;
    const size_t index = static_cast<size_t>(number - 3);
    if (index < fields.size()) (void)absl::SimpleAtod(fields[index], &value);
    return value;
  };
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double cpu = (field(14) + field(15)) / ticks;
  if (cpu > process_.cpu_seconds_seen) {
    process_.cpu_seconds->Increment(cpu - process_.cpu_seconds_seen);
    process_.cpu_seconds_seen = cpu;
  }
  process_.virtual_memory_bytes->Set(field(23));
  process_.resident_memory_bytes->Set(field(24) * static_cast<double>(sysconf(_SC_PAGESIZE)));
  // Boot time ("btime" in /proc/stat) plus the start in ticks since boot.
  std::ifstream proc_stat("/proc/stat");
  std::string line;
  while (std::getline(proc_stat, line)) {
    double boot = 0;
    if (absl::StartsWith(line, "btime ") && absl::SimpleAtod(line.substr(6), &boot)) {
      process_.start_time_seconds->Set(boot + field(22) / ticks);
      break;
    }
  }
  std::error_code error;
  int open = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", error);
       !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
    ++open;
  }
  process_.open_fds->Set(open);
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) process_.max_fds->Set(static_cast<double>(limit.rlim_cur));
}

prometheus::Histogram::BucketBoundaries LatencyBuckets() {
  return {5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1, 2.5, 10};
}

}  // namespace rill
