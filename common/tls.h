// Mutual TLS for every gRPC server and channel of a process. A process given
// --tls_cert, --tls_key and --tls_ca (PEM files) configures it once at
// start-up, before it makes any server or channel: every main() in tools/
// calls ConfigureTlsFromFlags() (flags/tls_flags.h) first. From then on
// StartGrpcServer (common/grpc_util.h) serves TLS and refuses, during
// the handshake, every client that does not present a certificate chaining
// to the CA; MakeChannel dials with TLS, presents this process's certificate
// and accepts only a server whose certificate chains to the CA and names the
// dialled host (a subjectAltName: IP:127.0.0.1 for "127.0.0.1:PORT",
// DNS:rill-learner for "rill-learner:50052"). Without the flags everything
// stays plain text, as before.
//
// The files are read and checked once, when configured, so that a mistake
// stops the process at start-up with a message naming the flag and the file
// instead of surfacing later as refused connections: all three given,
// readable, PEM, the key belonging to the certificate, the certificate valid
// now and chaining to the CA. A renewed certificate takes effect at the next
// start.
//
// Thread-safe: the process's setting is guarded by a mutex, and servers and
// channels read it when they are made.
#ifndef RILL_COMMON_TLS_H_
#define RILL_COMMON_TLS_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"

namespace rill {

// Paths of the three PEM files; all empty means plain text.
struct TlsFiles {
  std::string cert;  // --tls_cert: this process's certificate, then any intermediates
  std::string key;   // --tls_key: its private key, unencrypted
  std::string ca;    // --tls_ca: the CA certificate(s) peers must chain to

  bool empty() const { return cert.empty() && key.empty() && ca.empty(); }
};

// The PEM text of checked TlsFiles, as gRPC takes it.
struct TlsMaterial {
  std::string cert_chain;
  std::string private_key;
  std::string root_certs;
};

// Reads and checks `files` as of `now`. InvalidArgument, naming the flag
// (--tls_cert, --tls_key, --tls_ca) and the path, when only some of the
// three are given, a file is missing or unreadable, holds no PEM
// certificate (or key), the key does not belong to the certificate, the
// certificate has expired or is not yet valid (with its dates), no CA
// certificate is valid now, or the certificate does not chain to the CA.
absl::StatusOr<TlsMaterial> LoadTlsMaterial(const TlsFiles& files, absl::Time now);

// Makes `files` the process's TLS setting (all empty: plain text) after
// LoadTlsMaterial's checks; on an error the setting is left as it was.
absl::Status ConfigureTls(const TlsFiles& files);

// Whether the process serves and dials TLS.
bool TlsEnabled();

// The credentials of the process's setting: TLS requiring a client
// certificate signed by the CA, or insecure.
std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials();
// TLS presenting the certificate and verifying the server, or insecure.
std::shared_ptr<grpc::ChannelCredentials> MakeChannelCredentials();

// The same for explicit material, whatever the process's setting.
std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials(const TlsMaterial& tls);
std::shared_ptr<grpc::ChannelCredentials> MakeChannelCredentials(const TlsMaterial& tls);

}  // namespace rill

#endif  // RILL_COMMON_TLS_H_
