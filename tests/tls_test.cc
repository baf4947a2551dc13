// Mutual TLS across real processes, with certificates made by Debian's
// openssl command as a user would make them: a replay shard given a test
// CA's certificate serves a client whose certificate that CA signed, and
// refuses during the handshake a client with no certificate, one signed by
// another CA, an expired one and a plain-text one, serving on afterwards with
// its items intact. A shard given a bad TLS file exits at start-up naming it.
#include <sys/wait.h>

#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/grpc_util.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/replay.grpc.pb.h"
#include "tests/harness.h"
#include "cli/throwaway_tls.h"

namespace rill::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr char kConfig[] = "--config=tests/configs/tiny_pendulum.textpb";
constexpr char kOpenssl[] = "/usr/bin/openssl";

// `rill launch --tls`'s config (the extensions a peer certificate needs, as
// deploy/k8s/README.md shows them too) plus a minimal `openssl ca` setup,
// which alone can give a certificate validity dates in the past.
std::string OpensslConfig(const std::string& dir) {
  return absl::StrCat(cli::ThrowawayOpensslConfig(), R"(
[ca]
default_ca = test_ca
[test_ca]
database = )", dir, R"(/index.txt
new_certs_dir = )", dir, R"(
serial = )", dir, R"(/serial
default_md = sha256
policy = any_name
unique_subject = no
[any_name]
commonName = supplied
)");
}

// The test's certificates, made once for all tests in a temporary folder.
class Certificates {
 public:
  static const Certificates& Get() {
    static const Certificates& certificates = *new Certificates();
    return certificates;
  }

  std::string dir;
  bool ok = true;
  std::string error;

  std::string Path(const std::string& name) const { return dir + "/" + name; }

