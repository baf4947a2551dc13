#include "policies/onnx_export.h"

#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "envs/observation.h"  // kUint8ObservationScale
#include "policies/blas_hyperspherical.h"  // kSphereNormEpsilon
#include "policies/registry.h"
#include "policies/spec.h"
#include "policies/torso.h"

namespace rill::policies {
namespace {

using onnx::AttributeProto;
using onnx::NodeProto;
using onnx::TensorProto;

// One attribute of a node.
struct Attribute {
  static Attribute Int(const std::string& name, int64_t value) { return {name, AttributeProto::INT, value, 0, {}}; }
  static Attribute Float(const std::string& name, float value) { return {name, AttributeProto::FLOAT, 0, value, {}}; }
  static Attribute Ints(const std::string& name, std::vector<int64_t> values) {
    return {name, AttributeProto::INTS, 0, 0, std::move(values)};
  }
  std::string name;
  AttributeProto::AttributeType type;
  int64_t i;
  float f;
  std::vector<int64_t> ints;
};

// The graph as it is written: nodes in order, each output a fresh name,
// constants as initializers.
class Graph {
 public:
  explicit Graph(onnx::GraphProto* graph) : graph_(graph) {}

  // A node of `op` on `inputs`; its first output's name. Nodes with
  // several outputs (Split) name them with Outputs.
  std::string Node(const std::string& op, const std::vector<std::string>& inputs,
                   const std::vector<Attribute>& attributes = {}, int outputs = 1) {
    NodeProto* node = graph_->add_node();
    node->set_op_type(op);
    node->set_name(absl::StrCat(op, "_", graph_->node_size()));
    for (const std::string& input : inputs) node->add_input(input);
    for (int k = 0; k < outputs; ++k) node->add_output(absl::StrCat("t", next_value_++));
    for (const Attribute& a : attributes) {
      AttributeProto* attribute = node->add_attribute();
      attribute->set_name(a.name);
      attribute->set_type(a.type);
      if (a.type == AttributeProto::INT) attribute->set_i(a.i);
      if (a.type == AttributeProto::FLOAT) attribute->set_f(a.f);
      for (int64_t v : a.ints) attribute->add_ints(v);
    }
    return node->output(0);
  }
  // The outputs of the last node.
  std::vector<std::string> Outputs() const {
    const NodeProto& node = graph_->node(graph_->node_size() - 1);
    return {node.output().begin(), node.output().end()};
  }
  // Renames the last node's output `k` to `name` (a graph output).
  void NameOutput(int k, const std::string& name) {
    graph_->mutable_node(graph_->node_size() - 1)->set_output(k, name);
  }

  // A float32 constant of `dims`, its elements `data` (row-major).
  std::string Floats(const std::string& name, std::vector<int64_t> dims, const void* data, int64_t count) {
    TensorProto* tensor = Initializer(name, TensorProto::FLOAT, dims);
    tensor->set_raw_data(data, static_cast<size_t>(count) * sizeof(float));
    return name;
  }
  std::string Scalar(float value) {
    return Floats(absl::StrCat("c", next_constant_++), {}, &value, 1);
  }
  // An int64 vector constant (Slice's starts and ends, Pad's pads).
  std::string Int64s(const std::vector<int64_t>& values) {
    TensorProto* tensor =
        Initializer(absl::StrCat("c", next_constant_++), TensorProto::INT64, {static_cast<int64_t>(values.size())});
    tensor->set_raw_data(values.data(), values.size() * sizeof(int64_t));
    return tensor->name();
  }

  // x[:, begin:end] along `axis`.
  std::string Slice(const std::string& x, int64_t begin, int64_t end, int64_t axis = 1) {
    return Node("Slice", {x, Int64s({begin}), Int64s({end}), Int64s({axis})});
  }
  // x W^T + b (b may be empty): torch.addmm(b, x, W.t()).
  std::string Linear(const std::string& x, const std::string& w, const std::string& b = "") {
    std::vector<std::string> inputs = {x, w};
    if (!b.empty()) inputs.push_back(b);
    return Node("Gemm", inputs, {Attribute::Int("transB", 1)});
  }
  // The exact GELU, x * Phi(x) = 0.5 x (1 + erf(x / sqrt(2))): opset 17
  // has Erf, not Gelu (opset 20).
  std::string Gelu(const std::string& x) {
    const std::string erf = Node("Erf", {Node("Mul", {x, Scalar(0.70710678118654752f)})});
    return Node("Mul", {Node("Mul", {x, Scalar(0.5f)}), Node("Add", {erf, Scalar(1)})});
  }
  // v / max(|v|, kSphereNormEpsilon) per row (policies/blas_hyperspherical.h).
  std::string L2(const std::string& v) {
    const std::string norm = Node("ReduceL2", {v}, {Attribute::Ints("axes", {1}), Attribute::Int("keepdims", 1)});
    return Node("Div", {v, Node("Max", {norm, Scalar(static_cast<float>(kSphereNormEpsilon))})});
  }

