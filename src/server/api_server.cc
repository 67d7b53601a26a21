#include "server/api_server.h"

#include <chrono>
#include <ctime>
#include <random>
#include <shared_mutex>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "chat/chat_prompt.h"
#include "format/utf8.h"
#include "governance/crypto/digest.h"
#include "platform/process_memory.h"
#include "server/audit_sink.h"
#include "server/openai_request.h"
#include "server/task_thread.h"
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
    // Content controls: one output chain per channel, what they released before placeholders
    // were restored (the audit's completion), and whether a block ended the choice.
    std::unique_ptr<OutputGuard> content_guard, reasoning_guard;
    std::string audit_text;
    bool filtered = false;  // finish_reason content_filter; later deltas are dropped
  };
  std::vector<ChoiceState> choices;
  std::string remote;

  // Governance.
  Principal who;
  std::optional<governance::limits::Reservation> reservation;
  governance::pii::PlaceholderTable placeholders;  // this request's values; never logged
  governance::pii::PiiPolicy pii_policy = governance::pii::PiiPolicy::kOff;
  bool guarded = false;                      // content controls apply
  std::vector<std::string> actions;          // for the audit record
  std::string audit_prompt;                  // the prompt as the model got it
  nlohmann::ordered_json sampling = nlohmann::ordered_json::object();
  std::atomic<bool> stop{false};             // every choice ended early (content filter) or failed
  bool failed = false;                       // a content control failed: the answer was an error
};


}  // namespace

namespace {

// Daily token usage kept in the key database.
class KeyStoreUsage final : public governance::limits::UsageStore {
 public:
  explicit KeyStoreUsage(governance::keys::KeyStore* store) : store_(store) {}
  Result<int64_t> TokensUsed(const std::string& key_id, int64_t day) override { return store_->TokensUsed(key_id, day); }
  Status AddTokens(const std::string& key_id, int64_t day, int64_t tokens) override {
    return store_->AddTokens(key_id, day, tokens);
  }

 private:
  governance::keys::KeyStore* store_;
};

}  // namespace

