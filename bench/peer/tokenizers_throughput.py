#!/usr/bin/env python3
"""Encode throughput of Hugging Face `tokenizers` (Rust, one thread) and of Enclave on the same corpus
and tokenizer, in the same run; prints both and the ratio.

Run from the repository root after building:  .venv/bin/python bench/peer/tokenizers_throughput.py
"""
import json
import os
import re
import subprocess
import time

os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["RAYON_NUM_THREADS"] = "1"
from tokenizers import Tokenizer  # noqa: E402

corpus = [c["text"] for c in json.load(open("tests/fixtures/tokenizer/corpus.json"))]
tok = Tokenizer.from_file("tests/fixtures/tokenizer/deepseek-v3/tokenizer.json")
nbytes = sum(len(t.encode()) for t in corpus)


def hf_rate(seconds=3.0):
    best = 0.0
    for _ in range(3):
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds / 3:
            for t in corpus:
                tok.encode(t, add_special_tokens=False)
            n += 1
        best = max(best, n * nbytes / (time.perf_counter() - t0))
    return best


def enclave_rate():
    out = subprocess.run(["build/release/enclave_kernel_bench", "--benchmark_filter=BM_EncodeCorpus",
                          "--benchmark_min_time=1", "--benchmark_format=json"], capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out)["benchmarks"][0]["bytes_per_second"]


hf1 = hf_rate()
ours = enclave_rate()
hf2 = hf_rate()
hf = (hf1 + hf2) / 2
print(f"corpus: {len(corpus)} cases, {nbytes} bytes")
print(f"tokenizers (Rust, 1 thread): {hf / 1e6:.2f} MB/s")
print(f"Enclave:                     {ours / 1e6:.2f} MB/s")
print(f"Enclave / tokenizers:        {ours / hf:.2f}")
