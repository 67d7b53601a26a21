#!/usr/bin/env python3
"""Serving throughput beside llama.cpp's server: starts `enclave serve` and `llama-server` in turn (never
both at once) on the same GGUF with the same thread count, waits until each is ready, runs the load of
load_gen.py at each concurrency level, stops it, and prints one table: generated tokens/s of each,
their ratio, and TTFT p50/p99 of each.

  python3 bench/server/compare.py -m MODEL.gguf [--enclave build/release/enclave]
      [--llama-server /tmp/llama-server-build/bin/llama-server] [-t 2] [-c 1,4,16]
      [--prompt-tokens 512] [--max-tokens 128] [--requests-per-level N] [-r 1]

Both servers get --parallel/-np slots (default: the highest level), a context of --ctx-per-request
tokens per request (default: prompt tokens x 1.25 + max tokens + 16, rounded up to 256) and a KV
cache of slots x that (Enclave: -c ctx --kv-tokens slots*ctx; llama-server: -c slots*ctx, which it
divides among its -np slots), so neither runs out of KV. With -r R each repetition starts each server afresh (cold
caches), the order alternating (Enclave first in odd repetitions, llama.cpp first in even ones) so that
drifts of a shared machine hit both. tok/s is the mean (± sd) over repetitions; TTFT percentiles pool
the requests of all repetitions. Python 3.11 standard library only.
"""
import argparse
import asyncio
import json
import math
import os
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import load_gen  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENGINES = ("enclave", "llama.cpp")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_status(url, timeout=2.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


def server_command(engine, a, port, ctx, slots):
    if engine == "enclave":
        cmd = [a.enclave, "serve", "-m", a.model, "--host", "127.0.0.1", "--port", str(port), "-t", str(a.threads),
               "--parallel", str(slots), "-c", str(ctx), "--kv-tokens", str(ctx * slots)]
        extra = a.enclave_args
    else:
        cmd = [a.llama_server, "-m", a.model, "--host", "127.0.0.1", "--port", str(port), "-t", str(a.threads),
               "-tb", str(a.threads), "-np", str(slots), "-c", str(ctx * slots), "--cont-batching", "--no-webui"]
        extra = a.llama_args
    return cmd + shlex.split(extra)


def wait_ready(proc, base, timeout, log_path):
    """Ready: /health answers 200 and /ready answers 200 or 404 (llama-server has no /ready and answers
    /health with 503 while loading; Enclave's /ready is 503 until the model is loaded)."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with status {proc.returncode} before it was ready; log {log_path}:\n"
                             + tail(log_path))
        if http_status(base + "/health") == 200 and http_status(base + "/ready") in (200, 404):
            return time.time() - t0
        time.sleep(0.5)
    raise SystemExit(f"server not ready after {timeout} s; log {log_path}:\n" + tail(log_path))


def tail(path, n=20):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


def peak_rss_mib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_engine(engine, a, rep, log_dir):
    port = a.port or free_port()
    ctx = a.ctx_per_request or int(math.ceil((a.prompt_tokens * 1.25 + a.max_tokens + 16) / 256) * 256)
    slots = a.parallel or max(a.concurrency)
    cmd = server_command(engine, a, port, ctx, slots)
    log_path = os.path.join(log_dir, f"{engine}-rep{rep + 1}.log")
    print(f"[{engine} rep {rep + 1}] {shlex.join(cmd)}  (log {log_path})", file=sys.stderr)
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        load_s = wait_ready(proc, base, a.startup_timeout, log_path)
        print(f"[{engine} rep {rep + 1}] ready after {load_s:.1f} s", file=sys.stderr)
        a.url = base
        result = asyncio.run(load_gen.run_all(a))
        result["peak_rss_mib"] = peak_rss_mib(proc.pid)
        result["command"] = shlex.join(cmd)
        result["load_s"] = load_s
        return result
    finally:
        stop(proc)


def aggregate(runs):
    """runs: list of load_gen results of one engine -> per level {tok_s mean/sd, pooled TTFT, ...}."""
    out = []
    for li in range(len(runs[0]["levels"])):
        lv = [r["levels"][li] for r in runs]
        tok = [s["tok_s"] for s in lv]
        ttft = [x["ttft_s"] for s in lv for x in s["samples"]]
        lat = [x["latency_s"] for s in lv for x in s["samples"]]
        pt = [x["prompt_tokens"] for s in lv for x in s["samples"] if x["prompt_tokens"] is not None]
        out.append({"concurrency": lv[0]["concurrency"], "tok_s": statistics.mean(tok),
                    "tok_s_sd": statistics.stdev(tok) if len(tok) > 1 else 0.0, "tok_s_runs": tok,
                    "ttft_p50_ms": load_gen.percentile(ttft, 50) * 1e3,
                    "ttft_p99_ms": load_gen.percentile(ttft, 99) * 1e3,
                    "latency_p50_s": load_gen.percentile(lat, 50), "latency_p99_s": load_gen.percentile(lat, 99),
                    "requests": sum(s["requests"] for s in lv), "errors": sum(s["errors"] for s in lv),
                    "error_samples": sorted({e for s in lv for e in s["error_samples"]})[:5],
                    "short_requests": sum(s["short_requests"] for s in lv),
                    "mean_prompt_tokens": statistics.mean(pt) if pt else None,
                    "tokens_from": sorted({t for s in lv for t in s["tokens_from"]})})
    return out


def fmt_tok(x):
    return f"{x['tok_s']:.2f}" + (f" ± {x['tok_s_sd']:.2f}" if x["tok_s_sd"] else "")


def table(agg):
    rows = ["| concurrency | Enclave tok/s | llama.cpp tok/s | ratio | Enclave TTFT p50 / p99 ms | "
            "llama.cpp TTFT p50 / p99 ms | errors E / L |",
            "|---|---|---|---|---|---|---|"]
    e_levels, l_levels = agg.get("enclave"), agg.get("llama.cpp")
    n = len(e_levels or l_levels)
    for i in range(n):
        e = e_levels[i] if e_levels else None
        l = l_levels[i] if l_levels else None
        c = (e or l)["concurrency"]
        ratio = f"**{e['tok_s'] / l['tok_s']:.2f}**" if e and l and l["tok_s"] > 0 else "–"
        cell = lambda x: f"{x['ttft_p50_ms']:.0f} / {x['ttft_p99_ms']:.0f}" if x else "–"
        rows.append(f"| {c} | {fmt_tok(e) if e else '–'} | {fmt_tok(l) if l else '–'} | {ratio} | {cell(e)} | "
                    f"{cell(l)} | {e['errors'] if e else '–'} / {l['errors'] if l else '–'} |")
    return "\n".join(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-m", "--model", required=True, help="GGUF file served by both")
    ap.add_argument("--enclave", default=os.path.join(REPO, "build/release/enclave"))
    ap.add_argument("--llama-server", default="/tmp/llama-server-build/bin/llama-server",
                    help="llama.cpp's llama-server (bench/server/build_llama_server.sh builds it)")
    ap.add_argument("-t", "--threads", type=int, default=2)
    ap.add_argument("-r", "--repetitions", type=int, default=1)
    ap.add_argument("--parallel", type=int, default=0, help="server slots (default: the highest level)")
    ap.add_argument("--ctx-per-request", type=int, default=0, help="context tokens per slot (default: from the load)")
    ap.add_argument("--port", type=int, default=0, help="port for the servers (default: a free one)")
    ap.add_argument("--startup-timeout", type=float, default=600.0)
    ap.add_argument("--only", choices=ENGINES, help="run one engine only")
    ap.add_argument("--enclave-args", default="", help="extra flags for enclave serve (one string)")
    ap.add_argument("--llama-args", default="", help="extra flags for llama-server (one string)")
    ap.add_argument("--log-dir", default="", help="server logs (default: a new temporary directory)")
    ap.add_argument("--json", default="", help="write all results here")
    load_gen.add_load_args(ap)
    a = ap.parse_args()
    a.url = ""
    log_dir = a.log_dir or tempfile.mkdtemp(prefix="enclave-serve-bench-")
    os.makedirs(log_dir, exist_ok=True)
    engines = [a.only] if a.only else list(ENGINES)
    runs = {e: [] for e in engines}
    for rep in range(a.repetitions):
        order = engines if rep % 2 == 0 else engines[::-1]
        for engine in order:
            runs[engine].append(run_engine(engine, a, rep, log_dir))
    agg = {e: aggregate(runs[e]) for e in engines}
    print(table(agg))
    for e in engines:
        lv = agg[e]
        rss = max((r["peak_rss_mib"] or 0) for r in runs[e])
        print(f"{e}: prompt tokens/request {lv[0]['mean_prompt_tokens']}, completion tokens from "
              f"{lv[0]['tokens_from']}, short requests {[x['short_requests'] for x in lv]}, "
              f"peak RSS {rss:.0f} MiB; {runs[e][0]['command']}")
        for x in lv:
            if x["errors"]:
                print(f"  {e} c={x['concurrency']}: {x['errors']} errors, e.g. {x['error_samples']}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"settings": {k: v for k, v in vars(a).items()}, "aggregate": agg, "runs": runs}, f, indent=1)


if __name__ == "__main__":
    main()
