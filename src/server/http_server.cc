#include "server/http_server.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <deque>
#include <mutex>
#include <optional>
#include <string_view>
#include <type_traits>
#include <unordered_map>

#include <fmt/format.h>

#include "server/tls_context.h"

namespace enclave::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

std::string HttpRequest::Header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return "";
}

namespace {

const char* StatusText(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

std::string ErrorBody(const std::string& message, const std::string& type) {
  // The OpenAI error shape; built by hand to keep the transport free of the JSON library.
  std::string escaped;
  for (char c : message) {
    if (c == '"' || c == '\\') escaped += '\\';
    escaped += c;
  }
  return fmt::format(R"({{"error":{{"message":"{}","type":"{}","param":null,"code":null}}}})", escaped, type);
}

// What a responder needs of its connection, whichever the stream type.
class Connection {
 public:
  virtual ~Connection() = default;
  virtual net::any_io_executor Executor() = 0;
  // On the connection's strand: queues bytes to write; `last` completes the response.
  virtual void Enqueue(std::string bytes, bool last) = 0;
};

class SessionResponder final : public Responder {
 public:
  explicit SessionResponder(std::weak_ptr<Connection> session) : session_(std::move(session)) {}
  void Send(int status, std::string content_type, std::string body,
            std::vector<std::pair<std::string, std::string>> extra_headers) override;
  void StartStream() override;
  void SendEvent(std::string payload) override;
  void EndStream() override;
  bool cancelled() const override { return cancelled_.load(std::memory_order_acquire); }
  void Cancel() { cancelled_.store(true, std::memory_order_release); }

 private:
  // Queues bytes on the session; `last` completes the response.
  void Write(std::string bytes, bool last);

  // Called with mu_ held.
  void StartStreamLocked();

  std::weak_ptr<Connection> session_;
  std::atomic<bool> cancelled_{false};
  // The HTTP thread (StartStream after submitting) and the scheduler thread (events, possibly the
  // end of a request that failed at once) both write: state changes and the bytes they queue happen
  // under one lock, so the headers always go out first and a stream always ends.
  std::mutex mu_;
  int state_ = 0;  // 0 nothing sent, 1 streaming, 2 done
};

}  // namespace

class HttpServer::Impl {
 public:
  Impl(const HttpServerOptions& options, HttpHandler handler)
      : options_(options), handler_(std::move(handler)), ioc_(std::max(1, options.io_threads)), acceptor_(ioc_) {}

  Status Listen() {
    if (!options_.tls.cert_file.empty()) {
      ASSIGN_OR_RETURN(tls_context_, MakeTlsServerContext(options_.tls));
    } else if (!options_.tls.key_file.empty() || !options_.tls.client_ca_file.empty() ||
               options_.tls.require_client_cert) {
      return InvalidArgumentError("TLS options were given without a certificate file");
    }
    beast::error_code ec;
    const auto address = net::ip::make_address(options_.host, ec);
    if (ec) return InvalidArgumentError(fmt::format("--host '{}' is not an IP address", options_.host));
    const tcp::endpoint endpoint(address, options_.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      return IoError(fmt::format("cannot listen on {}:{}: {} (is another server using the port?)", options_.host,
                                 options_.port, ec.message()));
    }
    port_ = acceptor_.local_endpoint().port();
    Accept();
    for (int i = 0; i < std::max(1, options_.io_threads); ++i) threads_.emplace_back([this] { ioc_.run(); });
    return Status::Ok();
  }

