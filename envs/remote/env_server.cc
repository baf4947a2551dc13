#include "envs/remote/env_server.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/grpc_status.h"
#include "common/grpc_util.h"
#include "common/logging.h"
#include "common/region_server.h"
#include "common/status_macros.h"
#include "common/stream_finisher.h"

namespace rill::envs {
namespace {

// Per-instance errors a stream logs; the rest are only answered (an env
// that fails at every step would otherwise fill the log).
constexpr int kLoggedErrorsPerStream = 10;

const char* KindName(const v1::EnvRequest& request) {
  switch (request.kind_case()) {
    case v1::EnvRequest::kOpen:
      return "open";
    case v1::EnvRequest::kStep:
      return "step";
    case v1::EnvRequest::kRender:
      return "render";
    case v1::EnvRequest::kReset:
      return "reset";
    default:
      return "a message with neither open, step, render nor reset";
  }
}

// One actor's stream: open, then one answer per step, render or reset request,
// each written before the next request is read (an actor waits for its
// answer, and an unread request stays in the transport's flow control).
// Deletes itself in OnDone.
class ConnectReactor final : public grpc::ServerBidiReactor<v1::EnvRequest, v1::EnvResponse> {
 public:
  ConnectReactor(const EnvServiceImpl::StreamOpener* open, const std::string* env_name, int64_t stream)
      : open_(open), env_name_(env_name), stream_(stream) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (finisher_.finished()) return;
    if (!ok) {  // the actor closed its side, or went away
      FinishLocked(grpc::Status::OK);
      return;
    }
    absl::StatusOr<const v1::EnvResponse*> answer = batch_ == nullptr ? Open() : Answer(request_);
    if (!answer.ok()) {
      RILL_LOG(WARNING) << "env stream " << stream_ << ": " << answer.status().message();
      FinishLocked(ToGrpcStatus(answer.status()));
      return;
    }
    finisher_.WriteStarted();
    StartWrite(*answer);
  }

