#include "server/scheduler.h"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "runtime/generate.h"
#include "tokenizer/tokenizer.h"

namespace enclave::server {

using Clock = std::chrono::steady_clock;

struct Scheduler::Choice {
  int32_t seq = 0;
  std::optional<runtime::Sampler> sampler;
  std::unique_ptr<runtime::StopCriteria> stop;
  std::unique_ptr<tokenizer::StreamDecoder> decoder;
  int32_t last = -1;   // the sampled token the next step runs
  int64_t length = 0;  // tokens in the KV cache
  bool finished = false;
  std::vector<int32_t> out;  // sampled tokens
  // json_object requests: the recognizer of the output so far, once the constraint applies
  // (at once, or after the job's json_after text: `tail` keeps the output's end to find it).
  std::optional<runtime::JsonRecognizer> json;
  std::string tail;
  std::vector<float> masked;  // scratch: the logits row with banned tokens at -inf
};

struct Scheduler::Active {
  std::shared_ptr<GenerationJob> job;
  std::vector<Choice> choices;
  int64_t prefilled = 0;  // prompt tokens run so far (on choice 0's sequence)
  bool sampling = false;  // the prompt is done; choices generate
  // Preempted when the KV pool ran out (one-choice requests): its KV was freed and it waits, still
  // counted as running, to recompute `replay` (the prompt and the tokens generated so far, except
  // the last sampled one, which the next decode step runs) and continue where it stopped.
  bool parked = false;
  std::vector<int32_t> replay;
  bool done = false;
  JobUsage usage;
};

Scheduler::Scheduler(Engine& engine, const SchedulerOptions& options, Observer observer)
    : engine_(engine), options_(options), observer_(std::move(observer)),
      eog_(EndOfGenerationTokens(engine.model().tokenizer())), prefix_index_(engine.kv().block_tokens()) {
  thread_ = std::thread([this] { Loop(); });
}

Scheduler::~Scheduler() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

Status Scheduler::Submit(std::shared_ptr<GenerationJob> job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (draining_ || stopping_) return UnavailableError("the server is shutting down and takes no new requests");
    if (static_cast<int>(queue_.size()) >= options_.max_queue) {
      return ResourceExhaustedError(fmt::format("the request queue is full ({} waiting); retry later", queue_.size()));
    }
    job->submitted = Clock::now();
    queue_.push_back(std::move(job));
  }
  wake_.notify_all();
  return Status::Ok();
}

void Scheduler::Drain() {
  std::lock_guard<std::mutex> lock(mu_);
  draining_ = true;
}

bool Scheduler::Idle() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.empty() && running_.load() == 0;
}

SchedulerStats Scheduler::stats() const {
  SchedulerStats s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    s.waiting = static_cast<int64_t>(queue_.size());
  }
  s.running = running_.load();
  s.kv_blocks_used = kv_used_.load();
  s.kv_blocks_total = engine_.kv().n_blocks();
  s.steps = steps_.load();
  s.prompt_tokens = prompt_tokens_.load();
  s.generated_tokens = generated_tokens_.load();
  s.preempted = preempted_.load();
  s.timed_out = timed_out_.load();
  s.cached_prompt_tokens = cached_tokens_.load();
  s.prefix_cache_entries = cache_entries_.load();
  return s;
}

void Scheduler::Loop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty() || !active_.empty(); });
      if (stopping_) break;
    }
    Step();
  }
  for (auto& a : active_) {
    if (!a->done) EndJob(*a, UnavailableError("the server stopped before the request finished"));
  }
  active_.clear();
  std::deque<std::shared_ptr<GenerationJob>> left;
  {
    std::lock_guard<std::mutex> lock(mu_);
    left.swap(queue_);
  }
  for (auto& job : left) {
    if (job->on_done) job->on_done(UnavailableError("the server stopped before the request started"), {});
  }
  running_.store(0);
}

