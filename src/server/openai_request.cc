#include "server/openai_request.h"

#include <cmath>

#include <fmt/format.h>

#include "format/json_limits.h"

namespace enclave::server {

using json = nlohmann::ordered_json;

std::string ApiError::Body() const {
  json e;
  e["message"] = message;
  e["type"] = type;
  e["param"] = param.empty() ? json(nullptr) : json(param);
  e["code"] = code.empty() ? json(nullptr) : json(code);
  return json{{"error", e}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

namespace {

ApiError Bad(std::string param, std::string message) {
  ApiError e;
  e.param = std::move(param);
  e.message = std::move(message);
  return e;
}

const char* TypeName(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::string: return "a string";
    case json::value_t::array: return "an array";
    case json::value_t::object: return "an object";
    default: return "a number";
  }
}

// Field readers: absent or null leaves the target unchanged; a wrong type is an error naming it.
std::optional<ApiError> ReadNumber(const json& body, const char* key, float* out) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) return Bad(key, fmt::format("'{}' must be a number, got {}", key, TypeName(*it)));
  const double v = it->get<double>();
  if (!std::isfinite(v)) return Bad(key, fmt::format("'{}' must be finite", key));
  *out = static_cast<float>(v);
  return std::nullopt;
}

template <typename Int>
std::optional<ApiError> ReadInt(const json& body, const char* key, Int* out) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer()) return Bad(key, fmt::format("'{}' must be an integer, got {}", key, TypeName(*it)));
  if (it->is_number_unsigned() ? it->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<Int>::max())
                               : (it->get<int64_t>() < static_cast<int64_t>(std::numeric_limits<Int>::min()) ||
                                  it->get<int64_t>() > static_cast<int64_t>(std::numeric_limits<Int>::max()))) {
    return Bad(key, fmt::format("'{}' is out of range", key));
  }
  *out = it->is_number_unsigned() ? static_cast<Int>(it->get<uint64_t>()) : static_cast<Int>(it->get<int64_t>());
  return std::nullopt;
}

std::optional<ApiError> ReadBool(const json& body, const char* key, bool* out) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) return Bad(key, fmt::format("'{}' must be a boolean, got {}", key, TypeName(*it)));
  *out = it->get<bool>();
  return std::nullopt;
}

std::optional<ApiError> ReadString(const json& body, const char* key, std::string* out) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) return Bad(key, fmt::format("'{}' must be a string, got {}", key, TypeName(*it)));
  *out = it->get<std::string>();
  return std::nullopt;
}

#define RETURN_IF_API_ERROR(expr)          \
  do {                                     \
    if (auto _e = (expr)) return *_e;      \
  } while (0)

// Chat message content: a string, or an array of {"type": "text", "text": ...} parts (joined).
std::optional<ApiError> NormaliseMessages(const json& in, json* out) {
  if (!in.is_array()) return Bad("messages", fmt::format("'messages' must be an array, got {}", TypeName(in)));
  if (in.empty()) return Bad("messages", "'messages' must contain at least one message");
  *out = json::array();
  for (size_t i = 0; i < in.size(); ++i) {
    const json& m = in[i];
    const std::string where = fmt::format("messages[{}]", i);
    if (!m.is_object()) return Bad(where, fmt::format("'{}' must be an object, got {}", where, TypeName(m)));
    auto role = m.find("role");
    if (role == m.end() || !role->is_string()) return Bad(where + ".role", fmt::format("'{}.role' must be a string", where));
    const std::string r = role->get<std::string>();
    if (r != "system" && r != "user" && r != "assistant" && r != "developer" && r != "tool") {
      return Bad(where + ".role", fmt::format("'{}.role' is '{}'; use system, developer, user, assistant or tool", where, r));
    }
    // Only the fields below reach the chat template (and the content controls, which check every
    // one of them): anything else a client sends (audio, refusal, annotations ...) is dropped, and
    // tool calls, which the server does not support, are refused.
    json msg = json::object();
    msg["role"] = r == "developer" ? "system" : r;
    for (const char* field : {"tool_calls", "function_call"}) {
      if (m.contains(field) && !m[field].is_null()) {
        return Bad(where + "." + field, fmt::format("'{}.{}': tool calling is not supported yet", where, field));
      }
    }
    for (const char* field : {"reasoning_content", "name", "tool_call_id"}) {
      auto f = m.find(field);
      if (f == m.end() || f->is_null()) continue;
      if (!f->is_string()) return Bad(where + "." + field, fmt::format("'{}.{}' must be a string", where, field));
      msg[field] = *f;
    }
    auto content = m.find("content");
    if (content == m.end() || content->is_null()) {
      if (r != "assistant") return Bad(where + ".content", fmt::format("'{}.content' is required", where));
      msg["content"] = "";
    } else if (content->is_array()) {
      std::string text;
      for (const json& part : *content) {
        if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") || !part["text"].is_string()) {
          return Bad(where + ".content", fmt::format("'{}.content' parts must be {{\"type\": \"text\", \"text\": ...}}; "
                                                     "images and audio are not supported",
                                                     where));
        }
        text += part["text"].get<std::string>();
      }
      msg["content"] = text;
    } else if (!content->is_string()) {
      return Bad(where + ".content", fmt::format("'{}.content' must be a string or an array of text parts", where));
    } else {
      msg["content"] = *content;
    }
    out->push_back(std::move(msg));
  }
  return std::nullopt;
}

}  // namespace