  void OnWriteDone(bool ok) override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (finisher_.WriteDone(*this)) return;
    if (!ok) {
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "the actor went away before its answer"));
      return;
    }
    StartRead(&request_);
  }

  void OnCancel() override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "the stream was cancelled"));
  }

  void OnDone() override {
    std::shared_ptr<HostedRegion> region;
    std::unique_ptr<RegionServer> server;
    {
      absl::MutexLock lock(&mu_);
      region = std::move(region_);
      server = std::move(region_server_);
    }
    // Not under mu_: Close waits for the region's handler, which takes it.
    if (region != nullptr) server->Close(region.get());
    server.reset();
    delete this;
  }

 private:
  absl::StatusOr<const v1::EnvResponse*> Open() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!request_.has_open()) {
      return absl::FailedPreconditionError(
          absl::StrCat("the first message of a stream must be open (got ", KindName(request_), ")"));
    }
    ASSIGN_OR_RETURN(batch_, (*open_)(request_.open(), response_.mutable_opened()));
    RILL_LOG(INFO) << "env stream " << stream_ << ": " << batch_->size() << " envs of " << *env_name_;
    LogErrors(response_.opened().errors());
    if (request_.open().shared_memory()) OfferRegionLocked(response_.mutable_opened());
    return &response_;
  }

  // The answer to a request after the open: a step's, a render's or a
  // reset's.
  absl::StatusOr<const v1::EnvResponse*> Answer(const v1::EnvRequest& request) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (request.has_render()) {
      batch_->Render(request.render(), rendered_.mutable_rendered());
      return &rendered_;
    }
    if (request.has_reset()) {
      RETURN_IF_ERROR(batch_->Reset(request.reset(), reset_.mutable_reset()));
      LogErrors(reset_.reset().errors());
      return &reset_;
    }
    if (!request.has_step()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "a stream opens once; then every message is a step, a render or a reset (got ", KindName(request), ")"));
    }
    RETURN_IF_ERROR(batch_->Step(request.step(), response_.mutable_stepped()));
    LogErrors(response_.stepped().errors());
    return &response_;
  }

  // Offers the stream its shared region (proto/env.proto, "Shared
  // memory"), laid out as python/rill/shared_region.py lays it out, with a
  // server thread of its own so streams step in parallel as over gRPC;
  // nothing when this host cannot.
  void OfferRegionLocked(v1::EnvsOpened* opened) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    absl::StatusOr<std::unique_ptr<RegionServer>> server = RegionServer::Create("rill-env");
    if (!server.ok()) {
      RILL_LOG(WARNING) << "env stream " << stream_ << ": no shared memory (" << server.status() << "); over gRPC";
      return;
    }
    const int64_t n = batch_->size();
    const int64_t rows_k = n * std::max(opened->agents_size(), 1);
    int64_t action_bytes = 0;
    if (opened->agents_size() > 0) {
      for (const v1::AgentSpaces& agent : opened->agents()) {
        action_bytes += agent.action_space().has_discrete() ? 4 : 4 * Elements(agent.action_space().box().shape());
      }
    } else {
      action_bytes = opened->action_space().has_discrete() ? 8 : 4 * Elements(opened->action_space().box().shape());
    }
    sizes_ = {n * action_bytes,
              static_cast<int64_t>(opened->observations().data().size()),
              rows_k * 4,
              rows_k,
              rows_k,
              static_cast<int64_t>(opened->observations().data().size()),
              opened->agents_size() > 0 ? rows_k : 0,
              n * 4 * Elements(opened->state_space().shape()),
              n * 4 * Elements(opened->state_space().shape())};
    int64_t offset = 0;
    for (size_t k = 0; k < sizes_.size(); ++k) {
      offsets_[k] = offset;
      offset = (offset + sizes_[k] + 63) / 64 * 64;
    }
    HostedRegion::Handlers handlers;
    handlers.on_message = [this](std::string_view frame) { OnRegionFrame(frame); };
    absl::StatusOr<std::shared_ptr<HostedRegion>> region =
        (*server)->Offer(std::max<int64_t>(offset, 64), std::move(handlers), absl::Seconds(5));
    if (!region.ok()) {
      RILL_LOG(WARNING) << "env stream " << stream_ << ": no shared region (" << region.status() << "); over gRPC";
      return;
    }
    region_server_ = *std::move(server);
    region_ = *std::move(region);
    v1::SharedMemory* layout = opened->mutable_shared_memory();
    layout->set_socket(region_->address().socket);
    layout->set_token(region_->address().token);
    layout->set_size(region_->size());
    layout->set_actions_offset(offsets_[kActions]);
    layout->set_observations_offset(offsets_[kObservations]);
    layout->set_rewards_offset(offsets_[kRewards]);
    layout->set_terminated_offset(offsets_[kTerminated]);
    layout->set_truncated_offset(offsets_[kTruncated]);
    layout->set_final_observations_offset(offsets_[kFinalObservations]);
    layout->set_live_offset(offsets_[kLive]);
    layout->set_states_offset(offsets_[kStates]);
    layout->set_final_states_offset(offsets_[kFinalStates]);
    actions_tensor_ = opened->agents_size() > 0 || opened->action_space().has_box() ? v1::DTYPE_FLOAT32 : v1::DTYPE_INT64;
    action_shape_.assign({n});
    if (opened->agents_size() > 0) {
      action_shape_.push_back(action_bytes / 4);
    } else if (opened->action_space().has_box()) {
      for (int64_t d : opened->action_space().box().shape()) action_shape_.push_back(d);
    }
  }

  static int64_t Elements(const google::protobuf::RepeatedField<int64_t>& shape) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }

  // One frame of the shared region, on its server's thread: a step (empty,
  // or a serialized EnvRequest carrying a step mask or defer_resets), a
  // render or a reset. Its answer's tensors go into the region.
  void OnRegionFrame(std::string_view frame) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (finisher_.finished() || region_ == nullptr) return;
    region_request_.Clear();
    if (!frame.empty() && !region_request_.ParseFromArray(frame.data(), static_cast<int>(frame.size()))) {
      FailRegionLocked(absl::InvalidArgumentError("a frame of the shared region is not a serialized EnvRequest"));
      return;
    }
    if (frame.empty() || region_request_.has_step()) {
      v1::Tensor* actions = region_request_.mutable_step()->mutable_actions();
      actions->set_dtype(actions_tensor_);
      actions->clear_shape();
      for (int64_t d : action_shape_) actions->add_shape(d);
      actions->set_data(region_->at(offsets_[kActions]), static_cast<size_t>(sizes_[kActions]));
    }
    absl::StatusOr<const v1::EnvResponse*> answer = Answer(region_request_);
    if (!answer.ok()) {
      FailRegionLocked(answer.status());
      return;
    }
    region_answer_.Clear();
    if ((*answer)->has_stepped()) {
      const v1::EnvsStepped& stepped = (*answer)->stepped();
      const std::pair<int, const v1::Tensor*> tensors[] = {
          {kObservations, &stepped.observations()}, {kRewards, &stepped.rewards()},
          {kTerminated, &stepped.terminated()},     {kTruncated, &stepped.truncated()},
          {kFinalObservations, &stepped.final_observations()}, {kLive, &stepped.live()},
          {kStates, &stepped.states()},              {kFinalStates, &stepped.final_states()}};
      for (const auto& [array, tensor] : tensors) {
        if (static_cast<int64_t>(tensor->data().size()) > sizes_[array]) {
          FailRegionLocked(absl::InternalError("a step's answer does not fit the shared region"));
          return;
        }
        if (!tensor->data().empty()) std::memcpy(region_->at(offsets_[array]), tensor->data().data(), tensor->data().size());
      }
      if (stepped.final_indices_size() > 0 || stepped.errors_size() > 0) {
        *region_answer_.mutable_stepped()->mutable_final_indices() = stepped.final_indices();
        *region_answer_.mutable_stepped()->mutable_errors() = stepped.errors();
      }
    } else if ((*answer)->has_reset()) {
      // Each reset instance's first observation into its row of the
      // region's observations.
      const v1::EnvsReset& reset = (*answer)->reset();
      const int64_t row_bytes = sizes_[kObservations] / batch_->size();
      const std::string& rows = reset.observations().data();
      for (int k = 0; k < region_request_.reset().env_indices_size(); ++k) {
        const int64_t env = region_request_.reset().env_indices(k);
        std::memcpy(region_->at(offsets_[kObservations] + env * row_bytes), rows.data() + k * row_bytes,
                    static_cast<size_t>(row_bytes));
      }
      *region_answer_.mutable_reset()->mutable_errors() = reset.errors();
    } else {
      region_answer_ = **answer;  // a render's frame travels in the message
    }
    const std::string bytes = region_answer_.ByteSizeLong() == 0 ? std::string() : region_answer_.SerializeAsString();
    if (absl::Status sent = region_->Answer(bytes); !sent.ok()) {
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, std::string(sent.message())));
    }
  }

  // Ends the stream with `why` and shuts its region: the client reads the
  // status from the stream.
  void FailRegionLocked(const absl::Status& why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    RILL_LOG(WARNING) << "env stream " << stream_ << ": " << why.message();
    FinishLocked(ToGrpcStatus(why));
  }

  void LogErrors(const google::protobuf::RepeatedPtrField<v1::EnvError>& errors) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const v1::EnvError& error : errors) {
      if (logged_errors_ == kLoggedErrorsPerStream) {
        RILL_LOG(WARNING) << "env stream " << stream_ << ": further errors are answered but not logged";
      }
      if (logged_errors_++ >= kLoggedErrorsPerStream) return;
      RILL_LOG(WARNING) << "env stream " << stream_ << " env " << error.env_index()
                        << (error.agent().empty() ? "" : " agent " + error.agent()) << ": " << error.field() << ": "
                        << error.message();
    }
  }

  // Finishes once: at once, or after the write on the wire completes.
  void FinishLocked(grpc::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    finisher_.Finish(*this, std::move(status));
    if (region_ != nullptr) region_->Shutdown();
  }

  const EnvServiceImpl::StreamOpener* const open_;
  const std::string* const env_name_;
  const int64_t stream_;
  absl::Mutex mu_;
  // Written by gRPC between StartRead and OnReadDone, read only after.
  v1::EnvRequest request_;
  // Reused from step to step, so its tensors keep their buffers; renders
  // and resets are answered in their own messages, which leaves them so
  // (a oneof would drop the stepped answer to hold another).
  v1::EnvResponse response_ ABSL_GUARDED_BY(mu_);
  v1::EnvResponse rendered_ ABSL_GUARDED_BY(mu_);
  v1::EnvResponse reset_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<ServerBatch> batch_ ABSL_GUARDED_BY(mu_);
  int logged_errors_ ABSL_GUARDED_BY(mu_) = 0;
  // The shared region, when the stream asked and this host can: its
  // server (a thread of its own), its arrays' offsets and bytes in the
  // protocol's order, the actions' dtype and shape, and its messages.
  enum Array { kActions, kObservations, kRewards, kTerminated, kTruncated, kFinalObservations, kLive, kStates, kFinalStates };
  std::unique_ptr<RegionServer> region_server_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<HostedRegion> region_ ABSL_GUARDED_BY(mu_);
  std::array<int64_t, 9> offsets_ ABSL_GUARDED_BY(mu_) = {};
  std::vector<int64_t> sizes_ ABSL_GUARDED_BY(mu_);
  v1::DType actions_tensor_ ABSL_GUARDED_BY(mu_) = v1::DTYPE_FLOAT32;
  std::vector<int64_t> action_shape_ ABSL_GUARDED_BY(mu_);
  v1::EnvRequest region_request_ ABSL_GUARDED_BY(mu_);
  v1::EnvResponse region_answer_ ABSL_GUARDED_BY(mu_);
  StreamFinisher finisher_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<EnvServiceImpl>> EnvServiceImpl::Create(EnvFactory factory) {
  if (factory == nullptr) return absl::InvalidArgumentError("the env server has no env factory");
  absl::StatusOr<std::unique_ptr<Env>> probe = factory(0);
  if (!probe.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("cannot make the env to serve: ", probe.status().message()));
  }
  if (*probe == nullptr) {
    return absl::FailedPreconditionError("cannot make the env to serve: the factory returned none");
  }
  EnvSpec spec = (*probe)->spec();
  std::string name = spec.name;
  const int max_episode_steps = spec.max_episode_steps;
  StreamOpener open = [factory = std::move(factory), spec = std::move(spec)](
                          const v1::OpenEnvs& request,
                          v1::EnvsOpened* opened) -> absl::StatusOr<std::unique_ptr<ServerBatch>> {
    ASSIGN_OR_RETURN(std::unique_ptr<EnvServerBatch> batch, EnvServerBatch::Open(factory, spec, request, opened));
    return batch;
  };
  return std::unique_ptr<EnvServiceImpl>(new EnvServiceImpl(std::move(name), max_episode_steps, std::move(open)));
}