void Scheduler::Admit() {
  KvCache& kv = engine_.kv();
  const int64_t bt = kv.block_tokens();
  // Preempted requests come back first, oldest first, once their tokens fit; new ones wait for them.
  for (auto& a : active_) {
    if (!a->parked) continue;
    const size_t tokens = a->replay.empty() ? a->job->prompt.size() : a->replay.size();
    const int64_t need = (static_cast<int64_t>(tokens) + bt) / bt;
    if (need > kv.free_blocks() && !EvictFor(need)) return;
    a->parked = false;
  }
  for (;;) {
    std::shared_ptr<GenerationJob> job;
    int cached_entry = -1;
    int64_t reuse = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (queue_.empty() || static_cast<int>(active_.size()) >= options_.max_running) return;
      job = queue_.front();
      // Blocks for the prompt and its first token, and one per extra choice (each copies the
      // prompt's last, shared block when it first writes).
      const int64_t need = (static_cast<int64_t>(job->prompt.size()) + bt) / bt + job->params.n - 1;
      if (need > kv.n_blocks()) {
        queue_.pop_front();
        if (job->on_done) {
          job->on_done(ResourceExhaustedError(fmt::format("the prompt needs {} KV blocks but the pool has only {}; "
                                                          "raise the KV pool size",
                                                          need, kv.n_blocks())),
                       {});
        }
        continue;
      }
      int64_t cached = 0;
      cached_entry = FindPrefix(job->prompt, &cached);
      const int64_t fresh_need = (static_cast<int64_t>(job->prompt.size()) - cached + bt) / bt + job->params.n;
      if (fresh_need > kv.free_blocks() && !EvictFor(fresh_need, &cached_entry)) {
        if (!active_.empty()) return;  // wait for running requests to free some
        cached_entry = -1;             // nothing runs: use the whole pool without the cache
        if (!EvictFor(need)) return;
      }
      queue_.pop_front();
      reuse = cached_entry >= 0 ? cached : 0;
    }
    if (observer_.on_admit) observer_.on_admit(std::chrono::duration<double>(Clock::now() - job->submitted).count());
    auto a = std::make_unique<Active>();
    a->job = job;
    a->usage.prompt_tokens = static_cast<int64_t>(job->prompt.size());
    const Model& model = engine_.model();
    runtime::SamplingParams params = job->params;
    if (params.ignore_eos) {
      // Ban the end-of-generation tokens outright (a bias of -100 is -inf), replacing any bias
      // the request gave them.
      for (int32_t id : eog_) {
        std::erase_if(params.logit_bias, [id](const runtime::LogitBias& b) { return b.token == id; });
        if (id < model.n_sampleable()) params.logit_bias.push_back({id, -runtime::SamplingParams::kMaxAbsLogitBias});
      }
    }
    if (job->json_object && !json_mask_) {
      json_mask_ = std::make_unique<runtime::JsonTokenMask>(model.tokenizer(), model.n_sampleable(), eog_);
    }
    for (int k = 0; k < job->params.n; ++k) {
      Choice c;
      c.seq = next_seq_++;
      if (next_seq_ == std::numeric_limits<int32_t>::max()) next_seq_ = 1;
      if (job->json_object && job->json_after.empty()) c.json.emplace();
      auto sampler = runtime::Sampler::Create(params, model.n_sampleable(), k);
      if (!sampler.ok()) {
        if (job->on_done) job->on_done(sampler.status(), a->usage);
        a.reset();
        break;
      }
      c.sampler.emplace(std::move(*sampler));
      c.sampler->AcceptPrompt(job->prompt);
      c.stop = std::make_unique<runtime::StopCriteria>(params, params.ignore_eos ? std::vector<int32_t>{} : eog_);
      c.decoder = std::make_unique<tokenizer::StreamDecoder>(model.tokenizer(), /*skip_special=*/true);
      a->choices.push_back(std::move(c));
    }
    if (!a) continue;
    if (reuse > 0) {
      CachedPrefix& entry = prefix_cache_[cached_entry];
      if (kv.Fork(entry.seq, a->choices[0].seq, reuse).ok()) {
        entry.last_used = ++use_clock_;
        a->prefilled = reuse;
        a->usage.cached_tokens = reuse;
        cached_tokens_ += static_cast<uint64_t>(reuse);
      }
    }
    active_.push_back(std::move(a));
  }
}

