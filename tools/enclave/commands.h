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

}  // namespace enclave::cli
