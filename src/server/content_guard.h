// The content controls of one request (docs/security.md, "Content"): personal data (PII) masking
// and the sensitive-word filter, on the prompt before the model and on the output before the
// client.
//
//   prompt:  PII policy (mask / placeholder / block), then the word filter (block refuses the
//            request, mask stars the term, flag only records it)
//   output:  per choice and per channel (content, reasoning): a PII StreamMasker (mask; block
//            ends the choice), a FilterStream, then placeholders restored (placeholder policy)
//
// Streaming-safe: values and terms split across chunks are still caught (each stage holds back a
// small tail). Fail closed: after any error nothing more is released and the caller ends the
// request with an error.
//
// ContentRules is shared and immutable; OutputGuard is per stream, not thread-safe.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "governance/pii/detectors.h"
#include "governance/pii/masker.h"
#include "governance/pii/placeholders.h"
#include "governance/pii/stream_masker.h"
#include "governance/wordfilter/filter_stream.h"
#include "governance/wordfilter/word_filter.h"

namespace enclave::server {

struct ContentRules {
  const governance::pii::PiiDetector* detector = nullptr;  // needed unless every policy is off
  governance::pii::PiiPolicy policy = governance::pii::PiiPolicy::kOff;
  std::map<std::string, governance::pii::PiiPolicy> route_policies;  // by route path
  const wordfilter::WordFilter* filter = nullptr;  // null: no filter

  governance::pii::PiiPolicy PolicyFor(std::string_view route) const;
  // Any control applies to this route (then logprobs, which would show raw tokens, are refused).
  bool Active(std::string_view route) const;
};

// Parses "ROUTE=POLICY,..." (pii.route_policies).
Result<std::map<std::string, governance::pii::PiiPolicy>> ParseRoutePolicies(std::string_view text);

// What the prompt side decided.
struct InputVerdict {
  std::string text;                  // what the model gets
  std::vector<std::string> actions;  // "pii:mask:EMAIL", "filter:flag:politics", ...
};

// Checks one prompt text (a chat message's content, a completion prompt). Refusals are
// InvalidArgument errors whose message names the types or categories found, never the values:
// the caller answers 400 with code "content_filter" (filter) or "pii_blocked" (PII).
// *refusal_code receives that code.
Result<InputVerdict> GuardInput(const ContentRules& rules, governance::pii::PiiPolicy policy, std::string_view text,
                                governance::pii::PlaceholderTable* table, std::string* refusal_code);

// One output stream's chain.
class OutputGuard {
 public:
  // `table` is the request's (placeholder policy) and must outlive the guard; may be null otherwise.
  OutputGuard(const ContentRules& rules, governance::pii::PiiPolicy policy, governance::pii::PlaceholderTable* table);

  struct Step {
    std::string text;        // for the client
    std::string audit_text;  // the same before placeholders are restored (never holds the caller's values)
    bool blocked = false;    // a block rule fired: the stream ends here (finish_reason content_filter)
    std::vector<std::string> actions;
  };
  // An error means fail closed: nothing more may be released.
  Result<Step> Push(std::string_view chunk);
  Result<Step> Finish();
  bool ended() const { return ended_; }

 private:
  Result<Step> Run(std::string_view chunk, bool final);
  // Model output may hold bytes that are not UTF-8 (a byte-level token sampled out of place):
  // they become U+FFFD, as the client would see them anyway, so that the controls can read the
  // rest. An incomplete character at the end waits for the next chunk.
  std::string Sanitize(std::string_view chunk, bool final);

  const ContentRules& rules_;
  governance::pii::PiiPolicy policy_;
  std::optional<governance::pii::StreamMasker> masker_;
  std::optional<wordfilter::FilterStream> filter_;
  std::optional<governance::pii::PlaceholderRestorer> restorer_;
  std::string utf8_tail_;  // an incomplete character held for the next chunk
  size_t findings_reported_ = 0;
  bool ended_ = false;
};

}  // namespace enclave::server
