// A batch of tokens for one forward pass, drawn from any number of sequences: prefill chunks and
// single decode tokens mix freely, so continuous batching is only a matter of scheduling.
#pragma once

#include <cstdint>
#include <vector>

namespace enclave {

struct Batch {
  std::vector<int32_t> tokens;
  std::vector<int32_t> positions;  // position of each token in its sequence (0-based)
  std::vector<int32_t> seq_ids;
  std::vector<uint8_t> want_logits;  // 1: the forward pass returns this token's logits

  void Add(int32_t token, int32_t position, int32_t seq_id, bool logits) {
    tokens.push_back(token);
    positions.push_back(position);
    seq_ids.push_back(seq_id);
    want_logits.push_back(logits ? 1 : 0);
  }
  void Clear() {
    tokens.clear();
    positions.clear();
    seq_ids.clear();
    want_logits.clear();
  }
  int64_t size() const { return static_cast<int64_t>(tokens.size()); }
  int64_t n_logits() const {
    int64_t n = 0;
    for (uint8_t w : want_logits) n += w;
    return n;
  }
};

}  // namespace enclave
