#include "learner/learner_group.h"

#define USE_C10D_GLOO 1

#include <algorithm>
#include <chrono>
#include <csignal>
#include <exception>
#include <map>
#include <utility>
#include <vector>

#include <gloo/algorithm.h>
#include <gloo/allreduce_ring_chunked.h>
#include <gloo/rendezvous/context.h>

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "torch/torch.h"

namespace rill::learner {

// A float32 buffer and Gloo's ring allreduce bound to it: how the ranks
// sum CPU gradients (Average) and flags (AnyRank).
struct Bucket {
  torch::Tensor buffer;
  std::unique_ptr<gloo::Algorithm> allreduce;
};

struct LearnerGroup::C10d {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
  // The CPU fast path: a Gloo context of its own over the same store, whose
  // pairs do their I/O on the calling thread (sync mode), and its buckets
  // by the sizes of the tensors they carry. c10d's process group hands each
  // collective to a worker thread, which hands the I/O to the device's loop
  // thread: on this 2-core machine that costs about 1.5 ms per allreduce of
  // SAC's critic gradients (425 KB), against 0.2 ms in the caller's thread
  // (`rill bench learner --num_learners=2`). Declared before the buckets,
  // which use it, so that it outlives them.
  std::unique_ptr<c10d::ProcessGroupGloo::GlooStore> gloo_store;
  std::shared_ptr<gloo::transport::Device> device;
  std::shared_ptr<gloo::rendezvous::Context> context;
  std::map<std::vector<int64_t>, Bucket> buckets;
  Bucket flag;  // AnyRank's one float, reduced by max
};

namespace {

constexpr char kKeyPrefix[] = "rill/";
constexpr absl::Duration kHeartbeatEvery = absl::Seconds(1);

std::chrono::milliseconds Millis(absl::Duration d) { return std::chrono::milliseconds(absl::ToInt64Milliseconds(d)); }

std::string Key(const std::string& name) { return absl::StrCat(kKeyPrefix, name); }

std::vector<uint8_t> Bytes(const std::string& text) { return std::vector<uint8_t>(text.begin(), text.end()); }
std::string Text(const std::vector<uint8_t>& bytes) { return std::string(bytes.begin(), bytes.end()); }

c10::intrusive_ptr<c10d::TCPStore> Dial(const std::string& host, uint16_t port, bool server, absl::Duration timeout) {
  c10d::TCPStoreOptions options;
  options.port = port;
  options.isServer = server;
  options.waitWorkers = false;  // the group checks who joins itself
  options.timeout = Millis(timeout);
  return c10::make_intrusive<c10d::TCPStore>(server ? std::string("0.0.0.0") : host, options);
}

}  // namespace

absl::StatusOr<std::unique_ptr<LearnerGroup>> LearnerGroup::Join(const LearnerGroupOptions& options) {
  if (options.world_size < 1) {
    return absl::InvalidArgumentError(absl::StrCat("learner group: world size ", options.world_size, " (must be >= 1)"));
  }
  if (options.rank < 0 || options.rank >= options.world_size) {
    return absl::InvalidArgumentError(absl::StrCat("learner group: rank ", options.rank, " is outside [0, ",
                                                   options.world_size, ") for world size ", options.world_size));
  }
  if (options.timeout <= absl::ZeroDuration()) return absl::InvalidArgumentError("learner group: timeout must be > 0");
  std::unique_ptr<LearnerGroup> group(new LearnerGroup(options));
  const size_t colon = options.store_address.rfind(':');
  uint32_t port = 0;
  if (colon == std::string::npos || colon == 0 || !absl::SimpleAtoi(options.store_address.substr(colon + 1), &port) ||
      port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("learner group: store address '", options.store_address, "' is not HOST:PORT"));
  }
  group->host_ = options.store_address.substr(0, colon);
  group->store_port_ = static_cast<uint16_t>(port);
  // The fast path's sync pairs write on the caller's thread: a peer that
  // has gone must make that write fail (EPIPE, then Failed names the rank),
  // not end this process with SIGPIPE. Process-wide, as network servers do.
  std::signal(SIGPIPE, SIG_IGN);
  RETURN_IF_ERROR(group->Connect());
  return group;
}

