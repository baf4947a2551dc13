#include "bench/bench_inference.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <random>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "actor/action_sources/central.h"
#include "bench/torso_flags.h"
#include "common/bench_probes.h"
#include "common/blas.h"
#include "flags/flags.h"
#include "common/grpc_util.h"
#include "common/status_macros.h"
#include "common/torch_tensor.h"
#include "envs/observation.h"
#include "envs/spec.h"
#include "learner/inference/inference_service.h"
#include "policies/registry.h"
#include "policies/spec.h"
#include "prometheus/registry.h"
#include "torch/torch.h"

ABSL_FLAG(std::string, bench_streams, "1,16,64,256", "Actor streams per inference bench case, comma-separated.");
ABSL_FLAG(std::string, bench_envs, "1,8", "Envs per actor (rows per request), comma-separated.");
ABSL_FLAG(int64_t, bench_max_wait_micros, 2000, "The inference bench's batch max_wait.");
ABSL_FLAG(std::string, bench_transport, "grpc,shared_memory",
          "How the inference bench's actors reach the service, comma-separated: grpc (messages) and/or "
          "shared_memory (a region on this host, proto/inference.proto).");

namespace rill::bench {

using learner::InferenceBatcher;
using learner::InferenceOptions;
using learner::InferenceServiceImpl;
using learner::InferenceStats;

namespace {

constexpr int64_t kMessageBytes = 16 << 20;

// Round-trip times of all streams inside the timed window.
class Latencies {
 public:
  void Add(double ms) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    values_.push_back(ms);
  }
  std::vector<double> Take() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return std::move(values_);
  }

 private:
  absl::Mutex mu_;
  std::vector<double> values_ ABSL_GUARDED_BY(mu_);
};

struct Shared {
  std::atomic<bool> stop{false};
  std::atomic<bool> timing{false};
  std::atomic<int64_t> actions{0};  // answered rows inside the window
  Latencies latencies;
};

// One actor: a request of `rows` observations, sent again as soon as the
// previous answer arrived (and its write completed).
class BenchActor final : public grpc::ClientBidiReactor<v1::ActRequest, v1::ActResponse> {
 public:
  BenchActor(v1::InferenceService::Stub* stub, const v1::ActRequest& request, int rows, Shared* shared)
      : request_(request), rows_(rows), shared_(shared) {
    stub->async()->Act(&context_, this);
    Round();
    StartCall();
  }
  void OnWriteDone(bool ok) override { Completed(ok); }
  void OnReadDone(bool ok) override {
    if (ok && shared_->timing.load(std::memory_order_relaxed)) {
      shared_->latencies.Add(absl::ToDoubleMilliseconds(absl::Now() - sent_));
      shared_->actions.fetch_add(rows_, std::memory_order_relaxed);
    }
    Completed(ok);
  }
  void OnDone(const grpc::Status& status) override {
    status_ = status;
    done_.Notify();
  }
  grpc::Status Wait() {
    done_.WaitForNotification();
    return status_;
  }

 private:
  void Round() {
    outstanding_.store(2);
    sent_ = absl::Now();
    StartWrite(&request_);
    StartRead(&response_);
  }
  void Completed(bool ok) {
    if (!ok) failed_ = true;
    if (outstanding_.fetch_sub(1) != 1) return;
    if (failed_ || shared_->stop.load()) {
      StartWritesDone();
      return;
    }
    Round();
  }

  grpc::ClientContext context_;
  const v1::ActRequest request_;
  v1::ActResponse response_;
  const int rows_;
  Shared* const shared_;
  std::atomic<int> outstanding_{0};
  std::atomic<bool> failed_{false};
  absl::Time sent_;
  grpc::Status status_;
  absl::Notification done_;
};

double Percentile(std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  return sorted[std::min(sorted.size() - 1, static_cast<size_t>(q * static_cast<double>(sorted.size())))];
}

absl::StatusOr<std::vector<int>> Counts(const std::string& flag, const std::string& text, int max) {
  std::vector<int> counts;
  for (absl::string_view word : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    int n = 0;
    if (!absl::SimpleAtoi(word, &n) || n < 1 || n > max) {
      return absl::InvalidArgumentError(absl::StrCat("--", flag, ": '", word, "' is not a count in 1..", max));
    }
    counts.push_back(n);
  }
  if (counts.empty()) return absl::InvalidArgumentError(absl::StrCat("--", flag, " lists nothing"));
  return counts;
}

