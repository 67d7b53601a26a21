#include "tokenizer/tokenizer.h"

#include <fmt/format.h>

#include <algorithm>
#include <queue>

#include "format/utf8.h"
#include "tokenizer/byte_level.h"

namespace enclave::tokenizer {
namespace {

uint64_t PairKey(TokenId a, TokenId b) { return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b); }

}  // namespace

Result<std::unique_ptr<Tokenizer>> Tokenizer::Create(TokenizerSpec spec) {
  if (!spec.pre_tokenizer) return InvalidArgumentError("tokenizer has no pre-tokenizer");
  if (spec.vocab.empty()) return InvalidArgumentError("tokenizer vocabulary is empty");
  std::unique_ptr<Tokenizer> t(new Tokenizer());
  t->id_to_token_ = std::move(spec.vocab);
  t->token_to_id_.reserve(t->id_to_token_.size());
  for (size_t id = 0; id < t->id_to_token_.size(); ++id) {
    // Later duplicates never win, as in `tokenizers` (the vocab is a map from token to id).
    t->token_to_id_.emplace(t->id_to_token_[id], static_cast<TokenId>(id));
  }
  // A vocabulary may lack some bytes (SmolLM2's has no token for most control bytes): such bytes
  // are dropped when encoding, as Hugging Face tokenizers drops characters it has no token for
  // (with no unk token), and the neighbours on either side may then merge.
  for (int b = 0; b < 256; ++b) {
    auto it = t->token_to_id_.find(std::string(ByteToUtf8(static_cast<uint8_t>(b))));
    t->byte_token_[b] = it == t->token_to_id_.end() ? kNoToken : it->second;
  }
  t->merges_.reserve(spec.merges.size());
  for (size_t rank = 0; rank < spec.merges.size(); ++rank) {
    const auto& [a, b] = spec.merges[rank];
    auto ia = t->token_to_id_.find(a), ib = t->token_to_id_.find(b), im = t->token_to_id_.find(a + b);
    if (ia == t->token_to_id_.end() || ib == t->token_to_id_.end() || im == t->token_to_id_.end()) {
      return InvalidArgumentError(fmt::format("merge #{} '{} {}' uses a token missing from the vocabulary", rank, a, b));
    }
    t->merges_.emplace(PairKey(ia->second, ib->second), std::make_pair(static_cast<int32_t>(rank), im->second));
  }
  t->is_added_.assign(t->id_to_token_.size(), false);
  t->is_special_.assign(t->id_to_token_.size(), false);
  for (auto& a : spec.added) {
    if (a.id < 0) return InvalidArgumentError(fmt::format("added token '{}' has negative id {}", a.content, a.id));
    if (a.content.empty()) return InvalidArgumentError(fmt::format("added token {} is empty", a.id));
    if (static_cast<size_t>(a.id) >= t->id_to_token_.size()) {
      t->id_to_token_.resize(a.id + 1);
      t->is_added_.resize(a.id + 1, false);
      t->is_special_.resize(a.id + 1, false);
    }
    t->id_to_token_[a.id] = a.content;
    t->token_to_id_[a.content] = a.id;
    t->is_added_[a.id] = true;
    t->is_special_[a.id] = a.special;
    t->added_.push_back(std::move(a));
  }
  std::stable_sort(t->added_.begin(), t->added_.end(),
                   [](const AddedToken& x, const AddedToken& y) { return x.content.size() > y.content.size(); });
  t->added_by_first_byte_.assign(256, {});
  for (size_t i = 0; i < t->added_.size(); ++i) {
    t->added_by_first_byte_[static_cast<unsigned char>(t->added_[i].content[0])].push_back(i);
  }
  t->pre_tokenizer_ = std::move(spec.pre_tokenizer);
  t->ignore_merges_ = spec.ignore_merges;
  const auto in_vocab = [&](std::optional<TokenId> id) { return !id || (*id >= 0 && static_cast<size_t>(*id) < t->id_to_token_.size()); };
  if (!in_vocab(spec.bos) || !in_vocab(spec.eos)) return InvalidArgumentError("BOS or EOS id is outside the vocabulary");
  t->bos_ = spec.bos;
  t->eos_ = spec.eos;
  t->add_bos_ = spec.add_bos && spec.bos.has_value();
  t->add_eos_ = spec.add_eos && spec.eos.has_value();
  t->chat_template_ = std::move(spec.chat_template);
  return t;
}

std::optional<TokenId> Tokenizer::Find(std::string_view token_text) const {
  auto it = token_to_id_.find(std::string(token_text));
  if (it == token_to_id_.end()) return std::nullopt;
  return it->second;
}

bool Tokenizer::IsSpecial(TokenId id) const {
  return id >= 0 && static_cast<size_t>(id) < is_special_.size() && is_special_[id];
}

