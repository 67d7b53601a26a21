#include "governance/wordfilter/variants.h"

#include "governance/wordfilter/lexicon.h"
#include "governance/wordfilter/text_lines.h"
#include "governance/wordfilter/utf8_codec.h"

namespace enclave::wordfilter {

Status AppendVariantText(std::string_view text, std::string_view source, VariantMap& map) {
  std::vector<std::pair<uint32_t, uint32_t>> parsed;
  const Status walked = ForEachLine(text, source, [&](std::string_view line, uint32_t,
                                                      const std::string& where) -> Status {

    // Fields separated by runs of spaces and tabs; each must be exactly one character.
    std::vector<uint32_t> fields;
    size_t i = 0;
    bool comment = false;
    while (i < line.size()) {
      if (line[i] == ' ' || line[i] == '\t') {
        ++i;
        continue;
      }
      if (fields.empty() && line[i] == '#') {
        comment = true;
        break;
      }
      size_t j = i;
      while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
      const std::string_view field = line.substr(i, j - i);
      uint32_t cp = 0;
      const int n = DecodeUtf8(reinterpret_cast<const uint8_t*>(field.data()), field.size(), &cp);
      if (n <= 0) return InvalidArgumentError(where + ": not valid UTF-8");
      if (static_cast<size_t>(n) != field.size()) {
        return InvalidArgumentError(where + ": each field must be a single character, found '" +
                                    std::string(field) + "'");
      }
      fields.push_back(cp);
      i = j;
    }
    if (comment || fields.empty()) return Status::Ok();
    if (fields.size() < 2) {
      return InvalidArgumentError(where + ": expected a canonical character followed by its variants");
    }
    for (size_t k = 1; k < fields.size(); ++k) parsed.emplace_back(fields[k], fields[0]);
    return Status::Ok();
  });
  if (!walked.ok()) return walked;
  map.pairs.insert(map.pairs.end(), parsed.begin(), parsed.end());
  return Status::Ok();
}

Status AppendVariantFile(const std::string& path, VariantMap& map) {
  ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path));
  return AppendVariantText(text, path, map);
}

}  // namespace enclave::wordfilter
