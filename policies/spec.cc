#include "policies/spec.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"
#include "policies/torso.h"

namespace rill::policies {
namespace {

absl::Status Invalid(const std::string& field, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat("policy spec ", field, ": ", why));
}

// Continuous bounds: action_dim of each, low < high.
absl::Status CheckBounds(const v1::PolicySpec& spec) {
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

// A per_agent spec: the row carries no network of its own; each agent is a
// categorical or feed-forward deterministic spec, and the row's sizes are
// theirs summed.
absl::Status CheckPerAgent(const v1::PolicySpec& spec) {
  if (spec.hidden_sizes_size() > 0 || spec.lstm_size() != 0 || spec.torso_size() > 0 || spec.trunk_size() != 0 ||
      spec.observation_clip() != 0 || spec.observation_shape_size() > 0 || spec.has_hyperspherical()) {
    return Invalid("hidden_sizes", "a per_agent spec has no network of its own (hidden_sizes, lstm_size, torso, "
                                   "trunk_size, observation_clip are its agents')");
  }
  if (spec.agents_size() == 0) return Invalid("agents", "a per_agent spec needs at least one agent");
  int obs_dim = 0, action_dim = 0;
  for (int k = 0; k < spec.agents_size(); ++k) {
    const v1::PolicySpec& agent = spec.agents(k);
    const std::string field = absl::StrCat("agents[", k, "]");
    absl::StatusOr<PolicyKind> kind = KindOf(agent);
    if (!kind.ok()) return Invalid(field, std::string(kind.status().message()));
    if (*kind != PolicyKind::kCategorical && *kind != PolicyKind::kDeterministic) {
      return Invalid(field, absl::StrCat("kind '", agent.kind(), "': an agent's policy is categorical or deterministic"));
    }
    if (agent.lstm_size() != 0) return Invalid(field, "an agent's policy is feed-forward (lstm_size 0)");
    if (const absl::Status status = CheckPolicySpec(agent, *kind); !status.ok()) {
      return Invalid(field, std::string(absl::StripPrefix(status.message(), "policy spec ")));
    }
    obs_dim += agent.obs_dim();
    action_dim += agent.action_dim();
  }
  if (spec.obs_dim() != obs_dim) {
    return Invalid("obs_dim", absl::StrCat(spec.obs_dim(), " is not the agents' sum ", obs_dim));
  }
  if (spec.action_dim() != action_dim) {
    return Invalid("action_dim", absl::StrCat(spec.action_dim(), " is not the agents' sum ", action_dim));
  }
  return CheckBounds(spec);
}

// The torso's layers fit the observation shape, which is [C, H, W] and
// obs_dim - flat_dim elements.
absl::Status CheckTorso(const v1::PolicySpec& spec) {
  if (spec.torso_size() == 0) {
    if (spec.observation_shape_size() != 0) return Invalid("observation_shape", "is read with a torso only");
    if (spec.image_channels_size() != 0) return Invalid("image_channels", "is read with a torso only");
    return absl::OkStatus();
  }
  if (spec.observation_shape_size() != 3) {
    return Invalid("observation_shape", absl::StrCat("a torso needs [C, H, W], got ", spec.observation_shape_size(),
                                                     " dimensions"));
  }
  const ImageShape input{spec.observation_shape(0), spec.observation_shape(1), spec.observation_shape(2)};
  if (input.c < 1 || input.h < 1 || input.w < 1 || input.size() != spec.obs_dim() - spec.flat_dim()) {
    return Invalid("observation_shape",
                   absl::StrCat(ImageShapeString(input), " does not hold obs_dim ", spec.obs_dim(), " elements",
                                spec.flat_dim() > 0 ? absl::StrCat(" less flat_dim ", spec.flat_dim()) : ""));
  }
  if (spec.observation_clip() > 0) return Invalid("observation_clip", "is not read with a torso (images)");
  if (spec.image_channels_size() == 1) return Invalid("image_channels", "has one entry; a single image has none");
  absl::StatusOr<std::vector<ImageShape>> inputs = ImageLeafInputs(
      input, std::vector<int32_t>(spec.image_channels().begin(), spec.image_channels().end()));
  if (!inputs.ok()) return Invalid("image_channels", std::string(inputs.status().message()));
  for (const ImageShape& leaf : *inputs) {
    absl::StatusOr<std::vector<ImageShape>> shapes =
        TorsoShapes(std::vector<v1::TorsoLayer>(spec.torso().begin(), spec.torso().end()), leaf);
    if (!shapes.ok()) return Invalid("torso", std::string(shapes.status().message()));
  }
  return absl::OkStatus();
}

// A hyperspherical network: one width, feed-forward, on flat observations.
absl::Status CheckHyperspherical(const v1::PolicySpec& spec) {
  if (!spec.has_hyperspherical()) return absl::OkStatus();
  const v1::HypersphericalNet& sphere = spec.hyperspherical();
  if (spec.hidden_sizes_size() != 1) {
    return Invalid("hidden_sizes", absl::StrCat("a hyperspherical network has one width, got ",
                                                spec.hidden_sizes_size(), " sizes"));
  }
  if (spec.lstm_size() != 0 || spec.torso_size() > 0 || spec.trunk_size() != 0) {
    return Invalid("hyperspherical", "is feed-forward on flat observations (no lstm_size, torso or trunk_size)");
  }
  if (sphere.blocks() < 0 || sphere.blocks() > kMaxHypersphericalBlocks) {
    return Invalid("hyperspherical.blocks",
                   absl::StrCat(sphere.blocks(), " is out of range: must be in 0..", kMaxHypersphericalBlocks));
  }
  if (!(sphere.shift() >= 0) || std::isinf(sphere.shift())) {
    return Invalid("hyperspherical.shift", absl::StrCat(sphere.shift(), " must be finite and >= 0"));
  }
  return absl::OkStatus();
}

}  // namespace

const char* PolicyKindName(PolicyKind kind) {
  switch (kind) {
    case PolicyKind::kGaussian:
      return "gaussian";
    case PolicyKind::kDeterministic:
      return "deterministic";
    case PolicyKind::kCategorical:
      return "categorical";
    case PolicyKind::kPerAgent:
      return "per_agent";
  }
  return "?";
}

absl::StatusOr<PolicyKind> ParsePolicyKind(absl::string_view name) {
  for (PolicyKind kind :
       {PolicyKind::kGaussian, PolicyKind::kDeterministic, PolicyKind::kCategorical, PolicyKind::kPerAgent}) {
    if (name == PolicyKindName(kind)) return kind;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "policy spec kind: '", name, "' is unknown (known: gaussian, deterministic, categorical, per_agent)"));
}

