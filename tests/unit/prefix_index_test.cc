#include "server/prefix_index.h"

#include <gtest/gtest.h>

#include <random>

namespace enclave::server {
namespace {

std::vector<int32_t> Seq(std::initializer_list<int32_t> v) { return v; }

TEST(PrefixIndexTest, FindsTheLongestSharedPrefixByBlocksThenTokens) {
  PrefixIndex index(4);
  index.Insert(1, Seq({1, 2, 3, 4, 5, 6, 7, 8, 9}));
  index.Insert(2, Seq({1, 2, 3, 4, 5, 6, 0, 0}));
  index.Insert(3, Seq({9, 9, 9, 9}));
  // Two full blocks with seq 1, then one more token of the partial block.
  auto m = index.Longest(Seq({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}), 100);
  EXPECT_EQ(m.seq, 1);
  EXPECT_EQ(m.tokens, 9);
  // Past the first block both share 2 tokens of the second; seq 2 shares 3 here.
  m = index.Longest(Seq({1, 2, 3, 4, 5, 6, 0, 1}), 100);
  EXPECT_EQ(m.seq, 2);
  EXPECT_EQ(m.tokens, 7);
  // max_tokens caps the match (the prompt's last token must still run).
  m = index.Longest(Seq({1, 2, 3, 4, 5, 6, 7, 8, 9}), 8);
  EXPECT_EQ(m.seq, 1);
  EXPECT_EQ(m.tokens, 8);
  // Less than one full block shared: no match.
  EXPECT_EQ(index.Longest(Seq({1, 2, 3, 0, 5}), 100).seq, -1);
  EXPECT_EQ(index.Longest(Seq({9, 9, 9}), 100).seq, -1);
  EXPECT_EQ(index.Longest(Seq({9, 9, 9, 9, 1}), 100).seq, 3);
}

TEST(PrefixIndexTest, EraseRemovesOnlyUnsharedNodes) {
  PrefixIndex index(2);
  index.Insert(1, Seq({1, 2, 3, 4, 5, 6}));
  index.Insert(2, Seq({1, 2, 3, 4, 7, 8}));
  EXPECT_EQ(index.nodes(), 4u);  // [1 2] -> [3 4] -> {[5 6], [7 8]}
  index.Erase(1);
  EXPECT_EQ(index.nodes(), 3u);
  EXPECT_EQ(index.size(), 1u);
  EXPECT_EQ(index.Longest(Seq({1, 2, 3, 4, 5, 6, 0}), 100).seq, 2);
  EXPECT_EQ(index.Longest(Seq({1, 2, 3, 4, 5, 6, 0}), 100).tokens, 4);
  index.Erase(2);
  index.Erase(2);  // absent: a no-op
  EXPECT_EQ(index.nodes(), 0u);
  EXPECT_EQ(index.Longest(Seq({1, 2, 3, 4}), 100).seq, -1);
}

// Against a brute-force scan over random sequences with shared prefixes, inserts and erases.
TEST(PrefixIndexTest, AgreesWithBruteForce) {
  std::mt19937 rng(11);
  const int64_t bt = 3;
  PrefixIndex index(bt);
  std::map<int32_t, std::vector<int32_t>> kept;
  auto random_seq = [&] {
    std::vector<int32_t> s;
    if (!kept.empty() && rng() % 3 != 0) {  // start like a kept one
      auto it = kept.begin();
      std::advance(it, rng() % kept.size());
      s.assign(it->second.begin(), it->second.begin() + static_cast<std::ptrdiff_t>(rng() % (it->second.size() + 1)));
    }
    for (int i = 0, n = static_cast<int>(rng() % 12); i < n; ++i) s.push_back(static_cast<int32_t>(rng() % 3));
    return s;
  };
  for (int step = 0; step < 2000; ++step) {
    if (rng() % 4 == 0 && !kept.empty()) {
      auto it = kept.begin();
      std::advance(it, rng() % kept.size());
      index.Erase(it->first);
      kept.erase(it);
    } else if (rng() % 2 == 0) {
      const int32_t seq = static_cast<int32_t>(step);
      auto s = random_seq();
      index.Insert(seq, s);
      kept[seq] = s;
    }
    const auto prompt = random_seq();
    const int64_t cap = static_cast<int64_t>(prompt.size()) - 1;
    size_t best = 0;
    for (const auto& [seq, t] : kept) {
      size_t n = 0;
      while (n < t.size() && static_cast<int64_t>(n) < cap && t[n] == prompt[n]) ++n;
      best = std::max(best, n);
    }
    const auto m = index.Longest(prompt, cap);
    if (static_cast<int64_t>(best) < bt) {
      EXPECT_EQ(m.seq, -1);
    } else {
      ASSERT_GE(m.seq, 0);
      EXPECT_EQ(m.tokens, static_cast<int64_t>(best));
      const auto& t = kept.at(m.seq);  // and the named sequence really holds that prefix
      ASSERT_GE(t.size(), best);
      EXPECT_TRUE(std::equal(t.begin(), t.begin() + static_cast<std::ptrdiff_t>(best), prompt.begin()));
    }
  }
  EXPECT_EQ(index.size(), kept.size());
}

}  // namespace
}  // namespace enclave::server