 private:
  Certificates() : dir(TempDir("tls-certificates")) {
    std::ofstream(Path("openssl.cnf")) << OpensslConfig(dir);
    std::ofstream(Path("index.txt")).flush();
    std::ofstream(Path("serial")) << "1000\n";
    const std::vector<std::string> new_key = {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-noenc"};
    auto req = [&](std::vector<std::string> args) {
      std::vector<std::string> full = {"req", "-config", Path("openssl.cnf")};
      full.insert(full.end(), new_key.begin(), new_key.end());
      full.insert(full.end(), args.begin(), args.end());
      return full;
    };
    // Two CAs, a good certificate, one from the other CA.
    Run(req({"-x509", "-days", "30", "-subj", "/CN=rill test CA", "-extensions", "ca_ext", "-keyout",
             Path("ca.key"), "-out", Path("ca.crt")}));
    Run(req({"-x509", "-days", "30", "-subj", "/CN=another CA", "-extensions", "ca_ext", "-keyout",
             Path("other-ca.key"), "-out", Path("other-ca.crt")}));
    Run(req({"-x509", "-days", "30", "-subj", "/CN=good", "-extensions", "peer_ext", "-CA", Path("ca.crt"),
             "-CAkey", Path("ca.key"), "-keyout", Path("good.key"), "-out", Path("good.crt")}));
    Run(req({"-x509", "-days", "30", "-subj", "/CN=stranger", "-extensions", "peer_ext", "-CA",
             Path("other-ca.crt"), "-CAkey", Path("other-ca.key"), "-keyout", Path("stranger.key"), "-out",
             Path("stranger.crt")}));
    // Signed by the right CA but valid only on 1 January 2020.
    Run(req({"-new", "-subj", "/CN=expired", "-keyout", Path("expired.key"), "-out", Path("expired.csr")}));
    Run({"ca", "-batch", "-config", Path("openssl.cnf"), "-cert", Path("ca.crt"), "-keyfile", Path("ca.key"),
         "-extensions", "peer_ext", "-startdate", "20200101000000Z", "-enddate", "20200102000000Z", "-notext",
         "-in", Path("expired.csr"), "-out", Path("expired.crt")});
  }

  void Run(const std::vector<std::string>& args) {
    if (!ok) return;
    const absl::Status status = cli::RunOpenssl(kOpenssl, args, Path("openssl.log"), absl::Seconds(60));
    if (!status.ok()) {
      ok = false;
      error = std::string(status.message());
    }
  }
};

std::vector<std::string> TlsArgs(const std::string& cert, const std::string& key) {
  const Certificates& files = Certificates::Get();
  return {"--tls_cert=" + files.Path(cert), "--tls_key=" + files.Path(key), "--tls_ca=" + files.Path("ca.crt")};
}

// Client credentials built straight from PEM files, the way any gRPC client
// would present them; no checks of ours in between.
std::shared_ptr<grpc::ChannelCredentials> ClientCredentials(const std::string& cert, const std::string& key) {
  const Certificates& files = Certificates::Get();
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ReadFile(files.Path("ca.crt"));
  if (!cert.empty()) {
    options.pem_cert_chain = ReadFile(files.Path(cert));
    options.pem_private_key = ReadFile(files.Path(key));
  }
  return grpc::SslCredentials(options);
}

class TlsReplayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const Certificates& files = Certificates::Get();
    ASSERT_TRUE(files.ok) << files.error;
    std::vector<std::string> args = {"replay", kConfig};
    for (const std::string& arg : TlsArgs("good.crt", "good.key")) args.push_back(arg);
    absl::StatusOr<RoleProcess> started = StartRole("tls-replay", args);
    ASSERT_TRUE(started.ok()) << started.status();
    shard_ = std::move(*started);
    // The good client stores five items.
    auto stub = v1::ReplayService::NewStub(grpc::CreateChannel(shard_.address(), ClientCredentials("good.crt", "good.key")));
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(30)));
    auto stream = stub->Insert(&context);
    ASSERT_TRUE(stream->Write(FiveTransitions()));
    v1::InsertResponse response;
    ASSERT_TRUE(stream->Read(&response));
    EXPECT_EQ(response.keys_size(), 5);
    stream->WritesDone();
    grpc::Status finished = stream->Finish();
    ASSERT_TRUE(finished.ok()) << finished.error_message();
  }

  // Info through a channel with `credentials`: the status, and the table's
  // size when it answered.
  std::pair<grpc::Status, int64_t> Info(const std::shared_ptr<grpc::ChannelCredentials>& credentials) {
    auto stub = v1::ReplayService::NewStub(grpc::CreateChannel(shard_.address(), credentials));
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(10)));
    v1::InfoRequest request;
    v1::InfoResponse response;
    grpc::Status status = stub->Info(&context, request, &response);
    return {status, response.tables_size() > 0 ? response.tables(0).size() : -1};
  }

  // The refused client got UNAVAILABLE (no connection), and the shard still
  // runs, serves the good client and holds its five items.
  void ExpectRefusedAndServingOn(const std::shared_ptr<grpc::ChannelCredentials>& credentials) {
    const auto [refused, size] = Info(credentials);
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE) << refused.error_message();
    EXPECT_EQ(size, -1);
    EXPECT_TRUE(shard_.process->running()) << shard_.process->LogTail(10);
    const auto [status, items] = Info(ClientCredentials("good.crt", "good.key"));
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(items, 5);
  }

  RoleProcess shard_;
};

TEST_F(TlsReplayTest, ClientWithACertificateFromTheCaReadsTheItemsItInserted) {
  const auto [status, items] = Info(ClientCredentials("good.crt", "good.key"));
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(items, 5);
}

TEST_F(TlsReplayTest, ClientWithoutACertificateIsRefused) {
  ExpectRefusedAndServingOn(ClientCredentials("", ""));
}

TEST_F(TlsReplayTest, ClientWithACertificateFromAnotherCaIsRefused) {
  ExpectRefusedAndServingOn(ClientCredentials("stranger.crt", "stranger.key"));
}

TEST_F(TlsReplayTest, ClientWithAnExpiredCertificateIsRefused) {
  ExpectRefusedAndServingOn(ClientCredentials("expired.crt", "expired.key"));
}

TEST_F(TlsReplayTest, PlainTextClientIsRefused) {
  ExpectRefusedAndServingOn(grpc::InsecureChannelCredentials());
}