absl::StatusOr<std::unique_ptr<EnvServiceImpl>> EnvServiceImpl::CreateMultiAgent(MultiAgentEnvFactory factory) {
  if (factory == nullptr) return absl::InvalidArgumentError("the env server has no multi-agent env factory");
  absl::StatusOr<std::unique_ptr<MultiAgentEnv>> probe = factory(0);
  if (!probe.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("cannot make the env to serve: ", probe.status().message()));
  }
  if (*probe == nullptr) {
    return absl::FailedPreconditionError("cannot make the env to serve: the factory returned none");
  }
  MultiAgentSpec spec = (*probe)->spec();
  RETURN_IF_ERROR(CheckServableAgents(spec));
  std::string name = spec.name;
  const int max_episode_steps = spec.max_episode_steps;
  StreamOpener open = [factory = std::move(factory), spec = std::move(spec)](
                          const v1::OpenEnvs& request,
                          v1::EnvsOpened* opened) -> absl::StatusOr<std::unique_ptr<ServerBatch>> {
    ASSIGN_OR_RETURN(std::unique_ptr<MultiAgentServerBatch> batch,
                     MultiAgentServerBatch::Open(factory, spec, request, opened));
    return batch;
  };
  return std::unique_ptr<EnvServiceImpl>(new EnvServiceImpl(std::move(name), max_episode_steps, std::move(open)));
}

