#include "envs/remote/env_server.h"

#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/grpc_status.h"
#include "common/grpc_util.h"
#include "common/logging.h"
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
    absl::StatusOr<const v1::EnvResponse*> answer = batch_ == nullptr ? Open() : Answer();
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

  void OnDone() override { delete this; }

 private:
  absl::StatusOr<const v1::EnvResponse*> Open() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!request_.has_open()) {
      return absl::FailedPreconditionError(
          absl::StrCat("the first message of a stream must be open (got ", KindName(request_), ")"));
    }
    ASSIGN_OR_RETURN(batch_, (*open_)(request_.open(), response_.mutable_opened()));
    RILL_LOG(INFO) << "env stream " << stream_ << ": " << batch_->size() << " envs of " << *env_name_;
    LogErrors(response_.opened().errors());
    return &response_;
  }

  // The answer to a request after the open: a step's, a render's or a
  // reset's.
  absl::StatusOr<const v1::EnvResponse*> Answer() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (request_.has_render()) {
      batch_->Render(request_.render(), rendered_.mutable_rendered());
      return &rendered_;
    }
    if (request_.has_reset()) {
      RETURN_IF_ERROR(batch_->Reset(request_.reset(), reset_.mutable_reset()));
      LogErrors(reset_.reset().errors());
      return &reset_;
    }
    if (!request_.has_step()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "a stream opens once; then every message is a step, a render or a reset (got ", KindName(request_), ")"));
    }
    RETURN_IF_ERROR(batch_->Step(request_.step(), response_.mutable_stepped()));
    LogErrors(response_.stepped().errors());
    return &response_;
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
