#include "common/tls.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "common/logging.h"
#include "common/status_macros.h"

namespace rill {
namespace {

// A PEM file is a few KB; anything this large was named by mistake.
constexpr std::streamoff kMaxPemBytes = 1 << 20;

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* x509) const { X509_free(x509); }
};
struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct StoreFree {
  void operator()(X509_STORE* store) const { X509_STORE_free(store); }
};
struct StoreContextFree {
  void operator()(X509_STORE_CTX* context) const { X509_STORE_CTX_free(context); }
};
struct StackFree {
  void operator()(STACK_OF(X509) * stack) const { sk_X509_free(stack); }
};
using Certificate = std::unique_ptr<X509, X509Free>;
using PrivateKey = std::unique_ptr<EVP_PKEY, KeyFree>;

std::string FlagAndPath(const char* flag, const std::string& path) { return absl::StrCat("--", flag, "=", path); }

// OpenSSL's queued errors as one line, emptying the queue.
std::string TakeOpensslErrors() {
  std::vector<std::string> errors;
  while (const unsigned long code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof(text));
    errors.push_back(text);
  }
  return errors.empty() ? std::string("no detail from OpenSSL") : absl::StrJoin(errors, "; ");
}

absl::StatusOr<std::string> ReadPemFile(const char* flag, const std::string& path) {
  std::error_code error;
  if (!std::filesystem::exists(path, error)) {
    return absl::InvalidArgumentError(absl::StrCat(FlagAndPath(flag, path), ": no such file"));
  }
  if (std::filesystem::is_directory(path, error)) {
    return absl::InvalidArgumentError(absl::StrCat(FlagAndPath(flag, path), " is a folder, not a PEM file"));
  }
  errno = 0;
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat(FlagAndPath(flag, path), ": cannot read the file (", std::strerror(errno), ")"));
  }
  const std::streamoff size = in.tellg();
  if (size > kMaxPemBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(FlagAndPath(flag, path), ": ", size, " bytes is too large for a PEM file"));
  }
  in.seekg(0);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::unique_ptr<BIO, BioFree> MemoryBio(const std::string& text) {
  return std::unique_ptr<BIO, BioFree>(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// What a file holds instead of what was asked for, for error messages.
std::string DescribeWrongPem(const std::string& text) {
  if (absl::StrContains(text, "PRIVATE KEY-----")) return "a private key";
  if (absl::StrContains(text, "-----BEGIN CERTIFICATE-----")) return "a certificate";
  if (absl::StrContains(text, "-----BEGIN CERTIFICATE REQUEST-----")) return "a certificate request";
  if (absl::StrContains(text, "-----BEGIN ")) return "PEM data of another kind";
  return "no PEM data";
}

// Every certificate in `text`, in order. InvalidArgument when there is none
// or one is malformed.
absl::StatusOr<std::vector<Certificate>> ParseCertificates(const char* flag, const std::string& path,
                                                           const std::string& text) {
  std::vector<Certificate> certificates;
  auto bio = MemoryBio(text);
  ERR_clear_error();
  while (true) {
    Certificate certificate(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (certificate == nullptr) break;
    certificates.push_back(std::move(certificate));
  }
  // The loop ends at the end of the text (no further start line) or at a
  // block it cannot decode.
  const unsigned long last = ERR_peek_last_error();
  const bool at_end = last == 0 || (ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE);
  if (!at_end) {
    return absl::InvalidArgumentError(absl::StrCat(FlagAndPath(flag, path), ": a malformed PEM certificate (",
                                                   TakeOpensslErrors(), ")"));
  }
  ERR_clear_error();
  if (certificates.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(FlagAndPath(flag, path), " holds ", DescribeWrongPem(text),
                                                   ", not a PEM certificate (-----BEGIN CERTIFICATE-----)"));
  }
  return certificates;
}

// Refuses to ask for a passphrase (OpenSSL would prompt on the terminal).
int NoPassphrase(char*, int, int, void*) { return -1; }

absl::StatusOr<PrivateKey> ParsePrivateKey(const std::string& path, const std::string& text) {
  auto bio = MemoryBio(text);
  ERR_clear_error();
  PrivateKey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
  if (key != nullptr) {
    ERR_clear_error();
    return key;
  }
  const std::string detail = TakeOpensslErrors();
  if (absl::StrContains(text, "ENCRYPTED")) {
    return absl::InvalidArgumentError(absl::StrCat(
        FlagAndPath("tls_key", path), " is an encrypted private key; gRPC needs it unencrypted "
        "(openssl pkey -in KEY -out PLAIN_KEY, then keep PLAIN_KEY mode 0600)"));
  }
  if (absl::StrContains(text, "PRIVATE KEY-----")) {
    return absl::InvalidArgumentError(
        absl::StrCat(FlagAndPath("tls_key", path), ": a malformed PEM private key (", detail, ")"));
  }
  return absl::InvalidArgumentError(absl::StrCat(FlagAndPath("tls_key", path), " holds ", DescribeWrongPem(text),
                                                 ", not a PEM private key (-----BEGIN PRIVATE KEY-----)"));
}

std::optional<absl::Time> AsTime(const ASN1_TIME* time) {
  std::tm tm{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) return std::nullopt;
  return absl::FromTimeT(timegm(&tm));
}

std::string Utc(std::optional<absl::Time> time) {
  return time.has_value() ? absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", *time, absl::UTCTimeZone()) : "?";
}

std::string Subject(X509* certificate) {
  char text[256];
  if (X509_NAME_oneline(X509_get_subject_name(certificate), text, sizeof(text)) == nullptr) return "?";
  return text;
}

// Empty when `certificate` is valid at `now`, else why not, with its dates.
std::string WhyNotValidAt(X509* certificate, absl::Time now) {
  const std::optional<absl::Time> not_before = AsTime(X509_get0_notBefore(certificate));
  const std::optional<absl::Time> not_after = AsTime(X509_get0_notAfter(certificate));
  const std::string dates = absl::StrCat("valid from ", Utc(not_before), " to ", Utc(not_after),
                                         "; now is ", Utc(now));
  if (!not_before.has_value() || !not_after.has_value()) return absl::StrCat("has unreadable validity dates (", dates, ")");
  if (now > *not_after) return absl::StrCat("has expired (", dates, ")");
  if (now < *not_before) {
    return absl::StrCat("is not valid yet (", dates, "; is this machine's clock behind the one that issued it?)");
  }
  return "";
}

// Checks that the first certificate of `chain` chains to one of `roots` at
// `now`, with the rest of `chain` as intermediates.
absl::Status VerifyChain(const TlsFiles& files, const std::vector<Certificate>& chain,
                         const std::vector<Certificate>& roots, absl::Time now) {
  std::unique_ptr<X509_STORE, StoreFree> store(X509_STORE_new());
  std::unique_ptr<X509_STORE_CTX, StoreContextFree> context(X509_STORE_CTX_new());
  std::unique_ptr<STACK_OF(X509), StackFree> intermediates(sk_X509_new_null());
  if (store == nullptr || context == nullptr || intermediates == nullptr) {
    return absl::ResourceExhaustedError("OpenSSL cannot allocate a certificate store");
  }
  for (const Certificate& root : roots) X509_STORE_add_cert(store.get(), root.get());
  for (size_t i = 1; i < chain.size(); ++i) sk_X509_push(intermediates.get(), chain[i].get());
  if (X509_STORE_CTX_init(context.get(), store.get(), chain[0].get(), intermediates.get()) != 1) {
    return absl::InternalError(absl::StrCat("OpenSSL cannot set up verification: ", TakeOpensslErrors()));
  }
  X509_STORE_CTX_set_time(context.get(), 0, absl::ToTimeT(now));
  const int verified = X509_verify_cert(context.get());
  if (verified == 1) {
    ERR_clear_error();
    return absl::OkStatus();
  }
  const int error = X509_STORE_CTX_get_error(context.get());
  X509* at = X509_STORE_CTX_get_current_cert(context.get());
  ERR_clear_error();
  return absl::InvalidArgumentError(absl::StrCat(
      FlagAndPath("tls_cert", files.cert), " does not chain to the CA of ", FlagAndPath("tls_ca", files.ca), ": ",
      X509_verify_cert_error_string(error), at != nullptr ? absl::StrCat(" (at ", Subject(at), ")") : "",
      "; peers that trust this CA would refuse it"));
}

struct TlsSetting {
  absl::Mutex mu;
  std::optional<TlsMaterial> material ABSL_GUARDED_BY(mu);
};

// Never destroyed (the style guide's function-local static): channels may
// be made by threads that outlive static destruction at exit.
TlsSetting& Setting() {
  static TlsSetting& setting = *new TlsSetting();
  return setting;
}

std::optional<TlsMaterial> CurrentMaterial() {
  TlsSetting& setting = Setting();
  absl::MutexLock lock(&setting.mu);
  return setting.material;
}

}  // namespace

absl::StatusOr<TlsMaterial> LoadTlsMaterial(const TlsFiles& files, absl::Time now) {
  std::vector<std::string> missing;
  if (files.cert.empty()) missing.push_back("--tls_cert");
  if (files.key.empty()) missing.push_back("--tls_key");
  if (files.ca.empty()) missing.push_back("--tls_ca");
  if (!missing.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "TLS needs all three of --tls_cert, --tls_key and --tls_ca (or none, for plain text); ",
        absl::StrJoin(missing, " and "), missing.size() == 1 ? " is" : " are", " not set"));
  }
  TlsMaterial material;
  ASSIGN_OR_RETURN(material.cert_chain, ReadPemFile("tls_cert", files.cert));
  ASSIGN_OR_RETURN(material.private_key, ReadPemFile("tls_key", files.key));
  ASSIGN_OR_RETURN(material.root_certs, ReadPemFile("tls_ca", files.ca));
  ASSIGN_OR_RETURN(std::vector<Certificate> chain, ParseCertificates("tls_cert", files.cert, material.cert_chain));
  ASSIGN_OR_RETURN(PrivateKey key, ParsePrivateKey(files.key, material.private_key));
  ASSIGN_OR_RETURN(std::vector<Certificate> roots, ParseCertificates("tls_ca", files.ca, material.root_certs));

  if (X509_check_private_key(chain[0].get(), key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat(FlagAndPath("tls_key", files.key), " does not belong to ",
                                                   FlagAndPath("tls_cert", files.cert), " (",
                                                   Subject(chain[0].get()), "): its public key differs"));
  }
  const std::string leaf = WhyNotValidAt(chain[0].get(), now);
  if (!leaf.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(FlagAndPath("tls_cert", files.cert), " (", Subject(chain[0].get()),
                                                   ") ", leaf));
  }
  // A bundle may hold a retired CA beside the current one; one valid CA is
  // enough.
  std::string first_root_problem;
  bool any_root_valid = false;
  for (const Certificate& root : roots) {
    const std::string why = WhyNotValidAt(root.get(), now);
    if (why.empty()) any_root_valid = true;
    if (!why.empty() && first_root_problem.empty()) first_root_problem = absl::StrCat(Subject(root.get()), " ", why);
  }
  if (!any_root_valid) {
    return absl::InvalidArgumentError(
        absl::StrCat(FlagAndPath("tls_ca", files.ca), " holds no CA certificate valid now: ", first_root_problem));
  }
  RETURN_IF_ERROR(VerifyChain(files, chain, roots, now));
  return material;
}

