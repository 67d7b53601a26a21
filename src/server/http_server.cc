#include "server/http_server.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <deque>
#include <mutex>
#include <optional>

#include <fmt/format.h>

namespace enclave::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
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

class Session;

class SessionResponder final : public Responder {
 public:
  explicit SessionResponder(std::weak_ptr<Session> session) : session_(std::move(session)) {}
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

  std::weak_ptr<Session> session_;
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

  void Accept();

  const HttpServerOptions options_;
  HttpHandler handler_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopped_{false};
  std::atomic<int64_t> connections_{0};
  uint16_t port_ = 0;
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, HttpServer::Impl& server)
      : stream_(std::move(socket)), server_(server), timer_(stream_.get_executor()) {
    ++server_.connections_;
  }
  ~Session() { --server_.connections_; }

  void Start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->ReadRequest(); });
  }

  net::any_io_executor Executor() { return stream_.get_executor(); }

  // On the strand.
  void Enqueue(std::string bytes, bool last) {
    if (closed_) return;
    out_.push_back(std::move(bytes));
    if (last) finishing_ = true;
    if (!writing_) WriteNext();
  }

 private:
  void ReadRequest() {
    parser_.emplace();
    parser_->body_limit(server_.options_.max_body_bytes);
    parser_->header_limit(64 * 1024);
    // Our own timer rather than the stream's expiry, which would close the socket before a 408
    // could be written.
    reading_ = true;
    timer_.expires_after(std::chrono::seconds(server_.options_.header_timeout_s));
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || !self->reading_) return;
      self->timed_out_ = true;
      beast::error_code ignored;
      self->stream_.socket().cancel(ignored);
    });
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnRequest(ec); });
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
    beast::error_code rec;
    const auto remote = stream_.socket().remote_endpoint(rec);
    if (!rec) req.remote_address = remote.address().to_string();
    keep_alive_ = msg.keep_alive();
    responding_ = true;
    responder_ = std::make_shared<SessionResponder>(weak_from_this());
    Watch();
    server_.handler_(req, responder_);
  }

  // Reads while a response is produced: EOF means the client left (cancel); data is the next
  // request, kept in the buffer.
  void Watch() {
    if (watching_ || closed_) return;
    watching_ = true;
    stream_.async_read_some(buffer_.prepare(4096), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
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

  void RespondDirect(int status, std::string body) {
    responding_ = true;
    linger_ = true;
    Enqueue(fmt::format("HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n"
                        "Connection: close\r\n\r\n{}",
                        status, StatusText(status), body.size(), body),
            true);
  }

  void WriteNext() {
    if (out_.empty()) {
      writing_ = false;
      if (finishing_) OnResponseDone();
      return;
    }
    writing_ = true;
    net::async_write(stream_.socket(), net::buffer(out_.front()),
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
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
  // before closing, as web servers do.
  void LingeringClose() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return Close();
    linger_left_ = 64u << 20;
    discard_ = std::make_unique<char[]>(kDiscardBytes);
    timer_.expires_after(std::chrono::seconds(2));
    timer_.async_wait([self = shared_from_this()](beast::error_code e) {
      if (!e) self->Close();
    });
    Discard();
  }

  void Discard() {
    stream_.socket().async_read_some(net::buffer(discard_.get(), kDiscardBytes),
                                     [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                                       if (ec || self->closed_ || n >= self->linger_left_) return self->Close();
                                       self->linger_left_ -= n;
                                       self->Discard();
                                     });
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    timer_.cancel();
    if (responder_) responder_->Cancel();
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  HttpServer::Impl& server_;
  net::steady_timer timer_;
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
      std::make_shared<Session>(std::move(socket), *this)->Start();
    }
    Accept();
  });
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

}  // namespace enclave::server
