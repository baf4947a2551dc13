#include "cli/launch_tls.h"

#include <cstdio>
#include <filesystem>

#include "absl/flags/flag.h"
#include "flags/flags.h"
#include "common/status_macros.h"
#include "common/tls.h"
#include "flags/tls_flags.h"
#include "cli/throwaway_tls.h"

namespace rill::cli {

absl::Status SetUpTls(const std::string& run_dir, bool throwaway, const std::string& openssl_binary) {
  const TlsFiles given = TlsFilesFromFlags();
  TlsFiles files = given;
  if (throwaway) {
    if (!given.empty()) {
      return absl::InvalidArgumentError(
          "--tls makes a throwaway CA and certificate; give either --tls or your own --tls_cert, --tls_key and "
          "--tls_ca, not both");
    }
    ThrowawayTlsOptions options;
    options.openssl_binary = openssl_binary;
    options.dir = run_dir + "/tls";
    options.log_path = run_dir + "/tls/openssl.log";
    ASSIGN_OR_RETURN(files, MakeThrowawayTls(options));
    RETURN_IF_ERROR(ConfigureTls(files));
    std::printf("tls: mutual TLS between every process, with a throwaway CA and certificate in %s\n",
                options.dir.c_str());
    std::fflush(stdout);
  } else if (given.empty()) {
    return absl::OkStatus();
  }
  std::error_code error;
  for (std::string* path : {&files.cert, &files.key, &files.ca}) {
    *path = std::filesystem::absolute(*path, error).lexically_normal().string();
  }
  absl::SetFlag(&FLAGS_tls_cert, files.cert);
  absl::SetFlag(&FLAGS_tls_key, files.key);
  absl::SetFlag(&FLAGS_tls_ca, files.ca);
  return absl::OkStatus();
}

}  // namespace rill::cli
