// Typed placeholders for the reversible PII policy: within one request each distinct value gets
// "[TYPE_N]" (N counts per type from 1; the same value always gets the same placeholder), the
// model sees only placeholders, and its output has them replaced by the originals again.
//
// The table holds the original values: it lives only as long as its request, is never logged,
// and has no debug printer on purpose. One table per request; not thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>

namespace enclave::governance::pii {

// Longest placeholder body between the brackets: a 32-byte name, '_', and up to 10 digits.
inline constexpr size_t kMaxPlaceholderBody = 32 + 1 + 10;

class PlaceholderTable {
 public:
  // The placeholder for `value` of type `type_name` (e.g. "ID_CARD"), assigning one on first use.
  std::string Assign(std::string_view type_name, std::string_view value);
  // The original value behind a placeholder such as "[ID_CARD_1]", or nullptr.
  const std::string* Find(std::string_view placeholder) const;
  size_t size() const { return by_placeholder_.size(); }

 private:
  std::unordered_map<std::string, std::string> by_value_;  // type '\0' value -> placeholder
  std::unordered_map<std::string, std::string> by_placeholder_;
  std::unordered_map<std::string, int> next_index_;  // per type name
};

// Replaces every placeholder of `table` in `text` by its original; anything else, including
// bracketed text the table does not know, is copied unchanged.
std::string RestorePlaceholders(std::string_view text, const PlaceholderTable& table);

// RestorePlaceholders for a stream of output chunks: a placeholder split across chunks is still
// restored. Holds back at most kMaxPlaceholderBody + 1 bytes (an unclosed "[NAME_..."). The
// concatenation of everything returned equals RestorePlaceholders of the concatenated input.
// Borrows the table, which must outlive it. Not thread-safe.
class PlaceholderRestorer {
 public:
  explicit PlaceholderRestorer(const PlaceholderTable& table) : table_(table) {}
  std::string Push(std::string_view chunk);
  std::string Finish();

 private:
  const PlaceholderTable& table_;
  std::string pending_;
};

}  // namespace enclave::governance::pii
