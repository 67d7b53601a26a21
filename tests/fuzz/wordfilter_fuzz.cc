// libFuzzer target: the sensitive-word filter on arbitrary bytes, with a small fixed lexicon whose
// terms overlap and span mask, flag and block categories. Invariants: no crash; invalid UTF-8 is an
// error both ways; hits lie within the text, are sorted by start and do not overlap within a
// category; a block hit starts at or after all released text; and streaming the text in chunks
// (sizes taken from the first input byte) gives exactly the whole-text result.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/check.h"
#include "governance/wordfilter/filter_stream.h"
#include "governance/wordfilter/word_filter.h"

namespace {

namespace wf = enclave::wordfilter;

const wf::WordFilter& Get() {
  static const std::unique_ptr<wf::WordFilter> f = [] {
    wf::Lexicon lex;
    const char* text =
        "secret\tpii\nsec\tpii\ncret\tmisc\nabcd\tmisc\nbc\tmisc\nbcd\tpii\n敏感\tpolitics\n敏感词\tpolitics\n"
        "weapon\tviolence\naa\tmisc\naaa\tpii\n";
    ENCLAVE_CHECK(wf::AppendLexiconText(text, "fuzz", lex).ok());
    wf::VariantMap variants;
    ENCLAVE_CHECK(wf::AppendVariantText("词 詞\n", "fuzz", variants).ok());
    wf::FilterOptions options;
    options.actions = {{"pii", wf::Action::kMask}, {"misc", wf::Action::kFlag},
                       {"politics", wf::Action::kMask}, {"violence", wf::Action::kBlock}};
    options.max_gap = 3;
    auto r = wf::WordFilter::Create(lex, variants, options);
    ENCLAVE_CHECK(r.ok());
    return std::move(r).value();
  }();
  return *f;
}

bool SameHit(const wf::Hit& a, const wf::Hit& b) {
  return a.category == b.category && a.action == b.action && a.start == b.start && a.end == b.end;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t chunk = 1 + data[0] % 16;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const wf::WordFilter& f = Get();

  auto whole = f.Filter(text);
  wf::FilterStream stream(f);
  wf::FilterOutput joined;
  bool ok = true;
  auto take = [&](enclave::Result<wf::FilterOutput> out) {
    ok = out.ok();
    if (!ok) return;
    ENCLAVE_CHECK(stream.held_bytes() <= f.MaxHeldBytes());
    joined.text += out->text;
    joined.hits.insert(joined.hits.end(), out->hits.begin(), out->hits.end());
    joined.blocked = out->blocked;
  };
  for (size_t pos = 0; ok && !joined.blocked && pos < text.size(); pos += chunk) take(stream.Push(text.substr(pos, chunk)));
  if (ok && !joined.blocked) take(stream.Finish());
  ENCLAVE_CHECK(ok == whole.ok());
  if (!ok) return 0;

  ENCLAVE_CHECK(joined.text == whole->text);
  ENCLAVE_CHECK(joined.hits.size() == whole->hits.size());
  std::vector<uint64_t> last_end(f.num_categories(), 0);
  for (size_t i = 0; i < whole->hits.size(); ++i) {
    const wf::Hit& h = whole->hits[i];
    ENCLAVE_CHECK(SameHit(h, joined.hits[i]));
    ENCLAVE_CHECK(h.start < h.end && h.end <= text.size());
    ENCLAVE_CHECK(i == 0 || whole->hits[i - 1].start <= h.start);
    ENCLAVE_CHECK(h.start >= last_end[h.category]);
    last_end[h.category] = h.end;
  }
  ENCLAVE_CHECK(joined.blocked.has_value() == whole->blocked.has_value());
  if (whole->blocked) {
    ENCLAVE_CHECK(SameHit(*joined.blocked, *whole->blocked));
    ENCLAVE_CHECK(whole->blocked->end <= text.size());
    ENCLAVE_CHECK(whole->text.size() <= whole->blocked->start);
  }
  return 0;
}