absl::Status LearnerGroup::Connect() {
  const int rank = options_.rank, world = options_.world_size;
  const std::string where = absl::StrCat("learner rank ", rank, " of ", world);
  c10d_ = std::make_unique<C10d>();
  try {
    c10d_->store = Dial(host_, store_port_, rank == 0, options_.timeout);
    if (rank == 0) {
      store_port_ = static_cast<c10d::TCPStore*>(c10d_->store.get())->getPort();
      c10d_->store->set(Key("world_size"), Bytes(absl::StrCat(world)));
      if (options_.on_store_port) options_.on_store_port(store_port_);
    }
  } catch (const std::exception& e) {
    return absl::DeadlineExceededError(absl::StrCat(where, ": cannot ", rank == 0 ? "open" : "reach",
                                                    " the group's store at ", host_, ":", store_port_, " within ",
                                                    absl::FormatDuration(options_.timeout), ": ", e.what()));
  }
  try {
    // Rank 0's world size, which every rank must share.
    const std::string theirs = Text(c10d_->store->get(Key("world_size")));
    if (theirs != absl::StrCat(world)) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": rank 0's group has world size ", theirs,
                                                     ", this rank was started with ", world));
    }
    // Each rank is claimed once: a second process with the same rank
    // would make the collectives mix two processes' data.
    if (c10d_->store->add(Key(absl::StrCat("claimed/", rank)), 1) != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": rank ", rank, " is claimed by another learner already (two ranks with --rank=", rank,
                       ")"));
    }
    c10d_->store->set(Key(absl::StrCat("alive/", rank)), Bytes(absl::StrCat(absl::ToUnixSeconds(absl::Now()))));
    MakeCollectives();
  } catch (const std::exception& e) {
    return absl::DeadlineExceededError(absl::StrCat(where, ": the group did not form within ",
                                                    absl::FormatDuration(options_.timeout), " (are all ", world,
                                                    " ranks started, with the same store?): ", e.what()));
  }
  heartbeat_ = std::thread([this] { Heartbeat(); });
  RILL_LOG(INFO) << where << " joined its group at " << host_ << ":" << store_port_;
  return absl::OkStatus();
}

LearnerGroup::LearnerGroup(const LearnerGroupOptions& options) : options_(options) {}

// This group's own collectives over its store: c10d's process group and
// the fast path's mesh, under keys of its prefix. A collective rendezvous:
// every rank makes them, in the same order. Throws what c10d and Gloo throw.
void LearnerGroup::MakeCollectives() {
  const int rank = options_.rank, world = options_.world_size;
  auto options = c10d::ProcessGroupGloo::Options::create(Millis(options_.timeout));
  const bool loopback = host_ == "127.0.0.1" || host_ == "localhost";
  options->devices.push_back(loopback ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                      : c10d::ProcessGroupGloo::createDefaultDevice());
  options->threads = 1;
  c10d_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(
      c10::make_intrusive<c10d::PrefixStore>(Key(prefix_ + "gloo"), c10d_->store), rank, world, options);
  // The fast path's mesh (see C10d): Gloo's own context over the store.
  c10d_->gloo_store = std::make_unique<c10d::ProcessGroupGloo::GlooStore>(
      c10::make_intrusive<c10d::PrefixStore>(Key(prefix_ + "direct"), c10d_->store));
  c10d_->device = loopback ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                           : c10d::ProcessGroupGloo::createDefaultDevice();
  c10d_->context = std::make_shared<gloo::rendezvous::Context>(rank, world);
  c10d_->context->setTimeout(Millis(options_.timeout));
  c10d_->context->connectFullMesh(*c10d_->gloo_store, c10d_->device);
  for (int peer = 0; peer < world; ++peer) {
    if (peer != rank) c10d_->context->getPair(peer)->setSync(/*sync=*/true, /*busyPoll=*/false);
  }
  c10d_->flag.buffer = torch::zeros({1});
  c10d_->flag.allreduce = std::make_unique<gloo::AllreduceRingChunked<float>>(
      c10d_->context, std::vector<float*>{c10d_->flag.buffer.data_ptr<float>()}, 1,
      gloo::ReductionFunction<float>::max);
}

