// Prometheus metrics of the server (text exposition format 0.0.4, prefix enclave_). Thread-safe:
// counters are updated from the I/O and scheduler threads, Render() runs on a scrape.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace enclave::server {

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void Observe(double value);
  // "<name>_bucket{le=...} n" lines, _sum and _count, with HELP and TYPE.
  void Render(const std::string& name, const std::string& help, std::string* out) const;

 private:
  std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::vector<uint64_t> counts_;  // per bucket (not cumulative); the last is +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

struct ServerGauges {
  int64_t running = 0, waiting = 0, kv_blocks_used = 0, kv_blocks_total = 0;
  uint64_t rss_bytes = 0;
  uint64_t cached_prompt_tokens = 0;  // prompt tokens served from the prefix cache
  int64_t prefix_cache_entries = 0;
  uint64_t preempted = 0;  // requests ended early because the KV pool ran out
  uint64_t timed_out = 0;  // requests ended by their time limit
  bool ready = false;
  // MoE models: selections per (layer, expert), [n_layers][n_experts]; empty otherwise.
  std::vector<uint64_t> expert_counts;
  int n_experts = 0;
};

class Metrics {
 public:
  Metrics();

  void CountRequest(const std::string& route, int status);
  void AddTokens(int64_t prompt, int64_t generated);

  Histogram time_to_first_token, inter_token_latency, request_latency, queue_time, batch_tokens;

  std::string Render(const ServerGauges& gauges) const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::atomic<uint64_t> prompt_tokens_{0}, generated_tokens_{0};
};

}  // namespace enclave::server
