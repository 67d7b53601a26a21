// Model integrity manifests: create, verify, and every way a model or its manifest can differ.
#include <gtest/gtest.h>

#include <filesystem>

#include "audit_test_util.h"
#include "governance/crypto/digest.h"
#include "governance/crypto/ed25519_key.h"
#include "governance/integrity/manifest.h"
#include "governance/integrity/verify_model.h"

namespace enclave::integrity {
namespace {

using enclave::audit::testing::ReadFile;
using enclave::audit::testing::ScratchDir;
using enclave::audit::testing::WriteFile;
namespace fs = std::filesystem;

class ManifestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_file_ = dir_.path() + "/model.gguf";
    WriteFile(model_file_, "abc");
    model_dir_ = dir_.path() + "/hf";
    fs::create_directories(model_dir_ + "/sub");
    WriteFile(model_dir_ + "/config.json", "{}");
    WriteFile(model_dir_ + "/model.safetensors", std::string(5000, 'x'));
    WriteFile(model_dir_ + "/sub/tokenizer.json", "tok");
    auto key = crypto::Ed25519Key::Generate();
    ASSERT_TRUE(key.ok());
    key_path_ = dir_.path() + "/k.pem";
    pub_path_ = *crypto::WriteKeyPair(*key, key_path_);
    key_.emplace(std::move(*key));
  }
  Status Create(const std::string& model, bool sign) {
    ASSIGN_OR_RETURN(Manifest m, CreateManifest(model, DefaultManifestPath(model)));
    if (sign) RETURN_IF_ERROR(SignManifest(m, *key_));
    return WriteManifest(m, DefaultManifestPath(model));
  }

  ScratchDir dir_;
  std::string model_file_, model_dir_, key_path_, pub_path_;
  std::optional<crypto::Ed25519Key> key_;
};

TEST_F(ManifestTest, SingleFileListsItsSha256) {
  ASSERT_TRUE(Create(model_file_, false).ok());
  EXPECT_EQ(DefaultManifestPath(model_file_), model_file_ + ".manifest.json");
  Result<Manifest> m = ReadManifest(model_file_ + ".manifest.json");
  ASSERT_TRUE(m.ok()) << m.status().message();
  ASSERT_EQ(m->files.size(), 1u);
  EXPECT_EQ(m->files[0].path, "model.gguf");
  EXPECT_EQ(m->files[0].bytes, 3u);
  EXPECT_EQ(m->files[0].sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");  // FIPS 180-4 "abc"
  EXPECT_TRUE(VerifyModel(model_file_, {}).ok());
  WriteFile(model_file_, "abd");
  Status s = VerifyModel(model_file_, {});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("model.gguf: SHA-256"), std::string::npos) << s.message();
  WriteFile(model_file_, "abcd");
  EXPECT_NE(VerifyModel(model_file_, {}).message().find("4 bytes, the manifest says 3"), std::string::npos);
}

TEST_F(ManifestTest, DirectoryMissingExtraAndChangedFilesAreNamed) {
  ASSERT_TRUE(Create(model_dir_, false).ok());
  Manifest m;
  ASSERT_TRUE(VerifyModel(model_dir_, {}, &m).ok());
  ASSERT_EQ(m.files.size(), 3u);  // the manifest itself is not listed
  EXPECT_EQ(m.files[2].path, "sub/tokenizer.json");

  WriteFile(model_dir_ + "/extra.bin", "e");
  EXPECT_NE(VerifyModel(model_dir_, {}).message().find("extra.bin: extra file"), std::string::npos);
  fs::remove(model_dir_ + "/extra.bin");
  fs::rename(model_dir_ + "/sub/tokenizer.json", dir_.path() + "/t.json");
  EXPECT_NE(VerifyModel(model_dir_, {}).message().find("sub/tokenizer.json: file missing"), std::string::npos);
  fs::rename(dir_.path() + "/t.json", model_dir_ + "/sub/tokenizer.json");
  std::string w = ReadFile(model_dir_ + "/model.safetensors");
  w[4000] = 'y';
  WriteFile(model_dir_ + "/model.safetensors", w);
  EXPECT_NE(VerifyModel(model_dir_, {}).message().find("model.safetensors: SHA-256"), std::string::npos);
}

TEST_F(ManifestTest, SignatureRules) {
  ASSERT_TRUE(Create(model_dir_, true).ok());
  VerifyModelOptions o;
  o.public_key_path = pub_path_;
  o.require_signature = true;
  EXPECT_TRUE(VerifyModel(model_dir_, o).ok());
  VerifyModelOptions no_key;
  no_key.require_signature = true;
  EXPECT_FALSE(VerifyModel(model_dir_, no_key).ok());

  // Someone changes a file and updates its line in the manifest: the signature no longer holds.
  const std::string manifest_path = DefaultManifestPath(model_dir_);
  WriteFile(model_dir_ + "/config.json", "{\"a\":1}");
  Manifest m = *ReadManifest(manifest_path);
  m.files[0].bytes = 7;
  m.files[0].sha256 = *crypto::Sha256FileHex(model_dir_ + "/config.json");
  ASSERT_TRUE(WriteManifest(m, manifest_path).ok());
  EXPECT_TRUE(VerifyModel(model_dir_, {}).ok());  // unchecked signature: the files match the manifest
  Status s = VerifyModel(model_dir_, o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("does not verify"), std::string::npos) << s.message();

  // Unsigned manifests fail only when a signature is required.
  ASSERT_TRUE(Create(model_file_, false).ok());
  VerifyModelOptions pub_only;
  pub_only.public_key_path = pub_path_;
  EXPECT_TRUE(VerifyModel(model_file_, pub_only).ok());
  EXPECT_NE(VerifyModel(model_file_, o).message().find("not signed"), std::string::npos);

  // Signed by another key.
  auto other = crypto::Ed25519Key::Generate();
  ASSERT_TRUE(other.ok());
  Manifest mf = *ReadManifest(DefaultManifestPath(model_file_));
  ASSERT_TRUE(SignManifest(mf, *other).ok());
  ASSERT_TRUE(WriteManifest(mf, DefaultManifestPath(model_file_)).ok());
  EXPECT_NE(VerifyModel(model_file_, o).message().find("not by the given public key"), std::string::npos);
}

TEST_F(ManifestTest, ParseRejectsPathsOutsideTheModelAndBadShapes) {
  const std::string sha(64, 'a');
  const std::string head =
      "{\"format\":\"enclave-model-manifest-v1\",\"model\":\"m\",\"kind\":\"directory\",\"created\":\"t\",";
  EXPECT_TRUE(ParseManifest(head + "\"files\":[{\"path\":\"a\",\"bytes\":1,\"sha256\":\"" + sha + "\"}]}", "m").ok());
  EXPECT_FALSE(
      ParseManifest(head + "\"files\":[{\"path\":\"../a\",\"bytes\":1,\"sha256\":\"" + sha + "\"}]}", "m").ok());
  EXPECT_FALSE(
      ParseManifest(head + "\"files\":[{\"path\":\"/etc/a\",\"bytes\":1,\"sha256\":\"" + sha + "\"}]}", "m").ok());
  EXPECT_FALSE(ParseManifest(head + "\"files\":[]}", "m").ok());
  EXPECT_FALSE(ParseManifest(head + "\"files\":[{\"path\":\"a\",\"bytes\":1,\"sha256\":\"xyz\"}]}", "m").ok());
  EXPECT_FALSE(ParseManifest("not json", "m").ok());
  EXPECT_FALSE(VerifyModel(dir_.path() + "/nothing", {}).ok());
}

}  // namespace
}  // namespace enclave::integrity
