#include "governance/pii/stream_masker.h"

#include <utility>

#include <fmt/format.h>

namespace enclave::governance::pii {

StreamMasker::StreamMasker(const PiiDetector& detector, PiiPolicy policy, PlaceholderTable* table)
    : detector_(detector), policy_(policy), table_(table) {}

Result<std::string> StreamMasker::Push(std::string_view chunk) {
  if (!error_.ok()) return error_;
  if (finished_) return InternalError("StreamMasker::Push after Finish");
  if (policy_ == PiiPolicy::kOff) return std::string(chunk);
  pending_.append(chunk);
  return Step(/*final=*/false);
}

Result<std::string> StreamMasker::Finish() {
  if (!error_.ok()) return error_;
  if (finished_) return std::string();
  finished_ = true;
  if (policy_ == PiiPolicy::kOff) return std::string();
  return Step(/*final=*/true);
}

Result<std::string> StreamMasker::Step(bool final) {
  // Rescan the held-back bytes behind a little released context: the context supplies the left
  // boundary, and the detector reports only what starts after it.
  const std::string text = context_ + pending_;
  const size_t from = context_.size();
  auto scan = detector_.ScanFrom(text, from, final);
  if (!scan.ok()) {
    error_ = scan.status();
    pending_.clear();
    return error_;
  }
  std::vector<Finding> local = std::move(scan->findings);
  for (Finding& f : local) {
    f.start -= from;
    f.end -= from;
  }
  const size_t release = scan->safe_end - from;
  auto out = ApplyPolicy(std::string_view(pending_).substr(0, release), local, detector_, policy_, table_,
                         released_);
  if (!out.ok()) {
    error_ = out.status();
    pending_.clear();
    return error_;
  }
  for (Finding f : local) {
    f.start += released_;
    f.end += released_;
    findings_.push_back(f);
  }
  released_ += release;
  const std::string_view done = std::string_view(text).substr(0, from + release);
  context_ = std::string(done.substr(done.size() > kContextBytes ? done.size() - kContextBytes : 0));
  pending_.erase(0, release);
  if (pending_.size() > detector_.config().max_holdback_bytes) {
    error_ = ResourceExhaustedError(fmt::format(
        "PII masking would have to hold back more than {} bytes of the stream (a custom detector's match "
        "stays undecided); the stream is stopped rather than released unchecked",
        detector_.config().max_holdback_bytes));
    pending_.clear();
    return error_;
  }
  return std::move(out).value();
}

}  // namespace enclave::governance::pii
