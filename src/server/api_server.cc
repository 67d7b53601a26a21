#include "server/api_server.h"

#include <chrono>
#include <ctime>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "chat/chat_prompt.h"
#include "platform/process_memory.h"
#include "server/openai_request.h"
#include "tokenizer/reasoning_split.h"

namespace enclave::server {

using json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

namespace {

// Model output can hold invalid UTF-8 (a byte-level token cut out of a character): it is written as
// U+FFFD rather than failing the response.
std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

std::string RandomId(const char* prefix) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{}-{:016x}{:08x}", prefix, rng(), static_cast<uint32_t>(rng()));
}

json LogprobEntry(const tokenizer::Tokenizer& tok, int32_t id, float logprob) {
  auto bytes = tok.TokenBytes(id);
  const std::string text = bytes.ok() ? *bytes : "";
  json b = json::array();
  for (unsigned char c : text) b.push_back(static_cast<int>(c));
  return json{{"token", text}, {"logprob", logprob}, {"bytes", b}};
}

// One request in flight: what the scheduler callbacks need to answer it.
struct RequestState {
  std::shared_ptr<Responder> responder;
  CompletionRequest request;
  std::string id, route;
  int64_t created = 0;
  Clock::time_point arrived;
  bool first_token_seen = false;
  struct ChoiceState {
    std::string content, reasoning;
    std::optional<runtime::FinishReason> finish;
    json logprobs = json::array();  // chat: content entries
    json tokens = json::array(), token_logprobs = json::array(), top_logprobs = json::array();  // completions
    bool role_sent = false;
    std::unique_ptr<tokenizer::ReasoningSplitter> splitter;
    Clock::time_point last_token;
  };
  std::vector<ChoiceState> choices;
  std::string remote;
};

}  // namespace

class ApiServer::Handlers {
 public:
  Handlers(const Model& model, const ApiServerOptions& options) : model_(model), options_(options) {
    if (options.access_log == "-") {
      log_ = stderr;
    } else if (!options.access_log.empty()) {
      log_ = std::fopen(options.access_log.c_str(), "a");
    }
  }
  ~Handlers() {
    if (log_ != nullptr && log_ != stderr) std::fclose(log_);
  }
  bool log_failed() const { return !options_.access_log.empty() && log_ == nullptr; }

  void Handle(const HttpRequest& req, std::shared_ptr<Responder> r) {
    const auto arrived = Clock::now();
    const std::string& path = req.path;
    auto finish = [&](int status, const std::string& type, const std::string& body, const std::string& route) {
      r->Send(status, type, body);
      Done(route, req, status, arrived, 0, 0);
    };
    if (path == "/health") {
      if (req.method != "GET") return finish(405, "application/json", MethodError(req.method), path);
      return finish(200, "application/json", R"({"status":"ok"})", path);
    }
    if (path == "/ready") {
      if (req.method != "GET") return finish(405, "application/json", MethodError(req.method), path);
      const bool ok = ready_.load() && !draining_.load();
      return finish(ok ? 200 : 503, "application/json", ok ? R"({"status":"ready"})" : R"({"status":"not ready"})", path);
    }
    if (path == "/metrics") {
      if (req.method != "GET") return finish(405, "application/json", MethodError(req.method), path);
      return finish(200, "text/plain; version=0.0.4; charset=utf-8", metrics_.Render(Gauges()), path);
    }
    if (path == "/v1/models" || path.rfind("/v1/models/", 0) == 0) {
      if (req.method != "GET") return finish(405, "application/json", MethodError(req.method), "/v1/models");
      json m{{"id", options_.model_id}, {"object", "model"}, {"created", created_}, {"owned_by", "enclave"}};
      if (path == "/v1/models") {
        return finish(200, "application/json", Dump(json{{"object", "list"}, {"data", json::array({m})}}), path);
      }
      if (path.substr(11) != options_.model_id) {
        return finish(404, "application/json", ModelNotFound(path.substr(11)).Body(), "/v1/models");
      }
      return finish(200, "application/json", Dump(m), "/v1/models");
    }
    if (path == "/v1/chat/completions" || path == "/v1/completions") {
      if (req.method != "POST") return finish(405, "application/json", MethodError(req.method), path);
      return Completion(req, r, path == "/v1/chat/completions", arrived);
    }
    ApiError e;
    e.status = 404;
    e.message = fmt::format("no route {} {}; see docs/api.md", req.method, path);
    return finish(404, "application/json", e.Body(), "other");
  }

