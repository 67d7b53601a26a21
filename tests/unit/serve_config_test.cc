// The `enclave serve` settings (src/config/): the key table against its documentation and example
// file, environment overrides and their errors, and the precedence flag > environment > file >
// default.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>

#include "config/config_env.h"
#include "config/config_yaml.h"
#include "config/key_suggest.h"
#include "config/resolve_config.h"
#include "config/serve_config.h"
#include "test_util.h"

namespace enclave::config {
namespace {

namespace fs = std::filesystem;

const ConfigKey& Key(const std::string& path) {
  const size_t dot = path.find('.');
  const ConfigKey* k = FindKey(path.substr(0, dot), path.substr(dot + 1));
  EXPECT_NE(k, nullptr) << path;
  return *k;
}

// The long flag names of a key: "-m,--model" -> {"--model"}.
std::vector<std::string> LongFlags(const ConfigKey& key) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= key.flag.size() && !key.flag.empty()) {
    const size_t comma = key.flag.find(',', start);
    const std::string f = key.flag.substr(start, comma - start);
    if (f.starts_with("--")) out.push_back(f);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

TEST(ServeConfigTest, KeyTableIsWellFormed) {
  std::set<std::string> paths, envs, flags;
  for (const ConfigKey& key : ServeConfigKeys()) {
    EXPECT_TRUE(paths.insert(key.Path()).second) << "duplicate key " << key.Path();
    EXPECT_TRUE(envs.insert(key.EnvName()).second) << "duplicate variable " << key.EnvName();
    for (const std::string& f : LongFlags(key)) EXPECT_TRUE(flags.insert(f).second) << "duplicate flag " << f;
    EXPECT_FALSE(key.help.empty()) << key.Path();
    // snake_case names: the environment variable is their upper-case form.
    for (char c : key.section + key.name) EXPECT_TRUE(std::islower(c) || c == '_') << key.Path();
    // The default must pass its own check, or a file that restates it would be rejected.
    ServeConfig c;
    EXPECT_TRUE(key.SetFromText(key.GetText(ServeConfig()), c).ok()) << key.Path();
  }
  EXPECT_EQ(Key("server.port").EnvName(), "ENCLAVE_SERVER_PORT");
  EXPECT_EQ(Key("model.kv_tokens").EnvName(), "ENCLAVE_MODEL_KV_TOKENS");
  EXPECT_EQ(Key("model.path").flag, "-m,--model");
}

TEST(ServeConfigTest, EveryKeyIsDocumented) {
  // docs/configuration.md has one table row per key: `section.key`, then its flag and variable.
  const std::string doc = testing::ReadTextFile(testing::SourcePath("docs/configuration.md"));
  ASSERT_FALSE(doc.empty());
  for (const ConfigKey& key : ServeConfigKeys()) {
    const size_t row = doc.find("| `" + key.Path() + "` |");
    ASSERT_NE(row, std::string::npos) << key.Path() << " has no row in docs/configuration.md";
    const std::string line = doc.substr(row, doc.find('\n', row) - row);
    EXPECT_NE(line.find("`" + key.EnvName() + "`"), std::string::npos) << key.Path() << ": " << line;
    for (const std::string& f : LongFlags(key)) EXPECT_NE(line.find(f), std::string::npos) << key.Path() << ": " << line;
  }
  for (const std::string& section : ServeConfigSections()) {
    EXPECT_NE(doc.find("### `" + section + "`"), std::string::npos) << section;
  }
}

TEST(ServeConfigTest, ExampleFileHasEveryKeyAtItsDefault) {
  const std::string path = testing::SourcePath("deploy/enclave.yaml");
  ServeConfig example;
  Status s = ApplyYamlFile(path, example);
  ASSERT_TRUE(s.ok()) << s.message();
  const std::string text = testing::ReadTextFile(path);
  const ServeConfig defaults;
  for (const ConfigKey& key : ServeConfigKeys()) {
    EXPECT_NE(text.find("\n  " + key.name + ":"), std::string::npos) << key.Path() << " is missing from " << path;
    if (key.Path() == "model.path") continue;
    EXPECT_EQ(key.GetText(example), key.GetText(defaults)) << key.Path() << ": the example must show the default";
  }
  EXPECT_FALSE(example.model.path.empty());
}

TEST(ServeConfigTest, DefaultsAreTheFlagDefaults) {
  const ServeConfig c;
  EXPECT_EQ(c.server.host, "127.0.0.1");
  EXPECT_EQ(c.server.port, 8080);
  EXPECT_EQ(c.model.context, 4096);
  EXPECT_EQ(c.model.kv_type, "f16");
  EXPECT_EQ(c.scheduler.parallel, 16);
  EXPECT_EQ(c.scheduler.queue, 256);
  EXPECT_EQ(c.scheduler.step_tokens, 512);
  EXPECT_EQ(c.server.max_body_mb, 4);
  EXPECT_EQ(c.server.io_threads, 2);
  EXPECT_EQ(c.server.request_timeout, 30);
  EXPECT_DOUBLE_EQ(c.server.shutdown_timeout, 30);
}

TEST(ServeConfigTest, EnvironmentSetsKeys) {
  ServeConfig c;
  Status s = ApplyEnvironment({{"ENCLAVE_SERVER_PORT", "9000"},
                               {"ENCLAVE_MODEL_PATH", "/m/model.gguf"},
                               {"ENCLAVE_SERVER_SHUTDOWN_TIMEOUT", " 1.5 "},
                               {"ENCLAVE_SCHEDULER_QUEUE", ""},  // empty: unset
                               {"ENCLAVE_SOMETHING_ELSE", "x"}},  // no section of ours: not ours
                              c);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(c.server.port, 9000);
  EXPECT_EQ(c.model.path, "/m/model.gguf");
  EXPECT_DOUBLE_EQ(c.server.shutdown_timeout, 1.5);
  EXPECT_EQ(c.scheduler.queue, 256);
}

TEST(ServeConfigTest, EnvironmentErrorsNameTheVariable) {
  ServeConfig c;
  EXPECT_EQ(ApplyEnvironment({{"ENCLAVE_SERVER_PORT", "abc"}}, c).message(),
            "environment variable ENCLAVE_SERVER_PORT (sets server.port): expected an integer 0..65535, got 'abc'");
  EXPECT_EQ(ApplyEnvironment({{"ENCLAVE_MODEL_KV_TYPE", "F16"}}, c).message(),
            "environment variable ENCLAVE_MODEL_KV_TYPE (sets model.kv_type): expected one of f16, f32, got 'F16'");
  EXPECT_EQ(ApplyEnvironment({{"ENCLAVE_SERVER_PROT", "9000"}}, c).message(),
            "environment variable ENCLAVE_SERVER_PROT names no setting; did you mean ENCLAVE_SERVER_PORT? "
            "(see docs/configuration.md)");
  EXPECT_EQ(ApplyEnvironment({{"ENCLAVE_MODEL_CTX", "9000"}}, c).message(),
            "environment variable ENCLAVE_MODEL_CTX names no setting; did you mean ENCLAVE_MODEL_CONTEXT? "
            "(see docs/configuration.md)");
  EXPECT_EQ(ApplyEnvironment({{"ENCLAVE_LOGGING_LEVEL", "debug"}}, c).message(),
            "environment variable ENCLAVE_LOGGING_LEVEL names no setting (see docs/configuration.md)");
}

TEST(ServeConfigTest, ProcessEnvironmentKeepsOnlyEnclaveVariables) {
  ASSERT_EQ(setenv("ENCLAVE_SERVER_HOST", "10.0.0.1", 1), 0);
  const Environment env = ProcessEnvironment();
  unsetenv("ENCLAVE_SERVER_HOST");
  ASSERT_TRUE(env.count("ENCLAVE_SERVER_HOST"));
  EXPECT_EQ(env.at("ENCLAVE_SERVER_HOST"), "10.0.0.1");
  for (const auto& [name, value] : env) EXPECT_TRUE(name.starts_with("ENCLAVE_")) << name;
}

class ResolveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() / ("enclave_resolve_" + std::to_string(getpid()))).string();
    fs::create_directories(dir_);
    file_ = dir_ + "/enclave.yaml";
    std::ofstream(file_) << "model:\n  path: file.gguf\nserver:\n  host: 10.1.1.1\n  port: 7000\n";
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_, file_;
};

