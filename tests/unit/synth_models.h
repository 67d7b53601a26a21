// Tiny synthetic models for tests, written once per test process into a temporary directory and
// loaded (the directory is removed again: the model keeps its file mapped).
#pragma once

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "model/model.h"
#include "synth/synth_model.h"

namespace enclave::testing {

// `arch`/`preset` as `enclave synth`, F16 weights (exact enough that batched and one-by-one
// computation agree to the last bit or nearly). nullptr (and a test failure) if it cannot be made.
inline std::unique_ptr<Model> LoadSynthModel(const std::string& arch, const std::string& preset, uint64_t seed) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() /
                       ("enclave_test_" + arch + "_" + preset + "_" + std::to_string(getpid()) + "_" + std::to_string(seed));
  synth::SynthOptions o;
  o.arch = arch;
  o.preset = preset;
  o.seed = seed;
  o.out_dir = dir.string();
  o.gguf = {"f16"};
  o.force = true;
  const Status s = synth::Synthesize(o);
  EXPECT_TRUE(s.ok()) << s.message();
  if (!s.ok()) return nullptr;
  auto m = Model::Load((dir / "gguf" / "model-f16.gguf").string());
  EXPECT_TRUE(m.ok()) << m.status().message();
  std::error_code ec;
  fs::remove_all(dir, ec);
  return m.ok() ? std::move(*m) : nullptr;
}

}  // namespace enclave::testing
