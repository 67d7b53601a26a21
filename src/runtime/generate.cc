#include "runtime/generate.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

namespace enclave {

std::vector<int32_t> EndOfGenerationTokens(const tokenizer::Tokenizer& tokenizer) {
  std::vector<int32_t> ids;
  if (tokenizer.eos()) ids.push_back(*tokenizer.eos());
  for (const char* text : {"<|im_end|>", "<|eot_id|>", "<|EOT|>", "<｜end▁of▁sentence｜>", "<|end_of_text|>",
                           "<|endoftext|>"}) {
    auto id = tokenizer.Find(text);
    if (id && tokenizer.IsSpecial(*id) && std::find(ids.begin(), ids.end(), *id) == ids.end()) ids.push_back(*id);
  }
  return ids;
}

Result<GenerateResult> Generate(Engine& engine, const GenerateRequest& r, runtime::Sampler& sampler,
                                runtime::StopCriteria& stop, const tokenizer::Tokenizer& tokenizer,
                                const std::function<bool(std::string_view)>& on_text) {
  using Clock = std::chrono::steady_clock;
  if (r.prompt.empty()) return InvalidArgumentError("nothing to generate from: the prompt is empty");
  if (engine.kv().Length(r.seq) != r.start) {
    return InvalidArgumentError(fmt::format("sequence {} holds {} tokens, not {}", r.seq, engine.kv().Length(r.seq),
                                            r.start));
  }
  const int64_t end = r.start + static_cast<int64_t>(r.prompt.size());
  if (end >= engine.context()) {
    return InvalidArgumentError(fmt::format("the prompt needs {} tokens but the context holds {} (raise -c)", end,
                                            engine.context()));
  }
  GenerateResult out;
  out.prompt_tokens = static_cast<int64_t>(r.prompt.size());
  const auto t0 = Clock::now();
  Batch batch;
  std::span<const float> logits;
  for (int64_t begin = 0; begin < out.prompt_tokens; begin += r.max_batch) {
    const int64_t stop_at = std::min(out.prompt_tokens, begin + r.max_batch);
    batch.Clear();
    for (int64_t i = begin; i < stop_at; ++i) {
      batch.Add(r.prompt[i], static_cast<int32_t>(r.start + i), r.seq, i == out.prompt_tokens - 1);
    }
    ASSIGN_OR_RETURN(logits, engine.Forward(batch));
  }
  const auto t1 = Clock::now();
  out.prefill_seconds = std::chrono::duration<double>(t1 - t0).count();

  tokenizer::StreamDecoder decoder(tokenizer, /*skip_special=*/true);
  int64_t pos = end;
  while (true) {
    ASSIGN_OR_RETURN(runtime::SampledToken tok, sampler.Sample(logits.first(engine.model().n_sampleable())));
    sampler.Accept(tok.id);
    out.tokens.push_back(tok.id);
    ASSIGN_OR_RETURN(std::string piece, decoder.Push(tok.id));
    runtime::StopCriteria::Step step = stop.OnToken(tok.id, piece);
    if (!step.emit.empty() && !on_text(step.emit)) {
      out.finish = runtime::FinishReason::kStop;
      break;
    }
    if (step.finish) {
      out.finish = *step.finish;
      break;
    }
    if (pos + 1 >= engine.context()) {  // the next token would not fit
      runtime::StopCriteria::Step last = stop.EndOfContext();
      if (!last.emit.empty()) on_text(last.emit);
      out.finish = runtime::FinishReason::kLength;
      break;
    }
    batch.Clear();
    batch.Add(tok.id, static_cast<int32_t>(pos), r.seq, true);
    ASSIGN_OR_RETURN(logits, engine.Forward(batch));
    ++pos;
  }
  out.decode_seconds = std::chrono::duration<double>(Clock::now() - t1).count();
  return out;
}

}  // namespace enclave
