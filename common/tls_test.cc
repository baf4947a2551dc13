#include "common/tls.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/grpc_util.h"
#include "proto/health.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct X509Free {
  void operator()(X509* x509) const { X509_free(x509); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Certificate = std::unique_ptr<X509, X509Free>;

const absl::Time kNow = absl::FromCivil(absl::CivilSecond(2030, 6, 1, 12, 0, 0), absl::UTCTimeZone());

Key NewKey() { return Key(EVP_EC_gen("P-256")); }

// A key and the certificate for it, with its PEM text.
struct Identity {
  Key key;
  Certificate certificate;
  std::string key_pem;
  std::string certificate_pem;
};

std::string Pem(X509* certificate) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_X509(bio.get(), certificate);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

std::string Pem(EVP_PKEY* key, const char* passphrase = nullptr) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (passphrase == nullptr) {
    PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  } else {
    PEM_write_bio_PKCS8PrivateKey(bio.get(), key, EVP_aes_256_cbc(), nullptr, 0, nullptr,
                                  const_cast<char*>(passphrase));
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

struct MintOptions {
  std::string common_name = "rill test";
  bool ca = false;
  absl::Time not_before = kNow - absl::Hours(24);
  absl::Time not_after = kNow + absl::Hours(24 * 365);
  std::string subject_alt_names = "IP:127.0.0.1,DNS:localhost";
};

// A certificate for a new key, signed by `issuer` (self-signed when null),
// with the extensions `openssl req -x509` / `openssl ca` would give it.
Identity Mint(const MintOptions& options, const Identity* issuer = nullptr) {
  static long serial = 1;
  Identity identity;
  identity.key = NewKey();
  Certificate certificate(X509_new());
  X509* x = certificate.get();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
  ASN1_TIME_set(X509_getm_notBefore(x), absl::ToTimeT(options.not_before));
  ASN1_TIME_set(X509_getm_notAfter(x), absl::ToTimeT(options.not_after));
  X509_set_pubkey(x, identity.key.get());
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(options.common_name.c_str()), -1, -1, 0);
  X509* issuer_certificate = issuer != nullptr ? issuer->certificate.get() : x;
  X509_set_issuer_name(x, X509_get_subject_name(issuer_certificate));
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer_certificate, x, nullptr, nullptr, 0);
  std::vector<std::pair<int, std::string>> extensions = {
      {NID_basic_constraints, options.ca ? "critical,CA:TRUE" : "critical,CA:FALSE"},
      {NID_key_usage, options.ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature,keyEncipherment"},
      {NID_subject_key_identifier, "hash"},
  };
  if (!options.ca) {
    extensions.push_back({NID_ext_key_usage, "serverAuth,clientAuth"});
    if (!options.subject_alt_names.empty()) extensions.push_back({NID_subject_alt_name, options.subject_alt_names});
  }
  for (const auto& [nid, value] : extensions) {
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
    EXPECT_NE(extension, nullptr) << value;
    X509_add_ext(x, extension, -1);
    X509_EXTENSION_free(extension);
  }
  EVP_PKEY* signer = issuer != nullptr ? issuer->key.get() : identity.key.get();
  EXPECT_GT(X509_sign(x, signer, EVP_sha256()), 0);
  identity.certificate = std::move(certificate);
  identity.key_pem = Pem(identity.key.get());
  identity.certificate_pem = Pem(identity.certificate.get());
  return identity;
}

Identity MintCa(const std::string& name) {
  MintOptions options;
  options.common_name = name;
  options.ca = true;
  options.not_before = kNow - absl::Hours(24 * 30);
  options.not_after = kNow + absl::Hours(24 * 3650);
  return Mint(options);
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* root = std::getenv("TEST_TMPDIR");
    dir_ = std::string(root != nullptr ? root : "/tmp") + "/tls_test-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    ca_ = MintCa("rill test CA");
    good_ = Mint(MintOptions(), &ca_);
    files_ = {Write("tls.crt", good_.certificate_pem), Write("tls.key", good_.key_pem),
              Write("ca.crt", ca_.certificate_pem)};
  }

  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::trunc) << text;
    return path;
  }

  std::string dir_;
  Identity ca_;
  Identity good_;
  TlsFiles files_;
};

TEST_F(TlsTest, AcceptsACertificateWithItsKeyAndCa) {
  absl::StatusOr<TlsMaterial> material = LoadTlsMaterial(files_, kNow);
  ASSERT_TRUE(material.ok()) << material.status();
  EXPECT_EQ(material->cert_chain, good_.certificate_pem);
  EXPECT_EQ(material->private_key, good_.key_pem);
  EXPECT_EQ(material->root_certs, ca_.certificate_pem);
}

