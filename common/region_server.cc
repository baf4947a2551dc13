#include "common/region_server.h"

#include <fcntl.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"

namespace rill {
namespace {

// An event's data: the region's id and which of its descriptors.
enum Kind : uint64_t { kListener = 0, kPending = 1, kConnection = 2 };
constexpr uint64_t kWakeEvent = 0;  // region ids start at 1
uint64_t EventData(uint64_t id, Kind kind) { return id * 4 + kind; }

constexpr int64_t kMaxRegionBytes = int64_t{4} << 30;

std::string Errno(int error) { return std::strerror(error); }

std::string RandomBytes(size_t n) {
  std::random_device device;
  std::string bytes(n, '\0');
  for (char& b : bytes) b = static_cast<char>(device() & 0xff);
  return bytes;
}

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char b : bytes) {
    hex.push_back(kDigits[b >> 4]);
    hex.push_back(kDigits[b & 15]);
  }
  return hex;
}

void CloseIf(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

HostedRegion::~HostedRegion() {
  if (base_ != nullptr) ::munmap(base_, static_cast<size_t>(address_.size));
  absl::MutexLock lock(&io_mu_);
  CloseIf(memfd_);
  CloseIf(listener_);
  CloseIf(pending_);
  CloseIf(connection_);
}

bool HostedRegion::connected() const {
  absl::MutexLock lock(&io_mu_);
  return connection_ >= 0;
}

absl::Status HostedRegion::Answer(std::string_view message) {
  absl::MutexLock lock(&io_mu_);
  const std::string where = absl::StrCat("shared region socket @", address_.socket);
  if (closed_ || connection_ < 0) return absl::UnavailableError(absl::StrCat(where, ": closed"));
  frame_.resize(4 + message.size());
  const uint32_t length = static_cast<uint32_t>(message.size());
  for (int k = 0; k < 4; ++k) frame_[k] = static_cast<char>((length >> (8 * k)) & 0xff);
  if (!message.empty()) std::memcpy(frame_.data() + 4, message.data(), message.size());
  size_t sent = 0;
  while (sent < frame_.size()) {
    // Never blocks: a client that does not read its answers fills the
    // socket's buffer and is refused (its stream then ends).
    const ssize_t n = ::send(connection_, frame_.data() + sent, frame_.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::UnavailableError(absl::StrCat(where, ": send: ", Errno(errno)));
    sent += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

void HostedRegion::Shutdown() {
  absl::MutexLock lock(&io_mu_);
  for (int fd : {listener_, pending_, connection_}) {
    if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
  }
}

absl::StatusOr<std::unique_ptr<RegionServer>> RegionServer::Create(std::string name) {
  std::unique_ptr<RegionServer> server(new RegionServer());
  server->name_ = std::move(name);
  server->epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (server->epoll_ < 0) return absl::UnavailableError(absl::StrCat("epoll_create1: ", Errno(errno)));
  server->wake_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (server->wake_ < 0) return absl::UnavailableError(absl::StrCat("eventfd: ", Errno(errno)));
  epoll_event event = {};
  event.events = EPOLLIN;
  event.data.u64 = kWakeEvent;
  if (::epoll_ctl(server->epoll_, EPOLL_CTL_ADD, server->wake_, &event) != 0) {
    return absl::UnavailableError(absl::StrCat("epoll_ctl: ", Errno(errno)));
  }
  server->thread_ = std::thread([s = server.get()] { s->Loop(); });
  return server;
}

RegionServer::~RegionServer() {
  std::vector<std::shared_ptr<HostedRegion>> regions;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    for (auto& [id, region] : regions_) regions.push_back(region);
  }
  if (thread_.joinable()) {
    const uint64_t one = 1;
    (void)!::write(wake_, &one, sizeof(one));
    thread_.join();
  }
  for (auto& region : regions) Close(region.get());
  if (wake_ >= 0) ::close(wake_);
  if (epoll_ >= 0) ::close(epoll_);
}

absl::Status RegionServer::MakeRegion(HostedRegion& region, int memfd) {
  const int64_t size = region.address_.size;
  if (memfd >= 0) {
    struct stat status = {};
    if (::fstat(memfd, &status) != 0 || status.st_size < size) {
      return absl::InvalidArgumentError(
          absl::StrCat("a region of ", size, " bytes in a file of ", status.st_size, " bytes"));
    }
    region.memfd_ = ::fcntl(memfd, F_DUPFD_CLOEXEC, 0);
    if (region.memfd_ < 0) return absl::UnavailableError(absl::StrCat("fcntl(F_DUPFD_CLOEXEC): ", Errno(errno)));
  } else {
    region.memfd_ = ::memfd_create("rill-region", MFD_CLOEXEC);
    if (region.memfd_ < 0) return absl::UnavailableError(absl::StrCat("memfd_create: ", Errno(errno)));
    if (::ftruncate(region.memfd_, size) != 0) {
      return absl::ResourceExhaustedError(absl::StrCat("a region of ", size, " bytes: ftruncate: ", Errno(errno)));
    }
  }
  void* base = ::mmap(nullptr, static_cast<size_t>(size), PROT_READ | PROT_WRITE, MAP_SHARED, region.memfd_, 0);
  if (base == MAP_FAILED) return absl::ResourceExhaustedError(absl::StrCat("mmap: ", Errno(errno)));
  region.base_ = static_cast<uint8_t*>(base);

  region.listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (region.listener_ < 0) return absl::UnavailableError(absl::StrCat("socket: ", Errno(errno)));
  sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path + 1, region.address_.socket.data(), region.address_.socket.size());
  const socklen_t length =
      static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + region.address_.socket.size());
  if (::bind(region.listener_, reinterpret_cast<const sockaddr*>(&address), length) != 0 ||
      ::listen(region.listener_, 4) != 0) {
    return absl::UnavailableError(absl::StrCat("shared region socket @", region.address_.socket, ": ", Errno(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<HostedRegion>> RegionServer::Offer(int64_t size, HostedRegion::Handlers handlers,
                                                                  absl::Duration accept_within) {
  return OfferRegion(-1, size, std::move(handlers), accept_within);
}

absl::StatusOr<std::shared_ptr<HostedRegion>> RegionServer::OfferFile(int memfd, int64_t size,
                                                                      HostedRegion::Handlers handlers,
                                                                      absl::Duration accept_within) {
  if (memfd < 0) return absl::InvalidArgumentError("OfferFile: no file descriptor");
  return OfferRegion(memfd, size, std::move(handlers), accept_within);
}

absl::StatusOr<std::shared_ptr<HostedRegion>> RegionServer::OfferRegion(int memfd, int64_t size,
                                                                        HostedRegion::Handlers handlers,
                                                                        absl::Duration accept_within) {
  if (size <= 0 || size > kMaxRegionBytes) {
    return absl::InvalidArgumentError(absl::StrCat("a region of ", size, " bytes (1..", kMaxRegionBytes, ")"));
  }
  std::shared_ptr<HostedRegion> region(new HostedRegion());
  region->server_ = this;
  region->handlers_ = std::move(handlers);
  region->address_.size = size;
  region->address_.token = RandomBytes(SharedRegion::kTokenBytes);
  region->address_.socket = absl::StrCat(name_, "-", ::getpid(), "-", Hex(RandomBytes(8)));
  region->accept_deadline_ = absl::Now() + accept_within;
  int listener;
  {
    absl::MutexLock io(&region->io_mu_);
    RETURN_IF_ERROR(MakeRegion(*region, memfd));
    listener = region->listener_;
  }
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::CancelledError("the region server is stopping");
    region->id_ = next_id_++;
    regions_[region->id_] = region;
  }
  epoll_event event = {};
  event.events = EPOLLIN;
  event.data.u64 = EventData(region->id_, kListener);
  if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, listener, &event) != 0) {
    const std::string error = Errno(errno);
    absl::MutexLock lock(&mu_);
    regions_.erase(region->id_);
    return absl::UnavailableError(absl::StrCat("epoll_ctl: ", error));
  }
  const uint64_t one = 1;  // the loop's next wait ends by the new deadline
  (void)!::write(wake_, &one, sizeof(one));
  return region;
}

void RegionServer::CloseDescriptors(HostedRegion& region) {
  for (int* fd : {&region.listener_, &region.pending_, &region.connection_}) {
    if (*fd >= 0) ::epoll_ctl(epoll_, EPOLL_CTL_DEL, *fd, nullptr);
    CloseIf(*fd);
  }
  CloseIf(region.memfd_);
}

void RegionServer::Close(HostedRegion* region) {
  if (region == nullptr) return;
  {
    absl::MutexLock lock(&mu_);
    regions_.erase(region->id_);
  }
  // On the server's thread a handler may be running: its own region's
  // (holding handler_mu_) or another's; either way none of this region's
  // runs after it returns.
  auto close = [this, region] {
    absl::MutexLock io(&region->io_mu_);
    region->closed_ = true;
    CloseDescriptors(*region);
  };
  if (OnLoopThread()) {
    close();
  } else {
    absl::MutexLock handler(&region->handler_mu_);
    close();
  }
}

int RegionServer::connected_regions() const {
  absl::MutexLock lock(&mu_);
  int connected = 0;
  for (const auto& [id, region] : regions_) connected += region->connected() ? 1 : 0;
  return connected;
}

void RegionServer::Fail(HostedRegion& region, const absl::Status& why) {
  {
    absl::MutexLock lock(&mu_);
    regions_.erase(region.id_);
  }
  {
    absl::MutexLock io(&region.io_mu_);
    if (region.closed_) return;
    region.closed_ = true;
    CloseDescriptors(region);
  }
  if (region.handlers_.on_closed) region.handlers_.on_closed(why);
}

absl::Time RegionServer::NextDeadline() {
  absl::MutexLock lock(&mu_);
  absl::Time next = absl::InfiniteFuture();
  for (const auto& [id, region] : regions_) {
    if (!region->connected()) next = std::min(next, region->accept_deadline_);
  }
  return next;
}

void RegionServer::ExpireDeadlines() {
  std::vector<std::shared_ptr<HostedRegion>> expired;
  const absl::Time now = absl::Now();
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, region] : regions_) {
      if (!region->connected() && region->accept_deadline_ <= now) expired.push_back(region);
    }
  }
  for (const auto& region : expired) {
    absl::MutexLock handler(&region->handler_mu_);
    Fail(*region, absl::DeadlineExceededError(absl::StrCat("shared region socket @", region->address_.socket,
                                                           ": no client proved the token in time")));
  }
}