v1::PolicySpec BenchSpec(int obs_dim, int act_dim) {
  v1::PolicySpec spec;
  spec.set_kind("gaussian");
  spec.set_obs_dim(obs_dim);
  spec.set_action_dim(act_dim);
  spec.add_hidden_sizes(256);
  spec.add_hidden_sizes(256);
  for (int i = 0; i < act_dim; ++i) {
    spec.add_action_low(-1);
    spec.add_action_high(1);
  }
  return spec;
}

// Local inference: one actor's forward over its `envs` rows, on this
// thread, as actions per second.
double LocalActionsPerSecond(policies::Policy& policy, int obs_dim, int envs, double seconds) {
  // What an actor in local mode does per step: one batched forward over its
  // envs' observations on its own thread.
  std::vector<float> obs(static_cast<size_t>(envs) * obs_dim);
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  for (float& x : obs) x = normal(rng);
  policies::PolicyOutput out;
  for (int i = 0; i < 20; ++i) policy.Act(obs.data(), envs, false, &out);
  int64_t forwards = 0;
  const absl::Time start = absl::Now();
  const absl::Time end = start + absl::Seconds(seconds);
  while (absl::Now() < end) {
    policy.Act(obs.data(), envs, false, &out);
    ++forwards;
  }
  return static_cast<double>(forwards * envs) / absl::ToDoubleSeconds(absl::Now() - start);
}

// `rows` random uint8 images of `env`, flattened.
std::vector<uint8_t> RandomPixels(const envs::EnvSpec& env, int rows) {
  std::vector<uint8_t> pixels(static_cast<size_t>(rows) * env.obs_dim());
  std::mt19937 rng(1);
  std::uniform_int_distribution<int> byte(0, 255);
  for (uint8_t& p : pixels) p = static_cast<uint8_t>(byte(rng));
  return pixels;
}

// Local inference of an image policy, as an IMPALA actor runs it per step:
// its `rows` envs' uint8 observations scaled to floats
// (envs/observation.h), then one forward with the behaviour policy's
// log-probs and logits, on this thread. Actions per second.
absl::StatusOr<double> LocalImageActionsPerSecond(policies::Policy& policy, const envs::EnvSpec& env, int rows,
                                                  double seconds) {
  const std::vector<uint8_t> pixels = RandomPixels(env, rows);
  std::vector<float> scratch;
  policies::PolicyOutput out;
  auto step = [&] {
    const float* obs = envs::ObservationsAsFloat(env, pixels.data(), rows, &scratch);
    return policy.ActWithBehaviour(obs, rows, &out);
  };
  for (int i = 0; i < 3; ++i) RETURN_IF_ERROR(step());  // builds the torso's primitives for this batch
  int64_t forwards = 0;
  const absl::Time start = absl::Now();
  const absl::Time end = start + absl::Seconds(seconds);
  while (absl::Now() < end) {
    RETURN_IF_ERROR(step());
    ++forwards;
  }
  return static_cast<double>(forwards * rows) / absl::ToDoubleSeconds(absl::Now() - start);
}

// The sum over family `name` in `registry` (restricted to label dtype =
// `dtype` when given) of a counter's value or a histogram's sample sum.
double MetricSum(const prometheus::Registry& registry, const std::string& name, const std::string& dtype = "") {
  double sum = 0;
  for (const prometheus::MetricFamily& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const prometheus::ClientMetric& metric : family.metric) {
      if (!dtype.empty() &&
          std::none_of(metric.label.begin(), metric.label.end(), [&](const prometheus::ClientMetric::Label& label) {
            return label.name == "dtype" && label.value == dtype;
          })) {
        continue;
      }
      sum += family.type == prometheus::MetricType::Histogram ? metric.histogram.sample_sum : metric.counter.value;
    }
  }
  return sum;
}

// One case of central inference, over the timed window.
struct CentralResult {
  double actions_per_second = 0;
  double p50 = 0, p99 = 0;  // round trip, ms
  double mean_batch = 0;
  int threads = 0;
  // This process's CPU seconds per second (the service, its batch forwards,
  // and the actor streams' client side).
  double cpu_cores_busy = 0;
  // Rows the inference thread ran per second of its batch forwards.
  double forward_rows_per_second = 0;
  double uint8_observation_bytes = 0, float32_observation_bytes = 0;
};

