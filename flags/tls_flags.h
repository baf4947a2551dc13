// The process's TLS setting from --tls_cert, --tls_key and --tls_ca: what
// every command of `rill`, `rill-replay` and `rill-actor` calls before it
// serves or dials (common/tls.h does the work, from files it is given).
//
// Thread-safe, as ConfigureTls is.
#ifndef RILL_FLAGS_TLS_FLAGS_H_
#define RILL_FLAGS_TLS_FLAGS_H_

#include "absl/status/status.h"
#include "common/tls.h"

namespace rill {

// The files named by --tls_cert, --tls_key and --tls_ca.
TlsFiles TlsFilesFromFlags();

// ConfigureTls(TlsFilesFromFlags()).
absl::Status ConfigureTlsFromFlags();

}  // namespace rill

#endif  // RILL_FLAGS_TLS_FLAGS_H_