grpc::ServerBidiReactor<v1::EnvRequest, v1::EnvResponse>* EnvServiceImpl::Connect(grpc::CallbackServerContext*) {
  return new ConnectReactor(&open_, &env_name_, next_stream_.fetch_add(1));
}

absl::StatusOr<std::unique_ptr<EnvServer>> EnvServer::Start(const std::string& address, EnvFactory factory) {
  return Serve(address, EnvServiceImpl::Create(std::move(factory)));
}

absl::StatusOr<std::unique_ptr<EnvServer>> EnvServer::StartMultiAgent(const std::string& address,
                                                                      MultiAgentEnvFactory factory) {
  return Serve(address, EnvServiceImpl::CreateMultiAgent(std::move(factory)));
}

absl::StatusOr<std::unique_ptr<EnvServer>> EnvServer::Serve(const std::string& address,
                                                            absl::StatusOr<std::unique_ptr<EnvServiceImpl>> service) {
  const size_t colon = address.rfind(':');
  int port = -1;
  if (colon == std::string::npos || colon == 0 || !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("address '", address, "' is not HOST:PORT"));
  }
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  std::unique_ptr<EnvServer> server(new EnvServer());
  ASSIGN_OR_RETURN(server->service_, std::move(service));
  ASSIGN_OR_RETURN(StartedServer started,
                   StartGrpcServer(address, {server->service_.get()}, kMaxMessageBytes));
  server->server_ = std::move(started.server);
  server->port_ = started.port;
  server->address_ = HostPort(host, started.port);
  return server;
}

EnvServer::~EnvServer() { Stop(absl::ZeroDuration()); }

void EnvServer::SetNotServing() {
  if (server_ != nullptr) server_->GetHealthCheckService()->SetServingStatus(false);
}

void EnvServer::Stop(absl::Duration grace) {
  if (server_ == nullptr || stopped_.exchange(true)) return;
  server_->Shutdown(DeadlineIn(grace));
  server_->Wait();
}

}  // namespace rill::envs
