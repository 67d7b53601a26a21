// KeyLimiter: each limit admits up to its value and refuses beyond it with the right Retry-After,
// buckets refill continuously, the daily quota resets at 00:00 UTC and survives a restart through
// the UsageStore, store failures fail closed, refusals take nothing, reservations settle exactly
// once (moved, destroyed or settled), and racing threads never overshoot a limit.
#include "governance/limits/key_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <random>
#include <thread>
#include <utility>
#include <vector>

namespace enclave::governance::limits {
namespace {

constexpr int64_t kDayMs = 86'400'000;
constexpr int64_t kDay = 20'000;  // a UTC day number (2024-10-04)
constexpr int64_t kNoon = kDay * kDayMs + kDayMs / 2;

// Daily usage in a map, as KeyStore keeps it in SQLite; failures on demand.
class FakeUsageStore : public UsageStore {
 public:
  Result<int64_t> TokensUsed(const std::string& key_id, int64_t day) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++reads;
    if (fail_reads) return IoError("usage database is locked");
    auto it = used_.find({key_id, day});
    return it == used_.end() ? int64_t{0} : it->second;
  }
  Status AddTokens(const std::string& key_id, int64_t day, int64_t tokens) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (fail_writes) return IoError("disk full");
    writes.push_back(tokens);
    used_[{key_id, day}] += tokens;
    return Status::Ok();
  }
  int64_t Used(const std::string& key_id, int64_t day) {
    std::lock_guard<std::mutex> lock(mu_);
    return used_[{key_id, day}];
  }

  std::atomic<int> reads{0};
  std::atomic<bool> fail_reads{false};
  std::atomic<bool> fail_writes{false};
  std::vector<int64_t> writes;  // each AddTokens amount, in order

 private:
  std::mutex mu_;
  std::map<std::pair<std::string, int64_t>, int64_t> used_;
};

class KeyLimiterTest : public ::testing::Test {
 protected:
  std::function<int64_t()> Clock() {
    return [this] { return now_.load(); };
  }
  // Admits or fails the test.
  Reservation MustAdmit(KeyLimiter& limiter, const LimitSpec& spec, int64_t tokens, const std::string& key = "k1") {
    Refusal refusal;
    auto r = limiter.Admit(key, spec, tokens, &refusal);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(*r) : Reservation();
  }
  // Expects a refusal by `limit` and returns it.
  Refusal MustRefuse(KeyLimiter& limiter, const LimitSpec& spec, int64_t tokens, const std::string& limit,
                     const std::string& key = "k1") {
    Refusal refusal;
    auto r = limiter.Admit(key, spec, tokens, &refusal);
    EXPECT_FALSE(r.ok());
    if (r.ok()) return refusal;
    EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted) << r.status().ToString();
    EXPECT_EQ(r.status().message(), refusal.message);
    EXPECT_EQ(refusal.limit, limit) << refusal.message;
    EXPECT_GE(refusal.retry_after_s, 1);
    return refusal;
  }

  std::atomic<int64_t> now_{kNoon};
  FakeUsageStore store_;
};

TEST_F(KeyLimiterTest, RequestsPerMinuteBurstThenRetryAfterThenRefill) {
  KeyLimiter limiter(Clock());
  const LimitSpec spec{.rpm = 3};
  for (int i = 0; i < 3; ++i) {
    Reservation r = MustAdmit(limiter, spec, 0);
    ASSERT_TRUE(limiter.Settle(r, 0).ok());
  }
  Refusal r = MustRefuse(limiter, spec, 0, "requests_per_minute");
  EXPECT_EQ(r.retry_after_s, 20);  // one request per 20 s
  EXPECT_FALSE(r.never);
  EXPECT_NE(r.message.find("3 requests per minute"), std::string::npos) << r.message;
  now_ += 19'999;
  EXPECT_EQ(MustRefuse(limiter, spec, 0, "requests_per_minute").retry_after_s, 1);
  now_ += 1;
  MustAdmit(limiter, spec, 0);
  MustRefuse(limiter, spec, 0, "requests_per_minute");
  // Other keys have their own buckets.
  MustAdmit(limiter, spec, 0, "k2");
}