  void Stop() {
    if (stopped_.exchange(true)) return;
    net::post(acceptor_.get_executor(), [this] {
      beast::error_code ec;
      acceptor_.close(ec);
    });
    ioc_.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  Status ReloadTls() {
    if (options_.tls.cert_file.empty()) {
      return InvalidArgumentError("TLS is not configured (no certificate file): there is nothing to reload");
    }
    ASSIGN_OR_RETURN(auto context, MakeTlsServerContext(options_.tls));
    std::lock_guard<std::mutex> lock(tls_mu_);
    tls_context_ = std::move(context);
    return Status::Ok();
  }

  // The context new handshakes use; null without TLS.
  std::shared_ptr<ssl::context> TlsContext() {
    std::lock_guard<std::mutex> lock(tls_mu_);
    return tls_context_;
  }

  // Counts a connection from `address` unless that would pass max_connections_per_ip; false: refuse
  // it (it is not counted). Every true is paired with one ReleasePeer.
  bool AdmitPeer(const std::string& address) {
    std::lock_guard<std::mutex> lock(peers_mu_);
    int& n = peers_[address];
    if (n >= options_.max_connections_per_ip) return false;  // n > 0 here: the entry existed
    ++n;
    return true;
  }

  void ReleasePeer(const std::string& address) {
    std::lock_guard<std::mutex> lock(peers_mu_);
    const auto it = peers_.find(address);
    if (it != peers_.end() && --it->second <= 0) peers_.erase(it);
  }

  void Accept();
  void StartSession(tcp::socket socket);

  const HttpServerOptions options_;
  HttpHandler handler_;
  // Declared before ioc_: sessions still queued in it when it is destroyed update them.
  std::atomic<int64_t> connections_{0};
  std::mutex peers_mu_;
  std::unordered_map<std::string, int> peers_;  // GUARDED_BY(peers_mu_): open, admitted connections per peer address
  std::mutex tls_mu_;
  std::shared_ptr<ssl::context> tls_context_;  // GUARDED_BY(tls_mu_) once serving
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopped_{false};
  uint16_t port_ = 0;
};

namespace {

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// Close-notify exchange at the end of a TLS connection: bounded so that a silent peer cannot hold it.
constexpr auto kTlsShutdownGrace = std::chrono::seconds(1);
// How long a connection lingers after an error response (see LingeringClose).
constexpr auto kLingerGrace = std::chrono::seconds(2);

// One connection: the HTTP logic is shared; a TLS connection first completes its handshake and
// ends with a close_notify exchange. Everything runs on the connection's strand.
template <class Stream>
class Session final : public Connection, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  // `context`: the TLS context (kept alive by the session, so a reload does not disturb it); null
  // for plain HTTP. `counted`: the peer address holds a slot in the server's per-IP count.
  // `refused`: over the per-IP cap, answered 429.
  Session(tcp::socket&& socket, HttpServer::Impl& server, std::shared_ptr<ssl::context> context,
          std::string remote_address, bool counted, bool refused)
      : context_(std::move(context)),
        stream_(MakeStream(std::move(socket), context_.get())),
        server_(server),
        timer_(stream_.get_executor()),
        remote_address_(std::move(remote_address)),
        counted_(counted),
        refused_(refused),
        first_deadline_(std::chrono::steady_clock::now() + std::chrono::seconds(server.options_.header_timeout_s)) {
    ++server_.connections_;
  }
  ~Session() override {
    if (counted_) server_.ReleasePeer(remote_address_);
    --server_.connections_;
  }

  void Start() {
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if constexpr (kTls) {
        self->Handshake();
      } else {
        self->Begin();
      }
    });
  }

  net::any_io_executor Executor() override { return stream_.get_executor(); }

  // On the strand.
  void Enqueue(std::string bytes, bool last) override {
    if (closed_) return;
    out_.push_back(std::move(bytes));
    if (last) finishing_ = true;
    if (!writing_) WriteNext();
  }

