// Frame data for `rill bench replay`'s compression section: replay items
// whose observations are images, made by playing a MinAtar game (envs/
// minatar) with uniformly random actions, so that the codecs are measured
// on the structure real observations have, not on noise:
//   MinAtarTransitions: off-policy transitions as actors build them, obs and
//     next_obs uint8 [C, 10, 10] (one binary plane per object kind), action,
//     reward and terminated float32.
//   RenderedFrameStacks: Atari-style preprocessed frames, uint8 [k, S, S]:
//     each game state drawn at S x S pixels (a gray level per object kind,
//     cell edges area-averaged as a downscaled emulator screen is) and the
//     last k of an episode stacked, as a frame-stacking env gives them.
// Items repeat after `count` (a pool the bench's requests cycle through).
//
// Thread-compatible: plain data.
#ifndef RILL_BENCH_FRAME_DATA_H_
#define RILL_BENCH_FRAME_DATA_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/tensor.pb.h"

namespace rill::bench {

struct FrameItems {
  std::string name;         // names the kind in the bench's output
  std::string description;  // what the items are, in words
  v1::Signature signature;
  std::vector<std::string> frame_columns;  // the image columns, to compress
  int64_t item_bytes = 0;                  // all columns
  int64_t count = 0;
  // Per signature column, `count` items back to back.
  std::vector<std::string> columns;
};

// `count` transitions of `game` ("MinAtar/Breakout-v1").
absl::StatusOr<FrameItems> MinAtarTransitions(const std::string& game, int64_t count, uint64_t seed);

// `count` stacks of the last `stack` frames of `game`, drawn at `size` x
// `size` pixels; one column "frames" uint8 [stack, size, size].
absl::StatusOr<FrameItems> RenderedFrameStacks(const std::string& game, int64_t count, int stack, int size,
                                               uint64_t seed);

}  // namespace rill::bench

#endif  // RILL_BENCH_FRAME_DATA_H_