TEST_F(KeyLimiterTest, RequestsAreNotRefundedBySettle) {
  KeyLimiter limiter(Clock());
  const LimitSpec spec{.rpm = 1};
  Reservation r = MustAdmit(limiter, spec, 10);
  ASSERT_TRUE(limiter.Settle(r, 0).ok());
  EXPECT_EQ(MustRefuse(limiter, spec, 10, "requests_per_minute").retry_after_s, 60);
}

TEST_F(KeyLimiterTest, TokensPerMinuteRefusesWithRetryAfterAndRefillsContinuously) {
  KeyLimiter limiter(Clock());
  const LimitSpec spec{.tpm = 600};  // 10 tokens per second
  Reservation r = MustAdmit(limiter, spec, 600);
  ASSERT_TRUE(limiter.Settle(r, 600).ok());
  EXPECT_EQ(MustRefuse(limiter, spec, 1, "tokens_per_minute").retry_after_s, 1);
  Refusal refusal = MustRefuse(limiter, spec, 100, "tokens_per_minute");
  EXPECT_EQ(refusal.retry_after_s, 10);
  EXPECT_FALSE(refusal.never);
  now_ += 9'950;  // 99.5 tokens
  EXPECT_EQ(MustRefuse(limiter, spec, 100, "tokens_per_minute").retry_after_s, 1);
  now_ += 50;
  Reservation again = MustAdmit(limiter, spec, 100);
  EXPECT_EQ(again.reserved_tokens(), 100);
}

TEST_F(KeyLimiterTest, SettleRefundsUnusedTokensButNotAboveCapacity) {
  KeyLimiter limiter(Clock());
  const LimitSpec spec{.tpm = 1000};
  Reservation r = MustAdmit(limiter, spec, 800);
  ASSERT_TRUE(limiter.Settle(r, 300).ok());  // 200 left + 500 back
  Reservation big = MustAdmit(limiter, spec, 700);
  MustRefuse(limiter, spec, 1, "tokens_per_minute");
  now_ += 60'000;                            // full again while `big` is in flight
  ASSERT_TRUE(limiter.Settle(big, 0).ok());  // the refund does not lift the bucket above 1000
  MustAdmit(limiter, spec, 1000);
  MustRefuse(limiter, spec, 1, "tokens_per_minute");
}

TEST_F(KeyLimiterTest, RequestsLargerThanABucketOrTheQuotaCanNeverPass) {
  KeyLimiter limiter(Clock());
  Refusal tpm = MustRefuse(limiter, {.tpm = 100}, 101, "tokens_per_minute", "a");
  EXPECT_TRUE(tpm.never);
  EXPECT_NE(tpm.message.find("100 tokens per minute"), std::string::npos) << tpm.message;
  Refusal daily = MustRefuse(limiter, {.daily_tokens = 100}, 101, "daily_tokens", "b");
  EXPECT_TRUE(daily.never);
  // Nothing was taken: requests of exactly the limit still pass.
  MustAdmit(limiter, {.tpm = 100}, 100, "a");
  MustAdmit(limiter, {.daily_tokens = 100}, 100, "b");
  // Once spent, a request of exactly the limit is refused for now, not forever.
  EXPECT_FALSE(MustRefuse(limiter, {.tpm = 100}, 100, "tokens_per_minute", "a").never);
  EXPECT_FALSE(MustRefuse(limiter, {.daily_tokens = 100}, 100, "daily_tokens", "b").never);
}