absl::StatusOr<std::unique_ptr<LearnerGroup>> LearnerGroup::Subgroup(const std::string& name) const {
  if (name.empty() || name.find('/') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("learner group: subgroup name '", name,
                                                   "' must be non-empty and without '/'"));
  }
  LearnerGroupOptions options = options_;
  options.on_store_port = nullptr;
  std::unique_ptr<LearnerGroup> group(new LearnerGroup(options));
  group->host_ = host_;
  group->store_port_ = store_port_;
  group->prefix_ = absl::StrCat(prefix_, "groups/", name, "/");
  const std::string where = absl::StrCat("learner rank ", options.rank, " of ", options.world_size, ", subgroup '",
                                         name, "'");
  group->c10d_ = std::make_unique<C10d>();
  try {
    // A store client of its own: the parent's serves the parent's thread.
    group->c10d_->store = Dial(host_, store_port_, /*server=*/false, options.timeout);
    group->MakeCollectives();
  } catch (const std::exception& e) {
    return absl::DeadlineExceededError(absl::StrCat(where, ": did not form within ",
                                                    absl::FormatDuration(options.timeout),
                                                    " (does every rank make it?): ", e.what()));
  }
  RILL_LOG(INFO) << where << " formed";
  return group;
}

LearnerGroup::~LearnerGroup() {
  stop_heartbeat_.Notify();
  if (heartbeat_.joinable()) heartbeat_.join();
  c10d_.reset();
}

void LearnerGroup::Heartbeat() {
  // A connection of its own: a store client is not shared between threads.
  c10::intrusive_ptr<c10d::TCPStore> store;
  try {
    store = Dial(host_, store_port_, /*server=*/false, options_.timeout);
  } catch (const std::exception& e) {
    RILL_LOG(WARNING) << "learner rank " << options_.rank << ": no heartbeat (store unreachable: " << e.what() << ")";
    return;
  }
  const std::string key = Key(absl::StrCat("alive/", options_.rank));
  while (!stop_heartbeat_.WaitForNotificationWithTimeout(kHeartbeatEvery)) {
    try {
      store->set(key, Bytes(absl::StrCat(absl::ToUnixSeconds(absl::Now()))));
    } catch (const std::exception&) {
      return;  // rank 0 and its store have gone: the next collective says so
    }
  }
}

absl::Status LearnerGroup::Failed(const std::string& what, const std::string& error) {
  const std::string where = absl::StrCat("learner rank ", options_.rank, " of ", options_.world_size, ": ", what);
  // Which ranks have gone: those whose heartbeat (refreshed every second)
  // does not move over a few seconds. A rank killed with kill -9 breaks
  // its connections at once, so this is what tells the others who it was.
  std::vector<std::string> gone;
  try {
    c10::intrusive_ptr<c10d::TCPStore> store = Dial(host_, store_port_, /*server=*/false, absl::Seconds(2));
    const auto beats = [&] {
      std::vector<std::string> seen(static_cast<size_t>(options_.world_size));
      for (int r = 0; r < options_.world_size; ++r) {
        const std::string key = Key(absl::StrCat("alive/", r));
        if (r != options_.rank && store->check({key})) seen[static_cast<size_t>(r)] = Text(store->get(key));
      }
      return seen;
    };
    const std::vector<std::string> before = beats();
    absl::SleepFor(kHeartbeatEvery * 2.5);
    const std::vector<std::string> after = beats();
    for (int r = 0; r < options_.world_size; ++r) {
      if (r != options_.rank && before[static_cast<size_t>(r)] == after[static_cast<size_t>(r)]) {
        gone.push_back(absl::StrCat(r));
      }
    }
  } catch (const std::exception&) {
    if (options_.rank != 0) gone.push_back("0 (its store is unreachable)");
  }
  const std::string who = gone.empty() ? std::string("every rank's heartbeat still moves")
                                       : absl::StrCat("rank ", absl::StrJoin(gone, ", rank "), " has gone");
  return absl::UnavailableError(absl::StrCat(where, " failed (", who, "): ", error));
}