int Scheduler::FindPrefix(const std::vector<int32_t>& prompt, int64_t* tokens) const {
  *tokens = 0;
  const PrefixIndex::Match m = prefix_index_.Longest(prompt, static_cast<int64_t>(prompt.size()) - 1);
  if (m.seq < 0 || m.tokens < engine_.kv().block_tokens()) return -1;
  for (size_t i = 0; i < prefix_cache_.size(); ++i) {
    if (prefix_cache_[i].seq == m.seq) {
      *tokens = m.tokens;
      return static_cast<int>(i);
    }
  }
  return -1;
}

bool Scheduler::EvictFor(int64_t blocks, int* keep) {
  KvCache& kv = engine_.kv();
  while (kv.free_blocks() < blocks) {
    int victim = -1;
    for (size_t i = 0; i < prefix_cache_.size(); ++i) {
      if (keep != nullptr && static_cast<int>(i) == *keep) continue;
      if (victim < 0 || prefix_cache_[i].last_used < prefix_cache_[victim].last_used) victim = static_cast<int>(i);
    }
    if (victim < 0) return false;
    kv.Free(prefix_cache_[victim].seq);
    prefix_index_.Erase(prefix_cache_[victim].seq);
    prefix_cache_.erase(prefix_cache_.begin() + victim);
    if (keep != nullptr && *keep > victim) --*keep;  // the kept entry moved down one place
  }
  cache_entries_.store(static_cast<int64_t>(prefix_cache_.size()));
  return true;
}

void Scheduler::Release(Active& a, size_t k, bool cache) {
  Choice& c = a.choices[k];
  KvCache& kv = engine_.kv();
  if (!kv.Has(c.seq)) return;
  if (!cache || k != 0 || options_.prefix_cache_entries <= 0 || c.length <= 0) {
    kv.Free(c.seq);
    return;
  }
  std::vector<int32_t> tokens = a.job->prompt;
  tokens.insert(tokens.end(), c.out.begin(), c.out.end());
  tokens.resize(std::min<size_t>(tokens.size(), static_cast<size_t>(c.length)));
  kv.Truncate(c.seq, static_cast<int64_t>(tokens.size()));
  if (static_cast<int>(prefix_cache_.size()) >= options_.prefix_cache_entries) {
    auto lru = std::min_element(prefix_cache_.begin(), prefix_cache_.end(),
                                [](const CachedPrefix& x, const CachedPrefix& y) { return x.last_used < y.last_used; });
    kv.Free(lru->seq);
    prefix_index_.Erase(lru->seq);
    prefix_cache_.erase(lru);
  }
  prefix_cache_.push_back({c.seq, ++use_clock_});
  prefix_index_.Insert(c.seq, std::move(tokens));
  cache_entries_.store(static_cast<int64_t>(prefix_cache_.size()));
}

void Scheduler::Finish(Active& a, size_t k, runtime::FinishReason reason) {
  Choice& c = a.choices[k];
  if (c.finished) return;
  c.finished = true;
  Release(a, k, /*cache=*/false);
  ChoiceDelta d;
  d.choice = static_cast<int>(k);
  d.text = c.stop->EndOfContext().emit;  // releases held text, if any (a no-op after a stop)
  d.finish = reason;
  if (a.job->on_delta) a.job->on_delta(d);
  if (std::all_of(a.choices.begin(), a.choices.end(), [](const Choice& x) { return x.finished; })) {
    EndJob(a, Status::Ok());
  }
}

