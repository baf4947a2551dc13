#include "bench/torso_flags.h"

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

ABSL_FLAG(std::string, torso, "",
          "A convolutional torso (NATURE_CNN, IMPALA_RESNET, MINATAR_CNN) on uint8 images of --obs_shape. "
          "bench learner (impala): the reference is then the same torso's plain LibTorch forward + backward on the "
          "update's rows; bench inference: a categorical policy with that torso, central against local.");
ABSL_FLAG(std::string, obs_shape, "4,84,84", "With --torso: the image shape C,H,W.");

namespace rill::bench {

absl::StatusOr<std::optional<BenchTorso>> TorsoFromFlags() {
  const std::string name = absl::GetFlag(FLAGS_torso);
  if (name.empty()) return std::nullopt;
  BenchTorso torso;
  torso.name = name;
  if (!v1::NetworkConfig::Torso_Parse(name, &torso.preset)) torso.preset = v1::NetworkConfig::NO_TORSO;
  // network.hidden_sizes' default per preset, as
  // experiment/finalize_network.cc's FinalizeNetwork fills it in.
  switch (torso.preset) {
    case v1::NetworkConfig::NATURE_CNN:
      torso.layers = policies::NatureCnnLayers();
      torso.default_hidden = 512;
      break;
    case v1::NetworkConfig::IMPALA_RESNET:
      torso.layers = policies::ImpalaResnetLayers();
      torso.default_hidden = 256;
      break;
    case v1::NetworkConfig::MINATAR_CNN:
      torso.layers = policies::MinAtarCnnLayers();
      torso.default_hidden = 128;
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("--torso '", name, "' (known: NATURE_CNN, IMPALA_RESNET, MINATAR_CNN)"));
  }
  const std::string text = absl::GetFlag(FLAGS_obs_shape);
  std::vector<int64_t> sides;
  for (absl::string_view side : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    int64_t n = 0;
    if (!absl::SimpleAtoi(side, &n) || n <= 0 || n > 4096) {
      return absl::InvalidArgumentError(
          absl::StrCat("--obs_shape '", text, "': '", side, "' is not a side in 1..4096"));
    }
    sides.push_back(n);
  }
  if (sides.size() != 3) return absl::InvalidArgumentError("--obs_shape takes C,H,W");
  torso.input = {sides[0], sides[1], sides[2]};
  absl::StatusOr<std::vector<policies::ImageShape>> shapes = policies::TorsoShapes(torso.layers, torso.input);
  if (!shapes.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--torso ", name, " on --obs_shape ", text, ": ",
                                                   shapes.status().message()));
  }
  return torso;
}

}  // namespace rill::bench