TEST_F(ResolveTest, FlagBeatsEnvironmentBeatsFileBeatsDefault) {
  const ConfigKey* port = &Key("server.port");
  ConfigSources all{file_, {{"ENCLAVE_SERVER_PORT", "8000"}}, {{port, "9000"}}};
  auto c = ResolveServeConfig(all);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->server.port, 9000);
  EXPECT_EQ(c->server.host, "10.1.1.1");  // only in the file
  EXPECT_EQ(c->model.path, "file.gguf");
  EXPECT_EQ(c->scheduler.parallel, 16);   // nowhere: the default

  all.flags.clear();
  EXPECT_EQ(ResolveServeConfig(all)->server.port, 8000);
  all.env.clear();
  EXPECT_EQ(ResolveServeConfig(all)->server.port, 7000);
  all.file.clear();
  EXPECT_EQ(ResolveServeConfig(all)->server.port, 8080);
}

TEST_F(ResolveTest, EachKeyTakesItsOwnHighestSource) {
  ConfigSources s{file_, {{"ENCLAVE_MODEL_PATH", "env.gguf"}}, {{&Key("server.host"), "::1"}}};
  auto c = ResolveServeConfig(s);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->model.path, "env.gguf");
  EXPECT_EQ(c->server.host, "::1");
  EXPECT_EQ(c->server.port, 7000);
}

