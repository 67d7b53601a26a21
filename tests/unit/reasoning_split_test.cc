#include <gtest/gtest.h>

#include <random>

#include "tokenizer/reasoning_split.h"

namespace enclave::tokenizer {
namespace {

struct Split {
  std::string reasoning, content;
};

// Feeds `text` in chunks cut at the given positions.
Split SplitInChunks(const std::string& text, bool starts_in_reasoning, const std::vector<size_t>& cuts) {
  ReasoningSplitter s(starts_in_reasoning);
  Split out;
  size_t prev = 0;
  for (size_t c : cuts) {
    auto d = s.Push(std::string_view(text).substr(prev, c - prev));
    out.reasoning += d.reasoning;
    out.content += d.content;
    prev = c;
  }
  auto d = s.Push(std::string_view(text).substr(prev));
  out.reasoning += d.reasoning;
  out.content += d.content;
  d = s.Finish();
  out.reasoning += d.reasoning;
  out.content += d.content;
  return out;
}

TEST(ReasoningSplitTest, WholeAndEveryTwoWayCut) {
  const std::string text = "<think>\nLet me compute 12*7.\n</think>\n\n12 × 7 = 84";
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    const Split s = SplitInChunks(text, false, {cut});
    EXPECT_EQ(s.reasoning, "\nLet me compute 12*7.\n") << cut;
    EXPECT_EQ(s.content, "\n\n12 × 7 = 84") << cut;
  }
}

TEST(ReasoningSplitTest, PromptAlreadyOpenedTheBlock) {
  const std::string text = "First, 12*7 = 84.\n</think>\n\nThe answer is 84. Tags like </think> stay in content.";
  std::mt19937 rng(1);
  for (int rep = 0; rep < 200; ++rep) {
    std::vector<size_t> cuts;
    for (size_t i = 1; i < text.size(); ++i) {
      if (rng() % 4 == 0) cuts.push_back(i);
    }
    const Split s = SplitInChunks(text, true, cuts);
    EXPECT_EQ(s.reasoning, "First, 12*7 = 84.\n");
    EXPECT_EQ(s.content, "\n\nThe answer is 84. Tags like </think> stay in content.");
  }
}

TEST(ReasoningSplitTest, NoReasoningBlockMeansAllContent) {
  EXPECT_EQ(SplitInChunks("Hello <think>not reasoning</think>", false, {3, 9}).content, "Hello <think>not reasoning</think>");
  EXPECT_EQ(SplitInChunks("<thin", false, {}).content, "<thin");  // an unfinished tag at the end is text
  EXPECT_EQ(SplitInChunks("  <think>r</think>c", false, {1}).reasoning, "r");
  const Split unclosed = SplitInChunks("<think>still thinking </thi", false, {10});
  EXPECT_EQ(unclosed.reasoning, "still thinking </thi");
  EXPECT_EQ(unclosed.content, "");
}

}  // namespace
}  // namespace enclave::tokenizer
