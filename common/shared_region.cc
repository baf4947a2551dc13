#include "common/shared_region.h"

#include <poll.h>
#include <sched.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"

namespace rill {
namespace {

// The largest region a client takes (a server's say otherwise is refused,
// not mapped).
constexpr int64_t kMaxRegionBytes = int64_t{4} << 30;

std::string Errno(int error) { return std::strerror(error); }

// The token's size, the region's, and every array inside the region
// without overlapping another; InvalidArgument naming the first that is
// not.
absl::Status CheckLayout(const std::string& where, const RegionAddress& shared,
                         const std::vector<RegionArray>& arrays) {
  if (shared.token.size() != SharedRegion::kTokenBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": the token has ", shared.token.size(), " bytes; the protocol says ", SharedRegion::kTokenBytes));
  }
  // Every array inside the region, none overlapping another.
  std::vector<RegionArray> ranges = arrays;
  if (shared.size <= 0 || shared.size > kMaxRegionBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": a region of ", shared.size, " bytes (1..", kMaxRegionBytes, " taken)"));
  }
  for (const RegionArray& range : ranges) {
    if (range.offset < 0 || range.bytes < 0 || range.offset > shared.size - range.bytes) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": ", range.name, " at offset ", range.offset, " (",
                                                     range.bytes, " bytes) is outside the region of ", shared.size,
                                                     " bytes"));
    }
  }
  std::sort(ranges.begin(), ranges.end(),
            [](const RegionArray& a, const RegionArray& b) { return a.offset < b.offset; });
  for (size_t k = 1; k < ranges.size(); ++k) {
    if (ranges[k - 1].bytes > 0 && ranges[k].bytes > 0 && ranges[k - 1].offset + ranges[k - 1].bytes > ranges[k].offset) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": ", ranges[k - 1].name, " and ", ranges[k].name, " overlap in the region"));
    }
  }
  return absl::OkStatus();
}

