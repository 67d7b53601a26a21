#include "governance/limits/key_limiter.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <utility>

namespace enclave::governance::limits {
namespace {

constexpr int64_t kMinuteMs = 60'000;
constexpr int64_t kDayMs = 86'400'000;
// Limits and token counts above this are refused as invalid, so that bucket arithmetic in
// 1/60000-token units (below) cannot overflow: 1e12 * 60000 < 2^63.
constexpr int64_t kMaxValue = 1'000'000'000'000;
// Idle per-key state is swept at most this often.
constexpr int64_t kSweepIntervalMs = kMinuteMs;

int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// UTC day number of a Unix time in ms (floor division, so times before 1970 stay consistent).
int64_t DayOf(int64_t now_ms) { return now_ms >= 0 ? now_ms / kDayMs : -((-now_ms + kDayMs - 1) / kDayMs); }

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }  // a >= 0, b > 0

// A token bucket holding up to `capacity` (one minute's allowance), refilled continuously at
// capacity per minute. The level is kept in 1/60000-token units so that one millisecond adds
// exactly `capacity` units and Retry-After values are exact.
struct Bucket {
  bool started = false;  // false: full (never used, or the limit was off)
  int64_t level = 0;     // units
  int64_t last_ms = 0;

  // Brings the level up to `now_ms` under `capacity` (0: no limit; the bucket is then reset).
  void Refill(int64_t capacity, int64_t now_ms) {
    if (capacity <= 0) {
      started = false;
      return;
    }
    const int64_t full = capacity * kMinuteMs;
    if (!started) {
      started = true;
      level = full;
      last_ms = now_ms;
      return;
    }
    if (now_ms > last_ms) {
      // After a minute the bucket is full whatever it held; clamping first keeps this in range.
      const int64_t elapsed = std::min(now_ms - last_ms, kMinuteMs);
      level += elapsed * capacity;
      last_ms = now_ms;
    }
    level = std::min(level, full);  // also when the limit was lowered
  }

  bool Full(int64_t capacity, int64_t now_ms) const {
    if (capacity <= 0 || !started) return true;
    const int64_t elapsed = std::clamp<int64_t>(now_ms - last_ms, 0, kMinuteMs);
    return level + elapsed * capacity >= capacity * kMinuteMs;
  }

  // Seconds until the bucket holds `amount` tokens (amount <= capacity), at least 1.
  int64_t RetryAfterS(int64_t capacity, int64_t amount) const {
    const int64_t missing = amount * kMinuteMs - level;
    return std::max<int64_t>(1, CeilDiv(missing, capacity * 1000));
  }
};

}  // namespace

struct KeyLimiter::KeyState {
  Bucket rpm;
  Bucket tpm;
  int64_t rpm_capacity = 0;  // from the latest Admit (the sweep asks whether the buckets are full)
  int64_t tpm_capacity = 0;  // from the latest Admit; Settle refunds under it
  bool day_loaded = false;
  int64_t day = 0;
  int64_t day_used = 0;   // tokens charged or reserved on `day` (stored usage included)
  int64_t in_flight = 0;  // unsettled reservations
};

// ---- Reservation --------------------------------------------------------------------------------

Reservation::Reservation(Reservation&& other) noexcept
    : limiter_(std::exchange(other.limiter_, nullptr)),
      key_id_(std::move(other.key_id_)),
      tokens_(other.tokens_),
      day_(other.day_),
      concurrency_(other.concurrency_) {}

Reservation& Reservation::operator=(Reservation&& other) noexcept {
  if (this != &other) {
    if (limiter_ != nullptr) {
      Status settled = limiter_->Settle(*this, tokens_);  // fail closed: charged in full
      (void)settled;
    }
    limiter_ = std::exchange(other.limiter_, nullptr);
    key_id_ = std::move(other.key_id_);
    tokens_ = other.tokens_;
    day_ = other.day_;
    concurrency_ = other.concurrency_;
  }
  return *this;
}

