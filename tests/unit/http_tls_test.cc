// HttpServer's TLS transport and per-IP connection cap, against independent clients run as
// subprocesses: Python's ssl + http.client (tests/unit/http_tls_client.py) and `openssl s_client`.
// Throwaway certificates (a CA, two server certificates for 127.0.0.1/localhost, a client
// certificate from the CA, a self-signed "foreign" one) are made by the openssl CLI at start-up.
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/http_server.h"
#include "server/tls_context.h"
#include "test_util.h"

namespace enclave::server {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Runs `command` under sh; stdout and stderr together.
testing::CommandResult Shell(const std::string& command) { return testing::RunShell(command + " 2>&1"); }

std::string Quote(const std::string& s) { return "'" + s + "'"; }

// The certificates' SHA-256 as `openssl x509 -fingerprint` prints it, as 64 lowercase hex.
std::string Fingerprint(const std::string& pem) {
  const auto r = Shell("openssl x509 -noout -fingerprint -sha256 -in " + Quote(pem));
  std::string hex;
  for (char c : r.out.substr(r.out.find('=') + 1)) {
    if (std::isxdigit(static_cast<unsigned char>(c))) hex += static_cast<char>(std::tolower(c));
  }
  return hex;
}

constexpr const char* kMakeCerts = R"SH(set -e
cat > tls.cnf <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
[client]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
EOF
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
key ca.key
openssl req -x509 -new -key ca.key -config tls.cnf -extensions ca -subj '/CN=Enclave Test CA' -days 2 -out ca.pem
sign() {
  key "$1.key"
  openssl req -new -key "$1.key" -config tls.cnf -subj "$2" -out "$1.csr"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -set_serial "$4" -days 2 -extfile tls.cnf \
    -extensions "$3" -out "$1.pem"
}
sign server /CN=localhost server 2
sign server2 /CN=localhost server 3
sign client /O=Bank/CN=alice client 4
key foreign.key
openssl req -x509 -new -key foreign.key -config tls.cnf -extensions client -subj /CN=mallory -days 2 -out foreign.pem
openssl pkey -in server.key -aes256 -passout pass:secret -out encrypted.key
)SH";

