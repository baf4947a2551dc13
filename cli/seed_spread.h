// Figures over the seeds of one setting, as `rill sweep` reports them: the
// mean and the sample standard deviation (n - 1 in the denominator, what
// papers report over seeds), and the cells of its markdown tables.
#ifndef RILL_CLI_SEED_SPREAD_H_
#define RILL_CLI_SEED_SPREAD_H_

#include <string>
#include <vector>

namespace rill::cli {

struct Spread {
  double mean = 0, std = 0;
  int count = 0;
};

// No standard deviation (0) for fewer than two values.
Spread SpreadOf(const std::vector<double>& values);

// A return's cell: "-" for no value, "12.3" for one, "12.3 ± 4.5".
std::string Cell(const Spread& spread);

// An env figure's cell: distances and counts below 1 need more digits
// than returns ("0.276 ± 0.027").
std::string FigureCell(const Spread& spread);

}  // namespace rill::cli

#endif  // RILL_CLI_SEED_SPREAD_H_
