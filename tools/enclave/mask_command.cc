// `enclave mask [--policy mask|placeholder|block] [--json] [--types LIST] [--regex NAME=PATTERN]...`:
// the PII detectors of the server as a filter for data preparation: text on stdin, the masked
// text on stdout (or, with --json, the text and every finding's type and byte range).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "governance/pii/detectors.h"
#include "governance/pii/masker.h"
#include "tools/enclave/commands.h"

namespace enclave::cli {
namespace {

namespace pii = governance::pii;

// The whole input is held in memory (findings carry offsets into it); this bounds it.
constexpr size_t kMaxInputBytes = size_t{256} << 20;

struct MaskOptions {
  std::string policy = "mask";
  bool json = false;
  std::string types = "all";
  std::vector<std::string> regexes;
};

Result<std::string> ReadStdin() {
  std::string text;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, stdin)) > 0) {
    if (text.size() + n > kMaxInputBytes) {
      return ResourceExhaustedError(fmt::format(
          "input is larger than {} MiB; split it (e.g. with split -C) and mask the parts", kMaxInputBytes >> 20));
    }
    text.append(buf, n);
  }
  if (std::ferror(stdin)) return IoError("reading standard input failed");
  return text;
}

int RunMask(const MaskOptions& opt) {
  auto fail = [](const Status& s, int code) {
    std::fprintf(stderr, "error: %s\n", s.message().c_str());
    return code;
  };
  auto policy = pii::ParsePiiPolicy(opt.policy);
  if (!policy.ok()) return fail(policy.status(), 2);
  if (*policy == pii::PiiPolicy::kOff) return fail(InvalidArgumentError("--policy off would mask nothing"), 2);
  pii::DetectorConfig config;
  auto types = pii::ParseTypeList(opt.types);
  if (!types.ok()) return fail(types.status(), 2);
  config.builtin_types = *types;
  for (const std::string& flag : opt.regexes) {
    auto spec = pii::ParseRegexSpec(flag);
    if (!spec.ok()) return fail(spec.status(), 2);
    config.regexes.push_back(std::move(spec).value());
  }
  auto detector = pii::PiiDetector::Create(std::move(config));
  if (!detector.ok()) return fail(detector.status(), 2);

  auto input = ReadStdin();
  if (!input.ok()) return fail(input.status(), 1);
  pii::PlaceholderTable table;  // dropped at exit: the originals are never written anywhere
  auto masked = pii::MaskText(**detector, *policy, *input, &table);
  if (!masked.ok()) {
    // A block finding is an answer, not a failure of the tool: exit 3 so scripts can tell them apart.
    return fail(masked.status(), masked.status().code() == StatusCode::kInvalidArgument ? 3 : 1);
  }
  if (!opt.json) {
    std::fwrite(masked->text.data(), 1, masked->text.size(), stdout);
    return std::fflush(stdout) == 0 ? 0 : 1;
  }
  nlohmann::ordered_json j;
  j["text"] = masked->text;
  j["findings"] = nlohmann::ordered_json::array();
  for (const pii::Finding& f : masked->findings) {
    j["findings"].push_back({{"type", (*detector)->TypeName(f)}, {"start", f.start}, {"end", f.end}});
  }
  // Invalid UTF-8 in the text is written as U+FFFD (JSON strings must be Unicode); the offsets
  // still refer to the input bytes.
  const std::string doc = j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  std::fwrite(doc.data(), 1, doc.size(), stdout);
  std::fputc('\n', stdout);
  return std::fflush(stdout) == 0 ? 0 : 1;
}

}  // namespace

void RegisterMask(CLI::App& app, CommandRegistry& registry) {
  auto opt = std::make_shared<MaskOptions>();
  CLI::App* cmd = app.add_subcommand(
      "mask",
      "Mask personal data in text for data preparation: reads standard input, writes the masked text "
      "to standard output. Detects mainland resident ID numbers (18-digit with check character, 15-digit "
      "legacy), Unified Social Credit Codes, bank card numbers (Luhn), mobile and landline numbers, "
      "passport numbers, e-mail addresses and IPv4/IPv6 addresses, validated (a wrong check digit is not "
      "a finding), plus any --regex detectors. Input is limited to 256 MiB. Exit status: 0 done, 1 I/O or "
      "internal error, 2 bad flags, 3 personal data found under --policy block. Rules: docs/pii-masking.md");
  cmd->add_option("--policy", opt->policy,
                  "mask: keep a type-specific prefix/suffix (110101********1234, a***@example.com); "
                  "placeholder: typed placeholders [ID_CARD_1], the same value the same placeholder; "
                  "block: print nothing, report what was found and exit 3")
      ->check(CLI::IsMember({"mask", "placeholder", "block"}))
      ->capture_default_str();
  cmd->add_flag("--json", opt->json,
                "print {\"text\": ..., \"findings\": [{\"type\", \"start\", \"end\"}, ...]}; start/end are "
                "byte offsets [start, end) into the input, not the output");
  cmd->add_option("--types", opt->types,
                  "comma-separated built-in detectors to run: " + pii::BuiltinTypeList() + ", or all")
      ->capture_default_str();
  cmd->add_option("--regex", opt->regexes,
                  "an extra detector NAME=PATTERN (PCRE2, UTF-8); repeatable; NAME names its placeholders, "
                  "e.g. --regex EMPLOYEE_ID='EMP-[0-9]{6}'")
      ->take_all();
  cmd->callback([opt, &registry] { registry.exit_code = RunMask(*opt); });
}

}  // namespace enclave::cli
