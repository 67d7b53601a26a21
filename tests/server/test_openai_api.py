"""Conformance of `enclave serve` through the official `openai` Python client (pinned in
scripts/requirements.txt), plus raw-HTTP robustness checks, against a tiny synthetic model.

    .venv/bin/python tests/server/test_openai_api.py path/to/enclave

Starts one server on a free port (an R1-style chat template, so `reasoning_content` appears), runs
every check, then sends SIGTERM and expects a clean exit. Exit status 0 only if all checks pass.
"""
import concurrent.futures
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

import openai

ENCLAVE = None
SERVER = None
BASE = None
MODEL_ID = "tiny"
TMP = None
EOS_ID = None


def http(method, path, body=None, headers=None, timeout=30):
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    req = urllib.request.Request(BASE + path, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)


def metric(name):
    _, text, _ = http("GET", "/metrics")
    m = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
    return float(m.group(1)) if m else None


class Api(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.client = openai.OpenAI(base_url=BASE + "/v1", api_key="unused", max_retries=0, timeout=60)

    def chat(self, content, **kw):
        return self.client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": content}], **kw)

    def test_models(self):
        models = self.client.models.list()
        self.assertEqual([m.id for m in models.data], [MODEL_ID])

    def test_chat_non_streamed(self):
        r = self.chat("Hello there", max_tokens=12, temperature=0)
        self.assertTrue(r.id.startswith("chatcmpl-"))
        self.assertEqual(r.object, "chat.completion")
        self.assertEqual(r.model, MODEL_ID)
        self.assertEqual(len(r.choices), 1)
        self.assertEqual(r.choices[0].finish_reason, "length")
        self.assertEqual(r.usage.completion_tokens, 12)
        self.assertEqual(r.usage.total_tokens, r.usage.prompt_tokens + 12)
        self.assertEqual(r.usage.prompt_tokens_details.cached_tokens, 0)
        # R1's template opens the think block: the output is reasoning until </think>.
        msg = r.choices[0].message
        self.assertIsInstance(msg.model_extra.get("reasoning_content"), str)
        self.assertEqual(msg.content, "")

    def test_chat_stream_equals_non_streamed(self):
        full = self.chat("Tell me a story", max_tokens=16, temperature=0)
        reasoning, content, finish, roles = "", "", None, 0
        stream = self.chat("Tell me a story", max_tokens=16, temperature=0, stream=True,
                           stream_options={"include_usage": True})
        usage = None
        for chunk in stream:
            if chunk.usage is not None:
                usage = chunk.usage
                self.assertEqual(chunk.choices, [])
                continue
            d = chunk.choices[0].delta
            roles += d.role == "assistant"
            reasoning += (d.model_extra or {}).get("reasoning_content") or ""
            content += d.content or ""
            finish = chunk.choices[0].finish_reason or finish
        self.assertEqual(roles, 1)
        self.assertEqual(reasoning, full.choices[0].message.model_extra["reasoning_content"])
        self.assertEqual(content, full.choices[0].message.content)
        self.assertEqual(finish, "length")
        self.assertEqual(usage.completion_tokens, 16)
        self.assertEqual(usage.prompt_tokens, full.usage.prompt_tokens)

    def test_completions(self):
        r = self.client.completions.create(model=MODEL_ID, prompt="the cat sat", max_tokens=10, temperature=0)
        self.assertEqual(r.object, "text_completion")
        self.assertEqual(r.choices[0].finish_reason, "length")
        text = "".join(c.choices[0].text for c in self.client.completions.create(
            model=MODEL_ID, prompt="the cat sat", max_tokens=10, temperature=0, stream=True))
        self.assertEqual(text, r.choices[0].text)

    def test_stop_string(self):
        r = self.client.completions.create(model=MODEL_ID, prompt="a b c", max_tokens=24, temperature=0)
        text = r.choices[0].text
        if len(text) < 4:
            self.skipTest("greedy text too short to cut")
        stop = text[2:4]
        r2 = self.client.completions.create(model=MODEL_ID, prompt="a b c", max_tokens=24, temperature=0, stop=[stop])
        self.assertEqual(r2.choices[0].finish_reason, "stop")
        self.assertEqual(r2.choices[0].text, text[:text.index(stop)])

    def test_n_choices_and_seed(self):
        a = self.client.completions.create(model=MODEL_ID, prompt="once upon", max_tokens=8, temperature=1.0, n=3, seed=42)
        b = self.client.completions.create(model=MODEL_ID, prompt="once upon", max_tokens=8, temperature=1.0, n=3, seed=42)
        self.assertEqual([c.index for c in a.choices], [0, 1, 2])
        self.assertEqual([c.text for c in a.choices], [c.text for c in b.choices])
        self.assertGreater(len({c.text for c in a.choices}), 1, "seeded choices should differ from each other")
        self.assertEqual(a.usage.completion_tokens, 24)

    def test_logprobs(self):
        r = self.chat("hi", max_tokens=4, temperature=0, logprobs=True, top_logprobs=3)
        content = r.choices[0].logprobs.content
        self.assertEqual(len(content), 4)
        for entry in content:
            self.assertLessEqual(entry.logprob, 0.0)
            self.assertEqual(len(entry.top_logprobs), 3)
            # Greedy: the chosen token is the most likely one.
            self.assertAlmostEqual(entry.top_logprobs[0].logprob, entry.logprob, places=5)
        c = self.client.completions.create(model=MODEL_ID, prompt="x", max_tokens=3, temperature=0, logprobs=2)
        self.assertEqual(len(c.choices[0].logprobs.token_logprobs), 3)

    def test_errors(self):
        with self.assertRaises(openai.NotFoundError) as e:
            self.client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}])
        self.assertEqual(e.exception.body["code"], "model_not_found")
        with self.assertRaises(openai.BadRequestError) as e:
            self.chat("x", temperature=5)
        self.assertEqual(e.exception.body["param"], "temperature")
        with self.assertRaises(openai.BadRequestError) as e:
            self.chat("word " * 3000, max_tokens=4)
        self.assertEqual(e.exception.body["code"], "context_length_exceeded")
        status, body, _ = http("POST", "/v1/chat/completions", b"{not json", {"Content-Type": "application/json"})
        self.assertEqual(status, 400)
        self.assertIn("error", json.loads(body))
        status, body, _ = http("POST", "/v1/chat/completions", {"model": MODEL_ID, "messages": "hi"})
        self.assertEqual((status, json.loads(body)["error"]["param"]), (400, "messages"))
        # A body over the limit (4 MiB) is refused from its Content-Length, before it is sent.
        s = socket.create_connection(("127.0.0.1", PORT))
        s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (5 << 20))
        self.assertTrue(s.recv(4096).startswith(b"HTTP/1.1 413 "))
        s.close()
        # A client that writes the whole body before reading still gets the 413 (lingering close),
        # not a connection reset.
        status, body, _ = http("POST", "/v1/completions", b"x" * (5 << 20), {"Content-Type": "application/json"})
        self.assertEqual(status, 413)
        self.assertIn("exceeds the limit", json.loads(body)["error"]["message"])
        status, _, _ = http("GET", "/v1/nothing")
        self.assertEqual(status, 404)
        status, _, _ = http("GET", "/v1/chat/completions")
        self.assertEqual(status, 405)

    def test_json_object(self):
        # The tiny model writes noise; constrained to JSON, what ends with "stop" is one object.
        finished = 0
        for seed in range(1, 7):
            r = self.client.completions.create(model=MODEL_ID, prompt="Give JSON:", max_tokens=300, seed=seed,
                                               extra_body={"response_format": {"type": "json_object"}})
            c = r.choices[0]
            if c.finish_reason == "stop":
                self.assertIsInstance(json.loads(c.text), dict, c.text)
                finished += 1
            else:
                self.assertEqual(c.finish_reason, "length")
                self.assertEqual(c.text.lstrip()[:1], "{")
        self.assertGreaterEqual(finished, 3)
        stream = self.client.completions.create(model=MODEL_ID, prompt="Give JSON:", max_tokens=300, seed=3,
                                                extra_body={"response_format": {"type": "json_object"}}, stream=True)
        self.assertEqual(json.loads("".join(c.choices[0].text for c in stream)).__class__, dict)
        with self.assertRaises(openai.BadRequestError) as e:
            self.chat("x", response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": {}}})
        self.assertEqual(e.exception.body["param"], "response_format")

    def test_ignore_eos(self):
        # A +100 bias all but forces the end token; ignore_eos bans it anyway.
        forced = {str(EOS_ID): 100}
        r = self.client.completions.create(model=MODEL_ID, prompt="x", max_tokens=32, temperature=0, logit_bias=forced)
        self.assertEqual((r.choices[0].finish_reason, r.usage.completion_tokens), ("stop", 1))
        r = self.client.completions.create(model=MODEL_ID, prompt="x", max_tokens=32, temperature=0, logit_bias=forced,
                                           extra_body={"ignore_eos": True})
        self.assertEqual((r.choices[0].finish_reason, r.usage.completion_tokens), ("length", 32))

    def test_request_timeout(self):
        before = metric("enclave_requests_timed_out_total")
        body = {"model": MODEL_ID, "prompt": "x", "max_tokens": 900, "ignore_eos": True, "timeout": 0.05}
        status, text, _ = http("POST", "/v1/completions", body)
        self.assertEqual(status, 504, text)
        self.assertEqual(json.loads(text)["error"]["code"], "request_timeout")
        with self.assertRaises(openai.APIError) as e:  # streamed: an error event ends the stream
            for _ in self.client.completions.create(model=MODEL_ID, prompt="x", max_tokens=900, stream=True,
                                                    extra_body={"ignore_eos": True, "timeout": 0.05}):
                pass
        self.assertIn("time limit", str(e.exception))
        self.assertEqual(metric("enclave_requests_timed_out_total"), before + 2)
        status, text, _ = http("POST", "/v1/completions", dict(body, timeout=-1))
        self.assertEqual((status, json.loads(text)["error"]["param"]), (400, "timeout"))

    def test_probes_and_metrics(self):
        self.assertEqual(http("GET", "/health")[:2], (200, '{"status":"ok"}'))
        self.assertEqual(http("GET", "/ready")[0], 200)
        status, text, headers = http("GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/plain"))
        for name in ["enclave_requests_total", "enclave_time_to_first_token_seconds_bucket", "enclave_kv_blocks_total",
                     "enclave_requests_running", "enclave_process_resident_memory_bytes", "enclave_batch_tokens_count"]:
            self.assertIn(name, text)

    def test_concurrent_greedy_equals_alone(self):
        prompts = ["alpha beta", "gamma delta epsilon", "one two three four", "hello", "zeta eta theta"]
        alone = [self.client.completions.create(model=MODEL_ID, prompt=p, max_tokens=16, temperature=0).choices[0].text
                 for p in prompts]
        with concurrent.futures.ThreadPoolExecutor(len(prompts)) as pool:
            together = list(pool.map(lambda p: self.client.completions.create(
                model=MODEL_ID, prompt=p, max_tokens=16, temperature=0).choices[0].text, prompts))
        self.assertEqual(together, alone)

    def test_prefix_cache(self):
        system = "You are a careful assistant. " * 40
        first = self.client.chat.completions.create(model=MODEL_ID, max_tokens=4, temperature=0, messages=[
            {"role": "system", "content": system}, {"role": "user", "content": "first question"}])
        self.assertEqual(first.usage.prompt_tokens_details.cached_tokens, 0)
        second = self.client.chat.completions.create(model=MODEL_ID, max_tokens=4, temperature=0, messages=[
            {"role": "system", "content": system}, {"role": "user", "content": "second question"}])
        cached = second.usage.prompt_tokens_details.cached_tokens
        self.assertGreater(cached, second.usage.prompt_tokens // 2)
        self.assertLess(cached, second.usage.prompt_tokens)
        self.assertGreaterEqual(metric("enclave_prompt_tokens_cached_total"), cached)
        # A repeat, served from an even longer cached prefix, answers the same. (That a forked prefix
        # gives the logits of a recomputation is EngineTest.ForkedPrefixMatchesRecomputation.)
        repeat = self.client.chat.completions.create(model=MODEL_ID, max_tokens=4, temperature=0, messages=[
            {"role": "system", "content": system}, {"role": "user", "content": "second question"}])
        self.assertEqual(repeat.choices[0].message.model_extra.get("reasoning_content"),
                         second.choices[0].message.model_extra.get("reasoning_content"))
        self.assertGreaterEqual(repeat.usage.prompt_tokens_details.cached_tokens, cached)

    def test_disconnect_frees_kv(self):
        def cancelled():
            _, text, _ = http("GET", "/metrics")
            m = re.search(r'^enclave_requests_total\{route="/v1/completions",status="499"\} (\S+)$', text, re.M)
            return float(m.group(1)) if m else 0.0
        used_before, cancelled_before = metric("enclave_kv_blocks_used"), cancelled()
        # 16 choices of 1000 tokens with the special tokens banned: seconds of work for this model.
        body = json.dumps({"model": MODEL_ID, "prompt": "go on and on", "max_tokens": 1000, "n": 16, "stream": True,
                           "temperature": 1.0, "logit_bias": {str(i): -100 for i in range(500, 512)}}).encode()
        s = socket.create_connection(("127.0.0.1", PORT))
        s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                  % len(body) + body)
        seen = b""
        while b"data: " not in seen:  # the first tokens: it is generating
            chunk = s.recv(4096)
            self.assertTrue(chunk, "connection closed: %r" % seen)
            seen += chunk
        self.assertTrue(seen.startswith(b"HTTP/1.1 200 "), seen)
        s.close()
        deadline = time.time() + 10
        while (metric("enclave_requests_running") != 0 or cancelled() == cancelled_before) and time.time() < deadline:
            time.sleep(0.02)
        self.assertEqual(cancelled(), cancelled_before + 1, "the request was not cancelled (status 499)")
        self.assertEqual(metric("enclave_requests_running"), 0)
        self.assertLessEqual(metric("enclave_kv_blocks_used"), used_before)

    def test_slow_clients(self):
        # A client trickling its request byte by byte still gets its answer, and does not hold up others.
        body = json.dumps({"model": MODEL_ID, "prompt": "slow", "max_tokens": 2}).encode()
        raw = b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body
        result = {}

        def trickle():
            s = socket.create_connection(("127.0.0.1", PORT))
            for i in range(len(raw)):
                s.sendall(raw[i:i + 1])
                time.sleep(0.004)
            result["reply"] = s.recv(65536)
            s.close()
        t = threading.Thread(target=trickle)
        t.start()
        start = time.time()
        r = self.client.completions.create(model=MODEL_ID, prompt="fast", max_tokens=2, temperature=0)
        self.assertEqual(len(r.choices), 1)
        self.assertLess(time.time() - start, 2.0)
        t.join(30)
        self.assertTrue(result.get("reply", b"").startswith(b"HTTP/1.1 200 "), result)
        # One that never finishes its request is answered 408 after --request-timeout (3 s here).
        s = socket.create_connection(("127.0.0.1", PORT))
        s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\n")
        s.settimeout(10)
        self.assertTrue(s.recv(4096).startswith(b"HTTP/1.1 408 "))
        s.close()

    def test_zz_load(self):
        # 200 requests at concurrency 32 (run last): no errors, and memory flat after warm-up.
        def one(i):
            stream = i % 2 == 0
            if stream:
                text = "".join(c.choices[0].text for c in self.client.completions.create(
                    model=MODEL_ID, prompt="request %d" % i, max_tokens=16, stream=True))
                return len(text) >= 0
            r = self.client.chat.completions.create(model=MODEL_ID, max_tokens=16,
                                                    messages=[{"role": "user", "content": "request %d" % i}])
            return r.choices[0].finish_reason in ("stop", "length")
        with concurrent.futures.ThreadPoolExecutor(32) as pool:
            self.assertTrue(all(pool.map(one, range(40))))
            rss_warm = metric("enclave_process_resident_memory_bytes")
            self.assertTrue(all(pool.map(one, range(40, 200))))
        rss_end = metric("enclave_process_resident_memory_bytes")
        # Under AddressSanitizer freed memory waits in its quarantine, so RSS grows by design there (leaks
        # are ASan's own check at exit); the release run checks that memory stays flat.
        if "ASAN_OPTIONS" not in os.environ:
            self.assertLess(rss_end - rss_warm, 16 << 20, "RSS grew from %d to %d" % (rss_warm, rss_end))
        self.assertEqual(metric("enclave_requests_running"), 0)

    def test_idle_connections(self):
        socks = [socket.create_connection(("127.0.0.1", PORT)) for _ in range(1000)]
        try:
            self.assertEqual(http("GET", "/health")[0], 200)
            r = self.client.completions.create(model=MODEL_ID, prompt="still", max_tokens=2, temperature=0)
            self.assertEqual(len(r.choices), 1)
        finally:
            for s in socks:
                s.close()