enum class Transport { kGrpc, kSharedMemory };

const char* TransportName(Transport transport) {
  return transport == Transport::kGrpc ? "grpc" : "shared_memory";
}

// What an actor's step asks of the service: its outputs' widths.
struct ActShape {
  int action_dim = 0;  // 0: discrete
  int distribution_width = 0;
};

// One actor through a shared region: the actor's own CentralActionSource,
// on a thread of its own, sending `request`'s rows again as soon as it is
// answered.
void SharedMemoryActor(const std::string& address, const v1::ActRequest& request, int rows, ActShape shape,
                       Shared* shared, absl::Status* failed) {
  actor::CentralOptions options;
  options.address = address;
  options.max_message_bytes = kMessageBytes;
  options.shared_memory = true;
  options.max_rows = rows;
  actor::CentralActionSource source(options);
  const v1::Tensor& tensor = request.observations();
  const envs::ObservationType type =
      tensor.dtype() == v1::DTYPE_UINT8 ? envs::ObservationType::kUint8 : envs::ObservationType::kFloat32;
  const actor::ObservationRows observations{tensor.data().data(), type, rows, static_cast<int>(tensor.shape(1))};
  std::vector<float> actions(static_cast<size_t>(rows) * std::max(shape.action_dim, 1));
  std::vector<int64_t> indices(rows);
  std::vector<float> log_probs(rows), distributions(static_cast<size_t>(rows) * shape.distribution_width);
  actor::ActionBuffers out;
  out.actions = actions.data();
  out.action_indices = indices.data();
  out.action_dim = shape.action_dim;
  out.log_probs = log_probs.data();
  out.distributions = distributions.data();
  out.distribution_width = shape.distribution_width;
  absl::Notification never;
  bool first = true;
  while (!shared->stop.load()) {
    const absl::Time sent = absl::Now();
    absl::StatusOr<actor::CentralAnswer> answer = source.Exchange(observations, request.behaviour(), never, out);
    if (!answer.ok()) {
      *failed = answer.status();
      return;
    }
    if (first && !source.shared_memory()) {
      *failed = absl::FailedPreconditionError("the service offered no shared region on this host");
      return;
    }
    first = false;
    if (shared->timing.load(std::memory_order_relaxed)) {
      shared->latencies.Add(absl::ToDoubleMilliseconds(absl::Now() - sent));
      shared->actions.fetch_add(rows, std::memory_order_relaxed);
    }
  }
}

// A case's actor streams, over either transport.
class BenchActors {
 public:
  void Start(Transport transport, const std::string& address, const v1::ActRequest& request, int rows, int streams,
             ActShape shape, Shared* shared) {
    failures_.resize(transport == Transport::kSharedMemory ? streams : 0);
    for (int i = 0; i < streams && transport == Transport::kSharedMemory; ++i) {
      threads_.emplace_back(SharedMemoryActor, address, std::cref(request), rows, shape, shared, &failures_[i]);
    }
    for (int i = 0; i < streams && transport == Transport::kGrpc; ++i) {
      grpc::ChannelArguments args;
      args.SetMaxReceiveMessageSize(static_cast<int>(kMessageBytes));
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection per actor process
      stubs_.push_back(v1::InferenceService::NewStub(
          grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args)));
      reactors_.push_back(std::make_unique<BenchActor>(stubs_.back().get(), request, rows, shared));
    }
  }
  // After Shared::stop: every stream's end, the first failure.
  absl::Status Wait() {
    absl::Status first;
    for (auto& reactor : reactors_) {
      grpc::Status status = reactor->Wait();
      if (!status.ok() && first.ok()) {
        first = absl::InternalError(absl::StrCat("an actor stream failed: ", status.error_message()));
      }
    }
    for (std::thread& thread : threads_) thread.join();
    for (const absl::Status& failure : failures_) {
      if (!failure.ok() && first.ok()) first = absl::InternalError(absl::StrCat("an actor stream failed: ", failure.message()));
    }
    return first;
  }

 private:
  std::vector<std::unique_ptr<v1::InferenceService::Stub>> stubs_;
  std::vector<std::unique_ptr<BenchActor>> reactors_;
  std::vector<std::thread> threads_;
  std::vector<absl::Status> failures_;
};

