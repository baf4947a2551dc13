// The self_play section of the experiment config (proto/config.proto's
// SelfPlayConfig): its defaults, and the rules between it and the env and
// topology sections it needs.
//
// Thread-safe: a pure function.
#ifndef RILL_EXPERIMENT_FINALIZE_SELF_PLAY_H_
#define RILL_EXPERIMENT_FINALIZE_SELF_PLAY_H_

#include "absl/status/status.h"
#include "proto/config.pb.h"

namespace rill::experiment {

// Nothing without a self_play section. With one: fills its defaults, and
// refuses (InvalidArgument naming the field) an env that is no two-player
// game of the registry whose players share one policy's rows (two agents
// of the same spaces, env.joint_agents off), a recurrent network (the
// opponents are feed-forward), central inference (the actors play pool
// opponents with their own policy copies), and settings out of range.
absl::Status FinalizeSelfPlay(v1::ExperimentConfig& config);

}  // namespace rill::experiment

#endif  // RILL_EXPERIMENT_FINALIZE_SELF_PLAY_H_