Reservation::~Reservation() {
  if (limiter_ != nullptr) {
    // Fail closed: a request that ended without settling is charged everything it reserved. A
    // UsageStore error cannot be reported from here; the in-memory quota still counts the tokens.
    Status settled = limiter_->Settle(*this, tokens_);
    (void)settled;
  }
}

// ---- KeyLimiter ---------------------------------------------------------------------------------

KeyLimiter::KeyLimiter(std::function<int64_t()> now_ms, UsageStore* usage)
    : now_ms_(now_ms ? std::move(now_ms) : std::function<int64_t()>(SystemNowMs)), usage_(usage) {}

KeyLimiter::~KeyLimiter() = default;

Result<Reservation> KeyLimiter::Admit(const std::string& key_id, const LimitSpec& spec, int64_t tokens,
                                      Refusal* refusal) {
  if (tokens < 0 || tokens > kMaxValue) {
    return InvalidArgumentError(
        fmt::format("a request's token count must be between 0 and {}, not {}", kMaxValue, tokens));
  }
  for (const auto& [name, value] :
       {std::pair{"rpm", spec.rpm}, std::pair{"tpm", spec.tpm}, std::pair{"daily_tokens", spec.daily_tokens},
        std::pair{"max_concurrent", spec.max_concurrent}}) {
    if (value < 0 || value > kMaxValue) {
      return InvalidArgumentError(
          fmt::format("key {}: limit {} must be between 0 (no limit) and {}, not {}", key_id, name, kMaxValue, value));
    }
  }

  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = now_ms_();

  if (now >= next_sweep_ms_) {
    next_sweep_ms_ = now + kSweepIntervalMs;
    const int64_t today = DayOf(now);
    for (auto it = keys_.begin(); it != keys_.end();) {
      const KeyState& s = *it->second;
      const bool idle = s.in_flight == 0 && s.rpm.Full(s.rpm_capacity, now) && s.tpm.Full(s.tpm_capacity, now) &&
                        (!s.day_loaded || s.day < today || s.day_used == 0);
      it = idle ? keys_.erase(it) : std::next(it);
    }
  }

  std::unique_ptr<KeyState>& slot = keys_[key_id];
  if (slot == nullptr) slot = std::make_unique<KeyState>();
  KeyState& s = *slot;

  s.rpm.Refill(spec.rpm, now);
  s.tpm.Refill(spec.tpm, now);
  s.rpm_capacity = spec.rpm;
  s.tpm_capacity = spec.tpm;

  // Daily usage: loaded once per key and UTC day. A clock that steps back keeps the later day, so
  // in-flight reservations stay counted.
  const int64_t day = s.day_loaded ? std::max(s.day, DayOf(now)) : DayOf(now);
  if (!s.day_loaded || s.day != day) {
    int64_t used = 0;
    if (usage_ != nullptr) {
      Result<int64_t> stored = usage_->TokensUsed(key_id, day);
      if (!stored.ok()) {
        return stored.status().WithContext(fmt::format("reading today's token usage of key {}", key_id));
      }
      used = std::max<int64_t>(0, *stored);
    }
    s.day_loaded = true;
    s.day = day;
    s.day_used = used;
  }

  // Every limit is checked before anything is taken. When several refuse, the one with the
  // longest wait is reported (retrying earlier could not pass); one the request can never pass
  // wins over all.
  Refusal worst;
  bool refused = false;
  auto consider = [&](Refusal r) {
    if (!refused || (r.never && !worst.never) || (r.never == worst.never && r.retry_after_s > worst.retry_after_s)) {
      worst = std::move(r);
    }
    refused = true;
  };
  if (spec.rpm > 0 && s.rpm.level < kMinuteMs) {
    const int64_t wait = s.rpm.RetryAfterS(spec.rpm, 1);
    consider({"requests_per_minute",
              fmt::format("rate limit: this key may make {} requests per minute; retry after {} s", spec.rpm, wait),
              wait, false});
  }
  if (spec.tpm > 0) {
    if (tokens > spec.tpm) {
      consider({"tokens_per_minute",
                fmt::format("rate limit: this key may use {} tokens per minute, and this request needs {} (prompt "
                            "plus max_tokens); lower max_tokens or shorten the prompt",
                            spec.tpm, tokens),
                1, true});
    } else if (s.tpm.level < tokens * kMinuteMs) {
      const int64_t wait = s.tpm.RetryAfterS(spec.tpm, tokens);
      consider({"tokens_per_minute",
                fmt::format("rate limit: this key may use {} tokens per minute and this request needs {}; retry "
                            "after {} s",
                            spec.tpm, tokens, wait),
                wait, false});
    }
  }
  if (spec.daily_tokens > 0) {
    if (tokens > spec.daily_tokens) {
      consider({"daily_tokens",
                fmt::format("quota: this key may use {} tokens per day, and this request needs {} (prompt plus "
                            "max_tokens); lower max_tokens or shorten the prompt",
                            spec.daily_tokens, tokens),
                1, true});
    } else if (s.day_used > spec.daily_tokens - tokens) {
      const int64_t wait = std::max<int64_t>(1, CeilDiv((s.day + 1) * kDayMs - now, 1000));
      consider({"daily_tokens",
                fmt::format("quota: this key may use {} tokens per day; {} are used or reserved today and this "
                            "request needs {}; the quota resets at 00:00 UTC, in {} s",
                            spec.daily_tokens, s.day_used, tokens, wait),
                wait, false});
    }
  }
  if (spec.max_concurrent > 0 && s.in_flight >= spec.max_concurrent) {
    consider({"concurrent_requests",
              fmt::format("rate limit: this key may have {} requests in progress at once; retry after 1 s",
                          spec.max_concurrent),
              1, false});
  }
  if (refused) {
    Status error = ResourceExhaustedError(worst.message);
    if (refusal != nullptr) *refusal = std::move(worst);
    return error;
  }

  if (spec.rpm > 0) s.rpm.level -= kMinuteMs;
  if (spec.tpm > 0) s.tpm.level -= tokens * kMinuteMs;
  s.day_used = std::min(s.day_used, kMaxValue * 1000) + tokens;  // bounded when no daily limit applies
  ++s.in_flight;

  Reservation r;
  r.limiter_ = this;
  r.key_id_ = key_id;
  r.tokens_ = tokens;
  r.day_ = s.day;
  r.concurrency_ = true;  // every reservation holds a slot, counted whether or not a cap applies
  return r;
}

