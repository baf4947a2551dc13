#include "bench/bench_learner.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <cstdint>
#include <functional>
#include <future>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/random_batch.h"
#include "bench/torso_flags.h"
#include "flags/flags.h"
#include "common/status_macros.h"
#include "learner/algorithms/registry.h"
#include "learner/algorithms/spec.h"
#include "learner/device.h"
#include "learner/learner_group.h"
#include "learner/networks.h"
#include "learner/thread_tuner.h"
#include "learner/torch_torso.h"
#include "policies/torso.h"
#include "torch/torch.h"

ABSL_FLAG(std::string, algo, "sac",
          "Algorithm whose update the learner benchmark times, by its config name: sac, td3, ddpg, sac_discrete, "
          "impala, ppo, drqv2, maddpg, dsac_t, droq, crossq, simbav2.");
ABSL_FLAG(int, obs_dim, 17, "Observation size of the benchmarked networks.");
ABSL_FLAG(int, act_dim, 6, "Action size of the benchmarked networks (number of actions for a discrete algorithm).");
ABSL_FLAG(int, batch, 256, "Items per benchmarked update (transitions, or unrolls for impala and ppo).");
ABSL_FLAG(int, unroll, 20, "impala, ppo: steps per unroll (T).");
ABSL_FLAG(std::string, action_space, "auto",
          "discrete or continuous, for an algorithm that acts in both (impala); auto: the algorithm's only one, "
          "discrete for impala.");
ABSL_FLAG(std::string, hidden, "256,256", "Hidden layer widths of the benchmarked networks, comma-separated.");
ABSL_FLAG(std::string, activation, "",
          "RELU or GELU: the hidden layers' nonlinearity (network.activation; GELU for sac and dsac_t); empty: the "
          "algorithm's default (GELU for dsac_t).");
ABSL_FLAG(int, lstm, 0,
          "impala, ppo: units of a recurrent core (network.lstm) after the hidden layers; the update then re-runs it "
          "over every unroll. 0: feed-forward.");
ABSL_FLAG(std::string, device, "auto", "Where the benchmarked update runs: auto (CUDA when LibTorch sees a GPU), cpu or cuda.");
ABSL_FLAG(int, bench_threads, 0, "Intra-op threads for the benchmark (0: all cores).");
ABSL_FLAG(bool, bench_contention, false,
          "Also time the update alone and beside one busy process (a child spinning on one core), with the threads "
          "the learner picks by measuring (learner/thread_tuner.h, up to --bench_threads) and with all "
          "--bench_threads fixed, --bench_seconds each, in this run.");
