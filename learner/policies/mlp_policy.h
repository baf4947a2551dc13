// MlpPolicy: the part every policy in this folder shares. The network is one
// FlatMlp (obs -> hidden ReLU layers -> a linear head) whose parameters are
// named "policy.layers.<l>.weight" ([out, in]) and ".bias" ([out]), the
// names the learner's algorithms export; a subclass says how many outputs
// the head has, how an action is drawn from them, and the TorchScript line
// that turns them into the deterministic action.
//
// Thread safety: none (see interface.h).
#ifndef RILL_LEARNER_POLICIES_MLP_POLICY_H_
#define RILL_LEARNER_POLICIES_MLP_POLICY_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "actor/envs/spec.h"
#include "learner/networks.h"
#include "learner/policies/interface.h"
#include "proto/parameters.pb.h"

namespace rill::learner {

// Prefix of the policy's parameter names ("policy.layers.<l>.weight").
inline constexpr char kPolicyPrefix[] = "policy";

// InvalidArgument naming the field when `spec` is not a usable spec of
// `kind`: sizes not positive, continuous bounds missing or not action_dim
// long, or low >= high.
absl::Status CheckPolicySpec(const v1::PolicySpec& spec, const std::string& kind);

// The spec of a `kind` policy for `env` ("gaussian", "deterministic",
// "categorical"): sizes and bounds from the env, `hidden` layer widths.
v1::PolicySpec PolicySpecFor(const std::string& kind, const actor::EnvSpec& env, const std::vector<int>& hidden,
                             double exploration_noise = 0);

class MlpPolicy : public Policy {
 public:
  const v1::PolicySpec& spec() const override { return spec_; }
  absl::Status LoadParameters(const v1::ParameterSet& params) override;
  absl::StatusOr<v1::ParameterSet> ExportParameters() const override;
  absl::StatusOr<torch::jit::Module> ToTorchScript() const override;

  // Live views of the parameters by name (tests set tiny networks by hand),
  // then, when the spec normalises observations, "obs_norm.mean" and
  // "obs_norm.std".
  const std::vector<std::pair<std::string, torch::Tensor>>& named_parameters() const { return named_; }

 protected:
  // `outputs`: the head's width. CPU only: actors run policies on the CPU.
  static absl::StatusOr<FlatMlp> MakeNetwork(const v1::PolicySpec& spec, int64_t outputs, uint64_t seed);
  MlpPolicy(v1::PolicySpec spec, FlatMlp mlp, uint64_t seed);

  // The head's outputs for `obs`: [B, outputs], valid until the next call.
  torch::Tensor Forward(const torch::Tensor& obs);

  // TorchScript statements that read `out` ([B, outputs], the head) and
  // return the deterministic action; `self.low` and `self.high` hold the
  // action bounds for continuous policies. Indented by four spaces.
  virtual std::string ScriptHead() const = 0;

  at::Generator& generator() { return generator_; }

 private:
  v1::PolicySpec spec_;
  FlatMlp mlp_;
  MlpTrace trace_;
  at::Generator generator_;
  std::vector<std::pair<std::string, torch::Tensor>> named_;
  // [obs_dim] each, when spec_.observation_clip() > 0 (mean 0, std 1 until
  // parameters are loaded).
  torch::Tensor obs_mean_, obs_std_;
};

// The TorchScript line that maps `a` in [-1, 1] to env units.
inline constexpr char kScriptScaleToBounds[] = "    return self.low + (a + 1.0) * 0.5 * (self.high - self.low)\n";

}  // namespace rill::learner

#endif  // RILL_LEARNER_POLICIES_MLP_POLICY_H_