void Tokenizer::EncodePiece(std::string_view piece, std::vector<TokenId>* out) const {
  if (piece.empty()) return;
  if (ignore_merges_) {
    if (auto id = Find(BytesToByteLevel(piece))) {
      out->push_back(*id);
      return;
    }
  }
  struct Symbol {
    TokenId id;
    int prev, next;
  };
  std::vector<Symbol> syms;
  syms.reserve(piece.size());
  for (unsigned char c : piece) {
    if (byte_token_[c] == kNoToken) continue;
    const int i = static_cast<int>(syms.size());
    syms.push_back({byte_token_[c], i - 1, -1});
    if (i > 0) syms[i - 1].next = i;
  }
  if (syms.empty()) return;
  if (syms.size() == 1) {
    out->push_back(syms[0].id);
    return;
  }
  struct Candidate {
    int32_t rank;
    int left;
    TokenId left_id, right_id, merged;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
  auto consider = [&](int left) {
    if (left < 0 || syms[left].next < 0) return;
    const Symbol& l = syms[left];
    const Symbol& r = syms[l.next];
    auto it = merges_.find(PairKey(l.id, r.id));
    if (it != merges_.end()) heap.push({it->second.first, left, l.id, r.id, it->second.second});
  };
  for (int i = 0; i + 1 < static_cast<int>(syms.size()); ++i) consider(i);
  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    Symbol& l = syms[c.left];
    // Stale: the left symbol changed, died (id -1) or its right neighbour changed.
    if (l.id != c.left_id || l.next < 0 || syms[l.next].id != c.right_id) continue;
    const int right = l.next;
    l.id = c.merged;
    l.next = syms[right].next;
    if (l.next >= 0) syms[l.next].prev = c.left;
    syms[right].id = -1;
    consider(l.prev);
    consider(c.left);
  }
  for (int i = 0; i >= 0; i = syms[i].next) out->push_back(syms[i].id);
}

void Tokenizer::EncodeOrdinary(std::string_view text, std::vector<TokenId>* out) const {
  if (text.empty()) return;
  std::vector<std::string_view> pieces;
  // Split only fails on a PCRE2 internal error; the text was validated as UTF-8 already.
  if (!pre_tokenizer_->Split(text, &pieces).ok()) pieces.assign(1, text);
  for (std::string_view p : pieces) EncodePiece(p, out);
}

Result<std::vector<TokenId>> Tokenizer::Encode(std::string_view text, bool add_special) const {
  if (!IsValidUtf8(text)) return InvalidArgumentError("text is not valid UTF-8");
  std::vector<TokenId> ids;
  if (add_special && add_bos_) ids.push_back(*bos_);
  size_t start = 0;
  for (size_t i = 0; i < text.size();) {
    const AddedToken* hit = nullptr;
    for (size_t k : added_by_first_byte_[static_cast<unsigned char>(text[i])]) {
      const std::string& c = added_[k].content;
      if (text.compare(i, c.size(), c) == 0) {
        hit = &added_[k];
        break;  // candidates are longest first
      }
    }
    if (hit == nullptr) {
      ++i;
      continue;
    }
    EncodeOrdinary(text.substr(start, i - start), &ids);
    ids.push_back(hit->id);
    i += hit->content.size();
    start = i;
  }
  EncodeOrdinary(text.substr(start), &ids);
  if (add_special && add_eos_) ids.push_back(*eos_);
  return ids;
}

Result<std::string> Tokenizer::TokenBytes(TokenId id) const {
  if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size()) {
    return OutOfRangeError(fmt::format("token id {} is outside the vocabulary (0..{})", id, id_to_token_.size() - 1));
  }
  if (is_added_[id]) return id_to_token_[id];
  auto bytes = ByteLevelToBytes(id_to_token_[id]);
  return bytes ? *bytes : id_to_token_[id];
}

Result<std::string> Tokenizer::DecodeBytes(const std::vector<TokenId>& ids, bool skip_special) const {
  std::string out;
  for (TokenId id : ids) {
    if (skip_special && IsSpecial(id)) continue;
    ASSIGN_OR_RETURN(std::string b, TokenBytes(id));
    out += b;
  }
  return out;
}

Result<std::string> StreamDecoder::Push(TokenId id) {
  if (skip_special_ && tokenizer_.IsSpecial(id)) return std::string();
  ASSIGN_OR_RETURN(std::string b, tokenizer_.TokenBytes(id));
  pending_ += b;
  // Emit everything up to the last position where a complete UTF-8 sequence ends.
  size_t cut = pending_.size();
  size_t i = pending_.size();
  int back = 0;
  while (i > 0 && back < 4) {
    --i;
    ++back;
    const auto c = static_cast<unsigned char>(pending_[i]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    const size_t need = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
    if (pending_.size() - i < need) cut = i;  // the last character is incomplete
    break;
  }
  std::string ready = pending_.substr(0, cut);
  pending_.erase(0, cut);
  return ready;
}

std::string StreamDecoder::Finish() {
  // What is held is at most one incomplete sequence: one replacement character, as Python's
  // bytes.decode(errors="replace") gives.
  std::string out = pending_.empty() ? "" : "\xEF\xBF\xBD";
  pending_.clear();
  return out;
}

}  // namespace enclave::tokenizer