absl::Status LearnerGroup::Average(const std::vector<torch::Tensor>& tensors) {
  if (tensors.empty()) return absl::OkStatus();
  const absl::Time start = absl::Now();
  torch::NoGradGuard no_grad;
  const bool cpu_floats = std::all_of(tensors.begin(), tensors.end(), [](const torch::Tensor& tensor) {
    return tensor.device().is_cpu() && tensor.scalar_type() == torch::kFloat32;
  });
  if (cpu_floats) {
    // The fast path: through the bucket of these sizes (made on first use,
    // in the same order on every rank, since every rank averages the same
    // tensors in the same order).
    std::vector<int64_t> sizes;
    int64_t total = 0;
    for (const torch::Tensor& tensor : tensors) {
      sizes.push_back(tensor.numel());
      total += tensor.numel();
    }
    Bucket& bucket = c10d_->buckets[sizes];
    try {
      if (bucket.allreduce == nullptr) {
        bucket.buffer = torch::empty({total});
        bucket.allreduce = std::make_unique<gloo::AllreduceRingChunked<float>>(
            c10d_->context, std::vector<float*>{bucket.buffer.data_ptr<float>()}, static_cast<int>(total));
      }
      int64_t offset = 0;
      for (const torch::Tensor& tensor : tensors) {
        bucket.buffer.narrow(0, offset, tensor.numel()).view_as(tensor).copy_(tensor);
        offset += tensor.numel();
      }
      bucket.allreduce->run();
    } catch (const std::exception& e) {
      c10d_->buckets.erase(sizes);
      return Failed("allreduce", e.what());
    }
    bucket.buffer.div_(options_.world_size);
    int64_t offset = 0;
    for (const torch::Tensor& tensor : tensors) {
      tensor.copy_(bucket.buffer.narrow(0, offset, tensor.numel()).view_as(tensor));
      offset += tensor.numel();
    }
    absl::MutexLock lock(&mu_);
    ++stats_.allreduces;
    stats_.allreduce_bytes += total * static_cast<int64_t>(sizeof(float));
    stats_.allreduce_seconds += absl::ToDoubleSeconds(absl::Now() - start);
    return absl::OkStatus();
  }
  // Elsewhere (a CUDA tensor, another dtype): c10d's process group.
  const bool single = tensors.size() == 1 && tensors[0].is_contiguous();
  std::vector<at::Tensor> flat;
  if (single) {
    flat.push_back(tensors[0]);
  } else {
    std::vector<torch::Tensor> rows;
    rows.reserve(tensors.size());
    for (const torch::Tensor& tensor : tensors) rows.push_back(tensor.reshape(-1));
    flat.push_back(torch::cat(rows));
  }
  try {
    c10d_->group->allreduce(flat)->wait(Millis(options_.timeout));
  } catch (const std::exception& e) {
    return Failed("allreduce", e.what());
  }
  flat[0].div_(options_.world_size);
  if (!single) {
    int64_t offset = 0;
    for (const torch::Tensor& tensor : tensors) {
      const int64_t n = tensor.numel();
      tensor.copy_(flat[0].narrow(0, offset, n).view_as(tensor));
      offset += n;
    }
  }
  absl::MutexLock lock(&mu_);
  ++stats_.allreduces;
  stats_.allreduce_bytes += flat[0].numel() * static_cast<int64_t>(flat[0].element_size());
  stats_.allreduce_seconds += absl::ToDoubleSeconds(absl::Now() - start);
  return absl::OkStatus();
}

absl::StatusOr<bool> LearnerGroup::AnyRank(bool local) {
  float* flag = c10d_->flag.buffer.data_ptr<float>();
  *flag = local ? 1.0f : 0.0f;
  try {
    c10d_->flag.allreduce->run();
  } catch (const std::exception& e) {
    return Failed("agreement on stopping", e.what());
  }
  return *flag != 0.0f;
}

absl::Status LearnerGroup::Broadcast(const std::vector<torch::Tensor>& tensors) {
  torch::NoGradGuard no_grad;
  for (const torch::Tensor& tensor : tensors) {
    // Gloo broadcasts contiguous tensors: a copy for the others.
    std::vector<at::Tensor> one = {tensor.is_contiguous() ? tensor : tensor.contiguous()};
    try {
      c10d_->group->broadcast(one)->wait(Millis(options_.timeout));
    } catch (const std::exception& e) {
      return Failed("broadcast of rank 0's state", e.what());
    }
    if (!one[0].is_same(tensor)) tensor.copy_(one[0]);
  }
  return absl::OkStatus();
}

absl::StatusOr<torch::Tensor> LearnerGroup::AllGather(const torch::Tensor& local) {
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> input = {local.contiguous()};
  std::vector<std::vector<at::Tensor>> output(1);
  for (int r = 0; r < options_.world_size; ++r) output[0].push_back(torch::empty_like(input[0]));
  try {
    c10d_->group->allgather(output, input)->wait(Millis(options_.timeout));
  } catch (const std::exception& e) {
    return Failed("allgather", e.what());
  }
  return torch::stack(output[0]);
}

LearnerGroupStats LearnerGroup::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

}  // namespace rill::learner