  void SetScheduler(Scheduler* s) { scheduler_ = s; }
  void SetReady(bool ready) { ready_.store(ready); }
  void SetDraining() { draining_.store(true); }
  Metrics& metrics() { return metrics_; }

 private:
  static std::string MethodError(const std::string& method) {
    ApiError e;
    e.status = 405;
    e.message = fmt::format("method {} is not allowed here", method);
    return e.Body();
  }
  ApiError ModelNotFound(const std::string& name) const {
    ApiError e;
    e.status = 404;
    e.param = "model";
    e.code = "model_not_found";
    e.message = fmt::format("The model '{}' does not exist; this server serves '{}'", name, options_.model_id);
    return e;
  }

  ServerGauges Gauges() const {
    ServerGauges g;
    if (scheduler_ != nullptr) {
      const SchedulerStats s = scheduler_->stats();
      g.running = s.running;
      g.waiting = s.waiting;
      g.kv_blocks_used = s.kv_blocks_used;
      g.kv_blocks_total = s.kv_blocks_total;
      g.cached_prompt_tokens = s.cached_prompt_tokens;
      g.prefix_cache_entries = s.prefix_cache_entries;
      g.preempted = s.preempted;
      g.timed_out = s.timed_out;
      g.expert_counts = scheduler_->expert_counts();
      g.n_experts = model_.config().moe.n_experts;
    }
    g.rss_bytes = ReadProcessMemory().rss_bytes;
    g.ready = ready_.load() && !draining_.load();
    return g;
  }

  void Fail(const std::shared_ptr<Responder>& r, const HttpRequest& req, const std::string& route, const ApiError& e,
            Clock::time_point arrived, std::vector<std::pair<std::string, std::string>> headers = {}) {
    r->Send(e.status, "application/json", e.Body(), std::move(headers));
    Done(route, req, e.status, arrived, 0, 0);
  }

  // Metrics and the access log line (never prompt or output text).
  void Done(const std::string& route, const HttpRequest& req, int status, Clock::time_point arrived,
            int64_t prompt_tokens, int64_t completion_tokens, const std::string& id = "") {
    metrics_.CountRequest(route, status);
    if (log_ == nullptr) return;
    json line{{"time", static_cast<int64_t>(std::time(nullptr))},
              {"id", id},
              {"method", req.method},
              {"route", route},
              {"status", status},
              {"latency_ms", Seconds(arrived, Clock::now()) * 1000.0},
              {"prompt_tokens", prompt_tokens},
              {"completion_tokens", completion_tokens},
              {"remote", req.remote_address}};
    std::lock_guard<std::mutex> lock(log_mu_);
    std::fputs((Dump(line) + "\n").c_str(), log_);
    std::fflush(log_);
  }

  Result<std::vector<int32_t>> PromptTokens(const CompletionRequest& c, bool* opens_think) const {
    const tokenizer::Tokenizer& tok = model_.tokenizer();
    *opens_think = false;
    if (!c.chat) {
      if (!c.prompt_tokens.empty()) return c.prompt_tokens;
      return tok.Encode(c.prompt_text, /*add_special=*/true);
    }
    json extra = nullptr;
    if (c.enable_thinking.has_value()) extra = json{{"enable_thinking", *c.enable_thinking}, {"thinking", *c.enable_thinking}};
    auto prompt = chat::RenderChatPrompt(options_.chat_template, c.messages, tok, extra);
    if (!prompt.ok()) return InvalidArgumentError("the chat template failed on these messages: " + prompt.status().message());
    *opens_think = prompt->opens_think;
    return tok.Encode(prompt->text, /*add_special=*/false);
  }