 private:
  TensorProto* Initializer(const std::string& name, TensorProto::DataType type, const std::vector<int64_t>& dims) {
    TensorProto* tensor = graph_->add_initializer();
    tensor->set_name(name);
    tensor->set_data_type(type);
    for (int64_t d : dims) tensor->add_dims(d);
    return tensor;
  }

  onnx::GraphProto* const graph_;
  int next_value_ = 0;
  int next_constant_ = 0;
};

// The model of one policy as it is written, taking the parameters in their
// order as learner/torch_policy.cc's Script does.
struct Writer {
  const v1::PolicySpec& spec;
  const v1::ParameterSet& params;
  Graph& graph;
  int next = 0;  // the next of params' tensors
  std::string obs = "obs";
  // Before every initializer's name: a joint row's agent's ("agent_0.").
  std::string prefix;
  std::string h;  // the value the network has reached

  // The next parameter as the initializer `name`.
  absl::StatusOr<std::string> Take(const std::string& name) {
    if (next >= params.tensors_size()) {
      return absl::InvalidArgumentError(absl::StrCat("the parameters end before '", name, "'"));
    }
    const v1::NamedTensor& named = params.tensors(next++);
    const v1::Tensor& tensor = named.tensor();
    int64_t count = 1;
    for (int64_t d : tensor.shape()) count *= d;
    if (tensor.dtype() != v1::DTYPE_FLOAT32 || tensor.data().size() != static_cast<size_t>(count) * sizeof(float)) {
      return absl::InvalidArgumentError(
          absl::StrCat("parameter '", named.name(), "' is not a float32 tensor of its shape"));
    }
    return graph.Floats(prefix + name, {tensor.shape().begin(), tensor.shape().end()}, tensor.data().data(), count);
  }
  bool recurrent() const { return spec.lstm_size() > 0; }
  bool image() const { return spec.torso_size() > 0; }
};

void Signature(const v1::PolicySpec& spec, onnx::GraphProto* graph) {
  auto add = [](google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>* values, const std::string& name,
                TensorProto::DataType type, const std::vector<int64_t>& dims, const std::string& doc) {
    onnx::ValueInfoProto* value = values->Add();
    value->set_name(name);
    value->set_doc_string(doc);
    onnx::TypeProto::Tensor* tensor = value->mutable_type()->mutable_tensor_type();
    tensor->set_elem_type(type);
    tensor->mutable_shape()->add_dim()->set_dim_param("batch");
    for (int64_t d : dims) tensor->mutable_shape()->add_dim()->set_dim_value(d);
  };
  const bool image = spec.torso_size() > 0;
  const bool bytes = spec.observation_dtype() == v1::DTYPE_UINT8;
  const int64_t state = 2 * static_cast<int64_t>(spec.lstm_size());
  const int64_t flat = spec.flat_dim();
  add(graph->mutable_input(), "obs", bytes ? TensorProto::UINT8 : TensorProto::FLOAT,
      image ? std::vector<int64_t>(spec.observation_shape().begin(), spec.observation_shape().end())
            : std::vector<int64_t>{spec.obs_dim() - flat},
      absl::StrCat(bytes ? "the env's observations, uint8 (pixels 0..255, scaled by 1/255 inside)"
                         : "the env's observations",
                   flat > 0 ? ": a Dict observation's image leaf" : ""));
  if (flat > 0) {
    add(graph->mutable_input(), "flat", TensorProto::FLOAT, {flat},
        "a Dict observation's flat leaves, float32, flattened one after another in the env's row order");
  }
  if (state > 0) {
    add(graph->mutable_input(), "state", TensorProto::FLOAT, {state},
        "the core state: h, then c; zeros at an episode's first step");
  }
  const bool discrete = spec.kind() == PolicyKindName(PolicyKind::kCategorical);
  add(graph->mutable_output(), "action", discrete ? TensorProto::INT64 : TensorProto::FLOAT,
      discrete ? std::vector<int64_t>{} : std::vector<int64_t>{spec.action_dim()},
      discrete ? "the action's index" : "the action in the env's units");
  if (state > 0) add(graph->mutable_output(), "new_state", TensorProto::FLOAT, {state}, "the state after this step");
}

void Input(Writer& w) {
  if (w.spec.observation_dtype() == v1::DTYPE_UINT8) {
    w.h = w.graph.Node("Mul", {w.graph.Node("Cast", {w.obs}, {Attribute::Int("to", TensorProto::FLOAT)}),
                               w.graph.Scalar(envs::kUint8ObservationScale)});
  } else {
    w.h = w.obs;
  }
}

// One image leaf's torso (`leaf` its index, naming its initializers) on
// w.h, flattened.
absl::Status LeafTorso(Writer& w, int leaf) {
  Graph& g = w.graph;
  // A convolution whose weight is the next parameter (its kernel is the
  // weight's, as ONNX infers it).
  auto conv = [&](const std::string& x, const std::string& name, int64_t stride,
                  int64_t padding) -> absl::StatusOr<std::string> {
    ASSIGN_OR_RETURN(const std::string weight, w.Take(name + "w"));
    ASSIGN_OR_RETURN(const std::string bias, w.Take(name + "b"));
    return g.Node("Conv", {x, weight, bias},
                  {Attribute::Ints("strides", {stride, stride}),
                   Attribute::Ints("pads", {padding, padding, padding, padding})});
  };
  for (int l = 0; l < w.spec.torso_size(); ++l) {
    const v1::TorsoLayer& layer = w.spec.torso(l);
    const int64_t stride = LayerStride(layer);
    const std::string name = leaf == 0 ? absl::StrCat("t", l) : absl::StrCat("i", leaf, "t", l);
    switch (layer.kind()) {
      case v1::TorsoLayer::CONV: {
        ASSIGN_OR_RETURN(w.h, conv(w.h, name, stride, layer.padding()));
        if (layer.relu()) w.h = g.Node("Relu", {w.h});
        break;
      }
      case v1::TorsoLayer::MAX_POOL:
        w.h = g.Node("MaxPool", {w.h},
                     {Attribute::Ints("kernel_shape", {layer.kernel(), layer.kernel()}),
                      Attribute::Ints("strides", {stride, stride}),
                      Attribute::Ints("pads", {layer.padding(), layer.padding(), layer.padding(), layer.padding()})});
        break;
      case v1::TorsoLayer::RESIDUAL: {
        ASSIGN_OR_RETURN(const std::string r, conv(g.Node("Relu", {w.h}), name + "c0", 1, 1));
        ASSIGN_OR_RETURN(const std::string s, conv(g.Node("Relu", {r}), name + "c1", 1, 1));
        w.h = g.Node("Add", {w.h, s});
        break;
      }
      case v1::TorsoLayer::RELU:
        w.h = g.Node("Relu", {w.h});
        break;
      default:
        return absl::InvalidArgumentError(absl::StrCat("torso layer ", l, " has an unknown kind"));
    }
  }
  w.h = g.Node("Flatten", {w.h}, {Attribute::Int("axis", 1)});
  return absl::OkStatus();
}

// The torso on the image; with several image leaves
// (PolicySpec.image_channels), each leaf's torso on its channels, their
// features side by side.
absl::Status Torso(Writer& w) {
  if (w.spec.image_channels_size() == 0) return LeafTorso(w, 0);
  Graph& g = w.graph;
  const std::string image = w.h;
  std::vector<std::string> features;
  int64_t channel = 0;
  for (int k = 0; k < w.spec.image_channels_size(); ++k) {
    const int64_t c = w.spec.image_channels(k);
    w.h = g.Slice(image, channel, channel + c);
    RETURN_IF_ERROR(LeafTorso(w, k));
    features.push_back(w.h);
    channel += c;
  }
  w.h = g.Node("Concat", features, {Attribute::Int("axis", 1)});
  return absl::OkStatus();
}

// The hyperspherical network (spec.hyperspherical) from h to the head's
// output.
absl::Status Sphere(Writer& w) {
  Graph& g = w.graph;
  const v1::HypersphericalNet& sphere = w.spec.hyperspherical();
  ASSIGN_OR_RETURN(const std::string embed_w, w.Take("embed_w"));
  ASSIGN_OR_RETURN(const std::string embed_s, w.Take("embed_s"));
  // [h, shift] as one more column.
  w.h = g.L2(g.Node("Pad", {w.h, g.Int64s({0, 0, 0, 1}), g.Scalar(sphere.shift())}));
  w.h = g.L2(g.Node("Mul", {g.Linear(w.h, embed_w), embed_s}));
  for (int b = 0; b < sphere.blocks(); ++b) {
    const std::string k = absl::StrCat("b", b);
    ASSIGN_OR_RETURN(const std::string w1, w.Take(k + "_w1"));
    ASSIGN_OR_RETURN(const std::string scaler, w.Take(k + "_s"));
    ASSIGN_OR_RETURN(const std::string w2, w.Take(k + "_w2"));
    ASSIGN_OR_RETURN(const std::string alpha, w.Take(k + "_a"));
    std::string t = g.Node("Relu", {g.Node("Mul", {g.Linear(w.h, w1), scaler})});
    t = g.L2(g.Linear(t, w2));
    w.h = g.L2(g.Node("Add", {w.h, g.Node("Mul", {alpha, g.Node("Sub", {t, w.h})})}));
  }
  ASSIGN_OR_RETURN(const std::string out_w, w.Take("out_w"));
  ASSIGN_OR_RETURN(const std::string out_s, w.Take("out_s"));
  ASSIGN_OR_RETURN(const std::string out_b, w.Take("out_b"));
  w.h = g.Node("Add", {g.Node("Mul", {g.Linear(w.h, out_w), out_s}), out_b});
  return absl::OkStatus();
}

// torch.nn.LSTM's cell on h and the "state" input, gates in its order
// (i, f, g, o); the new state is the graph's "new_state".
absl::Status Lstm(Writer& w) {
  Graph& g = w.graph;
  const int64_t n = w.spec.lstm_size();
  ASSIGN_OR_RETURN(const std::string wih, w.Take("lstm_wih"));
  ASSIGN_OR_RETURN(const std::string whh, w.Take("lstm_whh"));
  ASSIGN_OR_RETURN(const std::string bias, w.Take("lstm_b"));
  const std::string h0 = g.Slice("state", 0, n);
  const std::string c0 = g.Slice("state", n, 2 * n);
  const std::string gates = g.Node("Add", {g.Linear(w.h, wih, bias), g.Linear(h0, whh)});
  g.Node("Split", {gates}, {Attribute::Int("axis", 1)}, /*outputs=*/4);
  const std::vector<std::string> igfo = g.Outputs();
  const std::string c = g.Node("Add", {g.Node("Mul", {g.Node("Sigmoid", {igfo[1]}), c0}),
                                       g.Node("Mul", {g.Node("Sigmoid", {igfo[0]}), g.Node("Tanh", {igfo[2]})})});
  w.h = g.Node("Mul", {g.Node("Sigmoid", {igfo[3]}), g.Node("Tanh", {c})});
  g.Node("Concat", {w.h, c}, {Attribute::Int("axis", 1)});
  g.NameOutput(0, "new_state");
  ASSIGN_OR_RETURN(const std::string head_w, w.Take("head_w"));
  ASSIGN_OR_RETURN(const std::string head_b, w.Take("head_b"));
  w.h = g.Linear(w.h, head_w, head_b);
  return absl::OkStatus();
}

// The trunk, the observation normaliser, then the MLP (and the LSTM) or the
// hyperspherical network, up to the head's output.
absl::Status Body(Writer& w) {
  Graph& g = w.graph;
  const v1::PolicySpec& spec = w.spec;
  if (spec.trunk_size() > 0) {
    ASSIGN_OR_RETURN(const std::string weight, w.Take("trunk_w"));
    ASSIGN_OR_RETURN(const std::string bias, w.Take("trunk_b"));
    ASSIGN_OR_RETURN(const std::string scale, w.Take("trunk_nw"));
    ASSIGN_OR_RETURN(const std::string shift, w.Take("trunk_nb"));
    w.h = g.Node("Tanh", {g.Node("LayerNormalization", {g.Linear(w.h, weight, bias), scale, shift},
                                 {Attribute::Int("axis", -1),
                                  Attribute::Float("epsilon", static_cast<float>(kTrunkNormEpsilon))})});
    // A Dict observation's flat leaves beside the trunk's output.
    if (spec.flat_dim() > 0) w.h = g.Node("Concat", {w.h, "flat"}, {Attribute::Int("axis", 1)});
  }
  const bool recurrent = w.recurrent();
  const int layers = spec.hidden_sizes_size() + (recurrent ? 0 : 1);
  const int network_first = w.next;
  const int network_tensors =
      spec.has_hyperspherical() ? 5 + 4 * spec.hyperspherical().blocks() : 2 * layers + (recurrent ? 5 : 0);
  if (spec.observation_clip() > 0) {
    // The normaliser's statistics are the set's last two tensors.
    w.next = network_first + network_tensors;
    ASSIGN_OR_RETURN(const std::string mean, w.Take("obs_mean"));
    ASSIGN_OR_RETURN(const std::string std, w.Take("obs_std"));
    w.next = network_first;
    w.h = g.Node("Clip", {g.Node("Div", {g.Node("Sub", {w.h, mean}), std}), g.Scalar(-spec.observation_clip()),
                          g.Scalar(spec.observation_clip())});
  }
  if (spec.has_hyperspherical()) return Sphere(w);
  for (int l = 0; l < layers; ++l) {
    ASSIGN_OR_RETURN(const std::string weight, w.Take(absl::StrCat("w", l)));
    ASSIGN_OR_RETURN(const std::string bias, w.Take(absl::StrCat("b", l)));
    w.h = g.Linear(w.h, weight, bias);
    if (l + 1 < layers || recurrent) w.h = spec.activation() == v1::GELU ? g.Gelu(w.h) : g.Node("Relu", {w.h});
  }
  if (recurrent) return Lstm(w);
  return absl::OkStatus();
}

// The deterministic action from the head's output: a categorical policy's
// index ([batch] int64, the argmax the mask allows), a continuous one's
// action in the policy's units ([batch, n] in [-1, 1]).
absl::StatusOr<std::string> Act(Writer& w) {
  Graph& g = w.graph;
  const v1::PolicySpec& spec = w.spec;
  ASSIGN_OR_RETURN(const PolicyKind kind, KindOf(spec));
  if (kind == PolicyKind::kCategorical) {
    if (spec.action_mask()) {
      // The env's mask, the observation's last action_dim elements, as the
      // actors read it: an action whose element is not above 0 is never the
      // argmax while another is allowed.
      // A Dict observation's: the last of its flat leaves (float32).
      const bool flat = spec.flat_dim() > 0;
      const std::string mask = flat ? g.Slice("flat", spec.flat_dim() - spec.action_dim(), spec.flat_dim())
                                    : g.Slice(w.obs, spec.obs_dim() - spec.action_dim(), spec.obs_dim());
      const std::string zero = spec.observation_dtype() == v1::DTYPE_UINT8 && !flat
                                   ? g.Node("Cast", {g.Scalar(0)}, {Attribute::Int("to", TensorProto::UINT8)})
                                   : g.Scalar(0);
      w.h = g.Node("Where", {g.Node("LessOrEqual", {mask, zero}), g.Scalar(kMaskedLogit), w.h});
    }
    return g.Node("ArgMax", {w.h}, {Attribute::Int("axis", 1), Attribute::Int("keepdims", 0)});
  }
  return g.Node("Tanh", {kind == PolicyKind::kGaussian ? g.Slice(w.h, 0, spec.action_dim()) : w.h});
}

// The graph's "action": `a` in the policy's units mapped to `spec`'s
// bounds, low + (a + 1) * 0.5 * (high - low) in torch's order of operations.
void EnvUnits(Graph& g, const v1::PolicySpec& spec, const std::string& a) {
  const int64_t n = spec.action_dim();
  std::vector<float> range(n);
  for (int64_t k = 0; k < n; ++k) range[k] = spec.action_high(k) - spec.action_low(k);
  const std::string low = g.Floats("low", {n}, spec.action_low().data(), n);
  const std::string span = g.Floats("range", {n}, range.data(), n);
  g.Node("Add", {low, g.Node("Mul", {g.Node("Mul", {g.Node("Add", {a, g.Scalar(1)}), g.Scalar(0.5f)}), span})});
  g.NameOutput(0, "action");
}

// A joint row's agents (PolicySpec.agents), as PerAgentPolicy acts: each
// agent's network on its slice of the row's observation, a categorical
// agent's index as a one-hot, the agents' actions concatenated and mapped
// to the row's bounds (-1 / 1 for one-hot entries: unchanged).
absl::Status PerAgent(const v1::PolicySpec& spec, const v1::ParameterSet& params, Graph& g) {
  std::vector<std::string> actions;
  int64_t offset = 0;
  for (int k = 0; k < spec.agents_size(); ++k) {
    const v1::PolicySpec& agent = spec.agents(k);
    const std::string prefix = absl::StrCat("agent_", k, ".");
    v1::ParameterSet own;
    for (const v1::NamedTensor& tensor : params.tensors()) {
      if (absl::StartsWith(tensor.name(), prefix)) *own.add_tensors() = tensor;
    }
    Writer writer{agent, own, g};
    writer.obs = g.Slice("obs", offset, offset + agent.obs_dim());
    writer.prefix = prefix;
    offset += agent.obs_dim();
    Input(writer);
    RETURN_IF_ERROR(Body(writer));
    ASSIGN_OR_RETURN(std::string action, Act(writer));
    if (agent.kind() == PolicyKindName(PolicyKind::kCategorical)) {
      const float off_on[2] = {0.f, 1.f};
      action = g.Node("OneHot", {action, g.Int64s({agent.action_dim()}), g.Floats(prefix + "off_on", {2}, off_on, 2)},
                      {Attribute::Int("axis", -1)});
    }
    actions.push_back(action);
  }
  EnvUnits(g, spec, g.Node("Concat", actions, {Attribute::Int("axis", 1)}));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<onnx::ModelProto> ToOnnx(const v1::ParameterSet& params) {
  ASSIGN_OR_RETURN(std::unique_ptr<Policy> policy, PolicyFromParameters(params, /*seed=*/0));
  const v1::PolicySpec& spec = policy->spec();
  ASSIGN_OR_RETURN(const v1::ParameterSet canonical, policy->ExportParameters());
  onnx::ModelProto model;
  model.set_ir_version(kOnnxIrVersion);
  onnx::OperatorSetIdProto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOnnxOpset);
  model.set_producer_name("rill");
  model.set_doc_string(absl::StrCat("the deterministic ", spec.kind(), " policy of a Rill learner"));
  onnx::StringStringEntryProto* kind = model.add_metadata_props();
  kind->set_key("rill.policy.kind");
  kind->set_value(spec.kind());
  onnx::GraphProto* graph_proto = model.mutable_graph();
  graph_proto->set_name("rill_policy");
  Signature(spec, graph_proto);
  Graph graph(graph_proto);
  if (spec.kind() == PolicyKindName(PolicyKind::kPerAgent)) {
    RETURN_IF_ERROR(PerAgent(spec, canonical, graph));
    return model;
  }
  Writer writer{spec, canonical, graph};
  Input(writer);
  if (writer.image()) RETURN_IF_ERROR(Torso(writer));
  // A Dict observation: the flat leaves beside the image's features (after
  // the trunk when there is one: Body).
  if (spec.flat_dim() > 0 && spec.trunk_size() == 0) writer.h = graph.Node("Concat", {writer.h, "flat"}, {Attribute::Int("axis", 1)});
  RETURN_IF_ERROR(Body(writer));
  ASSIGN_OR_RETURN(const std::string action, Act(writer));
  if (spec.kind() == PolicyKindName(PolicyKind::kCategorical)) {
    graph.NameOutput(0, "action");  // the ArgMax's
  } else {
    EnvUnits(graph, spec, action);
  }
  return model;
}

absl::Status ExportOnnx(const v1::ParameterSet& params, const std::string& path) {
  ASSIGN_OR_RETURN(const onnx::ModelProto model, ToOnnx(params));
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out || !model.SerializeToOstream(&out) || !out.flush()) {
    return absl::InternalError(absl::StrCat("cannot write '", path, "'"));
  }
  return absl::OkStatus();
}

}  // namespace rill::policies
