// ItemStep: row i's outcome of a LockstepEnvs::Step as the item builders
// take it (items::Step): what the actor hands its builder for each live,
// unfailed row, and what `rill bench env` builds the same way.
#ifndef RILL_ACTOR_ITEM_STEP_H_
#define RILL_ACTOR_ITEM_STEP_H_

#include <cstdint>

#include "actor/lockstep_envs.h"
#include "items/interface.h"

namespace rill::actor {

// Row `row`'s step: the observation and action it was taken with
// (`envs`' buffers before they swap), `outcome`'s reward and flags,
// `next_obs` and `final_obs` (the row's slots of Step's buffers: an ended
// episode's last observation is `final_obs`, the next one's first
// `next_obs`), the behaviour policy's log-probability and distribution,
// the core and global states where `envs` tracks them, and `version`.
// The pointers stay `envs`' and the caller's.
items::Step ItemStep(const LockstepEnvs& envs, int row, const EnvOutcome& outcome, const uint8_t* next_obs,
                     const uint8_t* final_obs, int64_t version);

}  // namespace rill::actor

#endif  // RILL_ACTOR_ITEM_STEP_H_
