#include "roles/info_main.h"

#include <cstdio>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/grpc_util.h"
#include "flags/flags.h"
#include "proto/replay.grpc.pb.h"
#include "replay/server/info_format.h"

ABSL_FLAG(absl::Duration, info_timeout, absl::Seconds(5), "Deadline of `rill replay info`'s call.");

namespace rill::roles {

using replay::FormatReplayInfo;

int ReplayInfoMain() {
  const std::string address = absl::GetFlag(FLAGS_address);
  if (address.empty()) {
    std::fprintf(stderr, "rill replay info: --address=HOST:PORT of a replay shard is required\n");
    return 2;
  }
  const absl::Duration timeout = absl::GetFlag(FLAGS_info_timeout);
  std::shared_ptr<grpc::Channel> channel = MakeChannel(address, int64_t{64} << 20);
  std::unique_ptr<v1::ReplayService::Stub> stub = v1::ReplayService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(timeout));
  // Wait for the connection up to the deadline rather than failing at the
  // first refused attempt, so that a shard still starting is answered.
  context.set_wait_for_ready(true);
  v1::InfoRequest request;
  v1::InfoResponse response;
  const grpc::Status status = stub->Info(&context, request, &response);
  if (!status.ok()) {
    std::string why = status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ? "no answer; is it running?"
                                                                                : "gRPC error";
    if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED &&
        channel->GetState(/*try_to_connect=*/false) == GRPC_CHANNEL_TRANSIENT_FAILURE) {
      // Waiting hid why each connection failed (a refused TLS handshake, a
      // port nobody listens on): one call that does not wait says it.
      grpc::ClientContext once;
      once.set_deadline(DeadlineIn(absl::Seconds(2)));
      const grpc::Status failed = stub->Info(&once, request, &response);
      if (!failed.ok()) {
        why = absl::StrCat("every connection failed: ", failed.error_message(),
                           absl::GetFlag(FLAGS_tls_cert).empty()
                               ? ""
                               : "; a shard that refuses this client's certificate (--tls_cert, --tls_ca) closes "
                                 "the connection in the handshake");
      }
    }
    std::fprintf(stderr, "rill replay info: cannot get Info from the replay shard at %s within %s: %s (%s)\n",
                 address.c_str(), absl::FormatDuration(timeout).c_str(), status.error_message().c_str(), why.c_str());
    return 1;
  }
  std::fputs(FormatReplayInfo(response, address, absl::Now()).c_str(), stdout);
  return 0;
}

}  // namespace rill::roles
