// A small thread-safe logger (the Debian Abseil predates absl/log).
// RILL_LOG(INFO) << "..."; writes one line to stderr with time, level and the
// process role set by SetLogRole. RILL_LOG(FATAL) aborts after writing.
#ifndef RILL_COMMON_LOGGING_H_
#define RILL_COMMON_LOGGING_H_

#include <sstream>
#include <string>

namespace rill {

enum class LogLevel { kInfo, kWarning, kError, kFatal };

// Names the process in every line ("replay/0", "actor/3", ...).
void SetLogRole(const std::string& role);

class LogMessage {
 public:
  LogMessage(LogLevel level, const char* file, int line);
  ~LogMessage();
  std::ostream& stream() { return stream_; }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};

}  // namespace rill

#define RILL_LOG_INFO ::rill::LogLevel::kInfo
#define RILL_LOG_WARNING ::rill::LogLevel::kWarning
#define RILL_LOG_ERROR ::rill::LogLevel::kError
#define RILL_LOG_FATAL ::rill::LogLevel::kFatal
#define RILL_LOG(level) \
  ::rill::LogMessage(RILL_LOG_##level, __FILE__, __LINE__).stream()

#endif  // RILL_COMMON_LOGGING_H_
