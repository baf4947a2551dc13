#include "common/scalar_log.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace rill {

absl::StatusOr<std::unique_ptr<ScalarLog>> ScalarLog::Open(const std::string& path) {
  std::error_code error;
  const std::filesystem::path folder = std::filesystem::path(path).parent_path();
  if (!folder.empty()) std::filesystem::create_directories(folder, error);
  std::FILE* file = std::fopen(path.c_str(), "a");
  if (file == nullptr) {
    return absl::PermissionDeniedError(absl::StrCat("cannot append to scalar log '", path, "': ", std::strerror(errno)));
  }
  return std::unique_ptr<ScalarLog>(new ScalarLog(path, file));
}

ScalarLog::~ScalarLog() {
  absl::MutexLock lock(&mu_);
  std::fclose(file_);
}

void ScalarLog::Append(const std::vector<std::pair<std::string, double>>& fields, absl::Time when) {
  std::string line = absl::StrFormat("{\"time\": %.3f", absl::ToDoubleSeconds(when - absl::UnixEpoch()));
  for (const auto& [name, value] : fields) {
    if (std::isfinite(value)) {
      absl::StrAppendFormat(&line, ", \"%s\": %.9g", name, value);
    } else {
      absl::StrAppendFormat(&line, ", \"%s\": null", name);
    }
  }
  line += "}\n";
  absl::MutexLock lock(&mu_);
  std::fwrite(line.data(), 1, line.size(), file_);
  std::fflush(file_);
}

namespace {

// The fields of one line ScalarLog::Append wrote; false when it is not one.
bool ParseLine(absl::string_view line, std::map<std::string, double>* fields) {
  if (!absl::ConsumePrefix(&line, "{") || !absl::ConsumeSuffix(&line, "}")) return false;
  while (!line.empty()) {
    line = absl::StripLeadingAsciiWhitespace(line);
    if (!absl::ConsumePrefix(&line, "\"")) return false;
    const size_t quote = line.find('"');
    if (quote == absl::string_view::npos) return false;
    const std::string name(line.substr(0, quote));
    line.remove_prefix(quote + 1);
    line = absl::StripLeadingAsciiWhitespace(line);
    if (!absl::ConsumePrefix(&line, ":")) return false;
    const size_t comma = line.find(',');
    const absl::string_view value = absl::StripAsciiWhitespace(line.substr(0, comma));
    double number = 0;
    if (value != "null") {
      if (!absl::SimpleAtod(value, &number)) return false;
      (*fields)[name] = number;
    }
    line = comma == absl::string_view::npos ? absl::string_view() : line.substr(comma + 1);
  }
  return true;
}

}  // namespace

std::vector<std::map<std::string, double>> ReadScalarLog(const std::string& path, int64_t offset,
                                                         int64_t* next_offset) {
  std::vector<std::map<std::string, double>> lines;
  if (next_offset != nullptr) *next_offset = offset;
  std::ifstream in(path, std::ios::binary);
  if (!in) return lines;
  in.seekg(offset);
  std::string line;
  int64_t position = offset;
  while (std::getline(in, line)) {
    if (in.eof()) break;  // no newline yet: a line still being written
    position += static_cast<int64_t>(line.size()) + 1;
    if (next_offset != nullptr) *next_offset = position;
    std::map<std::string, double> fields;
    if (ParseLine(line, &fields)) lines.push_back(std::move(fields));
  }
  return lines;
}

}  // namespace rill
