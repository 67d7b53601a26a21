// SHA-256 and Ed25519 through OpenSSL: known-answer vectors from FIPS 180-4 examples and RFC 8032.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "governance/crypto/digest.h"
#include "governance/crypto/ed25519_key.h"

namespace enclave::crypto {
namespace {

TEST(GovernanceSha256Test, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  EXPECT_EQ(Sha256Hex(two_blocks), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  Sha256Stream s;  // the same bytes fed in uneven pieces
  s.Update(two_blocks.substr(0, 3));
  s.Update(two_blocks.substr(3, 50));
  s.Update(two_blocks.substr(53));
  EXPECT_EQ(s.FinishHex(), Sha256Hex(two_blocks));
}

TEST(GovernanceSha256Test, FileOfOneMillionAs) {
  char dir[] = "/tmp/enclave_sha_XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/a";
  std::ofstream(path) << std::string(1000000, 'a');
  uint64_t last_done = 0;
  Result<std::string> h = Sha256FileHex(path, [&](uint64_t done, uint64_t total) {
    EXPECT_EQ(total, 1000000u);
    last_done = done;
  });
  ASSERT_TRUE(h.ok()) << h.status().message();
  EXPECT_EQ(*h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  EXPECT_EQ(last_done, 1000000u);
  EXPECT_FALSE(Sha256FileHex(std::string(dir) + "/missing").ok());
  std::remove(path.c_str());
  rmdir(dir);
}

TEST(GovernanceHexTest, RoundTripAndErrors) {
  EXPECT_EQ(HexEncode(std::string("\x00\xff\x10", 3)), "00ff10");
  EXPECT_EQ(*HexDecode("00FF10"), std::string("\x00\xff\x10", 3));
  EXPECT_FALSE(HexDecode("abc").ok());
  EXPECT_FALSE(HexDecode("zz").ok());
  EXPECT_TRUE(IsSha256Hex(std::string(64, 'a')));
  EXPECT_FALSE(IsSha256Hex(std::string(64, 'A')));
  EXPECT_FALSE(IsSha256Hex(std::string(63, 'a')));
}

// RFC 8032 section 7.1, TEST 1: the key and the signature of the empty message.
constexpr char kRfcPrivatePem[] =
    "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n";
constexpr char kRfcPublicPem[] =
    "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n-----END PUBLIC "
    "KEY-----\n";
constexpr char kRfcSignature[] =
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24"
    "655141438e7a100b";

TEST(Ed25519KeyTest, Rfc8032Vector) {
  Result<Ed25519Key> priv = Ed25519Key::ParsePem(kRfcPrivatePem, true, "rfc");
  ASSERT_TRUE(priv.ok()) << priv.status().message();
  Result<Ed25519Key> pub = Ed25519Key::ParsePem(kRfcPublicPem, false, "rfc.pub");
  ASSERT_TRUE(pub.ok()) << pub.status().message();
  EXPECT_TRUE(priv->has_private());
  EXPECT_FALSE(pub->has_private());
  EXPECT_EQ(priv->key_id(), "21fe31dfa154a261");  // SHA-256 of the raw public key, first 8 bytes
  EXPECT_EQ(pub->key_id(), priv->key_id());
  Result<std::string> sig = priv->SignHex("");
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(*sig, kRfcSignature);
  EXPECT_TRUE(pub->VerifyHex("", kRfcSignature));
  EXPECT_FALSE(pub->VerifyHex("x", kRfcSignature));
  std::string bad = kRfcSignature;
  bad[10] = bad[10] == '0' ? '1' : '0';
  EXPECT_FALSE(pub->VerifyHex("", bad));
  EXPECT_FALSE(pub->VerifyHex("", "zz"));
  EXPECT_FALSE(pub->SignHex("x").ok());  // no private half
  EXPECT_FALSE(Ed25519Key::ParsePem(kRfcPublicPem, true, "pub as private").ok());
  EXPECT_FALSE(Ed25519Key::ParsePem("garbage", false, "garbage").ok());
}

TEST(Ed25519KeyTest, KeygenWritesPairWithPrivateModeAndNeverOverwrites) {
  char dir[] = "/tmp/enclave_key_XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/audit.pem";
  Result<Ed25519Key> key = Ed25519Key::Generate();
  ASSERT_TRUE(key.ok());
  Result<std::string> pub_path = WriteKeyPair(*key, path);
  ASSERT_TRUE(pub_path.ok()) << pub_path.status().message();
  EXPECT_EQ(*pub_path, std::string(dir) + "/audit.pub.pem");
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(WriteKeyPair(*key, path).ok());
  Result<Ed25519Key> priv = Ed25519Key::LoadPrivatePem(path);
  Result<Ed25519Key> pub = Ed25519Key::LoadPublicPem(*pub_path);
  ASSERT_TRUE(priv.ok() && pub.ok());
  EXPECT_EQ(pub->key_id(), key->key_id());
  EXPECT_TRUE(pub->VerifyHex("m", *priv->SignHex("m")));
  EXPECT_TRUE(Ed25519Key::LoadPublicPem(path).ok());  // a private key file gives its public half
  EXPECT_FALSE(Ed25519Key::LoadPrivatePem(*pub_path).ok());
  std::remove(path.c_str());
  std::remove(pub_path->c_str());
  rmdir(dir);
}

}  // namespace
}  // namespace enclave::crypto
