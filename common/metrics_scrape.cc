#include "common/metrics_scrape.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace rill {

MetricSamples ParseMetricsText(const std::string& text) {
  MetricSamples samples;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    size_t space = line.rfind(' ');
    if (space == absl::string_view::npos) continue;
    std::string value(line.substr(space + 1));
    char* end = nullptr;
    double parsed = std::strtod(value.c_str(), &end);
    if (end == value.c_str()) continue;
    samples[std::string(absl::StripAsciiWhitespace(line.substr(0, space)))] = parsed;
  }
  return samples;
}

double SumMetric(const MetricSamples& samples, const std::string& name) {
  double sum = 0;
  for (auto it = samples.lower_bound(name); it != samples.end(); ++it) {
    const std::string& key = it->first;
    if (key.compare(0, name.size(), name) != 0) break;
    if (key.size() == name.size() || key[name.size()] == '{') sum += it->second;
  }
  return sum;
}

bool HasMetric(const MetricSamples& samples, const std::string& name) {
  auto it = samples.lower_bound(name);
  return it != samples.end() && it->first.compare(0, name.size(), name) == 0 &&
         (it->first.size() == name.size() || it->first[name.size()] == '{');
}

double HistogramQuantile(const MetricSamples& samples, const std::string& name, const std::string& label, double q,
                         double* bucket_bound) {
  std::map<double, double> buckets;  // le -> cumulative count
  const std::string prefix = name + "_bucket{";
  for (auto it = samples.lower_bound(prefix); it != samples.end() && absl::StartsWith(it->first, prefix); ++it) {
    const std::string& series = it->first;
    if (!absl::StrContains(series, label)) continue;
    const size_t at = series.find("le=\"");
    if (at == std::string::npos) continue;
    const size_t end = series.find('"', at + 4);
    const std::string le = series.substr(at + 4, end - at - 4);
    double bound = 0;
    if (le == "+Inf") {
      bound = std::numeric_limits<double>::infinity();
    } else if (!absl::SimpleAtod(le, &bound)) {
      continue;
    }
    buckets[bound] += it->second;
  }
  if (buckets.empty() || buckets.rbegin()->second <= 0) return -1;
  const double rank = q * buckets.rbegin()->second;
  double lower = 0;
  double below = 0;
  for (const auto& [bound, count] : buckets) {
    if (count >= rank) {
      if (bucket_bound != nullptr) *bucket_bound = bound;
      if (std::isinf(bound)) return lower;
      return lower + (bound - lower) * (count > below ? (rank - below) / (count - below) : 0);
    }
    lower = bound;
    below = count;
  }
  return lower;
}

absl::StatusOr<MetricSamples> ScrapeMetrics(const std::string& host, int port, absl::Duration timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* resolved = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &resolved) != 0 || resolved == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot resolve ", host));
  }
  int fd = socket(resolved->ai_family, resolved->ai_socktype, resolved->ai_protocol);
  if (fd < 0) {
    freeaddrinfo(resolved);
    return absl::UnavailableError(absl::StrCat("socket: ", strerror(errno)));
  }
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(absl::ToInt64Seconds(timeout));
  tv.tv_usec = static_cast<suseconds_t>(absl::ToInt64Microseconds(timeout) % 1000000);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  const int connected = connect(fd, resolved->ai_addr, resolved->ai_addrlen);
  freeaddrinfo(resolved);
  if (connected != 0) {
    std::string why = strerror(errno);
    close(fd);
    return absl::UnavailableError(absl::StrCat("cannot connect to metrics at ", host, ":", port, ": ", why));
  }
  const std::string request = absl::StrCat("GET /metrics HTTP/1.0\r\nHost: ", host, "\r\n\r\n");
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
    close(fd);
    return absl::UnavailableError("cannot send the metrics request");
  }
  std::string response;
  char buffer[65536];
  while (true) {
    ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n > 0) {
      response.append(buffer, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) break;
    const bool timed_out = errno == EAGAIN || errno == EWOULDBLOCK;
    close(fd);
    if (timed_out) return absl::DeadlineExceededError(absl::StrCat("metrics at ", host, ":", port, " timed out"));
    return absl::UnavailableError(absl::StrCat("reading metrics: ", strerror(errno)));
  }
  close(fd);
  size_t body = response.find("\r\n\r\n");
  if (response.compare(0, 5, "HTTP/") != 0 || body == std::string::npos) {
    return absl::UnavailableError(absl::StrCat("metrics at ", host, ":", port, " sent no HTTP response"));
  }
  if (response.find(" 200") > response.find("\r\n")) {
    return absl::UnavailableError(absl::StrCat("metrics at ", host, ":", port, ": ", response.substr(0, response.find("\r\n"))));
  }
  return ParseMetricsText(response.substr(body + 4));
}

}  // namespace rill
