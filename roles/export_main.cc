#include "roles/export_main.h"

#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "flags/flags.h"
#include "learner/checkpoint.h"
#include "learner/torch_policy.h"  // ExportTorchScript
#include "policies/onnx_export.h"
#include "policies/registry.h"
#include "roles/checkpoint_folder.h"


namespace rill::roles {

using learner::ExportTorchScript;
using learner::ReadCheckpointPolicy;

namespace {

// What the ONNX model takes and gives (policies/onnx_export.h).
std::string OnnxSignature(const v1::PolicySpec& spec) {
  // A Dict observation's image leaf, then its flat leaves as "flat".
  const int flat = spec.flat_dim();
  const std::string obs = absl::StrCat(
      spec.observation_dtype() == v1::DTYPE_UINT8 ? "uint8 " : "float32 ", "[batch, ",
      spec.torso_size() > 0 ? absl::StrJoin(spec.observation_shape(), ", ") : absl::StrCat(spec.obs_dim() - flat), "]",
      flat > 0 ? absl::StrCat(", flat float32 [batch, ", flat, "]") : "");
  const std::string action = spec.kind() == "categorical" ? "action int64 [batch]"
                                                          : absl::StrCat("action float32 [batch, ", spec.action_dim(), "]");
  if (spec.lstm_size() == 0) return absl::StrCat("obs ", obs, " -> ", action);
  const std::string state = absl::StrCat("float32 [batch, ", 2 * spec.lstm_size(), "]");
  return absl::StrCat("obs ", obs, ", state ", state, " -> ", action, ", new_state ", state);
}

// "hidden [256, 256], GELU, LSTM 64", or a joint row's "2 agents
// (categorical, deterministic)".
std::string Network(const v1::PolicySpec& spec) {
  if (spec.agents_size() > 0) {
    std::vector<std::string> kinds;
    for (const v1::PolicySpec& agent : spec.agents()) kinds.push_back(agent.kind());
    return absl::StrCat(spec.agents_size(), " agents (", absl::StrJoin(kinds, ", "), ")");
  }
  return absl::StrCat("hidden [", absl::StrJoin(spec.hidden_sizes(), ", "), "]",
                      spec.activation() == v1::GELU ? ", GELU" : "",
                      spec.lstm_size() > 0 ? absl::StrCat(", LSTM ", spec.lstm_size()) : "");
}

}  // namespace

int ExportMain() {
  const std::string dir = absl::GetFlag(FLAGS_checkpoint_dir);
  const std::string out = absl::GetFlag(FLAGS_out);
  if (dir.empty() || out.empty()) {
    std::fprintf(stderr, "rill export: --checkpoint_dir and --out are required\n");
    return 2;
  }
  std::string format = absl::GetFlag(FLAGS_format);
  if (format.empty()) format = absl::EndsWithIgnoreCase(out, ".onnx") ? "onnx" : "torchscript";
  if (format != "onnx" && format != "torchscript") {
    std::fprintf(stderr, "rill export: --format=%s is unknown (known: torchscript, onnx)\n", format.c_str());
    return 2;
  }
  // One checkpoint, a learner's checkpoint folder or a run folder.
  absl::StatusOr<CheckpointLocation> location = FindCheckpoint(dir);
  if (!location.ok()) {
    std::fprintf(stderr, "rill export: %s\n", std::string(location.status().message()).c_str());
    return 2;
  }
  const std::string& checkpoint = location->checkpoint;
  if (location->in_run_folder) {
    std::printf("%s is a run folder: exporting its learner's newest checkpoint, %s\n", dir.c_str(),
                checkpoint.c_str());
  }
  absl::StatusOr<v1::ParameterSet> policy = ReadCheckpointPolicy(checkpoint);
  if (!policy.ok()) {
    std::fprintf(stderr, "rill export: %s\n", std::string(policy.status().message()).c_str());
    return 2;
  }
  const bool onnx = format == "onnx";
  absl::Status written = onnx ? policies::ExportOnnx(*policy, out) : ExportTorchScript(*policy, out);
  if (!written.ok()) {
    std::fprintf(stderr, "rill export: %s\n", std::string(written.message()).c_str());
    return absl::IsInvalidArgument(written) ? 2 : 1;
  }
  const v1::PolicySpec& spec = policy->policy();
  if (onnx) {
    std::printf("wrote %s: ONNX (opset %d) %s policy, %s, %s, from %s\n", out.c_str(), policies::kOnnxOpset,
                spec.kind().c_str(), OnnxSignature(spec).c_str(), Network(spec).c_str(), checkpoint.c_str());
    return 0;
  }
  // What the module takes: uint8 images [B, C, H, W] (scaled by 1/255
  // inside it), uint8 rows, or float rows; or one of them without B.
  const std::string obs =
      absl::StrCat(spec.observation_dtype() == v1::DTYPE_UINT8 ? "uint8 " : "float ",
                   spec.torso_size() > 0 ? absl::StrCat("[B, ", absl::StrJoin(spec.observation_shape(), ", "), "]")
                                         : absl::StrCat("[B, ", spec.obs_dim() - spec.flat_dim(), "]"),
                   " (or one, without B)",
                   spec.torso_size() > 0 ? absl::StrCat(" through a ", spec.torso_size(), "-layer conv torso") : "",
                   spec.trunk_size() > 0 ? absl::StrCat(" and a ", spec.trunk_size(), "-unit LayerNorm trunk") : "",
                   spec.flat_dim() > 0 ? absl::StrCat(", flat float [B, ", spec.flat_dim(), "] beside it") : "");
  // A recurrent module also takes and returns its core state (see
  // learner/torch_policy.h).
  const absl::StatusOr<policies::PolicyKind> kind = policies::KindOf(spec);
  const std::string action =
      kind.ok() && policies::IsDiscrete(*kind) ? "action index [B]" : "action [B, n] in env units";
  const std::string state = absl::StrCat("core state [B, ", 2 * spec.lstm_size(), "]");
  const std::string signature = spec.lstm_size() > 0
                                    ? absl::StrCat("(obs ", obs, ", ", state, ") -> (", action, ", new ", state, ")")
                                    : absl::StrCat("obs ", obs, " -> ", action);
  std::printf("wrote %s: %s policy, %s, %s, from %s\n", out.c_str(), spec.kind().c_str(), signature.c_str(),
              Network(spec).c_str(), checkpoint.c_str());
  return 0;
}

}  // namespace rill::roles