TEST_F(TlsTest, RefusesSomeButNotAllOfTheThreeFlags) {
  TlsFiles files = files_;
  files.ca.clear();
  absl::Status status = LoadTlsMaterial(files, kNow).status();
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("--tls_ca is not set"));
  files.key.clear();
  EXPECT_THAT(std::string(LoadTlsMaterial(files, kNow).status().message()), HasSubstr("--tls_key and --tls_ca are not set"));
}

TEST_F(TlsTest, NamesAMissingFileWithItsFlag) {
  TlsFiles files = files_;
  files.key = dir_ + "/missing.key";
  absl::Status status = LoadTlsMaterial(files, kNow).status();
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("--tls_key=" + files.key + ": no such file"));
}

TEST_F(TlsTest, NamesAFileThatIsNotPem) {
  TlsFiles files = files_;
  files.ca = Write("not-pem.crt", "just some text\n");
  absl::Status status = LoadTlsMaterial(files, kNow).status();
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("--tls_ca=" + files.ca + " holds no PEM data, not a PEM certificate"));
}

TEST_F(TlsTest, NamesAMalformedCertificate) {
  TlsFiles files = files_;
  files.cert = Write("broken.crt", "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n");
  absl::Status status = LoadTlsMaterial(files, kNow).status();
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("--tls_cert=" + files.cert + ": a malformed PEM certificate"));
}

TEST_F(TlsTest, NamesAKeyGivenAsTheCertificate) {
  TlsFiles files = files_;
  std::swap(files.cert, files.key);
  absl::Status status = LoadTlsMaterial(files, kNow).status();
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("--tls_cert=" + files.cert + " holds a private key, not a PEM certificate"));
}

TEST_F(TlsTest, NamesACertificateGivenAsTheKey) {
  TlsFiles files = files_;
  files.key = files.ca;
  absl::Status status = LoadTlsMaterial(files, kNow).status();
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("--tls_key=" + files.key + " holds a certificate, not a PEM private key"));
}

TEST_F(TlsTest, RefusesAnEncryptedKeyWithoutAskingForItsPassphrase) {
  TlsFiles files = files_;
  files.key = Write("encrypted.key", Pem(good_.key.get(), "secret"));
  absl::Status status = LoadTlsMaterial(files, kNow).status();
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("--tls_key=" + files.key + " is an encrypted private key"));
}

TEST_F(TlsTest, RefusesAKeyThatDoesNotBelongToTheCertificate) {
  TlsFiles files = files_;
  files.key = Write("other.key", Pem(NewKey().get()));
  absl::Status status = LoadTlsMaterial(files, kNow).status();
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("--tls_key=" + files.key + " does not belong to --tls_cert=" + files.cert));
}

TEST_F(TlsTest, RefusesAnExpiredCertificateNamingItsDates) {
  MintOptions options;
  options.not_before = absl::FromCivil(absl::CivilSecond(2020, 1, 1, 0, 0, 0), absl::UTCTimeZone());
  options.not_after = absl::FromCivil(absl::CivilSecond(2020, 1, 2, 0, 0, 0), absl::UTCTimeZone());
  Identity expired = Mint(options, &ca_);
  TlsFiles files = files_;
  files.cert = Write("expired.crt", expired.certificate_pem);
  files.key = Write("expired.key", expired.key_pem);
  absl::Status status = LoadTlsMaterial(files, kNow).status();
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(std::string(status.message()),
              AllOf(HasSubstr("--tls_cert=" + files.cert), HasSubstr("has expired"),
                    HasSubstr("valid from 2020-01-01 00:00:00 UTC to 2020-01-02 00:00:00 UTC"),
                    HasSubstr("now is 2030-06-01 12:00:00 UTC")));
}

TEST_F(TlsTest, RefusesACertificateThatIsNotValidYet) {
  const absl::Time before = kNow - absl::Hours(48);  // the certificate starts a day before kNow
  absl::Status status = LoadTlsMaterial(files_, before).status();
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(std::string(status.message()), AllOf(HasSubstr("--tls_cert=" + files_.cert), HasSubstr("is not valid yet")));
}

TEST_F(TlsTest, RefusesACertificateOfAnotherCa) {
  Identity other_ca = MintCa("another CA");
  Identity stranger = Mint(MintOptions(), &other_ca);
  TlsFiles files = files_;
  files.cert = Write("stranger.crt", stranger.certificate_pem);
  files.key = Write("stranger.key", stranger.key_pem);
  absl::Status status = LoadTlsMaterial(files, kNow).status();
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("--tls_cert=" + files.cert + " does not chain to the CA of --tls_ca=" + files.ca));
}

TEST_F(TlsTest, RefusesACaFileWithNoCertificateValidNow) {
  MintOptions options;
  options.common_name = "expired CA";
  options.ca = true;
  options.not_before = kNow - absl::Hours(24 * 400);
  options.not_after = kNow - absl::Hours(24 * 30);
  Identity old_ca = Mint(options);
  TlsFiles files = files_;
  files.ca = Write("old-ca.crt", old_ca.certificate_pem);
  absl::Status status = LoadTlsMaterial(files, kNow).status();
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(std::string(status.message()), AllOf(HasSubstr("--tls_ca=" + files.ca + " holds no CA certificate valid now"),
                                      HasSubstr("has expired")));
}