absl::StatusOr<PolicyKind> KindOf(const v1::PolicySpec& spec) { return ParsePolicyKind(spec.kind()); }

bool IsDiscrete(PolicyKind kind) { return kind == PolicyKind::kCategorical; }

absl::Status CheckPolicySpec(const v1::PolicySpec& spec, PolicyKind kind) {
  if (spec.kind() != PolicyKindName(kind)) {
    return Invalid("kind", absl::StrCat("is '", spec.kind(), "', expected '", PolicyKindName(kind), "'"));
  }
  if (kind == PolicyKind::kPerAgent) return CheckPerAgent(spec);
  if (spec.agents_size() > 0) return Invalid("agents", absl::StrCat("are read by kind per_agent only, not ", spec.kind()));
  if (spec.obs_dim() <= 0) return Invalid("obs_dim", absl::StrCat(spec.obs_dim(), " must be positive"));
  if (spec.action_dim() <= 0) return Invalid("action_dim", absl::StrCat(spec.action_dim(), " must be positive"));
  if (spec.lstm_size() < 0 || spec.lstm_size() > kMaxLstmSize) {
    return Invalid("lstm_size", absl::StrCat(spec.lstm_size(), " is out of range: must be in 0..", kMaxLstmSize));
  }
  if (spec.lstm_size() > 0 && spec.hidden_sizes_size() == 0) {
    return Invalid("lstm_size", "a recurrent core needs at least one hidden layer (hidden_sizes) before it");
  }
  if (spec.trunk_size() < 0 || spec.trunk_size() > kMaxTrunkSize) {
    return Invalid("trunk_size", absl::StrCat(spec.trunk_size(), " is out of range: must be in 0..", kMaxTrunkSize));
  }
  if (spec.trunk_size() > 0 && spec.observation_clip() > 0) {
    return Invalid("trunk_size", "a trunk is not read with observation_clip (normalised observations)");
  }
  if (spec.hidden_sizes_size() == 0) return Invalid("hidden_sizes", "must name at least one layer");
  for (int h : spec.hidden_sizes()) {
    if (h <= 0) return Invalid("hidden_sizes", absl::StrCat("width ", h, " must be positive"));
  }
  if (!(spec.exploration_noise() >= 0)) return Invalid("exploration_noise", "must be >= 0");
  if (!(spec.observation_clip() >= 0) || std::isinf(spec.observation_clip())) {
    return Invalid("observation_clip", absl::StrCat(spec.observation_clip(), " must be finite and >= 0"));
  }
  if (spec.flat_dim() < 0 || spec.flat_dim() > spec.obs_dim()) {
    return Invalid("flat_dim", absl::StrCat(spec.flat_dim(), " is out of range: must be in 0..obs_dim ", spec.obs_dim()));
  }
  if (spec.flat_dim() > 0 && spec.trunk_size() > 0 && spec.torso_size() == 0) {
    return Invalid("flat_dim", "is read with a trunk only beside a torso");
  }
  RETURN_IF_ERROR(CheckTorso(spec));
  RETURN_IF_ERROR(CheckHyperspherical(spec));
  if (!v1::Activation_IsValid(spec.activation())) {
    return Invalid("activation", absl::StrCat(spec.activation(), " is unknown (known: RELU, GELU)"));
  }
  if (spec.activation() == v1::GELU &&
      (spec.lstm_size() > 0 || spec.torso_size() > 0 || spec.trunk_size() > 0 || spec.has_hyperspherical())) {
    return Invalid("activation", "GELU is for a feed-forward MLP on flat observations (no lstm_size, torso, trunk "
                                 "or hyperspherical)");
  }
  if (spec.action_mask()) {
    if (kind != PolicyKind::kCategorical) return Invalid("action_mask", "is read by kind categorical only");
    // The mask ends the observation: its flat leaves', beside a torso.
    const bool fits = spec.torso_size() > 0 ? spec.flat_dim() >= spec.action_dim() : spec.obs_dim() > spec.action_dim();
    if (!fits) {
      return Invalid("action_mask", absl::StrCat("needs flat observations longer than the ", spec.action_dim(),
                                                 " actions (obs_dim ", spec.obs_dim(), "), or beside a torso ",
                                                 "that many flat leaves (flat_dim ", spec.flat_dim(), ")"));
    }
  }
  if (IsDiscrete(kind)) return absl::OkStatus();
  return CheckBounds(spec);
}