TEST_F(KeyLimiterTest, DailyQuotaRefusesUntilUtcMidnight) {
  KeyLimiter limiter(Clock());
  const LimitSpec spec{.daily_tokens = 1000};
  now_ = (kDay + 1) * kDayMs - 3'600'000 + 500;  // 23:00:00.500 UTC: 3599.5 s to midnight
  Reservation r = MustAdmit(limiter, spec, 600);
  ASSERT_TRUE(limiter.Settle(r, 600).ok());
  Refusal refusal = MustRefuse(limiter, spec, 401, "daily_tokens");
  EXPECT_EQ(refusal.retry_after_s, 3600);
  EXPECT_FALSE(refusal.never);
  EXPECT_NE(refusal.message.find("00:00 UTC"), std::string::npos) << refusal.message;
  Reservation rest = MustAdmit(limiter, spec, 400);
  ASSERT_TRUE(limiter.Settle(rest, 400).ok());
  now_ = (kDay + 1) * kDayMs - 1;
  EXPECT_EQ(MustRefuse(limiter, spec, 1, "daily_tokens").retry_after_s, 1);
  now_ = (kDay + 1) * kDayMs;  // 00:00:00.000 UTC: a new day
  MustAdmit(limiter, spec, 1000);
}

TEST_F(KeyLimiterTest, QuotaPersistsAcrossARestartThroughTheUsageStore) {
  const LimitSpec spec{.daily_tokens = 1000};
  {
    KeyLimiter limiter(Clock(), &store_);
    Reservation r = MustAdmit(limiter, spec, 600);
    ASSERT_TRUE(limiter.Settle(r, 400).ok());
    Reservation r2 = MustAdmit(limiter, spec, 100);
    ASSERT_TRUE(limiter.Settle(r2, 100).ok());
  }
  EXPECT_EQ(store_.writes, (std::vector<int64_t>{400, 100}));  // only what was charged
  EXPECT_EQ(store_.Used("k1", kDay), 500);
  KeyLimiter restarted(Clock(), &store_);
  MustRefuse(restarted, spec, 501, "daily_tokens");
  MustAdmit(restarted, spec, 500);
  // Another key's or another day's usage is separate.
  MustAdmit(restarted, spec, 1000, "k2");
  now_ += kDayMs;
  MustAdmit(restarted, spec, 1000);
}

TEST_F(KeyLimiterTest, UsageIsLoadedOncePerKeyAndDay) {
  KeyLimiter limiter(Clock(), &store_);
  const LimitSpec spec{.daily_tokens = 1000};
  for (int i = 0; i < 3; ++i) {
    Reservation r = MustAdmit(limiter, spec, 10);
    ASSERT_TRUE(limiter.Settle(r, 10).ok());
  }
  EXPECT_EQ(store_.reads.load(), 1);
  now_ += kDayMs;
  MustAdmit(limiter, spec, 10);
  EXPECT_EQ(store_.reads.load(), 2);
}

TEST_F(KeyLimiterTest, UsageStoreReadFailureFailsClosedAndTakesNothing) {
  KeyLimiter limiter(Clock(), &store_);
  const LimitSpec spec{.rpm = 1, .daily_tokens = 1000};
  store_.fail_reads = true;
  Refusal refusal;
  auto r = limiter.Admit("k1", spec, 10, &refusal);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIoError);
  EXPECT_NE(r.status().message().find("k1"), std::string::npos) << r.status().message();
  EXPECT_TRUE(refusal.limit.empty());  // not a refusal: an error
  store_.fail_reads = false;
  MustAdmit(limiter, spec, 10);  // the rpm bucket was not touched by the failed admission
}

TEST_F(KeyLimiterTest, UsageStoreWriteFailureIsReportedAndTheQuotaStillCounts) {
  KeyLimiter limiter(Clock(), &store_);
  const LimitSpec spec{.daily_tokens = 100, .max_concurrent = 1};
  Reservation r = MustAdmit(limiter, spec, 60);
  store_.fail_writes = true;
  Status settled = limiter.Settle(r, 60);
  EXPECT_EQ(settled.code(), StatusCode::kIoError);
  EXPECT_FALSE(r.active());
  MustRefuse(limiter, spec, 41, "daily_tokens");
  MustAdmit(limiter, spec, 40);  // and the concurrency slot was freed
}

