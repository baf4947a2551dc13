// Test-only helpers shared by the unroll algorithms' tests (IMPALA, PPO):
// two small envs and batches of unrolls acted by an exported policy, as an
// actor would build them.
#ifndef RILL_LEARNER_ALGORITHMS_UNROLL_TESTING_H_
#define RILL_LEARNER_ALGORITHMS_UNROLL_TESTING_H_

#include <cstdint>
#include <string>
#include <vector>

#include "envs/spec.h"
#include "learner/algorithms/interface.h"
#include "proto/parameters.pb.h"

namespace rill::learner {

// "TwoArm": observations [3], two discrete actions.
envs::EnvSpec TwoArmSpec();
// "Line": observations [3], actions in [-2, 2]^2.
envs::EnvSpec ContinuousSpec();

// B unrolls of T steps acted by `policy` (an algorithm's ExportPolicy) in a
// bandit-like env: random observations, reward 1 for the "right" action
// (index 1, or a positive first action dimension), episodes terminating or
// truncating at random steps. Everything random comes from `seed` (the
// observations too), so a test gives the same batches each run. Columns as
// the unroll item builder writes them, batch-major, with the behaviour
// distribution (logits, or mean and log-std). A recurrent policy starts
// each unroll from a random core state (the core_state column), carries it
// from step to step and zeroes it where an episode begins, as an actor
// does.
Batch ActedUnrolls(const v1::ParameterSet& policy, const envs::EnvSpec& env, int b, int t, uint64_t seed);

// The value of the statistic `name` among `statistics`; a test failure and
// NaN if there is none.
double StatisticValue(const std::vector<Statistic>& statistics, const std::string& name);

}  // namespace rill::learner

#endif  // RILL_LEARNER_ALGORITHMS_UNROLL_TESTING_H_
