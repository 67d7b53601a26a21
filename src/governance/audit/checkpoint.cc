#include "governance/audit/checkpoint.h"

#include <fmt/format.h>

namespace enclave::audit {

std::string CheckpointMessage(uint64_t head_seq, const std::string& head_hash) {
  return fmt::format("enclave-audit-checkpoint-v1\n{}\n{}\n", head_seq, head_hash);
}

Result<nlohmann::ordered_json> CheckpointFields(uint64_t head_seq, const std::string& head_hash,
                                                const crypto::Ed25519Key& key) {
  ASSIGN_OR_RETURN(std::string sig, key.SignHex(CheckpointMessage(head_seq, head_hash)));
  nlohmann::ordered_json f = nlohmann::ordered_json::object();
  f["head_seq"] = head_seq;
  f["head_hash"] = head_hash;
  f["key_id"] = key.key_id();
  f["sig"] = sig;
  return f;
}

Status CheckCheckpoint(const nlohmann::json& record, uint64_t seq, const std::string& prev,
                       const crypto::Ed25519Key* key) {
  if (!record.contains("head_seq") || !record["head_seq"].is_number_unsigned() || !record.contains("head_hash") ||
      !record["head_hash"].is_string() || !record.contains("key_id") || !record["key_id"].is_string() ||
      !record.contains("sig") || !record["sig"].is_string()) {
    return CorruptError("checkpoint without head_seq, head_hash, key_id and sig");
  }
  const uint64_t head_seq = record["head_seq"].get<uint64_t>();
  const std::string head_hash = record["head_hash"].get<std::string>();
  if (head_seq + 1 != seq || head_hash != prev) {
    return CorruptError(fmt::format("checkpoint covers seq {} but follows seq {}", head_seq, seq - 1));
  }
  if (key == nullptr) return Status::Ok();
  const std::string key_id = record["key_id"].get<std::string>();
  if (key_id != key->key_id()) {
    return CorruptError(
        fmt::format("checkpoint signed by key {}, not by the given public key {}", key_id, key->key_id()));
  }
  if (!key->VerifyHex(CheckpointMessage(head_seq, head_hash), record["sig"].get<std::string>())) {
    return CorruptError("checkpoint signature does not verify");
  }
  return Status::Ok();
}

}  // namespace enclave::audit
