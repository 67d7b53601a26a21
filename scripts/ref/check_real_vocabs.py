#!/usr/bin/env python3
"""Our tokenizer on the real vocabularies of deepseek-coder, deepseek-llm, Qwen2 and Llama 3, against the
expected ids llama.cpp ships with them (models/ggml-vocab-<name>.gguf + .inp/.out, made from the Hugging
Face tokenizers; the PyPI sdist of llama-cpp-python vendors them). Not part of CI: the vocabularies total
19 MB, so they are fetched here instead of committed.

  .venv/bin/python scripts/ref/check_real_vocabs.py [--enclave build/release/enclave] [--sdist FILE.tar.gz]
"""
import argparse, os, subprocess, sys, tarfile, tempfile

NAMES = ["deepseek-coder", "deepseek-llm", "qwen2", "llama-bpe"]
SDIST = "llama_cpp_python==0.3.16"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--enclave", default="build/release/enclave")
    ap.add_argument("--sdist", help="llama_cpp_python-0.3.16.tar.gz (default: pip download it)")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="enclave_vocabs_")
    sdist = a.sdist
    if not sdist:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:", SDIST,
                        "-d", work], check=True)
        sdist = next(os.path.join(work, f) for f in os.listdir(work) if f.endswith(".tar.gz"))
    with tarfile.open(sdist) as tar:
        members = [m for m in tar.getmembers()
                   if any(m.name.endswith(f"models/ggml-vocab-{n}.gguf{s}") for n in NAMES for s in ("", ".inp", ".out"))]
        for m in members:
            m.name = os.path.basename(m.name)
            tar.extract(m, work)
    total = bad = 0
    for name in NAMES:
        gguf = os.path.join(work, f"ggml-vocab-{name}.gguf")
        texts = open(gguf + ".inp", encoding="utf-8", newline="").read().split("\n__ggml_vocab_test__\n")[:-1]
        wants = open(gguf + ".out", encoding="utf-8", newline="").read().split("\n")[:len(texts)]
        for text, want in zip(texts, wants):
            path = os.path.join(work, "case.txt")
            open(path, "w", encoding="utf-8", newline="").write(text)
            r = subprocess.run([a.enclave, "tokenize", "-m", gguf, "--ids", "--file", path], capture_output=True, text=True)
            total += 1
            if r.stdout.split() != want.split():
                bad += 1
                print(f"{name}: {text[:40]!r}: want {want.split()[:12]} got {r.stdout.split()[:12]} {r.stderr.strip()}")
        print(f"{name}: {len(texts)} cases")
    print(f"{total} cases, {bad} mismatches")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
