// KeyLimiter: per-key rate limits, daily quotas and concurrency caps (docs/security.md, "Limits").
//
//   requests/min, tokens/min   token buckets holding up to one minute's allowance, refilled
//                              continuously (a burst of a full minute's allowance is allowed)
//   daily tokens               per UTC day; usage is loaded from and written to a UsageStore so a
//                              restart does not reset it
//   concurrent requests        slots taken at admission, returned at settlement
//
// Admission reserves 1 request and the request's worst case (prompt + max completion tokens)
// against every limit at once, under one lock, so parallel requests cannot overshoot; Settle
// returns what was not used. A refused request takes nothing. The clock is injected (tests).
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "base/status.h"

namespace enclave::governance::limits {

struct LimitSpec {
  int64_t rpm = 0;             // 0: no limit of that kind
  int64_t tpm = 0;
  int64_t daily_tokens = 0;
  int64_t max_concurrent = 0;
};

// Persisted daily usage (KeyStore implements it through an adapter; tests use a map).
class UsageStore {
 public:
  virtual ~UsageStore() = default;
  virtual Result<int64_t> TokensUsed(const std::string& key_id, int64_t day) = 0;
  virtual Status AddTokens(const std::string& key_id, int64_t day, int64_t tokens) = 0;
};

// Why a request was refused, for the 429 body and the Retry-After header.
struct Refusal {
  std::string limit;        // "requests_per_minute", "tokens_per_minute", "daily_tokens", "concurrent_requests"
  std::string message;      // for the client: which limit, its value, when to retry
  int64_t retry_after_s = 1;  // >= 1
  bool never = false;       // the request can never pass this limit (e.g. it needs more tokens than tpm)
};

class KeyLimiter;

// What an admitted request holds. Move-only; destroying an unsettled reservation settles it as
// fully used (fail closed: an aborted request is charged what it reserved).
class Reservation {
 public:
  Reservation() = default;
  Reservation(Reservation&& other) noexcept;
  Reservation& operator=(Reservation&& other) noexcept;
  ~Reservation();
  bool active() const { return limiter_ != nullptr; }
  int64_t reserved_tokens() const { return tokens_; }

 private:
  friend class KeyLimiter;
  KeyLimiter* limiter_ = nullptr;
  std::string key_id_;
  int64_t tokens_ = 0;
  int64_t day_ = 0;
  bool concurrency_ = false;
};

class KeyLimiter {
 public:
  // `now_ms`: Unix time in ms (the system clock when empty). `usage` may be null (daily usage
  // then lives in memory only); it must outlive the limiter.
  explicit KeyLimiter(std::function<int64_t()> now_ms = nullptr, UsageStore* usage = nullptr);
  ~KeyLimiter();

  // Reserves 1 request and `tokens` for `key_id` under `spec`. On refusal: *refusal is filled,
  // nothing is taken, and the Result is a ResourceExhausted error carrying refusal->message.
  // A UsageStore failure is an error too (fail closed).
  Result<Reservation> Admit(const std::string& key_id, const LimitSpec& spec, int64_t tokens, Refusal* refusal);

  // Charges `used_tokens` (<= reserved; more is clamped) and returns the rest to the token bucket
  // and the daily quota; frees the concurrency slot; writes usage to the UsageStore.
  Status Settle(Reservation& reservation, int64_t used_tokens);

 private:
  struct KeyState;
  Status SettleLocked(Reservation& reservation, int64_t used_tokens);
  friend class Reservation;

  std::function<int64_t()> now_ms_;
  UsageStore* usage_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<KeyState>> keys_;  // guarded by mu_
  int64_t next_sweep_ms_ = 0;  // guarded by mu_: when idle keys are next dropped from keys_
};

}  // namespace enclave::governance::limits
