#define PCRE2_CODE_UNIT_WIDTH 8
#include "governance/pii/regex_detector.h"

#include <pcre2.h>

#include <algorithm>

#include <fmt/format.h>

#include "governance/pii/pii_types.h"

namespace enclave::governance::pii {
namespace {

// Backtracking bounds: a pathological pattern ends the scan with an error (fail closed) instead of
// stalling a request.
constexpr uint32_t kMatchLimit = 1'000'000;
constexpr uint32_t kDepthLimit = 10'000;
// Lookbehind is served from the bytes kept before a stream's release point (StreamMasker keeps 64).
constexpr uint32_t kMaxLookbehind = 32;

std::string Pcre2Message(int code) {
  PCRE2_UCHAR msg[256];
  pcre2_get_error_message(code, msg, sizeof msg);
  return reinterpret_cast<const char*>(msg);
}

bool IsValidName(std::string_view name) {
  if (name.empty() || name.size() > 32) return false;
  const char c0 = name[0];
  if (!((c0 >= 'a' && c0 <= 'z') || (c0 >= 'A' && c0 <= 'Z'))) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

}  // namespace

struct RegexDetector::Impl {
  pcre2_code* code = nullptr;
  pcre2_match_context* context = nullptr;
  ~Impl() {
    pcre2_match_context_free(context);
    pcre2_code_free(code);
  }
};

Result<RegexDetectorSpec> ParseRegexSpec(std::string_view flag) {
  const size_t eq = flag.find('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 == flag.size()) {
    return InvalidArgumentError(
        fmt::format("--regex '{}': expected NAME=PATTERN, e.g. EMPLOYEE_ID=EMP-[0-9]{{6}}", flag));
  }
  return RegexDetectorSpec{std::string(flag.substr(0, eq)), std::string(flag.substr(eq + 1))};
}

RegexDetector::~RegexDetector() = default;

Result<std::unique_ptr<RegexDetector>> RegexDetector::Compile(const RegexDetectorSpec& spec) {
  if (!IsValidName(spec.name)) {
    return InvalidArgumentError(fmt::format(
        "regex detector name '{}': use 1-32 letters, digits or '_', starting with a letter", spec.name));
  }
  std::unique_ptr<RegexDetector> d(new RegexDetector());
  for (char c : spec.name) d->name_ += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  if (BuiltinTypeFromName(d->name_) || d->name_ == "CUSTOM") {
    return InvalidArgumentError(
        fmt::format("regex detector name '{}' is a built-in type name; choose another", spec.name));
  }
  d->impl_ = std::make_unique<Impl>();
  int err = 0;
  PCRE2_SIZE offset = 0;
  // MATCH_INVALID_UTF: model output and prompts may hold invalid UTF-8; it then never matches
  // instead of making the match call fail.
  d->impl_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(spec.pattern.data()), spec.pattern.size(),
                                 PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &err, &offset, nullptr);
  if (d->impl_->code == nullptr) {
    return InvalidArgumentError(fmt::format("regex detector '{}': pattern does not compile at byte {}: {}",
                                            spec.name, offset, Pcre2Message(err)));
  }
  uint32_t lookbehind = 0;
  if (pcre2_pattern_info(d->impl_->code, PCRE2_INFO_MAXLOOKBEHIND, &lookbehind) == 0 &&
      lookbehind > kMaxLookbehind) {
    return InvalidArgumentError(fmt::format("regex detector '{}': lookbehind of {} characters; at most {} supported",
                                            spec.name, lookbehind, kMaxLookbehind));
  }
  // JIT is an optimisation: the interpreter gives the same matches when it is unavailable.
  pcre2_jit_compile(d->impl_->code, PCRE2_JIT_COMPLETE | PCRE2_JIT_PARTIAL_HARD);
  d->impl_->context = pcre2_match_context_create(nullptr);
  if (d->impl_->context == nullptr) return InternalError("out of memory creating a PCRE2 match context");
  pcre2_set_match_limit(d->impl_->context, kMatchLimit);
  pcre2_set_depth_limit(d->impl_->context, kDepthLimit);
  return d;
}

Status RegexDetector::FindAll(std::string_view text, size_t from, size_t stop, bool final,
                              std::vector<Match>* out, size_t* open_start) const {
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(impl_->code, nullptr);
  if (md == nullptr) return InternalError("out of memory creating PCRE2 match data");
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  // NOTEMPTY: an empty match would mask nothing and would make the search order depend on where
  // a stream was cut. NOTBOL when the text continues a stream, so ^ means the true start only.
  uint32_t options = PCRE2_NOTEMPTY | (final ? 0 : PCRE2_PARTIAL_HARD) | (from > 0 ? PCRE2_NOTBOL : 0);
  Status status;
  size_t pos = from;
  while (pos < text.size() && pos < stop) {
    const int rc = pcre2_match(impl_->code, subject, text.size(), pos, options, md, impl_->context);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    if (rc == PCRE2_ERROR_PARTIAL) {
      *open_start = std::min<size_t>(*open_start, ov[0]);
      break;
    }
    if (rc < 0) {
      status = InternalError(fmt::format("regex detector '{}': matching failed: {}", name_, Pcre2Message(rc)));
      break;
    }
    if (ov[0] >= stop) break;
    if (ov[1] <= ov[0]) {  // \K or lookaround tricks; NOTEMPTY should prevent it
      status = InternalError(fmt::format("regex detector '{}': empty or backwards match", name_));
      break;
    }
    out->push_back({ov[0], ov[1]});
    pos = ov[1];
  }
  pcre2_match_data_free(md);
  return status;
}

}  // namespace enclave::governance::pii
