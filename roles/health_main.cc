#include "roles/health_main.h"

#include <cstdio>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "flags/flags.h"
#include "common/grpc_util.h"
#include "common/tls.h"

ABSL_FLAG(absl::Duration, health_timeout, absl::Seconds(3),
          "Deadline of `rill health`'s check; keep it below the probe's timeoutSeconds.");

namespace rill::roles {

int HealthMain() {
  const int port = absl::GetFlag(FLAGS_port);
  if (port <= 0 || port > 65535) {
    std::fprintf(stderr, "rill health: --port=PORT of a gRPC server on this machine is required (got %d)\n", port);
    return 2;
  }
  const std::string address = absl::StrCat("127.0.0.1:", port);
  const absl::Duration timeout = absl::GetFlag(FLAGS_health_timeout);
  std::shared_ptr<grpc::Channel> channel = MakeChannel(address, 1 << 20);
  const absl::Status health = CheckHealth(*channel, timeout);
  if (!health.ok()) {
    std::fprintf(stderr, "rill health: %s (%s) is not healthy within %s: %s\n", address.c_str(),
                 TlsEnabled() ? "mutual TLS" : "plain text", absl::FormatDuration(timeout).c_str(),
                 std::string(health.message()).c_str());
    return 1;
  }
  std::printf("%s SERVING\n", address.c_str());
  return 0;
}

}  // namespace rill::roles
