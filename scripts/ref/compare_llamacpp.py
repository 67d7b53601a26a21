#!/usr/bin/env python3
"""Side-by-side correctness check against llama.cpp (through llama-cpp-python): the same GGUF file and
the same token ids must give the same perplexity (all next-token log-probabilities of a text, by the
window rule of src/runtime/perplexity.h) and the same greedy continuation. Not part of CI (it needs
llama-cpp-python: scripts/setup.sh --peer).

  .venv/bin/python scripts/ref/compare_llamacpp.py [--enclave build/release/enclave] [--keep DIR]

For each of llama/tiny and qwen2/tiny (synthesized with `enclave synth --seed 1`) and each GGUF variant
(f16, q8_0, q4_k): perplexity relative difference and whether the 32-token greedy continuations agree.
"""
import argparse, json, math, os, subprocess, sys, tempfile

import numpy as np


def enclave_ids(enclave, model, text):
    out = subprocess.run([enclave, "tokenize", "-m", model, "--ids", text], check=True, capture_output=True, text=True)
    return [int(x) for x in out.stdout.split()]


def llama_ppl(llm, ids, ctx):
    nll, n = 0.0, 0
    for w in range(len(ids) // ctx):
        window = ids[w * ctx:(w + 1) * ctx]
        llm.reset()
        llm.eval(window)
        logits = np.array(llm.scores[:ctx], dtype=np.float64)
        for j in range(ctx // 2, ctx - 1):
            row = logits[j]
            m = row.max()
            lse = m + math.log(np.exp(row - m).sum())
            nll += lse - row[window[j + 1]]
            n += 1
    return math.exp(nll / n)


def llama_greedy(llm, ids, n):
    llm.reset()
    out = []
    for tok in llm.generate(ids, temp=0.0, top_k=1, top_p=1.0, min_p=0.0, repeat_penalty=1.0, reset=True):
        out.append(tok)
        if len(out) == n:
            break
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--enclave", default="build/release/enclave")
    ap.add_argument("--keep", help="directory for the synthetic models (default: a temporary one)")
    args = ap.parse_args()
    try:
        from llama_cpp import Llama
    except ImportError:
        sys.exit("llama-cpp-python is not installed: run scripts/setup.sh --peer")
    root = args.keep or tempfile.mkdtemp(prefix="enclave_compare_")
    text = open(os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "models", "perplexity.txt"),
                encoding="utf-8").read()
    prompt = "The answer is 42. def f(x): return x"
    ctx = 64
    failures = 0
    for arch in ("llama", "qwen2"):
        out = os.path.join(root, f"{arch}-tiny")
        if not os.path.exists(out):
            subprocess.run([args.enclave, "synth", "--arch", arch, "--preset", "tiny", "--seed", "1", "--out", out],
                           check=True, capture_output=True)
        for variant in ("f16", "q8_0", "q4_k"):
            gguf = os.path.join(out, "gguf", f"model-{variant}.gguf")
            ids = enclave_ids(args.enclave, gguf, text)
            ours = json.loads(subprocess.run([args.enclave, "perplexity", "-m", gguf, "-f",
                                              os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures",
                                                           "models", "perplexity.txt"),
                                              "-c", str(ctx), "--json", "-t", "2", "--kv-type", "f32"],
                                             check=True, capture_output=True, text=True).stdout)
            llm = Llama(model_path=gguf, n_ctx=256, n_batch=256, n_threads=2, logits_all=True, verbose=False,
                        type_k=0, type_v=0)  # F32 KV cache, as ours with --kv-type f32
            theirs = llama_ppl(llm, ids, ctx)
            rel = abs(ours["perplexity"] / theirs - 1)
            pids = enclave_ids(args.enclave, gguf, prompt)
            bos = llm.token_bos()
            pids = ([bos] if bos >= 0 and llm.metadata.get("tokenizer.ggml.add_bos_token") == "true" else []) + pids
            greedy_ref = llama_greedy(llm, pids, 32)
            ours_text = subprocess.run([args.enclave, "run", "-m", gguf, "-p", prompt, "--temp", "0", "-n", "32",
                                        "--no-stats", "-t", "2", "--kv-type", "f32"], check=True, capture_output=True).stdout
            theirs_text = llm.detokenize(greedy_ref)
            same = ours_text.rstrip(b"\n") == theirs_text
            ok = rel < 1e-3 and same
            failures += not ok
            print(f"{arch}/tiny {variant:5s}: perplexity enclave {ours['perplexity']:.6f} llama.cpp {theirs:.6f} "
                  f"(rel diff {rel:.2e}); greedy continuation {'identical' if same else 'DIFFERS'}")
            del llm
    print("all match" if failures == 0 else f"{failures} mismatches")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
