#include "server/content_guard.h"

#include <fmt/format.h>

#include "governance/wordfilter/utf8_codec.h"

namespace enclave::server {

namespace pii = governance::pii;
namespace wf = wordfilter;

pii::PiiPolicy ContentRules::PolicyFor(std::string_view route) const {
  auto it = route_policies.find(std::string(route));
  return it == route_policies.end() ? policy : it->second;
}

bool ContentRules::Active(std::string_view route) const {
  return filter != nullptr || PolicyFor(route) != pii::PiiPolicy::kOff;
}

Result<std::map<std::string, pii::PiiPolicy>> ParseRoutePolicies(std::string_view text) {
  std::map<std::string, pii::PiiPolicy> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    std::string_view entry = text.substr(start, comma - start);
    while (!entry.empty() && entry.front() == ' ') entry.remove_prefix(1);
    while (!entry.empty() && entry.back() == ' ') entry.remove_suffix(1);
    start = comma + 1;
    if (entry.empty()) continue;
    const size_t eq = entry.find('=');
    if (eq == std::string_view::npos || eq == 0 || entry[0] != '/') {
      return InvalidArgumentError(fmt::format("pii.route_policies entry '{}' is not ROUTE=POLICY (e.g. /v1/completions=off)", entry));
    }
    auto policy = pii::ParsePiiPolicy(entry.substr(eq + 1));
    if (!policy.ok()) return policy.status().WithContext(fmt::format("pii.route_policies entry '{}'", entry));
    const std::string route(entry.substr(0, eq));
    if (route != "/v1/chat/completions" && route != "/v1/completions") {
      return InvalidArgumentError(fmt::format("pii.route_policies entry '{}': the routes with content are "
                                              "/v1/chat/completions and /v1/completions",
                                              entry));
    }
    out[route] = *policy;
  }
  return out;
}

namespace {

std::string PiiAction(const pii::PiiDetector& detector, pii::PiiPolicy policy, const pii::Finding& f) {
  return fmt::format("pii:{}:{}", pii::PiiPolicyName(policy), detector.TypeName(f));
}

std::string FilterAction(const wf::WordFilter& filter, const wf::Hit& hit) {
  return fmt::format("filter:{}:{}", wf::ActionName(hit.action), filter.category_name(hit.category));
}

}  // namespace

Result<InputVerdict> GuardInput(const ContentRules& rules, pii::PiiPolicy policy, std::string_view text,
                                pii::PlaceholderTable* table, std::string* refusal_code) {
  InputVerdict v;
  v.text = std::string(text);
  if (policy != pii::PiiPolicy::kOff) {
    if (rules.detector == nullptr) return InternalError("a PII policy is set but no detector was built");
    auto findings = rules.detector->Scan(text);
    if (!findings.ok()) return findings.status();
    if (policy == pii::PiiPolicy::kBlock && !findings->empty()) {
      std::string types;
      for (const pii::Finding& f : *findings) {
        const std::string name(rules.detector->TypeName(f));
        if (types.find(name) == std::string::npos) types += (types.empty() ? "" : ", ") + name;
      }
      *refusal_code = "pii_blocked";
      return InvalidArgumentError(fmt::format("the prompt contains personal data ({}), which this server refuses; "
                                              "remove it and retry",
                                              types));
    }
    auto masked = pii::ApplyPolicy(text, *findings, *rules.detector, policy, table);
    if (!masked.ok()) return masked.status();
    for (const pii::Finding& f : *findings) v.actions.push_back(PiiAction(*rules.detector, policy, f));
    v.text = std::move(*masked);
  }
  if (rules.filter != nullptr) {
    auto out = rules.filter->Filter(v.text);
    if (!out.ok()) return out.status();
    for (const wf::Hit& h : out->hits) v.actions.push_back(FilterAction(*rules.filter, h));
    if (out->blocked) {
      v.actions.push_back(FilterAction(*rules.filter, *out->blocked));
      *refusal_code = "content_filter";
      return InvalidArgumentError(fmt::format("the prompt contains a term of the category '{}' that this server refuses",
                                              rules.filter->category_name(out->blocked->category)));
    }
    v.text = std::move(out->text);
  }
  return v;
}