// Serves the newest version in `store` to `streams` actor streams, each
// sending `request` (of `rows` rows) again as soon as it is answered, for
// `seconds` after a warm-up: over gRPC (an async client per stream, the
// cheapest gRPC client there is) or through shared regions (the actors'
// own client, a thread per stream).
absl::StatusOr<CentralResult> MeasureCentral(parameters::ParameterStore& store, const v1::ActRequest& request,
                                             int rows, int streams, double seconds, int64_t max_wait,
                                             envs::ObservationType observation_type, Transport transport,
                                             ActShape shape) {
  InferenceOptions options;
  options.max_wait = absl::Microseconds(max_wait);
  options.observation_type = observation_type;
  prometheus::Registry registry;
  InferenceBatcher batcher(options, [&store] { return store.Latest(); }, &registry);
  InferenceServiceImpl service(&batcher);
  ASSIGN_OR_RETURN(StartedServer server, StartGrpcServer("127.0.0.1:0", {&service}, kMessageBytes));
  const std::string address = absl::StrCat("127.0.0.1:", server.port);
  Shared shared;
  BenchActors actors;
  actors.Start(transport, address, request, rows, streams, shape, &shared);
  absl::SleepFor(absl::Seconds(std::clamp(seconds / 4, 0.3, 1.0)));  // warm-up: connections
  const InferenceStats before = batcher.Stats();
  const double forward_before = MetricSum(registry, "rill_inference_forward_seconds");
  const double uint8_before = MetricSum(registry, "rill_inference_observation_bytes_total", "uint8");
  const double float32_before = MetricSum(registry, "rill_inference_observation_bytes_total", "float32");
  const double cpu_before = SelfCpuSeconds();
  shared.timing.store(true);
  const absl::Time start = absl::Now();
  absl::SleepFor(absl::Seconds(seconds));
  shared.timing.store(false);
  const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
  const double cpu_seconds = SelfCpuSeconds() - cpu_before;
  const InferenceStats after = batcher.Stats();
  const double forward_seconds = MetricSum(registry, "rill_inference_forward_seconds") - forward_before;
  CentralResult result;
  result.uint8_observation_bytes =
      MetricSum(registry, "rill_inference_observation_bytes_total", "uint8") - uint8_before;
  result.float32_observation_bytes =
      MetricSum(registry, "rill_inference_observation_bytes_total", "float32") - float32_before;
  result.threads = ThreadCount(getpid());
  shared.stop.store(true);
  RETURN_IF_ERROR(actors.Wait());
  server.server->Shutdown(DeadlineIn(absl::Seconds(2)));
  batcher.Stop();
  std::vector<double> latencies = shared.latencies.Take();
  std::sort(latencies.begin(), latencies.end());
  result.actions_per_second = static_cast<double>(shared.actions.load()) / elapsed;
  const double batches = static_cast<double>(after.batches - before.batches);
  const double window_rows = static_cast<double>(after.rows - before.rows);
  result.mean_batch = batches > 0 ? window_rows / batches : 0;
  result.p50 = Percentile(latencies, 0.5);
  result.p99 = Percentile(latencies, 0.99);
  result.cpu_cores_busy = cpu_seconds / elapsed;
  result.forward_rows_per_second = forward_seconds > 0 ? window_rows / forward_seconds : 0;
  return result;
}

struct Setup {
  double seconds = 0;
  std::vector<Transport> transports;
  std::vector<int> streams, envs;
  int64_t max_wait = 0;
  int cores = 0;
  std::string load_before;
};

