// ActionSource: where the actions of an actor's (or the evaluator's) envs
// come from, chosen once when it starts: its own policy copy, kept fresh
// from the learner's parameter stream (local.h, the A3C / IMPALA topology),
// or the central inference service (central.h, GA3C / SEED). The loops in
// actor.cc and evaluator.cc ask it for one step's actions of all their envs
// and never look at which one they hold.
//
// Not thread-safe: the step loop owns it.
#ifndef RILL_ACTOR_ACTION_SOURCES_INTERFACE_H_
#define RILL_ACTOR_ACTION_SOURCES_INTERFACE_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "envs/spec.h"

namespace rill::actor {

// One step's observations of all envs, as the envs gave them: `rows` rows
// of `obs_dim` elements of `type`, contiguous at `data`. Images stay uint8
// here: central inference sends them as they are (a quarter of the bytes of
// floats) and a local policy scales them by 1/255 (envs/observation.h).
struct ObservationRows {
  const void* data = nullptr;
  envs::ObservationType type = envs::ObservationType::kFloat32;
  int rows = 0;
  int obs_dim = 0;
  // Recurrent policies: [rows] flags, 1 where the row's observation is an
  // episode's first, so its core state is reset to zeros before acting;
  // null: none is.
  const uint8_t* episode_start = nullptr;

  int64_t bytes() const { return static_cast<int64_t>(rows) * obs_dim * envs::ObservationTypeBytes(type); }
};

// Where a step's actions go; sizes are the caller's (rows x widths).
struct ActionBuffers {
  float* actions = nullptr;           // continuous: [rows, action_dim], in [-1, 1]
  int64_t* action_indices = nullptr;  // discrete: [rows]
  float* log_probs = nullptr;         // with behaviour: [rows]
  float* distributions = nullptr;     // with behaviour: [rows, distribution_width]
  int action_dim = 0;                 // continuous; 0 for discrete
  int distribution_width = 0;
  // Recurrent policies, when not null: [rows, state_width], the core state
  // each row acted from (after any reset), as unrolls record at their first
  // step.
  float* core_states = nullptr;
  int state_width = 0;
};

class ActionSource {
 public:
  virtual ~ActionSource() = default;

  // Takes up the newest policy, if one arrived since the last call.
  // InvalidArgument when it does not fit the envs. Never blocks.
  virtual absl::Status Refresh() = 0;

  // Whether Act can answer now: a policy version has arrived (local), or
  // always (central inference acts with the learner's newest).
  virtual bool ready() const = 0;

  // The parameter version that acted last (local: the one taken up).
  virtual int64_t version() const = 0;

  // Self-play: the learner's opponent pool as of the version taken up
  // (ParameterUpdate.pool_versions, oldest first); empty without a pool,
  // and always for central inference.
  virtual const std::vector<int64_t>& pool_versions() const {
    static const std::vector<int64_t> kNone;
    return kNone;
  }

  // How many times the source lost its service and opened a new stream
  // (central inference); always 0 for a local policy.
  virtual int64_t reconnects() const { return 0; }

  // Fills `out` for the rows of `observations`.
  // `deterministic`: the policy's mode (evaluation). `behaviour`: also the
  // log-probabilities and distribution parameters; FailedPrecondition when
  // the policy has none. Cancelled when `stop` is notified while it waits
  // for a service that went away.
  virtual absl::Status Act(const ObservationRows& observations, bool deterministic, bool behaviour,
                           const absl::Notification& stop, const ActionBuffers& out) = 0;
};

}  // namespace rill::actor

#endif  // RILL_ACTOR_ACTION_SOURCES_INTERFACE_H_
