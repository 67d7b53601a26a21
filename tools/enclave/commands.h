// Registration hooks for the subcommands of the `enclave` CLI.
#pragma once

namespace CLI {
class App;
}

namespace enclave::cli {

// Subcommand callbacks store their process exit status here.
struct CommandRegistry {
  int exit_code = 0;
};

void RegisterInspect(CLI::App& app, CommandRegistry& registry);
void RegisterTokenize(CLI::App& app, CommandRegistry& registry);
void RegisterTemplate(CLI::App& app, CommandRegistry& registry);
void RegisterPerplexity(CLI::App& app, CommandRegistry& registry);
void RegisterRun(CLI::App& app, CommandRegistry& registry);
void RegisterBench(CLI::App& app, CommandRegistry& registry);
void RegisterSynth(CLI::App& app, CommandRegistry& registry);
void RegisterServe(CLI::App& app, CommandRegistry& registry);
// Governance (issue #7): each in its own file, registered in main.cc.
void RegisterMask(CLI::App& app, CommandRegistry& registry);      // tools/enclave/mask_command.cc
void RegisterFilter(CLI::App& app, CommandRegistry& registry);    // tools/enclave/filter_command.cc
void RegisterAudit(CLI::App& app, CommandRegistry& registry);     // tools/enclave/audit_command.cc
void RegisterManifest(CLI::App& app, CommandRegistry& registry);  // tools/enclave/manifest_command.cc (manifest + verify)
void RegisterKeys(CLI::App& app, CommandRegistry& registry);      // tools/enclave/keys_command.cc

}  // namespace enclave::cli
