#include "server/metrics.h"

#include <algorithm>

#include <fmt/format.h>

namespace enclave::server {

Histogram::Histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1) {}

void Histogram::Observe(double value) {
  const size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  std::lock_guard<std::mutex> lock(mu_);
  ++counts_[i];
  sum_ += value;
  ++count_;
}

void Histogram::Render(const std::string& name, const std::string& help, std::string* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  *out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    *out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, bounds_[i], cumulative);
  }
  cumulative += counts_.back();
  *out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n{}_sum {}\n{}_count {}\n", name, cumulative, name, sum_, name, count_);
}

namespace {

std::vector<double> LatencyBuckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60, 120};
}

}  // namespace

Metrics::Metrics()
    : time_to_first_token(LatencyBuckets()),
      inter_token_latency({0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5}),
      request_latency(LatencyBuckets()),
      queue_time(LatencyBuckets()),
      batch_tokens({1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048}) {}

void Metrics::CountRequest(const std::string& route, int status) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{route, status}];
}

void Metrics::AddTokens(int64_t prompt, int64_t generated) {
  prompt_tokens_ += static_cast<uint64_t>(prompt);
  generated_tokens_ += static_cast<uint64_t>(generated);
}

std::string Metrics::Render(const ServerGauges& g) const {
  std::string out;
  out += "# HELP enclave_requests_total HTTP requests answered, by route and status code.\n";
  out += "# TYPE enclave_requests_total counter\n";
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [key, n] : requests_) {
      out += fmt::format("enclave_requests_total{{route=\"{}\",status=\"{}\"}} {}\n", key.first, key.second, n);
    }
  }
  auto counter = [&](const char* name, const char* help, uint64_t v) {
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n{} {}\n", name, help, name, name, v);
  };
  auto gauge = [&](const char* name, const char* help, double v) {
    out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n{} {}\n", name, help, name, name, v);
  };
  counter("enclave_prompt_tokens_total", "Prompt tokens of finished requests.", prompt_tokens_.load());
  counter("enclave_generation_tokens_total", "Tokens generated for finished requests.", generated_tokens_.load());
  counter("enclave_prompt_tokens_cached_total",
          "Prompt tokens whose KV came from the prefix cache (hit ratio: this over enclave_prompt_tokens_total).",
          g.cached_prompt_tokens);
  counter("enclave_requests_preempted_total",
          "Requests preempted because the KV pool ran out mid-generation (recomputed later, or ended with "
          "finish_reason length when they cannot be).", g.preempted);
  counter("enclave_requests_timed_out_total", "Requests ended by their time limit (--max-request-time or 'timeout').",
          g.timed_out);
  gauge("enclave_prefix_cache_entries", "Finished sequences kept for prefix reuse.",
        static_cast<double>(g.prefix_cache_entries));
  gauge("enclave_requests_running", "Requests generating now.", static_cast<double>(g.running));
  gauge("enclave_requests_waiting", "Requests queued for admission.", static_cast<double>(g.waiting));
  gauge("enclave_kv_blocks_used", "KV cache blocks in use.", static_cast<double>(g.kv_blocks_used));
  gauge("enclave_kv_blocks_total", "KV cache blocks in the pool.", static_cast<double>(g.kv_blocks_total));
  gauge("enclave_process_resident_memory_bytes", "Resident set size of the server process.",
        static_cast<double>(g.rss_bytes));
  gauge("enclave_ready", "1 when the model is loaded and the server is not draining.", g.ready ? 1 : 0);
  time_to_first_token.Render("enclave_time_to_first_token_seconds", "Time from arrival to the first generated token.",
                             &out);
  inter_token_latency.Render("enclave_inter_token_latency_seconds", "Time between consecutive tokens of a choice.",
                             &out);
  request_latency.Render("enclave_request_duration_seconds", "Time from arrival to the last byte of the answer.",
                         &out);
  queue_time.Render("enclave_queue_time_seconds", "Time a request waited for admission.", &out);
  batch_tokens.Render("enclave_batch_tokens", "Tokens per engine step (decode tokens plus prompt chunks).", &out);
  if (g.n_experts > 0 && !g.expert_counts.empty()) {
    out += "# HELP enclave_moe_expert_selections_total Times each routed expert was selected, by layer.\n";
    out += "# TYPE enclave_moe_expert_selections_total counter\n";
    for (size_t i = 0; i < g.expert_counts.size(); ++i) {
      if (g.expert_counts[i] == 0) continue;
      out += fmt::format("enclave_moe_expert_selections_total{{layer=\"{}\",expert=\"{}\"}} {}\n", i / g.n_experts,
                         i % g.n_experts, g.expert_counts[i]);
    }
  }
  return out;
}

}  // namespace enclave::server
