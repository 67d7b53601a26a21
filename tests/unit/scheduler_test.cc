// The scheduler against a tiny model: concurrent greedy requests give each the tokens it gets
// alone, also when the KV pool is too small for all of them at once (preemption and recomputation),
// and json_object output is one JSON object.
#include "server/scheduler.h"

#include <gtest/gtest.h>

#include <future>

#include <nlohmann/json.hpp>

#include "runtime/engine.h"
#include "synth_models.h"

namespace enclave::server {
namespace {

const Model& Tiny() {
  static std::unique_ptr<Model> model = testing::LoadSynthModel("qwen2", "tiny", 5);
  return *model;
}

std::unique_ptr<Engine> MakeEngine(int64_t kv_tokens) {
  EngineOptions o;
  o.threads = 2;
  o.context = 128;
  o.kv_tokens = kv_tokens;
  auto e = Engine::Create(Tiny(), o);
  EXPECT_TRUE(e.ok()) << e.status().message();
  return std::move(*e);
}

struct Outcome {
  std::vector<int32_t> tokens;
  std::string text;
  std::optional<runtime::FinishReason> finish;
  Status status;
  JobUsage usage;
};

// Submits a greedy job; the future resolves when it is done.
std::future<Outcome> Submit(Scheduler& s, std::vector<int32_t> prompt, int32_t max_tokens, bool json = false,
                            uint64_t seed = 0) {
  auto out = std::make_shared<Outcome>();
  auto done = std::make_shared<std::promise<Outcome>>();
  auto job = std::make_shared<GenerationJob>();
  job->prompt = std::move(prompt);
  job->params.temperature = json ? 1.0f : 0.0f;
  job->params.seed = seed;
  job->params.max_tokens = max_tokens;
  job->params.ignore_eos = !json;
  job->json_object = json;
  job->on_delta = [out](const ChoiceDelta& d) {
    for (const auto& t : d.tokens) out->tokens.push_back(t.id);
    out->text += d.text;
    if (d.finish) out->finish = d.finish;
  };
  job->on_done = [out, done](const Status& st, const JobUsage& u) {
    out->status = st;
    out->usage = u;
    done->set_value(*out);
  };
  EXPECT_TRUE(s.Submit(job).ok());
  return done->get_future();
}

std::vector<int32_t> Prompt(int n, int salt) {
  std::vector<int32_t> t;
  for (int i = 0; i < n; ++i) t.push_back((i * 31 + salt * 17 + 3) % 400);
  return t;
}

TEST(SchedulerTest, PreemptedRequestsAreRecomputedAndMatchTheirSoloRuns) {
  constexpr int kRequests = 4, kPrompt = 20, kMax = 44;  // 64 tokens = 4 blocks each
  std::vector<std::vector<int32_t>> alone;
  {
    auto engine = MakeEngine(1024);
    SchedulerOptions o;
    o.prefix_cache_entries = 0;
    Scheduler s(*engine, o);
    for (int r = 0; r < kRequests; ++r) {
      const Outcome out = Submit(s, Prompt(kPrompt, r), kMax).get();
      ASSERT_TRUE(out.status.ok()) << out.status.message();
      alone.push_back(out.tokens);
    }
  }
  // 10 blocks for 16 needed at once: requests must give their blocks back and recompute them.
  auto engine = MakeEngine(160);
  SchedulerOptions o;
  o.prefix_cache_entries = 0;
  o.step_tokens = 16;
  Scheduler s(*engine, o);
  std::vector<std::future<Outcome>> futures;
  for (int r = 0; r < kRequests; ++r) futures.push_back(Submit(s, Prompt(kPrompt, r), kMax));
  for (int r = 0; r < kRequests; ++r) {
    const Outcome out = futures[r].get();
    ASSERT_TRUE(out.status.ok()) << out.status.message();
    EXPECT_EQ(out.finish, runtime::FinishReason::kLength);
    EXPECT_EQ(out.usage.completion_tokens, kMax) << "request " << r;
    EXPECT_EQ(out.tokens, alone[r]) << "request " << r;
  }
  EXPECT_GT(s.stats().preempted, 0u);
  EXPECT_EQ(engine->kv().free_blocks(), engine->kv().n_blocks());
}

// A prompt sharing a prefix with a cached sequence, admitted while older cache entries must be
// evicted to make room: it must fork the entry it matched (not whichever moved into that slot).
TEST(SchedulerTest, PrefixReuseAfterEvictionUsesTheMatchedEntry) {
  auto prompt = [](int salt, int n) { return Prompt(n, salt); };
  std::vector<int32_t> d = prompt(3, 20);  // starts like request 3's prompt, then goes elsewhere
  const std::vector<int32_t> tail = prompt(9, 20);
  d.insert(d.end(), tail.begin(), tail.end());
  std::vector<int32_t> alone;
  {
    auto engine = MakeEngine(1024);
    Scheduler s(*engine, SchedulerOptions{});
    alone = Submit(s, d, 8).get().tokens;
  }
  auto engine = MakeEngine(160);  // 10 blocks
  Scheduler s(*engine, SchedulerOptions{});
  for (int salt : {1, 2, 3, 4}) {  // four cached sequences of 2 blocks each: 2 blocks stay free
    const Outcome out = Submit(s, prompt(salt, 20), 10).get();
    ASSERT_TRUE(out.status.ok()) << out.status.message();
  }
  const Outcome out = Submit(s, d, 8).get();
  ASSERT_TRUE(out.status.ok()) << out.status.message();
  EXPECT_GE(out.usage.cached_tokens, 16);
  EXPECT_EQ(out.tokens, alone);
}

TEST(SchedulerTest, JsonObjectOutputParses) {
  auto engine = MakeEngine(1024);
  Scheduler s(*engine, SchedulerOptions{});
  int complete = 0;
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    const Outcome out = Submit(s, Prompt(8, 9), 119, /*json=*/true, seed).get();
    ASSERT_TRUE(out.status.ok()) << out.status.message();
    if (out.finish == runtime::FinishReason::kStop) {
      ++complete;
      EXPECT_TRUE(nlohmann::json::accept(out.text)) << out.text;
      EXPECT_TRUE(nlohmann::json::parse(out.text).is_object()) << out.text;
    } else {
      // Cut by max_tokens: an object begun (random weights write long strings).
      EXPECT_EQ(out.text.substr(out.text.find_first_not_of(" \t\r\n"), 1), "{") << out.text;
    }
  }
  EXPECT_GE(complete, 2);
}

}  // namespace
}  // namespace enclave::server