  void Completion(const HttpRequest& req, std::shared_ptr<Responder> r, bool chat, Clock::time_point arrived) {
    const std::string route = req.path;
    if (draining_.load()) {
      ApiError e;
      e.status = 503;
      e.type = "server_error";
      e.message = "the server is shutting down; retry on another instance";
      return Fail(r, req, route, e, arrived);
    }
    auto state = std::make_shared<RequestState>();
    if (auto e = ParseCompletionRequest(req.body, chat, model_.n_sampleable(), &state->request)) {
      return Fail(r, req, route, *e, arrived);
    }
    CompletionRequest& c = state->request;
    if (c.model != options_.model_id) return Fail(r, req, route, ModelNotFound(c.model), arrived);
    bool opens_think = false;
    auto prompt = PromptTokens(c, &opens_think);
    if (!prompt.ok()) {
      ApiError e;
      e.param = chat ? "messages" : "prompt";
      e.message = prompt.status().message();
      return Fail(r, req, route, e, arrived);
    }
    const int64_t context = options_.context;
    if (static_cast<int64_t>(prompt->size()) >= context) {
      ApiError e;
      e.param = chat ? "messages" : "prompt";
      e.code = "context_length_exceeded";
      e.message = fmt::format("This model's maximum context length is {} tokens. However, your prompt has {} tokens; "
                              "shorten it.",
                              context, prompt->size());
      return Fail(r, req, route, e, arrived);
    }
    if (prompt->empty()) {
      ApiError e;
      e.param = "prompt";
      e.message = "the prompt is empty";
      return Fail(r, req, route, e, arrived);
    }
    if (c.params.max_tokens && static_cast<int64_t>(prompt->size()) + *c.params.max_tokens > context) {
      ApiError e;
      e.param = "max_tokens";
      e.code = "context_length_exceeded";
      e.message = fmt::format("This model's maximum context length is {} tokens. However, you requested {} tokens "
                              "({} in the prompt, {} for the completion); reduce max_tokens or the prompt.",
                              context, prompt->size() + *c.params.max_tokens, prompt->size(), *c.params.max_tokens);
      return Fail(r, req, route, e, arrived);
    }
    state->responder = r;
    state->id = RandomId(chat ? "chatcmpl" : "cmpl");
    state->route = route;
    state->created = static_cast<int64_t>(std::time(nullptr));
    state->arrived = arrived;
    state->remote = req.remote_address;
    state->choices.resize(c.params.n);
    if (chat) {
      for (auto& ch : state->choices) ch.splitter = std::make_unique<tokenizer::ReasoningSplitter>(opens_think);
    }
    auto job = std::make_shared<GenerationJob>();
    job->prompt = std::move(*prompt);
    job->params = c.params;
    job->json_object = c.json_object;
    if (c.json_object && opens_think) job->json_after = "</think>";  // JSON is the answer, after thinking
    double limit = options_.max_request_seconds;
    if (c.timeout_s && (limit <= 0 || *c.timeout_s < limit)) limit = *c.timeout_s;
    if (limit > 0) {
      job->deadline = arrived + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(limit));
    }
    job->cancelled = [r] { return r->cancelled(); };
    job->on_delta = [this, state](const ChoiceDelta& d) { OnDelta(*state, d); };
    HttpRequest req_copy;  // what Done needs, without the body
    req_copy.method = req.method;
    req_copy.target = req.target;
    req_copy.path = req.path;
    req_copy.remote_address = req.remote_address;
    job->on_done = [this, state, req_copy = std::move(req_copy)](
                       const Status& st, const JobUsage& usage) { OnDone(*state, req_copy, st, usage); };
    if (Status st = scheduler_->Submit(job); !st.ok()) {
      ApiError e;
      e.message = st.message();
      if (st.code() == StatusCode::kResourceExhausted) {
        e.status = 429;
        e.type = "rate_limit_error";
        return Fail(r, req, route, e, arrived, {{"Retry-After", "1"}});
      }
      e.status = 503;
      e.type = "server_error";
      return Fail(r, req, route, e, arrived);
    }
    if (c.stream) r->StartStream();
  }

  json ChunkBase(const RequestState& s) const {
    return json{{"id", s.id},
                {"object", s.request.chat ? "chat.completion.chunk" : "text_completion"},
                {"created", s.created},
                {"model", options_.model_id},
                {"system_fingerprint", nullptr}};
  }

  // Scheduler thread.
  void OnDelta(RequestState& s, const ChoiceDelta& d) {
    const auto now = Clock::now();
    if (!s.first_token_seen && !d.tokens.empty()) {
      s.first_token_seen = true;
      metrics_.time_to_first_token.Observe(Seconds(s.arrived, now));
    }
    auto& ch = s.choices[d.choice];
    if (!d.tokens.empty()) {
      if (ch.last_token.time_since_epoch().count() != 0) metrics_.inter_token_latency.Observe(Seconds(ch.last_token, now));
      ch.last_token = now;
    }
    const tokenizer::Tokenizer& tok = model_.tokenizer();
    const bool want_logprobs = s.request.params.logprobs;
    json lp_content = json::array();
    if (want_logprobs) {
      for (const runtime::SampledToken& t : d.tokens) {
        if (s.request.chat) {
          json entry = LogprobEntry(tok, t.id, t.logprob);
          json top = json::array();
          for (const auto& alt : t.top) top.push_back(LogprobEntry(tok, alt.id, alt.logprob));
          entry["top_logprobs"] = top;
          lp_content.push_back(entry);
        } else {
          auto bytes = tok.TokenBytes(t.id);
          ch.tokens.push_back(bytes.ok() ? *bytes : "");
          ch.token_logprobs.push_back(t.logprob);
          json top = json::object();
          for (const auto& alt : t.top) {
            auto b = tok.TokenBytes(alt.id);
            top[b.ok() ? *b : ""] = alt.logprob;
          }
          ch.top_logprobs.push_back(top);
        }
      }
    }
    std::string content = d.text, reasoning;
    if (ch.splitter) {
      auto split = ch.splitter->Push(d.text);
      if (d.finish) {
        auto rest = ch.splitter->Finish();
        split.reasoning += rest.reasoning;
        split.content += rest.content;
      }
      content = std::move(split.content);
      reasoning = std::move(split.reasoning);
    }
    if (d.finish) ch.finish = d.finish;
    if (!s.request.stream) {
      ch.content += content;
      ch.reasoning += reasoning;
      for (auto& e : lp_content) ch.logprobs.push_back(std::move(e));
      return;
    }
    json chunk = ChunkBase(s);
    json choice{{"index", d.choice}};
    if (s.request.chat) {
      json delta = json::object();
      if (!ch.role_sent) {
        delta["role"] = "assistant";
        ch.role_sent = true;
      }
      if (!reasoning.empty()) delta["reasoning_content"] = reasoning;
      if (!content.empty() || (delta.contains("role") && reasoning.empty())) delta["content"] = content;
      choice["delta"] = delta;
      choice["logprobs"] = want_logprobs ? json{{"content", lp_content}} : json(nullptr);
    } else {
      choice["text"] = content;
      if (want_logprobs) {
        choice["logprobs"] = json{{"tokens", ch.tokens}, {"token_logprobs", ch.token_logprobs}, {"top_logprobs", ch.top_logprobs}};
        ch.tokens = json::array();
        ch.token_logprobs = json::array();
        ch.top_logprobs = json::array();
      } else {
        choice["logprobs"] = nullptr;
      }
    }
    choice["finish_reason"] = d.finish ? json(runtime::FinishReasonName(*d.finish)) : json(nullptr);
    chunk["choices"] = json::array({choice});
    if (s.request.include_usage) chunk["usage"] = nullptr;
    s.responder->SendEvent(Dump(chunk));
  }

  // The error a request that the scheduler ended gets.
  static ApiError ErrorFor(const Status& st) {
    ApiError e;
    e.message = st.message();
    e.type = "server_error";
    switch (st.code()) {
      case StatusCode::kUnavailable: e.status = 503; break;
      case StatusCode::kResourceExhausted:
        e.status = 429;
        e.type = "rate_limit_error";
        break;
      case StatusCode::kDeadlineExceeded:
        e.status = 504;
        e.type = "timeout_error";
        e.code = "request_timeout";
        break;
      default: e.status = 500;
    }
    return e;
  }

  static json Usage(const JobUsage& u) {
    return json{{"prompt_tokens", u.prompt_tokens},
                {"completion_tokens", u.completion_tokens},
                {"total_tokens", u.prompt_tokens + u.completion_tokens},
                {"prompt_tokens_details", {{"cached_tokens", u.cached_tokens}}}};
  }

  void OnDone(RequestState& s, const HttpRequest& req, const Status& st, const JobUsage& usage) {
    metrics_.request_latency.Observe(Seconds(s.arrived, Clock::now()));
    metrics_.AddTokens(usage.prompt_tokens, usage.completion_tokens);
    if (st.code() == StatusCode::kCancelled) {
      Done(s.route, req, 499, s.arrived, usage.prompt_tokens, usage.completion_tokens, s.id);
      return;
    }
    if (s.request.stream) {
      if (!st.ok()) {
        s.responder->SendEvent(ErrorFor(st).Body());
      } else if (s.request.include_usage) {
        json chunk = ChunkBase(s);
        chunk["choices"] = json::array();
        chunk["usage"] = Usage(usage);
        s.responder->SendEvent(Dump(chunk));
      }
      s.responder->SendEvent("[DONE]");
      s.responder->EndStream();
      Done(s.route, req, 200, s.arrived, usage.prompt_tokens, usage.completion_tokens, s.id);
      return;
    }
    if (!st.ok()) {
      const ApiError e = ErrorFor(st);
      s.responder->Send(e.status, "application/json", e.Body());
      Done(s.route, req, e.status, s.arrived, usage.prompt_tokens, usage.completion_tokens, s.id);
      return;
    }
    json body{{"id", s.id},
              {"object", s.request.chat ? "chat.completion" : "text_completion"},
              {"created", s.created},
              {"model", options_.model_id},
              {"system_fingerprint", nullptr}};
    json choices = json::array();
    for (size_t k = 0; k < s.choices.size(); ++k) {
      auto& ch = s.choices[k];
      json choice{{"index", k}};
      if (s.request.chat) {
        json message{{"role", "assistant"}, {"content", ch.content}};
        if (!ch.reasoning.empty()) message["reasoning_content"] = ch.reasoning;
        choice["message"] = message;
        choice["logprobs"] = s.request.params.logprobs ? json{{"content", ch.logprobs}} : json(nullptr);
      } else {
        choice["text"] = ch.content;
        choice["logprobs"] = s.request.params.logprobs
                                 ? json{{"tokens", ch.tokens}, {"token_logprobs", ch.token_logprobs},
                                        {"top_logprobs", ch.top_logprobs}}
                                 : json(nullptr);
      }
      choice["finish_reason"] = runtime::FinishReasonName(ch.finish.value_or(runtime::FinishReason::kLength));
      choices.push_back(choice);
    }
    body["choices"] = choices;
    body["usage"] = Usage(usage);
    s.responder->Send(200, "application/json", Dump(body));
    Done(s.route, req, 200, s.arrived, usage.prompt_tokens, usage.completion_tokens, s.id);
  }

 private:
  const Model& model_;
  ApiServerOptions options_;
  Metrics metrics_;
  Scheduler* scheduler_ = nullptr;
  std::atomic<bool> ready_{false}, draining_{false};
  int64_t created_ = static_cast<int64_t>(std::time(nullptr));
  std::FILE* log_ = nullptr;
  std::mutex log_mu_;
};