absl::Status ConfigureTls(const TlsFiles& files) {
  std::optional<TlsMaterial> material;
  if (!files.empty()) {
    ASSIGN_OR_RETURN(material, LoadTlsMaterial(files, absl::Now()));
    RILL_LOG(INFO) << "mutual TLS on every gRPC server and channel: certificate " << files.cert << ", CA "
                   << files.ca;
  }
  TlsSetting& setting = Setting();
  absl::MutexLock lock(&setting.mu);
  setting.material = std::move(material);
  return absl::OkStatus();
}

bool TlsEnabled() { return CurrentMaterial().has_value(); }

std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials() {
  std::optional<TlsMaterial> material = CurrentMaterial();
  return material.has_value() ? MakeServerCredentials(*material) : grpc::InsecureServerCredentials();
}

std::shared_ptr<grpc::ChannelCredentials> MakeChannelCredentials() {
  std::optional<TlsMaterial> material = CurrentMaterial();
  return material.has_value() ? MakeChannelCredentials(*material) : grpc::InsecureChannelCredentials();
}

std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials(const TlsMaterial& tls) {
  grpc::SslServerCredentialsOptions options(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = tls.root_certs;
  options.pem_key_cert_pairs.push_back({tls.private_key, tls.cert_chain});
  return grpc::SslServerCredentials(options);
}

std::shared_ptr<grpc::ChannelCredentials> MakeChannelCredentials(const TlsMaterial& tls) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = tls.root_certs;
  options.pem_private_key = tls.private_key;
  options.pem_cert_chain = tls.cert_chain;
  return grpc::SslCredentials(options);
}

}  // namespace rill
