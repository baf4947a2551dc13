// EnvSpec: everything the rest of Rill needs to know of an environment
// without stepping it: observation shape, action space (discrete or
// continuous, with bounds) and the default time limit. Each Env class writes
// its spec once (its static Spec()); the registry hands it to config
// finalization (table signatures, the algorithm's action-space check), to
// the actors (buffers, random actions, action scaling) and to the learner
// (network sizes). No env size is written anywhere else.
//
// Observations are float32, or uint8 (images: they travel as uint8 through
// the actor's buffers, items and replay, and become float32 / 255 only at a
// network's input, envs/observation.h). A Dict or Tuple observation (an
// image and a state vector) is one row of its leaves, each keeping its
// dtype (EnvSpec::observation_leaves).
//
// Plain data; thread-compatible.
#ifndef RILL_ENVS_SPEC_H_
#define RILL_ENVS_SPEC_H_

#include <cstdint>
#include <string>
#include <vector>

namespace rill::envs {

// The element type of an env's observations.
enum class ObservationType { kFloat32, kUint8 };

inline const char* ObservationTypeName(ObservationType type) {
  return type == ObservationType::kUint8 ? "uint8" : "float32";
}

inline int ObservationTypeBytes(ObservationType type) { return type == ObservationType::kUint8 ? 1 : 4; }

// One leaf of a Dict or Tuple observation, as the env declares it.
struct ObservationLeaf {
  std::string name;  // a Dict's key; a Tuple's index ("0", "1", ...)
  std::vector<int64_t> shape;
  ObservationType type = ObservationType::kFloat32;

  int64_t elements() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
  bool operator==(const ObservationLeaf& other) const {
    return name == other.name && shape == other.shape && type == other.type;
  }
};

struct EnvSpec {
  // The Gymnasium id, e.g. "Pendulum-v1".
  std::string name;
  // Shape of one observation (of a Dict observation with an image leaf,
  // that leaf's).
  std::vector<int64_t> observation_shape;
  ObservationType observation_type = ObservationType::kFloat32;
  // A Dict or Tuple observation (Gymnasium's spaces of those names): its
  // leaves in the order a row holds them; empty for one Box. Rill keeps
  // such an observation as ONE row, so that every buffer, item, replay
  // column and transport carries it as it carries a Box:
  //   - the image leaves (rank 3, [C, H, W]) come first, when there are
  //     any; several must share H, W and dtype, and sit one after another
  //     as one image of all their channels (image_channels()); that image
  //     is observation_shape and observation_type (uint8 stays uint8);
  //   - the flat leaves follow, every element as float32: flat_dim of
  //     them (leaves of rank 0-2 are flattened row-major).
  // Without an image leaf the row is the flat leaves alone:
  // observation_shape [flat elements], float32, flat_dim 0. A network runs
  // its torso on the image and reads the torso's features followed by the
  // flat elements (PolicySpec.flat_dim); with several image leaves each
  // has a torso of its own (PolicySpec.image_channels).
  std::vector<ObservationLeaf> observation_leaves;
  int flat_dim = 0;
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
  // A row that is a multi-agent env's K agents together (env.joint_agents,
  // envs/multi_agent/joint.h): K, each step's transitions recording every
  // agent's reward and termination. 0: a row is one agent.
  int joint_agents = 0;
  // A row that is one agent of a multi-agent env offering a global state
  // (MultiAgentSpec::state_shape): the floats of that state, which the
  // batch writes per row (EnvBatch::States) for centralised critics
  // (learner.ppo.centralised_value). 0: no state.
  int state_dim = 0;
  // Discrete envs with flat observations only: the observation's last
  // num_actions elements are the action mask (Gymnasium's "action_mask"
  // leaf, flattened after the rest): 1 where the action is allowed in this
  // state, 0 where it is not (envs/action_mask.h reads and checks it). The
  // networks see it as part of the observation; the policies, the random
  // warm-up actions and the learners' losses give its 0s no probability.
  // A final observation of a terminated episode may allow nothing.
  bool action_mask = false;

  // A Dict observation of several image leaves: each one's channels of
  // observation_shape, in the row's order. Empty for one image or none.
  std::vector<int32_t> image_channels() const {
    std::vector<int32_t> channels;
    for (const ObservationLeaf& leaf : observation_leaves) {
      if (leaf.shape.size() == 3) channels.push_back(static_cast<int32_t>(leaf.shape[0]));
    }
    if (channels.size() < 2) channels.clear();
    return channels;
  }
  // Elements of observation_shape: all of a Box observation's, a Dict
  // observation's image leaves'.
  int shape_elements() const {
    int64_t n = 1;
    for (int64_t d : observation_shape) n *= d;
    return static_cast<int>(n);
  }
  // Elements in one observation (the width of a network's input): the
  // image's and the flat leaves'.
  int obs_dim() const { return shape_elements() + flat_dim; }
  // Bytes in one observation.
  int obs_bytes() const { return shape_elements() * ObservationTypeBytes(observation_type) + 4 * flat_dim; }
  bool uint8_observations() const { return observation_type == ObservationType::kUint8; }
  // A row of uint8 image bytes followed by float32 flat leaves: stored and
  // sent as obs_bytes() uint8s, read as floats only at a network's input
  // (envs/observation.h, learner/algorithms/checks.h).
  bool packed_observations() const { return uint8_observations() && flat_dim > 0; }
  // Elements of an observation column (items, replay): obs_bytes() uint8s
  // for a packed row, else obs_dim() of the observation's type.
  int stored_width() const { return packed_observations() ? obs_bytes() : obs_dim(); }
  // Continuous: action dimensions. Discrete: number of actions.
  int action_dim() const { return discrete ? num_actions : static_cast<int>(action_low.size()); }
};

// A figure of a task's own that its env measures each step (the particle
// tasks' landmark distance, collisions, touches; a game's wins), reported
// per episode of the env: the sum of its steps' values (counts) or their
// mean (distances).
struct EnvMetric {
  enum class Over { kSum, kMean };
  std::string name;  // a Prometheus label value and a log field: [a-z0-9_]
  Over over = Over::kSum;
};

// `spec` with its time limit replaced: the spec of a created env.
inline EnvSpec WithTimeLimit(EnvSpec spec, int max_episode_steps) {
  spec.max_episode_steps = max_episode_steps;
  return spec;
}

}  // namespace rill::envs

#endif  // RILL_ENVS_SPEC_H_