void Scheduler::EndJob(Active& a, const Status& status) {
  if (a.done) return;
  a.done = true;
  for (size_t k = 0; k < a.choices.size(); ++k) {
    Release(a, k, /*cache=*/status.ok());
    a.choices[k].finished = true;
  }
  if (a.job->on_done) a.job->on_done(status, a.usage);
}

void Scheduler::ExpireDeadlines() {
  const auto now = Clock::now();
  auto expired = [now](const GenerationJob& job) {
    return job.deadline.time_since_epoch().count() != 0 && now >= job.deadline;
  };
  auto message = [](const GenerationJob& job, int64_t generated) {
    return fmt::format("the request ran longer than its time limit (about {:.0f} s) and was ended "
                       "after {} generated tokens; raise the limit (per request: 'timeout'; server: "
                       "--max-request-time) or ask for fewer tokens",
                       std::chrono::duration<double>(job.deadline - job.submitted).count(), generated);
  };
  std::vector<std::shared_ptr<GenerationJob>> late;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = queue_.begin(); it != queue_.end();) {
      if (expired(**it)) {
        late.push_back(std::move(*it));
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& job : late) {
    ++timed_out_;
    if (job->on_done) job->on_done(DeadlineExceededError(message(*job, 0)), {});
  }
  for (auto& a : active_) {
    if (!a->done && expired(*a->job)) {
      ++timed_out_;
      EndJob(*a, DeadlineExceededError(message(*a->job, a->usage.completion_tokens)));
    }
  }
}

void Scheduler::Preempt() {
  // The most recently admitted request that holds KV.
  Active* victim = nullptr;
  size_t holding = 0;
  for (auto& a : active_) {
    if (a->done || a->parked) continue;
    ++holding;
    victim = a.get();
  }
  if (victim == nullptr) return;
  ++preempted_;
  KvCache& kv = engine_.kv();
  const int64_t bt = kv.block_tokens();
  Choice& c = victim->choices[0];
  // Still in its prompt: it starts over (replay stays empty). Generating: the prompt and its output
  // but the last sampled token, which the next decode step runs.
  const bool generating = victim->sampling && !c.out.empty();
  std::vector<int32_t> replay = victim->job->prompt;
  if (generating) replay.insert(replay.end(), c.out.begin(), c.out.end() - 1);
  // Recompute later when that can help: one choice, others running (they will free blocks), and
  // its tokens fit the pool alone. Otherwise end it cleanly: its output so far stands,
  // finish_reason "length".
  if (victim->choices.size() != 1 || holding < 2 || (static_cast<int64_t>(replay.size()) + bt) / bt > kv.n_blocks()) {
    for (size_t k = 0; k < victim->choices.size(); ++k) Finish(*victim, k, runtime::FinishReason::kLength);
    EndJob(*victim, Status::Ok());
    return;
  }
  kv.Free(c.seq);
  c.length = 0;
  victim->prefilled = 0;
  victim->usage.cached_tokens = 0;  // it recomputes everything
  victim->sampling = false;
  victim->parked = true;
  if (generating) victim->replay = std::move(replay);
}

Result<runtime::SampledToken> Scheduler::SampleChoice(Active& a, Choice& c, std::span<const float> row) {
  if (!c.json) return c.sampler->Sample(row);
  c.masked.assign(row.begin(), row.end());
  if (json_mask_->Apply(*c.json, c.masked) == 0) {
    return InternalError("no token of the vocabulary can continue the JSON output");
  }
  return c.sampler->Sample(c.masked);
}

