#include "config/config_key.h"

#include <algorithm>
#include <charconv>
#include <cctype>
#include <cmath>
#include <type_traits>

#include <fmt/format.h>

#include "format/utf8.h"

namespace enclave::config {
namespace {

// Surrounding blanks are forgiven in numbers (a stray space in an environment variable), not in
// strings, where they may be meant.
std::string_view TrimBlanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Whole-text decimal parses: "12abc", "0x10", "1e3" for an integer, "nan" and "inf" are rejected.
bool ParseInteger(std::string_view s, int64_t& out) {
  s = TrimBlanks(s);
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, out);
  return ec == std::errc() && p == end && !s.empty();
}

bool ParseReal(std::string_view s, double& out) {
  s = TrimBlanks(s);
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, out);
  return ec == std::errc() && p == end && !s.empty() && std::isfinite(out);
}

// YAML 1.1's and common spellings, case-insensitive: a file may say `true`, `yes` or `on`.
bool ParseBool(std::string_view s, bool& out) {
  s = TrimBlanks(s);
  std::string lower(s);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* t : {"true", "yes", "on", "1"}) {
    if (lower == t) return out = true, true;
  }
  for (const char* f : {"false", "no", "off", "0"}) {
    if (lower == f) return out = false, true;
  }
  return false;
}

// Bad values are quoted back in messages; a pasted file stays one readable line.
// Control bytes become '?' so a damaged value cannot garble the terminal.
std::string Shorten(std::string_view text) {
  constexpr size_t kMax = 40;
  std::string out(text.substr(0, kMax));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return text.size() <= kMax ? out : out + "...";
}

// Settings are text a person typed: a control byte or broken UTF-8 is a damaged file or variable,
// and could not be printed back (--print-config) as the same value.
bool IsPlainText(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return IsValidUtf8(s);
}

// Numbers print without a trailing ".0" when whole: ranges read "0..3600", not "0.0..3600.0".
std::string FormatNumber(double v) { return fmt::format("{}", v); }

}  // namespace

std::string ConfigKey::EnvName() const {
  std::string env = "ENCLAVE_" + section + "_" + name;
  std::transform(env.begin(), env.end(), env.begin(), [](unsigned char c) {
    return c == '.' || c == '-' ? '_' : static_cast<char>(std::toupper(c));
  });
  return env;
}

std::string ConfigKey::Expected() const {
  switch (type) {
    case ValueType::kInteger:
      return fmt::format("an integer {}..{}", FormatNumber(min), FormatNumber(max));
    case ValueType::kReal:
      return fmt::format("a number {}..{}", FormatNumber(min), FormatNumber(max));
    case ValueType::kBool:
      return "true or false";
    case ValueType::kString:
      break;
  }
  if (choices.empty()) return "a string";
  std::string list;
  bool may_be_empty = false;
  for (const std::string& c : choices) {
    if (c.empty()) {
      may_be_empty = true;
    } else {
      list += (list.empty() ? "" : ", ") + c;
    }
  }
  return "one of " + list + (may_be_empty ? " (or empty)" : "");
}

std::string ConfigKey::TypeName() const {
  switch (type) {
    case ValueType::kInteger: return "INT";
    case ValueType::kReal: return "FLOAT";
    case ValueType::kBool: return "BOOL";
    case ValueType::kString: break;
  }
  return "TEXT";
}

Status ConfigKey::SetFromText(std::string_view text, ServeConfig& config) const {
  auto invalid = [&] { return InvalidArgumentError(fmt::format("expected {}, got '{}'", Expected(), Shorten(text))); };
  return std::visit(
      [&](auto* target) -> Status {
        using T = std::remove_pointer_t<decltype(target)>;
        if constexpr (std::is_same_v<T, std::string>) {
          if (!IsPlainText(text)) {
            return InvalidArgumentError("expected UTF-8 text without control characters (a damaged file or variable?)");
          }
          if (!choices.empty() && std::find(choices.begin(), choices.end(), text) == choices.end()) return invalid();
          *target = std::string(text);
        } else if constexpr (std::is_same_v<T, bool>) {
          bool v = false;
          if (!ParseBool(text, v)) return invalid();
          *target = v;
        } else if constexpr (std::is_same_v<T, double>) {
          double v = 0;
          if (!ParseReal(text, v) || v < min || v > max) return invalid();
          *target = v;
        } else {
          int64_t v = 0;
          // The range is what keeps the value inside T; the table's bounds are checked to fit.
          if (!ParseInteger(text, v) || static_cast<double>(v) < min || static_cast<double>(v) > max) return invalid();
          *target = static_cast<T>(v);
        }
        return Status::Ok();
      },
      field(config));
}

std::string ConfigKey::GetText(const ServeConfig& config) const {
  // `field` only forms a pointer; nothing is written through it here.
  return std::visit(
      [](auto* value) -> std::string {
        using T = std::remove_pointer_t<decltype(value)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return *value;
        } else if constexpr (std::is_same_v<T, bool>) {
          return *value ? "true" : "false";
        } else {
          return fmt::format("{}", *value);
        }
      },
      field(const_cast<ServeConfig&>(config)));
}

}  // namespace enclave::config