class ApiServer::Handlers {
 public:
  Handlers(const Model& model, const ApiServerOptions& options)
      : model_(model),
        options_(options),
        access_(options.access),
        usage_(options.access.keys != nullptr ? std::make_unique<KeyStoreUsage>(options.access.keys) : nullptr),
        limiter_(options.now_ms, usage_.get()) {
    if (options.audit != nullptr) {
      audit_sink_ = std::make_unique<AuditSink>(options.audit, options.audit_sync_each_batch, [this](const Status& st) {
        // Fail closed: a server that cannot record what it does stops taking requests.
        if (!audit_failed_.exchange(true)) {
          std::fprintf(stderr, "error: audit log: %s; refusing requests until restarted\n", st.message().c_str());
        }
      });
    }
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
    Principal who;
    auto finish = [&](int status, const std::string& type, const std::string& body, const std::string& route,
                      std::vector<std::pair<std::string, std::string>> headers = {}) {
      Done(route, req, who, status, arrived);  // recorded before the answer leaves
      r->Send(status, type, body, std::move(headers));
    };
    const std::optional<Permission> permission = RoutePermission(path);
    const std::string route = !permission ? "other" : path.starts_with("/v1/models") ? "/v1/models" : path;
    if (audit_failed_.load()) {
      ApiError e;
      e.status = 503;
      e.type = "server_error";
      e.message = "the audit log cannot be written, so this server takes no requests; see the server's log";
      if (permission != Permission::kPublic) return finish(503, "application/json", e.Body(), route);
    }
    if (auto e = access_.Check(req, &who)) {
      std::vector<std::pair<std::string, std::string>> headers;
      if (e->status == 401) headers.emplace_back("WWW-Authenticate", "Bearer");
      return finish(e->status, "application/json", e->Body(), route, std::move(headers));
    }
    if (path == "/health") {
      if (req.method != "GET") return finish(405, "application/json", MethodError(req.method), path);
      return finish(200, "application/json", R"({"status":"ok"})", path);
    }
    if (path == "/ready") {
      if (req.method != "GET") return finish(405, "application/json", MethodError(req.method), path);
      const bool ok = ready_.load() && !draining_.load() && !audit_failed_.load();
      return finish(ok ? 200 : 503, "application/json", ok ? R"({"status":"ready"})" : R"({"status":"not ready"})", path);
    }
    if (path == "/metrics") {
      if (req.method != "GET") return finish(405, "application/json", MethodError(req.method), path);
      return finish(200, "text/plain; version=0.0.4; charset=utf-8", metrics_.Render(Gauges()), path);
    }
    if (path.starts_with("/admin/")) {
      if (req.method != "GET") return finish(405, "application/json", MethodError(req.method), path);
      if (path == "/admin/keys") {
        const AdminResponse a = AdminKeys(options_.access.keys);
        return finish(a.status, "application/json", a.body, path);
      }
      if (path == "/admin/model") {
        const AdminResponse a = AdminModel(options_.model_facts);
        return finish(a.status, "application/json", a.body, path);
      }
      // Reading (up to 64 MiB) or verifying (every file) the audit log takes a while: on the
      // admin thread, so the I/O threads keep serving everyone else.
      HttpRequest copy;
      copy.method = req.method;
      copy.target = req.target;
      copy.path = req.path;
      copy.remote_address = req.remote_address;
      admin_thread_->Post([this, copy = std::move(copy), r, who, arrived] {
        const std::string audit_path = options_.audit != nullptr ? options_.audit->path() : "";
        if (audit_sink_) audit_sink_->Flush();  // every record up to this request
        const AdminResponse a =
            copy.path == "/admin/audit" ? AdminAuditRecords(audit_path, copy) : AdminAuditVerify(audit_path);
        Done(copy.path, copy, who, a.status, arrived);
        r->Send(a.status, "application/json", a.body);
      });
      return;
    }
    if (path == "/v1/models" || path.rfind("/v1/models/", 0) == 0) {
      if (req.method != "GET") return finish(405, "application/json", MethodError(req.method), "/v1/models");
      json m{{"id", options_.model_id}, {"object", "model"}, {"created", created_}, {"owned_by", "enclave"}};
      const bool allowed = ModelAllowed(who);
      if (path == "/v1/models") {
        json data = allowed ? json::array({m}) : json::array();
        return finish(200, "application/json", Dump(json{{"object", "list"}, {"data", data}}), path);
      }
      if (path.substr(11) != options_.model_id || !allowed) {
        return finish(404, "application/json", ModelNotFound(path.substr(11)).Body(), "/v1/models");
      }
      return finish(200, "application/json", Dump(m), "/v1/models");
    }
    if (path == "/v1/chat/completions" || path == "/v1/completions") {
      if (req.method != "POST") return finish(405, "application/json", MethodError(req.method), path);
      return Completion(req, r, path == "/v1/chat/completions", arrived, std::move(who));
    }
    ApiError e;
    e.status = 404;
    e.message = fmt::format("no route {} {}; see docs/api.md", req.method, path);
    return finish(404, "application/json", e.Body(), "other");
  }

  void SetScheduler(Scheduler* s) {
    std::unique_lock lock(scheduler_mu_);
    scheduler_ = s;
  }
  void SetReady(bool ready) { ready_.store(ready); }
  void SetDraining() { draining_.store(true); }
  void FlushAudit() {
    admin_thread_->Drain();  // its requests' records too
    if (audit_sink_) audit_sink_->Flush();
  }
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
  // A key limited to some models sees only those.
  bool ModelAllowed(const Principal& who) const {
    const auto& models = who.key.limits.models;
    return !who.authenticated || models.empty() ||
           std::find(models.begin(), models.end(), options_.model_id) != models.end();
  }

