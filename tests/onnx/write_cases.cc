// write_cases OUT_DIR: one folder per policy kind under OUT_DIR, each with
// the policy's ONNX model (policies/onnx_export.h), 1,000 observations (and
// core states for recurrent policies), and the deterministic actions of the
// same policy by the actors' own forward ("rill": BLAS, oneDNN) and by its
// TorchScript export ("torchscript"), for tests/onnx/run.sh to run the model
// under ONNX Runtime and compare. case.json says what each file holds.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "envs/observation.h"
#include "envs/spec.h"
#include "learner/torch_policy.h"
#include "policies/onnx_export.h"
#include "policies/registry.h"
#include "policies/spec.h"
#include "policies/torso.h"
#include "torch/script.h"

namespace rill::testing::onnx {
namespace {

constexpr int64_t kRows = 1000;
// Two discrete actions whose probabilities are closer than this are a tie:
// either index is right.
constexpr double kTieGap = 1e-5;

struct Case {
  std::string name;
  v1::ParameterSet params;
  // Observation values: images draw bytes 0..255; flat observations draw
  // N(0, scale^2), the last mask_size of them 0 or 1.
  float scale = 3;
  int mask_size = 0;
};

v1::PolicySpec Flat(const std::string& kind, int obs_dim, int action_dim) {
  v1::PolicySpec spec;
  spec.set_kind(kind);
  spec.set_obs_dim(obs_dim);
  spec.set_action_dim(action_dim);
  spec.add_hidden_sizes(64);
  spec.add_hidden_sizes(64);
  if (kind != "categorical") {
    for (int i = 0; i < action_dim; ++i) {
      spec.add_action_low(-2.f - i);  // asymmetric bounds
      spec.add_action_high(i == action_dim - 1 ? 0.5f : 2.f + i);
    }
  }
  return spec;
}

v1::ParameterSet Parameters(const v1::PolicySpec& spec, uint64_t seed) {
  absl::StatusOr<std::unique_ptr<policies::Policy>> policy = policies::MakePolicy(spec, seed);
  if (!policy.ok()) {
    std::fprintf(stderr, "write_cases: %s\n", std::string(policy.status().message()).c_str());
    std::exit(1);
  }
  return *(*policy)->ExportParameters();
}

// The normaliser's statistics appended, as a learner with
// observation_clip publishes them.
v1::ParameterSet Normalized(v1::ParameterSet params, float clip) {
  const int n = params.policy().obs_dim();
  for (const char* name : {policies::kObsNormMeanName, policies::kObsNormStdName}) {
    std::vector<float> values(n);
    for (int k = 0; k < n; ++k) values[k] = name == policies::kObsNormMeanName ? 0.7f * k - 1 : 0.3f + 0.5f * k;
    v1::NamedTensor* tensor = params.add_tensors();
    tensor->set_name(name);
    tensor->mutable_tensor()->set_dtype(v1::DTYPE_FLOAT32);
    tensor->mutable_tensor()->add_shape(n);
    tensor->mutable_tensor()->set_data(values.data(), values.size() * sizeof(float));
  }
  params.mutable_policy()->set_observation_clip(clip);
  return params;
}

v1::ParameterSet Image(const std::string& kind, const std::vector<v1::TorsoLayer>& torso, std::vector<int64_t> shape,
                       int trunk, uint64_t seed, int flat_dim = 0, const std::vector<int64_t>& image_channels = {}) {
  envs::EnvSpec env;
  env.name = "image";
  env.observation_shape = shape;
  // Several image leaves of the shape's height and width (a torso each).
  for (const int64_t c : image_channels) {
    env.observation_leaves.push_back({absl::StrCat("image", c), {c, shape[1], shape[2]}, envs::ObservationType::kUint8});
  }
  env.observation_type = envs::ObservationType::kUint8;
  env.flat_dim = flat_dim;  // a Dict observation's flat leaves beside the image
  env.discrete = kind == "categorical";
  env.num_actions = 6;
  env.action_low = {-1.f, 0.f};
  env.action_high = {1.f, 3.f};
  v1::PolicySpec spec = policies::PolicySpecFor(kind, env, {32});
  if (absl::Status set = policies::SetTorso(env, torso, &spec); !set.ok()) {
    std::fprintf(stderr, "write_cases: %s\n", std::string(set.message()).c_str());
    std::exit(1);
  }
  spec.set_trunk_size(trunk);
  return Parameters(spec, seed);
}

// Dict observations (PolicySpec.flat_dim): an image leaf through a
// torso beside 9 flat floats that end in the mask of its 6 actions, an
// image leaf without a torso (flattened) beside 3, and two image leaves
// (1 and 2 channels, a torso each) beside 2; and DrQ-v2's trunk with 3
// flat leaves beside its output.
void AddDictCases(std::vector<Case>* cases) {
  v1::ParameterSet dict_masked =
      Image("categorical", policies::MinAtarCnnLayers(), {2, 8, 8}, 0, 13, /*flat_dim=*/9);
  dict_masked.mutable_policy()->set_action_mask(true);
  cases->push_back({"categorical_dict_torso_masked", dict_masked, 3, 6});
  cases->push_back({"gaussian_dict_flat", Image("gaussian", {}, {1, 4, 4}, 0, 14, /*flat_dim=*/3)});
  v1::ParameterSet trunk_flat = Image("deterministic", policies::MinAtarCnnLayers(), {1, 9, 9}, /*trunk=*/6, 16,
                                           /*flat_dim=*/3);
  cases->push_back({"deterministic_dict_trunk", trunk_flat});
  cases->push_back({"categorical_dict_two_images",
                    Image("categorical", policies::MinAtarCnnLayers(), {3, 8, 8}, 0, 15, /*flat_dim=*/2, {1, 2})});
}

std::vector<Case> Cases() {
  std::vector<Case> cases;
  cases.push_back({"gaussian_mlp", Parameters(Flat("gaussian", 11, 3), 1)});
  cases.push_back({"deterministic_mlp", Parameters(Flat("deterministic", 11, 3), 2)});
  cases.push_back({"categorical_mlp", Parameters(Flat("categorical", 11, 4), 3)});
  v1::PolicySpec masked = Flat("categorical", 12, 5);
  masked.set_action_mask(true);
  cases.push_back({"categorical_masked", Parameters(masked, 4), 3, 5});
  cases.push_back({"gaussian_normalized", Normalized(Parameters(Flat("gaussian", 11, 3), 5), 4), 20});
  cases.push_back({"gaussian_image_trunk",
                   Image("gaussian", policies::MinAtarCnnLayers(), {4, 10, 10}, /*trunk=*/16, 6)});
  cases.push_back({"categorical_image_resnet", Image("categorical", policies::ImpalaResnetLayers(), {3, 20, 20}, 0, 7)});
  AddDictCases(&cases);
  for (const char* kind : {"gaussian", "categorical"}) {
    v1::PolicySpec recurrent = Flat(kind, 11, 3);
    recurrent.set_lstm_size(32);
    cases.push_back({absl::StrCat(kind, "_lstm"), Normalized(Parameters(recurrent, 8), 5)});
  }
  // A joint row of two agents (MADDPG's per_agent): a discrete one, whose
  // action is a one-hot, and a continuous one with GELU layers.
  v1::PolicySpec joint;
  joint.set_kind("per_agent");
  *joint.add_agents() = Flat("categorical", 6, 4);
  v1::PolicySpec continuous = Flat("deterministic", 5, 2);
  continuous.set_activation(v1::GELU);
  *joint.add_agents() = continuous;
  joint.set_obs_dim(11);
  joint.set_action_dim(6);
  for (int k = 0; k < 6; ++k) {
    joint.add_action_low(k < 4 ? -1.f : continuous.action_low(k - 4));
    joint.add_action_high(k < 4 ? 1.f : continuous.action_high(k - 4));
  }
  cases.push_back({"per_agent_joint", Parameters(joint, 11)});
  // The same kinds with the discrete agent last and masked: its mask ends
  // the row (MADDPG's joint rows keep each agent's mask in its slice).
  v1::PolicySpec masked_joint;
  masked_joint.set_kind("per_agent");
  *masked_joint.add_agents() = continuous;
  v1::PolicySpec picker = Flat("categorical", 7, 4);
  picker.set_action_mask(true);
  *masked_joint.add_agents() = picker;
  masked_joint.set_obs_dim(12);
  masked_joint.set_action_dim(6);
  for (int k = 0; k < 6; ++k) {
    masked_joint.add_action_low(k < 2 ? continuous.action_low(k) : -1.f);
    masked_joint.add_action_high(k < 2 ? continuous.action_high(k) : 1.f);
  }
  cases.push_back({"per_agent_joint_masked", Parameters(masked_joint, 12), 3, 4});
  v1::PolicySpec gelu = Flat("gaussian", 11, 3);
  gelu.set_activation(v1::GELU);
  cases.push_back({"gaussian_gelu", Normalized(Parameters(gelu, 10), 5), 5});
  v1::PolicySpec sphere = Flat("gaussian", 11, 3);
  sphere.clear_hidden_sizes();
  sphere.add_hidden_sizes(64);
  sphere.mutable_hyperspherical()->set_blocks(2);
  sphere.mutable_hyperspherical()->set_shift(3);
  cases.push_back({"gaussian_hyperspherical", Parameters(sphere, 9)});
  return cases;
}

void WriteBytes(const std::string& path, const void* data, size_t bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
  if (!out) {
    std::fprintf(stderr, "write_cases: cannot write %s\n", path.c_str());
    std::exit(1);
  }
}

std::string Tensor(const std::string& name, const std::string& dtype, const std::vector<int64_t>& shape,
                   const std::string& file) {
  return absl::StrCat("{\"name\": \"", name, "\", \"dtype\": \"", dtype, "\", \"shape\": [",
                      absl::StrJoin(shape, ", "), "], \"file\": \"", file, "\"}");
}

std::string Output(const std::string& name, const std::string& dtype, const std::vector<int64_t>& shape,
                   const std::string& stem) {
  return absl::StrCat("{\"name\": \"", name, "\", \"dtype\": \"", dtype, "\", \"shape\": [",
                      absl::StrJoin(shape, ", "), "], \"tolerance\": 1e-4, \"expected\": {\"rill\": \"", stem,
                      ".rill.bin\", \"torchscript\": \"", stem, ".torchscript.bin\"}}");
}

// One case's inputs: the env's observations as the model takes them
// (pixels for an image policy) and as floats the actors' forward takes
// (images scaled by 1/255, as actors do), and core states.
struct Inputs {
  std::vector<int64_t> obs_shape;
  std::vector<uint8_t> pixels;
  std::vector<float> obs;
  // A Dict observation's flat leaves ([kRows, flat_dim], the last flat_dim
  // of each row of obs too): the models' "flat" input.
  std::vector<float> flat;
  std::vector<float> state;
};

Inputs MakeInputs(const Case& c, const policies::Policy& policy, uint64_t seed) {
  const v1::PolicySpec& spec = policy.spec();
  const int64_t obs_dim = spec.obs_dim();
  const int64_t flat = spec.flat_dim();
  const int64_t image = obs_dim - flat;
  const bool bytes = spec.observation_dtype() == v1::DTYPE_UINT8;
  Inputs in;
  in.obs_shape = {kRows};
  if (spec.torso_size() > 0) {
    in.obs_shape.insert(in.obs_shape.end(), spec.observation_shape().begin(), spec.observation_shape().end());
  } else {
    in.obs_shape.push_back(image);
  }
  std::mt19937_64 rng(seed);
  in.pixels.resize(kRows * image);
  in.obs.resize(kRows * obs_dim);
  in.flat.resize(kRows * flat);
  std::normal_distribution<float> normal(0.f, c.scale);
  std::bernoulli_distribution allowed(0.6);
  for (int64_t r = 0; r < kRows; ++r) {
    for (int64_t k = 0; k < obs_dim; ++k) {
      float& x = in.obs[r * obs_dim + k];
      if (k >= obs_dim - c.mask_size) {
        x = r % 50 == 0 ? 0.f : static_cast<float>(allowed(rng));  // every 50th row allows nothing
      } else if (bytes && k < image) {
        in.pixels[r * image + k] = static_cast<uint8_t>(rng() % 256);
        x = in.pixels[r * image + k] * envs::kUint8ObservationScale;
      } else {
        x = normal(rng);
      }
      if (k >= image) in.flat[r * flat + k - image] = x;
    }
  }
  const int64_t state_size = policy.state_size();
  in.state.resize(kRows * state_size);
  std::normal_distribution<float> state_normal(0.f, 0.5f);
  for (int64_t r = 0; r < kRows; ++r) {
    if (r % 4 == 0) continue;  // an episode's first step: zeros
    for (int64_t k = 0; k < state_size; ++k) in.state[r * state_size + k] = state_normal(rng);
  }
  return in;
}

// Rill's own forward, the actors' policy stepping a copy of the state:
// action.rill.bin (continuous actions in env units, as the actor maps
// them), new_state.rill.bin, and for a discrete policy ties.bin.
void WriteRillActions(policies::Policy& policy, const Inputs& in, const std::string& dir) {
  const v1::PolicySpec& spec = policy.spec();
  const int64_t state_size = policy.state_size();
  std::vector<float> state = in.state;
  policy.set_state(state_size > 0 ? state.data() : nullptr);
  policies::PolicyOutput out;
  policy.Act(in.obs.data(), kRows, /*deterministic=*/true, &out);
  if (state_size > 0) WriteBytes(dir + "/new_state.rill.bin", state.data(), state.size() * sizeof(float));
  if (spec.kind() != "categorical") {
    const int64_t n = spec.action_dim();
    for (size_t k = 0; k < out.actions.size(); ++k) {
      const float low = spec.action_low(k % n);
      out.actions[k] = low + (out.actions[k] + 1.f) * 0.5f * (spec.action_high(k % n) - low);
    }
    WriteBytes(dir + "/action.rill.bin", out.actions.data(), out.actions.size() * sizeof(float));
    return;
  }
  WriteBytes(dir + "/action.rill.bin", out.indices.data(), out.indices.size() * sizeof(int64_t));
  // Ties from the probabilities of the same policy on the same state.
  state = in.state;
  policy.set_state(state_size > 0 ? state.data() : nullptr);
  policies::PolicyOutput behaviour;
  if (absl::Status acted = policy.ActWithBehaviour(in.obs.data(), kRows, &behaviour); !acted.ok()) {
    std::fprintf(stderr, "write_cases: %s\n", std::string(acted.message()).c_str());
    std::exit(1);
  }
  const int64_t actions = spec.action_dim();
  std::vector<uint8_t> ties(kRows, 0);
  for (int64_t r = 0; r < kRows; ++r) {
    std::vector<float> p(behaviour.distribution.begin() + r * actions,
                         behaviour.distribution.begin() + (r + 1) * actions);
    std::sort(p.begin(), p.end());
    ties[r] = p[actions - 1] - p[actions - 2] < kTieGap ? 1 : 0;
  }
  WriteBytes(dir + "/ties.bin", ties.data(), ties.size());
}

// The TorchScript export's forward on the same inputs.
void WriteTorchScriptActions(const policies::Policy& policy, Inputs in, const std::string& dir) {
  const bool bytes = policy.spec().observation_dtype() == v1::DTYPE_UINT8;
  const int64_t state_size = policy.state_size();
  torch::jit::Module module = *learner::ToTorchScript(policy);
  torch::Tensor input = bytes ? torch::from_blob(in.pixels.data(), in.obs_shape, torch::kUInt8)
                              : torch::from_blob(in.obs.data(), in.obs_shape, torch::kFloat32);
  std::vector<torch::jit::IValue> inputs = {input};
  const int64_t flat = policy.spec().flat_dim();
  if (flat > 0) inputs.push_back(torch::from_blob(in.flat.data(), {kRows, flat}, torch::kFloat32));
  torch::Tensor action;
  if (state_size > 0) {
    inputs.push_back(torch::from_blob(in.state.data(), {kRows, state_size}, torch::kFloat32));
    const auto result = module.forward(inputs).toTuple();
    action = result->elements()[0].toTensor().contiguous();
    const torch::Tensor new_state = result->elements()[1].toTensor().contiguous();
    WriteBytes(dir + "/new_state.torchscript.bin", new_state.data_ptr(), new_state.numel() * sizeof(float));
  } else {
    action = module.forward(inputs).toTensor().contiguous();
  }
  WriteBytes(dir + "/action.torchscript.bin", action.data_ptr(), action.numel() * action.element_size());
}

void Write(const Case& c, const std::string& dir, uint64_t seed) {
  std::filesystem::create_directories(dir);
  if (absl::Status exported = policies::ExportOnnx(c.params, dir + "/model.onnx"); !exported.ok()) {
    std::fprintf(stderr, "write_cases: %s: %s\n", c.name.c_str(), std::string(exported.message()).c_str());
    std::exit(1);
  }
  std::unique_ptr<policies::Policy> policy = *policies::PolicyFromParameters(c.params, seed);
  const v1::PolicySpec& spec = policy->spec();
  const bool bytes = spec.observation_dtype() == v1::DTYPE_UINT8;
  const bool discrete = spec.kind() == "categorical";
  const int64_t state_size = policy->state_size();
  if (spec.flat_dim() > 0 && !bytes) {
    std::fprintf(stderr, "write_cases: %s: a Dict case's image leaf is uint8 here\n", c.name.c_str());
    std::exit(1);
  }
  const Inputs in = MakeInputs(c, *policy, seed);
  if (bytes) {
    WriteBytes(dir + "/obs.bin", in.pixels.data(), in.pixels.size());
  } else {
    WriteBytes(dir + "/obs.bin", in.obs.data(), in.obs.size() * sizeof(float));
  }
  if (state_size > 0) WriteBytes(dir + "/state.bin", in.state.data(), in.state.size() * sizeof(float));
  WriteRillActions(*policy, in, dir);
  WriteTorchScriptActions(*policy, in, dir);

  std::vector<std::string> inputs = {Tensor("obs", bytes ? "uint8" : "float32", in.obs_shape, "obs.bin")};
  if (spec.flat_dim() > 0) {
    WriteBytes(dir + "/flat.bin", in.flat.data(), in.flat.size() * sizeof(float));
    inputs.push_back(Tensor("flat", "float32", {kRows, spec.flat_dim()}, "flat.bin"));
  }
  std::vector<std::string> outputs = {discrete ? Output("action", "int64", {kRows}, "action")
                                               : Output("action", "float32", {kRows, spec.action_dim()}, "action")};
  if (state_size > 0) {
    inputs.push_back(Tensor("state", "float32", {kRows, state_size}, "state.bin"));
    outputs.push_back(Output("new_state", "float32", {kRows, state_size}, "new_state"));
  }
  std::ofstream json(dir + "/case.json");
  json << "{\"name\": \"" << c.name << "\", \"rows\": " << kRows << ",\n \"inputs\": ["
       << absl::StrJoin(inputs, ",\n  ") << "],\n \"outputs\": [" << absl::StrJoin(outputs, ",\n  ") << "]"
       << (discrete ? ",\n \"ties\": \"ties.bin\"" : "") << "}\n";
  std::printf("wrote %s/\n", dir.c_str());
}

}  // namespace
}  // namespace rill::testing::onnx

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: write_cases OUT_DIR\n");
    return 2;
  }
  torch::NoGradGuard no_grad;
  uint64_t seed = 100;
  for (const auto& c : rill::testing::onnx::Cases()) {
    rill::testing::onnx::Write(c, std::string(argv[1]) + "/" + c.name, seed++);
  }
  return 0;
}