namespace rill::bench {

using learner::ActionSpaces;
using learner::Algorithm;
using learner::AlgorithmContext;
using learner::AlgorithmSpec;
using learner::Batch;
using learner::ColumnRequirement;
using learner::CreateAlgorithm;
using learner::FinalizeLearnerConfig;
using learner::FindAlgorithmSpec;
using learner::LibTorchDescription;
using learner::PickDevice;
using learner::Statistic;

namespace {

// Runs `step` repeatedly for about `seconds` (after `warmup` calls) and
// returns calls per second. `sync` waits for the device to finish.
template <typename Step, typename Sync>
double Rate(double seconds, int warmup, Step step, Sync sync) {
  for (int i = 0; i < warmup; ++i) step();
  sync();
  int64_t calls = 0;
  const absl::Time start = absl::Now();
  const absl::Time end = start + absl::Seconds(seconds);
  absl::Time now = start;
  while (now < end) {
    for (int i = 0; i < 10; ++i) step();
    calls += 10;
    sync();
    now = absl::Now();
  }
  return static_cast<double>(calls) / absl::ToDoubleSeconds(now - start);
}

// What N ranks measured: each rank's updates per second with its
// allreduces, and the allreduces' share of an update.
struct RankFigures {
  double updates_per_second = 0;
  double allreduces_per_update = 0;
  double allreduce_bytes_per_update = 0;
  double allreduce_seconds_per_update = 0;
  // The same allreduces with no update around them: the transfer itself,
  // without waiting for a slower rank.
  double idle_allreduce_seconds_per_update = 0;
};

// `ranks` algorithms from `make`, joined into one group over loopback, each
// updating on `items` on its own thread: `updates` updates each (the same
// count, so that their collectives pair up) after a few to warm up.
absl::StatusOr<RankFigures> MeasureRanks(int ranks, int64_t updates,
                                         const std::function<absl::StatusOr<std::unique_ptr<Algorithm>>()>& make,
                                         const Batch& items) {
  std::vector<std::unique_ptr<Algorithm>> algorithms;
  for (int r = 0; r < ranks; ++r) {
    ASSIGN_OR_RETURN(std::unique_ptr<Algorithm> algorithm, make());
    algorithms.push_back(std::move(algorithm));
  }
  std::promise<uint16_t> port;
  std::shared_future<uint16_t> bound = port.get_future().share();
  std::vector<std::future<absl::StatusOr<std::unique_ptr<learner::LearnerGroup>>>> joining;
  for (int r = 0; r < ranks; ++r) {
    learner::LearnerGroupOptions options;
    options.rank = r;
    options.world_size = ranks;
    options.store_address = "127.0.0.1:0";
    if (r == 0) options.on_store_port = [&port](uint16_t p) { port.set_value(p); };
    joining.push_back(std::async(std::launch::async, [options, bound]() mutable {
      if (options.rank > 0) options.store_address = absl::StrCat("127.0.0.1:", bound.get());
      return learner::LearnerGroup::Join(options);
    }));
  }
  std::vector<std::unique_ptr<learner::LearnerGroup>> groups;
  for (auto& joined : joining) {
    absl::StatusOr<std::unique_ptr<learner::LearnerGroup>> group = joined.get();
    RETURN_IF_ERROR(group.status());
    groups.push_back(*std::move(group));
  }
  constexpr int kWarmup = 5;
  std::vector<absl::Status> failed(static_cast<size_t>(ranks));
  std::vector<learner::LearnerGroupStats> warm(static_cast<size_t>(ranks));
  std::vector<double> seconds(static_cast<size_t>(ranks));
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r) {
    threads.emplace_back([&, r] {
      Algorithm& algorithm = *algorithms[static_cast<size_t>(r)];
      algorithm.set_gradient_averager(groups[static_cast<size_t>(r)].get());
      absl::Status& status = failed[static_cast<size_t>(r)];
      for (int i = 0; i < kWarmup && status.ok(); ++i) status = algorithm.Update(items);
      warm[static_cast<size_t>(r)] = groups[static_cast<size_t>(r)]->stats();
      const absl::Time start = absl::Now();
      for (int64_t i = 0; i < updates && status.ok(); ++i) status = algorithm.Update(items);
      (void)algorithm.Statistics();  // waits for the device
      seconds[static_cast<size_t>(r)] = absl::ToDoubleSeconds(absl::Now() - start);
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const absl::Status& status : failed) RETURN_IF_ERROR(status);
  // Rank 0's figures (every rank's allreduces are the same ones).
  const learner::LearnerGroupStats end = groups[0]->stats();
  const double n = static_cast<double>(updates);
  const double allreduces = static_cast<double>(end.allreduces - warm[0].allreduces) / n;
  const double bytes = static_cast<double>(end.allreduce_bytes - warm[0].allreduce_bytes) / n;
  // The same payload in the same number of allreduces, back to back.
  constexpr int kIdleUpdates = 50;
  const int per_update = std::max(1, static_cast<int>(std::lround(allreduces)));
  const int64_t floats = static_cast<int64_t>(bytes / per_update / sizeof(float));
  std::vector<double> idle(static_cast<size_t>(ranks));
  threads.clear();
  for (int r = 0; r < ranks; ++r) {
    threads.emplace_back([&, r] {
      torch::Tensor buffer = torch::ones({std::max<int64_t>(1, floats)});
      absl::Status& status = failed[static_cast<size_t>(r)];
      const absl::Time start = absl::Now();
      for (int i = 0; i < kIdleUpdates * per_update && status.ok(); ++i) {
        status = groups[static_cast<size_t>(r)]->Average({buffer});
      }
      idle[static_cast<size_t>(r)] = absl::ToDoubleSeconds(absl::Now() - start) / kIdleUpdates;
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const absl::Status& status : failed) RETURN_IF_ERROR(status);
  RankFigures figures;
  figures.updates_per_second = n / *std::max_element(seconds.begin(), seconds.end());
  figures.allreduces_per_update = allreduces;
  figures.allreduce_bytes_per_update = bytes;
  figures.allreduce_seconds_per_update = (end.allreduce_seconds - warm[0].allreduce_seconds) / n;
  figures.idle_allreduce_seconds_per_update = *std::max_element(idle.begin(), idle.end());
  return figures;
}

// A ring allreduce of `bytes` over `ranks` hosts on links of `gbps` moves
// 2 (N - 1) / N of the payload per host and takes 2 (N - 1) steps, each
// with `step_latency`: the time it adds to an update that makes
// `allreduces` of them.
double ProjectedAllreduceSeconds(double bytes, double allreduces, int ranks, double gbps, double step_latency) {
  const double steps = 2.0 * (ranks - 1);
  return allreduces * (steps * step_latency) + 2.0 * (ranks - 1) / ranks * bytes / (gbps * 1e9 / 8);
}

// A process that keeps one core busy until destroyed: the neighbour of
// --bench_contention.
class BusyProcess {
 public:
  static absl::StatusOr<std::unique_ptr<BusyProcess>> Start() {
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) return absl::InternalError(absl::StrCat("cannot fork a busy process: ", std::strerror(errno)));
    if (pid == 0) {
      // Only async-signal-safe calls in the child of a threaded process; it
      // dies with the benchmark, however that ends.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(0);
      volatile uint64_t spin = 0;
      for (;;) spin = spin + 1;
    }
    return std::unique_ptr<BusyProcess>(new BusyProcess(pid));
  }
  ~BusyProcess() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }

 private:
  explicit BusyProcess(pid_t pid) : pid_(pid) {}
  const pid_t pid_;
};

// Updates for `seconds` with `tuner` picking their threads, as the learner's
// loop does (its probes included): updates per second. On a loaded machine
// the first probe can outlast `seconds`; the updates go on until it has
// kept a count (up to a minute), so the count reported is one it chose.
double TunedRate(learner::ThreadTuner& tuner, double seconds, const std::function<void()>& update) {
  int64_t updates = 0;
  const absl::Time start = absl::Now();
  const absl::Duration least = absl::Seconds(seconds);
  const absl::Duration most = std::max(least, absl::Seconds(60));
  absl::Time now = start;
  while (now - start < least || (tuner.kept() == 0 && now - start < most)) {
    const absl::Time begin = now;
    update();
    now = absl::Now();
    tuner.Observe(now - begin);
    ++updates;
  }
  return static_cast<double>(updates) / absl::ToDoubleSeconds(now - start);
}

// --bench_contention: the update alone and beside one busy process, with
// the threads the learner picks and with `threads` fixed (whose rate alone
// is `fixed_alone`). Returns the JSON fields.
absl::StatusOr<std::string> MeasureContention(int threads, double seconds, double fixed_alone,
                                              const std::function<void()>& update) {
  learner::ThreadTuner::Options options;
  options.max_threads = threads;
  learner::ThreadTuner tuner(options, [](int n) { torch::set_num_threads(n); });
  const double alone = TunedRate(tuner, seconds, update);
  const int alone_threads = tuner.kept();
  const std::string alone_measured = tuner.Describe();
  double beside = 0;
  double fixed_beside = 0;
  int beside_threads = 0;
  std::string beside_measured;
  {
    ASSIGN_OR_RETURN(std::unique_ptr<BusyProcess> busy, BusyProcess::Start());
    // The same tuner: a neighbour that starts while the learner trains.
    beside = TunedRate(tuner, seconds, update);
    beside_threads = tuner.kept();
    beside_measured = tuner.Describe();
    torch::set_num_threads(threads);
    fixed_beside = Rate(seconds, 5, update, [] {});
  }
  torch::set_num_threads(threads);
  std::cerr << absl::StrFormat(
      "learner bench: beside one busy process (a child spinning on one core), %.0f s each:\n"
      "  threads picked by measuring (up to %d): %.1f updates/s alone on %d (%s), %.1f beside it on %d (%s): "
      "keeps %.0f%%\n"
      "  %d threads fixed: %.1f alone, %.1f beside it: keeps %.0f%%\n",
      seconds, threads, alone, alone_threads, alone_measured, beside, beside_threads, beside_measured,
      100 * beside / alone, threads, fixed_alone, fixed_beside, 100 * fixed_beside / fixed_alone);
  return absl::StrFormat(
      ",\"contention\":{\"busy_processes\":1,\"seconds\":%.1f,\"tuned_alone_updates_per_second\":%.2f,"
      "\"tuned_alone_threads\":%d,\"tuned_beside_busy_updates_per_second\":%.2f,\"tuned_beside_busy_threads\":%d,"
      "\"tuned_kept_fraction\":%.4f,\"fixed_threads\":%d,\"fixed_alone_updates_per_second\":%.2f,"
      "\"fixed_beside_busy_updates_per_second\":%.2f,\"fixed_kept_fraction\":%.4f}",
      seconds, alone, alone_threads, beside, beside_threads, beside / alone, threads, fixed_alone, fixed_beside,
      fixed_beside / fixed_alone);
}

// --activation, or the algorithm's default. InvalidArgument for an unknown
// name or GELU where the algorithm trains ReLU networks only.
absl::StatusOr<v1::Activation> ActivationFromFlag(const AlgorithmSpec& spec) {
  const std::string flag = absl::GetFlag(FLAGS_activation);
  v1::Activation activation = spec.default_activation;
  if (!flag.empty() && (!v1::Activation_Parse(flag, &activation) || activation == v1::ACTIVATION_DEFAULT)) {
    return absl::InvalidArgumentError(absl::StrCat("--activation '", flag, "' (known: RELU, GELU)"));
  }
  if (activation == v1::GELU && !spec.gelu) {
    return absl::InvalidArgumentError(absl::StrCat("--activation GELU: ", spec.name, " trains ReLU networks only"));
  }
  return activation;
}

absl::Status Run() {
  const std::string algo = absl::GetFlag(FLAGS_algo);
  ASSIGN_OR_RETURN(const AlgorithmSpec* spec, FindAlgorithmSpec(algo));
  const int batch = absl::GetFlag(FLAGS_batch);
  double seconds = absl::GetFlag(FLAGS_bench_seconds);
  if (seconds == 0) seconds = 10;  // the flag is shared with other benchmarks
  if (batch <= 0) return absl::InvalidArgumentError("--batch must be positive");
  if (!(seconds > 0)) return absl::InvalidArgumentError("--bench_seconds must be positive");
  const int obs_dim = absl::GetFlag(FLAGS_obs_dim);
  const int act_dim = absl::GetFlag(FLAGS_act_dim);
  if (obs_dim <= 0 || act_dim <= 0) return absl::InvalidArgumentError("--obs_dim and --act_dim must be positive");
  int threads = absl::GetFlag(FLAGS_bench_threads);
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(threads);
  const std::string blas_core = EnsureFastOpenBlasKernels();

  // A synthetic env of the requested sizes and the algorithm's defaults.
  AlgorithmContext context;
  context.env.name = "bench";
  context.env.observation_shape = {obs_dim};
  ASSIGN_OR_RETURN(const std::optional<BenchTorso> torso_flags, TorsoFromFlags());
  const std::string torso_name = torso_flags.has_value() ? torso_flags->name : "";
  if (torso_flags.has_value()) {
    context.env.observation_shape = torso_flags->observation_shape();
    context.env.observation_type = envs::ObservationType::kUint8;
    for (const v1::TorsoLayer& layer : torso_flags->layers) {
      *context.config.mutable_network()->add_torso_layers() = layer;
    }
  }
  const std::string space = absl::GetFlag(FLAGS_action_space);
  if (space != "auto" && space != "discrete" && space != "continuous") {
    return absl::InvalidArgumentError(absl::StrCat("--action_space '", space, "' (known: auto, discrete, continuous)"));
  }
  context.env.discrete = space == "auto" ? spec->action_spaces != ActionSpaces::kContinuous : space == "discrete";
  if (context.env.discrete) {
    context.env.num_actions = act_dim;
  } else {
    context.env.action_low.assign(act_dim, -1.f);
    context.env.action_high.assign(act_dim, 1.f);
  }
  std::string hidden_text;
  for (absl::string_view width : absl::StrSplit(absl::GetFlag(FLAGS_hidden), ',', absl::SkipEmpty())) {
    int h = 0;
    if (!absl::SimpleAtoi(width, &h) || h <= 0) {
      return absl::InvalidArgumentError(absl::StrCat("--hidden '", absl::GetFlag(FLAGS_hidden), "': '", width,
                                                     "' is not a positive width"));
    }
    context.config.mutable_network()->add_hidden_sizes(h);
    absl::StrAppend(&hidden_text, hidden_text.empty() ? "" : "x", h);
  }
  if (context.config.network().hidden_sizes_size() == 0) return absl::InvalidArgumentError("--hidden is empty");
  ASSIGN_OR_RETURN(const v1::Activation activation, ActivationFromFlag(*spec));
  context.config.mutable_network()->set_activation(activation);
  const int lstm = absl::GetFlag(FLAGS_lstm);
  if (lstm < 0 || lstm > 4096) return absl::InvalidArgumentError(absl::StrCat("--lstm ", lstm, " is out of range (0..4096)"));
  if (lstm > 0) {
    if (!spec->recurrent_core) {
      return absl::InvalidArgumentError(absl::StrCat("--lstm: ", spec->name, " trains no recurrent core (impala, ppo do)"));
    }
    context.config.mutable_network()->mutable_lstm()->set_size(lstm);
    absl::StrAppend(&hidden_text, "+lstm", lstm);
  }
  v1::LearnerConfig* learner = context.config.mutable_learner();
  const google::protobuf::FieldDescriptor* field = learner->GetDescriptor()->FindFieldByName(spec->name);
  learner->GetReflection()->MutableMessage(learner, field);  // selects the algorithm with its defaults
  learner->set_batch_size(batch);
  int64_t steps_per_item = 1;
  if (spec->item_kind == items::ItemKind::kUnroll) {
    if (absl::GetFlag(FLAGS_unroll) < 1) return absl::InvalidArgumentError("--unroll must be positive");
    // Every unroll algorithm's section has an unroll_length (impala, ppo).
    google::protobuf::Message* section = learner->GetReflection()->MutableMessage(learner, field);
    const google::protobuf::FieldDescriptor* unroll = section->GetDescriptor()->FindFieldByName("unroll_length");
    if (unroll == nullptr) return absl::InternalError(absl::StrCat(spec->name, " has no unroll_length"));
    section->GetReflection()->SetInt32(section, unroll, absl::GetFlag(FLAGS_unroll));
    steps_per_item = absl::GetFlag(FLAGS_unroll);
  }
  RETURN_IF_ERROR(FinalizeLearnerConfig(*learner, context.env));
  ASSIGN_OR_RETURN(context.device, PickDevice(absl::GetFlag(FLAGS_device), "--device"));
  ASSIGN_OR_RETURN(std::unique_ptr<Algorithm> algorithm, CreateAlgorithm(context));
  const torch::Device device = context.device;
  const auto float_options = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  const Batch items = RandomBatch(*algorithm, batch, absl::GetFlag(FLAGS_act_dim), device);

  absl::Status update_status;
  auto update = [&] {
    if (update_status.ok()) update_status = algorithm->Update(items);
  };
  // Reading the statistics waits for the device.
  auto sync_algorithm = [&] { (void)algorithm->Statistics(); };
  const double updates_per_second = Rate(seconds, 20, update, sync_algorithm);
  RETURN_IF_ERROR(update_status);
  std::string contention_json;
  if (absl::GetFlag(FLAGS_bench_contention)) {
    if (!device.is_cpu()) return absl::InvalidArgumentError("--bench_contention measures a CPU learner (--device=cpu)");
    ASSIGN_OR_RETURN(contention_json, MeasureContention(threads, seconds, updates_per_second, update));
    RETURN_IF_ERROR(update_status);
  }
  const std::vector<Statistic> stats = algorithm->Statistics();

  // Data-parallel ranks in this process: the same update on every rank,
  // with its gradients averaged, on the cores split between them.
  const int num_learners = absl::GetFlag(FLAGS_num_learners) == -1 ? 1 : absl::GetFlag(FLAGS_num_learners);
  if (num_learners < 1 || num_learners > 64) {
    return absl::InvalidArgumentError(absl::StrCat("--num_learners ", num_learners, " is out of range (1..64)"));
  }
  std::string ranks_json;
  if (num_learners > 1) {
    torch::set_num_threads(std::max(1, threads / num_learners));
    const int64_t rank_updates = std::max<int64_t>(20, static_cast<int64_t>(updates_per_second * seconds / num_learners));
    ASSIGN_OR_RETURN(const RankFigures ranks,
                     MeasureRanks(num_learners, rank_updates, [&context] { return CreateAlgorithm(context); }, items));
    torch::set_num_threads(threads);
    // The update's own work: its time without the allreduces.
    const double update_seconds = 1.0 / ranks.updates_per_second;
    const double compute_seconds = update_seconds - ranks.allreduce_seconds_per_update;
    // Per-step latency of a TCP ring between hosts in one rack: assumed,
    // not measured here (this machine has one host).
    constexpr double kStepLatency = 50e-6;
    std::string projections;
    for (const double gbps : {10.0, 100.0}) {
      const double allreduce = ProjectedAllreduceSeconds(ranks.allreduce_bytes_per_update, ranks.allreduces_per_update,
                                                         8, gbps, kStepLatency);
      absl::StrAppendFormat(&projections, ",\"projected_efficiency_8_ranks_%.0fgbps\":%.4f", gbps,
                            compute_seconds / (compute_seconds + allreduce));
    }
    std::cerr << absl::StrFormat(
        "learner bench: %d ranks over loopback, %d threads each: %.1f updates/s per rank (%.1f alone); "
        "%.1f allreduces of %.0f KB per update take %.2f ms of its %.2f ms (%.0f%%; %.2f ms back to back with no "
        "update around them)\n",
        num_learners, std::max(1, threads / num_learners), ranks.updates_per_second, updates_per_second,
        ranks.allreduces_per_update, ranks.allreduce_bytes_per_update / ranks.allreduces_per_update / 1024,
        1e3 * ranks.allreduce_seconds_per_update, 1e3 * update_seconds,
        100 * ranks.allreduce_seconds_per_update / update_seconds, 1e3 * ranks.idle_allreduce_seconds_per_update);
    ranks_json = absl::StrFormat(
        ",\"num_learners\":%d,\"rank_updates_per_second\":%.2f,\"rank_samples_per_second\":%.1f,"
        "\"allreduces_per_update\":%.2f,\"allreduce_bytes_per_update\":%.0f,"
        "\"allreduce_seconds_per_update\":%.6f,\"allreduce_fraction_of_update\":%.4f,"
        "\"idle_allreduce_seconds_per_update\":%.6f%s",
        num_learners, ranks.updates_per_second, ranks.updates_per_second * batch * num_learners,
        ranks.allreduces_per_update, ranks.allreduce_bytes_per_update, ranks.allreduce_seconds_per_update,
        ranks.allreduce_seconds_per_update / update_seconds, ranks.idle_allreduce_seconds_per_update, projections);
  }

  // The reference: the update's widest layer as one plain matmul (batch x
  // width times width x width) on the same threads and device.
  int64_t width = 0;
  for (int h : context.config.network().hidden_sizes()) width = std::max<int64_t>(width, h);
  const int64_t rows = std::max<int64_t>(batch, 1);
  torch::Tensor a = torch::randn({rows, width}, float_options);
  torch::Tensor b = torch::randn({width, width}, float_options);
  torch::Tensor c = torch::empty({rows, width}, float_options);
  auto matmul = [&] { torch::mm_out(c, a, b); };
  auto sync_matmul = [&] { (void)c[0][0].item<float>(); };
  const double matmuls_per_second = Rate(std::clamp(seconds / 4, 0.5, 3.0), 50, matmul, sync_matmul);
  const double matmul_gflops = 2.0 * static_cast<double>(rows * width * width) * matmuls_per_second / 1e9;
  const std::string matmul_shape = absl::StrCat(rows, "x", width, "x", width);

  // With a torso, the ceiling that matters: the same torso's plain LibTorch
  // forward and backward (autograd, fresh leaves) on the update's
  // observation rows, as if the update did nothing else.
  double torso_updates_per_second = 0;
  if (context.config.network().torso_layers_size() > 0) {
    const std::vector<int64_t>& shape = context.env.observation_shape;
    ASSIGN_OR_RETURN(const learner::TorchTorso torso,
                     learner::TorchTorso::Create(std::vector<v1::TorsoLayer>(
                                                     context.config.network().torso_layers().begin(),
                                                     context.config.network().torso_layers().end()),
                                                 {shape[0], shape[1], shape[2]}));
    std::vector<torch::Tensor> params;
    for (const policies::TorsoParameter& p : torso.Parameters("policy")) {
      params.push_back(torch::randn(p.shape, float_options).mul_(0.05).requires_grad_(true));
    }
    const int64_t observation_rows = batch * (spec->item_kind == items::ItemKind::kUnroll ? steps_per_item + 1 : 1);
    const torch::Tensor x = torch::rand({observation_rows, shape[0] * shape[1] * shape[2]}, float_options);
    auto torso_step = [&] {
      for (torch::Tensor& p : params) p.mutable_grad() = torch::Tensor();
      torso.Forward(x, params).sum().backward();
    };
    auto sync_torso = [&] { (void)params[0].grad()[0].sum().item<float>(); };
    torso_updates_per_second = Rate(std::clamp(seconds / 4, 0.5, 3.0), 2, torso_step, sync_torso);
    std::cerr << absl::StrFormat("learner bench: %s torso alone (LibTorch forward + backward on %d rows of %s): "
                                 "%.2f/s; the update reaches %.0f%% of it\n",
                                 torso_name, observation_rows, absl::StrJoin(shape, "x"), torso_updates_per_second,
                                 100 * updates_per_second / torso_updates_per_second);
  }

  // FLOPs of one update, counted by the algorithm from its matmul shapes
  // (2*M*N*K each; element-wise work is not counted). For SAC at
  // 17/6/256x256/B=256 this is 577.1 MFLOP; see Sac::UpdateMatmulFlops.
  const int64_t flops_per_update = algorithm->UpdateMatmulFlops(batch);
  const double achieved_gflops = static_cast<double>(flops_per_update) * updates_per_second / 1e9;
  const std::string device_name = device.is_cuda() ? "cuda" : "cpu";
  const double env_steps_per_second = updates_per_second * batch * static_cast<double>(steps_per_item);
  std::string last;
  for (const Statistic& statistic : stats) {
    absl::StrAppendFormat(&last, "%s%s%s %.4f", last.empty() ? "" : ", ", statistic.name,
                          statistic.is_loss ? " loss" : "", statistic.value);
  }

  std::cerr << absl::StrFormat(
      "learner bench: %s obs %d act %d (%s) hidden %s %s batch %d x %d steps on %s, %d threads (OpenBLAS core: %s)\n"
      "  %.1f updates/s (%.0f env steps/s learned), %.2f MFLOP/update -> %.1f GFLOP/s; %s matmul %.1f "
      "GFLOP/s (%.0f%%)\n"
      "  last update: %s\n",
      algo, context.env.obs_dim(), act_dim, context.env.discrete ? "discrete" : "continuous", hidden_text,
      v1::Activation_Name(context.config.network().activation()), batch, steps_per_item, device_name, threads,
      blas_core.empty() ? "n/a" : blas_core, updates_per_second, env_steps_per_second,
      flops_per_update / 1e6, achieved_gflops, matmul_shape, matmul_gflops, 100 * achieved_gflops / matmul_gflops,
      last);
  std::cout << absl::StrFormat(
                   "{\"algo\":\"%s\",\"obs_dim\":%d,\"act_dim\":%d,\"discrete\":%s,\"hidden\":\"%s\",\"activation\":\"%s\","
                   "\"batch\":%d,\"steps_per_item\":%d,\"threads\":%d,\"device\":\"%s\",\"libtorch\":\"%s\","
                   "\"updates_per_second\":%.2f,\"env_steps_per_second\":%.1f,\"achieved_gflops\":%.3f,"
                   "\"matmul_gflops\":%.3f,\"matmul_shape\":\"%s\",\"flops_per_update\":%d,"
                   "\"fraction_of_matmul\":%.4f,\"torso\":\"%s\",\"obs_shape\":\"%s\","
                   "\"torso_reference_updates_per_second\":%.3f,\"fraction_of_torso_reference\":%.4f",
                   algo, context.env.obs_dim(), act_dim, context.env.discrete ? "true" : "false", hidden_text,
                   v1::Activation_Name(context.config.network().activation()), batch, steps_per_item,
                   threads, device_name, LibTorchDescription(), updates_per_second, env_steps_per_second,
                   achieved_gflops, matmul_gflops, matmul_shape, flops_per_update, achieved_gflops / matmul_gflops,
                   torso_name, absl::StrJoin(context.env.observation_shape, ","), torso_updates_per_second,
                   torso_updates_per_second > 0 ? updates_per_second / torso_updates_per_second : 0.0)
            << ranks_json << contention_json << "}" << std::endl;
  return absl::OkStatus();
}

}  // namespace

int RunLearnerBench() {
  absl::Status status = Run();
  if (!status.ok()) {
    std::cerr << "learner bench failed: " << status << std::endl;
    return 1;
  }
  return 0;
}

}  // namespace rill::bench
