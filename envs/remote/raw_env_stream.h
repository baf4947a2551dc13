// RawEnvStream: an rill.v1.EnvService stream written by hand, for the
// servers' tests: to read the wire's tensors as they are and to send what
// RemoteEnvs never would.
#ifndef RILL_ENVS_REMOTE_RAW_ENV_STREAM_H_
#define RILL_ENVS_REMOTE_RAW_ENV_STREAM_H_

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "common/grpc_util.h"
#include "envs/remote/env_server.h"
#include "grpcpp/grpcpp.h"
#include "proto/env.grpc.pb.h"

namespace rill::envs {

class RawEnvStream {
 public:
  // A stream to `address` whose calls give up after `timeout` in all.
  explicit RawEnvStream(const std::string& address, absl::Duration timeout = absl::Seconds(30))
      : stub_(v1::EnvService::NewStub(MakeChannel(address, EnvServer::kMaxMessageBytes))) {
    context_.set_deadline(DeadlineIn(timeout));
    stream_ = stub_->Connect(&context_);
  }

  // Writes `request` and reads the answer; false when the server ended the
  // stream instead (Finish then says why).
  bool Call(const v1::EnvRequest& request, v1::EnvResponse* response) {
    return stream_->Write(request) && stream_->Read(response);
  }

  grpc::Status Finish() {
    stream_->WritesDone();
    v1::EnvResponse ignored;
    while (stream_->Read(&ignored)) {
    }
    return stream_->Finish();
  }

 private:
  std::unique_ptr<v1::EnvService::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::EnvRequest, v1::EnvResponse>> stream_;
};

}  // namespace rill::envs

#endif  // RILL_ENVS_REMOTE_RAW_ENV_STREAM_H_