// A run of tests/unit/http_tls_client.py; its JSON lines are read as they come.
class Client {
 public:
  Client(const std::string& dir, uint16_t port, const json& steps) {
    static int serial = 0;
    const std::string spec = dir + "/spec" + std::to_string(++serial) + ".json";
    std::ofstream(spec) << json{{"port", port}, {"steps", steps}}.dump();
    pipe_ = popen(("python3 " + Quote(testing::SourcePath("tests/unit/http_tls_client.py")) + " " + Quote(spec) +
                   " 2>&1")
                      .c_str(),
                  "r");
  }
  ~Client() {
    if (pipe_) pclose(pipe_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // The next step's result; null at the end.
  json Next() {
    std::string line;
    int c;
    while (pipe_ && (c = std::fgetc(pipe_)) != EOF && c != '\n') line += static_cast<char>(c);
    if (line.empty()) return nullptr;
    json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    return j.is_discarded() ? json{{"ok", false}, {"raw", line}} : j;
  }
  std::vector<json> All() {
    std::vector<json> out;
    for (json j = Next(); !j.is_null(); j = Next()) out.push_back(std::move(j));
    return out;
  }

 private:
  FILE* pipe_ = nullptr;
};

json Connect(const std::string& conn, const std::string& ca, json extra = json::object()) {
  json step = {{"op", "connect"}, {"conn", conn}, {"ca", ca}};
  step.update(extra);
  return step;
}
json Request(const std::string& conn, const std::string& path = "/echo") {
  return {{"op", "request"}, {"conn", conn}, {"path", path}};
}
json CloseConn(const std::string& conn) { return {{"op", "close"}, {"conn", conn}}; }

// The echo handler's reply, parsed.
json EchoBody(const json& step) { return json::parse(step.value("body", "null"), nullptr, false); }

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A TLS client step that the server refused: no response, and the reason the client saw.
void ExpectRefused(const json& step, const std::string& reason) {
  EXPECT_FALSE(step.value("ok", true)) << step.dump();
  EXPECT_FALSE(step.contains("status")) << step.dump();
  EXPECT_NE(Lower(step.value("message", "")).find(reason), std::string::npos) << step.dump();
}

bool WaitFor(const std::function<bool()>& done) {
  for (int i = 0; i < 1000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

class HttpTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/enclave_tls_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = new std::string(tmpl);
    const std::string script = *dir_ + "/make_certs.sh";
    std::ofstream(script) << kMakeCerts;
    const auto r = Shell("cd " + Quote(*dir_) + " && sh make_certs.sh");
    ASSERT_EQ(r.exit_code, 0) << "making test certificates with the openssl CLI failed:\n" << r.out;
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(*dir_, ec);
    delete dir_;
    dir_ = nullptr;
  }

  void TearDown() override {
    server_.reset();
    std::lock_guard<std::mutex> lock(threads_mu_);
    for (auto& t : threads_) t.join();
  }

  static std::string File(const std::string& name) { return *dir_ + "/" + name; }

  // A copy of a certificate and key under names of this test's own, which it may overwrite.
  static TlsOptions LiveTls(const std::string& test, const std::string& cert, const std::string& key) {
    TlsOptions tls;
    tls.cert_file = File(test + ".pem");
    tls.key_file = File(test + ".key");
    fs::copy_file(File(cert), tls.cert_file, fs::copy_options::overwrite_existing);
    fs::copy_file(File(key), tls.key_file, fs::copy_options::overwrite_existing);
    return tls;
  }

  static TlsOptions ServerTls() {
    TlsOptions tls;
    tls.cert_file = File("server.pem");
    tls.key_file = File("server.key");
    return tls;
  }

  // Serves /echo (the request's transport fields as JSON) and /sse (three events from another
  // thread, as the scheduler sends them).
  void StartServer(HttpServerOptions options) {
    options.host = "127.0.0.1";
    options.port = 0;
    auto handler = [this](const HttpRequest& req, std::shared_ptr<Responder> r) {
      if (req.path == "/sse") {
        std::lock_guard<std::mutex> lock(threads_mu_);
        threads_.emplace_back([r] {
          r->StartStream();
          for (int i = 1; i <= 3; ++i) r->SendEvent(std::to_string(i));
          r->EndStream();
        });
        return;
      }
      const json body = {{"tls", req.tls},
                         {"sha256", req.client_cert_sha256},
                         {"subject", req.client_cert_subject},
                         {"remote", req.remote_address}};
      r->Send(200, "application/json", body.dump());
    };
    auto started = HttpServer::Start(options, handler);
    ASSERT_TRUE(started.ok()) << started.status().ToString();
    server_ = std::move(started).value();
  }
  void StartTlsServer(TlsOptions tls) {
    HttpServerOptions options;
    options.tls = std::move(tls);
    StartServer(options);
  }

  std::vector<json> Run(const json& steps) { return Client(*dir_, server_->port(), steps).All(); }

  // `openssl s_client` sending `request` (printf format); stdout and stderr.
  testing::CommandResult SClient(const std::string& args, const std::string& request = "") {
    return Shell("printf " + Quote(request) + " | timeout 20 openssl s_client -connect 127.0.0.1:" +
                 std::to_string(server_->port()) + " " + args);
  }

  static std::string* dir_;
  std::unique_ptr<HttpServer> server_;
  std::mutex threads_mu_;
  std::vector<std::thread> threads_;
};

std::string* HttpTlsTest::dir_ = nullptr;

TEST_F(HttpTlsTest, Tls13RequestServedToOpensslClient) {
  StartTlsServer(ServerTls());
  const auto r = SClient("-tls1_3 -ign_eof -verify_return_error -CAfile " + Quote(File("ca.pem")),
                         "GET /echo HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("TLSv1.3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Verify return code: 0 (ok)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("HTTP/1.1 200 OK"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(R"("tls":true)"), std::string::npos) << r.out;
}

TEST_F(HttpTlsTest, Tls13ByDefaultRefusesTls12Client) {
  StartTlsServer(ServerTls());
  const auto ca = File("ca.pem");
  const auto out = Run({Connect("new", ca), Request("new"), Connect("old", ca, {{"max", "1.2"}})});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].value("version", ""), "TLSv1.3") << out[0].dump();
  EXPECT_EQ(out[1].value("status", 0), 200) << out[1].dump();
  const json echo = EchoBody(out[1]);
  EXPECT_EQ(echo["tls"], true);
  EXPECT_EQ(echo["sha256"], "");  // no client CA configured: no certificate asked for
  EXPECT_EQ(echo["remote"], "127.0.0.1");
  ExpectRefused(out[2], "protocol version");
}

TEST_F(HttpTlsTest, Tls12OptInAllowsOnlyEcdheAead) {
  TlsOptions tls = ServerTls();
  tls.min_version = "1.2";
  StartTlsServer(tls);
  const auto ca = File("ca.pem");
  const json cbc_only = {{"max", "1.2"}, {"ciphers", "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA"}};
  const auto out = Run({Connect("a", ca, {{"max", "1.2"}}), Request("a"), Connect("cbc", ca, cbc_only),
                        Connect("b", ca), Request("b")});
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out[0].value("version", ""), "TLSv1.2") << out[0].dump();
  const std::string cipher = out[0].value("cipher", "");
  EXPECT_TRUE(cipher.starts_with("ECDHE-") &&
              (cipher.find("GCM") != std::string::npos || cipher.find("CHACHA20") != std::string::npos))
      << cipher;
  EXPECT_EQ(out[1].value("status", 0), 200) << out[1].dump();
  ExpectRefused(out[2], "handshake failure");  // CBC suites only
  EXPECT_EQ(out[3].value("version", ""), "TLSv1.3") << out[3].dump();
  EXPECT_EQ(out[4].value("status", 0), 200) << out[4].dump();
}

