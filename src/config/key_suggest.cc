#include "config/key_suggest.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include "config/serve_config.h"

namespace enclave::config {
namespace {

// Case, '_' and '-' do not count: "max-body-mb", "maxBodyMb" and "max_body_mb" are one spelling.
std::string Normalize(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c != '_' && c != '-') out += static_cast<char>(std::tolower(c));
  }
  return out;
}

// Typos allowed before a guess stops being obvious: one in a short word, more in longer ones.
size_t Tolerance(size_t length) { return length <= 4 ? 1 : length <= 8 ? 2 : 3; }

// The names a user may type for a key: its own, and its long flag names without dashes.
std::vector<std::string> Spellings(const ConfigKey& key) {
  std::vector<std::string> names = {Normalize(key.name)};
  std::string_view flags = key.flag;
  while (!flags.empty()) {
    const size_t comma = flags.find(',');
    std::string_view f = flags.substr(0, comma);
    if (f.starts_with("--")) names.push_back(Normalize(f.substr(2)));
    flags = comma == std::string_view::npos ? std::string_view() : flags.substr(comma + 1);
  }
  return names;
}

}  // namespace

size_t EditDistance(std::string_view a, std::string_view b) {
  // d[i][j]: distance between the first i bytes of a and the first j of b.
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

std::string SuggestKey(std::string_view section, std::string_view name) {
  const std::string typed = Normalize(name);
  if (typed.empty()) return "";
  const ConfigKey* best = nullptr;
  size_t best_score = 0;
  for (const ConfigKey& key : ServeConfigKeys()) {
    for (const std::string& spelling : Spellings(key)) {
      const size_t distance = EditDistance(typed, spelling);
      if (distance > Tolerance(typed.size())) continue;
      // Same-section keys win ties and near-ties: score = 2 * distance (+1 elsewhere).
      const size_t score = 2 * distance + (key.section == section ? 0 : 1);
      if (best == nullptr || score < best_score) {
        best = &key;
        best_score = score;
      }
    }
  }
  return best ? best->Path() : "";
}

std::string SuggestSection(std::string_view section) {
  const std::string typed = Normalize(section);
  if (typed.empty()) return "";
  std::string best;
  size_t best_distance = Tolerance(typed.size()) + 1;
  for (const std::string& s : ServeConfigSections()) {
    const size_t distance = EditDistance(typed, Normalize(s));
    if (distance < best_distance) {
      best = s;
      best_distance = distance;
    }
  }
  return best;
}

}  // namespace enclave::config
