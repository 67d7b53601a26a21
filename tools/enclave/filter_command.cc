// `enclave filter --lexicon FILE... [--variants FILE...] [--action CATEGORY=ACTION...] [--json]`:
// runs the sensitive-word filter (src/governance/wordfilter/) over standard input.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "governance/wordfilter/word_filter.h"
#include "tools/enclave/commands.h"

namespace enclave::cli {
namespace {

namespace wf = enclave::wordfilter;

// Exit status when a term of a block category is present (0: passed, masked or flagged; 1: error).
constexpr int kExitBlocked = 3;

struct FilterCommandOptions {
  std::vector<std::string> lexicons;
  std::vector<std::string> variants;
  std::vector<std::string> actions;  // CATEGORY=ACTION
  std::string default_action = "block";
  int max_gap = wf::kDefaultMaxGap;
  bool json = false;
};

Status ParseActions(const FilterCommandOptions& opt, wf::FilterOptions& out) {
  ASSIGN_OR_RETURN(out.default_action, wf::ParseAction(opt.default_action));
  for (const std::string& a : opt.actions) {
    const size_t eq = a.rfind('=');
    if (eq == std::string::npos || eq == 0) {
      return InvalidArgumentError("--action '" + a + "' must be CATEGORY=block|mask|flag");
    }
    Result<wf::Action> action = wf::ParseAction(a.substr(eq + 1));
    if (!action.ok()) return action.status().WithContext("--action '" + a + "'");
    out.actions[a.substr(0, eq)] = *action;
  }
  out.max_gap = opt.max_gap;
  return Status::Ok();
}

Result<std::unique_ptr<wf::WordFilter>> BuildFilter(const FilterCommandOptions& opt) {
  wf::FilterOptions options;
  RETURN_IF_ERROR(ParseActions(opt, options));
  wf::Lexicon lexicon;
  for (const std::string& path : opt.lexicons) RETURN_IF_ERROR(wf::AppendLexiconFile(path, lexicon));
  wf::VariantMap variants;
  for (const std::string& path : opt.variants) RETURN_IF_ERROR(wf::AppendVariantFile(path, variants));
  return wf::WordFilter::Create(lexicon, variants, options);
}

nlohmann::json HitJson(const wf::WordFilter& filter, const wf::Hit& h) {
  return {{"category", filter.category_name(h.category)},
          {"action", wf::ActionName(h.action)},
          {"start", h.start},
          {"end", h.end}};
}

int RunFilter(const FilterCommandOptions& opt) {
  Result<std::unique_ptr<wf::WordFilter>> filter = BuildFilter(opt);
  if (!filter.ok()) {
    std::fprintf(stderr, "error: %s\n", filter.status().message().c_str());
    return 1;
  }
  const std::string input{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
  Result<wf::FilterOutput> out = (*filter)->Filter(input);
  if (!out.ok()) {
    std::fprintf(stderr, "error: standard input: %s\n", out.status().message().c_str());
    return 1;
  }
  const wf::WordFilter& f = **filter;
  // A blocked text is not written at all: the whole input is known, so nothing of it is released.
  if (opt.json) {
    nlohmann::json j;
    j["action"] = wf::ActionName(wf::Verdict(*out));
    j["text"] = out->blocked ? std::string() : out->text;
    j["blocked"] = out->blocked ? HitJson(f, *out->blocked) : nlohmann::json(nullptr);
    j["hits"] = nlohmann::json::array();
    for (const wf::Hit& h : out->hits) j["hits"].push_back(HitJson(f, h));
    std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else if (!out->blocked) {
    std::cout << out->text;
  }
  std::cout.flush();
  for (const wf::Hit& h : out->hits) {
    std::fprintf(stderr, "%s: category %s, bytes %llu-%llu\n", wf::ActionName(h.action),
                 f.category_name(h.category).c_str(), static_cast<unsigned long long>(h.start),
                 static_cast<unsigned long long>(h.end));
  }
  if (out->blocked) {
    std::fprintf(stderr, "blocked: category %s, bytes %llu-%llu\n", f.category_name(out->blocked->category).c_str(),
                 static_cast<unsigned long long>(out->blocked->start),
                 static_cast<unsigned long long>(out->blocked->end));
    return kExitBlocked;
  }
  return 0;
}

}  // namespace

void RegisterFilter(CLI::App& app, CommandRegistry& registry) {
  auto opt = std::make_shared<FilterCommandOptions>();
  CLI::App* cmd = app.add_subcommand(
      "filter",
      "Run the sensitive-word filter over standard input and write the filtered text to standard "
      "output. Terms match through full-width forms, case, spaces, punctuation and invisible "
      "characters between their letters, and the given character variants. Mask categories have "
      "each character of a hit replaced by '*'; flag categories pass unchanged; if a block category "
      "matches, nothing is written and the exit status is 3. Hits are listed on standard error "
      "(category and byte offsets, never the text). Exit status: 0 passed (possibly masked or "
      "flagged), 1 error (unreadable files, bad lexicon line, input not UTF-8), 3 blocked. See "
      "docs/word-filter.md.");
  cmd->add_option("--lexicon", opt->lexicons,
                  "lexicon file: one 'term<TAB>category' per line ('term' alone: category 'default'), "
                  "'#' comments, UTF-8; repeat for several files")
      ->required();
  cmd->add_option("--variants", opt->variants,
                  "character variant file: 'canonical variant...' per line (e.g. OpenCC "
                  "STCharacters.txt); repeatable");
  cmd->add_option("--action", opt->actions,
                  "CATEGORY=block|mask|flag; repeatable. Categories not named get --default-action");
  cmd->add_option("--default-action", opt->default_action,
                  "action of categories without --action: block, mask or flag (default block)");
  cmd->add_option("--max-gap", opt->max_gap,
                  "most spaces/punctuation/invisible characters allowed between two letters of a "
                  "term (default 8, at most 64)");
  cmd->add_flag("--json", opt->json,
                "print one JSON object instead: action (none|flag|mask|block), text (empty when "
                "blocked), blocked {category, action, start, end} or null, hits [{category, action, "
                "start, end}] with byte offsets into the input");
  cmd->callback([opt, &registry] { registry.exit_code = RunFilter(*opt); });
}

}  // namespace enclave::cli
