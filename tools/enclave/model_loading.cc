#include "tools/enclave/model_loading.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>

#include <fmt/format.h>

#include "platform/process_memory.h"

namespace enclave::cli {

std::string FormatBytes(uint64_t bytes) {
  if (bytes >= (1ull << 30)) return fmt::format("{:.2f} GiB", bytes / double(1ull << 30));
  return fmt::format("{:.1f} MiB", bytes / double(1ull << 20));
}

namespace {

// Redraws at most every 1 % so that a slow terminal does not slow loading.
class ProgressBar {
 public:
  explicit ProgressBar(bool enabled) : enabled_(enabled && isatty(STDERR_FILENO)) {}
  void Update(uint64_t done, uint64_t total) {
    if (!enabled_ || total == 0) return;
    const int percent = static_cast<int>(100.0 * done / total);
    if (percent == last_) return;
    last_ = percent;
    const int width = 40, filled = percent * width / 100;
    std::fprintf(stderr, "\rloading [%s%s] %3d%%", std::string(filled, '#').c_str(),
                 std::string(width - filled, ' ').c_str(), percent);
    if (done >= total) std::fprintf(stderr, "\n");
  }

 private:
  bool enabled_;
  int last_ = -1;
};

}  // namespace

Result<LoadedModel> LoadModelForCli(const CliModelOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  ModelLoadOptions load;
  if (o.quantize == "q8_0") {
    load.quantize = DType::kQ8_0;
  } else if (o.quantize == "q4_k") {
    load.quantize = DType::kQ4_K;
  } else if (!o.quantize.empty()) {
    return InvalidArgumentError(fmt::format("--quantize '{}' is not one of q8_0, q4_k", o.quantize));
  }
  EngineOptions eo;
  eo.threads = o.threads;
  eo.context = o.context;
  eo.kv_tokens = o.kv_tokens;
  if (o.kv_type == "f16") {
    eo.kv_type = DType::kF16;
  } else if (o.kv_type == "f32") {
    eo.kv_type = DType::kF32;
  } else {
    return InvalidArgumentError(fmt::format("--kv-type '{}' is not one of f16, f32", o.kv_type));
  }
  if (o.mla == "auto") {
    eo.mla_form = MlaForm::kAuto;
  } else if (o.mla == "absorbed") {
    eo.mla_form = MlaForm::kAbsorbed;
  } else if (o.mla == "decompressed") {
    eo.mla_form = MlaForm::kDecompressed;
  } else {
    return InvalidArgumentError(fmt::format("--mla '{}' is not one of auto, absorbed, decompressed", o.mla));
  }
  // The pool used for quantizing while loading is the engine's own, created after the model; a
  // temporary one does the quantization.
  std::unique_ptr<ThreadPool> load_pool;
  if (load.quantize) {
    load_pool = std::make_unique<ThreadPool>(o.threads > 0 ? o.threads : static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)));
    load.pool = load_pool.get();
  }
  ProgressBar bar(!o.quiet);
  load.progress = [&bar](uint64_t done, uint64_t total) { bar.Update(done, total); };
  LoadedModel out;
  ASSIGN_OR_RETURN(out.model, Model::Load(o.path, load));
  load_pool.reset();
  if (o.context > out.model->config().n_ctx_train && out.model->config().n_ctx_train > 0 && !o.quiet) {
    std::fprintf(stderr, "warning: context %lld exceeds the %lld tokens the model was trained for\n",
                 static_cast<long long>(o.context), static_cast<long long>(out.model->config().n_ctx_train));
  }
  ASSIGN_OR_RETURN(out.engine, Engine::Create(*out.model, eo));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!o.quiet) {
    std::fprintf(stderr, "loaded %s (%s): %s\n", o.path.c_str(), out.model->format().c_str(),
                 out.model->config().Summary().c_str());
    std::fprintf(stderr, "  weights %s [%s], KV cache %s, load %.2f s, RSS %s, kernels %s, %d threads\n",
                 FormatBytes(out.model->weight_bytes()).c_str(), out.model->WeightTypeSummary().c_str(),
                 FormatBytes(out.engine->kv().bytes()).c_str(), seconds,
                 FormatBytes(ReadProcessMemory().rss_bytes).c_str(), out.engine->isa_name(),
                 out.engine->pool().size());
  }
  return out;
}

}  // namespace enclave::cli
