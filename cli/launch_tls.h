// The TLS set-up of `rill launch`.
#ifndef RILL_CLI_LAUNCH_TLS_H_
#define RILL_CLI_LAUNCH_TLS_H_

#include <string>

#include "absl/status/status.h"

namespace rill::cli {

// With `throwaway` (--tls), makes the run's throwaway CA and certificate in <run_dir>/tls;
// with --tls_cert/--tls_key/--tls_ca (already checked and configured by
// rill_main), makes their paths absolute for the children. Either way the
// flags then name the files, the launcher's own health checks use them, and
// CommonArgs passes them on. InvalidArgument for --tls together with files.
absl::Status SetUpTls(const std::string& run_dir, bool throwaway, const std::string& openssl_binary);

}  // namespace rill::cli

#endif  // RILL_CLI_LAUNCH_TLS_H_
