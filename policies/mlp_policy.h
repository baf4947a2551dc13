// MlpPolicy: the part every policy in this folder shares. The network is one
// BlasMlp (obs -> hidden ReLU or GELU layers -> a linear head) whose parameters are
// named "policy.layers.<l>.weight" ([out, in]) and ".bias" ([out]), the
// names the learner's algorithms export; when the spec normalises
// observations, "obs_norm.mean" and "obs_norm.std" follow. When the spec
// has a torso (image observations), a BlasTorso runs first and its
// parameters ("policy.torso.<l>.*") come before the MLP's; a trunk
// (PolicySpec.trunk_size, DrQ-v2's) follows the torso. A subclass says
// how many outputs the head has and how an action is drawn from them.
//
// A hyperspherical spec (PolicySpec.hyperspherical, SimbaV2's actor) runs
// a BlasHypersphericalMlp on the (normalised) observation in place of the
// MLP; its parameters ("policy.embed.*", "policy.blocks.<b>.*",
// "policy.output.*") come before the normaliser's.
//
// A recurrent spec (lstm_size N > 0) puts a BlasLstm between the hidden
// layers, every one of them ReLU'd then, and a linear head: the
// parameters are then "policy.layers.<l>.*" for the hidden layers only,
// "policy.lstm.weight_ih", ".weight_hh", ".bias", "policy.head.weight"
// [outputs, N] and ".bias" [outputs], then the normaliser's (see
// PolicySpec.lstm_size). Each Forward is one step of the core: it reads the
// rows of the caller's state (Policy::set_state; zeros when none is set)
// and writes the new (h, c) back into them, so a subclass calls Forward
// exactly once per Act.
//
// Thread safety: none (see interface.h).
#ifndef RILL_POLICIES_MLP_POLICY_H_
#define RILL_POLICIES_MLP_POLICY_H_

#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "policies/blas_hyperspherical.h"
#include "policies/blas_lstm.h"
#include "policies/blas_mlp.h"
#include "policies/blas_torso.h"
#include "policies/interface.h"
#include "policies/spec.h"
#include "proto/parameters.pb.h"

namespace rill::policies {

class MlpPolicy : public Policy {
 public:
  const v1::PolicySpec& spec() const override { return spec_; }
  absl::Status LoadParameters(const v1::ParameterSet& params) override;
  absl::StatusOr<v1::ParameterSet> ExportParameters() const override;

 protected:
  // `outputs`: the head's width. The caller has checked `spec`.
  MlpPolicy(v1::PolicySpec spec, int outputs, uint64_t seed);

  // The head's outputs for `obs` [batch, obs_dim]: [batch, outputs],
  // valid until the next call. A recurrent policy advances state_'s
  // [batch, state_size()] rows in place (or starts every row from zeros,
  // writing nothing back, when state_ is null).
  const float* Forward(const float* obs, int64_t batch);
  int outputs() const { return outputs_; }

  std::mt19937_64& rng() { return rng_; }

 private:
  // The observations as the MLP reads them: the torso's features, the
  // normalised rows, or `obs` itself; through the trunk when there is one.
  const float* Features(const float* obs, int64_t batch);
  // The torsos' features of `obs` (each image leaf's, one after another),
  // followed in each row by its flat leaves when the spec has them
  // (PolicySpec.flat_dim).
  const float* TorsoFeatures(const float* obs, int64_t batch);
  // `obs` normalised when the spec says so (no torso), else itself.
  const float* Normalized(const float* obs, int64_t batch);

  v1::PolicySpec spec_;
  int outputs_;
  // One per image leaf (PolicySpec.image_channels; one for a single
  // image), in the row's order; none without spec_.torso().
  std::vector<std::unique_ptr<BlasTorso>> torsos_;
  int64_t torso_out_;  // their features' width together
  // With flat leaves or several image leaves: each row's image leaf, and
  // the torsos' features with the flat leaves beside them,
  // [batch, torso_out_ + flat_dim].
  std::vector<float> image_rows_, beside_;
  // spec_.trunk_size() > 0: the trunk's linear layer (a BlasMlp without
  // hidden layers, named "policy.trunk.*"), its LayerNorm's scale and shift,
  // and its output tanh(LayerNorm(...)), [batch, trunk_size]. Null otherwise.
  std::unique_ptr<BlasMlp> trunk_;
  NamedParameter trunk_norm_weight_, trunk_norm_bias_;
  // With flat leaves: the torsos' features alone (the trunk's input), and
  // the trunk's output with the flat leaves beside it,
  // [batch, trunk_size + flat_dim].
  std::vector<float> trunk_in_, trunk_out_;
  // Feed-forward: obs -> hidden -> head. Recurrent: obs -> hidden, the
  // last of which is mlp_'s (unReLU'd) output.
  BlasMlp mlp_;
  // With spec_.hyperspherical(): the network in mlp_'s place (mlp_ is then
  // neither run nor named). Null otherwise.
  std::unique_ptr<BlasHypersphericalMlp> sphere_;
  // Recurrent only (null otherwise): the core and the head, which is a
  // BlasMlp without hidden layers whose two tensors are named
  // "policy.head.*".
  std::unique_ptr<BlasLstm> lstm_;
  std::unique_ptr<BlasMlp> head_;
  std::vector<float> core_input_;  // ReLU of mlp_'s output, [batch, hidden]
  std::vector<float> zero_state_;  // the state when state_ is null
  std::mt19937_64 rng_;
  // [obs_dim] each, when spec_.observation_clip() > 0 (mean 0, std 1 until
  // parameters are loaded), and the normalised observations.
  NamedParameter obs_mean_, obs_std_;
  std::vector<float> normalized_;
  // What LoadParameters and ExportParameters see, in published order.
  std::vector<NamedParameter*> named_;
};

}  // namespace rill::policies

#endif  // RILL_POLICIES_MLP_POLICY_H_