TEST_F(KeyLimiterTest, AReservationFromBeforeMidnightIsChargedToItsOwnDay) {
  KeyLimiter limiter(Clock(), &store_);
  const LimitSpec spec{.daily_tokens = 1000};
  now_ = (kDay + 1) * kDayMs - 1000;
  Reservation yesterday = MustAdmit(limiter, spec, 500);
  now_ = (kDay + 1) * kDayMs + 1000;
  Reservation today = MustAdmit(limiter, spec, 1000);
  ASSERT_TRUE(limiter.Settle(yesterday, 200).ok());  // refunds nothing to the new day
  MustRefuse(limiter, spec, 1, "daily_tokens");
  EXPECT_EQ(store_.Used("k1", kDay), 200);
  ASSERT_TRUE(limiter.Settle(today, 700).ok());
  EXPECT_EQ(store_.Used("k1", kDay + 1), 700);
  MustAdmit(limiter, spec, 300);
  MustRefuse(limiter, spec, 1, "daily_tokens");
}

TEST_F(KeyLimiterTest, ConcurrencyCapHoldsSlotsUntilSettled) {
  KeyLimiter limiter(Clock());
  const LimitSpec spec{.max_concurrent = 2};
  Reservation a = MustAdmit(limiter, spec, 1);
  Reservation b = MustAdmit(limiter, spec, 1);
  Refusal refusal = MustRefuse(limiter, spec, 1, "concurrent_requests");
  EXPECT_EQ(refusal.retry_after_s, 1);
  EXPECT_FALSE(refusal.never);
  ASSERT_TRUE(limiter.Settle(a, 1).ok());
  Reservation c = MustAdmit(limiter, spec, 1);
  MustRefuse(limiter, spec, 1, "concurrent_requests");
}

TEST_F(KeyLimiterTest, ARefusalTakesNothingFromTheOtherLimits) {
  KeyLimiter limiter(Clock());
  const LimitSpec spec{.rpm = 2, .tpm = 100, .max_concurrent = 1};
  Reservation held = MustAdmit(limiter, spec, 10);
  MustRefuse(limiter, spec, 50, "concurrent_requests");  // rpm and tpm would pass
  ASSERT_TRUE(limiter.Settle(held, 10).ok());
  Reservation next = MustAdmit(limiter, spec, 90);  // all 90 tokens and the 2nd request remain
  ASSERT_TRUE(limiter.Settle(next, 90).ok());
  MustRefuse(limiter, spec, 0, "requests_per_minute");
}

TEST_F(KeyLimiterTest, TheLongestWaitIsReportedAndNeverWins) {
  KeyLimiter limiter(Clock());
  const LimitSpec spec{.rpm = 1, .daily_tokens = 100};
  Reservation r = MustAdmit(limiter, spec, 100);
  ASSERT_TRUE(limiter.Settle(r, 100).ok());
  EXPECT_EQ(MustRefuse(limiter, spec, 10, "daily_tokens").retry_after_s, kDayMs / 2 / 1000);  // not rpm's 60 s
  EXPECT_TRUE(MustRefuse(limiter, {.rpm = 1, .tpm = 5, .daily_tokens = 100}, 10, "tokens_per_minute").never);
}

TEST_F(KeyLimiterTest, DestroyingAnUnsettledReservationChargesItInFull) {
  KeyLimiter limiter(Clock(), &store_);
  const LimitSpec spec{.tpm = 100, .max_concurrent = 1};
  { Reservation r = MustAdmit(limiter, spec, 70); }
  EXPECT_EQ(store_.Used("k1", kDay), 70);
  MustAdmit(limiter, spec, 30);  // slot freed, 30 tokens left; this temporary is charged too
  EXPECT_EQ(store_.Used("k1", kDay), 100);
  now_ += 60'000;
  {
    Reservation r = MustAdmit(limiter, spec, 100);
    ASSERT_TRUE(limiter.Settle(r, 0).ok());
  }  // settled: the destructor does nothing more
  EXPECT_EQ(store_.Used("k1", kDay), 100);
}

