// The rule every way into Rill (the env protocol, the Python server's
// spaces, the plugin ABI) applies to a Dict observation's image leaves:
// several images must share height, width and dtype, because a row holds
// them one after another as one image of all their channels
// (EnvSpec::observation_leaves, EnvSpec::image_channels), and each gets a
// torso of its own.
//
// Thread-safe: pure functions.
#ifndef RILL_ENVS_OBSERVATION_LEAVES_H_
#define RILL_ENVS_OBSERVATION_LEAVES_H_

#include <string>

#include "absl/status/status.h"
#include "envs/spec.h"

namespace rill::envs {

// OK when the image leaf `next` can sit beside the image leaf `first` (the
// same height, width and dtype); else InvalidArgument, `where` first,
// naming both leaves and their shapes.
absl::Status CheckSameImage(const ObservationLeaf& first, const ObservationLeaf& next, const std::string& where);

}  // namespace rill::envs

#endif  // RILL_ENVS_OBSERVATION_LEAVES_H_
