#include "governance/integrity/manifest.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "format/json_limits.h"
#include "governance/audit/audit_record.h"
#include "governance/crypto/digest.h"

namespace enclave::integrity {
namespace {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

ojson UnsignedJson(const Manifest& m) {
  ojson j = ojson::object();
  j["format"] = kManifestFormat;
  j["model"] = m.model;
  j["kind"] = m.directory ? "directory" : "file";
  j["created"] = m.created;
  j["files"] = ojson::array();
  for (const ManifestFile& f : m.files) {
    j["files"].push_back({{"path", f.path}, {"bytes", f.bytes}, {"sha256", f.sha256}});
  }
  return j;
}

std::string Dump(const ojson& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string DefaultManifestPath(const std::string& model_path) {
  std::error_code ec;
  if (fs::is_directory(model_path, ec)) return (fs::path(model_path) / kDirManifestName).string();
  return model_path + ".manifest.json";
}

Result<std::vector<ManifestFile>> ListModelFiles(const std::string& model_path, const std::string& exclude) {
  std::error_code ec;
  const fs::file_status st = fs::status(model_path, ec);
  if (ec || !fs::exists(st)) return NotFoundError(fmt::format("{} does not exist", model_path));
  std::vector<ManifestFile> out;
  if (fs::is_regular_file(st)) {
    out.push_back({fs::path(model_path).filename().string(), fs::file_size(model_path, ec), ""});
    return out;
  }
  if (!fs::is_directory(st))
    return InvalidArgumentError(fmt::format("{} is neither a file nor a directory", model_path));
  const fs::path root(model_path);
  std::error_code path_ec;  // per-entry problems (a dangling link) skip the entry, not the listing
  const fs::path excluded = exclude.empty() ? fs::path() : fs::weakly_canonical(exclude, path_ec);
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file(path_ec)) continue;  // follows symlinks to files; directories are walked
    const std::string rel = it->path().lexically_relative(root).generic_string();
    if (rel == kDirManifestName) continue;
    if (!excluded.empty() && fs::weakly_canonical(it->path(), path_ec) == excluded) continue;
    const uint64_t bytes = it->file_size(path_ec);
    if (path_ec) return IoError(fmt::format("cannot stat {}: {}", it->path().string(), path_ec.message()));
    out.push_back({rel, bytes, ""});
  }
  if (ec) return IoError(fmt::format("cannot list {}: {}", model_path, ec.message()));
  std::sort(out.begin(), out.end(), [](const ManifestFile& a, const ManifestFile& b) { return a.path < b.path; });
  return out;
}

Result<Manifest> CreateManifest(const std::string& model_path, const std::string& manifest_path,
                                const ProgressFn& progress) {
  Manifest m;
  std::error_code ec;
  m.directory = fs::is_directory(model_path, ec);
  m.model = fs::path(model_path).lexically_normal().filename().string();
  if (m.model.empty()) m.model = fs::path(model_path).lexically_normal().parent_path().filename().string();
  m.created = audit::FormatTime(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  ASSIGN_OR_RETURN(m.files, ListModelFiles(model_path, manifest_path));
  if (m.files.empty()) return InvalidArgumentError(fmt::format("{} holds no files", model_path));
  uint64_t total = 0, done = 0;
  for (const ManifestFile& f : m.files) total += f.bytes;
  for (ManifestFile& f : m.files) {
    const std::string full = m.directory ? (fs::path(model_path) / f.path).string() : model_path;
    const uint64_t base = done;
    ASSIGN_OR_RETURN(f.sha256, crypto::Sha256FileHex(full, [&](uint64_t d, uint64_t) {
                       if (progress) progress(base + d, total);
                     }));
    done += f.bytes;
  }
  if (progress) progress(total, total);
  return m;
}

std::string CanonicalManifestBytes(const Manifest& m) { return Dump(UnsignedJson(m), -1); }

Status SignManifest(Manifest& m, const crypto::Ed25519Key& key) {
  ASSIGN_OR_RETURN(std::string sig, key.SignHex(CanonicalManifestBytes(m)));
  m.signature = ManifestSignature{key.key_id(), sig};
  return Status::Ok();
}

bool ManifestSignatureValid(const Manifest& m, const crypto::Ed25519Key& key) {
  return m.signature && m.signature->key_id == key.key_id() &&
         key.VerifyHex(CanonicalManifestBytes(m), m.signature->sig);
}

std::string ManifestToText(const Manifest& m) {
  ojson j = UnsignedJson(m);
  if (m.signature) {
    j["signature"] = {{"alg", "ed25519"}, {"key_id", m.signature->key_id}, {"sig", m.signature->sig}};
  }
  return Dump(j, 2) + "\n";
}

Result<Manifest> ParseManifest(std::string_view text, const std::string& name) {
  Result<nlohmann::json> parsed = ParseJsonLimited(text, name);
  if (!parsed.ok()) return CorruptError(parsed.status().message());
  const nlohmann::json& j = *parsed;
  auto bad = [&](const std::string& what) { return CorruptError(fmt::format("{}: {}", name, what)); };
  if (!j.is_object()) return bad("not a JSON object");
  if (!j.contains("format") || !j["format"].is_string() || j["format"].get<std::string>() != kManifestFormat)
    return bad(fmt::format("format is not \"{}\"", kManifestFormat));
  Manifest m;
  if (!j.contains("model") || !j["model"].is_string() || !j.contains("created") || !j["created"].is_string() ||
      !j.contains("kind") || !j["kind"].is_string() || !j.contains("files") || !j["files"].is_array()) {
    return bad("needs model, kind, created and files");
  }
  m.model = j["model"].get<std::string>();
  m.created = j["created"].get<std::string>();
  const std::string kind = j["kind"].get<std::string>();
  if (kind != "file" && kind != "directory") return bad("kind is neither \"file\" nor \"directory\"");
  m.directory = kind == "directory";
  for (const auto& f : j["files"]) {
    if (!f.is_object() || !f.contains("path") || !f["path"].is_string() || !f.contains("bytes") ||
        !f["bytes"].is_number_unsigned() || !f.contains("sha256") || !f["sha256"].is_string() ||
        !crypto::IsSha256Hex(f["sha256"].get<std::string>())) {
      return bad("each file needs path, bytes and a 64-digit lowercase sha256");
    }
    const std::string path = f["path"].get<std::string>();
    // Paths stay inside the model directory: no absolute paths, no "..".
    const fs::path p(path);
    if (path.empty() || p.is_absolute() ||
        std::any_of(p.begin(), p.end(), [](const fs::path& c) { return c == ".."; })) {
      return bad(fmt::format("file path '{}' leaves the model directory", path));
    }
    m.files.push_back({path, f["bytes"].get<uint64_t>(), f["sha256"].get<std::string>()});
  }
  if (m.files.empty()) return bad("lists no files");
  if (!m.directory && m.files.size() != 1) return bad("a single-file manifest lists more than one file");
  for (size_t i = 1; i < m.files.size(); ++i) {
    if (!(m.files[i - 1].path < m.files[i].path)) return bad("files are not sorted by path, or repeat");
  }
  if (j.contains("signature")) {
    const auto& s = j["signature"];
    if (!s.is_object() || !s.contains("alg") || !s["alg"].is_string() || s["alg"].get<std::string>() != "ed25519" ||
        !s.contains("key_id") || !s["key_id"].is_string() || !s.contains("sig") || !s["sig"].is_string()) {
      return bad("signature needs alg \"ed25519\", key_id and sig");
    }
    m.signature = ManifestSignature{s["key_id"].get<std::string>(), s["sig"].get<std::string>()};
  }
  return m;
}

Status WriteManifest(const Manifest& m, const std::string& path) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << ManifestToText(m);
    out.flush();
    if (!out) return IoError(fmt::format("cannot write {}", tmp));
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return IoError(fmt::format("cannot rename {} to {}: {}", tmp, path, ec.message()));
  return Status::Ok();
}

Result<Manifest> ReadManifest(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return NotFoundError(fmt::format("no manifest at {} (make one with `enclave manifest create`)", path));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseManifest(ss.str(), path);
}

}  // namespace enclave::integrity
