#include "tests/hosts/fault_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace rill::testing::hosts {
namespace {

constexpr int kChunkBytes = 16 << 10;

// The address as a host-order integer; nullopt unless numeric IPv4.
std::optional<uint32_t> ParseIpv4(const std::string& text) {
  in_addr address{};
  if (inet_pton(AF_INET, text.c_str(), &address) != 1) return std::nullopt;
  return ntohl(address.s_addr);
}

bool InSubnet(uint32_t address, const std::string& cidr) {
  std::vector<std::string> parts = absl::StrSplit(cidr, '/');
  int bits = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &bits) || bits < 0 || bits > 32) return false;
  const std::optional<uint32_t> network = ParseIpv4(parts[0]);
  if (!network.has_value()) return false;
  const uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
  return (address & mask) == (*network & mask);
}

absl::Status CheckLocal(const std::string& what, const std::string& host, const std::vector<std::string>& subnets) {
  const std::optional<uint32_t> address = ParseIpv4(host);
  if (!address.has_value()) return absl::InvalidArgumentError(absl::StrCat(what, " '", host, "' is not numeric IPv4"));
  if (InSubnet(*address, "127.0.0.0/8")) return absl::OkStatus();
  for (const std::string& subnet : subnets) {
    if (InSubnet(*address, subnet)) return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(what, " ", host, " is outside loopback and the allowed subnets (",
                                                 absl::StrJoin(subnets, ", "), "): the proxy forwards locally only"));
}

absl::Status CheckFaults(const LinkFaults& faults) {
  if (faults.loss < 0 || faults.loss > 1) return absl::InvalidArgumentError("loss must be within [0, 1]");
  if (faults.latency < absl::ZeroDuration() || faults.jitter < absl::ZeroDuration() ||
      faults.loss_stall < absl::ZeroDuration() || faults.flap_down < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("a fault's duration is negative");
  }
  if (faults.flap_up.has_value() && *faults.flap_up <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("flap_up must be > 0");
  }
  if (faults.max_bytes_per_second.has_value() && *faults.max_bytes_per_second <= 0) {
    return absl::InvalidArgumentError("max_bytes_per_second must be > 0");
  }
  return absl::OkStatus();
}

sockaddr_in SocketAddress(const std::string& host, int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, host.c_str(), &address.sin_addr);
  return address;
}

void NoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

}  // namespace

// One direction of one connection: a reader thread that queues chunks with
// the time each may leave, and a writer thread that sends them then.
class FaultProxy::Pipe {
 public:
  Pipe(FaultProxy* proxy, int from, int to) : proxy_(proxy), from_(from), to_(to) {}
  void Start() {
    reader_ = std::thread([this] { Read(); });
    writer_ = std::thread([this] { Write(); });
  }
  // Wakes both threads for good; the sockets are shut down by the owner.
  void Close() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    closed_ = true;
  }
  void Join() {
    if (reader_.joinable()) reader_.join();
    if (writer_.joinable()) writer_.join();
  }

 private:
  struct Chunk {
    std::string data;
    absl::Time release;
  };

  void Read() ABSL_LOCKS_EXCLUDED(mu_) {
    std::string buffer(kChunkBytes, '\0');
    while (true) {
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](Pipe* pipe) ABSL_EXCLUSIVE_LOCKS_REQUIRED(pipe->mu_) {
              return pipe->closed_ || pipe->buffered_ + kChunkBytes <= pipe->proxy_->options_.max_buffered_bytes ||
                     pipe->buffered_ == 0;
            },
            this));
        if (closed_) return;
      }
      const ssize_t n = read(from_, buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        absl::MutexLock lock(&mu_);
        eof_ = true;
        return;
      }
      const absl::Time now = absl::Now();
      const absl::Duration delay = proxy_->ChunkDelay();
      absl::MutexLock lock(&mu_);
      // In order: a chunk never overtakes the one before it.
      const absl::Time release = std::max(now + delay, last_release_);
      last_release_ = release;
      queue_.push_back({buffer.substr(0, static_cast<size_t>(n)), release});
      buffered_ += n;
      proxy_->NoteBuffered(buffered_);
    }
  }

  void Write() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::Time next_send = absl::InfinitePast();
    while (true) {
      Chunk chunk;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](Pipe* pipe) ABSL_EXCLUSIVE_LOCKS_REQUIRED(pipe->mu_) {
              return pipe->closed_ || pipe->eof_ || !pipe->queue_.empty();
            },
            this));
        if (closed_) return;
        if (queue_.empty()) {  // the source ended and everything it sent is out
          shutdown(to_, SHUT_WR);
          return;
        }
        // Until the head's time has come (or the pipe closes).
        mu_.AwaitWithDeadline(absl::Condition(&closed_), queue_.front().release);
        if (closed_) return;
        chunk = std::move(queue_.front());
        queue_.pop_front();
      }
      size_t sent = 0;
      while (sent < chunk.data.size()) {
        const LinkFaults faults = proxy_->Faults();
        // Wait while the link is down, and for the cap's pace.
        absl::Time not_before = std::max(next_send, proxy_->NextUpAfter(absl::Now()));
        if (not_before > absl::Now()) {
          absl::MutexLock lock(&mu_);
          mu_.AwaitWithDeadline(absl::Condition(&closed_), not_before);
          if (closed_) return;
          continue;  // the link may have gone down again meanwhile
        }
        size_t piece = chunk.data.size() - sent;
        if (faults.max_bytes_per_second.has_value()) {
          // At most 20 ms worth at once, so the pace is smooth.
          piece = std::min<size_t>(piece, std::max<int64_t>(1, *faults.max_bytes_per_second / 50));
        }
        const ssize_t n = send(to_, chunk.data.data() + sent, piece, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          proxy_->Break(from_, to_);
          return;
        }
        sent += static_cast<size_t>(n);
        if (faults.max_bytes_per_second.has_value()) {
          next_send = std::max(next_send, absl::Now()) +
                      absl::Seconds(static_cast<double>(n) / static_cast<double>(*faults.max_bytes_per_second));
        }
        proxy_->NoteForwarded(n);
      }
      absl::MutexLock lock(&mu_);
      buffered_ -= static_cast<int64_t>(chunk.data.size());
    }
  }

  FaultProxy* const proxy_;
  const int from_;
  const int to_;
  absl::Mutex mu_;
  std::deque<Chunk> queue_ ABSL_GUARDED_BY(mu_);
  int64_t buffered_ ABSL_GUARDED_BY(mu_) = 0;  // queued plus the chunk being written
  absl::Time last_release_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool eof_ ABSL_GUARDED_BY(mu_) = false;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  std::thread reader_;
  std::thread writer_;
};