// The MLP cases (Pendulum- and HalfCheetah-sized float observations, a 2x256
// Gaussian policy): the bench without --torso.
absl::Status RunMlp(const Setup& setup) {
  std::cerr << "inference bench: " << setup.cores << " cores, load average " << setup.load_before << ", "
            << setup.seconds << " s per case, 2x256 MLP Gaussian policy\n";
  std::vector<std::string> cases;
  double headline = 0, headline_p99 = 0;
  for (const auto& [env_name, obs_dim, act_dim] :
       std::vector<std::tuple<std::string, int, int>>{{"pendulum", 3, 1}, {"halfcheetah", 17, 6}}) {
    const v1::PolicySpec spec = BenchSpec(obs_dim, act_dim);
    ASSIGN_OR_RETURN(std::unique_ptr<policies::Policy> policy, policies::MakePolicy(spec, 1));
    ASSIGN_OR_RETURN(v1::ParameterSet params, policy->ExportParameters());
    parameters::ParameterStore store;
    RETURN_IF_ERROR(store.Publish(1, 0, params.SerializeAsString()));
    for (int rows : setup.envs) {
      const double local_per_core = LocalActionsPerSecond(*policy, obs_dim, rows, std::min(setup.seconds, 1.0));
      v1::ActRequest request;
      ASSIGN_OR_RETURN(*request.mutable_observations(), FromTorch(torch::randn({rows, obs_dim})));
      for (int n : setup.streams) {
        for (Transport transport : setup.transports) {
          ASSIGN_OR_RETURN(const CentralResult central,
                           MeasureCentral(store, request, rows, n, setup.seconds, setup.max_wait,
                                          envs::ObservationType::kFloat32, transport, ActShape{act_dim, 0}));
          const double central_per_core =
              central.cpu_cores_busy > 0 ? central.actions_per_second / central.cpu_cores_busy : 0;
          const double ratio = local_per_core > 0 ? central_per_core / local_per_core : 0;
          std::cerr << absl::StrFormat(
              "  %-11s %-13s %3d streams x %d envs: central %9.0f actions/s on %.2f cores = %8.0f per core, round "
              "trip p50 %.3f ms p99 %.2f ms, mean batch %.1f | local %9.0f actions/s per core | central/local per "
              "core %.2f\n",
              env_name, TransportName(transport), n, rows, central.actions_per_second, central.cpu_cores_busy,
              central_per_core, central.p50, central.p99, central.mean_batch, local_per_core, ratio);
          cases.push_back(absl::StrFormat(
              "{\"obs\":\"%s\",\"obs_dim\":%d,\"transport\":\"%s\",\"streams\":%d,\"envs_per_stream\":%d,"
              "\"central_actions_per_second\":%.1f,\"round_trip_ms\":{\"p50\":%.3f,\"p99\":%.3f},"
              "\"mean_batch_rows\":%.2f,\"threads\":%d,\"central_cpu_cores_busy\":%.3f,"
              "\"central_actions_per_second_per_core\":%.1f,\"local_actions_per_second_per_core\":%.1f,"
              "\"local_actions_per_second_all_cores\":%.1f,\"central_to_local_per_core\":%.3f}",
              env_name, obs_dim, TransportName(transport), n, rows, central.actions_per_second, central.p50,
              central.p99, central.mean_batch, central.threads, central.cpu_cores_busy, central_per_core,
              local_per_core, local_per_core * setup.cores, ratio));
          if (n == 256 && central.actions_per_second > headline) {
            headline = central.actions_per_second;
            headline_p99 = central.p99;
          }
        }
      }
    }
  }
  std::cout << absl::StrFormat(
                   "{\"bench\":\"inference\",\"cores\":%d,\"load_average_1m_before\":%s,\"load_average_1m_after\":%s,"
                   "\"seconds_per_case\":%.1f,\"max_wait_micros\":%d,\"cases\":[%s],"
                   "\"best_256_streams\":{\"actions_per_second\":%.1f,\"p99_ms\":%.3f},"
                   "\"targets\":{\"actions_per_second\":100000,\"p99_ms\":5}}",
                   setup.cores, setup.load_before, LoadAverage(), setup.seconds, setup.max_wait,
                   absl::StrJoin(cases, ","), headline, headline_p99)
            << std::endl;
  return absl::OkStatus();
}

