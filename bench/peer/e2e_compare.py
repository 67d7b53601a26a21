#!/usr/bin/env python3
"""End-to-end speed beside llama.cpp, in the same run: `enclave bench --json` and llama.cpp (through
llama-cpp-python, the same GGUF file and thread count) on prefill of P tokens and decode of N tokens,
R repetitions after one warm-up each, alternating the two engines so that drifts of a shared machine
hit both. Peak RSS of each engine is measured in its own process.

  .venv/bin/python bench/peer/e2e_compare.py -m MODEL.gguf [-p 512] [-n 128] [-t 2] [-r 3]

Needs llama-cpp-python (scripts/setup.sh --peer). Prints a Markdown table row set and JSON.
"""
import argparse, json, os, resource, statistics, subprocess, sys, time

LLAMA_CHILD = r"""
import json, resource, sys, time
from llama_cpp import Llama
path, p, n, t, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
llm = Llama(model_path=path, n_ctx=p + n + 8, n_batch=512, n_ubatch=512, n_threads=t, n_threads_batch=t,
            logits_all=False, verbose=False)
vocab = llm.n_vocab()
prompt = [(i * 7919 + 13) % vocab for i in range(p)]
pre, dec = [], []
for rep in range(reps + 1):
    llm.reset()
    t0 = time.perf_counter()
    llm.eval(prompt)
    t1 = time.perf_counter()
    for i in range(n):
        llm.eval([((p + i) * 7919 + 13) % vocab])
    t2 = time.perf_counter()
    if rep:
        pre.append(p / (t1 - t0))
        dec.append(n / (t2 - t1))
print(json.dumps({"prefill": pre, "decode": dec,
                  "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def run_enclave(enclave, model, p, n, t):
    out = subprocess.run([enclave, "bench", "-m", model, "-p", str(p), "-n", str(n), "-t", str(t), "-r", "1", "--json"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def run_llama(model, p, n, t):
    out = subprocess.run([sys.executable, "-c", LLAMA_CHILD, model, str(p), str(n), str(t), "1"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-m", "--model", required=True)
    ap.add_argument("-p", type=int, default=512)
    ap.add_argument("-n", type=int, default=128)
    ap.add_argument("-t", type=int, default=2)
    ap.add_argument("-r", type=int, default=3)
    ap.add_argument("--enclave", default="build/release/enclave")
    a = ap.parse_args()
    ours = {"prefill": [], "decode": [], "rss": [], "frac": [], "bw": []}
    theirs = {"prefill": [], "decode": [], "rss": []}
    for rep in range(a.r):  # alternate engines: each repetition is one process of each
        e = run_enclave(a.enclave, a.model, a.p, a.n, a.t)
        ours["prefill"].append(e["prefill_tok_s"]); ours["decode"].append(e["decode_tok_s"])
        ours["rss"].append(e["peak_rss_bytes"]); ours["frac"].append(e["decode_bandwidth_fraction"])
        ours["bw"].append(e["read_bandwidth_bytes_s"])
        l = run_llama(a.model, a.p, a.n, a.t)
        theirs["prefill"] += l["prefill"]; theirs["decode"] += l["decode"]; theirs["rss"].append(l["peak_rss_bytes"])
        print(f"rep {rep + 1}/{a.r}: enclave {e['prefill_tok_s']:.1f}/{e['decode_tok_s']:.2f} tok/s, "
              f"llama.cpp {l['prefill'][0]:.1f}/{l['decode'][0]:.2f} tok/s (prefill/decode)", file=sys.stderr)

    def ms(v):
        return statistics.mean(v), (statistics.stdev(v) if len(v) > 1 else 0.0)
    res = {}
    for k in ("prefill", "decode"):
        (om, osd), (tm, tsd) = ms(ours[k]), ms(theirs[k])
        res[k] = {"enclave": om, "enclave_sd": osd, "llama_cpp": tm, "llama_cpp_sd": tsd, "ratio": om / tm}
    res["peak_rss"] = {"enclave": max(ours["rss"]), "llama_cpp": max(theirs["rss"]),
                       "ratio": max(ours["rss"]) / max(theirs["rss"])}
    res["decode_bandwidth_fraction"] = {"enclave": statistics.mean(ours["frac"]),
                                        "llama_cpp": statistics.mean(ours["frac"]) / res["decode"]["ratio"]}
    res["read_bandwidth_gb_s"] = statistics.mean(ours["bw"]) / 1e9
    name = os.path.basename(a.model)
    print(f"| {name} | prefill {a.p} | {res['prefill']['enclave']:.1f} ± {res['prefill']['enclave_sd']:.1f} | "
          f"{res['prefill']['llama_cpp']:.1f} ± {res['prefill']['llama_cpp_sd']:.1f} | {res['prefill']['ratio']:.2f} |")
    print(f"| {name} | decode {a.n} | {res['decode']['enclave']:.2f} ± {res['decode']['enclave_sd']:.2f} | "
          f"{res['decode']['llama_cpp']:.2f} ± {res['decode']['llama_cpp_sd']:.2f} | {res['decode']['ratio']:.2f} |")
    print(f"| {name} | peak RSS | {res['peak_rss']['enclave'] / 2**20:.0f} MiB | {res['peak_rss']['llama_cpp'] / 2**20:.0f} MiB "
          f"| {res['peak_rss']['ratio']:.2f} |")
    print(f"decode bandwidth fraction: enclave {res['decode_bandwidth_fraction']['enclave']:.2f}, llama.cpp "
          f"{res['decode_bandwidth_fraction']['llama_cpp']:.2f} of {res['read_bandwidth_gb_s']:.1f} GB/s")
    print(json.dumps(res))


if __name__ == "__main__":
    sys.exit(main())