std::optional<ApiError> ParseCompletionRequest(const std::string& body_text, bool chat, int32_t n_vocab,
                                               CompletionRequest* out) {
  out->chat = chat;
  // Depth and duplicate keys first (untrusted input), then the order-preserving parse the chat
  // template sees.
  if (auto checked = ParseJsonLimited(body_text, "request body"); !checked.ok()) {
    return Bad("", checked.status().message());
  }
  json body = json::parse(body_text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return Bad("", "the request body is not valid JSON");
  if (!body.is_object()) return Bad("", "the request body must be a JSON object");

  auto model = body.find("model");
  if (model == body.end() || !model->is_string()) return Bad("model", "'model' is required and must be a string");
  out->model = model->get<std::string>();

  if (chat) {
    auto messages = body.find("messages");
    if (messages == body.end()) return Bad("messages", "'messages' is required");
    RETURN_IF_API_ERROR(NormaliseMessages(*messages, &out->messages));
  } else {
    auto prompt = body.find("prompt");
    if (prompt == body.end() || prompt->is_null()) return Bad("prompt", "'prompt' is required");
    if (prompt->is_string()) {
      out->prompt_text = prompt->get<std::string>();
    } else if (prompt->is_array() && prompt->size() == 1 && (*prompt)[0].is_string()) {
      out->prompt_text = (*prompt)[0].get<std::string>();
    } else if (prompt->is_array() && !prompt->empty() && (*prompt)[0].is_number_integer()) {
      for (const json& t : *prompt) {
        if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() >= n_vocab) {
          return Bad("prompt", fmt::format("'prompt' token ids must be integers in [0, {})", n_vocab));
        }
        out->prompt_tokens.push_back(static_cast<int32_t>(t.get<int64_t>()));
      }
    } else {
      return Bad("prompt", "'prompt' must be a string, an array of one string, or an array of token ids "
                           "(several prompts in one request are not supported; send one request each)");
    }
    for (const char* unsupported : {"suffix", "best_of"}) {
      if (body.contains(unsupported) && !body[unsupported].is_null() &&
          !(std::string(unsupported) == "best_of" && body[unsupported] == 1)) {
        return Bad(unsupported, fmt::format("'{}' is not supported", unsupported));
      }
    }
    if (body.contains("echo") && body["echo"] == true) return Bad("echo", "'echo' is not supported");
  }

  runtime::SamplingParams& p = out->params;
  RETURN_IF_API_ERROR(ReadNumber(body, "temperature", &p.temperature));
  RETURN_IF_API_ERROR(ReadNumber(body, "top_p", &p.top_p));
  RETURN_IF_API_ERROR(ReadInt(body, "top_k", &p.top_k));
  RETURN_IF_API_ERROR(ReadNumber(body, "min_p", &p.min_p));
  RETURN_IF_API_ERROR(ReadNumber(body, "presence_penalty", &p.presence_penalty));
  RETURN_IF_API_ERROR(ReadNumber(body, "frequency_penalty", &p.frequency_penalty));
  RETURN_IF_API_ERROR(ReadNumber(body, "repetition_penalty", &p.repetition_penalty));
  RETURN_IF_API_ERROR(ReadInt(body, "n", &p.n));
  int32_t max_tokens = 0;
  const char* max_key = body.contains("max_completion_tokens") && !body["max_completion_tokens"].is_null()
                            ? "max_completion_tokens" : "max_tokens";
  RETURN_IF_API_ERROR(ReadInt(body, max_key, &max_tokens));
  if (body.contains(max_key) && !body[max_key].is_null()) {
    if (max_tokens < 1) return Bad(max_key, fmt::format("'{}' must be at least 1, got {}", max_key, max_tokens));
    p.max_tokens = max_tokens;
  }
  if (auto it = body.find("seed"); it != body.end() && !it->is_null()) {
    if (!it->is_number_integer()) return Bad("seed", fmt::format("'seed' must be an integer, got {}", TypeName(*it)));
    p.seed = it->is_number_unsigned() ? it->get<uint64_t>() : static_cast<uint64_t>(it->get<int64_t>());
  }
  if (auto it = body.find("stop"); it != body.end() && !it->is_null()) {
    if (it->is_string()) {
      p.stop.push_back(it->get<std::string>());
    } else if (it->is_array()) {
      for (const json& s : *it) {
        if (!s.is_string()) return Bad("stop", "'stop' must be a string or an array of strings");
        p.stop.push_back(s.get<std::string>());
      }
    } else {
      return Bad("stop", fmt::format("'stop' must be a string or an array of strings, got {}", TypeName(*it)));
    }
  }
  if (chat) {
    RETURN_IF_API_ERROR(ReadBool(body, "logprobs", &p.logprobs));
    RETURN_IF_API_ERROR(ReadInt(body, "top_logprobs", &p.top_logprobs));
    if (p.top_logprobs > 0 && !p.logprobs) return Bad("top_logprobs", "'top_logprobs' needs 'logprobs': true");
  } else if (auto it = body.find("logprobs"); it != body.end() && !it->is_null()) {
    // Completions: logprobs is the number of alternatives (0-5 in OpenAI's API, 20 here).
    int32_t k = 0;
    RETURN_IF_API_ERROR(ReadInt(body, "logprobs", &k));
    p.logprobs = true;
    p.top_logprobs = k;
  }
  if (auto it = body.find("logit_bias"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) return Bad("logit_bias", "'logit_bias' must be an object of token id -> bias");
    for (const auto& [key, value] : it->items()) {
      char* end = nullptr;
      const long id = std::strtol(key.c_str(), &end, 10);
      if (key.empty() || *end != '\0' || id < 0 || id >= n_vocab) {
        return Bad("logit_bias", fmt::format("'logit_bias' key '{}' is not a token id in [0, {})", key, n_vocab));
      }
      if (!value.is_number()) return Bad("logit_bias", fmt::format("'logit_bias' value for {} must be a number", key));
      p.logit_bias.push_back({static_cast<int32_t>(id), value.get<float>()});
    }
  }
  RETURN_IF_API_ERROR(ReadBool(body, "stream", &out->stream));
  if (auto it = body.find("stream_options"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) return Bad("stream_options", "'stream_options' must be an object");
    if (!out->stream) return Bad("stream_options", "'stream_options' is only allowed with 'stream': true");
    RETURN_IF_API_ERROR(ReadBool(*it, "include_usage", &out->include_usage));
  }
  RETURN_IF_API_ERROR(ReadString(body, "user", &out->user));
  if (auto it = body.find("response_format"); it != body.end() && !it->is_null()) {
    if (!it->is_object() || !it->contains("type") || !(*it)["type"].is_string()) {
      return Bad("response_format", "'response_format' must be an object with a 'type'");
    }
    const std::string type = (*it)["type"].get<std::string>();
    if (type == "json_object") {
      out->json_object = true;
    } else if (type == "json_schema") {
      return Bad("response_format", "response_format type 'json_schema' is not supported; use 'json_object' "
                                    "(any JSON object) and describe the schema in the prompt");
    } else if (type != "text") {
      return Bad("response_format", fmt::format("response_format type '{}' is unknown; use 'text' or 'json_object'", type));
    }
  }
  RETURN_IF_API_ERROR(ReadBool(body, "ignore_eos", &p.ignore_eos));
  if (auto it = body.find("timeout"); it != body.end() && !it->is_null()) {
    float seconds = 0;
    RETURN_IF_API_ERROR(ReadNumber(body, "timeout", &seconds));
    if (!(seconds > 0) || seconds > 86400) {
      return Bad("timeout", fmt::format("'timeout' must be a number of seconds in (0, 86400], got {}", seconds));
    }
    out->timeout_s = seconds;
  }
  if (chat) {
    for (const char* key : {"tools", "functions"}) {
      if (body.contains(key) && !body[key].is_null() && !(body[key].is_array() && body[key].empty())) {
        return Bad(key, fmt::format("'{}' (tool calling) is not supported yet", key));
      }
    }
    if (auto it = body.find("chat_template_kwargs"); it != body.end() && it->is_object()) {
      for (const char* key : {"enable_thinking", "thinking"}) {
        if (it->contains(key) && (*it)[key].is_boolean()) out->enable_thinking = (*it)[key].get<bool>();
      }
    }
  }
  if (Status st = p.Validate(n_vocab); !st.ok()) {
    const std::string& m = st.message();
    return Bad(m.substr(0, m.find(' ')), m);
  }
  return std::nullopt;
}

}  // namespace enclave::server
