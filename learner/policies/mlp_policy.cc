#include "learner/policies/mlp_policy.h"

#include <cmath>

#include "ATen/CPUGeneratorImpl.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace rill::learner {
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

v1::PolicySpec PolicySpecFor(const std::string& kind, const actor::EnvSpec& env, const std::vector<int>& hidden,
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

absl::StatusOr<FlatMlp> MlpPolicy::MakeNetwork(const v1::PolicySpec& spec, int64_t outputs, uint64_t seed) {
  MlpShape shape;
  shape.in_dim = spec.obs_dim();
  shape.hidden.assign(spec.hidden_sizes().begin(), spec.hidden_sizes().end());
  shape.out_dim = outputs;
  return FlatMlp::Create(shape, seed, torch::kCPU);
}

MlpPolicy::MlpPolicy(v1::PolicySpec spec, FlatMlp mlp, uint64_t seed)
    : spec_(std::move(spec)),
      mlp_(std::move(mlp)),
      generator_(at::detail::createCPUGenerator(seed)),
      named_(mlp_.NamedParameters(kPolicyPrefix)) {
  if (spec_.observation_clip() > 0) {
    obs_mean_ = torch::zeros({spec_.obs_dim()});
    obs_std_ = torch::ones({spec_.obs_dim()});
    named_.emplace_back(kObsNormMeanName, obs_mean_);
    named_.emplace_back(kObsNormStdName, obs_std_);
  }
}

torch::Tensor MlpPolicy::Forward(const torch::Tensor& obs) {
  torch::NoGradGuard no_grad;
  if (obs_mean_.defined()) {
    const double clip = spec_.observation_clip();
    return mlp_.Forward(((obs - obs_mean_) / obs_std_).clamp(-clip, clip), trace_).squeeze(0);
  }
  return mlp_.Forward(obs, trace_).squeeze(0);
}

absl::Status MlpPolicy::LoadParameters(const v1::ParameterSet& params) {
  return CopyFromParameterSet(params, named_);
}

absl::StatusOr<v1::ParameterSet> MlpPolicy::ExportParameters() const {
  ASSIGN_OR_RETURN(v1::ParameterSet set, ToParameterSet(named_));
  *set.mutable_policy() = spec_;
  return set;
}

absl::StatusOr<torch::jit::Module> MlpPolicy::ToTorchScript() const {
  try {
    torch::NoGradGuard no_grad;
    torch::jit::Module module("RillPolicy");
    const int layers = mlp_.num_layers();
    std::string source = "def forward(self, obs: Tensor) -> Tensor:\n    h = obs\n";
    if (obs_mean_.defined()) {
      module.register_buffer("obs_mean", obs_mean_.clone());
      module.register_buffer("obs_std", obs_std_.clone());
      absl::StrAppend(&source, "    h = torch.clamp((obs - self.obs_mean) / self.obs_std, ", -spec_.observation_clip(),
                      ", ", spec_.observation_clip(), ")\n");
    }
    for (int l = 0; l < layers; ++l) {
      module.register_buffer(absl::StrCat("w", l), mlp_.weight(l)[0].detach().clone());
      module.register_buffer(absl::StrCat("b", l), mlp_.bias(l)[0][0].detach().clone());
      if (l + 1 < layers) {
        absl::StrAppend(&source, "    h = torch.relu(torch.addmm(self.b", l, ", h, self.w", l, ".t()))\n");
      } else {
        absl::StrAppend(&source, "    out = torch.addmm(self.b", l, ", h, self.w", l, ".t())\n");
      }
    }
    if (spec_.action_low_size() > 0) {
      module.register_buffer("low", torch::tensor(std::vector<float>(spec_.action_low().begin(), spec_.action_low().end())));
      module.register_buffer("high",
                             torch::tensor(std::vector<float>(spec_.action_high().begin(), spec_.action_high().end())));
    }
    source += ScriptHead();
    module.define(source);
    module.eval();
    return module;
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("cannot build the TorchScript policy: ", e.what_without_backtrace()));
  }
}

}  // namespace rill::learner
