// libFuzzer target: the chat-template parser and interpreter on arbitrary template text, rendered
// with a small conversation under tight limits. Must never crash, hang or exceed the limits.
#include <cstdint>
#include <string_view>

#include "chat/jinja.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace enclave::chat;
  auto t = Template::Parse(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!t.ok()) return 0;
  static const Value ctx = [] {
    Value c = Value::MakeDict();
    c.Set("messages", Value::FromJson(nlohmann::ordered_json::parse(
                          R"([{"role": "system", "content": "s"}, {"role": "user", "content": "u"},
                              {"role": "assistant", "content": "<think>r</think>a"}])")));
    c.Set("add_generation_prompt", Value::Bool(true));
    c.Set("bos_token", Value::Str("<s>"));
    return c;
  }();
  RenderLimits limits;
  limits.max_output_bytes = 1 << 16;
  limits.max_loop_iterations = 10000;
  (void)(*t)->Render(ctx, limits);
  return 0;
}
