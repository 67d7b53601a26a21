// Continuous batching: one thread owns the Engine and runs a step loop. Each step batches one
// token of every running sequence (decode) with prompt chunks of admitted requests (prefill) up
// to a token budget, so a long prompt never stalls running decodes for more than one budget's
// worth of compute. Requests join and leave the running set between steps.
//
// A request with n choices prefills its prompt once; the other choices then fork the prompt's KV
// blocks (no copy) and sample from the same logits with their own samplers.
//
// Admission: a bounded queue (Submit fails with kResourceExhausted when full, kUnavailable while
// draining) and a KV check (a prompt is admitted when the pool has blocks for it). When the pool
// runs out mid-generation, the most recently admitted request gives its blocks back and waits to
// recompute its prompt and output so far (a prefill, chunked like any), then continues where it stopped;
// requests with several choices, or one that could not fit even alone, end cleanly instead
// (finish_reason "length"). The engine never sees a batch it cannot place.
// A cancelled request (client gone) is dropped at the next step and its KV freed at once.
//
// Callbacks run on the scheduler thread and must not block.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "runtime/engine.h"
#include "runtime/json_constraint.h"
#include "runtime/sampler.h"
#include "runtime/stop_matcher.h"
#include "server/prefix_index.h"

namespace enclave::server {

// New output of one choice.
struct ChoiceDelta {
  int choice = 0;
  std::string text;                                // may be empty (e.g. text held back by a stop check)
  std::vector<runtime::SampledToken> tokens;       // the tokens this delta covers (logprobs when asked)
  std::vector<std::string> token_texts;            // their text pieces, for logprobs
  std::optional<runtime::FinishReason> finish;     // set on the choice's last delta
};

struct JobUsage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;  // all choices
  int64_t cached_tokens = 0;      // prompt tokens whose KV was reused (prefix cache)
};

struct GenerationJob {
  std::vector<int32_t> prompt;
  runtime::SamplingParams params;  // validated; params.n choices
  std::function<void(const ChoiceDelta&)> on_delta;
  // Called once at the end: OK, or the error that ended the request (the deltas sent so far stand).
  std::function<void(const Status&, const JobUsage&)> on_done;
  std::function<bool()> cancelled;  // polled each step; may be empty
  // response_format json_object: each choice's output is one JSON object (constrained sampling,
  // runtime/json_constraint.h; the choice stops when the object closes). With `json_after` set
  // (a reasoning template), the constraint starts once the output contains that text.
  bool json_object = false;
  std::string json_after;
  // Past this time the request ends with kDeadlineExceeded (queued or running); default: none.
  std::chrono::steady_clock::time_point deadline{};
  // Set by the scheduler.
  std::chrono::steady_clock::time_point submitted, first_token;
};

struct SchedulerOptions {
  int max_running = 16;         // requests generating at once
  int max_queue = 256;          // requests waiting beyond those
  int64_t step_tokens = 512;    // prompt tokens per step (the chunked-prefill budget)
  // Finished sequences kept in the KV cache for prompts that start the same way (a system prompt,
  // an earlier chat turn), indexed by a radix tree over blocks (server/prefix_index.h); least
  // recently used first out when blocks are needed. Kept sequences share their common blocks, so
  // many entries with one system prompt cost little. 0: off.
  int prefix_cache_entries = 256;
};

struct SchedulerStats {
  int64_t running = 0, waiting = 0;
  int64_t kv_blocks_used = 0, kv_blocks_total = 0;
  uint64_t steps = 0, prompt_tokens = 0, generated_tokens = 0, preempted = 0, timed_out = 0;
  uint64_t cached_prompt_tokens = 0;  // prompt tokens whose KV came from the prefix cache
  int64_t prefix_cache_entries = 0;
};

class Scheduler {
 public:
  // Events of interest to metrics, called on the scheduler thread.
  struct Observer {
    std::function<void(int64_t batch_tokens, int64_t sequences)> on_step;
    std::function<void(double queue_seconds)> on_admit;
  };

  Scheduler(Engine& engine, const SchedulerOptions& options, Observer observer = {});
  ~Scheduler();  // stops the loop; requests still queued or running get kUnavailable
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  Status Submit(std::shared_ptr<GenerationJob> job);
  // Stop admitting (Submit then fails with kUnavailable); running and queued work continues.
  void Drain();
  // Nothing queued or running.
  bool Idle() const;
  SchedulerStats stats() const;
  // MoE models: the engine's expert-selection counters as of the last step ([layer][expert]).
  std::vector<uint64_t> expert_counts() const;

 private:
  struct Choice;
  struct Active;
  void Loop();
  void Step();
  void Admit();
  void Finish(Active& a, size_t choice, runtime::FinishReason reason);
  void EndJob(Active& a, const Status& status);
  // A choice's sequence leaves: into the prefix cache (choice 0 of a request that completed) or freed.
  void Release(Active& a, size_t choice, bool cache);
  // The cached sequence sharing the longest prefix with `prompt` (at least one block, never the
  // whole prompt: its last token must run to give logits); -1 if none.
  int FindPrefix(const std::vector<int32_t>& prompt, int64_t* tokens) const;
  // Frees least recently used cache entries until `blocks` are free (or the cache is empty); never
  // entry *keep, whose index it updates as entries before it go. True when enough are free.
  bool EvictFor(int64_t blocks, int* keep = nullptr);
  // The KV pool is full: the newest request holding KV gives its blocks back, to be recomputed
  // when blocks free up (one-choice requests), or ends cleanly with finish_reason "length".
  void Preempt();
  // Ends requests (queued or running) whose deadline has passed.
  void ExpireDeadlines();
  // Samples choice `c`'s next token from `row`, within the JSON constraint when it has one.
  Result<runtime::SampledToken> SampleChoice(Active& a, Choice& c, std::span<const float> row);
  // After a sampled token: advances the choice's JSON state; true when the object just closed.
  bool AdvanceJson(Active& a, Choice& c, int32_t token, std::string_view piece);

  Engine& engine_;
  const SchedulerOptions options_;
  Observer observer_;
  std::vector<int32_t> eog_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<GenerationJob>> queue_;
  bool draining_ = false, stopping_ = false;

  // Scheduler thread only.
  std::vector<std::unique_ptr<Active>> active_;
  int32_t next_seq_ = 1;
  struct CachedPrefix {
    int32_t seq;
    uint64_t last_used;
  };
  std::vector<CachedPrefix> prefix_cache_;  // for LRU order; prefix_index_ has their tokens
  PrefixIndex prefix_index_;
  uint64_t use_clock_ = 0;
  std::unique_ptr<runtime::JsonTokenMask> json_mask_;  // built for the first json_object request

  std::atomic<int64_t> running_{0};
  std::atomic<uint64_t> steps_{0}, prompt_tokens_{0}, generated_tokens_{0}, preempted_{0}, cached_tokens_{0}, timed_out_{0};
  std::atomic<int64_t> cache_entries_{0};
  std::atomic<int64_t> kv_used_{0};
  mutable std::mutex counts_mu_;
  std::vector<uint64_t> expert_counts_;
  std::thread thread_;
};

}  // namespace enclave::server
