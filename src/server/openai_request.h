// OpenAI request bodies (POST /v1/chat/completions, /v1/completions) parsed and validated into what
// the scheduler runs. Every problem is an ApiError with OpenAI's fields: the HTTP status, a message
// a user can act on, the error type and the offending parameter.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/sampling_params.h"

namespace enclave::server {

struct ApiError {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::string param;  // "" = null
  std::string code;   // "" = null

  // {"error": {"message", "type", "param", "code"}}
  std::string Body() const;
};

struct CompletionRequest {
  bool chat = false;
  std::string model;
  nlohmann::ordered_json messages;     // chat: the messages, content normalised to strings
  std::string prompt_text;             // completions: the prompt as text...
  std::vector<int32_t> prompt_tokens;  // ...or as token ids
  runtime::SamplingParams params;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  std::string user;
  // Chat: false when the request turned the model's thinking off (chat_template_kwargs
  // {"enable_thinking": false} or {"thinking": false}); passed to the template.
  std::optional<bool> enable_thinking;
  // response_format {"type": "json_object"}: the output is one JSON object.
  bool json_object = false;
  // `timeout` (seconds, an extension): this request's time limit, capped by the server's.
  std::optional<double> timeout_s;
};

// Parses and validates a request body. `n_vocab` bounds token ids (prompt tokens, logit_bias).
// The model name is not checked here (the caller answers 404 for an unknown model).
std::optional<ApiError> ParseCompletionRequest(const std::string& body, bool chat, int32_t n_vocab,
                                               CompletionRequest* out);

}  // namespace enclave::server
