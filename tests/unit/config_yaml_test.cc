// The `enclave serve --config` file reader (src/config/config_yaml.h): nested sections, every error
// path with the message a user sees (file:line:column, what was expected, a "did you mean"), the
// YAML writer read back, and arbitrary bytes never crashing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "config/config_yaml.h"
#include "config/serve_config.h"

namespace enclave::config {
namespace {

namespace fs = std::filesystem;

Result<ServeConfig> Parse(const std::string& text) {
  ServeConfig c;
  RETURN_IF_ERROR(ApplyYamlText(text, "enclave.yaml", c));
  return c;
}

// The error message for `text`, or a note that there was none.
std::string ErrorOf(const std::string& text) {
  auto r = Parse(text);
  return r.ok() ? "(no error)" : r.status().message();
}

TEST(ConfigYamlTest, ReadsNestedSections) {
  auto c = Parse(R"(
model:
  path: /models/r1.gguf
  id: deepseek-r1
  threads: 8
  context: 8192
  kv_tokens: 65536
  kv_type: f32
  quantize: q4_k
  chat_template: deepseek-r1
server:
  host: 0.0.0.0
  port: 9000
  io_threads: 4
  max_body_mb: 16
  request_timeout: 60
  shutdown_timeout: 2.5
scheduler: {parallel: 32, queue: 1000, step_tokens: 256}
logging:
  access_log: "/var/log/enclave/access.log"
)");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->model.path, "/models/r1.gguf");
  EXPECT_EQ(c->model.id, "deepseek-r1");
  EXPECT_EQ(c->model.threads, 8);
  EXPECT_EQ(c->model.context, 8192);
  EXPECT_EQ(c->model.kv_tokens, 65536);
  EXPECT_EQ(c->model.kv_type, "f32");
  EXPECT_EQ(c->model.quantize, "q4_k");
  EXPECT_EQ(c->model.chat_template, "deepseek-r1");
  EXPECT_EQ(c->server.host, "0.0.0.0");
  EXPECT_EQ(c->server.port, 9000);
  EXPECT_EQ(c->server.io_threads, 4);
  EXPECT_EQ(c->server.max_body_mb, 16);
  EXPECT_EQ(c->server.request_timeout, 60);
  EXPECT_DOUBLE_EQ(c->server.shutdown_timeout, 2.5);
  EXPECT_EQ(c->scheduler.parallel, 32);
  EXPECT_EQ(c->scheduler.queue, 1000);
  EXPECT_EQ(c->scheduler.step_tokens, 256);
  EXPECT_EQ(c->logging.access_log, "/var/log/enclave/access.log");
}

TEST(ConfigYamlTest, WhatTheFileLeavesOutKeepsItsValue) {
  ServeConfig c;
  c.server.port = 1234;  // as if set by a lower-precedence source
  ASSERT_TRUE(ApplyYamlText("server:\n  host: ::1\n", "f", c).ok());
  EXPECT_EQ(c.server.host, "::1");
  EXPECT_EQ(c.server.port, 1234);
  EXPECT_EQ(c.scheduler.parallel, ServeConfig().scheduler.parallel);
}

TEST(ConfigYamlTest, EmptyFileSectionOrValueSetsNothing) {
  for (const char* text : {"", "\n", "# only a comment\n", "---\n", "server:\n", "server: {}\n",
                           "server:\n  port:\n", "server:\n  port: ~\n", "model:\n  path: null\n"}) {
    auto c = Parse(text);
    ASSERT_TRUE(c.ok()) << text << ": " << c.status().message();
    EXPECT_EQ(c->server.port, 8080) << text;
    EXPECT_EQ(c->model.path, "") << text;
  }
}

TEST(ConfigYamlTest, QuotedValuesAreTakenAsWritten) {
  auto c = Parse("model:\n  path: 'dir with: colon/#m.gguf'\n  quantize: \"\"\nserver:\n  port: \"9001\"\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->model.path, "dir with: colon/#m.gguf");
  EXPECT_EQ(c->model.quantize, "");
  EXPECT_EQ(c->server.port, 9001);
}

TEST(ConfigYamlTest, WrongTypeNamesKeyLineAndExpectation) {
  EXPECT_EQ(ErrorOf("server:\n  port: abc\n"), "enclave.yaml:2:9: server.port: expected an integer 0..65535, got 'abc'");
  EXPECT_EQ(ErrorOf("server:\n  port: 70000\n"),
            "enclave.yaml:2:9: server.port: expected an integer 0..65535, got '70000'");
  EXPECT_EQ(ErrorOf("server:\n  port: 80.5\n"), "enclave.yaml:2:9: server.port: expected an integer 0..65535, got '80.5'");
  EXPECT_EQ(ErrorOf("server:\n  port: [1, 2]\n"), "enclave.yaml:2:9: server.port: expected an integer 0..65535, got a list");
  EXPECT_EQ(ErrorOf("server:\n  host: {a: 1}\n"), "enclave.yaml:2:9: server.host: expected a string, got a mapping");
  EXPECT_EQ(ErrorOf("server:\n  shutdown_timeout: -1\n"),
            "enclave.yaml:2:21: server.shutdown_timeout: expected a number 0..3600, got '-1'");
  EXPECT_EQ(ErrorOf("server:\n  shutdown_timeout: .nan\n"),
            "enclave.yaml:2:21: server.shutdown_timeout: expected a number 0..3600, got '.nan'");
  EXPECT_EQ(ErrorOf("model:\n  kv_type: q8\n"), "enclave.yaml:2:12: model.kv_type: expected one of f16, f32, got 'q8'");
  EXPECT_EQ(ErrorOf("model:\n  quantize: q5\n"),
            "enclave.yaml:2:13: model.quantize: expected one of q8_0, q4_k (or empty), got 'q5'");
  EXPECT_EQ(ErrorOf("model:\n  context: 8\n"),
            "enclave.yaml:2:12: model.context: expected an integer 16..4194304, got '8'");
  EXPECT_EQ(ErrorOf("scheduler:\n  parallel: 0\n"),
            "enclave.yaml:2:13: scheduler.parallel: expected an integer 1..1024, got '0'");
  // Integers are decimal: no hex, exponent or trailing text.
  for (const char* v : {"0x1f90", "8e3", "8080abc", "+8080", "true"}) {
    EXPECT_NE(ErrorOf(std::string("server:\n  port: ") + v + "\n").find("expected an integer"), std::string::npos) << v;
  }
}

TEST(ConfigYamlTest, StringsAreUtf8TextWithoutControlBytes) {
  // What --print-config could not print back as the same value is refused (found by config_fuzz).
  EXPECT_EQ(ErrorOf("model:\n  id: \"a\\x01b\"\n"),
            "enclave.yaml:2:7: model.id: expected UTF-8 text without control characters (a damaged file or variable?)");
  EXPECT_EQ(ErrorOf("model:\n  path: \xff\xfe.gguf\n"),
            "enclave.yaml:2:9: model.path: expected UTF-8 text without control characters (a damaged file or variable?)");
  auto ok = Parse("model:\n  path: /modèles/模型.gguf\n");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->model.path, "/modèles/模型.gguf");
  EXPECT_EQ(ErrorOf("server:\n  port: \"\\x07\"\n"), "enclave.yaml:2:9: server.port: expected an integer 0..65535, got '?'");
}

TEST(ConfigYamlTest, LongBadValuesAreShortenedInMessages) {
  const std::string err = ErrorOf("server:\n  port: " + std::string(5000, '9') + "\n");
  EXPECT_LT(err.size(), 200u) << err;
  EXPECT_NE(err.find("..."), std::string::npos) << err;
}

TEST(ConfigYamlTest, UnknownKeySuggestsTheObviousOne) {
  EXPECT_EQ(ErrorOf("server:\n  prot: 9000\n"), "enclave.yaml:2:3: unknown key 'server.prot'; did you mean 'server.port'?");
  EXPECT_EQ(ErrorOf("server:\n  max-body-mb: 8\n"),
            "enclave.yaml:2:3: unknown key 'server.max-body-mb'; did you mean 'server.max_body_mb'?");
  EXPECT_EQ(ErrorOf("server:\n  threads: 8\n"),
            "enclave.yaml:2:3: unknown key 'server.threads'; did you mean 'model.threads'?");
  EXPECT_EQ(ErrorOf("model:\n  ctx: 8192\n"), "enclave.yaml:2:3: unknown key 'model.ctx'; did you mean 'model.context'?");
  EXPECT_EQ(ErrorOf("scheduler:\n  stepTokens: 64\n"),
            "enclave.yaml:2:3: unknown key 'scheduler.stepTokens'; did you mean 'scheduler.step_tokens'?");
}

TEST(ConfigYamlTest, UnknownKeyWithoutAGuessListsTheSection) {
  EXPECT_EQ(ErrorOf("scheduler:\n  fairness: lottery\n"),
            "enclave.yaml:2:3: unknown key 'scheduler.fairness' (keys of scheduler: parallel, queue, step_tokens, prefix_cache_entries)");
}

TEST(ConfigYamlTest, UnknownSection) {
  EXPECT_EQ(ErrorOf("servr:\n  port: 1\n"),
            "enclave.yaml:1:1: unknown section 'servr'; did you mean 'server'? "
            "(sections: model, server, scheduler, logging, auth, tls, audit, pii, filter, integrity)");
  EXPECT_EQ(ErrorOf("port: 9000\n"),
            "enclave.yaml:1:1: unknown section 'port'; did you mean 'server.port'? Keys go inside their section: "
            "'server: {port: ...}' (sections: model, server, scheduler, logging, auth, tls, audit, pii, filter, integrity)");
  EXPECT_EQ(ErrorOf("server.port: 9000\n"),
            "enclave.yaml:1:1: unknown section 'server.port'; keys go inside their section: 'server: {port: ...}' "
            "(sections: model, server, scheduler, logging, auth, tls, audit, pii, filter, integrity)");
  EXPECT_EQ(ErrorOf("quota:\n  daily: 5\n"),
            "enclave.yaml:1:1: unknown section 'quota' (sections: model, server, scheduler, logging, auth, tls, audit, "
            "pii, filter, integrity)");
}

TEST(ConfigYamlTest, ShapeErrors) {
  EXPECT_EQ(ErrorOf("server: 8080\n"),
            "enclave.yaml:1:9: section 'server' must hold keys, as in 'server: {host: ...}', got a single value");
  EXPECT_EQ(ErrorOf("- server\n- model\n"),
            "enclave.yaml:1:1: expected sections (model, server, scheduler, logging, auth, tls, audit, pii, filter, integrity) at the top level, got a list");
  EXPECT_EQ(ErrorOf("just text\n"),
            "enclave.yaml:1:1: expected sections (model, server, scheduler, logging, auth, tls, audit, pii, filter, integrity) at the top level, got a single value");
  EXPECT_EQ(ErrorOf("? [a, b]\n: 1\n"), "enclave.yaml:1:3: expected a section name, got a list");
  EXPECT_EQ(ErrorOf("server:\n  ? [a]\n  : 1\n"), "enclave.yaml:2:5: expected a key name in section 'server', got a list");
}

TEST(ConfigYamlTest, KeyOrSectionTwice) {
  EXPECT_EQ(ErrorOf("server:\n  port: 1\n  port: 2\n"), "enclave.yaml:3:3: server.port is set twice (first on line 2)");
  EXPECT_EQ(ErrorOf("server:\n  port: 1\nmodel: {}\nserver:\n  host: h\n"),
            "enclave.yaml:4:1: section 'server' appears twice (first on line 1); merge the two");
}

TEST(ConfigYamlTest, SyntaxErrorsHaveLineAndColumn) {
  EXPECT_EQ(ErrorOf("server:\n  port: [1\n"), "enclave.yaml:3:1: YAML syntax error: end of sequence flow not found");
  EXPECT_EQ(ErrorOf("server:\n\tport: 1\n"),
            "enclave.yaml:2:6: YAML syntax error: illegal map value (indent with spaces: YAML forbids tabs)");
  EXPECT_EQ(ErrorOf("server: port: 1\n"), "enclave.yaml:1:13: YAML syntax error: illegal map value");
  EXPECT_EQ(ErrorOf("server: {}\n---\nmodel: {}\n"),
            "enclave.yaml:3:1: the file holds more than one YAML document ('---'); a configuration is one");
  // yaml-cpp 0.7's YAML::LoadAll never returns on these (jbeder/yaml-cpp#1040).
  EXPECT_EQ(ErrorOf(","), "enclave.yaml:1:1: YAML syntax error: unexpected ','");
  EXPECT_EQ(ErrorOf("\n, server: {}\n"), "enclave.yaml:2:1: YAML syntax error: unexpected ','");
}

TEST(ConfigYamlTest, FileErrorsNameTheFile) {
  ServeConfig c;
  const std::string dir = (fs::temp_directory_path() / ("enclave_cfg_" + std::to_string(getpid()))).string();
  fs::create_directories(dir);
  Status missing = ApplyYamlFile(dir + "/nope.yaml", c);
  EXPECT_EQ(missing.message(), "cannot read config file '" + dir + "/nope.yaml': No such file or directory");
  Status directory = ApplyYamlFile(dir, c);
  EXPECT_EQ(directory.message(), "cannot read config file '" + dir + "': it is a directory");

  const std::string big = dir + "/big.yaml";
  std::ofstream(big) << "# " << std::string(kMaxConfigFileBytes, 'x') << "\n";
  EXPECT_NE(ApplyYamlFile(big, c).message().find("is larger than 1024 KiB"), std::string::npos);

  const std::string bad = dir + "/bad.yaml";
  std::ofstream(bad) << "server:\n  port: abc\n";
  EXPECT_EQ(ApplyYamlFile(bad, c).message(), bad + ":2:9: server.port: expected an integer 0..65535, got 'abc'");
  fs::remove_all(dir);
}

TEST(ConfigYamlTest, PrintedConfigReadsBackTheSame) {
  ServeConfig c;
  c.model.path = "a path: with '#' and \"quotes\"";
  c.model.id = "null";  // strings YAML would otherwise read as null, bool or number
  c.model.chat_template = "~";
  c.logging.access_log = "-";
  c.server.host = "true";
  c.server.shutdown_timeout = 0.125;
  c.model.kv_tokens = 123456;
  const std::string yaml = ToYaml(c);
  auto back = Parse(yaml);
  ASSERT_TRUE(back.ok()) << back.status().message() << "\n" << yaml;
  for (const ConfigKey& key : ServeConfigKeys()) {
    EXPECT_EQ(key.GetText(*back), key.GetText(c)) << key.Path() << "\n" << yaml;
  }
}

TEST(ConfigYamlTest, ArbitraryBytesNeverCrash) {
  // A small in-test fuzz: random bytes and mutations of a valid file only ever give a Status.
  const std::string valid = "model:\n  path: m.gguf\nserver: {port: 80, host: h}\nscheduler:\n  queue: 3\n";
  constexpr std::string_view kBytes("{}[]:,-?&*!|>'\"%@` \t\n#~x0\x01\xff", 27);
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string text = valid;
    const int edits = 1 + static_cast<int>(rng() % 8);
    for (int e = 0; e < edits; ++e) {
      const size_t pos = rng() % (text.size() + 1);
      const char byte = kBytes[rng() % kBytes.size()];
      if (rng() % 2) {
        text.insert(pos, 1, byte);
      } else if (pos < text.size()) {
        text[pos] = byte;
      }
    }
    ServeConfig c;
    (void)ApplyYamlText(text, "fuzz", c);
  }
}

}  // namespace
}  // namespace enclave::config
