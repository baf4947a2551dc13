#include "learner/device.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "torch/torch.h"
#include "torch/version.h"

namespace rill::learner {

std::string LibTorchDescription() {
#ifdef RILL_TORCH_CUDA
  return absl::StrCat(TORCH_VERSION, " (CUDA)");
#else
  return TORCH_VERSION;
#endif
}

absl::StatusOr<torch::Device> PickDevice(absl::string_view wanted, absl::string_view setting) {
  if (wanted != "auto" && wanted != "cpu" && wanted != "cuda") {
    return absl::InvalidArgumentError(absl::StrCat(setting, " '", wanted, "' (known: auto, cpu, cuda)"));
  }
  const bool cuda = torch::cuda::is_available();
  if (wanted == "cuda" && !cuda) {
#ifdef RILL_TORCH_CUDA
    return absl::FailedPreconditionError(absl::StrCat(
        setting, " cuda: LibTorch ", LibTorchDescription(), " sees no CUDA device (is the driver loaded?)"));
#else
    return absl::FailedPreconditionError(absl::StrCat(
        setting, " cuda: this binary links LibTorch ", LibTorchDescription(),
        " without CUDA; build it with RILL_LIBTORCH naming a CUDA LibTorch (docs/distributed.md: On a GPU)"));
#endif
  }
  if (wanted == "cpu" || !cuda) return torch::Device(torch::kCPU);
  return torch::Device(torch::kCUDA, 0);
}

absl::StatusOr<torch::Device> PickDevice(v1::LearnerConfig::Device wanted, absl::string_view setting) {
  // The enum's names are the flag's spellings in capitals (AUTO, CPU, CUDA).
  return PickDevice(absl::AsciiStrToLower(v1::LearnerConfig::Device_Name(wanted)), setting);
}

}  // namespace rill::learner
