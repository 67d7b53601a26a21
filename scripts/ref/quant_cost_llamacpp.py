#!/usr/bin/env python3
"""What a quantization costs, measured by llama.cpp (through llama-cpp-python) the way
`enclave perplexity -m MODEL --kl-base BASE` measures it: the text's token ids (from `enclave tokenize`,
so both engines see the same ids) cut into windows of CTX, the second half of each window scored;
prints perplexity of MODEL, mean KL(BASE || MODEL) and the top-1 agreement, as JSON. Run both and
compare: the peer's numbers say whether ours are the format's cost or our kernels' error.

  .venv/bin/python scripts/ref/quant_cost_llamacpp.py -m Q8_0.gguf --kl-base F16.gguf -f TEXT [-c 512]
"""
import argparse, json, math, subprocess, sys

import numpy as np


def window_logits(llm, ids, ctx):
    for w in range(len(ids) // ctx):
        window = ids[w * ctx:(w + 1) * ctx]
        llm.reset()
        llm.eval(window)
        yield window, np.array(llm.scores[:ctx], dtype=np.float64)


def log_softmax(rows):
    m = rows.max(axis=1, keepdims=True)
    return rows - (m + np.log(np.exp(rows - m).sum(axis=1, keepdims=True)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-m", "--model", required=True)
    ap.add_argument("--kl-base", required=True)
    ap.add_argument("-f", "--file", required=True)
    ap.add_argument("-c", "--ctx", type=int, default=512)
    ap.add_argument("-t", "--threads", type=int, default=2)
    ap.add_argument("--enclave", default="build/release/enclave")
    args = ap.parse_args()
    from llama_cpp import Llama
    text = open(args.file, encoding="utf-8").read()
    ids = [int(x) for x in subprocess.run([args.enclave, "tokenize", "-m", args.model, "--ids", text], check=True,
                                          capture_output=True, text=True).stdout.split()]
    def load(path):
        return Llama(model_path=path, n_ctx=args.ctx, n_batch=args.ctx, n_ubatch=args.ctx, logits_all=True,
                     n_threads=args.threads, n_threads_batch=args.threads, verbose=False)
    base = list(window_logits(load(args.kl_base), ids, args.ctx))
    model = load(args.model)
    nll = kl = 0.0
    agree = n = 0
    for (window, lb), (_, lm) in zip(base, window_logits(model, ids, args.ctx)):
        lo, hi = args.ctx // 2, args.ctx - 1
        pb, pm = log_softmax(lb[lo:hi]), log_softmax(lm[lo:hi])
        targets = np.array(window[lo + 1:hi + 1])
        nll -= pm[np.arange(len(targets)), targets].sum()
        kl += (np.exp(pb) * (pb - pm)).sum()
        agree += int((pb.argmax(axis=1) == pm.argmax(axis=1)).sum())
        n += len(targets)
    print(json.dumps({"perplexity": math.exp(nll / n), "kl_mean": kl / n, "top1_agreement": agree / n, "tokens": n},
                     indent=2))


if __name__ == "__main__":
    main()
