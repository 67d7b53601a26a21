// A Jinja2 interpreter for the subset chat templates use, with Hugging Face apply_chat_template
// semantics (trim_blocks, lstrip_blocks, loop controls, a JSON `tojson`, `raise_exception`).
//
// Templates arrive inside untrusted model files: the interpreter exposes no host objects (only the
// values passed in and a fixed set of filters, tests and methods), and bounds nesting depth, loop
// iterations and output size. An unsupported construct is an error naming it and its line.
// Template objects are immutable after parsing; Render is thread-safe.
#pragma once

#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "chat/jinja_value.h"

namespace enclave::chat {

struct RenderLimits {
  size_t max_output_bytes = 16u << 20;
  uint64_t max_loop_iterations = 1'000'000;
  int max_depth = 64;  // nesting of expressions and statements during evaluation
};

struct Node;

class Template {
 public:
  static Result<std::unique_ptr<Template>> Parse(std::string_view source);
  ~Template();

  // `context` is a dict of top-level variables. `now` is the clock of strftime_now(); unset, the
  // local time at the call (what transformers does).
  Result<std::string> Render(const Value& context, const RenderLimits& limits = {},
                             std::optional<std::tm> now = std::nullopt) const;

 private:
  Template() = default;
  std::unique_ptr<Node> root_;
};

}  // namespace enclave::chat
