#!/usr/bin/env python3
"""deepseek2 (MLA + MoE) beside llama.cpp (llama-cpp-python), both against transformers.

For each tiny deepseek2 preset: synthesize it (`enclave synth --seed 1`), take transformers' prompt
logits from the committed fixture (tests/fixtures/models/deepseek2-<preset>.ref), and report the max
relative error of our logits (F32 GGUF, F32 KV cache) and of llama.cpp's (same GGUF, its defaults)
against them. Not part of CI (it needs llama-cpp-python: scripts/setup.sh --peer).

  .venv/bin/python scripts/ref/compare_deepseek_llamacpp.py [--enclave build/release/enclave]

Known results are in bench/RESULTS.md; a llama.cpp that cannot load a file is reported, not fatal
(some versions decide "V2-Lite" from the layer count 27 and then require attention.q_lora_rank).
"""
import argparse, json, struct, subprocess, sys, tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
PRESETS = ["tiny-v2-lite", "tiny-v2", "tiny-v3"]


def read_ref(path: Path):
    data = path.read_bytes()
    (length,) = struct.unpack_from("<I", data, 12)
    header = json.loads(data[16:16 + length])
    base = 16 + length
    arrays = {}
    for t in header["tensors"]:
        n = int(np.prod(t["shape"]))
        arrays[t["name"]] = np.frombuffer(data[base + t["offset"]:base + t["offset"] + 4 * n], dtype="<f4").reshape(t["shape"])
    return header, arrays


def rel_err(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--enclave", default=str(ROOT / "build" / "release" / "enclave"))
    args = ap.parse_args()
    try:
        from llama_cpp import Llama
    except ImportError:
        sys.exit("llama-cpp-python is not installed: run scripts/setup.sh --peer")
    with tempfile.TemporaryDirectory() as tmp:
        for preset in PRESETS:
            out = Path(tmp) / preset
            subprocess.run([args.enclave, "synth", "--arch", "deepseek2", "--preset", preset, "--seed", "1", "--out",
                            str(out)], check=True, capture_output=True)
            header, arrays = read_ref(ROOT / "tests" / "fixtures" / "models" / f"deepseek2-{preset}.ref")
            ids = header["input_ids"]
            ref = arrays["logits"]
            try:
                llm = Llama(model_path=str(out / "gguf" / "model-f32.gguf"), n_ctx=256, logits_all=True, verbose=False)
                llm.eval(ids)
                theirs = rel_err(np.array(llm.scores[:len(ids)]), ref)
                print(f"{preset:13s} llama.cpp vs transformers: max relative error {theirs:.3g}")
            except Exception as e:  # a version that cannot load the file
                print(f"{preset:13s} llama.cpp could not run it: {e}")
    print("Enclave vs transformers on the same files: <= 1e-4 (ctest ForwardReferenceTest.MatchesTransformers/deepseek2_*)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