TEST_F(HttpTlsTest, Tls12SuitesAreEcdheAeadOnly) {
  TlsOptions tls = ServerTls();
  tls.min_version = "1.2";
  auto context = MakeTlsServerContext(tls);
  ASSERT_TRUE(context.ok()) << context.status().ToString();
  STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers((*context)->native_handle());
  int tls12 = 0;
  for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
    const SSL_CIPHER* c = sk_SSL_CIPHER_value(ciphers, i);
    if (std::string(SSL_CIPHER_get_version(c)) == "TLSv1.3") continue;  // 1.3 suites: all AEAD, all (EC)DHE
    ++tls12;
    EXPECT_EQ(SSL_CIPHER_get_kx_nid(c), NID_kx_ecdhe) << SSL_CIPHER_get_name(c);
    EXPECT_EQ(SSL_CIPHER_is_aead(c), 1) << SSL_CIPHER_get_name(c);
  }
  EXPECT_GT(tls12, 0);
}

TEST_F(HttpTlsTest, Tls11And10AlwaysRefused) {
  for (const char* min : {"1.3", "1.2"}) {
    TlsOptions tls = ServerTls();
    tls.min_version = min;
    StartTlsServer(tls);
    for (const char* flag : {"-tls1_1", "-tls1"}) {
      // SECLEVEL=0 lets the client offer the old protocol at all; the refusal must be the server's.
      const auto r = SClient(std::string(flag) + " -cipher 'DEFAULT:@SECLEVEL=0' -CAfile " + Quote(File("ca.pem")),
                             "GET /echo HTTP/1.1\\r\\nHost: localhost\\r\\n\\r\\n");
      EXPECT_NE(r.exit_code, 0) << min << " " << flag << "\n" << r.out;
      EXPECT_NE(r.out.find("alert protocol version"), std::string::npos) << min << " " << flag << "\n" << r.out;
      EXPECT_EQ(r.out.find("HTTP/1.1"), std::string::npos) << r.out;
    }
    server_.reset();
  }
}

