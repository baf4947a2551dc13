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
// `raw`) as floats, spec.obs_dim() a row: `raw` itself for float32
// observations, else converted into `scratch` (resized): uint8 elements
// scaled, a packed row's flat leaves (EnvSpec::packed_observations) copied
// as they are after its image's.
inline const float* ObservationsAsFloat(const EnvSpec& spec, const void* raw, int64_t rows,
                                        std::vector<float>* scratch) {
  if (!spec.uint8_observations()) return static_cast<const float*>(raw);
  const size_t image = static_cast<size_t>(spec.shape_elements());
  const size_t flat = static_cast<size_t>(spec.flat_dim);
  const size_t row_bytes = static_cast<size_t>(spec.obs_bytes());
  scratch->resize(static_cast<size_t>(rows) * (image + flat));
  const uint8_t* in = static_cast<const uint8_t*>(raw);
  float* out = scratch->data();
  for (int64_t r = 0; r < rows; ++r, in += row_bytes) {
    for (size_t k = 0; k < image; ++k) *out++ = static_cast<float>(in[k]) * kUint8ObservationScale;
    // The flat leaves' floats may sit at any byte offset in the row.
    std::memcpy(out, in + image, flat * sizeof(float));
    out += flat;
  }
  return scratch->data();
}

}  // namespace rill::envs

#endif  // RILL_ENVS_OBSERVATION_H_
