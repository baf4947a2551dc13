#include "bench/bench_env.h"

#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/agents_vs_single.h"
#include "bench/measure.h"
#include "envs/batch/make.h"
#include "envs/catalog.h"
#include "envs/interface.h"
#include "envs/observation.h"
#include "envs/mujoco/mujoco_env.h"
#include "envs/registry.h"
#include "envs/render.h"
#include "envs/remote/env_server.h"
#include "envs/remote/remote_envs.h"
#include "common/bench_probes.h"
#include "common/blas.h"
#include "flags/flags.h"
#include "common/status_macros.h"
#include "policies/registry.h"
#include "policies/spec.h"
#include "policies/torso.h"
#include "mujoco/mujoco.h"

ABSL_FLAG(int, bench_num_envs, 16, "rill bench env: envs stepped in lockstep, as one actor runs them.");
ABSL_FLAG(std::string, bench_remote, "",
          "rill bench env: step --bench_num_envs envs of the env server at HOST:PORT over one rill.v1.EnvService "
          "stream (envs::RemoteEnvs, as an actor does) instead of a registered env; python/rill/bench_env_server.py "
          "runs it beside the plain Python loop it compares with.");
ABSL_FLAG(bool, bench_remote_grpc, false,
          "rill bench env --bench_remote: step over gRPC messages even where the server offers shared memory.");
ABSL_FLAG(bool, bench_env_server, false,
          "rill bench env: instead, compare --env (default CartPole-v1) stepped in-process with the same env behind "
          "the C++ env server (started in this process on 127.0.0.1:0) stepped over one stream through "
          "envs::RemoteEnvs, as an actor does, at each of --bench_env_server_envs envs per stream: through the "
          "stream's shared region and over gRPC messages, both in the same run.");
ABSL_FLAG(bool, bench_agents_vs_single, false,
          "rill bench env: instead, the actor loop over --bench_num_envs envs of --env (a "
          "multi-agent env; default CooperativeNavigation-v0) against the same loop over as many rows of single-agent "
          "envs doing one agent's share of the same env (bench/agent_turns.h), same policy; prints their "
          "agent-steps/s and cost ratio.");
ABSL_FLAG(std::string, bench_env_server_envs, "1,64",
          "rill bench env --bench_env_server: envs per stream, comma-separated.");
ABSL_FLAG(std::string, render, "",
          "rill bench env: WIDTHxHEIGHT (e.g. 84x84): also step one env drawing a frame of that size from its default "
          "camera after every step (envs::RenderInto), and report render frames/s against that env's steps/s "
          "without drawing, measured in the same run.");
ABSL_FLAG(std::string, bench_policy_hidden, "256,256",
          "rill bench env: hidden layer widths of the policy in the with-policy loop.");
ABSL_FLAG(std::string, bench_policy_torso, "auto",
          "rill bench env: the conv torso of the policy in the with-policy loop for an image env: MINATAR_CNN, "
          "NATURE_CNN, IMPALA_RESNET, NO_TORSO, or auto (MINATAR_CNN below 36x36, NATURE_CNN from it; none for a "
          "flat observation).");

namespace rill::bench {

using envs::MujocoEnv;

namespace {

// The envs as an actor steps them: one EnvBatch (envs::MakeEnvBatch) of
// `num_envs` envs, whose rows are their agents for a multi-agent env, each
// episode reset inside the step that ends it; observations as the policy
// takes them (envs/observation.h).
class Lockstep {
 public:
  static absl::StatusOr<std::unique_ptr<Lockstep>> Create(const std::string& name, int num_envs) {
    auto lockstep = std::unique_ptr<Lockstep>(new Lockstep());
    v1::EnvConfig config;
    config.set_name(name);
    ASSIGN_OR_RETURN(lockstep->batch_, envs::MakeEnvBatch(config, num_envs, /*base_seed=*/999));
    const envs::EnvSpec& spec = lockstep->batch_->spec();
    const size_t rows = static_cast<size_t>(lockstep->rows());
    lockstep->action_width_ = spec.discrete ? 1 : spec.action_dim();
    lockstep->obs_.resize(rows * spec.obs_bytes());
    lockstep->next_obs_.resize(rows * spec.obs_bytes());
    lockstep->final_obs_.resize(rows * spec.obs_bytes());
    lockstep->actions_.resize(rows * lockstep->action_width_);
    lockstep->rewards_.resize(rows);
    lockstep->terminated_.resize(rows);
    lockstep->truncated_.resize(rows);
    lockstep->masked_.resize(rows);
    RETURN_IF_ERROR(lockstep->batch_->Reset(lockstep->obs_.data()));
    return lockstep;
  }

