// The convolutional torso a benchmark runs on image observations, read from
// --torso (a preset of network.torso: NATURE_CNN, IMPALA_RESNET,
// MINATAR_CNN) and --obs_shape (C,H,W). `rill bench learner` (IMPALA's
// update) and `rill bench inference` (central against local inference) take
// the same two flags, spelled and checked here once.
//
// Thread-safe free functions (they only read flags).
#ifndef RILL_BENCH_TORSO_FLAGS_H_
#define RILL_BENCH_TORSO_FLAGS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/status/statusor.h"
#include "policies/torso.h"
#include "proto/config.pb.h"

ABSL_DECLARE_FLAG(std::string, torso);
ABSL_DECLARE_FLAG(std::string, obs_shape);

namespace rill::bench {

struct BenchTorso {
  v1::NetworkConfig::Torso preset = v1::NetworkConfig::NO_TORSO;
  std::string name;  // as --torso spells it: "NATURE_CNN"
  std::vector<v1::TorsoLayer> layers;
  policies::ImageShape input;  // [C, H, W]
  // The MLP width a config with this preset and no hidden_sizes gets (512,
  // 256, 128; proto/config.proto's NetworkConfig.Torso).
  int default_hidden = 0;

  std::vector<int64_t> observation_shape() const { return {input.c, input.h, input.w}; }
};

// The torso of --torso on --obs_shape images; nullopt when --torso is
// empty. InvalidArgument naming the flag for an unknown preset, an
// --obs_shape that is not three sides in 1..4096, or a shape the preset's
// layers do not fit (policies::TorsoShapes).
absl::StatusOr<std::optional<BenchTorso>> TorsoFromFlags();

}  // namespace rill::bench

#endif  // RILL_BENCH_TORSO_FLAGS_H_
