// EnvSpec: everything the rest of Rill needs to know of an environment
// without stepping it: observation shape, action space (discrete or
// continuous, with bounds) and the default time limit. Each Env class writes
// its spec once (its static Spec()); the registry hands it to config
// finalization (table signatures, the algorithm's action-space check), to
// the actors (buffers, random actions, action scaling) and to the learner
// (network sizes). No env size is written anywhere else.
//
// Plain data; thread-compatible.
#ifndef RILL_ENVS_SPEC_H_
#define RILL_ENVS_SPEC_H_

#include <cstdint>
#include <string>
#include <vector>

namespace rill::envs {

struct EnvSpec {
  // The Gymnasium id, e.g. "Pendulum-v1".
  std::string name;
  // Shape of one observation (float32).
  std::vector<int64_t> observation_shape;
  bool discrete = false;
  // Discrete: number of actions (indices 0..num_actions-1).
  int num_actions = 0;
  // Continuous: per-dimension bounds in env units; actions outside are
  // clipped by the env.
  std::vector<float> action_low;
  std::vector<float> action_high;
  // Steps after which an episode is truncated (the env's default, or the
  // configured limit for a created env).
  int max_episode_steps = 0;

  // Floats in one observation.
  int obs_dim() const {
    int64_t n = 1;
    for (int64_t d : observation_shape) n *= d;
    return static_cast<int>(n);
  }
  // Continuous: action dimensions. Discrete: number of actions.
  int action_dim() const { return discrete ? num_actions : static_cast<int>(action_low.size()); }
};

// `spec` with its time limit replaced: the spec of a created env.
inline EnvSpec WithTimeLimit(EnvSpec spec, int max_episode_steps) {
  spec.max_episode_steps = max_episode_steps;
  return spec;
}

}  // namespace rill::envs

#endif  // RILL_ENVS_SPEC_H_
