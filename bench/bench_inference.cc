#include "bench/bench_inference.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <memory>
#include <string>
#include <random>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/bench_probes.h"
#include "common/blas.h"
#include "flags/flags.h"
#include "common/grpc_util.h"
#include "common/status_macros.h"
#include "common/torch_tensor.h"
#include "learner/inference/inference_service.h"
#include "policies/registry.h"

ABSL_FLAG(std::string, bench_streams, "1,16,64,256", "Actor streams per inference bench case, comma-separated.");
ABSL_FLAG(std::string, bench_envs, "1,8", "Envs per actor (rows per request), comma-separated.");
ABSL_FLAG(int64_t, bench_max_wait_micros, 2000, "The inference bench's batch max_wait.");

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

absl::Status Run() {
  double seconds = absl::GetFlag(FLAGS_bench_seconds);
  if (seconds == 0) seconds = 2;
  if (!(seconds > 0)) return absl::InvalidArgumentError("--bench_seconds must be positive");
  ASSIGN_OR_RETURN(std::vector<int> streams, Counts("bench_streams", absl::GetFlag(FLAGS_bench_streams), 1024));
  ASSIGN_OR_RETURN(std::vector<int> envs, Counts("bench_envs", absl::GetFlag(FLAGS_bench_envs), 4096));
  const int64_t max_wait = absl::GetFlag(FLAGS_bench_max_wait_micros);
  if (max_wait <= 0) return absl::InvalidArgumentError("--bench_max_wait_micros must be positive");
  rlimit files{};
  getrlimit(RLIMIT_NOFILE, &files);
  files.rlim_cur = files.rlim_max;
  setrlimit(RLIMIT_NOFILE, &files);
  torch::set_num_threads(1);  // the batch runs on the inference thread, as in the learner's default
  SetBlasThreads(1);
  const int cores = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  const std::string load_before = LoadAverage();
  std::cerr << "inference bench: " << cores << " cores, load average " << load_before << ", " << seconds
            << " s per case, 2x256 MLP Gaussian policy\n";

  std::vector<std::string> cases;
  double headline = 0, headline_p99 = 0;
  for (const auto& [env_name, obs_dim, act_dim] :
       std::vector<std::tuple<std::string, int, int>>{{"pendulum", 3, 1}, {"halfcheetah", 17, 6}}) {
    const v1::PolicySpec spec = BenchSpec(obs_dim, act_dim);
    ASSIGN_OR_RETURN(std::unique_ptr<policies::Policy> policy, policies::MakePolicy(spec, 1));
    ASSIGN_OR_RETURN(v1::ParameterSet params, policy->ExportParameters());
    parameters::ParameterStore store;
    RETURN_IF_ERROR(store.Publish(1, 0, params.SerializeAsString()));
    for (int rows : envs) {
      const double local_per_core = LocalActionsPerSecond(*policy, obs_dim, rows, std::min(seconds, 1.0));
      v1::ActRequest request;
      ASSIGN_OR_RETURN(*request.mutable_observations(), FromTorch(torch::randn({rows, obs_dim})));
      for (int n : streams) {
        InferenceOptions options;
        options.max_wait = absl::Microseconds(max_wait);
        InferenceBatcher batcher(options, [&store] { return store.Latest(); });
        InferenceServiceImpl service(&batcher);
        ASSIGN_OR_RETURN(StartedServer server, StartGrpcServer("127.0.0.1:0", {&service}, kMessageBytes));
        const std::string address = absl::StrCat("127.0.0.1:", server.port);
        Shared shared;
        std::vector<std::unique_ptr<v1::InferenceService::Stub>> stubs;
        std::vector<std::unique_ptr<BenchActor>> actors;
        for (int i = 0; i < n; ++i) {
          grpc::ChannelArguments args;
          args.SetMaxReceiveMessageSize(static_cast<int>(kMessageBytes));
          args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection per actor process
          stubs.push_back(
              v1::InferenceService::NewStub(grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args)));
          actors.push_back(std::make_unique<BenchActor>(stubs.back().get(), request, rows, &shared));
        }
        absl::SleepFor(absl::Seconds(std::clamp(seconds / 4, 0.3, 1.0)));  // warm-up: connections
        const InferenceStats before = batcher.Stats();
        shared.timing.store(true);
        const absl::Time start = absl::Now();
        absl::SleepFor(absl::Seconds(seconds));
        shared.timing.store(false);
        const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
        const InferenceStats after = batcher.Stats();
        const int threads = ThreadCount(getpid());
        shared.stop.store(true);
        for (auto& actor : actors) {
          grpc::Status status = actor->Wait();
          if (!status.ok()) {
            return absl::InternalError(absl::StrCat("an actor stream failed: ", status.error_message()));
          }
        }
        server.server->Shutdown(DeadlineIn(absl::Seconds(2)));
        batcher.Stop();
        std::vector<double> latencies = shared.latencies.Take();
        std::sort(latencies.begin(), latencies.end());
        const double actions_per_second = static_cast<double>(shared.actions.load()) / elapsed;
        const double batches = static_cast<double>(after.batches - before.batches);
        const double mean_batch = batches > 0 ? static_cast<double>(after.rows - before.rows) / batches : 0;
        const double p50 = Percentile(latencies, 0.5), p99 = Percentile(latencies, 0.99);
        std::cerr << absl::StrFormat(
            "  %-11s %3d streams x %d envs: central %9.0f actions/s, round trip p50 %.2f ms p99 %.2f ms, mean batch "
            "%.1f | local %9.0f actions/s per core (%.0f on %d cores)\n",
            env_name, n, rows, actions_per_second, p50, p99, mean_batch, local_per_core, local_per_core * cores,
            cores);
        cases.push_back(absl::StrFormat(
            "{\"obs\":\"%s\",\"obs_dim\":%d,\"streams\":%d,\"envs_per_stream\":%d,\"central_actions_per_second\":%.1f,"
            "\"round_trip_ms\":{\"p50\":%.3f,\"p99\":%.3f},\"mean_batch_rows\":%.2f,\"threads\":%d,"
            "\"local_actions_per_second_per_core\":%.1f,\"local_actions_per_second_all_cores\":%.1f}",
            env_name, obs_dim, n, rows, actions_per_second, p50, p99, mean_batch, threads, local_per_core,
            local_per_core * cores));
        if (n == 256 && actions_per_second > headline) {
          headline = actions_per_second;
          headline_p99 = p99;
        }
      }
    }
  }
  std::cout << absl::StrFormat(
                   "{\"bench\":\"inference\",\"cores\":%d,\"load_average_1m_before\":%s,\"load_average_1m_after\":%s,"
                   "\"seconds_per_case\":%.1f,\"max_wait_micros\":%d,\"cases\":[%s],"
                   "\"best_256_streams\":{\"actions_per_second\":%.1f,\"p99_ms\":%.3f},"
                   "\"targets\":{\"actions_per_second\":100000,\"p99_ms\":5}}",
                   cores, load_before, LoadAverage(), seconds, max_wait, absl::StrJoin(cases, ","), headline,
                   headline_p99)
            << std::endl;
  return absl::OkStatus();
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
