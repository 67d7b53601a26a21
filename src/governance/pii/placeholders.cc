#include "governance/pii/placeholders.h"

#include <fmt/format.h>

namespace enclave::governance::pii {
namespace {

bool IsBodyChar(char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; }

// Appends the restored text to *out and returns where an undecided "[BODY" tail starts (non-final
// only; text.size() when everything was decided).
size_t RestoreInto(std::string_view text, bool final, const PlaceholderTable& table, std::string* out) {
  size_t copied = 0, i = 0;
  while (i < text.size()) {
    const size_t open = text.find('[', i);
    if (open == std::string_view::npos) break;
    size_t j = open + 1;
    while (j < text.size() && j - open - 1 < kMaxPlaceholderBody && IsBodyChar(text[j])) ++j;
    if (j == text.size() && !final) {
      out->append(text.substr(copied, open - copied));
      return open;
    }
    if (j < text.size() && text[j] == ']' && j > open + 1) {
      if (const std::string* original = table.Find(text.substr(open, j + 1 - open))) {
        out->append(text.substr(copied, open - copied));
        out->append(*original);
        copied = i = j + 1;
        continue;
      }
    }
    i = open + 1;
  }
  out->append(text.substr(copied));
  return text.size();
}

}  // namespace

std::string PlaceholderTable::Assign(std::string_view type_name, std::string_view value) {
  std::string key;
  key.reserve(type_name.size() + 1 + value.size());
  key.append(type_name).push_back('\0');
  key.append(value);
  auto it = by_value_.find(key);
  if (it != by_value_.end()) return it->second;
  const int n = ++next_index_[std::string(type_name)];
  std::string placeholder = fmt::format("[{}_{}]", type_name, n);
  by_placeholder_.emplace(placeholder, std::string(value));
  by_value_.emplace(std::move(key), placeholder);
  return placeholder;
}

const std::string* PlaceholderTable::Find(std::string_view placeholder) const {
  auto it = by_placeholder_.find(std::string(placeholder));
  return it == by_placeholder_.end() ? nullptr : &it->second;
}

std::string RestorePlaceholders(std::string_view text, const PlaceholderTable& table) {
  std::string out;
  RestoreInto(text, /*final=*/true, table, &out);
  return out;
}

std::string PlaceholderRestorer::Push(std::string_view chunk) {
  pending_.append(chunk);
  std::string out;
  const size_t undecided = RestoreInto(pending_, /*final=*/false, table_, &out);
  pending_.erase(0, undecided);
  return out;
}

std::string PlaceholderRestorer::Finish() {
  std::string out;
  RestoreInto(pending_, /*final=*/true, table_, &out);
  pending_.clear();
  return out;
}

}  // namespace enclave::governance::pii
