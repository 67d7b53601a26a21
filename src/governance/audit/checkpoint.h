// Signed checkpoints (docs/audit-log.md): a "checkpoint" record carries the chain head it covers
// (head_seq, head_hash: the seq and hash of the record just before it) and an Ed25519 signature
// over a fixed message built from them. Whoever rewrites records before a checkpoint must also
// forge its signature. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "base/status.h"
#include "governance/crypto/ed25519_key.h"

namespace enclave::audit {

// "enclave-audit-checkpoint-v1\n<head_seq>\n<head_hash>\n": the exact bytes signed.
std::string CheckpointMessage(uint64_t head_seq, const std::string& head_hash);

// The fields of the checkpoint record following record (head_seq, head_hash).
Result<nlohmann::ordered_json> CheckpointFields(uint64_t head_seq, const std::string& head_hash,
                                                const crypto::Ed25519Key& key);

// Checks a checkpoint record's fields: it covers (seq - 1, prev), and, when `key` is given, its
// signature verifies under it. The error says what is wrong.
Status CheckCheckpoint(const nlohmann::json& record, uint64_t seq, const std::string& prev,
                       const crypto::Ed25519Key* key);

}  // namespace enclave::audit