 private:
  static Stream MakeStream(tcp::socket&& socket, ssl::context* context) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *context);
    } else {
      return Stream(std::move(socket));
    }
  }

  tcp::socket& Socket() { return beast::get_lowest_layer(stream_).socket(); }

  // Arms the timer: at `deadline`, while `reading_`, the pending read is cancelled and timed_out_
  // set. The generation makes a handler that already fired for an earlier arming a no-op.
  void ArmReadTimer(std::chrono::steady_clock::time_point deadline) {
    const uint64_t generation = ++timer_generation_;
    timer_.expires_at(deadline);
    timer_.async_wait([self = this->shared_from_this(), generation](beast::error_code ec) {
      if (ec || !self->reading_ || generation != self->timer_generation_) return;
      self->timed_out_ = true;
      beast::error_code ignored;
      self->Socket().cancel(ignored);
    });
  }

  // TLS: the handshake shares the first request's deadline (a client that connects and never
  // handshakes is closed).
  void Handshake() {
    reading_ = true;
    ArmReadTimer(first_deadline_);
    stream_.async_handshake(ssl::stream_base::server,
                            [self = this->shared_from_this()](beast::error_code ec) { self->OnHandshake(ec); });
  }

  void OnHandshake(beast::error_code ec) {
    reading_ = false;
    timer_.cancel();
    if (timed_out_) return Close();
    if (ec) {
      // OpenSSL has queued its alert (unknown CA, protocol version, ...) and asio has sent it. The
      // client may still be sending (its request follows its Finished at once in TLS 1.3): drain
      // before closing, so that a reset does not destroy the alert, the one clue the client gets.
      const auto code = static_cast<unsigned long>(static_cast<unsigned int>(ec.value()));
      if (ec.category() == net::error::get_ssl_category() && ERR_GET_LIB(code) == ERR_LIB_SSL &&
          ERR_GET_REASON(code) == SSL_R_HTTP_REQUEST) {
        return RefusePlainHttp();
      }
      return DrainAndClose();
    }
    handshake_done_ = true;
    identity_ = VerifiedClientIdentity(stream_.native_handle());
    Begin();
  }

  // A plain HTTP request reached the TLS port: say so in plain HTTP, as web servers do.
  void RefusePlainHttp() {
    const std::string body = ErrorBody("this port speaks TLS: use https://", "invalid_request_error");
    auto bytes = std::make_shared<std::string>(
        fmt::format("HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: {}\r\n"
                    "Connection: close\r\n\r\n{}",
                    body.size(), body));
    net::async_write(Socket(), net::buffer(*bytes),
                     [self = this->shared_from_this(), bytes](beast::error_code ec, std::size_t) {
                       if (ec) return self->Close();
                       self->DrainAndClose();
                     });
  }

  void Begin() {
    if (refused_) {
      keep_alive_ = false;
      return RespondDirect(429,
                           ErrorBody(fmt::format("too many open connections from {} (the limit is {}); close one "
                                                 "or retry later",
                                                 remote_address_, server_.options_.max_connections_per_ip),
                                     "rate_limit_error"),
                           "Retry-After: 1\r\n");
    }
    ReadRequest();
  }

  void ReadRequest() {
    parser_.emplace();
    parser_->body_limit(server_.options_.max_body_bytes);
    parser_->header_limit(64 * 1024);
    // Our own timer rather than the stream's expiry, which would close the socket before a 408
    // could be written. The first request's deadline counts from the accept (TLS handshake included).
    reading_ = true;
    ArmReadTimer(requests_ == 0 ? first_deadline_
                                : std::chrono::steady_clock::now() +
                                      std::chrono::seconds(server_.options_.header_timeout_s));
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t) { self->OnRequest(ec); });
  }

  void OnRequest(beast::error_code ec) {
    reading_ = false;
    timer_.cancel();
    if (timed_out_) {
      keep_alive_ = false;
      return RespondDirect(408, ErrorBody(fmt::format("the request was not received within {} s",
                                                      server_.options_.header_timeout_s),
                                          "invalid_request_error"));
    }
    if (ec == http::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset) {
      return Close();
    }
    if constexpr (kTls) {
      // The client left without close_notify, or the TLS layer failed: no HTTP answer is possible.
      if (ec == ssl::error::stream_truncated || ec.category() == net::error::get_ssl_category()) return Close();
    }
    if (ec == http::error::body_limit) {
      keep_alive_ = false;
      return RespondDirect(413, ErrorBody(fmt::format("request body exceeds the limit of {} bytes",
                                                      server_.options_.max_body_bytes),
                                          "invalid_request_error"));
    }
    if (ec) {
      keep_alive_ = false;
      return RespondDirect(400, ErrorBody("malformed HTTP request: " + ec.message(), "invalid_request_error"));
    }
    ++requests_;
    auto& msg = parser_->get();
    HttpRequest req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    req.path = req.target.substr(0, req.target.find('?'));
    req.body = std::move(msg.body());
    for (const auto& field : msg) {
      std::string name(field.name_string());
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      req.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    req.remote_address = remote_address_;
    req.tls = kTls;
    req.client_cert_sha256 = identity_.sha256;
    req.client_cert_subject = identity_.subject;
    keep_alive_ = msg.keep_alive();
    responding_ = true;
    responder_ = std::make_shared<SessionResponder>(this->weak_from_this());
    Watch();
    server_.handler_(req, responder_);
  }

  // Reads while a response is produced: EOF means the client left (cancel); data is the next
  // request, kept in the buffer.
  void Watch() {
    if (watching_ || closed_) return;
    watching_ = true;
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->OnWatch(ec, n);
                            });
  }

  void OnWatch(beast::error_code ec, std::size_t n) {
    watching_ = false;
    if (ec) {
      if (responder_) responder_->Cancel();
      if (!responding_) Close();
      else client_gone_ = true;
      return;
    }
    buffer_.commit(n);
    if (!responding_) ReadRequest();
  }

  // `extra_headers`: complete lines, each ending in CRLF.
  void RespondDirect(int status, std::string body, std::string_view extra_headers = {}) {
    responding_ = true;
    linger_ = true;
    Enqueue(fmt::format("HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n"
                        "{}Connection: close\r\n\r\n{}",
                        status, StatusText(status), body.size(), extra_headers, body),
            true);
  }

  void WriteNext() {
    if (out_.empty()) {
      writing_ = false;
      if (finishing_) OnResponseDone();
      return;
    }
    writing_ = true;
    net::async_write(stream_, net::buffer(out_.front()),
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                       self->out_.pop_front();
                       if (ec) {
                         if (self->responder_) self->responder_->Cancel();
                         return self->Close();
                       }
                       self->WriteNext();
                     });
  }

  void OnResponseDone() {
    finishing_ = false;
    responding_ = false;
    responder_.reset();
    if (linger_ && !client_gone_) return LingeringClose();
    if (!keep_alive_ || client_gone_) return Close();
    if (buffer_.size() > 0) return ReadRequest();
    if (!watching_) ReadRequest();
    // else: the watch read in flight receives the next request's first bytes (or the close).
  }

  // After an error response the client may still be sending (the body of a 413): closing a socket
  // with unread data makes the kernel answer with a reset, which can destroy the response before
  // the client reads it. So: half-close, then read and drop what arrives for a while (2 s, 64 MiB)
  // before closing, as web servers do. Over TLS the close_notify exchange does the same: once it
  // has sent its close_notify, OpenSSL reads and drops records until the client's arrives.
  void LingeringClose() {
    if constexpr (kTls) {
      if (handshake_done_) return Close(kLingerGrace);
    }
    DrainAndClose();
  }

  // TCP level: half-close, drop what arrives (2 s, 64 MiB), close.
  void DrainAndClose() {
    beast::error_code ec;
    Socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return Close();
    linger_left_ = 64u << 20;
    discard_ = std::make_unique<char[]>(kDiscardBytes);
    ++timer_generation_;
    timer_.expires_after(kLingerGrace);
    timer_.async_wait([self = this->shared_from_this()](beast::error_code e) {
      if (!e) self->Close();
    });
    Discard();
  }

  void Discard() {
    Socket().async_read_some(net::buffer(discard_.get(), kDiscardBytes),
                             [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                               if (ec || self->closed_ || n >= self->linger_left_) return self->Close();
                               self->linger_left_ -= n;
                               self->Discard();
                             });
  }

  // Ends the connection; over TLS after a close_notify exchange of at most `tls_grace`.
  void Close(std::chrono::milliseconds tls_grace = kTlsShutdownGrace) {
    if (closed_) return;
    closed_ = true;
    timer_.cancel();
    if (responder_) responder_->Cancel();
    if constexpr (kTls) {
      if (handshake_done_) {
        ++timer_generation_;
        timer_.expires_after(tls_grace);
        timer_.async_wait([self = this->shared_from_this()](beast::error_code e) {
          if (!e) self->CloseSocket();  // the peer did not answer in time: aborts the shutdown
        });
        stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
          self->timer_.cancel();
          self->CloseSocket();
        });
        return;
      }
    }
    CloseSocket();
  }

  void CloseSocket() {
    auto& socket = Socket();
    if (!socket.is_open()) return;
    beast::error_code ec;
    socket.shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(stream_).close();
  }

  std::shared_ptr<ssl::context> context_;  // before stream_, which uses it
  Stream stream_;
  HttpServer::Impl& server_;
  net::steady_timer timer_;
  uint64_t timer_generation_ = 0;
  const std::string remote_address_;
  const bool counted_, refused_;
  const std::chrono::steady_clock::time_point first_deadline_;
  bool handshake_done_ = false;
  ClientIdentity identity_;
  uint64_t requests_ = 0;
  bool reading_ = false, timed_out_ = false;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<SessionResponder> responder_;
  std::deque<std::string> out_;
  bool writing_ = false, finishing_ = false, responding_ = false, watching_ = false;
  bool keep_alive_ = true, closed_ = false, client_gone_ = false;
  static constexpr size_t kDiscardBytes = 16384;
  bool linger_ = false;  // close lingering (after an error response the client may still be sending)
  size_t linger_left_ = 0;
  std::unique_ptr<char[]> discard_;
};

