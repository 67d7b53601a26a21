#!/usr/bin/env python3
"""Load generator for an OpenAI-compatible server on loopback: streamed /v1/completions at several
concurrency levels; aggregate generated tokens/s, time to first token and request latency.

  python3 bench/server/load_gen.py [--url http://127.0.0.1:8080] [-c 1,4,16] [--prompt-tokens 512]
                                   [--max-tokens 128] [--requests-per-level N] [--json FILE]

Python 3.11 standard library only (asyncio, raw HTTP/1.1, Server-Sent Events), so it runs without a
virtual environment. Each level is a closed loop: C workers each send a request, wait for its last
event, and send the next, until R requests are done. Every request asks for `max_tokens` tokens with
`temperature: 0` and `ignore_eos: true` (so each generates exactly `max_tokens` unless the server ignores
the field), `stream: true` and `stream_options.include_usage`.

Per request: TTFT = from just before connecting to the arrival of the first token event (an event with
a choice that has text or no finish_reason: neither server sends a preamble event on /v1/completions,
and llama-server sends tokens it does not render, such as a synthetic model's [PAD…], as empty text;
`--ttft-text` waits for non-empty text instead); latency = to the `[DONE]` event (or the end of the
stream); completion tokens from the last event's `usage` when the server sends one, else the number of
token events. Per level:
aggregate tok/s = completion tokens of the successful requests / wall time of the level (first send to
last end); p50/p99 by linear interpolation between the order statistics (with under 100 samples p99 is
close to the maximum). Failed requests (HTTP status, an error event, a timeout) are counted apart and
left out of the other columns.

Prompts: sequences of common English words, about `--prompt-tokens` tokens long: two probe requests
(max_tokens 1) read the server's tokens per word from their usage (about 1 for a real Llama/Qwen
vocabulary, several for a small synthetic one); the table reports the prompt tokens the server counted.
Every request's prompt is its own seeded random words, so a prefix cache does not hit, unless
`--shared-prefix N` puts the same N words first in all.
The same --seed gives the same prompts, so two servers see identical requests.
"""
import argparse
import asyncio
import json
import math
import sys
import time
import urllib.parse

WORDS = (
    "the of and to in is was for on with as by at from that this which are be or an it not have had "
    "has were but their one all there been more also when who its first can into other time new two "
    "may after only most over such these some would about where many city year between them state "
    "world under known people three while during part used since well both through later than then "
    "before each made american could being until same school early found number against house great "
    "water small south north east west family country second river long life work called high music "
    "game line area around power name following group system government side often still national "
    "left large place order along final club built service public river party during general light "
    "young green black white story field human land mountain bridge market church island station "
    "garden forest summer winter letter morning evening window paper table study model value energy "
    "office record simple common modern season memory silver golden travel street corner center "
    "history nature animal animals bird horse ocean valley desert castle village harbor engine signal"
).split()
WORDS = list(dict.fromkeys(WORDS))  # unique, in order


def _splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) % (1 << 64)
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) % (1 << 64)
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) % (1 << 64)
    return x ^ (x >> 31)


def _words(state, count):
    out = []
    for _ in range(count):
        state = _splitmix64(state)
        out.append(WORDS[state % len(WORDS)])
    return out


def make_prompt(n_words, seed, index, shared_prefix=0):
    """Deterministic prompt of about n_words tokens: `shared_prefix` words common to all prompts of the
    same seed, then request `index`'s own seeded random words (two prompts agree on their first k own
    words with probability 1/len(WORDS)^k, so a prefix cache finds nothing to share beyond the prefix)."""
    shared = _words(seed * 1_000_003 + (1 << 40), min(shared_prefix, n_words))
    own = _words(seed * 1_000_003 + index, max(1, n_words - len(shared)))
    return " ".join(shared + own)


