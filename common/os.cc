#include "common/os.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace rill {

absl::StatusOr<std::string> SelfBinary() {
  std::error_code error;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) return absl::NotFoundError(absl::StrCat("cannot read /proc/self/exe: ", error.message()));
  return self.string();
}

absl::StatusOr<int> PickFreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    const std::string error = std::strerror(errno);
    close(fd);
    return absl::UnavailableError(absl::StrCat("no free local port: ", error));
  }
  close(fd);
  return static_cast<int>(ntohs(address.sin_port));
}

absl::Status WriteFileAtomically(const std::string& path, const std::string& text) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    if (!out) return absl::PermissionDeniedError(absl::StrCat("cannot write '", temporary, "'"));
    out << text;
    if (!out.flush()) return absl::DataLossError(absl::StrCat("short write to '", temporary, "'"));
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) return absl::PermissionDeniedError(absl::StrCat("cannot rename '", temporary, "' to '", path, "': ", error.message()));
  return absl::OkStatus();
}

std::string HumanBytes(double bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 6) {
    bytes /= 1024;
    ++unit;
  }
  return unit == 0 ? absl::StrFormat("%.0f bytes", bytes) : absl::StrFormat("%.1f %s", bytes, units[unit]);
}

int64_t PhysicalMemoryBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_bytes = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page_bytes <= 0) return int64_t{1} << 30;
  return static_cast<int64_t>(pages) * page_bytes;
}

int OnlineCores() {
  const long cores = sysconf(_SC_NPROCESSORS_ONLN);
  return cores > 0 ? static_cast<int>(cores) : 1;
}

int64_t ProcessLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NPROC, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY ||
      limit.rlim_cur > static_cast<rlim_t>(std::numeric_limits<int64_t>::max())) {
    return std::numeric_limits<int64_t>::max();
  }
  return static_cast<int64_t>(limit.rlim_cur);
}

int64_t EphemeralPortCount() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  int64_t low = 0, high = 0;
  if (!(in >> low >> high) || low < 1 || high < low) return 60999 - 32768 + 1;
  return high - low + 1;
}

}  // namespace rill
