// MlpPolicy: the part every policy in this folder shares. The network is one
// BlasMlp (obs -> hidden ReLU layers -> a linear head) whose parameters are
// named "policy.layers.<l>.weight" ([out, in]) and ".bias" ([out]), the
// names the learner's algorithms export; when the spec normalises
// observations, "obs_norm.mean" and "obs_norm.std" follow. When the spec
// has a torso (image observations), a BlasTorso runs first and its
// parameters ("policy.torso.<l>.*") come before the MLP's. A subclass says
// how many outputs the head has and how an action is drawn from them.
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
  // valid until the next call.
  const float* Forward(const float* obs, int64_t batch);
  int outputs() const { return mlp_.out_dim(); }

  std::mt19937_64& rng() { return rng_; }

 private:
  v1::PolicySpec spec_;
  std::unique_ptr<BlasTorso> torso_;  // null without spec_.torso()
  BlasMlp mlp_;
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