TEST_F(TlsTest, AcceptsACaBundleThatAlsoHoldsAnotherCa) {
  TlsFiles files = files_;
  files.ca = Write("bundle.crt", MintCa("retired CA").certificate_pem + ca_.certificate_pem);
  EXPECT_TRUE(LoadTlsMaterial(files, kNow).ok());
}

// A server needs one service of its own; this one answers every health
// check with SERVING.
class ServingHealth final : public grpc::health::v1::Health::Service {
 public:
  grpc::Status Check(grpc::ServerContext*, const grpc::health::v1::HealthCheckRequest*,
                     grpc::health::v1::HealthCheckResponse* response) override {
    response->set_status(grpc::health::v1::HealthCheckResponse::SERVING);
    return grpc::Status::OK;
  }
};

// The process-wide setting, through StartGrpcServer and MakeChannel: real
// certificates valid today.
class TlsChannelTest : public TlsTest {
 protected:
  static MintOptions Today() {
    MintOptions today;
    today.not_before = absl::Now() - absl::Hours(1);
    today.not_after = absl::Now() + absl::Hours(24);
    return today;
  }

  void SetUp() override {
    TlsTest::SetUp();
    MintOptions ca = Today();
    ca.ca = true;
    ca.common_name = "rill test CA (today)";
    ca_today_ = Mint(ca);
    good_ = Mint(Today(), &ca_today_);
    files_ = {Write("today.crt", good_.certificate_pem), Write("today.key", good_.key_pem),
              Write("today-ca.crt", ca_today_.certificate_pem)};
  }
  void TearDown() override { EXPECT_TRUE(ConfigureTls(TlsFiles()).ok()); }

  Identity ca_today_;
  ServingHealth health_;
};

TEST_F(TlsChannelTest, ServerAndChannelSpeakTlsOnceConfigured) {
  ASSERT_TRUE(ConfigureTls(files_).ok());
  EXPECT_TRUE(TlsEnabled());
  absl::StatusOr<StartedServer> server = StartGrpcServer("127.0.0.1:0", {&health_}, 1 << 20);
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string address = absl::StrCat("127.0.0.1:", server->port);
  EXPECT_TRUE(CheckHealth(*MakeChannel(address, 1 << 20), absl::Seconds(10)).ok());
  // A plain-text client gets no answer from a TLS server.
  auto plain = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  absl::Status refused = CheckHealth(*plain, absl::Seconds(10));
  EXPECT_TRUE(absl::IsUnavailable(refused)) << refused;
  server->server->Shutdown();
}

TEST_F(TlsChannelTest, ChannelRefusesAServerWhoseCertificateDoesNotNameTheDialledHost) {
  ASSERT_TRUE(ConfigureTls(files_).ok());
  absl::StatusOr<StartedServer> server = StartGrpcServer("127.0.0.1:0", {&health_}, 1 << 20);
  ASSERT_TRUE(server.ok()) << server.status();
  // The certificate names IP:127.0.0.1 and DNS:localhost; a client that
  // dials the loopback by another name must not accept it.
  MintOptions elsewhere = Today();
  elsewhere.subject_alt_names = "DNS:rill-learner";
  Identity learner_only = Mint(elsewhere, &ca_today_);
  TlsMaterial material{learner_only.certificate_pem, learner_only.key_pem, ca_today_.certificate_pem};
  // The server presents learner_only; a client dialling 127.0.0.1 refuses it.
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", MakeServerCredentials(material), &port);
  ServingHealth health;
  builder.RegisterService(&health);
  std::unique_ptr<grpc::Server> misnamed = builder.BuildAndStart();
  ASSERT_NE(misnamed, nullptr);
  absl::Status refused = CheckHealth(*MakeChannel(absl::StrCat("127.0.0.1:", port), 1 << 20), absl::Seconds(10));
  EXPECT_TRUE(absl::IsUnavailable(refused)) << refused;
  // The properly named server is accepted by the same client settings.
  EXPECT_TRUE(CheckHealth(*MakeChannel(absl::StrCat("localhost:", server->port), 1 << 20), absl::Seconds(10)).ok());
  misnamed->Shutdown();
  server->server->Shutdown();
}

TEST_F(TlsChannelTest, AFailedConfigurationLeavesTheSettingAsItWas) {
  ASSERT_TRUE(ConfigureTls(files_).ok());
  TlsFiles broken = files_;
  broken.key = dir_ + "/missing.key";
  EXPECT_FALSE(ConfigureTls(broken).ok());
  EXPECT_TRUE(TlsEnabled());
  ASSERT_TRUE(ConfigureTls(TlsFiles()).ok());
  EXPECT_FALSE(TlsEnabled());
}

}  // namespace
}  // namespace rill