def percentile(values, q):
    if not values:
        return float("nan")
    v = sorted(values)
    pos = (len(v) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


class HttpError(Exception):
    pass


async def _read_head(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise HttpError(f"bad status line {lines[0]!r}")
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    return int(parts[1]), headers


async def _body_chunks(reader, headers):
    """Yields the response body as it arrives (chunked, Content-Length or until close)."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                return
            data = await reader.readexactly(size)
            await reader.readexactly(2)
            yield data
    elif "content-length" in headers:
        left = int(headers["content-length"])
        while left > 0:
            data = await reader.read(min(left, 65536))
            if not data:
                raise HttpError("connection closed before the end of the body")
            left -= len(data)
            yield data
    else:
        while True:
            data = await reader.read(65536)
            if not data:
                return
            yield data


# Headers every request carries (--api-key adds Authorization).
COMMON_HEADERS = []


async def http_request(host, port, method, path, body=None, extra_headers=()):
    """One request on a fresh connection (Connection: close). Returns (reader, writer, status, headers)."""
    reader, writer = await asyncio.open_connection(host, port)
    payload = b"" if body is None else json.dumps(body).encode()
    head = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close",
            "User-Agent: enclave-load-gen", *COMMON_HEADERS, *extra_headers]
    if body is not None:
        head += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
    await writer.drain()
    status, headers = await _read_head(reader)
    return reader, writer, status, headers


async def get_json(host, port, path, timeout=10.0):
    async def go():
        reader, writer, status, headers = await http_request(host, port, "GET", path)
        try:
            body = b"".join([c async for c in _body_chunks(reader, headers)])
        finally:
            writer.close()
        return status, (json.loads(body) if body.strip().startswith((b"{", b"[")) else body.decode(errors="replace"))
    return await asyncio.wait_for(go(), timeout)


async def stream_completion(host, port, body, ttft_needs_text=False):
    """Sends one streamed completion; returns a result dict (times relative to the send)."""
    res = {"ok": False, "ttft": None, "latency": None, "completion_tokens": 0, "prompt_tokens": None,
           "tokens_from": "events", "token_events": 0, "finish_reason": None, "error": None}
    t0 = time.perf_counter()
    res["t_start"] = t0
    writer = None
    try:
        reader, writer, status, headers = await http_request(host, port, "POST", "/v1/completions", body,
                                                             ["Accept: text/event-stream"])
        if status != 200:
            text = b"".join([c async for c in _body_chunks(reader, headers)]).decode(errors="replace")
            raise HttpError(f"HTTP {status}: {text[:300]}")
        buf = b""
        done = False
        async for chunk in _body_chunks(reader, headers):
            now = time.perf_counter()
            buf += chunk.replace(b"\r\n", b"\n")
            while b"\n\n" in buf and not done:
                event, buf = buf.split(b"\n\n", 1)
                data = "\n".join(line[5:].lstrip() for line in event.decode("utf-8", "replace").split("\n")
                                 if line.startswith("data:"))
                if not data:
                    continue
                if data == "[DONE]":
                    done = True
                    break
                msg = json.loads(data)
                if "error" in msg:
                    raise HttpError(f"error event: {json.dumps(msg['error'])[:300]}")
                for choice in msg.get("choices") or []:
                    # A token event: text, or no finish_reason (llama-server's last event carries only the
                    # finish_reason; tokens it does not render, such as [PAD…], come as empty text).
                    if choice.get("text") or not choice.get("finish_reason"):
                        res["token_events"] += 1
                        if res["ttft"] is None and (choice.get("text") or not ttft_needs_text):
                            res["ttft"] = now - t0
                    if choice.get("finish_reason"):
                        res["finish_reason"] = choice["finish_reason"]
                usage = msg.get("usage")
                if usage and usage.get("completion_tokens") is not None:
                    res["completion_tokens"] = usage["completion_tokens"]
                    res["prompt_tokens"] = usage.get("prompt_tokens")
                    res["tokens_from"] = "usage"
            if done:
                break
        res["latency"] = time.perf_counter() - t0
        if res["tokens_from"] == "events":
            res["completion_tokens"] = res["token_events"]
        if res["ttft"] is None:
            raise HttpError("the stream ended without any token" + (" with text" if ttft_needs_text else ""))
        res["ok"] = True
    except (OSError, HttpError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as e:
        res["error"] = f"{type(e).__name__}: {e}"
    finally:
        if writer is not None:
            writer.close()
    res["t_end"] = time.perf_counter()
    return res


async def timed_completion(host, port, body, args, needs_text=None):
    """stream_completion under --timeout; a timeout is a failed request like any other."""
    needs_text = args.ttft_text if needs_text is None else needs_text
    try:
        return await asyncio.wait_for(stream_completion(host, port, body, needs_text), args.timeout)
    except asyncio.TimeoutError:
        return {"ok": False, "error": f"timeout after {args.timeout} s", "prompt_tokens": None}


def completion_body(model, prompt, max_tokens, ignore_eos):
    body = {"model": model, "prompt": prompt, "max_tokens": max_tokens, "temperature": 0, "stream": True,
            "stream_options": {"include_usage": True}}
    if ignore_eos:
        body["ignore_eos"] = True
    return body


async def run_level(host, port, model, concurrency, n_requests, args, level_seed):
    prompts = [make_prompt(args.prompt_words, level_seed, i, args.shared_prefix) for i in range(n_requests)]
    queue = list(range(n_requests))
    results = []

    async def worker():
        while queue:
            i = queue.pop(0)
            body = completion_body(model, prompts[i], args.max_tokens, not args.no_ignore_eos)
            results.append(await timed_completion(host, port, body, args))

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - t0
    return summarize(concurrency, results, wall, args.max_tokens)


def summarize(concurrency, results, wall, max_tokens):
    ok = [r for r in results if r["ok"]]
    toks = sum(r["completion_tokens"] for r in ok)
    ttft = [r["ttft"] for r in ok]
    lat = [r["latency"] for r in ok]
    # Per-request decode rate: tokens after the first over the time after the first text.
    decode = [(r["completion_tokens"] - 1) / (r["latency"] - r["ttft"]) for r in ok
              if r["completion_tokens"] > 1 and r["latency"] > r["ttft"]]
    prompt_toks = [r["prompt_tokens"] for r in ok if r.get("prompt_tokens") is not None]
    errors = [r["error"] for r in results if not r["ok"]]
    return {
        "concurrency": concurrency, "requests": len(results), "ok": len(ok), "errors": len(errors),
        "error_samples": sorted(set(errors))[:5], "wall_s": wall, "completion_tokens": toks,
        "tok_s": toks / wall if wall > 0 else 0.0,
        "ttft_p50_ms": percentile(ttft, 50) * 1e3, "ttft_p99_ms": percentile(ttft, 99) * 1e3,
        "latency_p50_s": percentile(lat, 50), "latency_p99_s": percentile(lat, 99),
        "per_request_decode_tok_s_p50": percentile(decode, 50),
        "short_requests": sum(1 for r in ok if r["completion_tokens"] < max_tokens),
        "mean_prompt_tokens": (sum(prompt_toks) / len(prompt_toks)) if prompt_toks else None,
        "tokens_from": sorted({r["tokens_from"] for r in ok}),
        "samples": [{"ttft_s": r["ttft"], "latency_s": r["latency"], "completion_tokens": r["completion_tokens"],
                     "prompt_tokens": r.get("prompt_tokens"), "finish_reason": r.get("finish_reason")} for r in ok],
    }


def parse_url(url):
    u = urllib.parse.urlparse(url)
    if u.scheme != "http":
        raise SystemExit(f"--url: only http:// is supported (got {url!r})")
    return u.hostname or "127.0.0.1", u.port or 80


async def resolve_model(host, port, model):
    if model:
        return model
    status, body = await get_json(host, port, "/v1/models")
    if status == 200 and isinstance(body, dict) and body.get("data"):
        return body["data"][0]["id"]
    return "default"


async def calibrate_words(host, port, model, args, log):
    """Words per prompt for about --prompt-tokens tokens, counted by the server's own tokenizer (the
    usage.prompt_tokens of max_tokens-1 requests): a short probe, then one of the estimated length
    (so the probes stay within the context whatever the tokens per word)."""
    words = max(16, args.prompt_tokens // 8)
    for probe in range(2):
        body = completion_body(model, make_prompt(words, 7_777_777, probe), 1, False)
        r = await timed_completion(host, port, body, args, needs_text=False)
        if not r["ok"] or not r.get("prompt_tokens"):
            print(f"calibration: no prompt token count ({r['error'] or 'no usage'}); one word per token", file=log)
            return args.prompt_tokens
        per_word = r["prompt_tokens"] / words
        words = max(1, round(args.prompt_tokens / per_word))
    print(f"calibration: {per_word:.3f} tokens per word -> {words} words for {args.prompt_tokens} tokens", file=log)
    return words


async def run_all(args, log=sys.stderr):
    COMMON_HEADERS[:] = [f"Authorization: Bearer {args.api_key}"] if args.api_key else []
    """Runs the warm-up and every level; returns {"model", "settings", "levels": [summary, ...]}."""
    host, port = parse_url(args.url)
    model = await resolve_model(host, port, args.model_name)
    args.prompt_words = args.prompt_tokens
    if not args.no_calibrate:
        args.prompt_words = await calibrate_words(host, port, model, args, log)
    for w in range(args.warmup):
        body = completion_body(model, make_prompt(args.prompt_words, args.seed + 999_983, w, args.shared_prefix),
                               args.max_tokens, not args.no_ignore_eos)
        r = await timed_completion(host, port, body, args)
        if not r["ok"]:
            raise SystemExit(f"warm-up request failed: {r['error']}")
        print(f"warm-up: {r['completion_tokens']} tokens ({r['tokens_from']}), prompt {r['prompt_tokens']} tokens, "
              f"TTFT {r['ttft'] * 1e3:.0f} ms, {r['latency']:.2f} s", file=log)
    levels = []
    for li, c in enumerate(args.concurrency):
        n = args.requests_per_level or max(8, 2 * c)
        s = await run_level(host, port, model, c, n, args, args.seed * 1000 + li + 1)
        levels.append(s)
        print(f"c={c}: {s['ok']}/{s['requests']} ok, {s['completion_tokens']} tokens in {s['wall_s']:.1f} s = "
              f"{s['tok_s']:.2f} tok/s, TTFT p50 {s['ttft_p50_ms']:.0f} ms p99 {s['ttft_p99_ms']:.0f} ms"
              + (f", errors: {s['error_samples']}" if s["errors"] else ""), file=log)
    settings = {k: getattr(args, k) for k in ("url", "prompt_tokens", "prompt_words", "max_tokens", "shared_prefix",
                                              "seed", "requests_per_level", "warmup", "timeout", "ttft_text")}
    settings["ignore_eos"] = not args.no_ignore_eos
    return {"model": model, "settings": settings, "levels": levels}


def markdown_table(result):
    rows = ["| concurrency | requests (ok/errors) | gen tok/s | TTFT p50 ms | TTFT p99 ms | latency p50 s | "
            "latency p99 s | per-request decode tok/s p50 | prompt tok | short |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for s in result["levels"]:
        pt = f"{s['mean_prompt_tokens']:.0f}" if s["mean_prompt_tokens"] is not None else "?"
        rows.append(f"| {s['concurrency']} | {s['ok']}/{s['errors']} | {s['tok_s']:.2f} | {s['ttft_p50_ms']:.0f} | "
                    f"{s['ttft_p99_ms']:.0f} | {s['latency_p50_s']:.2f} | {s['latency_p99_s']:.2f} | "
                    f"{s['per_request_decode_tok_s_p50']:.2f} | {pt} | {s['short_requests']} |")
    return "\n".join(rows)


def add_load_args(ap):
    ap.add_argument("--api-key", default="", help="send 'Authorization: Bearer KEY' (a server with --keys-db)")
    ap.add_argument("-c", "--concurrency", type=lambda s: [int(x) for x in s.split(",") if x], default=[1, 4, 16],
                    help="comma-separated concurrency levels (default 1,4,16)")
    ap.add_argument("--requests-per-level", type=int, default=0,
                    help="requests per level (default max(8, 2 x concurrency))")
    ap.add_argument("--prompt-tokens", type=int, default=512,
                    help="prompt length in tokens, approximately (default 512)")
    ap.add_argument("--no-calibrate", action="store_true",
                    help="one word per prompt token instead of measuring the server's tokens per word")
    ap.add_argument("--max-tokens", type=int, default=128, help="tokens generated per request")
    ap.add_argument("--shared-prefix", type=int, default=0, help="words of prefix shared by all prompts (default 0)")
    ap.add_argument("--no-ignore-eos", action="store_true",
                    help="do not send ignore_eos (for servers that refuse it; requests may then stop early)")
    ap.add_argument("--ttft-text", action="store_true",
                    help="TTFT at the first event with non-empty text (default: the first token event)")
    ap.add_argument("--seed", type=int, default=1, help="prompt seed (same seed, same prompts)")
    ap.add_argument("--warmup", type=int, default=1, help="unmeasured requests before the levels (default 1)")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per request before it counts as failed")
    ap.add_argument("--model-name", default="", help="model name to send (default: the first id of /v1/models)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    add_load_args(ap)
    ap.add_argument("--json", default="",
                    help="write the full results (per-request samples included) here; '-': stdout")
    args = ap.parse_args()
    result = asyncio.run(run_all(args))
    if args.json == "-":
        print(json.dumps(result, indent=1))
        return
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    print(markdown_table(result))


if __name__ == "__main__":
    main()