OutputGuard::OutputGuard(const ContentRules& rules, pii::PiiPolicy policy, pii::PlaceholderTable* table)
    : rules_(rules), policy_(policy) {
  if (policy != pii::PiiPolicy::kOff && rules.detector != nullptr) {
    // Output is masked under both mask and placeholder: values the model made up are masked, the
    // caller's own come back from their placeholders afterwards (placeholders match no detector).
    const pii::PiiPolicy out_policy = policy == pii::PiiPolicy::kBlock ? pii::PiiPolicy::kBlock : pii::PiiPolicy::kMask;
    masker_.emplace(*rules.detector, out_policy, nullptr);
  }
  if (rules.filter != nullptr) filter_.emplace(*rules.filter);
  if (policy == pii::PiiPolicy::kPlaceholder && table != nullptr) restorer_.emplace(*table);
}

std::string OutputGuard::Sanitize(std::string_view chunk, bool final) {
  std::string in = std::move(utf8_tail_);
  utf8_tail_.clear();
  in.append(chunk);
  std::string out;
  out.reserve(in.size());
  const auto* p = reinterpret_cast<const uint8_t*>(in.data());
  size_t i = 0;
  while (i < in.size()) {
    uint32_t cp = 0;
    const int n = wf::DecodeUtf8(p + i, in.size() - i, &cp);
    if (n > 0) {
      out.append(in, i, static_cast<size_t>(n));
      i += static_cast<size_t>(n);
    } else if (n == 0 && !final) {
      utf8_tail_ = in.substr(i);
      break;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

Result<OutputGuard::Step> OutputGuard::Push(std::string_view chunk) { return Run(chunk, false); }
Result<OutputGuard::Step> OutputGuard::Finish() { return Run({}, true); }

Result<OutputGuard::Step> OutputGuard::Run(std::string_view chunk, bool final) {
  Step step;
  if (ended_) return step;
  if (policy_ != pii::PiiPolicy::kOff && !masker_) {
    ended_ = true;
    return InternalError("a PII policy is set but no detector was built");
  }
  std::string text = Sanitize(chunk, final);
  if (masker_) {
    Result<std::string> out = masker_->Push(text);
    if (out.ok() && final) {
      auto rest = masker_->Finish();
      if (rest.ok()) {
        *out += *rest;
      } else {
        out = rest.status();
      }
    }
    if (!out.ok()) {
      ended_ = true;
      if (policy_ == pii::PiiPolicy::kBlock && out.status().code() == StatusCode::kInvalidArgument) {
        step.blocked = true;
        step.actions.push_back("pii:block");
        return step;
      }
      return out.status();
    }
    const auto& findings = masker_->findings();
    for (; findings_reported_ < findings.size(); ++findings_reported_) {
      step.actions.push_back(PiiAction(*rules_.detector, pii::PiiPolicy::kMask, findings[findings_reported_]));
    }
    text = std::move(*out);
  }
  if (filter_) {
    Result<wf::FilterOutput> out = filter_->Push(text);
    if (out.ok() && final && !out->blocked) {
      auto rest = filter_->Finish();
      if (!rest.ok()) {
        out = rest.status();
      } else {
        out->text += rest->text;
        for (auto& h : rest->hits) out->hits.push_back(h);
        out->blocked = rest->blocked;
      }
    }
    if (!out.ok()) {
      ended_ = true;
      return out.status();
    }
    for (const wf::Hit& h : out->hits) step.actions.push_back(FilterAction(*rules_.filter, h));
    text = std::move(out->text);
    if (out->blocked) {
      step.actions.push_back(FilterAction(*rules_.filter, *out->blocked));
      step.blocked = true;
      ended_ = true;
    }
  }
  step.audit_text = text;
  if (restorer_) {
    step.text = restorer_->Push(text);
    if (final || step.blocked) step.text += restorer_->Finish();
  } else {
    step.text = std::move(text);
  }
  if (final) ended_ = true;
  return step;
}

}  // namespace enclave::server
