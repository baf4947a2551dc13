#ifndef RILL_LEARNER_DEVICE_H_
#define RILL_LEARNER_DEVICE_H_

// Where the learner's networks live: the one choice of device shared by the
// learner (config `learner.device`) and `rill bench learner --device`. CUDA
// is there only when the binary was built against a CUDA LibTorch
// (RILL_LIBTORCH, third_party/libtorch, docs/distributed.md, "On a GPU")
// and the driver shows a GPU. Thread-safe.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/torch_types.h"
#include "proto/config.pb.h"

namespace rill::learner {

// "auto": the first CUDA device when there is one, else the CPU; "cpu";
// "cuda": the first CUDA device. FailedPrecondition for "cuda" without one
// (naming the LibTorch the binary runs on); InvalidArgument for any other
// name. Messages start with `setting`, the flag or config field that asked
// (e.g. "--device", "learner.device").
absl::StatusOr<torch::Device> PickDevice(absl::string_view wanted, absl::string_view setting);
// The same for the config's enum (AUTO, CPU, CUDA).
absl::StatusOr<torch::Device> PickDevice(v1::LearnerConfig::Device wanted, absl::string_view setting);

// The LibTorch this binary was compiled against, e.g. "1.13.0", followed by
// " (CUDA)" when it was built with CUDA libraries.
std::string LibTorchDescription();

}  // namespace rill::learner

#endif  // RILL_LEARNER_DEVICE_H_