Result<std::unique_ptr<ApiServer>> ApiServer::Start(const Model& model, Engine& engine, const ApiServerOptions& options) {
  std::unique_ptr<ApiServer> s(new ApiServer());
  ApiServerOptions o = options;
  o.context = engine.context();
  s->handlers_ = std::make_unique<Handlers>(model, o);
  if (s->handlers_->log_failed()) {
    return IoError(fmt::format("cannot open the access log '{}' for appending", options.access_log));
  }
  Handlers* h = s->handlers_.get();
  Scheduler::Observer observer;
  observer.on_step = [h](int64_t tokens, int64_t) { h->metrics().batch_tokens.Observe(static_cast<double>(tokens)); };
  observer.on_admit = [h](double seconds) { h->metrics().queue_time.Observe(seconds); };
  s->scheduler_ = std::make_unique<Scheduler>(engine, options.scheduler, observer);
  h->SetScheduler(s->scheduler_.get());
  ASSIGN_OR_RETURN(s->http_, HttpServer::Start(options.http, [h](const HttpRequest& req, std::shared_ptr<Responder> r) {
    h->Handle(req, std::move(r));
  }));
  h->SetReady(true);
  return s;
}

bool ApiServer::Shutdown(double deadline_s) {
  handlers_->SetDraining();
  scheduler_->Drain();
  const auto end = Clock::now() + std::chrono::duration<double>(deadline_s);
  bool finished = true;
  while (!scheduler_->Idle()) {
    if (Clock::now() >= end) {
      finished = false;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // Let the last responses' bytes leave before the transport stops.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  scheduler_.reset();  // ends anything left with 503 / an error event
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  http_->Stop();
  return finished;
}

ApiServer::~ApiServer() {
  if (http_) http_->Stop();
  scheduler_.reset();
}

}  // namespace enclave::server
