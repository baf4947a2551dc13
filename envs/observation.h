// Observations as a network takes them: float32 as they are, uint8 (images)
// scaled to [0, 1] by 1/255. The one place that scaling is written for the
// actors' side; the learner scales on its device (learner/algorithms).
//
// Thread-safe: pure functions.
#ifndef RILL_ENVS_OBSERVATION_H_
#define RILL_ENVS_OBSERVATION_H_

#include <cstdint>
#include <cstring>
#include <vector>

#include "envs/spec.h"

namespace rill::envs {

// The factor uint8 observations are scaled by.
inline constexpr float kUint8ObservationScale = 1.f / 255.f;

// `rows` observations of `spec` (spec.obs_bytes() each, contiguous at
// `raw`) as floats: `raw` itself for float32 observations, else converted
// into `scratch` (resized).
inline const float* ObservationsAsFloat(const EnvSpec& spec, const void* raw, int64_t rows,
                                        std::vector<float>* scratch) {
  if (!spec.uint8_observations()) return static_cast<const float*>(raw);
  const size_t n = static_cast<size_t>(rows) * static_cast<size_t>(spec.obs_dim());
  scratch->resize(n);
  const uint8_t* in = static_cast<const uint8_t*>(raw);
  float* out = scratch->data();
  for (size_t k = 0; k < n; ++k) out[k] = static_cast<float>(in[k]) * kUint8ObservationScale;
  return out;
}

}  // namespace rill::envs

#endif  // RILL_ENVS_OBSERVATION_H_