TEST_F(KeyLimiterTest, MovedReservationsSettleExactlyOnce) {
  KeyLimiter limiter(Clock(), &store_);
  const LimitSpec spec{.max_concurrent = 2};
  Reservation a = MustAdmit(limiter, spec, 40);
  Reservation b(std::move(a));
  EXPECT_FALSE(a.active());  // NOLINT(bugprone-use-after-move): moved-from state is part of the contract
  EXPECT_TRUE(b.active());
  EXPECT_EQ(b.reserved_tokens(), 40);
  EXPECT_EQ(limiter.Settle(a, 0).code(), StatusCode::kInvalidArgument);  // NOLINT(bugprone-use-after-move)
  ASSERT_TRUE(limiter.Settle(b, 25).ok());
  EXPECT_EQ(limiter.Settle(b, 25).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_.Used("k1", kDay), 25);

  // Assigning over an active reservation settles it in full first.
  Reservation c = MustAdmit(limiter, spec, 10);
  Reservation d = MustAdmit(limiter, spec, 20);
  MustRefuse(limiter, spec, 1, "concurrent_requests");
  c = std::move(d);
  EXPECT_EQ(store_.Used("k1", kDay), 35);
  EXPECT_EQ(c.reserved_tokens(), 20);
  Reservation e = MustAdmit(limiter, spec, 1);  // one slot came back
  ASSERT_TRUE(limiter.Settle(c, 5).ok());
  EXPECT_EQ(store_.Used("k1", kDay), 40);

  // A reservation of another limiter is refused.
  KeyLimiter other(Clock());
  EXPECT_EQ(other.Settle(e, 1).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(e.active());
}

TEST_F(KeyLimiterTest, SettleClampsUsedTokensToTheReservation) {
  KeyLimiter limiter(Clock(), &store_);
  Reservation r = MustAdmit(limiter, {}, 100);
  ASSERT_TRUE(limiter.Settle(r, 500).ok());
  Reservation z = MustAdmit(limiter, {}, 100);
  ASSERT_TRUE(limiter.Settle(z, -5).ok());  // nothing used: nothing written
  EXPECT_EQ(store_.writes, (std::vector<int64_t>{100}));
}

TEST_F(KeyLimiterTest, InvalidArgumentsAreErrorsNotRefusals) {
  KeyLimiter limiter(Clock());
  Refusal refusal;
  EXPECT_EQ(limiter.Admit("k1", {}, -1, &refusal).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(limiter.Admit("k1", {.tpm = -5}, 1, &refusal).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(refusal.limit.empty());
}

TEST_F(KeyLimiterTest, LoweringALimitClampsTheBucket) {
  KeyLimiter limiter(Clock());
  MustAdmit(limiter, {.tpm = 1000}, 0);
  MustAdmit(limiter, {.tpm = 100}, 100);
  MustRefuse(limiter, {.tpm = 100}, 1, "tokens_per_minute");
}

TEST_F(KeyLimiterTest, IdleKeysAreDroppedButTodaysSpentQuotaIsKept) {
  {
    KeyLimiter limiter(Clock());  // no store: the quota lives only in memory and must not be dropped
    const LimitSpec spec{.rpm = 10, .daily_tokens = 100};
    Reservation r = MustAdmit(limiter, spec, 100);
    ASSERT_TRUE(limiter.Settle(r, 100).ok());
    now_ += 120'000;                       // buckets full again, nothing in flight
    MustAdmit(limiter, spec, 0, "other");  // sweeps idle keys
    MustRefuse(limiter, spec, 1, "daily_tokens");
  }
  KeyLimiter limiter(Clock(), &store_);
  const LimitSpec spec{.daily_tokens = 100};
  Reservation unused = MustAdmit(limiter, spec, 50, "idle");
  ASSERT_TRUE(limiter.Settle(unused, 0).ok());
  Reservation spent = MustAdmit(limiter, spec, 50, "busy");
  ASSERT_TRUE(limiter.Settle(spent, 50).ok());
  EXPECT_EQ(store_.reads.load(), 2);
  now_ += 120'000;
  MustAdmit(limiter, spec, 0, "other");  // sweeps "idle" (nothing used today), keeps "busy"
  MustAdmit(limiter, spec, 0, "idle");
  MustAdmit(limiter, spec, 0, "busy");
  EXPECT_EQ(store_.reads.load(), 4);  // "other", and "idle" reloaded; "busy" was kept in memory
  MustRefuse(limiter, spec, 51, "daily_tokens", "busy");
}

// Threads racing Admit/Settle on one key: what is charged never exceeds the limit, equals what the
// admitted requests used, and the limiter's remaining allowance is exactly limit - charged.
TEST_F(KeyLimiterTest, RacingThreadsNeverOvershootDailyQuotaOrTokensPerMinute) {
  KeyLimiter limiter(Clock(), &store_);  // the clock stands still: the tpm bucket does not refill
  const LimitSpec daily{.daily_tokens = 20'000};
  const LimitSpec tpm{.tpm = 15'000};
  const LimitSpec slots{.max_concurrent = 3};
  std::atomic<int64_t> charged_daily{0}, charged_tpm{0}, refusals{0};
  std::atomic<int> in_flight{0}, max_in_flight{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(1234 + t);
      for (int i = 0; i < 400; ++i) {
        const int64_t want = std::uniform_int_distribution<int64_t>(0, 300)(rng);
        const int64_t used = std::uniform_int_distribution<int64_t>(0, want)(rng);
        const bool on_daily = i % 2 == 0;
        Refusal refusal;
        auto r = limiter.Admit(on_daily ? "daily" : "tpm", on_daily ? daily : tpm, want, &refusal);
        if (!r.ok()) {
          ++refusals;
          continue;
        }
        ASSERT_TRUE(limiter.Settle(*r, used).ok());
        (on_daily ? charged_daily : charged_tpm) += used;
        // The concurrency cap, on a third key held across a yield.
        auto s = limiter.Admit("slots", slots, 0, &refusal);
        if (s.ok()) {
          const int now_in = ++in_flight;
          int seen = max_in_flight.load();
          while (now_in > seen && !max_in_flight.compare_exchange_weak(seen, now_in)) {
          }
          std::this_thread::yield();
          --in_flight;
          ASSERT_TRUE(limiter.Settle(*s, 0).ok());
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_GT(refusals.load(), 0);  // the limits were reached
  EXPECT_LE(max_in_flight.load(), 3);
  EXPECT_LE(charged_daily.load(), daily.daily_tokens);
  EXPECT_LE(charged_tpm.load(), tpm.tpm);
  EXPECT_EQ(store_.Used("daily", kDay), charged_daily.load());
  EXPECT_EQ(store_.Used("tpm", kDay), charged_tpm.load());
  // Exactly what is left, no more.
  const int64_t daily_left = daily.daily_tokens - charged_daily.load();
  const int64_t tpm_left = tpm.tpm - charged_tpm.load();
  if (daily_left > 0) MustAdmit(limiter, daily, daily_left, "daily");
  MustRefuse(limiter, daily, 1, "daily_tokens", "daily");
  if (tpm_left > 0) MustAdmit(limiter, tpm, tpm_left, "tpm");
  MustRefuse(limiter, tpm, 1, "tokens_per_minute", "tpm");
}

}  // namespace
}  // namespace enclave::governance::limits
