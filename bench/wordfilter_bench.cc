// Sensitive-word filter throughput (issue #7 target: >= 100 MB/s of text with a 120,000-term
// lexicon), single thread. The lexicon and text are synthetic and seeded:
//  - 120,000 terms: half Latin (6-12 random lowercase letters), half CJK (2-4 characters drawn
//    from the first 6,000 CJK Unified Ideographs), in 4 categories (2 mask, 2 flag);
//  - 4 MiB of text: English-like words with punctuation and CJK runs of characters from the same
//    6,000 (so chance hits occur, as in real Chinese text), with a lexicon term planted about every
//    4 KiB, some in disguise (upper case, spaces between letters, zero-width spaces).
// BM_WordFilterWhole filters the text in one call; BM_WordFilterStream/64 pushes 64-byte chunks
// through a FilterStream; BM_WordFilterBuild compiles the lexicon.
#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "governance/wordfilter/filter_stream.h"
#include "governance/wordfilter/utf8_codec.h"
#include "governance/wordfilter/word_filter.h"

namespace {

namespace wf = enclave::wordfilter;

constexpr int kTerms = 120000;
constexpr size_t kTextBytes = 4u << 20;

struct Fixture {
  wf::Lexicon lexicon;
  std::vector<std::string> terms;
  std::string text;
  std::unique_ptr<wf::WordFilter> filter;
};

wf::FilterOptions Options() {
  wf::FilterOptions o;
  o.actions = {{"c0", wf::Action::kMask}, {"c1", wf::Action::kFlag}, {"c2", wf::Action::kMask},
               {"c3", wf::Action::kFlag}};
  return o;
}

const Fixture& Get() {
  static const Fixture* fx = [] {
    auto* f = new Fixture();  // lives until exit
    std::mt19937 rng(2026);
    std::string lex;
    for (int i = 0; i < kTerms; ++i) {
      std::string t;
      if (i % 2 == 0) {
        const int len = 6 + static_cast<int>(rng() % 7);
        for (int k = 0; k < len; ++k) t += static_cast<char>('a' + rng() % 26);
      } else {
        const int len = 2 + static_cast<int>(rng() % 3);
        for (int k = 0; k < len; ++k) wf::AppendUtf8(0x4E00 + rng() % 6000, t);
      }
      lex += t + "\tc" + std::to_string(i % 4) + "\n";
      f->terms.push_back(std::move(t));
    }
    if (!wf::AppendLexiconText(lex, "synthetic", f->lexicon).ok()) std::abort();

    const std::vector<std::string> words = {"the", "of", "and", "to", "in", "is", "that", "for", "it", "as",
                                            "with", "was", "on", "be", "at", "by", "this", "had", "not", "are",
                                            "but", "from", "or", "have", "an", "they", "which", "one", "you",
                                            "were", "her", "all", "she", "there", "would", "their", "we", "him",
                                            "been", "has", "when", "who", "will", "more", "no", "if", "out",
                                            "model", "request", "server", "patient", "account", "report"};
    const std::vector<std::string> punct = {" ", " ", " ", " ", ", ", ". ", "; ", "\n"};
    size_t next_plant = 4096;
    while (f->text.size() < kTextBytes) {
      if ((rng() % 2) == 0) {
        for (int k = 0; k < 12; ++k) f->text += words[rng() % words.size()] + punct[rng() % punct.size()];
      } else {
        for (int k = 0; k < 30; ++k) wf::AppendUtf8(0x4E00 + rng() % 6000, f->text);
        f->text += "。";
      }
      if (f->text.size() >= next_plant) {
        const std::string& t = f->terms[rng() % f->terms.size()];
        switch (rng() % 3) {
          case 0: f->text += t; break;
          case 1:
            for (char c : t) f->text += static_cast<char>((c >= 'a' && c <= 'z') ? c - 32 : c);
            break;
          default:
            for (size_t k = 0; k < t.size(); ++k) {  // a zero-width space between characters
              if (k > 0 && (static_cast<unsigned char>(t[k]) & 0xC0) != 0x80) f->text += "\xE2\x80\x8B";
              f->text += t[k];
            }
        }
        f->text += " ";
        next_plant += 4096;
      }
    }
    auto built = wf::WordFilter::Create(f->lexicon, {}, Options());
    if (!built.ok()) std::abort();
    f->filter = std::move(built).value();
    return f;
  }();
  return *fx;
}

void BM_WordFilterWhole(benchmark::State& state) {
  const Fixture& fx = Get();
  size_t hits = 0;
  for (auto _ : state) {
    auto out = fx.filter->Filter(fx.text);
    if (!out.ok()) {
      state.SkipWithError(out.status().message().c_str());
      return;
    }
    hits = out->hits.size();
    benchmark::DoNotOptimize(out->text.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * fx.text.size()));
  state.counters["hits"] = static_cast<double>(hits);
  state.counters["states"] = static_cast<double>(fx.filter->automaton().num_states());
  state.counters["automaton_MiB"] = static_cast<double>(fx.filter->automaton().memory_bytes()) / (1 << 20);
  state.counters["dense_rows"] = static_cast<double>(fx.filter->automaton().num_dense_rows());
  state.counters["row_width"] = static_cast<double>(fx.filter->automaton().row_width());
}
BENCHMARK(BM_WordFilterWhole)->Unit(benchmark::kMillisecond);

void BM_WordFilterStream(benchmark::State& state) {
  const Fixture& fx = Get();
  const auto chunk = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    wf::FilterStream s(*fx.filter);
    size_t released = 0;
    for (size_t pos = 0; pos < fx.text.size(); pos += chunk) {
      auto out = s.Push(std::string_view(fx.text).substr(pos, chunk));
      if (!out.ok()) {
        state.SkipWithError(out.status().message().c_str());
        return;
      }
      released += out->text.size();
    }
    auto tail = s.Finish();
    if (!tail.ok()) {
      state.SkipWithError(tail.status().message().c_str());
      return;
    }
    benchmark::DoNotOptimize(released + tail->text.size());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * fx.text.size()));
}
BENCHMARK(BM_WordFilterStream)->Arg(64)->Arg(4096)->Unit(benchmark::kMillisecond);

void BM_WordFilterBuild(benchmark::State& state) {
  const Fixture& fx = Get();
  for (auto _ : state) {
    auto f = wf::WordFilter::Create(fx.lexicon, {}, Options());
    if (!f.ok()) {
      state.SkipWithError(f.status().message().c_str());
      return;
    }
    benchmark::DoNotOptimize(f->get());
  }
  state.counters["terms"] = kTerms;
}
BENCHMARK(BM_WordFilterBuild)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
