#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/pre_tokenizer.h"

#include <pcre2.h>

#include <fmt/format.h>

#include "tokenizer/pre_tokenizer_presets.h"

namespace enclave::tokenizer {

struct PreTokenizer::Regex {
  pcre2_code* code = nullptr;
  ~Regex() { pcre2_code_free(code); }
};

namespace {

// Rewrites \x{...}, \r, \n and \t escapes as the characters they stand for (UTF-8), leaving every
// other escape as written, so a pattern copied from a tokenizer.json (literal characters) and our
// escaped presets compare equal when they mean the same.
std::string CanonicalPattern(std::string_view p) {
  std::string out;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] != '\\' || i + 1 >= p.size()) {
      out += p[i];
      continue;
    }
    const char e = p[i + 1];
    if (e == 'r' || e == 'n' || e == 't') {
      out += e == 'r' ? '\r' : e == 'n' ? '\n' : '\t';
      ++i;
    } else if (e == 'x' && i + 2 < p.size() && p[i + 2] == '{') {
      const size_t close = p.find('}', i + 3);
      if (close == std::string_view::npos) {
        out += p.substr(i);
        break;
      }
      const uint32_t cp = static_cast<uint32_t>(std::stoul(std::string(p.substr(i + 3, close - i - 3)), nullptr, 16));
      if (cp < 0x80) {
        // Keep ASCII escaped when it is a regex metacharacter, so "\x{2D}" stays a literal hyphen.
        out += std::string("\\x{") + std::string(p.substr(i + 3, close - i - 3)) + "}";
      } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
      } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
      } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
      }
      i = close;
    } else {
      out += p[i];
      out += e;
      ++i;
    }
  }
  return out;
}

std::string PresetList() {
  std::string s;
  for (const auto& p : PreTokenizerPresets()) s += (s.empty() ? "" : ", ") + std::string(p.name);
  return s;
}

size_t Utf8Length(unsigned char c) { return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4; }

}  // namespace

PreTokenizer::~PreTokenizer() = default;

std::vector<std::string> PreTokenizer::PresetNames() {
  std::vector<std::string> names;
  for (const auto& p : PreTokenizerPresets()) names.emplace_back(p.name);
  return names;
}

Result<std::unique_ptr<PreTokenizer>> PreTokenizer::Compile(std::string name, const std::vector<std::string>& patterns) {
  std::unique_ptr<PreTokenizer> pt(new PreTokenizer());
  pt->name_ = std::move(name);
  for (const auto& pattern : patterns) {
    int err = 0;
    PCRE2_SIZE offset = 0;
    auto re = std::make_unique<Regex>();
    re->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), PCRE2_UTF | PCRE2_UCP,
                             &err, &offset, nullptr);
    if (re->code == nullptr) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(err, msg, sizeof msg);
      return InternalError(fmt::format("pre-tokenizer '{}': regex does not compile at offset {}: {}", pt->name_,
                                       offset, reinterpret_cast<const char*>(msg)));
    }
    // JIT is an optimisation: if it is unavailable, the interpreter gives the same matches.
    pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE);
    pt->regexes_.push_back(std::move(re));
  }
  return pt;
}

Result<std::unique_ptr<PreTokenizer>> PreTokenizer::FromPreset(std::string_view name) {
  if (name == "deepseek-r1-qwen") name = "qwen2";
  if (name == "llama3") name = "llama-bpe";
  for (const auto& p : PreTokenizerPresets()) {
    if (p.name == name) return Compile(std::string(p.name), p.patterns);
  }
  return UnsupportedError(fmt::format("unknown pre-tokenizer '{}' (supported: {}, deepseek-r1-qwen, llama3)", name,
                                      PresetList()));
}

Result<std::unique_ptr<PreTokenizer>> PreTokenizer::FromPatterns(const std::vector<std::string>& patterns) {
  std::vector<std::string> want;
  for (const auto& p : patterns) want.push_back(CanonicalPattern(p));
  for (const auto& preset : PreTokenizerPresets()) {
    if (preset.patterns.size() != want.size()) continue;
    bool same = true;
    for (size_t i = 0; i < want.size() && same; ++i) same = CanonicalPattern(preset.patterns[i]) == want[i];
    if (same) return Compile(std::string(preset.name), preset.patterns);
  }
  std::string first = patterns.empty() ? "(none)" : patterns.front().substr(0, 60);
  return UnsupportedError(fmt::format(
      "the tokenizer's pre-tokenizer ({} regex(es), first '{}') is not one Enclave supports (supported: {})",
      patterns.size(), first, PresetList()));
}

Status PreTokenizer::Split(std::string_view text, std::vector<std::string_view>* out) const {
  std::vector<std::string_view> pieces{text}, next;
  pcre2_match_data* md = nullptr;
  for (const auto& re : regexes_) {
    if (md) pcre2_match_data_free(md);
    md = pcre2_match_data_create_from_pattern(re->code, nullptr);
    next.clear();
    for (std::string_view piece : pieces) {
      const auto* subject = reinterpret_cast<PCRE2_SPTR>(piece.data());
      size_t pos = 0, emitted = 0;
      while (pos <= piece.size()) {
        const int rc = pcre2_match(re->code, subject, piece.size(), pos, PCRE2_NO_UTF_CHECK, md, nullptr);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
          pcre2_match_data_free(md);
          PCRE2_UCHAR msg[256];
          pcre2_get_error_message(rc, msg, sizeof msg);
          return InternalError(fmt::format("pre-tokenizer '{}': regex match failed: {}", name_,
                                           reinterpret_cast<const char*>(msg)));
        }
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
        const size_t begin = ov[0], end = ov[1];
        if (end > begin) {
          if (begin > emitted) next.push_back(piece.substr(emitted, begin - emitted));
          next.push_back(piece.substr(begin, end - begin));
          emitted = end;
          pos = end;
        } else {
          // Empty match: keep scanning from the next character.
          if (begin >= piece.size()) break;
          pos = begin + Utf8Length(static_cast<unsigned char>(piece[begin]));
        }
      }
      if (emitted < piece.size()) next.push_back(piece.substr(emitted));
    }
    pieces.swap(next);
  }
  if (md) pcre2_match_data_free(md);
  out->insert(out->end(), pieces.begin(), pieces.end());
  return Status::Ok();
}

}  // namespace enclave::tokenizer