// The server's one byte and the region's file descriptor (-1 when the
// message carried none).
absl::StatusOr<int> ReceiveDescriptor(const std::string& where, int socket) {
  char byte = 0;
  iovec io = {&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr message = {};
  message.msg_iov = &io;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof(control);
  const ssize_t got = ::recvmsg(socket, &message, MSG_CMSG_CLOEXEC);
  if (got <= 0) {
    return absl::UnavailableError(
        absl::StrCat(where, got == 0 ? ": closed before handing over the region" : ": recvmsg: " + Errno(errno)));
  }
  int fd = -1;
  for (cmsghdr* header = CMSG_FIRSTHDR(&message); header != nullptr; header = CMSG_NXTHDR(&message, header)) {
    if (header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_RIGHTS &&
        header->cmsg_len == CMSG_LEN(sizeof(int))) {
      std::memcpy(&fd, CMSG_DATA(header), sizeof(int));
    }
  }
  return fd;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SharedRegion>> SharedRegion::Connect(const RegionAddress& shared,
                                                                    const std::vector<RegionArray>& arrays,
                                                                    absl::Duration timeout, bool* reached,
                                                                    SpinRule spin) {
  if (reached != nullptr) *reached = false;
  std::unique_ptr<SharedRegion> region(new SharedRegion());
  region->name_ = shared.socket;
  region->spin_ = spin;
  const std::string where = absl::StrCat("shared region socket @", shared.socket);
  sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  if (shared.socket.empty() || shared.socket.size() > sizeof(address.sun_path) - 1) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": the name must have 1..", sizeof(address.sun_path) - 1,
                                                   " bytes"));
  }
  RETURN_IF_ERROR(CheckLayout(where, shared, arrays));

  region->socket_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (region->socket_ < 0) return absl::UnavailableError(absl::StrCat(where, ": socket: ", Errno(errno)));
  // The abstract namespace: a leading NUL, then the name (no terminator).
  std::memcpy(address.sun_path + 1, shared.socket.data(), shared.socket.size());
  const socklen_t length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + shared.socket.size());
  if (::connect(region->socket_, reinterpret_cast<const sockaddr*>(&address), length) != 0) {
    return absl::UnavailableError(absl::StrCat(where, ": connect: ", Errno(errno)));
  }
  if (reached != nullptr) *reached = true;
  RETURN_IF_ERROR(region->Send(shared.token));

  // One byte and the region's descriptor.
  const absl::Time deadline = absl::Now() + timeout;
  pollfd wait = {region->socket_, POLLIN, 0};
  const int ms = static_cast<int>(std::max<int64_t>(0, absl::ToInt64Milliseconds(deadline - absl::Now())));
  if (::poll(&wait, 1, ms) <= 0) {
    return absl::DeadlineExceededError(absl::StrCat(where, ": no region within ", absl::FormatDuration(timeout)));
  }
  ASSIGN_OR_RETURN(const int fd, ReceiveDescriptor(where, region->socket_));
  if (fd < 0) return absl::InvalidArgumentError(absl::StrCat(where, ": the answer carried no file descriptor"));
  struct stat status = {};
  if (::fstat(fd, &status) != 0 || status.st_size < shared.size) {
    ::close(fd);
    return absl::InvalidArgumentError(absl::StrCat(where, ": the region's file has ", status.st_size,
                                                   " bytes; the server's answer says ", shared.size));
  }
  void* base = ::mmap(nullptr, static_cast<size_t>(shared.size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  if (base == MAP_FAILED) return absl::UnavailableError(absl::StrCat(where, ": mmap: ", Errno(errno)));
  region->base_ = static_cast<uint8_t*>(base);
  region->size_ = static_cast<size_t>(shared.size);
  return region;
}

SharedRegion::~SharedRegion() {
  if (base_ != nullptr) ::munmap(base_, size_);
  if (socket_ >= 0) ::close(socket_);
}

absl::Status SharedRegion::Send(std::string_view bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(socket_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::UnavailableError(absl::StrCat("shared region socket @", name_, ": send: ", Errno(errno)));
    }
    sent += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

int64_t SharedRegion::SpinNanos() const {
  // A server that answers within max_nanos is waited for awake, a quarter
  // longer than its answers take (with a margin); a slower one is not
  // worth a core: its wake-up is small beside its step.
  if (answer_nanos_ < 0 || answer_nanos_ > spin_.max_nanos) return spin_.min_nanos;
  return std::clamp(answer_nanos_ + answer_nanos_ / 4 + 20'000, spin_.min_nanos, spin_.max_nanos);
}

absl::Status SharedRegion::Receive(char* out, size_t count, absl::Time deadline) {
  size_t got = 0;
  // An answer that comes within the spin is read without sleeping: waking
  // a thread blocked in poll() costs 50-80 us on a busy host, as much as a
  // fast env's whole step, and a third of the step of 64 of them.
  const int64_t spin_until = absl::GetCurrentTimeNanos() + SpinNanos();
  while (got < count) {
    const ssize_t n = ::recv(socket_, out + got, count - got, MSG_DONTWAIT);
    if (n > 0) {
      got += static_cast<size_t>(n);
      continue;
    }
    if (n == 0) return absl::UnavailableError(absl::StrCat("shared region socket @", name_, ": closed"));
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      return absl::UnavailableError(absl::StrCat("shared region socket @", name_, ": recv: ", Errno(errno)));
    }
    if (absl::GetCurrentTimeNanos() < spin_until) {
      // Polite on a host with more runnable threads than cores (the server
      // among them): gives the core away when another thread wants it.
      ::sched_yield();
      continue;
    }
    const int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    pollfd wait = {socket_, POLLIN, 0};
    if (ms <= 0 || ::poll(&wait, 1, static_cast<int>(std::min<int64_t>(ms, 1 << 30))) == 0) {
      return absl::DeadlineExceededError(absl::StrCat("shared region socket @", name_, ": no answer in time"));
    }
  }
  return absl::OkStatus();
}

absl::Status SharedRegion::Exchange(std::string_view request, std::string* answer, absl::Duration timeout) {
  message_.resize(4 + request.size());
  const uint32_t length = static_cast<uint32_t>(request.size());
  for (int k = 0; k < 4; ++k) message_[k] = static_cast<char>((length >> (8 * k)) & 0xff);
  if (!request.empty()) std::memcpy(message_.data() + 4, request.data(), request.size());
  RETURN_IF_ERROR(Send(message_));
  const int64_t sent_at = absl::GetCurrentTimeNanos();
  const absl::Time deadline = absl::Now() + timeout;
  unsigned char header[4];
  RETURN_IF_ERROR(Receive(reinterpret_cast<char*>(header), 4, deadline));
  // Its answers' recent time: an eighth of the newest one weighs in.
  const int64_t took = absl::GetCurrentTimeNanos() - sent_at;
  answer_nanos_ = answer_nanos_ < 0 ? took : answer_nanos_ + (took - answer_nanos_) / 8;
  const uint32_t size = uint32_t{header[0]} | uint32_t{header[1]} << 8 | uint32_t{header[2]} << 16 |
                        uint32_t{header[3]} << 24;
  if (size > kMaxRegionMessageBytes) {
    return absl::InvalidArgumentError(absl::StrCat("shared region socket @", name_, ": an answer of ", size,
                                                   " bytes (at most ", kMaxRegionMessageBytes, ")"));
  }
  answer->resize(size);
  return Receive(answer->data(), size, deadline);
}

}  // namespace rill
