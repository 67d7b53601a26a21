// `enclave`: the command-line front end. Each subcommand lives in its own file and registers
// itself here; this file only wires them into CLI11.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "tools/enclave/commands.h"

int main(int argc, char** argv) {
  CLI::App app{
      "Enclave: run DeepSeek models on your own servers, air-gapped.\n"
      "Use 'enclave COMMAND --help' for the options of one command."};
  app.set_version_flag("--version", ENCLAVE_VERSION_STRING);
  app.require_subcommand(1);

  enclave::cli::CommandRegistry registry;
  enclave::cli::RegisterInspect(app, registry);
  enclave::cli::RegisterTokenize(app, registry);
  enclave::cli::RegisterTemplate(app, registry);
  enclave::cli::RegisterPerplexity(app, registry);
  enclave::cli::RegisterRun(app, registry);
  enclave::cli::RegisterBench(app, registry);
  enclave::cli::RegisterSynth(app, registry);
  enclave::cli::RegisterServe(app, registry);
  enclave::cli::RegisterAudit(app, registry);
  enclave::cli::RegisterManifest(app, registry);
  enclave::cli::RegisterFilter(app, registry);
  enclave::cli::RegisterMask(app, registry);
  enclave::cli::RegisterKeys(app, registry);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every command-line mistake exits 2, the usual usage-error
    // status (CLI11's own codes, 104-114, tell a script nothing more useful).
    return app.exit(e) == 0 ? 0 : 2;
  }
  return registry.exit_code;
}
