// `rill export --format=onnx`: a policy's deterministic forward as an ONNX
// model (IR version 8, opset 17, standard operators only), for the runtimes
// robots and games load (ONNX Runtime, TensorRT, OpenVINO) where LibTorch
// does not run. No LibTorch: the model is written from the PolicySpec and
// the parameters, op for op as learner/torch_policy.h's TorchScript module
// computes, and tests/onnx/run.sh runs both, and the actors' own forward,
// on the same observations.
//
// The model's signature:
//   inputs  "obs"   [batch, obs_dim] float32, or for an image policy
//                   (PolicySpec.torso) [batch, C, H, W] uint8 pixels
//                   (scaled by 1/255 inside) or float32 as the spec says;
//           "flat"  [batch, flat_dim] float32, a Dict observation's flat
//                   leaves (PolicySpec.flat_dim > 0): "obs" is then its
//                   image leaf ([batch, obs_dim - flat_dim] without a torso);
//           "state" [batch, 2N] float32, a recurrent policy's core state
//                   (lstm_size N: h, then c; zeros at an episode's start).
//   outputs "action"    [batch, action_dim] float32 in env units, or for a
//                       categorical policy [batch] int64, the argmax among
//                       the actions the observation's mask allows
//                       (PolicySpec.action_mask);
//           "new_state" [batch, 2N] float32, recurrent only: the state to
//                       pass back at the row's next step.
// A per_agent policy (a joint row's agents, MADDPG's) takes the row's
// observation, the agents' concatenated, and gives the row's "action"
// [batch, action_dim] float32 as PerAgentPolicy acts: each agent's action
// in its slice, a categorical agent's as a one-hot of its actions.
// The batch dimension is named "batch" and may be any size; one
// observation is a batch of one.
//
// Thread-safe free functions.
#ifndef RILL_POLICIES_ONNX_EXPORT_H_
#define RILL_POLICIES_ONNX_EXPORT_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/onnx.pb.h"
#include "proto/parameters.pb.h"

namespace rill::policies {

// The opset and IR version written (ONNX 1.12, which Debian's python3-onnx
// checks; ONNX Runtime loads them from 1.12 on).
inline constexpr int kOnnxOpset = 17;
inline constexpr int kOnnxIrVersion = 8;

// The model of `params`' policy. InvalidArgument for a ParameterSet that
// PolicyFromParameters refuses (the field or tensor named).
absl::StatusOr<onnx::ModelProto> ToOnnx(const v1::ParameterSet& params);

// ToOnnx written to `path`; Internal naming the path when it cannot be.
absl::Status ExportOnnx(const v1::ParameterSet& params, const std::string& path);

}  // namespace rill::policies

#endif  // RILL_POLICIES_ONNX_EXPORT_H_