// One image case's line on stderr and JSON object (into `cases`); returns
// its central/local per-core ratio.
double ReportImageCase(const envs::EnvSpec& env, Transport transport, int n, int rows, const CentralResult& central,
                       double local_before, double local_after, int cores, std::vector<std::string>* cases) {
  const double local_per_core = (local_before + local_after) / 2;
  const double central_per_core =
      central.cpu_cores_busy > 0 ? central.actions_per_second / central.cpu_cores_busy : 0;
  const double ratio = local_per_core > 0 ? central_per_core / local_per_core : 0;
  std::cerr << absl::StrFormat(
      "  %s %-13s %3d streams x %d envs: central %7.0f actions/s on %.2f cores = %7.0f per core (batch forward alone "
      "%7.0f rows/s), round trip p50 %.1f ms p99 %.1f ms, mean batch %.1f | local %7.0f actions/s per core "
      "(%.0f, %.0f) | central/local per core %.2f\n",
      env.name, TransportName(transport), n, rows, central.actions_per_second, central.cpu_cores_busy, central_per_core,
      central.forward_rows_per_second, central.p50, central.p99, central.mean_batch, local_per_core,
      local_before, local_after, ratio);
  cases->push_back(absl::StrFormat(
      "{\"obs\":\"%s\",\"obs_dim\":%d,\"transport\":\"%s\",\"streams\":%d,\"envs_per_stream\":%d,"
      "\"central_actions_per_second\":%.1f,"
      "\"round_trip_ms\":{\"p50\":%.3f,\"p99\":%.3f},\"mean_batch_rows\":%.2f,\"threads\":%d,"
      "\"central_cpu_cores_busy\":%.3f,\"central_actions_per_second_per_core\":%.1f,"
      "\"central_forward_rows_per_second\":%.1f,\"uint8_observation_bytes\":%.0f,"
      "\"float32_observation_bytes\":%.0f,\"local_actions_per_second_per_core\":%.1f,"
      "\"local_samples\":[%.1f,%.1f],\"local_actions_per_second_all_cores\":%.1f,"
      "\"central_to_local_per_core\":%.3f}",
      env.name, env.obs_dim(), TransportName(transport), n, rows, central.actions_per_second, central.p50,
      central.p99, central.mean_batch, central.threads, central.cpu_cores_busy, central_per_core, central.forward_rows_per_second,
      central.uint8_observation_bytes, central.float32_observation_bytes, local_per_core, local_before,
      local_after, local_per_core * cores, ratio));
  return ratio;
}

// Actions of the image policy: Atari's and MinAtar's full action set.
constexpr int kImageActions = 6;

// The image cases (--torso): a categorical policy with that torso and its
// preset's MLP width on uint8 observations of --obs_shape, acting with
// behaviour information as an IMPALA actor does. Central requests carry the
// pixels as uint8; local inference scales them on the actor's thread.
// Central per core is its actions per CPU second of this whole process
// (service, batch forwards, and the actor streams' client side alike);
// local per core is one actor thread's.
absl::Status RunImage(const Setup& setup, const BenchTorso& torso) {
  envs::EnvSpec env;
  env.name = absl::AsciiStrToLower(torso.name);
  env.observation_shape = torso.observation_shape();
  env.observation_type = envs::ObservationType::kUint8;
  env.discrete = true;
  env.num_actions = kImageActions;
  v1::PolicySpec spec = policies::PolicySpecFor("categorical", env, {torso.default_hidden});
  RETURN_IF_ERROR(policies::SetTorso(env, torso.layers, &spec));
  ASSIGN_OR_RETURN(std::unique_ptr<policies::Policy> policy, policies::MakePolicy(spec, 1));
  ASSIGN_OR_RETURN(v1::ParameterSet params, policy->ExportParameters());
  parameters::ParameterStore store;
  RETURN_IF_ERROR(store.Publish(1, 0, params.SerializeAsString()));
  const std::string shape = absl::StrJoin(env.observation_shape, ",");
  std::cerr << "inference bench: " << setup.cores << " cores, load average " << setup.load_before << ", "
            << setup.seconds << " s per case, " << torso.name << " on uint8 [" << shape << "], hidden "
            << torso.default_hidden << ", categorical policy of " << kImageActions << " actions\n";
  const double local_seconds = std::clamp(setup.seconds / 2, 0.05, 2.0);
  std::vector<std::string> cases;
  double headline = 0, headline_p99 = 0, headline_ratio = 0;
  for (int rows : setup.envs) {
    v1::ActRequest request;
    request.set_behaviour(true);
    const std::vector<uint8_t> pixels = RandomPixels(env, rows);
    ASSIGN_OR_RETURN(*request.mutable_observations(),
                     FromTorch(torch::from_blob(const_cast<uint8_t*>(pixels.data()), {rows, env.obs_dim()},
                                                torch::kUInt8)));
    for (int n : setup.streams) {
      for (Transport transport : setup.transports) {
        // Local before and after the central case, so a burst of other
        // load on the machine weighs on both sides.
        ASSIGN_OR_RETURN(const double local_before, LocalImageActionsPerSecond(*policy, env, rows, local_seconds));
        ASSIGN_OR_RETURN(const CentralResult central,
                         MeasureCentral(store, request, rows, n, setup.seconds, setup.max_wait,
                                        envs::ObservationType::kUint8, transport, ActShape{0, kImageActions}));
        ASSIGN_OR_RETURN(const double local_after, LocalImageActionsPerSecond(*policy, env, rows, local_seconds));
        const double ratio =
            ReportImageCase(env, transport, n, rows, central, local_before, local_after, setup.cores, &cases);
        if (n == 256 && ratio > headline_ratio) {
          headline = central.actions_per_second;
          headline_p99 = central.p99;
          headline_ratio = ratio;
        }
      }
    }
  }
  std::cout << absl::StrFormat(
                   "{\"bench\":\"inference\",\"cores\":%d,\"load_average_1m_before\":%s,\"load_average_1m_after\":%s,"
                   "\"seconds_per_case\":%.1f,\"max_wait_micros\":%d,\"torso\":\"%s\",\"obs_shape\":\"%s\","
                   "\"observation_dtype\":\"uint8\",\"hidden\":%d,\"num_actions\":%d,\"cases\":[%s],"
                   "\"best_256_streams\":{\"actions_per_second\":%.1f,\"p99_ms\":%.3f,"
                   "\"central_to_local_per_core\":%.3f},"
                   "\"targets\":{\"central_to_local_per_core_at_256_streams\":1}}",
                   setup.cores, setup.load_before, LoadAverage(), setup.seconds, setup.max_wait, torso.name, shape,
                   torso.default_hidden, kImageActions, absl::StrJoin(cases, ","), headline, headline_p99,
                   headline_ratio)
            << std::endl;
  return absl::OkStatus();
}