TEST_F(HttpTlsTest, PlainHttpToTlsPortIsRefusedAndServerStaysUp) {
  StartTlsServer(ServerTls());
  const auto out = Run({{{"op", "connect"}, {"conn", "plain"}, {"tls", false}}, Request("plain"),
                        Connect("tls", File("ca.pem")), Request("tls")});
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[1].value("status", 0), 400) << out[1].dump();
  EXPECT_NE(out[1].value("body", "").find("https://"), std::string::npos) << out[1].dump();
  EXPECT_EQ(out[3].value("status", 0), 200) << out[3].dump();
  EXPECT_TRUE(WaitFor([&] { return server_->open_connections() == 0; }));
}

TEST_F(HttpTlsTest, ClientThatNeverHandshakesIsClosedAtHeaderTimeout) {
  HttpServerOptions options;
  options.tls = ServerTls();
  options.header_timeout_s = 1;
  StartServer(options);
  const auto out = Run({{{"op", "idle"}, {"timeout", 10}}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].value("ok", false)) << out[0].dump();
  EXPECT_EQ(out[0].value("bytes", -1), 0) << out[0].dump();
  EXPECT_GT(out[0].value("closed_after", 0.0), 0.5) << out[0].dump();
  EXPECT_LT(out[0].value("closed_after", 99.0), 5.0) << out[0].dump();
}

TEST_F(HttpTlsTest, MutualTlsRequiredVerifiesTheClient) {
  TlsOptions tls = ServerTls();
  tls.client_ca_file = File("ca.pem");
  tls.require_client_cert = true;
  StartTlsServer(tls);
  const auto ca = File("ca.pem");
  const auto out = Run({Connect("none", ca), Request("none"),
                        Connect("alice", ca, {{"cert", File("client.pem")}, {"key", File("client.key")}}),
                        Request("alice"), Request("alice"),
                        Connect("mallory", ca, {{"cert", File("foreign.pem")}, {"key", File("foreign.key")}}),
                        Request("mallory")});
  ASSERT_EQ(out.size(), 7u);
  ExpectRefused(out[1], "certificate required");
  ASSERT_EQ(out[3].value("status", 0), 200) << out[3].dump();
  const json echo = EchoBody(out[3]);
  EXPECT_EQ(echo["sha256"], Fingerprint(File("client.pem")));
  EXPECT_EQ(echo["sha256"].get<std::string>().size(), 64u);
  EXPECT_EQ(echo["subject"], "CN=alice,O=Bank");
  EXPECT_EQ(EchoBody(out[4])["sha256"], echo["sha256"]);  // every request on the connection carries it
  ExpectRefused(out[6], "unknown ca");
}

TEST_F(HttpTlsTest, MutualTlsOptionalServesClientsWithoutCertificate) {
  TlsOptions tls = ServerTls();
  tls.client_ca_file = File("ca.pem");
  StartTlsServer(tls);
  const auto ca = File("ca.pem");
  const auto out = Run({Connect("none", ca), Request("none"),
                        Connect("alice", ca, {{"cert", File("client.pem")}, {"key", File("client.key")}}),
                        Request("alice"),
                        Connect("mallory", ca, {{"cert", File("foreign.pem")}, {"key", File("foreign.key")}}),
                        Request("mallory")});
  ASSERT_EQ(out.size(), 6u);
  ASSERT_EQ(out[1].value("status", 0), 200) << out[1].dump();
  EXPECT_EQ(EchoBody(out[1])["tls"], true);
  EXPECT_EQ(EchoBody(out[1])["sha256"], "");
  EXPECT_EQ(EchoBody(out[1])["subject"], "");
  EXPECT_EQ(EchoBody(out[3])["sha256"], Fingerprint(File("client.pem"))) << out[3].dump();
  // A certificate that is presented must verify, even when none is required.
  ExpectRefused(out[5], "unknown ca");
}

