#include "runtime/kv_cache.h"

#include <gtest/gtest.h>

namespace enclave {
namespace {

std::unique_ptr<KvCache> Make(int64_t blocks, int block_tokens = 4) {
  KvCacheOptions o;
  o.n_layers = 2;
  o.kv_dim = 3;
  o.block_tokens = block_tokens;
  o.n_blocks = blocks;
  o.type = DType::kF32;
  auto kv = KvCache::Create(o);
  EXPECT_TRUE(kv.ok());
  return std::move(*kv);
}

TEST(KvCacheTest, AllocatesBlocksAsPositionsGrow) {
  auto kv = Make(8);
  ASSERT_TRUE(kv->PrepareWrite(7, 0, 5).ok());
  EXPECT_EQ(kv->Blocks(7).size(), 2u);
  EXPECT_EQ(kv->Length(7), 5);
  EXPECT_EQ(kv->free_blocks(), 6);
  ASSERT_TRUE(kv->PrepareWrite(7, 5, 8).ok());
  EXPECT_EQ(kv->Blocks(7).size(), 2u);
  ASSERT_TRUE(kv->PrepareWrite(7, 8, 9).ok());
  EXPECT_EQ(kv->Blocks(7).size(), 3u);
  // Slots of one sequence are distinct memory.
  EXPECT_NE(kv->K(0, 7, 0), kv->K(0, 7, 4));
  EXPECT_NE(kv->K(0, 7, 0), kv->K(1, 7, 0));
  EXPECT_NE(kv->K(0, 7, 0), kv->V(0, 7, 0));
}

TEST(KvCacheTest, FullPoolIsAnErrorThatChangesNothing) {
  auto kv = Make(2);
  ASSERT_TRUE(kv->PrepareWrite(1, 0, 8).ok());
  Status st = kv->PrepareWrite(2, 0, 1);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("KV cache full"), std::string::npos);
  EXPECT_FALSE(kv->Has(2));
  EXPECT_EQ(kv->free_blocks(), 0);
  kv->Free(1);
  EXPECT_EQ(kv->free_blocks(), 2);
}

TEST(KvCacheTest, ForkSharesPrefixAndCopiesOnWrite) {
  auto kv = Make(8);
  ASSERT_TRUE(kv->PrepareWrite(1, 0, 6).ok());
  for (int64_t p = 0; p < 6; ++p) {
    for (int layer = 0; layer < 2; ++layer) static_cast<float*>(kv->K(layer, 1, p))[0] = static_cast<float>(100 * layer + p);
  }
  ASSERT_TRUE(kv->Fork(1, 2, 6).ok());
  EXPECT_EQ(kv->Blocks(2), kv->Blocks(1));
  EXPECT_EQ(kv->ref_count(kv->Blocks(1)[0]), 2);
  EXPECT_EQ(kv->free_blocks(), 6);
  // Sequence 2 writes position 6, inside the shared second block: that block is copied first.
  ASSERT_TRUE(kv->PrepareWrite(2, 6, 7).ok());
  EXPECT_EQ(kv->Blocks(2)[0], kv->Blocks(1)[0]);
  EXPECT_NE(kv->Blocks(2)[1], kv->Blocks(1)[1]);
  EXPECT_EQ(static_cast<float*>(kv->K(1, 2, 5))[0], 105.0f);  // copied data, every layer
  static_cast<float*>(kv->K(0, 2, 5))[0] = -1;
  EXPECT_EQ(static_cast<float*>(kv->K(0, 1, 5))[0], 5.0f);  // the original is untouched
  kv->Free(1);
  EXPECT_EQ(kv->ref_count(kv->Blocks(2)[0]), 1);
  kv->Free(2);
  EXPECT_EQ(kv->free_blocks(), 8);
}

TEST(KvCacheTest, TruncateReleasesWholeBlocks) {
  auto kv = Make(8);
  ASSERT_TRUE(kv->PrepareWrite(3, 0, 10).ok());
  kv->Truncate(3, 5);
  EXPECT_EQ(kv->Length(3), 5);
  EXPECT_EQ(kv->Blocks(3).size(), 2u);
  EXPECT_EQ(kv->free_blocks(), 6);
}

TEST(KvCacheTest, BadArguments) {
  auto kv = Make(4);
  EXPECT_FALSE(kv->PrepareWrite(1, 3, 2).ok());
  EXPECT_FALSE(kv->Fork(9, 10, 1).ok());
  ASSERT_TRUE(kv->PrepareWrite(1, 0, 2).ok());
  EXPECT_FALSE(kv->Fork(1, 2, 3).ok());
  EXPECT_FALSE(kv->Fork(1, 1, 1).ok());
  KvCacheOptions bad;
  EXPECT_FALSE(KvCache::Create(bad).ok());
}

}  // namespace
}  // namespace enclave