Status KeyLimiter::Settle(Reservation& reservation, int64_t used_tokens) {
  if (reservation.limiter_ != this) {
    return InvalidArgumentError(reservation.limiter_ == nullptr ? "the reservation was already settled"
                                                                : "the reservation belongs to another limiter");
  }
  std::lock_guard<std::mutex> lock(mu_);
  return SettleLocked(reservation, used_tokens);
}

Status KeyLimiter::SettleLocked(Reservation& reservation, int64_t used_tokens) {
  const int64_t used = std::clamp<int64_t>(used_tokens, 0, reservation.tokens_);
  const int64_t unused = reservation.tokens_ - used;
  auto it = keys_.find(reservation.key_id_);
  if (it != keys_.end()) {  // always found: a key with reservations in flight is never swept
    KeyState& s = *it->second;
    if (s.tpm_capacity > 0) {
      s.tpm.Refill(s.tpm_capacity, now_ms_());
      s.tpm.level = std::min(s.tpm.level + unused * kMinuteMs, s.tpm_capacity * kMinuteMs);
    }
    if (s.day_loaded && s.day == reservation.day_) s.day_used = std::max<int64_t>(0, s.day_used - unused);
    if (reservation.concurrency_ && s.in_flight > 0) --s.in_flight;
  }
  reservation.limiter_ = nullptr;
  if (usage_ != nullptr && used > 0) {
    // Under the lock, so that a later load of this day's usage (after the key went idle and was
    // swept) cannot miss this write.
    Status written = usage_->AddTokens(reservation.key_id_, reservation.day_, used);
    if (!written.ok()) {
      return written.WithContext(fmt::format("recording {} tokens used by key {}", used, reservation.key_id_));
    }
  }
  return Status::Ok();
}

}  // namespace enclave::governance::limits