TEST_F(HttpTlsTest, ReloadTlsServesNewCertificateToNewConnections) {
  TlsOptions tls = LiveTls("reload", "server.pem", "server.key");
  StartTlsServer(tls);
  const std::string go = File("reload.go");
  const auto ca = File("ca.pem");
  Client client(*dir_, server_->port(),
                {Connect("kept", ca), Request("kept"), {{"op", "wait_file"}, {"path", go}}, Request("kept"),
                 Connect("fresh", ca), Request("fresh")});
  const json kept = client.Next();
  EXPECT_EQ(kept.value("server_cert_sha256", ""), Fingerprint(File("server.pem"))) << kept.dump();
  EXPECT_EQ(client.Next().value("status", 0), 200);

  fs::copy_file(File("server2.pem"), tls.cert_file, fs::copy_options::overwrite_existing);
  fs::copy_file(File("server2.key"), tls.key_file, fs::copy_options::overwrite_existing);
  const Status reloaded = server_->ReloadTls();
  EXPECT_TRUE(reloaded.ok()) << reloaded.ToString();
  std::ofstream(go) << "go";

  const auto rest = client.All();
  ASSERT_EQ(rest.size(), 4u);
  EXPECT_TRUE(rest[0].value("ok", false)) << rest[0].dump();
  EXPECT_EQ(rest[1].value("status", 0), 200) << "the keep-alive connection from before the reload: " << rest[1].dump();
  EXPECT_EQ(rest[2].value("server_cert_sha256", ""), Fingerprint(File("server2.pem"))) << rest[2].dump();
  EXPECT_NE(Fingerprint(File("server2.pem")), Fingerprint(File("server.pem")));
  EXPECT_EQ(rest[3].value("status", 0), 200) << rest[3].dump();
}

TEST_F(HttpTlsTest, ReloadTlsFailureKeepsServingTheOldCertificate) {
  TlsOptions tls = LiveTls("badreload", "server.pem", "server.key");
  StartTlsServer(tls);
  const std::string served = Fingerprint(File("server.pem"));

  std::ofstream(tls.cert_file, std::ios::trunc) << "not a certificate\n";
  Status st = server_->ReloadTls();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("cannot read TLS certificate '" + tls.cert_file + "'"), std::string::npos)
      << st.message();

  fs::copy_file(File("server2.pem"), tls.cert_file, fs::copy_options::overwrite_existing);  // key still server's
  st = server_->ReloadTls();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("does not match"), std::string::npos) << st.message();

  fs::remove(tls.key_file);
  st = server_->ReloadTls();
  EXPECT_NE(st.message().find("No such file or directory"), std::string::npos) << st.message();

  const auto out = Run({Connect("a", File("ca.pem")), Request("a")});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].value("server_cert_sha256", ""), served) << out[0].dump();
  EXPECT_EQ(out[1].value("status", 0), 200) << out[1].dump();
}

TEST_F(HttpTlsTest, ReloadTlsWithoutTlsIsAnError) {
  StartServer(HttpServerOptions{});
  const Status st = server_->ReloadTls();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("TLS is not configured"), std::string::npos) << st.message();
}

TEST_F(HttpTlsTest, StartRejectsBadTlsOptions) {
  const auto start_error = [](const TlsOptions& tls) {
    HttpServerOptions options;
    options.port = 0;
    options.tls = tls;
    auto r = HttpServer::Start(options, [](const HttpRequest&, std::shared_ptr<Responder>) {});
    return r.ok() ? Status::Ok() : r.status();
  };
  TlsOptions tls = ServerTls();
  tls.min_version = "1.1";
  Status st = start_error(tls);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("'1.1'"), std::string::npos) << st.message();

  tls = ServerTls();
  tls.cert_file = File("absent.pem");
  st = start_error(tls);
  EXPECT_NE(st.message().find("cannot read TLS certificate '" + tls.cert_file + "': No such file"), std::string::npos)
      << st.message();

  tls = ServerTls();
  tls.key_file = File("server2.key");
  st = start_error(tls);
  EXPECT_NE(st.message().find("does not match the certificate"), std::string::npos) << st.message();

  tls = ServerTls();
  tls.key_file = File("encrypted.key");  // must fail, not prompt for a passphrase
  st = start_error(tls);
  EXPECT_NE(st.message().find("encrypted"), std::string::npos) << st.message();

  tls = ServerTls();
  tls.client_ca_file = File("server.key");
  st = start_error(tls);
  EXPECT_NE(st.message().find("TLS client CA file"), std::string::npos) << st.message();

  tls = ServerTls();
  tls.require_client_cert = true;
  EXPECT_EQ(start_error(tls).code(), StatusCode::kInvalidArgument);

  tls = TlsOptions{};
  tls.key_file = File("server.key");
  EXPECT_EQ(start_error(tls).code(), StatusCode::kInvalidArgument);  // a key without a certificate
}

