// Status and Result<T>: errors as values at every boundary that reads untrusted bytes
// (files, requests, flags). Thread-compatible value types.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace enclave {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,   // the caller (user, flag, request) supplied something wrong
  kNotFound,          // a file, key or tensor does not exist
  kCorrupt,           // bytes that do not follow their format
  kUnsupported,       // valid input we do not handle (yet)
  kIoError,           // the OS refused a read, write or map
  kOutOfRange,        // a value outside the bounds we accept
  kInternal,          // a broken invariant in our own code
  kResourceExhausted, // a limit was reached (queue full, KV cache full); retrying later may work
  kUnavailable,       // the service is not taking work (draining, shutting down)
  kCancelled,         // the caller went away or gave up
  kDeadlineExceeded,  // the work ran past its time limit
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "Corrupt: tensor 'x': ..." for logs; message() alone for one-line user errors.
  std::string ToString() const;

  // Prefixes context to the message: WithContext("reading a.gguf") -> "reading a.gguf: <msg>".
  Status WithContext(const std::string& context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgumentError(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFoundError(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status CorruptError(std::string m) { return {StatusCode::kCorrupt, std::move(m)}; }
inline Status UnsupportedError(std::string m) { return {StatusCode::kUnsupported, std::move(m)}; }
inline Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
inline Status OutOfRangeError(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
inline Status InternalError(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status ResourceExhaustedError(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
inline Status UnavailableError(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status CancelledError(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }
inline Status DeadlineExceededError(std::string m) { return {StatusCode::kDeadlineExceeded, std::move(m)}; }

// Result<T> holds either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(const T& value) : data_(value) {}                 // NOLINT(google-explicit-constructor)
  Result(T&& value) : data_(std::move(value)) {}           // NOLINT(google-explicit-constructor)
  Result(Status status) : data_(std::move(status)) {       // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(data_).ok() && "Result constructed from an OK status");
  }

  bool ok() const { return std::holds_alternative<T>(data_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(data_);
  }

  T& value() & { return std::get<T>(data_); }
  const T& value() const& { return std::get<T>(data_); }
  T&& value() && { return std::get<T>(std::move(data_)); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> data_;
};

}  // namespace enclave

#define ENCLAVE_CONCAT_INNER(a, b) a##b
#define ENCLAVE_CONCAT(a, b) ENCLAVE_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)                    \
  do {                                           \
    ::enclave::Status _enclave_st = (expr);      \
    if (!_enclave_st.ok()) return _enclave_st;   \
  } while (0)

#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(tmp).value()

#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(ENCLAVE_CONCAT(_enclave_result_, __LINE__), lhs, expr)