FaultProxy::FaultProxy(const FaultProxyOptions& options)
    : options_(options), start_(absl::Now()), faults_(options.faults), random_state_(options.seed) {}

absl::StatusOr<std::unique_ptr<FaultProxy>> FaultProxy::Create(const FaultProxyOptions& options) {
  if (absl::Status local = CheckLocal("listen_host", options.listen_host, options.allowed_subnets); !local.ok()) {
    return local;
  }
  if (absl::Status local = CheckLocal("target_host", options.target_host, options.allowed_subnets); !local.ok()) {
    return local;
  }
  if (options.target_port <= 0 || options.target_port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("target_port ", options.target_port));
  }
  if (options.max_buffered_bytes < kChunkBytes) {
    return absl::InvalidArgumentError(absl::StrCat("max_buffered_bytes must be >= ", kChunkBytes));
  }
  if (absl::Status faults = CheckFaults(options.faults); !faults.ok()) return faults;
  std::unique_ptr<FaultProxy> proxy(new FaultProxy(options));
  proxy->acceptor_ = std::thread([raw = proxy.get()] { raw->Accept(); });
  absl::Status setup;
  {
    absl::MutexLock lock(&proxy->mu_);
    proxy->mu_.Await(absl::Condition(&proxy->ready_));
    setup = proxy->setup_status_;
  }
  if (!setup.ok()) return setup;  // the destructor joins the ended acceptor
  return proxy;
}

FaultProxy::~FaultProxy() {
  std::vector<Pipe*> pipes;
  {
    absl::MutexLock lock(&mu_);
    closing_ = true;
    if (listen_fd_ >= 0) shutdown(listen_fd_, SHUT_RDWR);
    for (int fd : fds_) shutdown(fd, SHUT_RDWR);
    for (const std::unique_ptr<Pipe>& pipe : pipes_) pipes.push_back(pipe.get());
  }
  for (Pipe* pipe : pipes) pipe->Close();
  if (acceptor_.joinable()) acceptor_.join();
  // The acceptor has ended: pipes_ no longer grows.
  for (Pipe* pipe : pipes) pipe->Join();
  absl::MutexLock lock(&mu_);
  for (int fd : fds_) close(fd);
  if (listen_fd_ >= 0) close(listen_fd_);
}

std::string FaultProxy::address() const { return absl::StrCat(options_.listen_host, ":", port_); }