TEST_F(HttpTlsTest, SseStreamsOverTls) {
  StartTlsServer(ServerTls());
  const auto out = Run({Connect("a", File("ca.pem")), Request("a", "/sse"), Request("a")});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[1].value("status", 0), 200) << out[1].dump();
  EXPECT_EQ(out[1]["headers"].value("content-type", ""), "text/event-stream");
  EXPECT_EQ(out[1].value("body", ""), "data: 1\n\ndata: 2\n\ndata: 3\n\n");
  EXPECT_EQ(out[2].value("status", 0), 200) << "keep-alive after a stream: " << out[2].dump();
}

class HttpConnectionCapTest : public HttpTlsTest, public ::testing::WithParamInterface<bool> {};

TEST_P(HttpConnectionCapTest, ThirdConnectionFromOneAddressGets429) {
  const bool use_tls = GetParam();
  HttpServerOptions options;
  if (use_tls) options.tls = ServerTls();
  options.max_connections_per_ip = 2;
  StartServer(options);
  const auto ca = File("ca.pem");
  const auto connect = [&](const std::string& conn) { return Connect(conn, ca, {{"tls", use_tls}}); };
  const std::string go = File(use_tls ? "cap_tls.go" : "cap_plain.go");
  Client client(*dir_, server_->port(),
                {connect("a"), Request("a"), connect("b"), Request("b"), connect("c"), Request("c"), CloseConn("c"),
                 CloseConn("a"), {{"op", "wait_file"}, {"path", go}}, connect("d"), Request("d"), Request("b")});
  std::vector<json> out;
  for (int i = 0; i < 8; ++i) out.push_back(client.Next());
  // a closed: once the server has seen it (and c) go, one connection (b) is left.
  EXPECT_TRUE(WaitFor([&] { return server_->open_connections() == 1; })) << server_->open_connections();
  std::ofstream(go) << "go";
  for (json j = client.Next(); !j.is_null(); j = client.Next()) out.push_back(std::move(j));
  ASSERT_EQ(out.size(), 12u);

  EXPECT_EQ(out[1].value("status", 0), 200) << out[1].dump();
  EXPECT_EQ(EchoBody(out[1])["tls"], use_tls);
  EXPECT_EQ(out[3].value("status", 0), 200) << out[3].dump();
  const json& refused = out[5];
  ASSERT_EQ(refused.value("status", 0), 429) << refused.dump();
  EXPECT_EQ(refused["headers"].value("retry-after", ""), "1");
  EXPECT_EQ(refused["headers"].value("connection", ""), "close");
  const json error = json::parse(refused.value("body", ""), nullptr, false);
  EXPECT_EQ(error["error"]["type"], "rate_limit_error") << refused.dump();
  EXPECT_NE(error["error"]["message"].get<std::string>().find("limit is 2"), std::string::npos);
  EXPECT_EQ(out[10].value("status", 0), 200) << "a new connection once one closed: " << out[10].dump();
  EXPECT_EQ(out[11].value("status", 0), 200) << out[11].dump();
}

INSTANTIATE_TEST_SUITE_P(PlainAndTls, HttpConnectionCapTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) { return info.param ? "Tls" : "Plain"; });

}  // namespace
}  // namespace enclave::server
