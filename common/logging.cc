#include "common/logging.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/base/attributes.h"
#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace rill {
namespace {

// Serializes log lines and guards the role they are tagged with.
ABSL_CONST_INIT absl::Mutex log_mu(absl::kConstInit);
std::string& Role() ABSL_EXCLUSIVE_LOCKS_REQUIRED(log_mu) {
  static std::string* role = new std::string("rill");
  return *role;
}

char LevelChar(LogLevel level) {
  switch (level) {
    case LogLevel::kInfo: return 'I';
    case LogLevel::kWarning: return 'W';
    case LogLevel::kError: return 'E';
    case LogLevel::kFatal: return 'F';
  }
  return '?';
}

}  // namespace

void SetLogRole(const std::string& role) {
  absl::MutexLock lock(&log_mu);
  Role() = role;
}

LogMessage::LogMessage(LogLevel level, const char* file, int line) : level_(level) {
  const char* base = std::strrchr(file, '/');
  stream_ << LevelChar(level) << absl::FormatTime(" %H:%M:%E3S ", absl::Now(), absl::LocalTimeZone())
          << (base ? base + 1 : file) << ":" << line << "] ";
}

LogMessage::~LogMessage() {
  std::string text = stream_.str();
  {
    absl::MutexLock lock(&log_mu);
    std::fprintf(stderr, "[%s] %s\n", Role().c_str(), text.c_str());
    std::fflush(stderr);
  }
  if (level_ == LogLevel::kFatal) std::abort();
}

}  // namespace rill
