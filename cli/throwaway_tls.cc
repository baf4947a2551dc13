#include "cli/throwaway_tls.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/child_process.h"

namespace rill::cli {
namespace {

constexpr char kOpensslConfig[] = R"(# Written by `rill launch --tls` (cli/throwaway_tls.cc).
[req]
distinguished_name = subject
prompt = no

[subject]
CN = rill

[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

# Every process of the run presents this one certificate, as a server and as
# a client, and peers dial each other on 127.0.0.1.
[peer_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
)";

}  // namespace

std::string ThrowawayOpensslConfig() { return kOpensslConfig; }

absl::Status RunOpenssl(const std::string& openssl_binary, const std::vector<std::string>& args,
                        const std::string& log_path, absl::Duration timeout) {
  ASSIGN_OR_RETURN(std::unique_ptr<ChildProcess> child,
                   ChildProcess::StartProgram("openssl", openssl_binary, args, log_path));
  std::optional<int> status = child->WaitExit(timeout);
  if (!status.has_value()) status = child->Stop(absl::ZeroDuration());
  if (WIFEXITED(*status) && WEXITSTATUS(*status) == 0) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("openssl ", args.empty() ? "" : args[0], " failed (",
                                          ChildProcess::DescribeStatus(*status), "); ", log_path,
                                          " ends with:\n", child->LogTail(10)));
}

absl::StatusOr<TlsFiles> MakeThrowawayTls(const ThrowawayTlsOptions& options) {
  if (access(options.openssl_binary.c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("--tls runs '", options.openssl_binary,
                     "', which is missing; install Debian's openssl package (apt-get install openssl, or bash "
                     "tools/setup.sh), or give your own --tls_cert, --tls_key and --tls_ca"));
  }
  std::error_code error;
  const std::string dir = std::filesystem::absolute(options.dir, error).lexically_normal().string();
  std::filesystem::create_directories(dir, error);
  if (error || chmod(dir.c_str(), 0700) != 0) {
    return absl::PermissionDeniedError(absl::StrCat("cannot create '", dir, "' (mode 0700): ",
                                                    error ? error.message() : std::strerror(errno)));
  }
  TlsFiles files;
  files.ca = dir + "/ca.crt";
  files.cert = dir + "/tls.crt";
  files.key = dir + "/tls.key";
  const std::string ca_key = dir + "/ca.key";
  const std::string config = dir + "/openssl.cnf";
  {
    std::ofstream out(config, std::ios::trunc);
    out << kOpensslConfig;
    if (!out.flush()) return absl::PermissionDeniedError(absl::StrCat("cannot write '", config, "'"));
  }
  const std::string days = absl::StrCat(std::max<int64_t>(1, absl::ToInt64Hours(options.validity) / 24));
  // A run directory reused from an earlier run gets fresh files.
  for (const std::string& path : {files.ca, files.cert, files.key, ca_key}) std::filesystem::remove(path, error);
  const std::vector<std::string> new_key = {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-noenc"};
  std::vector<std::string> make_ca = {"req", "-config", config, "-x509", "-days", days,
                                      "-subj", "/CN=rill launch CA (throwaway)", "-extensions", "ca_ext",
                                      "-keyout", ca_key, "-out", files.ca};
  make_ca.insert(make_ca.begin() + 4, new_key.begin(), new_key.end());
  std::vector<std::string> make_peer = {"req", "-config", config, "-x509", "-days", days,
                                        "-subj", "/CN=rill", "-extensions", "peer_ext",
                                        "-CA", files.ca, "-CAkey", ca_key,
                                        "-keyout", files.key, "-out", files.cert};
  make_peer.insert(make_peer.begin() + 4, new_key.begin(), new_key.end());
  absl::Status made = RunOpenssl(options.openssl_binary, make_ca, options.log_path);
  if (made.ok()) made = RunOpenssl(options.openssl_binary, make_peer, options.log_path);
  // Nothing more is ever signed by this CA.
  std::filesystem::remove(ca_key, error);
  RETURN_IF_ERROR(made);
  if (chmod(files.key.c_str(), 0600) != 0) {
    return absl::PermissionDeniedError(absl::StrCat("cannot make '", files.key, "' mode 0600: ", std::strerror(errno)));
  }
  return files;
}

}  // namespace rill::cli
