#include "common/bench_probes.h"

#include <dirent.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace rill {

// A "Name:  N kB" line of /proc/PID/status, in bytes: "VmRSS" (resident set)
// or "RssAnon" (its anonymous part: heap and table storage, without the
// mapped binary and libraries).
absl::StatusOr<int64_t> ProcStatusBytes(pid_t pid, const std::string& name) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + ":", 0) != 0) continue;
    std::vector<std::string> words = absl::StrSplit(line, ' ', absl::SkipEmpty());
    int64_t kib = 0;
    if (words.size() >= 2 && absl::SimpleAtoi(words[1], &kib)) return kib * 1024;
  }
  return absl::NotFoundError(absl::StrCat("no ", name, " in /proc/", pid, "/status"));
}

double ProcessCpuSeconds(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t paren = text.rfind(')');
  if (paren == std::string::npos) return 0;
  std::vector<std::string> fields = absl::StrSplit(text.substr(paren + 2), ' ', absl::SkipEmpty());
  // After "pid (comm) ", field 3 (state) is fields[0]; utime and stime are fields 14 and 15.
  int64_t utime = 0, stime = 0;
  if (fields.size() < 13 || !absl::SimpleAtoi(fields[11], &utime) || !absl::SimpleAtoi(fields[12], &stime)) return 0;
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double SelfCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one;
  in >> one;
  return one.empty() ? "null" : one;
}

// Bytes per second one TCP connection over 127.0.0.1 carries, as MB/s
// (1e6 bytes), writer and reader on two threads for about `seconds`.
absl::StatusOr<double> LoopbackTcpMbPerSecond(double seconds) {
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  if (listener < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 || listen(listener, 1) != 0 ||
      getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    close(listener);
    return absl::InternalError(absl::StrCat("loopback listener: ", strerror(errno)));
  }
  const int sender = socket(AF_INET, SOCK_STREAM, 0);
  if (sender < 0 || connect(sender, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(listener);
    if (sender >= 0) close(sender);
    return absl::InternalError(absl::StrCat("loopback connect: ", strerror(errno)));
  }
  const int receiver = accept(listener, nullptr, nullptr);
  close(listener);
  if (receiver < 0) {
    close(sender);
    return absl::InternalError(absl::StrCat("loopback accept: ", strerror(errno)));
  }
  constexpr size_t kChunk = 1 << 20;
  int64_t received = 0;
  absl::Time done;
  std::thread reader([&] {
    std::vector<char> buffer(kChunk);
    ssize_t n;
    while ((n = read(receiver, buffer.data(), buffer.size())) > 0) received += n;
    done = absl::Now();
  });
  std::vector<char> buffer(kChunk, 'x');
  const absl::Time start = absl::Now();
  const absl::Time end = start + absl::Seconds(seconds);
  while (absl::Now() < end) {
    size_t sent = 0;
    while (sent < buffer.size()) {
      ssize_t n = write(sender, buffer.data() + sent, buffer.size() - sent);
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
    }
  }
  close(sender);
  reader.join();
  close(receiver);
  return static_cast<double>(received) / absl::ToDoubleSeconds(done - start) / 1e6;
}

int ThreadCount(pid_t pid) {
  DIR* dir = opendir(absl::StrCat("/proc/", pid, "/task").c_str());
  if (dir == nullptr) return 0;
  int count = 0;
  while (dirent* entry = readdir(dir)) count += entry->d_name[0] != '.';
  closedir(dir);
  return count;
}

}  // namespace rill
