#include "tools/enclave/config_flags.h"

#include <CLI/CLI.hpp>

#include <fmt/format.h>

#include "config/serve_config.h"

namespace enclave::cli {
namespace {

// The validator's description is what --help shows after the type: "INT in [0 - 65535]",
// "{f16,f32}", as CLI11's own Range and IsMember validators did before flags came from the table.
std::string Describe(const config::ConfigKey& key) {
  if (key.type == config::ValueType::kBool) return "";
  if (key.type != config::ValueType::kString) return fmt::format("{} in [{} - {}]", key.TypeName(), key.min, key.max);
  if (key.choices.empty()) return "";
  std::string list;
  for (const std::string& c : key.choices) {
    if (!c.empty()) list += (list.empty() ? "" : ",") + c;
  }
  return "{" + list + "}";
}

}  // namespace

void ConfigFlags::Register(CLI::App& command) {
  const auto keys = config::ServeConfigKeys();
  values_.assign(keys.size(), std::string());
  const config::ServeConfig defaults;
  for (size_t i = 0; i < keys.size(); ++i) {
    const config::ConfigKey& key = keys[i];
    if (key.flag.empty()) continue;
    // --help groups the flags under the file's section names ("server:"), as the file does.
    CLI::Option* opt = nullptr;
    if (key.type == config::ValueType::kBool) {
      // A switch: `--insecure` alone means true; `--insecure=false` can undo a file's or the
      // environment's true.
      opt = command.add_flag(key.flag, values_[i], key.help)->group(key.section);
      opt->check(CLI::Validator(
          [&key](std::string& text) {
            config::ServeConfig scratch;
            const Status s = key.SetFromText(text, scratch);
            return s.ok() ? std::string() : s.message();
          },
          ""));
      keys_.push_back(&key);
      options_.push_back(opt);
      continue;
    }
    opt = command.add_option(key.flag, values_[i], key.help)->type_name(key.TypeName())->group(key.section);
    const std::string description = Describe(key);
    if (!description.empty()) {
      opt->check(CLI::Validator(
          [&key](std::string& text) {
            config::ServeConfig scratch;
            const Status s = key.SetFromText(text, scratch);
            return s.ok() ? std::string() : s.message();
          },
          description));
    }
    // Empty and zero defaults mean "derived" (all cores, 4 x --ctx, the file name); the help says from what.
    const std::string default_text = key.GetText(defaults);
    if (!default_text.empty() && default_text != "0") opt->default_str(default_text);
    keys_.push_back(&key);
    options_.push_back(opt);
  }
}

std::vector<std::pair<const config::ConfigKey*, std::string>> ConfigFlags::Given() const {
  std::vector<std::pair<const config::ConfigKey*, std::string>> given;
  for (size_t i = 0; i < options_.size(); ++i) {
    if (options_[i]->count() > 0) given.emplace_back(keys_[i], options_[i]->as<std::string>());
  }
  return given;
}

}  // namespace enclave::cli