TEST_F(ResolveTest, ErrorsFromEverySource) {
  EXPECT_EQ(ResolveServeConfig({dir_ + "/missing.yaml", {}, {}}).status().message(),
            "cannot read config file '" + dir_ + "/missing.yaml': No such file or directory");
  EXPECT_EQ(ResolveServeConfig({file_, {{"ENCLAVE_SCHEDULER_PARALLEL", "0"}}, {}}).status().message(),
            "environment variable ENCLAVE_SCHEDULER_PARALLEL (sets scheduler.parallel): expected an integer 1..1024, "
            "got '0'");
  EXPECT_EQ(ResolveServeConfig({"", {}, {{&Key("model.context"), "8"}}}).status().message(),
            "--ctx: expected an integer 16..4194304, got '8'");
}

TEST(ServeConfigTest, ServingNeedsAModelFromSomewhere) {
  ServeConfig c;
  EXPECT_EQ(CheckServable(c).message(),
            "no model to serve: pass -m MODEL, set model.path in the --config file, or set ENCLAVE_MODEL_PATH");
  c.model.path = "m.gguf";
  EXPECT_TRUE(CheckServable(c).ok());
}

TEST(KeySuggestTest, EditDistanceCountsASwapOnce) {
  EXPECT_EQ(EditDistance("port", "port"), 0u);
  EXPECT_EQ(EditDistance("prot", "port"), 1u);
  EXPECT_EQ(EditDistance("", "abc"), 3u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
}

TEST(KeySuggestTest, GuessesOnlyWhenObvious) {
  EXPECT_EQ(SuggestKey("server", "prot"), "server.port");
  EXPECT_EQ(SuggestKey("server", "hots"), "server.host");
  EXPECT_EQ(SuggestKey("model", "model_id"), "model.id");  // the flag --model-id
  EXPECT_EQ(SuggestKey("", "io-threads"), "server.io_threads");
  EXPECT_EQ(SuggestKey("model", "threads"), "model.threads");
  EXPECT_EQ(SuggestKey("server", "xyzzy"), "");
  EXPECT_EQ(SuggestKey("server", ""), "");
  EXPECT_EQ(SuggestSection("Server"), "server");
  EXPECT_EQ(SuggestSection("schedular"), "scheduler");
  EXPECT_EQ(SuggestSection("quota"), "");
  EXPECT_EQ(SuggestSection("audti"), "audit");
}

}  // namespace
}  // namespace enclave::config