void RegionServer::Loop() {
  std::vector<epoll_event> events(64);
  while (true) {
    const absl::Time deadline = NextDeadline();
    int timeout_ms = -1;
    if (deadline != absl::InfiniteFuture()) {
      timeout_ms = static_cast<int>(
          std::clamp<int64_t>(absl::ToInt64Milliseconds(deadline - absl::Now()) + 1, 0, 1 << 30));
    }
    const int n = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), timeout_ms);
    if (n < 0 && errno != EINTR) break;
    for (int k = 0; k < n; ++k) {
      const uint64_t data = events[k].data.u64;
      if (data == kWakeEvent) {
        uint64_t count = 0;
        (void)!::read(wake_, &count, sizeof(count));
        continue;
      }
      std::shared_ptr<HostedRegion> region;
      {
        absl::MutexLock lock(&mu_);
        if (stopping_) return;
        auto it = regions_.find(data / 4);
        if (it == regions_.end()) continue;  // closed since the wait returned
        region = it->second;
      }
      absl::MutexLock handler(&region->handler_mu_);
      Serve(region, static_cast<int>(data % 4));
    }
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
    }
    ExpireDeadlines();
  }
}

void RegionServer::Serve(const std::shared_ptr<HostedRegion>& region, int kind) {
  int fd;
  absl::Status refused;
  {
    absl::MutexLock io(&region->io_mu_);
    if (region->closed_) return;
    fd = kind == kListener ? region->listener_ : kind == kPending ? region->pending_ : region->connection_;
    if (fd < 0) return;
    if (kind == kListener) {
      // One connection proves itself at a time: a newer one takes the
      // place of one that has not sent its token yet.
      const int accepted = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (accepted < 0) {
        const int error = errno;
        if (error == EAGAIN || error == EWOULDBLOCK || error == EINTR || error == ECONNABORTED) return;
        refused = absl::UnavailableError(
            absl::StrCat("shared region socket @", region->address_.socket, ": accept: ", Errno(error)));
      } else {
        if (region->pending_ >= 0) {
          ::epoll_ctl(epoll_, EPOLL_CTL_DEL, region->pending_, nullptr);
          CloseIf(region->pending_);
        }
        region->pending_ = accepted;
        region->token_read_.clear();
        epoll_event event = {};
        event.events = EPOLLIN | EPOLLRDHUP;
        event.data.u64 = EventData(region->id_, kPending);
        ::epoll_ctl(epoll_, EPOLL_CTL_ADD, accepted, &event);
        return;
      }
    }
  }
  if (!refused.ok()) {
    Fail(*region, refused);  // shut down (Shutdown), or out of descriptors
    return;
  }
  if (kind == kPending) {
    Handshake(*region, fd);
  } else {
    ReadFrames(*region, fd);
  }
}