void SessionResponder::Write(std::string bytes, bool last) {
  auto session = session_.lock();
  if (!session) {
    Cancel();
    return;
  }
  // The session's strand serialises this with its own reads and writes.
  net::post(session->Executor(), [session, bytes = std::move(bytes), last]() mutable {
    session->Enqueue(std::move(bytes), last);
  });
}

void SessionResponder::Send(int status, std::string content_type, std::string body,
                            std::vector<std::pair<std::string, std::string>> extra_headers) {
  std::lock_guard<std::mutex> lock(mu_);
  if (state_ != 0) return;
  state_ = 2;
  std::string head = fmt::format("HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n", status,
                                 StatusText(status), content_type, body.size());
  for (const auto& [k, v] : extra_headers) head += k + ": " + v + "\r\n";
  Write(head + "\r\n" + body, true);
}

void SessionResponder::StartStream() {
  std::lock_guard<std::mutex> lock(mu_);
  StartStreamLocked();
}

void SessionResponder::StartStreamLocked() {
  if (state_ != 0) return;
  state_ = 1;
  Write("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
        "Transfer-Encoding: chunked\r\n\r\n",
        false);
}

void SessionResponder::SendEvent(std::string payload) {
  std::lock_guard<std::mutex> lock(mu_);
  StartStreamLocked();  // an event before StartStream (a request that ended at once) opens the stream
  if (state_ != 1) return;
  std::string data = "data: " + payload + "\n\n";
  Write(fmt::format("{:x}\r\n{}\r\n", data.size(), data), false);
}

