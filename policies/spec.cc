#include "policies/spec.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace rill::policies {
namespace {

absl::Status Invalid(const std::string& field, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat("policy spec ", field, ": ", why));
}

}  // namespace

absl::Status CheckPolicySpec(const v1::PolicySpec& spec, const std::string& kind) {
  if (spec.kind() != kind) return Invalid("kind", absl::StrCat("is '", spec.kind(), "', expected '", kind, "'"));
  if (spec.obs_dim() <= 0) return Invalid("obs_dim", absl::StrCat(spec.obs_dim(), " must be positive"));
  if (spec.action_dim() <= 0) return Invalid("action_dim", absl::StrCat(spec.action_dim(), " must be positive"));
  if (spec.hidden_sizes_size() == 0) return Invalid("hidden_sizes", "must name at least one layer");
  for (int h : spec.hidden_sizes()) {
    if (h <= 0) return Invalid("hidden_sizes", absl::StrCat("width ", h, " must be positive"));
  }
  if (!(spec.exploration_noise() >= 0)) return Invalid("exploration_noise", "must be >= 0");
  if (!(spec.observation_clip() >= 0) || std::isinf(spec.observation_clip())) {
    return Invalid("observation_clip", absl::StrCat(spec.observation_clip(), " must be finite and >= 0"));
  }
  if (kind == "categorical") return absl::OkStatus();
  if (spec.action_low_size() != spec.action_dim() || spec.action_high_size() != spec.action_dim()) {
    return Invalid("action_low", absl::StrCat("action_low and action_high need ", spec.action_dim(),
                                              " values each, got ", spec.action_low_size(), " and ",
                                              spec.action_high_size()));
  }
  for (int i = 0; i < spec.action_dim(); ++i) {
    if (!(spec.action_low(i) < spec.action_high(i))) {
      return Invalid("action_low", absl::StrCat("dimension ", i, ": low ", spec.action_low(i), " is not below high ",
                                                spec.action_high(i)));
    }
  }
  return absl::OkStatus();
}

v1::PolicySpec PolicySpecFor(const std::string& kind, const envs::EnvSpec& env, const std::vector<int>& hidden,
                             double exploration_noise) {
  v1::PolicySpec spec;
  spec.set_kind(kind);
  spec.set_obs_dim(env.obs_dim());
  spec.set_action_dim(env.action_dim());
  for (int h : hidden) spec.add_hidden_sizes(h);
  spec.set_exploration_noise(exploration_noise);
  for (float low : env.action_low) spec.add_action_low(low);
  for (float high : env.action_high) spec.add_action_high(high);
  return spec;
}

}  // namespace rill::policies
