#include "flags/tls_flags.h"

#include "absl/flags/flag.h"
#include "flags/flags.h"

namespace rill {

TlsFiles TlsFilesFromFlags() {
  TlsFiles files;
  files.cert = absl::GetFlag(FLAGS_tls_cert);
  files.key = absl::GetFlag(FLAGS_tls_key);
  files.ca = absl::GetFlag(FLAGS_tls_ca);
  return files;
}

absl::Status ConfigureTlsFromFlags() { return ConfigureTls(TlsFilesFromFlags()); }

}  // namespace rill