void SessionResponder::EndStream() {
  std::lock_guard<std::mutex> lock(mu_);
  StartStreamLocked();
  if (state_ != 1) return;
  state_ = 2;
  Write("0\r\n\r\n", true);
}

}  // namespace

void HttpServer::Impl::Accept() {
  acceptor_.async_accept(net::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    } else {
      StartSession(std::move(socket));
    }
    Accept();
  });
}

void HttpServer::Impl::StartSession(tcp::socket socket) {
  beast::error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  if (ec) return;  // the peer already left; dropping the socket closes it
  std::string address = remote.address().to_string();
  const bool capped = options_.max_connections_per_ip > 0;
  const bool admitted = !capped || AdmitPeer(address);
  if (auto context = TlsContext()) {
    std::make_shared<Session<TlsStream>>(std::move(socket), *this, std::move(context), std::move(address),
                                         capped && admitted, !admitted)
        ->Start();
  } else {
    std::make_shared<Session<PlainStream>>(std::move(socket), *this, nullptr, std::move(address), capped && admitted,
                                           !admitted)
        ->Start();
  }
}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options, HttpHandler handler) {
  auto impl = std::make_unique<Impl>(options, std::move(handler));
  RETURN_IF_ERROR(impl->Listen());
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() { Stop(); }
uint16_t HttpServer::port() const { return impl_->port_; }
void HttpServer::Stop() { impl_->Stop(); }
int64_t HttpServer::open_connections() const { return impl_->connections_.load(); }
Status HttpServer::ReloadTls() { return impl_->ReloadTls(); }

}  // namespace enclave::server
