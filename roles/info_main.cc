#include "roles/info_main.h"

#include <cstdio>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
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
    std::fprintf(stderr, "rill replay info: cannot get Info from the replay shard at %s within %s: %s (%s)\n",
                 address.c_str(), absl::FormatDuration(timeout).c_str(), status.error_message().c_str(),
                 status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ? "no answer; is it running?"
                                                                           : "gRPC error");
    return 1;
  }
  std::fputs(FormatReplayInfo(response, address, absl::Now()).c_str(), stdout);
  return 0;
}

}  // namespace rill::roles