void FaultProxy::SetFaults(const LinkFaults& faults) {
  absl::MutexLock lock(&mu_);
  faults_ = faults;
}

int64_t FaultProxy::connections() const {
  absl::MutexLock lock(&mu_);
  return connections_;
}

int64_t FaultProxy::bytes_forwarded() const {
  absl::MutexLock lock(&mu_);
  return bytes_forwarded_;
}

int64_t FaultProxy::stalls() const {
  absl::MutexLock lock(&mu_);
  return stalls_;
}

int64_t FaultProxy::peak_buffered_bytes() const {
  absl::MutexLock lock(&mu_);
  return peak_buffered_bytes_;
}

LinkFaults FaultProxy::Faults() const {
  absl::MutexLock lock(&mu_);
  return faults_;
}

absl::Duration FaultProxy::ChunkDelay() {
  absl::MutexLock lock(&mu_);
  auto uniform = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    // splitmix64
    uint64_t z = (random_state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return static_cast<double>(z >> 11) / static_cast<double>(uint64_t{1} << 53);
  };
  absl::Duration delay = faults_.latency + faults_.jitter * (2 * uniform() - 1);
  if (delay < absl::ZeroDuration()) delay = absl::ZeroDuration();
  if (faults_.loss > 0 && uniform() < faults_.loss) {
    delay += faults_.loss_stall;
    ++stalls_;
  }
  return delay;
}

absl::Time FaultProxy::NextUpAfter(absl::Time now) const {
  absl::MutexLock lock(&mu_);
  if (!faults_.flap_up.has_value()) return now;
  const absl::Duration period = *faults_.flap_up + faults_.flap_down;
  const absl::Duration phase = (now - start_) % period;
  return phase < *faults_.flap_up ? now : now + (period - phase);
}

void FaultProxy::NoteBuffered(int64_t bytes) {
  absl::MutexLock lock(&mu_);
  peak_buffered_bytes_ = std::max(peak_buffered_bytes_, bytes);
}

void FaultProxy::NoteForwarded(int64_t bytes) {
  absl::MutexLock lock(&mu_);
  bytes_forwarded_ += bytes;
}

void FaultProxy::Break(int a, int b) {
  shutdown(a, SHUT_RDWR);
  shutdown(b, SHUT_RDWR);
}

absl::Status FaultProxy::Listen() {
  if (!options_.netns_path.empty()) {
    // Only this thread joins the namespace; the sockets it makes stay in it.
    const int ns = open(options_.netns_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (ns < 0) return absl::InternalError(absl::StrCat("open ", options_.netns_path, ": ", strerror(errno)));
    const int joined = setns(ns, CLONE_NEWNET);
    const int error = errno;
    close(ns);
    if (joined != 0) return absl::InternalError(absl::StrCat("setns ", options_.netns_path, ": ", strerror(error)));
  }
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in address = SocketAddress(options_.listen_host, options_.listen_port);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 || listen(fd, 64) != 0) {
    const int error = errno;
    close(fd);
    return absl::InternalError(
        absl::StrCat("listen on ", options_.listen_host, ":", options_.listen_port, ": ", strerror(error)));
  }
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  absl::MutexLock lock(&mu_);
  listen_fd_ = fd;
  port_ = ntohs(address.sin_port);
  return absl::OkStatus();
}

void FaultProxy::Accept() {
  const absl::Status listening = Listen();
  {
    absl::MutexLock lock(&mu_);
    setup_status_ = listening;
    ready_ = true;
  }
  if (!listening.ok()) return;
  while (true) {
    const int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // shut down by the destructor
    }
    const int server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    // A connect to a partitioned target gives up after 5 s instead of TCP's minutes.
    timeval timeout{5, 0};
    setsockopt(server, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    sockaddr_in target = SocketAddress(options_.target_host, options_.target_port);
    if (server < 0 || connect(server, reinterpret_cast<sockaddr*>(&target), sizeof(target)) != 0) {
      if (server >= 0) close(server);
      close(client);
      continue;
    }
    timeval none{0, 0};
    setsockopt(server, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof(none));
    NoDelay(client);
    NoDelay(server);
    absl::MutexLock lock(&mu_);
    if (closing_) {
      close(client);
      close(server);
      return;
    }
    ++connections_;
    fds_.push_back(client);
    fds_.push_back(server);
    pipes_.push_back(std::make_unique<Pipe>(this, client, server));
    pipes_.back()->Start();
    pipes_.push_back(std::make_unique<Pipe>(this, server, client));
    pipes_.back()->Start();
  }
}

}  // namespace rill::testing::hosts
