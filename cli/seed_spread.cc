#include "cli/seed_spread.h"

#include <cmath>

#include "absl/strings/str_format.h"

namespace rill::cli {

Spread SpreadOf(const std::vector<double>& values) {
  Spread spread;
  spread.count = static_cast<int>(values.size());
  if (values.empty()) return spread;
  for (double value : values) spread.mean += value / values.size();
  if (values.size() < 2) return spread;
  for (double value : values) spread.std += (value - spread.mean) * (value - spread.mean) / (values.size() - 1);
  spread.std = std::sqrt(spread.std);
  return spread;
}

std::string Cell(const Spread& spread) {
  if (spread.count == 0) return "-";
  return spread.count == 1 ? absl::StrFormat("%.1f", spread.mean)
                           : absl::StrFormat("%.1f ± %.1f", spread.mean, spread.std);
}

std::string FigureCell(const Spread& spread) {
  if (spread.count == 0) return "-";
  return spread.count == 1 ? absl::StrFormat("%.3g", spread.mean)
                           : absl::StrFormat("%.3g ± %.2g", spread.mean, spread.std);
}

}  // namespace rill::cli