void RegionServer::Handshake(HostedRegion& region, int fd) {
  char buffer[SharedRegion::kTokenBytes];
  const size_t want = SharedRegion::kTokenBytes - region.token_read_.size();
  const ssize_t n = ::recv(fd, buffer, want, MSG_DONTWAIT);
  absl::MutexLock io(&region.io_mu_);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
  if (n > 0) region.token_read_.append(buffer, static_cast<size_t>(n));
  const bool whole = region.token_read_.size() == SharedRegion::kTokenBytes;
  if (n > 0 && !whole) return;
  ::epoll_ctl(epoll_, EPOLL_CTL_DEL, fd, nullptr);
  region.pending_ = -1;
  if (!whole || region.token_read_ != region.address_.token) {
    // Closed, or not the stream's client: the region waits for its own.
    ::close(fd);
    return;
  }
  char byte = 1;
  iovec io_vector = {&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr message = {};
  message.msg_iov = &io_vector;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof(control);
  cmsghdr* header = CMSG_FIRSTHDR(&message);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(header), &region.memfd_, sizeof(int));
  if (::sendmsg(fd, &message, MSG_NOSIGNAL) != 1) {
    ::close(fd);
    return;
  }
  region.connection_ = fd;
  ::epoll_ctl(epoll_, EPOLL_CTL_DEL, region.listener_, nullptr);
  CloseIf(region.listener_);
  CloseIf(region.memfd_);  // the mapping stays; the client has its own
  epoll_event event = {};
  event.events = EPOLLIN | EPOLLRDHUP;
  event.data.u64 = EventData(region.id_, kConnection);
  ::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &event);
}

