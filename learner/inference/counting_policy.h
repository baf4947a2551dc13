// CountingPolicy: a recurrent Policy for the inference tests, whose actions
// show the core state they were taken from, with no network behind it. Each
// row's state (lstm_size 1: h then c) is the steps the row has taken since
// its reset and the sum of the observations' first column over them; a step
// adds one to the first and its observation to the second, and the action
// (continuous, one dimension) is the step count after it. Without a state
// (set_state(nullptr)) every row acts 1. Deterministic and exploring acts
// count alike; ActWithBehaviour's log_prob is 0 and its distribution the
// row's new state.
//
// Thread safety: none (see policies/interface.h).
#ifndef RILL_LEARNER_INFERENCE_COUNTING_POLICY_H_
#define RILL_LEARNER_INFERENCE_COUNTING_POLICY_H_

#include <cstdint>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "policies/interface.h"
#include "proto/parameters.pb.h"

namespace rill::learner {

class CountingPolicy final : public policies::Policy {
 public:
  static constexpr char kKind[] = "counting";

  // A spec of kKind with obs_dim `obs_dim`, one action and `lstm_size`
  // (0: the policy is feed-forward and every row acts 1).
  static v1::PolicySpec Spec(int obs_dim = 1, int lstm_size = 1) {
    v1::PolicySpec spec;
    spec.set_kind(kKind);
    spec.set_obs_dim(obs_dim);
    spec.set_action_dim(1);
    spec.set_lstm_size(lstm_size);
    return spec;
  }
  // The parameters of a policy of `spec` (it has none but its spec).
  static v1::ParameterSet Parameters(const v1::PolicySpec& spec) {
    v1::ParameterSet params;
    *params.mutable_policy() = spec;
    return params;
  }
  // InferenceOptions::make_policy.
  static absl::StatusOr<std::unique_ptr<policies::Policy>> FromParameters(const v1::ParameterSet& params,
                                                                         uint64_t /*seed*/) {
    if (params.policy().kind() != kKind) {
      return absl::InvalidArgumentError(absl::StrCat("not a ", kKind, " policy: ", params.policy().kind()));
    }
    return std::make_unique<CountingPolicy>(params.policy());
  }

  explicit CountingPolicy(v1::PolicySpec spec) : spec_(std::move(spec)) {}

  const v1::PolicySpec& spec() const override { return spec_; }

  void Act(const float* obs, int64_t batch, bool /*deterministic*/, policies::PolicyOutput* out) override {
    out->actions.resize(batch);
    out->distribution.resize(batch * 2);
    for (int64_t row = 0; row < batch; ++row) {
      float steps = 1.f;
      float sum = obs[row * spec_.obs_dim()];
      if (state_ != nullptr && state_size() > 0) {
        steps = state_[row * state_size()] += 1.f;
        sum = state_[row * state_size() + 1] += obs[row * spec_.obs_dim()];
      }
      out->actions[row] = steps;
      out->distribution[row * 2] = steps;
      out->distribution[row * 2 + 1] = sum;
    }
  }

  absl::Status ActWithBehaviour(const float* obs, int64_t batch, policies::PolicyOutput* out) override {
    Act(obs, batch, false, out);
    out->log_prob.assign(batch, 0.f);
    return absl::OkStatus();
  }

  // In place for the same spec; another one is another network.
  absl::Status LoadParameters(const v1::ParameterSet& params) override {
    if (params.policy().SerializeAsString() != spec_.SerializeAsString()) {
      return absl::InvalidArgumentError("another network");
    }
    return absl::OkStatus();
  }
  absl::StatusOr<v1::ParameterSet> ExportParameters() const override { return Parameters(spec_); }

 private:
  const v1::PolicySpec spec_;
};

}  // namespace rill::learner

#endif  // RILL_LEARNER_INFERENCE_COUNTING_POLICY_H_
