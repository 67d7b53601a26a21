// The line walk both text formats of the filter (lexicon and variant files) share.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace enclave::wordfilter {

// Calls fn(line, line_no, where) for each line of `text`: numbered from 1, the CR of a CRLF ending
// removed, `where` = "source:line_no" for messages. The first error fn returns ends the walk.
template <typename Fn>
Status ForEachLine(std::string_view text, std::string_view source, Fn&& fn) {
  uint32_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::string where = std::string(source) + ":" + std::to_string(line_no);
    if (Status s = fn(line, line_no, where); !s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace enclave::wordfilter
