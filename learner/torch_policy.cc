#include "learner/torch_policy.h"

#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "envs/observation.h"
#include "common/status_macros.h"
#include "common/torch_tensor.h"
#include "policies/blas_hyperspherical.h"
#include "policies/categorical.h"
#include "policies/deterministic.h"
#include "policies/gaussian.h"
#include "policies/registry.h"
#include "policies/torso.h"
#include "torch/script.h"
#include "torch/torch.h"

namespace rill::learner {
namespace {

torch::Tensor ActionsTensor(const policies::Policy& policy, const policies::PolicyOutput& out, int64_t batch) {
  // A Policy was made from a checked spec: its kind parses.
  if (policies::IsDiscrete(policies::KindOf(policy.spec()).value_or(policies::PolicyKind::kGaussian))) {
    return torch::from_blob(const_cast<int64_t*>(out.indices.data()), {batch}, torch::kInt64).clone();
  }
  return torch::from_blob(const_cast<float*>(out.actions.data()), {batch, policy.spec().action_dim()},
                          torch::kFloat32)
      .clone();
}

// TorchScript statements that read `out` ([B, outputs], the head) and
// set `action` to the deterministic action of a `kind` policy with
// `action_dim` actions; `self.low` and `self.high` hold the bounds of
// continuous ones.
std::string ScriptHead(policies::PolicyKind kind, int action_dim) {
  const std::string scale_to_bounds = "    action = self.low + (a + 1.0) * 0.5 * (self.high - self.low)\n";
  switch (kind) {
    case policies::PolicyKind::kCategorical:
      return "    action = torch.argmax(out, dim=1)\n";
    case policies::PolicyKind::kGaussian:
      return absl::StrCat("    a = torch.tanh(out[:, 0:", action_dim, "])\n", scale_to_bounds);
    case policies::PolicyKind::kDeterministic:
    case policies::PolicyKind::kPerAgent:  // refused by ToTorchScript
      break;
  }
  return absl::StrCat("    a = torch.tanh(out)\n", scale_to_bounds);
}

}  // namespace

torch::Tensor Act(policies::Policy& policy, const torch::Tensor& obs, bool deterministic) {
  const torch::Tensor input = obs.to(torch::kFloat32).contiguous();
  policies::PolicyOutput out;
  policy.Act(input.data_ptr<float>(), input.size(0), deterministic, &out);
  return ActionsTensor(policy, out, input.size(0));
}

absl::StatusOr<torch::Tensor> ActWithBehaviour(policies::Policy& policy, const torch::Tensor& obs, Behaviour* behaviour) {
  const torch::Tensor input = obs.to(torch::kFloat32).contiguous();
  const int64_t batch = input.size(0);
  policies::PolicyOutput out;
  RETURN_IF_ERROR(policy.ActWithBehaviour(input.data_ptr<float>(), batch, &out));
  behaviour->log_prob = torch::from_blob(out.log_prob.data(), {batch}, torch::kFloat32).clone();
  behaviour->distribution =
      torch::from_blob(out.distribution.data(), {batch, static_cast<int64_t>(out.distribution.size()) / batch},
                       torch::kFloat32)
          .clone();
  return ActionsTensor(policy, out, batch);
}

namespace {

// The TorchScript module of one policy as it is written: its forward's
// source, and the buffers it reads, taken from the policy's parameters in
// their order.
struct Script {
  const v1::PolicySpec& spec;
  const v1::ParameterSet& params;
  torch::jit::Module module{"RillPolicy"};
  std::string source;
  int next = 0;  // the next of params' tensors

