// What every policy shares and the learner's algorithms name too: the
// parameter names actors load, the log-std range of Gaussian heads, and the
// checks of a PolicySpec. No LibTorch: actors link this.
//
// Thread-safe free functions.
#ifndef RILL_POLICIES_SPEC_H_
#define RILL_POLICIES_SPEC_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "envs/spec.h"
#include "proto/parameters.pb.h"

namespace rill::policies {

// Prefix of the policy's parameter names ("policy.layers.<l>.weight").
inline constexpr char kPolicyPrefix[] = "policy";

// Names of a recurrent policy's head (PolicySpec.lstm_size > 0), which
// follows its "policy.lstm.*" tensors: [outputs, lstm_size] and [outputs].
inline constexpr char kPolicyHeadWeightName[] = "policy.head.weight";
inline constexpr char kPolicyHeadBiasName[] = "policy.head.bias";

// The largest PolicySpec.lstm_size.
inline constexpr int kMaxLstmSize = 4096;
// The trunk's parameters (PolicySpec.trunk_size), its largest width and its
// LayerNorm's epsilon (torch.nn.LayerNorm's default).
inline constexpr char kPolicyTrunkWeightName[] = "policy.trunk.weight";
inline constexpr char kPolicyTrunkBiasName[] = "policy.trunk.bias";
inline constexpr char kPolicyTrunkNormWeightName[] = "policy.trunk.norm.weight";
inline constexpr char kPolicyTrunkNormBiasName[] = "policy.trunk.norm.bias";
inline constexpr int kMaxTrunkSize = 4096;
inline constexpr double kTrunkNormEpsilon = 1e-5;

// The most blocks of a hyperspherical network (PolicySpec.hyperspherical).
inline constexpr int kMaxHypersphericalBlocks = 16;

// Names of the observation normaliser's tensors, the last two of a
// ParameterSet whose PolicySpec has observation_clip > 0 ([obs_dim] each).
inline constexpr char kObsNormMeanName[] = "obs_norm.mean";
inline constexpr char kObsNormStdName[] = "obs_norm.std";

// A Gaussian head's log_std is clamped to [kLogStdMin, kLogStdMax] (as in
// SB3 and CleanRL), on the actors and in the learner alike.
inline constexpr double kLogStdMin = -20.0;
inline constexpr double kLogStdMax = 2.0;

// The kinds of policy an actor runs. On the wire (PolicySpec.kind) a kind
// travels as its name, so that parameter sets, checkpoints and exported
// files stay readable and compatible; Rill reads the name once, here, and
// chooses by the enum everywhere else.
// kPerAgent: a joint row's agents, each with a categorical or deterministic
// policy of its own (PolicySpec.agents, policies/per_agent.h); it acts in a
// continuous row (one-hots for its discrete agents).
// The logit of an action the observation's mask forbids
// (PolicySpec.action_mask): finite, so that sums of p * log p stay numbers
// (0 * -1e9 is 0), and far enough below any logit a network makes that
// softmax gives it exactly 0.
inline constexpr float kMaskedLogit = -1e9f;

enum class PolicyKind { kGaussian, kDeterministic, kCategorical, kPerAgent };

// "gaussian", "deterministic", "categorical", "per_agent".
const char* PolicyKindName(PolicyKind kind);
// The kind named `name`; InvalidArgument "policy spec kind: 'beta' is
// unknown (known: gaussian, deterministic, categorical)".
absl::StatusOr<PolicyKind> ParsePolicyKind(absl::string_view name);
// ParsePolicyKind(spec.kind()).
absl::StatusOr<PolicyKind> KindOf(const v1::PolicySpec& spec);
// Whether the kind acts in a discrete action space (an action index).
bool IsDiscrete(PolicyKind kind);

// InvalidArgument naming the field when `spec` is not a usable spec of
// `kind`: sizes not positive, lstm_size outside 0..kMaxLstmSize, continuous
// bounds missing or not action_dim long, or low >= high. kPerAgent: no
// network of its own (hidden_sizes, lstm, torso, trunk, normaliser unset),
// at least one agent, each a usable categorical or feed-forward
// deterministic spec ("agents[1]: ..."), obs_dim and action_dim their sums,
// and the row's bounds.
absl::Status CheckPolicySpec(const v1::PolicySpec& spec, PolicyKind kind);

// The spec of a `kind` policy for `env` ("gaussian", "deterministic",
// "categorical"): sizes and bounds from the env, `hidden` layer widths.
v1::PolicySpec PolicySpecFor(const std::string& kind, const envs::EnvSpec& env, const std::vector<int>& hidden,
                             double exploration_noise = 0);

// Makes `spec` an image policy: `env`'s [C, H, W] observation shape (a
// Dict observation's image leaf, the flat leaves beside the torso's
// features) and `torso` before the MLP (none when empty). InvalidArgument when the env's
// observations are not 3-D or the layers do not fit them.
absl::Status SetTorso(const envs::EnvSpec& env, const std::vector<v1::TorsoLayer>& torso, v1::PolicySpec* spec);

}  // namespace rill::policies

#endif  // RILL_POLICIES_SPEC_H_
