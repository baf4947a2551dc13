// SeededRng: the random source of one Env, deterministic for a given seed on
// every platform (std::uniform_real_distribution is not, so the mapping to
// doubles is done here).
//
// Owned by one Env and used from that Env's thread only; not thread-safe.
#ifndef RILL_ENVS_SEEDED_RNG_H_
#define RILL_ENVS_SEEDED_RNG_H_

#include <cstdint>
#include <random>

namespace rill::envs {

class SeededRng {
 public:
  // Seeds a std::mt19937_64 through std::seed_seq with both halves of `seed`.
  explicit SeededRng(uint64_t seed);

  // A double uniform in [low, high), like numpy's Generator.uniform.
  double Uniform(double low, double high);

  // A standard normal draw (mean 0, variance 1), like numpy's
  // Generator.standard_normal in distribution though not in sequence: the
  // Box-Muller transform of two Uniform draws, one of the pair kept for the
  // next call.
  double Normal();

 private:
  std::mt19937_64 engine_;
  bool has_spare_normal_ = false;
  double spare_normal_ = 0;
};

}  // namespace rill::envs

#endif  // RILL_ENVS_SEEDED_RNG_H_
