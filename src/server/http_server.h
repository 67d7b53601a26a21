// HTTP/1.1 transport on Boost.Beast: an asynchronous acceptor and one small session object per
// connection, run by a few I/O threads (idle connections cost memory, not threads). Requests are
// read with a body limit (413 beyond it), handed to the application's handler with a Responder,
// and answered either at once (Send) or as a Server-Sent-Events stream (StartStream, SendEvent,
// EndStream) from any thread — typically the scheduler's. Keep-alive is honoured; a stream ends
// the connection's reuse only if the client asked for close.
//
// Cancellation: while a request is being answered, the session keeps reading the socket; the
// client closing it (or any I/O error) marks the Responder cancelled, which the producer polls.
//
// TLS (docs/tls.md): with TlsOptions::cert_file every connection on the port is TLS (1.3; 1.2 as an
// opt-in), optionally verifying client certificates (mutual TLS); ReloadTls swaps the certificate
// for new connections. max_connections_per_ip answers a peer's connections beyond it with 429.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "base/status.h"

namespace enclave::server {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query, as sent
  std::string path;    // target without the query
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string remote_address;  // the socket's peer
  bool tls = false;            // the request came over TLS
  // A client certificate that verified against HttpServerOptions::tls.client_ca_file (mutual TLS):
  // SHA-256 of its DER (64 lowercase hex) and its subject ("CN=alice,O=Bank"). Empty otherwise.
  std::string client_cert_sha256;
  std::string client_cert_subject;

  // The first header of that (lower-case) name, or "".
  std::string Header(const std::string& name) const;
};

// The answering side of one request. Thread-safe: every method may be called from any thread;
// writes are queued onto the connection's strand in call order. Exactly one of Send or
// StartStream ... EndStream per request; later calls are ignored.
class Responder {
 public:
  virtual ~Responder() = default;
  virtual void Send(int status, std::string content_type, std::string body,
                    std::vector<std::pair<std::string, std::string>> extra_headers = {}) = 0;
  // 200 with text/event-stream, chunked.
  virtual void StartStream() = 0;
  // Writes "data: <payload>\n\n".
  virtual void SendEvent(std::string payload) = 0;
  virtual void EndStream() = 0;
  // The client closed the connection (or it failed): stop producing.
  virtual bool cancelled() const = 0;
};

using HttpHandler = std::function<void(const HttpRequest&, std::shared_ptr<Responder>)>;

struct TlsOptions {
  std::string cert_file;       // PEM certificate chain; empty: plain HTTP
  std::string key_file;        // PEM private key
  std::string min_version = "1.3";  // "1.3" (default) or "1.2" (opt-in for old clients)
  std::string client_ca_file;  // PEM CAs client certificates are verified against; empty: none asked
  bool require_client_cert = false;  // with client_ca_file: refuse handshakes without a valid one
};

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;       // 0: any free port (see HttpServer::port())
  int io_threads = 2;
  uint64_t max_body_bytes = 4 << 20;  // larger bodies get 413
  int header_timeout_s = 30;  // a client must send a complete request within this (slowloris)
  int max_connections_per_ip = 0;  // open connections one peer address may hold; 0: no limit
  TlsOptions tls;
};

class HttpServer {
 public:
  // Binds and listens; requests go to `handler` on an I/O thread (it must not block for long).
  static Result<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options, HttpHandler handler);
  ~HttpServer();  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  uint16_t port() const;
  // Stops accepting; open connections are closed. Idempotent.
  void Stop();
  int64_t open_connections() const;
  // Re-reads the TLS certificate, key and client CA files (SIGHUP): new handshakes use them,
  // established connections keep theirs. On error the previous ones stay in use.
  Status ReloadTls();

  class Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace enclave::server