  // The next parameter as the buffer `name`.
  absl::Status Take(const std::string& name) {
    ASSIGN_OR_RETURN(torch::Tensor tensor, ToTorch(params.tensors(next++).tensor()));
    module.register_buffer(name, tensor);
    return absl::OkStatus();
  }
  bool recurrent() const { return spec.lstm_size() > 0; }
  bool image() const { return spec.torso_size() > 0; }
};

// The forward's head and its checks: a wrong dtype or shape is refused by
// name, with what was given, rather than failing inside a matmul. Float
// policies take any float dtype (float64 from numpy, say), cast to
// float32; uint8 policies take integers only, as floats would leave it
// unclear whether they were scaled already.
void ScriptInput(Script& script) {
  const v1::PolicySpec& spec = script.spec;
  const bool bytes = spec.observation_dtype() == v1::DTYPE_UINT8;
  const bool image = script.image();
  const int64_t flat = spec.flat_dim();
  // One observation's shape (a Dict observation's image leaf), and how
  // many dimensions a batch of them has.
  const std::string one = image ? absl::StrCat("[", absl::StrJoin(spec.observation_shape(), ", "), "]")
                                : absl::StrCat("[", spec.obs_dim() - flat, "]");
  const std::string shapes = absl::StrCat("[B, ", one.substr(1), " or ", one);
  const int batch_dims = image ? 4 : 2;
  const int lstm_size = spec.lstm_size();
  std::string& source = script.source;
  const std::string flat_arg = flat > 0 ? "flat: Tensor, " : "";
  source = script.recurrent()
               ? absl::StrCat("def forward(self, obs: Tensor, ", flat_arg, "state: Tensor) -> Tuple[Tensor, Tensor]:\n")
               : absl::StrCat("def forward(self, obs: Tensor", flat > 0 ? ", flat: Tensor" : "", ") -> Tensor:\n");
  absl::StrAppend(&source, "    got = obs.size()\n");
  absl::StrAppend(&source, "    assert ", bytes ? "not " : "", "obs.is_floating_point(), 'this policy takes ",
                  bytes ? "uint8 observations " : "float observations ", shapes,
                  bytes ? " (pixels 0..255, scaled by 1/255 inside); got floats"
                        : " (float64 is cast to float32); got integers",
                  " of shape ' + str(got)\n");
  // One observation is a batch of one, and its action comes back alone.
  absl::StrAppend(&source, "    single = obs.dim() == ", batch_dims - 1, "\n",
                  "    if single:\n        obs = obs.unsqueeze(0)\n");
  std::string fits = absl::StrCat("obs.dim() == ", batch_dims);
  if (image) {
    for (int d = 0; d < 3; ++d) absl::StrAppend(&fits, " and obs.size(", d + 1, ") == ", spec.observation_shape(d));
  } else {
    absl::StrAppend(&fits, " and obs.size(1) == ", spec.obs_dim() - flat);
  }
  absl::StrAppend(&source, "    assert ", fits, ", 'this policy takes observations ", shapes, "; got ' + str(got)\n");
  if (flat > 0) {
    // A Dict observation's flat leaves, beside its image, row for row.
    absl::StrAppend(&source, "    flat_got = flat.size()\n", "    if flat.dim() == 1:\n        flat = flat.unsqueeze(0)\n",
                    "    assert flat.is_floating_point() and flat.dim() == 2 and flat.size(0) == obs.size(0) and ",
                    "flat.size(1) == ", flat, ", 'this policy takes the flat leaves of a Dict observation [B, ", flat,
                    "] (or [", flat, "] with one observation) beside its image; got ' + str(flat_got)\n");
  }
  if (script.recurrent()) {
    // The state's rank follows the caller's: [2N] comes back as [2N].
    absl::StrAppend(&source, "    state_got = state.size()\n", "    single_state = state.dim() == 1\n",
                    "    if single_state:\n        state = state.unsqueeze(0)\n",
                    "    assert state.is_floating_point() and state.dim() == 2",
                    " and state.size(0) == obs.size(0) and state.size(1) == ", 2 * lstm_size,
                    ", 'this policy takes a core state [B, ", 2 * lstm_size, "] (or [", 2 * lstm_size,
                    "] with one observation; h, then c; zeros at an episode start) with its observations; got '",
                    " + str(state_got) + ' with observations ' + str(got)\n");
  }
  absl::StrAppend(&source, bytes ? absl::StrFormat("    h = obs.float() * %.9g\n", envs::kUint8ObservationScale)
                                 : "    h = obs.float()\n");
}

// One image leaf's torso (`leaf` its index, naming its buffers): its
// layers on h, then the flattening.
absl::Status ScriptLeafTorso(Script& script, int leaf) {
  const std::vector<v1::TorsoLayer> layers(script.spec.torso().begin(), script.spec.torso().end());
  std::string& source = script.source;
  const std::string t = leaf == 0 ? "t" : absl::StrCat("i", leaf, "t");
  for (size_t l = 0; l < layers.size(); ++l) {
    const v1::TorsoLayer& layer = layers[l];
    const int64_t stride = policies::LayerStride(layer);
    switch (layer.kind()) {
      case v1::TorsoLayer::CONV:
        RETURN_IF_ERROR(script.Take(absl::StrCat(t, l, "w")));
        RETURN_IF_ERROR(script.Take(absl::StrCat(t, l, "b")));
        absl::StrAppend(&source, "    h = torch.conv2d(h, self.", t, l, "w, self.", t, l, "b, [", stride, ", ", stride,
                        "], [", layer.padding(), ", ", layer.padding(), "])\n");
        if (layer.relu()) absl::StrAppend(&source, "    h = torch.relu(h)\n");
        break;
      case v1::TorsoLayer::MAX_POOL:
        absl::StrAppend(&source, "    h = torch.max_pool2d(h, [", layer.kernel(), ", ", layer.kernel(), "], [",
                        stride, ", ", stride, "], [", layer.padding(), ", ", layer.padding(), "])\n");
        break;
      case v1::TorsoLayer::RESIDUAL:
        for (const char* conv : {"c0", "c1"}) {
          RETURN_IF_ERROR(script.Take(absl::StrCat(t, l, conv, "w")));
          RETURN_IF_ERROR(script.Take(absl::StrCat(t, l, conv, "b")));
        }
        absl::StrAppend(&source, "    r = torch.conv2d(torch.relu(h), self.", t, l, "c0w, self.", t, l,
                        "c0b, [1, 1], [1, 1])\n", "    h = h + torch.conv2d(torch.relu(r), self.", t, l,
                        "c1w, self.", t, l, "c1b, [1, 1], [1, 1])\n");
        break;
      case v1::TorsoLayer::RELU:
        absl::StrAppend(&source, "    h = torch.relu(h)\n");
        break;
      default:
        return absl::InvalidArgumentError(absl::StrCat("torso layer ", l, " has an unknown kind"));
    }
  }
  absl::StrAppend(&source, "    h = torch.flatten(h, 1)\n");
  return absl::OkStatus();
}

// The convolutional torso; with several image leaves
// (PolicySpec.image_channels), each leaf's torso on its channels, their
// features side by side.
absl::Status ScriptTorso(Script& script) {
  if (script.spec.image_channels_size() == 0) return ScriptLeafTorso(script, 0);
  std::string& source = script.source;
  absl::StrAppend(&source, "    image = h\n");
  std::vector<std::string> features;
  int64_t channel = 0;
  for (int k = 0; k < script.spec.image_channels_size(); ++k) {
    const int64_t c = script.spec.image_channels(k);
    absl::StrAppend(&source, "    h = image[:, ", channel, ":", channel + c, "]\n");
    RETURN_IF_ERROR(ScriptLeafTorso(script, k));
    absl::StrAppend(&source, "    f", k, " = h\n");
    features.push_back(absl::StrCat("f", k));
    channel += c;
  }
  absl::StrAppend(&source, "    h = torch.cat([", absl::StrJoin(features, ", "), "], 1)\n");
  return absl::OkStatus();
}

// h as l2(h) over its rows (policies/blas_hyperspherical.h's l2).
std::string ScriptL2(const std::string& v) {
  return absl::StrCat("    ", v, " = ", v, " / torch.clamp(torch.sqrt(torch.sum(", v, " * ", v, ", [1], True)), min=",
                      absl::StrFormat("%.9g", policies::kSphereNormEpsilon), ")\n");
}

// The hyperspherical network (spec.hyperspherical) from h to `out`.
absl::Status ScriptSphere(Script& script) {
  const v1::HypersphericalNet& sphere = script.spec.hyperspherical();
  std::string& source = script.source;
  for (const char* name : {"embed_w", "embed_s"}) RETURN_IF_ERROR(script.Take(name));
  absl::StrAppend(&source, "    h = torch.cat([h, torch.full([h.size(0), 1], ",
                  absl::StrFormat("%.9g", sphere.shift()), ", dtype=h.dtype)], 1)\n", ScriptL2("h"),
                  "    h = torch.mm(h, self.embed_w.t()) * self.embed_s\n", ScriptL2("h"));
  for (int b = 0; b < sphere.blocks(); ++b) {
    const std::string k = absl::StrCat("b", b);
    for (const char* name : {"_w1", "_s", "_w2", "_a"}) RETURN_IF_ERROR(script.Take(k + name));
    absl::StrAppend(&source, "    t = torch.relu(torch.mm(h, self.", k, "_w1.t()) * self.", k, "_s)\n",
                    "    t = torch.mm(t, self.", k, "_w2.t())\n", ScriptL2("t"), "    h = h + self.", k,
                    "_a * (t - h)\n", ScriptL2("h"));
  }
  for (const char* name : {"out_w", "out_s", "out_b"}) RETURN_IF_ERROR(script.Take(name));
  absl::StrAppend(&source, "    out = torch.mm(h, self.out_w.t()) * self.out_s + self.out_b\n");
  return absl::OkStatus();
}

// The trunk, the observation normaliser, the MLP and (recurrent) the
// LSTM's cell, up to the head's output `out`.
absl::Status ScriptBody(Script& script) {
  const v1::PolicySpec& spec = script.spec;
  std::string& source = script.source;
  const bool recurrent = script.recurrent();
  const int lstm_size = spec.lstm_size();
  if (spec.trunk_size() > 0) {
    // DrQ-v2's trunk: tanh(LayerNorm(W h + b)).
    for (const char* name : {"trunk_w", "trunk_b", "trunk_nw", "trunk_nb"}) RETURN_IF_ERROR(script.Take(name));
    absl::StrAppend(&source, "    h = torch.tanh(torch.layer_norm(torch.addmm(self.trunk_b, h, self.trunk_w.t()), [",
                    spec.trunk_size(), "], self.trunk_nw, self.trunk_nb, ",
                    absl::StrFormat("%.9g", policies::kTrunkNormEpsilon), "))\n");
    // A Dict observation's flat leaves beside the trunk's output.
    if (spec.flat_dim() > 0) absl::StrAppend(&source, "    h = torch.cat([h, flat.float()], 1)\n");
  }
  // Feed-forward: the hidden layers and the head, as layers of one MLP.
  // Recurrent: the hidden layers (all ReLU'd), the LSTM's three tensors
  // and the head's two.
  const int layers = spec.hidden_sizes_size() + (recurrent ? 0 : 1);
  const int mlp_first = script.next;
  // The network's tensors, before the normaliser's.
  const int network_tensors =
      spec.has_hyperspherical() ? 5 + 4 * spec.hyperspherical().blocks() : 2 * layers + (recurrent ? 5 : 0);
  if (spec.observation_clip() > 0) {
    script.next = mlp_first + network_tensors;
    RETURN_IF_ERROR(script.Take("obs_mean"));
    RETURN_IF_ERROR(script.Take("obs_std"));
    script.next = mlp_first;
    absl::StrAppend(&source, "    h = torch.clamp((h - self.obs_mean) / self.obs_std, ", -spec.observation_clip(),
                    ", ", spec.observation_clip(), ")\n");
  }
  if (spec.has_hyperspherical()) return ScriptSphere(script);
  for (int l = 0; l < layers; ++l) {
    RETURN_IF_ERROR(script.Take(absl::StrCat("w", l)));
    RETURN_IF_ERROR(script.Take(absl::StrCat("b", l)));
    if (l + 1 < layers || recurrent) {
      // The exact GELU (approximate="none"), as the learner's FlatMlp.
      absl::StrAppend(&source, spec.activation() == v1::GELU ? "    h = torch.gelu(" : "    h = torch.relu(",
                      "torch.addmm(self.b", l, ", h, self.w", l, ".t()))\n");
    } else {
      absl::StrAppend(&source, "    out = torch.addmm(self.b", l, ", h, self.w", l, ".t())\n");
    }
  }
  if (recurrent) {
    // torch.nn.LSTM's cell, gates in its order (i, f, g, o).
    for (const char* name : {"lstm_wih", "lstm_whh", "lstm_b", "head_w", "head_b"}) RETURN_IF_ERROR(script.Take(name));
    absl::StrAppend(&source, "    state = state.float()\n",
                    "    gates = torch.addmm(self.lstm_b, h, self.lstm_wih.t()) + torch.mm(state[:, 0:", lstm_size,
                    "], self.lstm_whh.t())\n", "    i, f, g, o = gates.chunk(4, 1)\n",
                    "    c = torch.sigmoid(f) * state[:, ", lstm_size, ":", 2 * lstm_size,
                    "] + torch.sigmoid(i) * torch.tanh(g)\n", "    h = torch.sigmoid(o) * torch.tanh(c)\n",
                    "    new_state = torch.cat([h, c], 1)\n",
                    "    out = torch.addmm(self.head_b, h, self.head_w.t())\n");
  }
  return absl::OkStatus();
}

// The action from the head's output, in env units, and the return.
absl::Status ScriptOutput(Script& script) {
  const v1::PolicySpec& spec = script.spec;
  ASSIGN_OR_RETURN(const policies::PolicyKind kind, policies::KindOf(spec));
  if (spec.action_low_size() > 0) {
    script.module.register_buffer(
        "low", torch::tensor(std::vector<float>(spec.action_low().begin(), spec.action_low().end())));
    script.module.register_buffer(
        "high", torch::tensor(std::vector<float>(spec.action_high().begin(), spec.action_high().end())));
  }
  if (spec.action_mask()) {
    // The env's mask, the observation's last action_dim elements (as the
    // actors read it: a forbidden action is never the argmax): a Dict
    // observation's the last of its flat leaves.
    const bool flat = spec.flat_dim() > 0;
    absl::StrAppend(&script.source, "    out = out.masked_fill(", flat ? "flat" : "obs", "[:, ",
                    (flat ? spec.flat_dim() : spec.obs_dim()) - spec.action_dim(), ":] <= 0, ",
                    absl::StrFormat("%.9g", policies::kMaskedLogit), ")\n");
  }
  script.source += ScriptHead(kind, spec.action_dim());
  absl::StrAppend(&script.source, "    if single:\n        action = action.squeeze(0)\n");
  if (script.recurrent()) {
    absl::StrAppend(&script.source, "    if single_state:\n        new_state = new_state.squeeze(0)\n",
                    "    return action, new_state\n");
  } else {
    absl::StrAppend(&script.source, "    return action\n");
  }
  return absl::OkStatus();
}

// A joint row's agents (PolicySpec.agents), as PerAgentPolicy acts: each
// agent's MLP on its slice of the row (its parameters in order, agent 0's
// first), a categorical agent's argmax as a one-hot, the agents' actions
// concatenated and mapped to the row's bounds.
absl::Status ScriptPerAgent(Script& script) {
  const v1::PolicySpec& spec = script.spec;
  std::string& source = script.source;
  absl::StrAppend(&source, "    row = h\n");
  std::vector<std::string> actions;
  int offset = 0;
  for (int k = 0; k < spec.agents_size(); ++k) {
    const v1::PolicySpec& agent = spec.agents(k);
    if (agent.lstm_size() > 0 || agent.torso_size() > 0 || agent.trunk_size() > 0 || agent.observation_clip() > 0 ||
        agent.has_hyperspherical()) {
      return absl::UnimplementedError(absl::StrCat("agents[", k, "]: only a feed-forward MLP agent exports"));
    }
    absl::StrAppend(&source, "    h = row[:, ", offset, ":", offset + agent.obs_dim(), "]\n");
    // A masked agent's mask: the last action_dim elements of its slice.
    const int mask_from = offset + agent.obs_dim() - agent.action_dim();
    offset += agent.obs_dim();
    const int layers = agent.hidden_sizes_size() + 1;
    for (int l = 0; l < layers; ++l) {
      const std::string w = absl::StrCat("a", k, "_w", l), b = absl::StrCat("a", k, "_b", l);
      RETURN_IF_ERROR(script.Take(w));
      RETURN_IF_ERROR(script.Take(b));
      const std::string linear = absl::StrCat("torch.addmm(self.", b, ", h, self.", w, ".t())");
      if (l + 1 < layers) {
        absl::StrAppend(&source, "    h = ", agent.activation() == v1::GELU ? "torch.gelu(" : "torch.relu(", linear,
                        ")\n");
      } else {
        absl::StrAppend(&source, "    out = ", linear, "\n");
      }
    }
    const std::string act = absl::StrCat("act", k);
    if (agent.action_mask()) {
      absl::StrAppend(&source, "    out = out.masked_fill(row[:, ", mask_from, ":", offset, "] <= 0, ",
                      absl::StrFormat("%.9g", policies::kMaskedLogit), ")\n");
    }
    if (agent.kind() == policies::PolicyKindName(policies::PolicyKind::kCategorical)) {
      absl::StrAppend(&source, "    ", act, " = torch.zeros([out.size(0), ", agent.action_dim(),
                      "], dtype=out.dtype).scatter(1, torch.argmax(out, dim=1).unsqueeze(1), 1.0)\n");
    } else {
      absl::StrAppend(&source, "    ", act, " = torch.tanh(out)\n");
    }
    actions.push_back(act);
  }
  script.module.register_buffer(
      "low", torch::tensor(std::vector<float>(spec.action_low().begin(), spec.action_low().end())));
  script.module.register_buffer(
      "high", torch::tensor(std::vector<float>(spec.action_high().begin(), spec.action_high().end())));
  absl::StrAppend(&source, "    a = torch.cat([", absl::StrJoin(actions, ", "), "], 1)\n",
                  "    action = self.low + (a + 1.0) * 0.5 * (self.high - self.low)\n",
                  "    if single:\n        action = action.squeeze(0)\n", "    return action\n");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<torch::jit::Module> ToTorchScript(const policies::Policy& policy) {
  ASSIGN_OR_RETURN(const v1::ParameterSet params, policy.ExportParameters());
  try {
    torch::NoGradGuard no_grad;
    Script script{policy.spec(), params};
    ScriptInput(script);
    if (policy.spec().kind() == policies::PolicyKindName(policies::PolicyKind::kPerAgent)) {
      RETURN_IF_ERROR(ScriptPerAgent(script));
      script.module.define(script.source);
      script.module.eval();
      return script.module;
    }
    if (script.image()) RETURN_IF_ERROR(ScriptTorso(script));
    // A Dict observation: the flat leaves beside the image's features.
    if (policy.spec().flat_dim() > 0 && policy.spec().trunk_size() == 0) absl::StrAppend(&script.source, "    h = torch.cat([h, flat.float()], 1)\n");
    RETURN_IF_ERROR(ScriptBody(script));
    RETURN_IF_ERROR(ScriptOutput(script));
    script.module.define(script.source);
    script.module.eval();
    return script.module;
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("cannot build the TorchScript policy: ", e.what_without_backtrace()));
  }
}

absl::Status ExportTorchScript(const v1::ParameterSet& params, const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<policies::Policy> policy, policies::PolicyFromParameters(params, /*seed=*/0));
  ASSIGN_OR_RETURN(torch::jit::Module module, ToTorchScript(*policy));
  try {
    module.save(path);
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("cannot write '", path, "': ", e.what_without_backtrace()));
  }
  return absl::OkStatus();
}

torch::Tensor MaskLogits(const torch::Tensor& logits, const torch::Tensor& obs) {
  const int64_t a = logits.size(-1);
  return logits.masked_fill(obs.narrow(-1, obs.size(-1) - a, a).le(0), policies::kMaskedLogit);
}

torch::Tensor SquashedGaussianLogProb(const torch::Tensor& mean, const torch::Tensor& log_std,
                                      const torch::Tensor& action) {
  constexpr double kHalfLog2Pi = 0.91893853320467274178;
  torch::Tensor u = torch::atanh(action.clamp(-policies::kSquashEdge, policies::kSquashEdge));
  torch::Tensor z = (u - mean) * torch::exp(-log_std);
  return (-0.5 * z * z - log_std - kHalfLog2Pi).sum(1);
}

}  // namespace rill::learner