v1::PolicySpec PolicySpecFor(const std::string& kind, const envs::EnvSpec& env, const std::vector<int>& hidden,
                             double exploration_noise) {
  v1::PolicySpec spec;
  spec.set_kind(kind);
  spec.set_obs_dim(env.obs_dim());
  spec.set_action_dim(env.action_dim());
  for (int h : hidden) spec.add_hidden_sizes(h);
  spec.set_exploration_noise(exploration_noise);
  if (env.uint8_observations()) spec.set_observation_dtype(v1::DTYPE_UINT8);
  spec.set_flat_dim(env.flat_dim);
  for (float low : env.action_low) spec.add_action_low(low);
  for (float high : env.action_high) spec.add_action_high(high);
  spec.set_action_mask(env.action_mask && kind == PolicyKindName(PolicyKind::kCategorical));
  return spec;
}

absl::Status SetTorso(const envs::EnvSpec& env, const std::vector<v1::TorsoLayer>& torso, v1::PolicySpec* spec) {
  spec->clear_observation_shape();
  spec->clear_torso();
  spec->clear_image_channels();
  spec->set_flat_dim(env.flat_dim);
  if (torso.empty()) return absl::OkStatus();
  if (env.observation_shape.size() != 3) {
    return absl::InvalidArgumentError(absl::StrCat("a convolutional torso needs [C, H, W] observations; env ",
                                                   env.name, " observes ", env.observation_shape.size(),
                                                   "-D ones"));
  }
  for (int64_t d : env.observation_shape) spec->add_observation_shape(static_cast<int32_t>(d));
  for (const v1::TorsoLayer& layer : torso) *spec->add_torso() = layer;
  for (const int32_t c : env.image_channels()) spec->add_image_channels(c);
  return CheckTorso(*spec);
}

}  // namespace rill::policies