absl::Status Run() {
  Setup setup;
  setup.seconds = absl::GetFlag(FLAGS_bench_seconds);
  if (setup.seconds == 0) setup.seconds = 2;
  if (!(setup.seconds > 0)) return absl::InvalidArgumentError("--bench_seconds must be positive");
  ASSIGN_OR_RETURN(setup.streams, Counts("bench_streams", absl::GetFlag(FLAGS_bench_streams), 1024));
  ASSIGN_OR_RETURN(setup.envs, Counts("bench_envs", absl::GetFlag(FLAGS_bench_envs), 4096));
  for (absl::string_view word : absl::StrSplit(absl::GetFlag(FLAGS_bench_transport), ',', absl::SkipEmpty())) {
    if (word == "grpc") {
      setup.transports.push_back(Transport::kGrpc);
    } else if (word == "shared_memory") {
      setup.transports.push_back(Transport::kSharedMemory);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("--bench_transport: '", word, "' is not a transport (grpc, shared_memory)"));
    }
  }
  if (setup.transports.empty()) return absl::InvalidArgumentError("--bench_transport lists nothing");
  setup.max_wait = absl::GetFlag(FLAGS_bench_max_wait_micros);
  if (setup.max_wait <= 0) return absl::InvalidArgumentError("--bench_max_wait_micros must be positive");
  ASSIGN_OR_RETURN(const std::optional<BenchTorso> torso, TorsoFromFlags());
  rlimit files{};
  getrlimit(RLIMIT_NOFILE, &files);
  files.rlim_cur = files.rlim_max;
  setrlimit(RLIMIT_NOFILE, &files);
  torch::set_num_threads(1);  // the batch runs on the inference thread, as in the learner's default
  SetBlasThreads(1);
  setup.cores = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  setup.load_before = LoadAverage();
  return torso.has_value() ? RunImage(setup, *torso) : RunMlp(setup);
}

}  // namespace

int RunInferenceBench() {
  absl::Status status = Run();
  if (!status.ok()) {
    std::cerr << "inference bench failed: " << status << std::endl;
    return 1;
  }
  return 0;
}

}  // namespace rill::bench
