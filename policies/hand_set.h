// For tests: policies whose parameters are set by hand, so that a test
// knows what they do. SetTensor overwrites one named tensor of an exported
// ParameterSet; PongDuelPaddle is a categorical policy that plays a
// PongDuel-v0 player by a rule.
#ifndef RILL_POLICIES_HAND_SET_H_
#define RILL_POLICIES_HAND_SET_H_

#include <string>
#include <vector>

#include "proto/parameters.pb.h"

namespace rill::policies {

// Replaces tensor `name` of `params` with `values` (float32, the same
// element count); a gtest failure when there is no such tensor or the
// count differs.
void SetTensor(v1::ParameterSet* params, const std::string& name, const std::vector<float>& values);

// A categorical policy over a PongDuel-v0 player's observation (own paddle
// row / 9, opponent's / 9, ball column distance / 15, ball row / 11, vx,
// vy) with two hidden units, s = 11 ball_row - 9 paddle_row - 1 (the
// ball's row less the paddle's middle cell, in cells) and -s: `track`
// moves the paddle toward the ball (down where s > 0, up where s < 0);
// otherwise it stays put.
v1::ParameterSet PongDuelPaddle(bool track);

}  // namespace rill::policies

#endif  // RILL_POLICIES_HAND_SET_H_