  // Rows: envs times their agents.
  int rows() const { return batch_->size(); }
  const envs::EnvSpec& spec() const { return batch_->spec(); }
  // Every row's observation as floats.
  const float* obs() { return envs::ObservationsAsFloat(spec(), obs_.data(), rows(), &scratch_); }
  // Env-unit actions, action_width floats per row.
  float* action_row(int i) { return actions_.data() + static_cast<size_t>(i) * action_width_; }

  // One step of every row with the actions in action_row(i).
  absl::Status Step() {
    const envs::EnvBatchOutput out{next_obs_.data(),   final_obs_.data(), rewards_.data(), terminated_.data(),
                                   truncated_.data(), masked_.data(),    &failures_};
    RETURN_IF_ERROR(batch_->Step(rows(), actions_.data(), out).status());
    obs_.swap(next_obs_);
    return absl::OkStatus();
  }

 private:
  Lockstep() = default;

  std::unique_ptr<envs::EnvBatch> batch_;
  int action_width_ = 0;
  std::vector<uint8_t> obs_, next_obs_, final_obs_;
  std::vector<float> scratch_;
  std::vector<float> actions_;
  std::vector<float> rewards_;
  std::vector<uint8_t> terminated_, truncated_, masked_;
  std::vector<envs::EnvFailure> failures_;
};

void RandomAction(const envs::EnvSpec& spec, std::mt19937_64& rng, float* action) {
  if (spec.discrete) {
    action[0] = static_cast<float>(std::uniform_int_distribution<int>(0, spec.num_actions - 1)(rng));
    return;
  }
  for (int j = 0; j < spec.action_dim(); ++j) {
    action[j] = std::uniform_real_distribution<float>(spec.action_low[j], spec.action_high[j])(rng);
  }
}

// `--render`: one env's rates with and without a frame drawn each step.
struct RenderRates {
  std::string camera;                   // the env's default
  double physics_steps_per_second = 0;  // env steps/s, no drawing
  double with_render_steps_per_second = 0;
  double frames_per_second = 0;  // the time in RenderInto only
};

absl::StatusOr<RenderRates> MeasureRender(const std::string& name, const envs::EnvSpec& spec, int width, int height,
                                          absl::Duration duration, std::mt19937_64& rng) {
  ASSIGN_OR_RETURN(std::unique_ptr<envs::Env> env, envs::MakeEnv(name, 0, /*seed=*/1));
  RenderRates rates;
  ASSIGN_OR_RETURN(rates.camera, envs::ResolveCamera(*env, ""));
  std::vector<float> obs(env->obs_dim());
  std::vector<float> action(spec.discrete ? 1 : spec.action_dim());
  env->Reset(obs.data());
  auto step = [&]() -> absl::Status {
    RandomAction(spec, rng, action.data());
    ASSIGN_OR_RETURN(const envs::StepResult result, env->Step(action.data(), obs.data()));
    if (result.terminated || result.truncated) env->Reset(obs.data());
    return absl::OkStatus();
  };
  ASSIGN_OR_RETURN(rates.physics_steps_per_second, Measure(duration, 1, step));
  // The first frame starts the renderer (an OpenGL context for MuJoCo):
  // not timed.
  envs::RgbImage frame;
  RETURN_IF_ERROR(envs::RenderInto(*env, width, height, rates.camera, &frame));
  absl::Duration drawing;
  int64_t frames = 0;
  ASSIGN_OR_RETURN(rates.with_render_steps_per_second, Measure(duration, 1, [&]() -> absl::Status {
                     RETURN_IF_ERROR(step());
                     const absl::Time start = absl::Now();
                     RETURN_IF_ERROR(envs::RenderInto(*env, width, height, rates.camera, &frame));
                     drawing += absl::Now() - start;
                     ++frames;
                     return absl::OkStatus();
                   }));
  rates.frames_per_second = static_cast<double>(frames) / absl::ToDoubleSeconds(drawing);
  return rates;
}

absl::StatusOr<std::vector<int>> ParseWidths(const std::string& text) {
  std::vector<int> widths;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    int width = 0;
    if (!absl::SimpleAtoi(part, &width) || width <= 0) {
      return absl::InvalidArgumentError(absl::StrCat("--bench_policy_hidden: '", part, "' is not a positive width"));
    }
    widths.push_back(width);
  }
  if (widths.empty()) return absl::InvalidArgumentError("--bench_policy_hidden is empty");
  return widths;
}

// `--bench_remote`: env steps/s of one stream of N remote envs, random
// actions, the answers checked as an actor's are.
absl::Status RunRemote(const std::string& address, int num_envs, absl::Duration duration) {
  ASSIGN_OR_RETURN(std::unique_ptr<envs::RemoteEnvs> remote,
                   envs::RemoteEnvs::Open(address, num_envs, 7, absl::Seconds(10),
                                          absl::GetFlag(FLAGS_bench_remote_grpc)
                                              ? envs::RemoteEnvs::Transport::kGrpc
                                              : envs::RemoteEnvs::Transport::kSharedMemoryWhenLocal));
  const char* transport = remote->shared_memory() ? "shared_memory" : "grpc";
  const envs::EnvSpec& spec = remote->spec();
  const int act_dim = spec.discrete ? 1 : spec.action_dim();
  std::vector<float> actions(static_cast<size_t>(num_envs) * act_dim);
  std::mt19937_64 rng(7);
  envs::RemoteStep step;
  auto one_step = [&]() -> absl::Status {
    for (int i = 0; i < num_envs; ++i) RandomAction(spec, rng, &actions[static_cast<size_t>(i) * act_dim]);
    return remote->Step(actions.data(), &step);
  };
  for (int i = 0; i < 20; ++i) RETURN_IF_ERROR(one_step());  // warm-up
  const absl::Time start = absl::Now();
  int64_t messages = 0;
  while (absl::Now() - start < duration) {
    RETURN_IF_ERROR(one_step());
    ++messages;
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const double rate = static_cast<double>(messages) * num_envs / seconds;
  std::fprintf(stderr, "bench env --bench_remote=%s (%s): %d envs per stream: %.0f env steps/s (%.0f us per message)\n",
               address.c_str(), transport, num_envs, rate, 1e6 * seconds / static_cast<double>(messages));
  std::printf("%s\n", absl::StrFormat("{\"remote\": \"%s\", \"transport\": \"%s\", \"env\": \"%s\", "
                                      "\"num_envs\": %d, \"env_steps_per_second\": %.1f, \"us_per_message\": %.1f}",
                                      address, transport, spec.name, num_envs, rate,
                                      1e6 * seconds / static_cast<double>(messages))
                          .c_str());
  return absl::OkStatus();
}

// One --bench_env_server case: N envs in-process and N envs served.
struct ServerCase {
  int num_envs = 0;
  double in_process_rate = 0;  // env steps/s
  double served_rate = 0;      // env steps/s, through the stream's shared region
  double grpc_rate = 0;        // env steps/s, over gRPC messages
  // Microseconds per message (one step of all N envs) served, and what the
  // same N steps take in-process; the difference is the protocol's cost.
  double us_per_message() const { return 1e6 * num_envs / served_rate; }
  double grpc_us_per_message() const { return 1e6 * num_envs / grpc_rate; }
  double env_us_per_message() const { return 1e6 * num_envs / in_process_rate; }
};

absl::StatusOr<std::vector<int>> ParseCounts(const std::string& text) {
  std::vector<int> counts;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    int count = 0;
    if (!absl::SimpleAtoi(part, &count) || count < 1 || count > envs::kMaxEnvsPerStream) {
      return absl::InvalidArgumentError(absl::StrCat("--bench_env_server_envs: '", part, "' is not a count in 1..",
                                                     envs::kMaxEnvsPerStream));
    }
    counts.push_back(count);
  }
  if (counts.empty()) return absl::InvalidArgumentError("--bench_env_server_envs is empty");
  return counts;
}

// Env steps/s of `n` envs of the server at `address` stepped over one
// stream, through its shared region or over gRPC, random actions.
absl::StatusOr<double> MeasureServed(const std::string& address, const envs::EnvSpec& spec, int n, bool shared,
                                     absl::Duration duration, std::mt19937_64& rng) {
  ASSIGN_OR_RETURN(std::unique_ptr<envs::RemoteEnvs> remote,
                   envs::RemoteEnvs::Open(address, n, 1000, absl::Seconds(10),
                                          shared ? envs::RemoteEnvs::Transport::kSharedMemoryWhenLocal
                                                 : envs::RemoteEnvs::Transport::kGrpc));
  if (shared && !remote->shared_memory()) {
    return absl::InternalError(absl::StrCat("the env server offered no shared region: ", remote->shared_memory_note()));
  }
  const int act_width = spec.discrete ? 1 : spec.action_dim();
  std::vector<float> actions(static_cast<size_t>(n) * act_width);
  envs::RemoteStep step;
  return Measure(duration, n, [&]() -> absl::Status {
    for (int i = 0; i < n; ++i) RandomAction(spec, rng, &actions[static_cast<size_t>(i) * act_width]);
    return remote->Step(actions.data(), &step);
  });
}

// `--bench_env_server`: env steps/s of N envs stepped in a plain loop
// against the same envs behind the C++ EnvService server (in this process,
// over loopback TCP), stepped through RemoteEnvs; random actions in both.
absl::Status RunEnvServer(const std::string& name, absl::Duration duration) {
  ASSIGN_OR_RETURN(const std::vector<int> counts, ParseCounts(absl::GetFlag(FLAGS_bench_env_server_envs)));
  ASSIGN_OR_RETURN(const envs::EnvSpec spec, envs::LookupEnvSpec(name));
  const std::string load_before = LoadAverage();
  const unsigned cores = std::thread::hardware_concurrency();
  const envs::EnvFactory factory = [name](uint64_t seed) { return envs::MakeEnv(name, 0, seed); };
  ASSIGN_OR_RETURN(std::unique_ptr<envs::EnvServer> server, envs::EnvServer::Start("127.0.0.1:0", factory));
  std::fprintf(stderr, "bench env --bench_env_server: %s on %s, %u cores, load average %s, %.1f s per measurement\n",
               name.c_str(), server->address().c_str(), cores, load_before.c_str(), absl::ToDoubleSeconds(duration));
  std::mt19937_64 rng(7);
  std::vector<ServerCase> cases;
  for (const int n : counts) {
    ServerCase c;
    c.num_envs = n;
    ASSIGN_OR_RETURN(std::unique_ptr<Lockstep> local, Lockstep::Create(name, n));
    ASSIGN_OR_RETURN(c.in_process_rate, Measure(duration, n, [&]() -> absl::Status {
                       for (int i = 0; i < n; ++i) RandomAction(spec, rng, local->action_row(i));
                       return local->Step();
                     }));
    ASSIGN_OR_RETURN(c.served_rate, MeasureServed(server->address(), spec, n, /*shared=*/true, duration, rng));
    ASSIGN_OR_RETURN(c.grpc_rate, MeasureServed(server->address(), spec, n, /*shared=*/false, duration, rng));
    std::fprintf(stderr,
                 "bench env --bench_env_server %s, %d envs per stream: in-process %.0f env steps/s, served %.0f env "
                 "steps/s through shared memory (%.3f of in-process; %.1f us per message, %.1f us of it beyond the "
                 "env), %.0f over gRPC (%.1f us per message)\n",
                 name.c_str(), n, c.in_process_rate, c.served_rate, c.served_rate / c.in_process_rate,
                 c.us_per_message(), c.us_per_message() - c.env_us_per_message(), c.grpc_rate,
                 c.grpc_us_per_message());
    cases.push_back(c);
  }
  server->Stop(absl::Seconds(1));
  std::vector<std::string> parts;
  std::string beyond_at_1 = "null";
  for (const ServerCase& c : cases) {
    const double beyond = c.us_per_message() - c.env_us_per_message();
    if (c.num_envs == 1) beyond_at_1 = absl::StrFormat("%.1f", beyond);
    parts.push_back(absl::StrFormat(
        "{\"num_envs\": %d, \"in_process_env_steps_per_second\": %.1f, \"served_env_steps_per_second\": %.1f, "
        "\"served_fraction_of_in_process\": %.4f, \"us_per_message\": %.2f, \"env_us_per_message\": %.2f, "
        "\"us_per_message_beyond_env\": %.2f, \"grpc_env_steps_per_second\": %.1f, \"grpc_us_per_message\": %.2f}",
        c.num_envs, c.in_process_rate, c.served_rate, c.served_rate / c.in_process_rate, c.us_per_message(),
        c.env_us_per_message(), beyond, c.grpc_rate, c.grpc_us_per_message()));
  }
  std::printf("%s\n", absl::StrFormat("{\"bench\": \"env_server\", \"env\": \"%s\", \"cores\": %u, "
                                      "\"load_average_1m_before\": %s, \"load_average_1m_after\": %s, "
                                      "\"seconds_per_measurement\": %.1f, \"server\": \"in this process, "
                                      "127.0.0.1 loopback\", \"cases\": [%s], "
                                      "\"us_per_message_beyond_env_at_1_env\": %s}",
                                      name, cores, load_before, LoadAverage(), absl::ToDoubleSeconds(duration),
                                      absl::StrJoin(parts, ", "), beyond_at_1)
                          .c_str());
  return absl::OkStatus();
}

absl::Status Run() {
  if (absl::GetFlag(FLAGS_bench_env_server)) {
    const std::string served = absl::GetFlag(FLAGS_env).empty() ? "CartPole-v1" : absl::GetFlag(FLAGS_env);
    const double seconds = absl::GetFlag(FLAGS_bench_seconds);
    return RunEnvServer(served, absl::Seconds(seconds > 0 ? seconds : 3));
  }
  const std::string name = absl::GetFlag(FLAGS_env).empty() ? "HalfCheetah-v4" : absl::GetFlag(FLAGS_env);
  const int num_envs = absl::GetFlag(FLAGS_bench_num_envs);
  if (num_envs <= 0) return absl::InvalidArgumentError(absl::StrCat("--bench_num_envs must be > 0, got ", num_envs));
  double seconds = absl::GetFlag(FLAGS_bench_seconds);
  if (seconds <= 0) seconds = 3;
  const absl::Duration duration = absl::Seconds(seconds);
  if (!absl::GetFlag(FLAGS_bench_remote).empty()) return RunRemote(absl::GetFlag(FLAGS_bench_remote), num_envs, duration);
  ASSIGN_OR_RETURN(const std::vector<int> hidden, ParseWidths(absl::GetFlag(FLAGS_bench_policy_hidden)));
  if (absl::GetFlag(FLAGS_bench_agents_vs_single)) {
    const std::string multi = absl::GetFlag(FLAGS_env).empty() ? "CooperativeNavigation-v0" : absl::GetFlag(FLAGS_env);
    return RunAgentsVsSingle(multi, num_envs, hidden, duration);
  }
  // A row's spaces: an agent's, for a multi-agent env whose agents share
  // them (LookupEnvSpec names the agents of one whose do not).
  ASSIGN_OR_RETURN(const envs::EnvSpec spec, envs::LookupEnvSpec(name));
  const int agents = envs::IsMultiAgentEnv(name) ? envs::LookupMultiAgentSpec(name)->num_agents() : 1;
  const int rows = num_envs * agents;
  const char* unit = agents > 1 ? "agent-steps/s" : "env steps/s";
  const std::string render_size = absl::GetFlag(FLAGS_render);
  int render_width = 0;
  int render_height = 0;
  if (!render_size.empty()) {
    RETURN_IF_ERROR(envs::ParseRenderSize(render_size, "--render", &render_width, &render_height));
  }
  SetBlasThreads(1);
  std::mt19937_64 rng(7);

  // 1. Envs alone, random actions.
  ASSIGN_OR_RETURN(std::unique_ptr<Lockstep> plain, Lockstep::Create(name, num_envs));
  ASSIGN_OR_RETURN(const double env_rate, Measure(duration, rows, [&]() -> absl::Status {
                     for (int i = 0; i < rows; ++i) RandomAction(spec, rng, plain->action_row(i));
                     return plain->Step();
                   }));
  std::fprintf(stderr, "bench env %s: %d envs (%d rows), random actions: %.0f %s\n", name.c_str(), num_envs, rows,
               env_rate, unit);

  // 2. The actor loop's action choice: one batched forward for all envs.
  ASSIGN_OR_RETURN(std::unique_ptr<Lockstep> looped, Lockstep::Create(name, num_envs));
  v1::PolicySpec policy_spec = policies::PolicySpecFor(spec.discrete ? "categorical" : "gaussian", spec, hidden);
  std::string torso = absl::GetFlag(FLAGS_bench_policy_torso);
  if (torso == "auto") {
    const bool image = spec.observation_shape.size() == 3;
    torso = !image ? "NO_TORSO" : spec.observation_shape[1] < 36 ? "MINATAR_CNN" : "NATURE_CNN";
  }
  if (torso != "NO_TORSO") {
    std::vector<v1::TorsoLayer> layers;
    if (torso == "MINATAR_CNN") {
      layers = policies::MinAtarCnnLayers();
    } else if (torso == "NATURE_CNN") {
      layers = policies::NatureCnnLayers();
    } else if (torso == "IMPALA_RESNET") {
      layers = policies::ImpalaResnetLayers();
    } else {
      return absl::InvalidArgumentError(absl::StrCat("--bench_policy_torso '", torso,
                                                     "' (known: auto, NO_TORSO, MINATAR_CNN, NATURE_CNN, "
                                                     "IMPALA_RESNET)"));
    }
    RETURN_IF_ERROR(policies::SetTorso(spec, layers, &policy_spec));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<policies::Policy> policy, policies::MakePolicy(policy_spec, /*seed=*/1));
  const int obs_dim = spec.obs_dim();
  const int act_dim = spec.action_dim();
  policies::PolicyOutput out;
  ASSIGN_OR_RETURN(const double policy_rate, Measure(duration, rows, [&]() -> absl::Status {
    policy->Act(looped->obs(), rows, /*deterministic=*/false, &out);
    if (spec.discrete) {
      for (int i = 0; i < rows; ++i) looped->action_row(i)[0] = static_cast<float>(out.indices[i]);
    } else {
      for (int i = 0; i < rows; ++i) {
        float* row = looped->action_row(i);
        for (int j = 0; j < act_dim; ++j) {
          const float unit = out.actions[static_cast<size_t>(i) * act_dim + j];
          row[j] = spec.action_low[j] + (unit + 1.f) * 0.5f * (spec.action_high[j] - spec.action_low[j]);
        }
      }
    }
    return looped->Step();
  }));
  std::fprintf(stderr, "bench env %s: with a %s policy (%s%s): %.0f %s\n", name.c_str(),
               policy_spec.kind().c_str(), torso == "NO_TORSO" ? "" : (torso + " + ").c_str(),
               absl::StrJoin(hidden, "x").c_str(), policy_rate, unit);

  // 3. The reference: bare physics.
  int frame_skip = 1;
  double raw_rate = 0;
  std::string raw_reference;
  std::unique_ptr<envs::Env> single;
  if (agents == 1) {
    ASSIGN_OR_RETURN(single, envs::MakeEnv(name, 0, /*seed=*/1));
  }
  if (const auto* mujoco_env = dynamic_cast<const MujocoEnv*>(single.get())) {
    frame_skip = mujoco_env->frame_skip();
    const mjModel* m = mujoco_env->model();
    mjData* d = mj_makeData(m);
    int64_t since_reset = 0;
    absl::StatusOr<double> rate = Measure(duration, 1, [&]() -> absl::Status {
      if (since_reset++ % frame_skip == 0) {
        for (int j = 0; j < m->nu; ++j) {
          d->ctrl[j] = std::uniform_real_distribution<double>(m->actuator_ctrlrange[2 * j],
                                                              m->actuator_ctrlrange[2 * j + 1])(rng);
        }
      }
      // Start over every 1000 env steps, as an episode would.
      if (since_reset % (1000 * frame_skip) == 0) mj_resetData(m, d);
      mj_step(m, d);
      return absl::OkStatus();
    });
    mj_deleteData(d);
    RETURN_IF_ERROR(rate.status());
    raw_rate = *rate;
    raw_reference = "mj_step";
  } else if (agents > 1) {
    // One multi-agent env's Step moves all its agents: `agents` agent-steps.
    ASSIGN_OR_RETURN(std::unique_ptr<envs::MultiAgentEnv> multi, envs::MakeMultiAgentEnv(name, 0, /*seed=*/1));
    std::vector<std::vector<float>> obs(agents, std::vector<float>(spec.obs_dim()));
    std::vector<std::vector<float>> action(agents, std::vector<float>(spec.discrete ? 1 : act_dim));
    std::vector<float*> obs_rows(agents);
    std::vector<const float*> action_rows(agents);
    for (int k = 0; k < agents; ++k) {
      obs_rows[k] = obs[k].data();
      action_rows[k] = action[k].data();
      RandomAction(spec, rng, action[k].data());
    }
    std::vector<envs::StepResult> results(agents);
    multi->Reset(obs_rows.data());
    ASSIGN_OR_RETURN(raw_rate, Measure(duration, agents, [&]() -> absl::Status {
                       RETURN_IF_ERROR(multi->Step(action_rows.data(), obs_rows.data(), results.data()));
                       if (multi->episode_over()) multi->Reset(obs_rows.data());
                       return absl::OkStatus();
                     }));
    raw_reference = "one env's Step of all its agents";
  } else {
    std::vector<float> obs(single->obs_dim());
    std::vector<float> action(spec.discrete ? 1 : act_dim);
    RandomAction(spec, rng, action.data());
    single->Reset(obs.data());
    ASSIGN_OR_RETURN(raw_rate, Measure(duration, 1, [&]() -> absl::Status {
                       ASSIGN_OR_RETURN(const envs::StepResult result, single->Step(action.data(), obs.data()));
                       if (result.terminated || result.truncated) single->Reset(obs.data());
                       return absl::OkStatus();
                     }));
    raw_reference = "one env's Step";
  }
  const double raw_env_rate = raw_rate / frame_skip;
  std::fprintf(stderr, "bench env %s: bare physics (%s): %.0f steps/s = %.0f env steps/s at frame_skip %d\n",
               name.c_str(), raw_reference.c_str(), raw_rate, raw_env_rate, frame_skip);
  std::fprintf(stderr, "bench env %s: envs alone reach %.0f%% and the actor loop %.0f%% of bare physics\n",
               name.c_str(), 100 * env_rate / raw_env_rate, 100 * policy_rate / raw_env_rate);

  // 4. With --render: one env stepped alone, then stepped and drawn
  // after every step (RenderInto, as the evaluator's videos draw).
  std::string render_json;
  if (!render_size.empty()) {
    ASSIGN_OR_RETURN(const RenderRates rates, MeasureRender(name, spec, render_width, render_height, duration, rng));
    std::fprintf(stderr,
                 "bench env %s --render=%s from \"%s\": %.0f frames/s; one env %.0f env steps/s without drawing, "
                 "%.0f with a frame each step; drawing runs at %.3f of the physics' rate\n",
                 name.c_str(), render_size.c_str(), rates.camera.c_str(), rates.frames_per_second,
                 rates.physics_steps_per_second, rates.with_render_steps_per_second,
                 rates.frames_per_second / rates.physics_steps_per_second);
    render_json = absl::StrFormat(
        ", \"render\": \"%dx%d\", \"render_camera\": \"%s\", \"render_frames_per_second\": %.1f, "
        "\"render_physics_env_steps_per_second\": %.1f, \"render_env_steps_per_second\": %.1f, "
        "\"render_frames_to_physics_steps\": %.4f, \"render_env_fraction_of_physics\": %.4f",
        render_width, render_height, rates.camera, rates.frames_per_second, rates.physics_steps_per_second,
        rates.with_render_steps_per_second, rates.frames_per_second / rates.physics_steps_per_second,
        rates.with_render_steps_per_second / rates.physics_steps_per_second);
  }

  std::printf("%s\n",
              absl::StrFormat(
                  "{\"env\": \"%s\", \"num_envs\": %d, \"agents_per_env\": %d, \"frame_skip\": %d, \"obs_dim\": %d, "
                  "\"action_dim\": %d, "
                  "\"discrete\": %s, \"policy_torso\": \"%s\", \"policy_hidden\": \"%s\", \"env_steps_per_second\": %.1f, "
                  "\"with_policy_env_steps_per_second\": %.1f, \"raw_physics_steps_per_second\": %.1f, "
                  "\"raw_reference\": \"%s\", \"raw_env_steps_per_second\": %.1f, \"env_fraction_of_raw\": %.3f, "
                  "\"with_policy_fraction_of_raw\": %.3f%s}",
                  name, num_envs, agents, frame_skip, obs_dim, act_dim, spec.discrete ? "true" : "false", torso,
                  absl::StrJoin(hidden, ","), env_rate, policy_rate, raw_rate, raw_reference, raw_env_rate,
                  env_rate / raw_env_rate, policy_rate / raw_env_rate, render_json)
                  .c_str());
  return absl::OkStatus();
}

}  // namespace

int RunEnvBench() {
  absl::Status status = Run();
  if (!status.ok()) {
    std::fprintf(stderr, "rill bench env: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}

}  // namespace rill::bench
