// libFuzzer target: OpenAI request bodies (server/openai_request.h) as chat and as completion
// requests. Any input must give either a parsed request whose sampling parameters validate, or an
// ApiError with a 4xx status and a message; never a crash, hang or unbounded allocation.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "server/openai_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  for (bool chat : {true, false}) {
    enclave::server::CompletionRequest req;
    const auto error = enclave::server::ParseCompletionRequest(body, chat, 512, &req);
    if (error) {
      if (error->status < 400 || error->status >= 500 || error->message.empty()) std::abort();
      (void)error->Body();
    } else if (!req.params.Validate(512).ok()) {
      std::abort();
    }
  }
  return 0;
}