void RegionServer::ReadFrames(HostedRegion& region, int fd) {
  char buffer[4096];
  bool closed = false;
  while (true) {
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), MSG_DONTWAIT);
    if (n > 0) {
      region.read_.append(buffer, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    closed = n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
    break;
  }
  size_t at = 0;
  while (region.read_.size() - at >= 4) {
    const auto* header = reinterpret_cast<const unsigned char*>(region.read_.data() + at);
    const uint32_t size = uint32_t{header[0]} | uint32_t{header[1]} << 8 | uint32_t{header[2]} << 16 |
                          uint32_t{header[3]} << 24;
    if (size > kMaxRegionMessageBytes) {
      Fail(region, absl::InvalidArgumentError(absl::StrCat("shared region socket @", region.address_.socket,
                                                           ": a frame of ", size, " bytes (at most ",
                                                           kMaxRegionMessageBytes, ")")));
      return;
    }
    if (region.read_.size() - at - 4 < size) break;
    if (region.handlers_.on_message) {
      region.handlers_.on_message(std::string_view(region.read_.data() + at + 4, size));
    }
    at += 4 + size;
    absl::MutexLock io(&region.io_mu_);
    if (region.closed_) return;  // the handler closed it
  }
  region.read_.erase(0, at);
  if (closed) {
    Fail(region, absl::UnavailableError(
                     absl::StrCat("shared region socket @", region.address_.socket, ": the client closed it")));
  }
}

}  // namespace rill