  ServerGauges Gauges() const {
    ServerGauges g;
    std::shared_lock lock(scheduler_mu_);
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

  void Fail(const std::shared_ptr<Responder>& r, const HttpRequest& req, RequestState& s, const ApiError& e,
            std::vector<std::pair<std::string, std::string>> headers = {}) {
    Done(s.route, req, s.who, e.status, s.arrived, 0, 0, &s);
    r->Send(e.status, "application/json", e.Body(), std::move(headers));
  }

  // Metrics, the access log line (never prompt or output text) and the audit record.
  void Done(const std::string& route, const HttpRequest& req, const Principal& who, int status, Clock::time_point arrived,
            int64_t prompt_tokens = 0, int64_t completion_tokens = 0, const RequestState* s = nullptr) {
    metrics_.CountRequest(route, status);
    const double latency_ms = Seconds(arrived, Clock::now()) * 1000.0;
    const std::string id = s != nullptr ? s->id : "";
    if (log_ != nullptr) {
      json line{{"time", static_cast<int64_t>(std::time(nullptr))},
                {"id", id},
                {"method", req.method},
                {"route", route},
                {"status", status},
                {"latency_ms", latency_ms},
                {"prompt_tokens", prompt_tokens},
                {"completion_tokens", completion_tokens},
                {"remote", req.remote_address},
                {"key_id", who.key_id}};
      std::lock_guard<std::mutex> lock(log_mu_);
      std::fputs((Dump(line) + "\n").c_str(), log_);
      std::fflush(log_);
    }
    // Probes are public, answer nothing but up/ready and are polled every few seconds: not audited.
    if (options_.audit == nullptr || route == "/health" || route == "/ready") return;
    audit::AuditRequest a;
    a.request_id = id.empty() ? RandomId("req") : id;
    a.key_id = who.key_id;
    a.key_name = who.key_name;
    a.role = who.role;
    a.client_ip = who.client_ip.empty() ? req.remote_address : who.client_ip;
    // The path is the client's: bounded, so a 64 KiB target cannot bloat every record.
    a.route = req.method + " " + req.path.substr(0, 256);
    a.model_id = options_.model_id;
    a.model_sha256 = options_.model_facts.sha256;
    a.prompt_tokens = prompt_tokens;
    a.completion_tokens = completion_tokens;
    a.latency_ms = latency_ms;
    a.status = status;
    if (!who.key_state.empty() && who.key_state != "valid") a.actions.push_back("auth:" + who.key_state);
    if (s != nullptr) {
      a.sampling = s->sampling;
      for (const auto& x : s->actions) a.actions.push_back(x);
      a.prompt = s->audit_prompt;
      for (size_t k = 0; k < s->choices.size(); ++k) {
        if (k > 0) a.completion += "\n";
        a.completion += s->choices[k].audit_text;
      }
    }
    audit_sink_->Submit(std::move(a));
  }

  Result<std::vector<int32_t>> PromptTokens(const CompletionRequest& c, bool* opens_think, std::string* text) const {
    const tokenizer::Tokenizer& tok = model_.tokenizer();
    *opens_think = false;
    if (!c.chat) {
      if (!c.prompt_tokens.empty()) {
        auto decoded = tok.DecodeBytes(c.prompt_tokens);
        if (decoded.ok()) *text = *decoded;
        return c.prompt_tokens;
      }
      *text = c.prompt_text;
      return tok.Encode(c.prompt_text, /*add_special=*/true);
    }
    json extra = nullptr;
    if (c.enable_thinking.has_value()) extra = json{{"enable_thinking", *c.enable_thinking}, {"thinking", *c.enable_thinking}};
    auto prompt = chat::RenderChatPrompt(options_.chat_template, c.messages, tok, extra);
    if (!prompt.ok()) return InvalidArgumentError("the chat template failed on these messages: " + prompt.status().message());
    *opens_think = prompt->opens_think;
    *text = prompt->text;
    return tok.Encode(prompt->text, /*add_special=*/false);
  }

  // The content controls on the way in: each message's text (content and reasoning) or the
  // prompt is checked, masked or refused before the template sees it.
  std::optional<ApiError> GuardPrompt(RequestState& s) {
    CompletionRequest& c = s.request;
    auto refuse = [](const Status& st, const std::string& code, const std::string& param) {
      ApiError e;
      e.param = param;
      if (code.empty()) {  // the control itself failed: fail closed
        e.status = 500;
        e.type = "server_error";
        e.message = "the content check failed, so the request was not run: " + st.message();
      } else {
        e.code = code;
        e.message = st.message();
      }
      return e;
    };
    auto guard = [&](std::string& text, const std::string& param) -> std::optional<ApiError> {
      std::string code;
      auto v = GuardInput(options_.content, s.pii_policy, text, &s.placeholders, &code);
      if (!v.ok()) return refuse(v.status(), code, param);
      for (auto& a : v->actions) s.actions.push_back("prompt:" + a);
      text = std::move(v->text);
      return std::nullopt;
    };
    if (c.chat) {
      for (size_t i = 0; i < c.messages.size(); ++i) {
        for (const char* field : {"content", "reasoning_content", "name", "tool_call_id"}) {
          json& m = c.messages[i];
          if (!m.contains(field) || !m[field].is_string()) continue;
          std::string text = m[field].get<std::string>();
          if (auto e = guard(text, fmt::format("messages[{}].{}", i, field))) return e;
          m[field] = text;
        }
      }
      return std::nullopt;
    }
    if (!c.prompt_tokens.empty()) {
      // Token ids cannot be rewritten: they pass only when the controls would change nothing.
      auto decoded = model_.tokenizer().DecodeBytes(c.prompt_tokens);
      if (!decoded.ok()) return refuse(decoded.status(), "", "prompt");
      if (!IsValidUtf8(*decoded)) {
        ApiError e;
        e.param = "prompt";
        e.code = "content_filter";
        e.message = "these prompt token ids do not decode to UTF-8 text, which the content controls need; send text";
        return e;
      }
      std::string text = *decoded;
      if (auto e = guard(text, "prompt")) return e;
      if (text != *decoded) {
        ApiError e;
        e.param = "prompt";
        e.code = "content_filter";
        e.message = "this prompt of token ids holds text the server must mask; send the prompt as text";
        return e;
      }
      return std::nullopt;
    }
    return guard(c.prompt_text, "prompt");
  }

  void Completion(const HttpRequest& req, std::shared_ptr<Responder> r, bool chat, Clock::time_point arrived,
                  Principal who) {
    auto state = std::make_shared<RequestState>();
    state->route = req.path;
    state->arrived = arrived;
    state->who = std::move(who);
    state->id = RandomId(chat ? "chatcmpl" : "cmpl");
    RequestState& s = *state;
    if (draining_.load()) {
      ApiError e;
      e.status = 503;
      e.type = "server_error";
      e.message = "the server is shutting down; retry on another instance";
      return Fail(r, req, s, e);
    }
    if (auto e = ParseCompletionRequest(req.body, chat, model_.n_sampleable(), &state->request)) {
      return Fail(r, req, s, *e);
    }
    CompletionRequest& c = state->request;
    if (c.model != options_.model_id) return Fail(r, req, s, ModelNotFound(c.model));
    if (!ModelAllowed(s.who)) {
      ApiError e;
      e.status = 403;
      e.type = "permission_error";
      e.param = "model";
      e.code = "model_not_allowed";
      e.message = fmt::format("this API key may not use the model '{}'", c.model);
      return Fail(r, req, s, e);
    }
    s.pii_policy = options_.content.PolicyFor(s.route);
    if (s.who.authenticated && !s.who.key.pii_policy.empty()) {
      // The key's own policy (set by an administrator) wins over the route's and the server's.
      auto policy = governance::pii::ParsePiiPolicy(s.who.key.pii_policy);
      if (!policy.ok()) {
        ApiError e;
        e.status = 500;
        e.type = "server_error";
        e.message = "this key's PII policy cannot be read; ask an administrator to check it";
        return Fail(r, req, s, e);
      }
      s.pii_policy = *policy;
    }
    s.guarded = options_.content.filter != nullptr || s.pii_policy != governance::pii::PiiPolicy::kOff;
    if (s.guarded && c.params.logprobs) {
      // Log probabilities carry the raw tokens, which the content controls could not mask.
      ApiError e;
      e.param = "logprobs";
      e.message = "logprobs are not available on this server: content controls (PII masking, word filter) apply";
      return Fail(r, req, s, e);
    }
    if (s.guarded) {
      if (auto e = GuardPrompt(s)) return Fail(r, req, s, *e);
    }
    bool opens_think = false;
    auto prompt = PromptTokens(c, &opens_think, &s.audit_prompt);
    if (!prompt.ok()) {
      ApiError e;
      e.param = chat ? "messages" : "prompt";
      e.message = prompt.status().message();
      return Fail(r, req, s, e);
    }
    const int64_t context = options_.context;
    const int64_t n_prompt = static_cast<int64_t>(prompt->size());
    if (n_prompt >= context) {
      ApiError e;
      e.param = chat ? "messages" : "prompt";
      e.code = "context_length_exceeded";
      e.message = fmt::format("This model's maximum context length is {} tokens. However, your prompt has {} tokens; "
                              "shorten it.",
                              context, prompt->size());
      return Fail(r, req, s, e);
    }
    if (prompt->empty()) {
      ApiError e;
      e.param = "prompt";
      e.message = "the prompt is empty";
      return Fail(r, req, s, e);
    }
    if (c.params.max_tokens && n_prompt + *c.params.max_tokens > context) {
      ApiError e;
      e.param = "max_tokens";
      e.code = "context_length_exceeded";
      e.message = fmt::format("This model's maximum context length is {} tokens. However, you requested {} tokens "
                              "({} in the prompt, {} for the completion); reduce max_tokens or the prompt.",
                              context, prompt->size() + *c.params.max_tokens, prompt->size(), *c.params.max_tokens);
      return Fail(r, req, s, e);
    }
    std::string retry_after = "1";
    if (auto e = Admit(s, n_prompt, &retry_after)) {
      std::vector<std::pair<std::string, std::string>> headers;
      if (e->status == 429) headers.emplace_back("Retry-After", retry_after);
      return Fail(r, req, s, *e, std::move(headers));
    }
    state->responder = r;
    state->created = static_cast<int64_t>(std::time(nullptr));
    state->remote = req.remote_address;
    state->choices.resize(c.params.n);
    for (auto& ch : state->choices) {
      if (chat) ch.splitter = std::make_unique<tokenizer::ReasoningSplitter>(opens_think);
      if (s.guarded) {
        ch.content_guard = std::make_unique<OutputGuard>(options_.content, s.pii_policy, &s.placeholders);
        ch.reasoning_guard = std::make_unique<OutputGuard>(options_.content, s.pii_policy, &s.placeholders);
      }
    }
    s.sampling = json{{"temperature", c.params.temperature},
                      {"top_p", c.params.top_p},
                      {"max_tokens", c.params.max_tokens ? json(*c.params.max_tokens) : json(nullptr)},
                      {"n", c.params.n},
                      {"seed", c.params.seed ? json(*c.params.seed) : json(nullptr)},
                      {"stream", c.stream}};
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
    job->cancelled = [r, state] { return r->cancelled() || state->stop.load(); };
    job->on_delta = [this, state](const ChoiceDelta& d) { OnDelta(*state, d); };
    HttpRequest req_copy;  // what Done needs, without the body
    req_copy.method = req.method;
    req_copy.target = req.target;
    req_copy.path = req.path;
    req_copy.remote_address = req.remote_address;
    job->on_done = [this, state, req_copy = std::move(req_copy)](const Status& st, const JobUsage& usage) {
      OnDone(*state, req_copy, st, usage);
    };
    Status submitted = UnavailableError("the server is shutting down; retry on another instance");
    {
      std::shared_lock lock(scheduler_mu_);
      if (scheduler_ != nullptr) submitted = scheduler_->Submit(job);
    }
    if (Status st = submitted; !st.ok()) {
      // Nothing was generated: the reservation is returned, not charged.
      if (s.reservation) (void)limiter_.Settle(*s.reservation, 0);
      ApiError e;
      e.message = st.message();
      if (st.code() == StatusCode::kResourceExhausted) {
        e.status = 429;
        e.type = "rate_limit_error";
        return Fail(r, req, s, e, {{"Retry-After", "1"}});
      }
      e.status = 503;
      e.type = "server_error";
      return Fail(r, req, s, e);
    }
    if (c.stream) r->StartStream();
  }

  // The key's limits: max_tokens per request, then one reservation of the worst case (prompt +
  // every choice's completion) against its rates, daily quota and concurrency.
  std::optional<ApiError> Admit(RequestState& s, int64_t n_prompt, std::string* retry_after) {
    if (!s.who.authenticated) return std::nullopt;
    const governance::keys::KeyLimits& k = s.who.key.limits;
    CompletionRequest& c = s.request;
    if (k.max_tokens > 0) {
      if (c.params.max_tokens && *c.params.max_tokens > k.max_tokens) {
        ApiError e;
        e.param = "max_tokens";
        e.code = "max_tokens_exceeded";
        e.message = fmt::format("this API key allows at most {} completion tokens per request; you asked for {}",
                                k.max_tokens, *c.params.max_tokens);
        return e;
      }
      if (!c.params.max_tokens) c.params.max_tokens = std::min<int64_t>(k.max_tokens, options_.context - n_prompt);
    }
    if (k.rpm == 0 && k.tpm == 0 && k.daily_tokens == 0 && k.max_concurrent == 0) return std::nullopt;
    const int64_t per_choice = c.params.max_tokens ? *c.params.max_tokens : options_.context - n_prompt;
    const int64_t worst = n_prompt + per_choice * c.params.n;
    governance::limits::LimitSpec spec{k.rpm, k.tpm, k.daily_tokens, k.max_concurrent};
    governance::limits::Refusal refusal;
    auto reservation = limiter_.Admit(s.who.key_id, spec, worst, &refusal);
    if (reservation.ok()) {
      s.reservation.emplace(std::move(*reservation));
      return std::nullopt;
    }
    ApiError e;
    if (reservation.status().code() != StatusCode::kResourceExhausted) {
      e.status = 500;
      e.type = "server_error";
      e.message = "cannot check this key's quota right now; try again later";
      std::fprintf(stderr, "error: quota check for key %s: %s\n", s.who.key_id.c_str(),
                   reservation.status().message().c_str());
      return e;
    }
    s.actions.push_back("limit:" + refusal.limit);
    e.message = refusal.message;
    if (refusal.never) {
      e.param = "max_tokens";
      e.code = "exceeds_key_limit";
      e.message += c.params.max_tokens ? "; lower max_tokens" : "; set a smaller max_tokens";
      return e;
    }
    e.status = 429;
    e.type = "rate_limit_error";
    e.code = refusal.limit == "daily_tokens" ? "insufficient_quota" : "rate_limit_exceeded";
    *retry_after = std::to_string(std::max<int64_t>(1, refusal.retry_after_s));
    return e;
  }

  json ChunkBase(const RequestState& s) const {
    return json{{"id", s.id},
                {"object", s.request.chat ? "chat.completion.chunk" : "text_completion"},
                {"created", s.created},
                {"model", options_.model_id},
                {"system_fingerprint", nullptr}};
  }

  // Runs one channel's text through its output chain. False: the chain failed (fail closed).
  bool GuardOutput(RequestState& s, RequestState::ChoiceState& ch, OutputGuard& guard, std::string& text, bool final) {
    auto step = final ? [&] {
      auto pushed = guard.Push(text);
      if (!pushed.ok() || pushed->blocked) return pushed;
      auto rest = guard.Finish();
      if (!rest.ok()) return rest;
      pushed->text += rest->text;
      pushed->audit_text += rest->audit_text;
      pushed->blocked = rest->blocked;
      for (auto& a : rest->actions) pushed->actions.push_back(std::move(a));
      return pushed;
    }()
                      : guard.Push(text);
    if (!step.ok()) {
      s.actions.push_back("output:error");
      return false;
    }
    for (auto& a : step->actions) s.actions.push_back("output:" + a);
    ch.audit_text += step->audit_text;
    text = std::move(step->text);
    if (step->blocked) ch.filtered = true;
    return true;
  }

  // The request's content check failed: the client gets an error and nothing unchecked.
  void FailClosed(RequestState& s) {
    s.failed = true;
    s.stop.store(true);
    ApiError e;
    e.status = 500;
    e.type = "server_error";
    e.code = "content_check_failed";
    e.message = "the output could not be checked, so it was withheld";
    if (s.request.stream) {
      s.responder->SendEvent(e.Body());
      s.responder->SendEvent("[DONE]");
      s.responder->EndStream();
    } else {
      s.responder->Send(e.status, "application/json", e.Body());
    }
  }

  // Scheduler thread.
  void OnDelta(RequestState& s, const ChoiceDelta& d) {
    if (s.failed) return;
    const auto now = Clock::now();
    if (!s.first_token_seen && !d.tokens.empty()) {
      s.first_token_seen = true;
      metrics_.time_to_first_token.Observe(Seconds(s.arrived, now));
    }
    auto& ch = s.choices[d.choice];
    if (ch.filtered) return;  // ended by the content filter; the rest is dropped
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
    const bool final = d.finish.has_value();
    if (ch.content_guard) {
      // Reasoning first: it comes first in the stream, and a block there ends the choice.
      if (!GuardOutput(s, ch, *ch.reasoning_guard, reasoning, final)) return FailClosed(s);
      if (ch.filtered) {
        content.clear();
      } else if (!GuardOutput(s, ch, *ch.content_guard, content, final)) {
        return FailClosed(s);
      }
    } else {
      ch.audit_text += reasoning + content;
    }
    std::optional<std::string> finish;
    if (d.finish) finish = runtime::FinishReasonName(*d.finish);
    if (ch.filtered) finish = "content_filter";
    if (d.finish) ch.finish = d.finish;
    if (s.guarded && (ch.filtered || d.finish)) {
      // Once every choice is filtered or finished nothing is left to generate: end the job now
      // (a filtered choice would otherwise run on to its own length).
      bool all = true;
      for (const auto& other : s.choices) all = all && (other.filtered || other.finish.has_value());
      if (all) s.stop.store(true);
    }
    if (!s.request.stream) {
      ch.content += content;
      ch.reasoning += reasoning;
      for (auto& e : lp_content) ch.logprobs.push_back(std::move(e));
      return;
    }
    if (content.empty() && reasoning.empty() && !finish && !want_logprobs && ch.role_sent) return;
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
    choice["finish_reason"] = finish ? json(*finish) : json(nullptr);
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

  void OnDone(RequestState& s, const HttpRequest& req, Status st, const JobUsage& usage) {
    metrics_.request_latency.Observe(Seconds(s.arrived, Clock::now()));
    metrics_.AddTokens(usage.prompt_tokens, usage.completion_tokens);
    if (s.reservation) {
      if (Status settled = limiter_.Settle(*s.reservation, usage.prompt_tokens + usage.completion_tokens); !settled.ok()) {
        std::fprintf(stderr, "warning: recording token usage of key %s: %s\n", s.who.key_id.c_str(),
                     settled.message().c_str());
      }
    }
    auto done = [&](int status) { Done(s.route, req, s.who, status, s.arrived, usage.prompt_tokens, usage.completion_tokens, &s); };
    if (s.failed) return done(500);
    // The job was ended because every choice was filtered: that is a normal end for the client.
    if (st.code() == StatusCode::kCancelled && s.stop.load()) st = Status::Ok();
    if (st.code() == StatusCode::kCancelled) return done(499);
    if (s.request.stream) {
      if (!st.ok()) {
        s.responder->SendEvent(ErrorFor(st).Body());
      } else if (s.request.include_usage) {
        json chunk = ChunkBase(s);
        chunk["choices"] = json::array();
        chunk["usage"] = Usage(usage);
        s.responder->SendEvent(Dump(chunk));
      }
      done(200);
      s.responder->SendEvent("[DONE]");
      s.responder->EndStream();
      return;
    }
    if (!st.ok()) {
      const ApiError e = ErrorFor(st);
      done(e.status);
      s.responder->Send(e.status, "application/json", e.Body());
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
      choice["finish_reason"] = ch.filtered ? "content_filter"
                                            : runtime::FinishReasonName(ch.finish.value_or(runtime::FinishReason::kLength));
      choices.push_back(choice);
    }
    body["choices"] = choices;
    body["usage"] = Usage(usage);
    done(200);
    s.responder->Send(200, "application/json", Dump(body));
  }

 private:
  const Model& model_;
  ApiServerOptions options_;
  AccessControl access_;
  std::unique_ptr<KeyStoreUsage> usage_;
  governance::limits::KeyLimiter limiter_;
  Metrics metrics_;
  // Requests submit and /metrics reads through this pointer while Shutdown may end the scheduler:
  // the lock keeps it alive for them.
  mutable std::shared_mutex scheduler_mu_;
  Scheduler* scheduler_ = nullptr;
  std::atomic<bool> ready_{false}, draining_{false}, audit_failed_{false};
  int64_t created_ = static_cast<int64_t>(std::time(nullptr));
  std::FILE* log_ = nullptr;
  std::mutex log_mu_;
  std::unique_ptr<AuditSink> audit_sink_;  // near last: its thread may call back into audit_failed_
  // Last, so destroyed first: its tasks submit audit records.
  std::unique_ptr<TaskThread> admin_thread_ = std::make_unique<TaskThread>();
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
  handlers_->SetScheduler(nullptr);  // waits for a /metrics read or a Submit in progress
  scheduler_.reset();  // ends anything left with 503 / an error event
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  http_->Stop();
  handlers_->FlushAudit();  // every record written before the caller closes the log
  return finished;
}

ApiServer::~ApiServer() {
  if (http_) http_->Stop();
  scheduler_.reset();
}

}  // namespace enclave::server
