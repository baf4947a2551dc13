// `rill launch --tls`: a throwaway certificate authority and one certificate
// signed by it, for a run whose processes all live on this machine. Made by
// Debian's openssl command (package openssl) as child processes
// (ChildProcess::StartProgram): an EC P-256 CA, then one EC P-256 key and
// certificate for 127.0.0.1 and localhost, good for serving and for dialling
// (extendedKeyUsage serverAuth, clientAuth), that every process of the run
// presents. The CA's private key is deleted once it has signed, so nothing
// else can ever be signed by this CA; the certificate's key is mode 0600 in a
// folder of mode 0700. Not thread-safe; the launcher calls it once.
#ifndef RILL_CLI_THROWAWAY_TLS_H_
#define RILL_CLI_THROWAWAY_TLS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/tls.h"

namespace rill::cli {

struct ThrowawayTlsOptions {
  std::string openssl_binary = "/usr/bin/openssl";
  // Receives ca.crt, tls.crt, tls.key (the names of a Kubernetes TLS Secret)
  // and the openssl.cnf they were made with; created if missing.
  std::string dir;
  // openssl's output goes here (appended).
  std::string log_path;
  // How long the CA and the certificate stay valid.
  absl::Duration validity = absl::Hours(24 * 365);
};

// Makes the files and returns their absolute paths. FailedPrecondition when
// the openssl binary is missing; PermissionDenied when the folder or a file
// cannot be written; Internal when openssl fails (with its log's tail).
// Blocks until openssl has finished (well under a second; 30 s at most).
absl::StatusOr<TlsFiles> MakeThrowawayTls(const ThrowawayTlsOptions& options);

// The openssl config MakeThrowawayTls writes and passes with -config (so
// that the system's /etc/ssl/openssl.cnf cannot add or clash with
// extensions): [req] without prompts, and the extensions of a CA (ca_ext)
// and of a peer certificate (peer_ext: serving and dialling, for 127.0.0.1
// and localhost). Tests that make their own certificates append sections.
std::string ThrowawayOpensslConfig();

// Runs `openssl_binary args...` with its output appended to `log_path`;
// Internal naming the subcommand, how it ended and the log's tail unless it
// exits 0 within `timeout` (it is killed then).
absl::Status RunOpenssl(const std::string& openssl_binary, const std::vector<std::string>& args,
                        const std::string& log_path, absl::Duration timeout = absl::Seconds(30));

}  // namespace rill::cli

#endif  // RILL_CLI_THROWAWAY_TLS_H_
