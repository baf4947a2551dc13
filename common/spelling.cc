#include "common/spelling.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include "absl/strings/str_cat.h"

namespace rill {

int EditDistance(absl::string_view a, absl::string_view b) {
  const size_t n = a.size(), m = b.size();
  // Three rows of the table: the swap of two neighbours looks two back.
  std::vector<int> before(m + 1), previous(m + 1), current(m + 1);
  for (size_t j = 0; j <= m; ++j) previous[j] = static_cast<int>(j);
  auto same = [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
  };
  for (size_t i = 1; i <= n; ++i) {
    current[0] = static_cast<int>(i);
    for (size_t j = 1; j <= m; ++j) {
      const int substitute = previous[j - 1] + (same(a[i - 1], b[j - 1]) ? 0 : 1);
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitute});
      if (i > 1 && j > 1 && same(a[i - 1], b[j - 2]) && same(a[i - 2], b[j - 1])) {
        current[j] = std::min(current[j], before[j - 2] + 1);
      }
    }
    before.swap(previous);
    previous.swap(current);
  }
  return previous[m];
}

std::optional<std::string> ClosestName(absl::string_view word, const std::vector<std::string>& known) {
  std::optional<std::string> closest;
  int best = 0;
  for (const std::string& name : known) {
    const int distance = EditDistance(word, name);
    if (distance == 0) return std::nullopt;
    // A third of the longer name: "nm_actors" finds "num_actors", "lr"
    // does not find "tls".
    const int longest = static_cast<int>(std::max(word.size(), name.size()));
    const int allowed = std::clamp(longest / 3, 1, 3);
    if (distance <= allowed && (!closest.has_value() || distance < best)) {
      closest = name;
      best = distance;
    }
  }
  return closest;
}

std::string DidYouMean(absl::string_view word, const std::vector<std::string>& known) {
  std::optional<std::string> closest = ClosestName(word, known);
  return closest.has_value() ? absl::StrCat(" (did you mean '", *closest, "'?)") : "";
}

}  // namespace rill
