#include "runtime/stop_matcher.h"

#include <algorithm>

namespace enclave::runtime {
namespace {

// The largest cut <= `cut` such that s[0, cut) does not end inside a UTF-8 sequence whose
// remaining bytes could still arrive. Bytes that cannot form a valid sequence are not held.
size_t Utf8SafeCut(std::string_view s, size_t cut) {
  for (size_t back = 1; back <= 3 && back <= cut; ++back) {
    const auto b = static_cast<unsigned char>(s[cut - back]);
    if ((b & 0xC0) == 0x80) continue;  // continuation byte: look further back for the lead
    if (b < 0xC0) return cut;          // ASCII
    const size_t len = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
    return back < len ? cut - back : cut;
  }
  return cut;
}

}  // namespace

const char* FinishReasonName(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop:
      return "stop";
    case FinishReason::kLength:
      return "length";
  }
  return "unknown";
}

StopMatcher::StopMatcher(std::vector<std::string> stop_strings) : stops_(std::move(stop_strings)) {
  // Empty strings would match everywhere; Validate rejects them, and here they are simply ignored.
  std::erase_if(stops_, [](const std::string& s) { return s.empty(); });
}

StopMatcher::Output StopMatcher::Feed(std::string_view piece) {
  Output out;
  out.stopped = stopped_;
  if (stopped_) return out;
  held_.append(piece);

  // held_ never contains a whole stop string before this append (it would have matched), so a
  // match found now ends inside `piece`.
  size_t first = std::string::npos;
  for (const std::string& s : stops_) first = std::min(first, held_.find(s));
  if (first != std::string::npos) {
    out.emit = held_.substr(0, first);
    out.stopped = stopped_ = true;
    held_.clear();
    return out;
  }

  // Hold the longest suffix that a later piece could complete into a stop string.
  size_t hold = 0;
  const std::string_view h = held_;
  for (const std::string& s : stops_) {
    for (size_t len = std::min(s.size() - 1, h.size()); len > hold; --len) {
      if (h.ends_with(std::string_view(s).substr(0, len))) {
        hold = len;
        break;
      }
    }
  }
  const size_t cut = Utf8SafeCut(h, h.size() - hold);
  out.emit = held_.substr(0, cut);
  held_.erase(0, cut);
  return out;
}

std::string StopMatcher::Flush() {
  std::string rest;
  rest.swap(held_);
  return rest;
}

StopCriteria::StopCriteria(const SamplingParams& params,
                           std::span<const int32_t> end_of_generation_tokens)
    : matcher_(params.stop), stop_tokens_(params.stop_token_ids), max_tokens_(params.max_tokens) {
  stop_tokens_.insert(stop_tokens_.end(), end_of_generation_tokens.begin(),
                      end_of_generation_tokens.end());
}

StopCriteria::Step StopCriteria::OnToken(int32_t token, std::string_view piece) {
  Step step;
  if (finished_) return step;
  ++n_generated_;
  if (std::find(stop_tokens_.begin(), stop_tokens_.end(), token) != stop_tokens_.end()) {
    step.emit = matcher_.Flush();  // held text can no longer become a stop string
    step.finish = FinishReason::kStop;
  } else {
    StopMatcher::Output o = matcher_.Feed(piece);
    step.emit = std::move(o.emit);
    if (o.stopped) {
      step.finish = FinishReason::kStop;
    } else if (max_tokens_ && n_generated_ >= *max_tokens_) {
      step.emit += matcher_.Flush();
      step.finish = FinishReason::kLength;
    }
  }
  finished_ = step.finish.has_value();
  return step;
}

StopCriteria::Step StopCriteria::EndOfContext() {
  Step step;
  if (finished_) return step;
  step.emit = matcher_.Flush();
  step.finish = FinishReason::kLength;
  finished_ = true;
  return step;
}

}  // namespace enclave::runtime
