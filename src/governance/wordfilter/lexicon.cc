#include "governance/wordfilter/lexicon.h"

#include <cerrno>
#include <iterator>
#include <cstring>
#include <fstream>
#include <sstream>

#include "format/utf8.h"
#include "governance/wordfilter/text_lines.h"

namespace enclave::wordfilter {
namespace {

constexpr size_t kMaxCategoryLength = 64;

std::string_view TrimBlanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool ValidCategory(std::string_view c) {
  if (c.empty() || c.size() > kMaxCategoryLength) return false;
  for (char ch : c) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                    ch == '_' || ch == '.' || ch == ':' || ch == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string Lexicon::Where(const LexiconEntry& entry) const {
  const std::string& file = entry.source < sources.size() ? sources[entry.source] : std::string("?");
  return file + ":" + std::to_string(entry.line);
}

Status AppendLexiconText(std::string_view text, std::string_view source, Lexicon& lexicon) {
  const auto source_index = static_cast<uint32_t>(lexicon.sources.size());
  std::vector<LexiconEntry> parsed;
  const Status walked = ForEachLine(text, source, [&](std::string_view line, uint32_t line_no,
                                                      const std::string& where) -> Status {
    if (!IsValidUtf8(line)) return InvalidArgumentError(where + ": not valid UTF-8");
    const std::string_view trimmed = TrimBlanks(line);
    if (trimmed.empty() || trimmed.front() == '#') return Status::Ok();

    const size_t tab = line.find('\t');
    std::string_view term = line.substr(0, tab);
    std::string_view category = kDefaultCategory;
    if (tab != std::string_view::npos) {
      category = TrimBlanks(line.substr(tab + 1));
      if (category.find('\t') != std::string_view::npos) {
        return InvalidArgumentError(where + ": expected 'term<TAB>category', found more than one tab");
      }
      if (!ValidCategory(category)) {
        return InvalidArgumentError(where + ": category '" + std::string(category) +
                                    "' must be 1-64 characters of letters, digits, '_', '.', ':' or '-'");
      }
    }
    term = TrimBlanks(term);
    if (term.empty()) return InvalidArgumentError(where + ": the term before the tab is empty");
    parsed.push_back({std::string(term), std::string(category), source_index, line_no});
    return Status::Ok();
  });
  if (!walked.ok()) return walked;
  lexicon.sources.emplace_back(source);
  lexicon.entries.insert(lexicon.entries.end(), std::make_move_iterator(parsed.begin()),
                         std::make_move_iterator(parsed.end()));
  return Status::Ok();
}

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot open '" + path + "': " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return IoError("cannot read '" + path + "'");
  return ss.str();
}

Status AppendLexiconFile(const std::string& path, Lexicon& lexicon) {
  ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path));
  return AppendLexiconText(text, path, lexicon);
}

}  // namespace enclave::wordfilter
