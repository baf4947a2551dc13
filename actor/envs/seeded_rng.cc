#include "actor/envs/seeded_rng.h"

namespace rill::actor {
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

}  // namespace rill::actor