bool Scheduler::AdvanceJson(Active& a, Choice& c, int32_t token, std::string_view piece) {
  if (!a.job->json_object) return false;
  if (!c.json) {
    // Reasoning first: the constraint starts after the json_after marker (the end of thinking).
    c.tail += piece;
    const size_t at = c.tail.find(a.job->json_after);
    if (at == std::string::npos) {
      const size_t keep = a.job->json_after.size();
      if (c.tail.size() > keep) c.tail.erase(0, c.tail.size() - keep);
      return false;
    }
    c.json.emplace();
    runtime::JsonRecognizer rest;
    if (rest.Feed(std::string_view(c.tail).substr(at + a.job->json_after.size()))) c.json = rest;
    return c.json->complete();
  }
  // The mask allowed this token, so its bytes continue the object (end tokens have none).
  c.json->Feed(json_mask_->bytes(token));
  return c.json->complete();
}

void Scheduler::Step() {
  // Requests whose client left: drop them and free their KV before anything runs.
  for (auto& a : active_) {
    if (a->job->cancelled && a->job->cancelled()) EndJob(*a, CancelledError("the client closed the connection"));
  }
  ExpireDeadlines();
  std::erase_if(active_, [](const std::unique_ptr<Active>& a) { return a->done; });
  Admit();
  running_.store(static_cast<int64_t>(active_.size()));
  if (active_.empty()) {
    kv_used_.store(engine_.kv().n_blocks() - engine_.kv().free_blocks());
    return;
  }

  // The batch: one token per generating choice, then prompt chunks within the budget, oldest first.
  struct Row {
    Active* a;
    int choice;  // -1: the prompt's last token (all choices sample from it)
  };
  Batch batch;
  std::vector<Row> rows;
  for (auto& a : active_) {
    if (!a->sampling) continue;
    for (size_t k = 0; k < a->choices.size(); ++k) {
      const Choice& c = a->choices[k];
      if (c.finished) continue;
      batch.Add(c.last, static_cast<int32_t>(c.length), c.seq, true);
      rows.push_back({a.get(), static_cast<int>(k)});
    }
  }
  int64_t budget = options_.step_tokens;
  std::vector<std::pair<Active*, int64_t>> chunks;
  for (auto& a : active_) {
    if (a->sampling || a->parked || budget <= 0) continue;
    // A recomputation needs no logits: its next token is already sampled.
    const bool replaying = !a->replay.empty();
    const std::vector<int32_t>& tokens = replaying ? a->replay : a->job->prompt;
    const int64_t total = static_cast<int64_t>(tokens.size());
    const int64_t take = std::min(total - a->prefilled, budget);
    for (int64_t i = a->prefilled; i < a->prefilled + take; ++i) {
      batch.Add(tokens[i], static_cast<int32_t>(i), a->choices[0].seq, !replaying && i + 1 == total);
    }
    if (a->prefilled + take == total && !replaying) rows.push_back({a.get(), -1});
    chunks.emplace_back(a.get(), take);
    budget -= take;
  }
  if (batch.size() == 0) {
    // Only parked requests, and not even one fits the pool alone (cannot happen: Preempt checks).
    for (auto& a : active_) {
      if (a->parked) EndJob(*a, ResourceExhaustedError("the KV pool cannot hold this request any more"));
    }
    std::erase_if(active_, [](const std::unique_ptr<Active>& a) { return a->done; });
    return;
  }

  auto logits = engine_.Forward(batch);
  if (!logits.ok()) {
    if (logits.status().code() == StatusCode::kOutOfRange && !prefix_cache_.empty()) {
      EvictFor(engine_.kv().n_blocks());  // the cache goes first; the step runs again
      return;
    }
    if (logits.status().code() == StatusCode::kOutOfRange && engine_.kv().free_blocks() < engine_.kv().n_blocks()) {
      Preempt();  // the newest request makes room; the step runs again without it
      return;
    }
    // Anything else is a bug or a request the engine cannot run: fail the requests of this batch.
    for (auto& a : active_) EndJob(*a, logits.status());
    return;
  }
  ++steps_;
  if (observer_.on_step) observer_.on_step(batch.size(), static_cast<int64_t>(rows.size()));
  for (const auto& [a, take] : chunks) {
    a->prefilled += take;
    if (a->replay.empty()) prompt_tokens_ += static_cast<uint64_t>(take);  // recomputation is not new prompt
    if (!a->replay.empty() && a->prefilled == static_cast<int64_t>(a->replay.size())) {
      a->choices[0].length = a->prefilled;  // recomputed: decoding continues with the sampled token
      a->sampling = true;
      a->replay.clear();
      a->replay.shrink_to_fit();
    }
  }

  const Model& model = engine_.model();
  const size_t V = static_cast<size_t>(model.config().n_vocab);
  const auto now = Clock::now();
  for (size_t r = 0; r < rows.size(); ++r) {
    Active& a = *rows[r].a;
    if (a.done) continue;
    const std::span<const float> row = logits->subspan(r * V, V).first(model.n_sampleable());
    std::vector<int> choices;
    if (rows[r].choice >= 0) {
      Choice& c = a.choices[rows[r].choice];
      c.length += 1;  // the token this row ran is now cached
      choices.push_back(rows[r].choice);
    } else {
      a.sampling = true;
      const int64_t n_prompt = static_cast<int64_t>(a.job->prompt.size());
      a.choices[0].length = n_prompt;
      for (size_t k = 1; k < a.choices.size(); ++k) {
        const Status st = engine_.kv().Fork(a.choices[0].seq, a.choices[k].seq, n_prompt);
        if (!st.ok()) {
          EndJob(a, st);
          break;
        }
        a.choices[k].length = n_prompt;
      }
      for (size_t k = 0; k < a.choices.size(); ++k) choices.push_back(static_cast<int>(k));
      a.job->first_token = now;
    }
    for (int k : choices) {
      if (a.done) break;
      Choice& c = a.choices[k];
      auto tok = SampleChoice(a, c, row);
      if (!tok.ok()) {
        EndJob(a, tok.status());
        break;
      }
      c.sampler->Accept(tok->id);
      c.out.push_back(tok->id);
      ++generated_tokens_;
      ++a.usage.completion_tokens;
      auto piece = c.decoder->Push(tok->id);
      if (!piece.ok()) {
        EndJob(a, piece.status());
        break;
      }
      runtime::StopCriteria::Step step = c.stop->OnToken(tok->id, *piece);
      if (AdvanceJson(a, c, tok->id, *piece) && !step.finish) {  // the object closed: nothing may follow
        step.emit += c.stop->EndOfContext().emit;
        step.finish = runtime::FinishReason::kStop;
      }
      c.last = tok->id;
      ChoiceDelta d;
      d.choice = k;
      d.text = std::move(step.emit);
      d.token_texts.push_back(*piece);
      d.tokens.push_back(std::move(*tok));
      if (!step.finish && c.length + 1 >= engine_.context()) {  // the next token would not fit
        d.text += c.stop->EndOfContext().emit;
        step.finish = runtime::FinishReason::kLength;
      }
      if (step.finish) {
        c.finished = true;
        if (k != 0) Release(a, k, /*cache=*/false);  // choice 0 goes to the prefix cache with the job
        d.finish = step.finish;
      }
      if (a.job->on_delta) a.job->on_delta(d);
      if (std::all_of(a.choices.begin(), a.choices.end(), [](const Choice& x) { return x.finished; })) {
        EndJob(a, Status::Ok());
      }
    }
  }
  std::erase_if(active_, [](const std::unique_ptr<Active>& a) { return a->done; });
  running_.store(static_cast<int64_t>(active_.size()));
  kv_used_.store(engine_.kv().n_blocks() - engine_.kv().free_blocks());
  if (const auto counts = engine_.expert_counts(); !counts.empty()) {
    std::lock_guard<std::mutex> lock(counts_mu_);
    expert_counts_.assign(counts.begin(), counts.end());
  }
}

std::vector<uint64_t> Scheduler::expert_counts() const {
  std::lock_guard<std::mutex> lock(counts_mu_);
  return expert_counts_;
}

}  // namespace enclave::server
