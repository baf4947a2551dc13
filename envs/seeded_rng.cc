#include "envs/seeded_rng.h"

#include <cmath>

namespace rill::envs {
namespace {

std::mt19937_64 MakeEngine(uint64_t seed) {
  std::seed_seq seq{static_cast<uint32_t>(seed & 0xffffffffu),
                    static_cast<uint32_t>(seed >> 32)};
  return std::mt19937_64(seq);
}

}  // namespace

SeededRng::SeededRng(uint64_t seed) : engine_(MakeEngine(seed)) {}

double SeededRng::Uniform(double low, double high) {
  // The top 53 bits give every double in [0, 1) on a 2^-53 grid.
  const double unit = static_cast<double>(engine_() >> 11) * 0x1.0p-53;
  return low + (high - low) * unit;
}

double SeededRng::Normal() {
  if (has_spare_normal_) {
    has_spare_normal_ = false;
    return spare_normal_;
  }
  constexpr double kTwoPi = 6.283185307179586476925;
  // 1 - U lies in (0, 1], so the logarithm is finite.
  const double radius = std::sqrt(-2.0 * std::log(1.0 - Uniform(0, 1)));
  const double angle = kTwoPi * Uniform(0, 1);
  spare_normal_ = radius * std::sin(angle);
  has_spare_normal_ = true;
  return radius * std::cos(angle);
}

}  // namespace rill::envs