// The Kubernetes exec probe: `rill-replay health` with the TLS flags finds
// the shard SERVING; without them it is refused like any plain-text client.
TEST_F(TlsReplayTest, HealthProbeWithTheTlsFlagsSeesServing) {
  auto run = [&](const std::string& name, std::vector<std::string> extra) {
    std::vector<std::string> args = {"health", "--port=" + std::to_string(shard_.grpc_port)};
    args.insert(args.end(), extra.begin(), extra.end());
    const std::string log = TempDir("health-" + name) + "/out.log";
    auto child = ChildProcess::StartProgram(name, RillBinary() + "-replay", args, log);
    EXPECT_TRUE(child.ok()) << child.status();
    std::optional<int> status = (*child)->WaitExit(absl::Seconds(30));
    EXPECT_TRUE(status.has_value());
    return std::make_pair(status.has_value() && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1, ReadFile(log));
  };
  const auto [tls_code, tls_output] = run("tls", TlsArgs("good.crt", "good.key"));
  EXPECT_EQ(tls_code, 0) << tls_output;
  EXPECT_THAT(tls_output, HasSubstr("SERVING"));
  const auto [plain_code, plain_output] = run("plain", {"--health_timeout=2s"});
  EXPECT_EQ(plain_code, 1) << plain_output;
  EXPECT_THAT(plain_output, HasSubstr("(plain text) is not healthy"));
}

// A role given a bad TLS file exits with the bad-input code before it serves,
// naming the flag and the file.
std::pair<int, std::string> StartAndWaitExit(const std::string& name, const std::vector<std::string>& tls) {
  std::vector<std::string> args = {"replay", kConfig, "--host=127.0.0.1", "--port=0", "--metrics_port=0"};
  args.insert(args.end(), tls.begin(), tls.end());
  const std::string log = TempDir("bad-" + name) + "/out.log";
  auto child = ChildProcess::Start(name, RillBinary(), args, log);
  EXPECT_TRUE(child.ok()) << child.status();
  std::optional<int> status = (*child)->WaitExit(absl::Seconds(30));
  EXPECT_TRUE(status.has_value()) << name << " is still running";
  return {status.has_value() && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1, ReadFile(log)};
}

TEST(TlsStartupTest, ShardWithAnExpiredCertificateExitsNamingItAndItsDates) {
  const Certificates& files = Certificates::Get();
  ASSERT_TRUE(files.ok) << files.error;
  const auto [code, output] = StartAndWaitExit("expired", TlsArgs("expired.crt", "expired.key"));
  EXPECT_EQ(code, 2) << output;
  EXPECT_THAT(output, AllOf(HasSubstr("--tls_cert=" + files.Path("expired.crt")), HasSubstr("has expired"),
                            HasSubstr("valid from 2020-01-01 00:00:00 UTC to 2020-01-02 00:00:00 UTC")));
}

TEST(TlsStartupTest, ShardWithAKeyOfAnotherCertificateExitsNamingIt) {
  const Certificates& files = Certificates::Get();
  ASSERT_TRUE(files.ok) << files.error;
  const auto [code, output] = StartAndWaitExit("mismatch", TlsArgs("good.crt", "stranger.key"));
  EXPECT_EQ(code, 2) << output;
  EXPECT_THAT(output, HasSubstr("--tls_key=" + files.Path("stranger.key") + " does not belong to --tls_cert=" +
                                files.Path("good.crt")));
}

TEST(TlsStartupTest, ShardWithOnlySomeTlsFlagsExitsNamingTheMissingOnes) {
  const Certificates& files = Certificates::Get();
  ASSERT_TRUE(files.ok) << files.error;
  const auto [code, output] = StartAndWaitExit("partial", {"--tls_cert=" + files.Path("good.crt")});
  EXPECT_EQ(code, 2) << output;
  EXPECT_THAT(output, HasSubstr("--tls_key and --tls_ca are not set"));
}

}  // namespace
}  // namespace rill::testing