def main():
    global ENCLAVE, SERVER, BASE, PORT, TMP, EOS_ID
    ENCLAVE = os.path.abspath(sys.argv[1])
    # 1,000 idle connections need more descriptors than a default soft limit of 1024 (the server
    # inherits this).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 4096 if hard == resource.RLIM_INFINITY else min(hard, 4096)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    TMP = tempfile.mkdtemp(prefix="enclave_server_test_")
    subprocess.run([ENCLAVE, "synth", "--arch", "qwen2", "--preset", "tiny", "--seed", "3", "--out", TMP + "/m",
                    "--gguf", "f16"], check=True, stdout=subprocess.DEVNULL)
    with open(TMP + "/m/tokenizer_config.json") as f:
        eos_text = json.load(f)["eos_token"]
    with open(TMP + "/m/tokenizer.json") as f:
        EOS_ID = next(t["id"] for t in json.load(f)["added_tokens"] if t["content"] == eos_text)
    SERVER = subprocess.Popen([ENCLAVE, "serve", "-m", TMP + "/m/gguf/model-f16.gguf", "--port", "0", "--model-id",
                               MODEL_ID, "-t", "2", "-c", "1024", "--chat-template", "deepseek-r1",
                               "--access-log", TMP + "/access.log", "--request-timeout", "3"],
                              stderr=subprocess.PIPE, text=True)
    port = None
    lines = []
    for line in SERVER.stderr:
        lines.append(line)
        m = re.search(r"on http://127\.0\.0\.1:(\d+)", line)
        if m:
            port = int(m.group(1))
            break
    if port is None:
        print("server did not start:\n" + "".join(lines))
        return 1
    threading.Thread(target=lambda: [None for _ in SERVER.stderr], daemon=True).start()
    PORT = port
    BASE = "http://127.0.0.1:%d" % port
    result = unittest.main(argv=[sys.argv[0], "-v"], exit=False).result
    ok = result.wasSuccessful()
    # The access log has one JSON line per request and never the text.
    with open(TMP + "/access.log") as f:
        records = [json.loads(line) for line in f]
    if not records or any("prompt" in r or "text" in r for r in records):
        print("FAIL access log: %d records" % len(records))
        ok = False
    # Graceful shutdown: a request in flight when SIGTERM arrives still completes.
    done = {}
    t = threading.Thread(target=lambda: done.update(r=http("POST", "/v1/completions", {
        "model": MODEL_ID, "prompt": "last one", "max_tokens": 64, "temperature": 0})))
    t.start()
    time.sleep(0.2)
    SERVER.send_signal(signal.SIGTERM)
    t.join(30)
    rc = SERVER.wait(30)
    if rc != 0 or done.get("r", (0,))[0] != 200:
        print("FAIL SIGTERM drain: exit %s, in-flight request %s" % (rc, done.get("r")))
        ok = False
    shutil.rmtree(TMP, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
