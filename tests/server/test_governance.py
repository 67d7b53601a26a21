"""Governance of `enclave serve` end to end (docs/security.md), against a tiny synthetic model:

  - secure defaults: a non-loopback address without authentication refuses to start
  - the authorisation matrix: every route x every role, no key, a bad, a revoked and an expired key
  - per-key limits: requests/min with Retry-After, max_tokens, daily quota, model restriction
  - client address rules: allow-list, trusted proxies, a spoofed X-Forwarded-For
  - the audit log: one record per request, verifiable; kill -9 under load, restart, still verifies
  - content controls: prompt PII masking and filter refusals; an output term ends the stream with
    finish_reason content_filter; logprobs refused while controls apply
  - TLS through the real openai client, SIGHUP reloading the certificate, and a client certificate
    bound to a key authenticating through mutual TLS
  - model integrity: serve refuses a model without a required manifest or with a changed byte
  - a key's own PII policy winning over the server's

    .venv/bin/python tests/server/test_governance.py path/to/enclave

Exit status 0 only if every check passes.
"""
import hashlib
import http.client as http_client
import json
import os
import re
import shutil
import signal
import ssl
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
TMP = None
MODEL = None
MODEL_ID = "tiny"


def run(*args, check=True):
    r = subprocess.run([ENCLAVE, *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise AssertionError("enclave %s failed (%d): %s" % (" ".join(args), r.returncode, r.stderr))
    return r


def new_key(db, name, role, *extra):
    out = run("keys", "create", "--keys-db", db, "--name", name, "--role", role, "--json", *extra).stdout
    return json.loads(out)


class Server:
    """One `enclave serve` process on a free port."""

    def __init__(self, *flags, host="127.0.0.1", scheme="http", expect_fail=False, model=None):
        self.proc = subprocess.Popen([ENCLAVE, "serve", "-m", model or MODEL, "--port", "0", "--host", host, "--model-id", MODEL_ID,
                                      "-t", "2", "-c", "512", "--chat-template", "deepseek-r1", *flags],
                                     stderr=subprocess.PIPE, text=True)
        self.lines = []
        self.port = None
        for line in self.proc.stderr:
            self.lines.append(line)
            m = re.search(r"on https?://[^:]+:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                break
        if self.port is None:
            self.proc.wait(30)
            if not expect_fail:
                raise AssertionError("server did not start:\n" + "".join(self.lines))
            return
        threading.Thread(target=self._drain, daemon=True).start()
        self.base = "%s://127.0.0.1:%d" % (scheme, self.port)

    def _drain(self):
        for line in self.proc.stderr:
            self.lines.append(line)

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(30)
        time.sleep(0.05)  # the drain thread reads the last lines
        reports = [line for line in self.lines if "runtime error" in line or "Sanitizer" in line]
        if reports:
            raise AssertionError("the server reported:\n" + "".join(reports[:20]))
        return self.proc.returncode

    def __del__(self):
        if self.proc.stderr:
            self.proc.stderr.close()


def http(base, method, path, body=None, key=None, headers=None, timeout=60, context=None):
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    h = dict(headers or {})
    if key:
        h["Authorization"] = "Bearer " + key
    if data is not None:
        h["Content-Type"] = "application/json"
    req = urllib.request.Request(base + path, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)


def wait_for_record(path, request_id, timeout=10):
    """The audit record of a request: written by the server's audit thread just after the answer."""
    deadline = time.time() + timeout
    while True:
        with open(path) as f:
            for line in f:
                if line.endswith("\n"):
                    record = json.loads(line)
                    if record.get("request_id") == request_id:
                        return record
        if time.time() > deadline:
            raise AssertionError("no audit record for " + request_id)
        time.sleep(0.05)


CHAT = {"model": MODEL_ID, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4, "temperature": 0}
COMPLETION = {"model": MODEL_ID, "prompt": "the cat", "max_tokens": 4, "temperature": 0}

# (method, path, body, the permission it needs): the table of docs/security.md.
ROUTES = [
    ("GET", "/health", None, "public"),
    ("GET", "/ready", None, "public"),
    ("GET", "/metrics", None, "metrics"),
    ("GET", "/v1/models", None, "models"),
    ("GET", "/v1/models/" + MODEL_ID, None, "models"),
    ("POST", "/v1/chat/completions", CHAT, "inference"),
    ("POST", "/v1/completions", COMPLETION, "inference"),
    ("GET", "/admin/keys", None, "admin"),
    ("GET", "/admin/model", None, "admin"),
    ("GET", "/admin/audit", None, "audit"),
    ("GET", "/admin/audit/verify", None, "audit"),
    ("GET", "/no/such/route", None, "none"),
    ("GET", "/v1/../admin/keys", None, "none"),
]
ALLOWED = {
    "admin": {"public", "metrics", "models", "admin", "audit"},
    "user": {"public", "models", "inference"},
    "auditor": {"public", "audit"},
    "metrics": {"public", "metrics"},
}


class Governance(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.db = TMP + "/keys.db"
        cls.keys = {role: new_key(cls.db, role + "-key", role) for role in ALLOWED}
        revoked = new_key(cls.db, "gone", "user")
        run("keys", "revoke", "--keys-db", cls.db, revoked["id"])
        cls.revoked = revoked["key"]
        cls.expired = new_key(cls.db, "old", "user", "--expires", "1s")["key"]
        cls.rpm = new_key(cls.db, "slow", "user", "--rpm", "2")["key"]
        cls.capped = new_key(cls.db, "capped", "user", "--max-tokens", "5")["key"]
        cls.daily = new_key(cls.db, "daily", "user", "--daily-tokens", "60")["key"]
        cls.other_model = new_key(cls.db, "elsewhere", "user", "--models", "some-other-model")["key"]
        subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", TMP + "/audit.pem"], check=True,
                       capture_output=True)
        subprocess.run(["openssl", "pkey", "-in", TMP + "/audit.pem", "-pubout", "-out", TMP + "/audit.pub"],
                       check=True, capture_output=True)
        cls.audit = TMP + "/audit.jsonl"
        time.sleep(1.1)  # the 1 s key has expired
        cls.server = Server("--keys-db", cls.db, "--audit-log", cls.audit, "--audit-signing-key", TMP + "/audit.pem")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def call(self, method, path, body=None, key=None, **kw):
        return http(self.server.base, method, path, body, key, **kw)

    def test_authorisation_matrix(self):
        callers = {"none": None, "bad": "enk_" + "A" * 43, "revoked": self.revoked, "expired": self.expired}
        callers.update({role: k["key"] for role, k in self.keys.items()})
        failures = []
        for caller, key in callers.items():
            for method, path, body, need in ROUTES:
                status, text, headers = self.call(method, path, body, key)
                if need == "public":
                    want = 200
                elif caller not in ALLOWED:
                    want = 401
                elif need == "none":
                    want = 404
                else:
                    want = 200 if need in ALLOWED[caller] else 403
                if status != want:
                    failures.append("%s %s as %s: %d, want %d (%s)" % (method, path, caller, status, want, text[:120]))
                if want == 401 and headers.get("WWW-Authenticate") != "Bearer":
                    failures.append("%s %s as %s: 401 without WWW-Authenticate" % (method, path, caller))
                if want in (401, 403) and ("data" in text or "enclave_" in text):
                    failures.append("%s %s as %s: a refusal leaked content" % (method, path, caller))
        self.assertEqual(failures, [])

    def test_probes_reveal_nothing(self):
        for path in ("/health", "/ready"):
            status, text, _ = self.call("GET", path)
            self.assertEqual(status, 200)
            self.assertLessEqual(set(json.loads(text)), {"status"})

    def test_wrong_scheme_and_malformed_header(self):
        key = self.keys["user"]["key"]
        for value in ("Basic " + key, "Bearer", "Bearer ", key):
            status, _, _ = self.call("GET", "/v1/models", headers={"Authorization": value})
            self.assertEqual(status, 401, value)

    def test_openai_client_with_key(self):
        client = openai.OpenAI(base_url=self.server.base + "/v1", api_key=self.keys["user"]["key"], max_retries=0)
        r = client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": "hello"}], max_tokens=3,
                                           temperature=0, extra_body={"ignore_eos": True})
        self.assertEqual(r.usage.completion_tokens, 3)
        bad = openai.OpenAI(base_url=self.server.base + "/v1", api_key="enk_wrong", max_retries=0)
        with self.assertRaises(openai.AuthenticationError):
            bad.models.list()
        auditor = openai.OpenAI(base_url=self.server.base + "/v1", api_key=self.keys["auditor"]["key"], max_retries=0)
        with self.assertRaises(openai.PermissionDeniedError):
            auditor.models.list()

    def test_revocation_takes_effect_at_once(self):
        k = new_key(self.db, "brief", "user")
        self.assertEqual(self.call("GET", "/v1/models", key=k["key"])[0], 200)
        run("keys", "revoke", "--keys-db", self.db, "brief")
        self.assertEqual(self.call("GET", "/v1/models", key=k["key"])[0], 401)

    def test_rotation(self):
        k = new_key(self.db, "turn", "user")
        rotated = json.loads(run("keys", "rotate", "--keys-db", self.db, k["id"], "--json").stdout)
        self.assertEqual(self.call("GET", "/v1/models", key=k["key"])[0], 401)
        self.assertEqual(self.call("GET", "/v1/models", key=rotated["key"])[0], 200)

    def test_requests_per_minute(self):
        statuses = [self.call("POST", "/v1/completions", COMPLETION, self.rpm) for _ in range(3)]
        self.assertEqual([s[0] for s in statuses], [200, 200, 429])
        retry = int(statuses[2][2]["Retry-After"])
        self.assertTrue(1 <= retry <= 60, retry)
        self.assertEqual(json.loads(statuses[2][1])["error"]["type"], "rate_limit_error")

    def test_max_tokens_per_request(self):
        status, text, _ = self.call("POST", "/v1/completions", dict(COMPLETION, max_tokens=10), self.capped)
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(text)["error"]["param"], "max_tokens")
        body = dict(COMPLETION)
        del body["max_tokens"]
        status, text, _ = self.call("POST", "/v1/completions", body, self.capped)
        self.assertEqual(status, 200)
        self.assertLessEqual(json.loads(text)["usage"]["completion_tokens"], 5)

    def test_daily_quota(self):
        # 60 tokens a day: a request reserves prompt + max_tokens, settles on what it used.
        used, refused = 0, None
        for _ in range(20):
            status, text, headers = self.call("POST", "/v1/completions", dict(COMPLETION, max_tokens=8), self.daily)
            if status != 200:
                refused = (status, json.loads(text), headers)
                break
            used += json.loads(text)["usage"]["total_tokens"]
        self.assertIsNotNone(refused)
        self.assertEqual(refused[0], 429)
        self.assertEqual(refused[1]["error"]["code"], "insufficient_quota")
        self.assertLessEqual(used, 60)
        self.assertGreater(int(refused[2]["Retry-After"]), 0)

    def test_model_restriction(self):
        status, text, _ = self.call("POST", "/v1/completions", COMPLETION, self.other_model)
        self.assertEqual(status, 403)
        self.assertEqual(json.loads(text)["error"]["code"], "model_not_allowed")
        status, text, _ = self.call("GET", "/v1/models", key=self.other_model)
        self.assertEqual(json.loads(text)["data"], [])

    def test_key_pii_policy_wins_over_the_servers(self):
        strict = new_key(self.db, "strict", "user", "--pii-policy", "block")
        self.assertEqual(strict["pii_policy"], "block")
        body = dict(COMPLETION, prompt="write to alice@example.com")
        status, text, _ = self.call("POST", "/v1/completions", body, strict["key"])
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(text)["error"]["code"], "pii_blocked")
        self.assertNotIn("alice@example.com", text)
        # The server's own policy is off: another key passes.
        self.assertEqual(self.call("POST", "/v1/completions", body, self.keys["user"]["key"])[0], 200)

    def test_admin_views_hold_no_secrets(self):
        status, text, _ = self.call("GET", "/admin/keys", key=self.keys["admin"]["key"])
        self.assertEqual(status, 200)
        for k in self.keys.values():
            self.assertNotIn(k["key"], text)
        self.assertIn(self.keys["user"]["id"], text)
        status, text, _ = self.call("GET", "/admin/model", key=self.keys["admin"]["key"])
        with open(MODEL, "rb") as f:
            self.assertEqual(json.loads(text)["sha256"], hashlib.sha256(f.read()).hexdigest())

    def test_audit_records(self):
        key = self.keys["user"]
        status, text, _ = self.call("POST", "/v1/completions", dict(COMPLETION, prompt="audit me"), key["key"])
        self.assertEqual(status, 200)
        completion = json.loads(text)
        status, _, _ = self.call("GET", "/admin/keys", key=key["key"])  # a refusal is recorded too
        self.assertEqual(status, 403)
        status, text, _ = self.call("GET", "/admin/audit?limit=1000", key=self.keys["auditor"]["key"])
        self.assertEqual(status, 200)
        records = [r for r in json.loads(text)["records"] if r.get("type") == "request"]
        mine = [r for r in records if r.get("request_id") == completion["id"]]
        self.assertEqual(len(mine), 1, records[-3:])
        r = mine[0]
        self.assertEqual((r["key_id"], r["key_name"], r["role"], r["status"]), (key["id"], "user-key", "user", 200))
        self.assertEqual(r["prompt_sha256"], hashlib.sha256(b"audit me").hexdigest())
        self.assertEqual(r["completion_sha256"], hashlib.sha256(completion["choices"][0]["text"].encode()).hexdigest())
        self.assertEqual(r["completion_tokens"], completion["usage"]["completion_tokens"])
        self.assertNotIn("prompt", r)  # text only with audit.store_text
        with open(MODEL, "rb") as f:
            self.assertEqual(r["model_sha256"], hashlib.sha256(f.read()).hexdigest())
        denied = [x for x in records if x.get("route") == "GET /admin/keys" and x.get("status") == 403]
        self.assertTrue(denied)
        status, text, _ = self.call("GET", "/admin/audit/verify", key=self.keys["auditor"]["key"])
        self.assertTrue(json.loads(text)["ok"], text)


class AddressRules(unittest.TestCase):
    def test_allow_list_and_proxies(self):
        s = Server("--allow-ips", "10.0.0.0/8,2001:db8::/32")
        try:
            self.assertEqual(http(s.base, "GET", "/health")[0], 200)  # probes answer everyone
            self.assertEqual(http(s.base, "GET", "/v1/models")[0], 403)
            # Not a trusted proxy: the header is ignored.
            self.assertEqual(http(s.base, "GET", "/v1/models", headers={"X-Forwarded-For": "10.1.2.3"})[0], 403)
        finally:
            s.stop()
        s = Server("--allow-ips", "10.0.0.0/8", "--trusted-proxies", "127.0.0.1/32")
        try:
            self.assertEqual(http(s.base, "GET", "/v1/models", headers={"X-Forwarded-For": "10.1.2.3"})[0], 200)
            self.assertEqual(http(s.base, "GET", "/v1/models", headers={"X-Forwarded-For": "192.168.1.1"})[0], 403)
            # The client prepends a fake entry; the proxy appends the real one, which decides.
            self.assertEqual(http(s.base, "GET", "/v1/models",
                                  headers={"X-Forwarded-For": "10.9.9.9, 192.168.1.1"})[0], 403)
            self.assertEqual(http(s.base, "GET", "/v1/models")[0], 403)  # the proxy itself is not allowed
        finally:
            s.stop()


class SecureDefaults(unittest.TestCase):
    def test_non_loopback_needs_auth(self):
        s = Server(host="0.0.0.0", expect_fail=True)
        self.assertIsNone(s.port)
        self.assertNotEqual(s.proc.returncode, 0)
        self.assertIn("--insecure", "".join(s.lines))
        s = Server("--insecure", host="0.0.0.0")
        try:
            self.assertEqual(http(s.base, "GET", "/health")[0], 200)
        finally:
            s.stop()


class Integrity(unittest.TestCase):
    def test_serve_refuses_a_model_that_fails_its_manifest(self):
        d = TMP + "/integrity"
        os.makedirs(d)
        model = d + "/model.gguf"
        shutil.copy(MODEL, model)
        # No manifest: served, unless one is required.
        r = subprocess.run([ENCLAVE, "serve", "-m", model, "--port", "0", "--require-manifest"], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertIn("manifest", r.stderr)
        run("audit", "keygen", "--out", d + "/release.pem")
        run("manifest", "create", model, "--sign", d + "/release.pem")
        admin = new_key(d + "/keys.db", "admin", "admin")["key"]
        s = Server("--require-signature", "--manifest-public-key", d + "/release.pub.pem", "--keys-db", d + "/keys.db",
                   model=model)
        try:
            status, text, _ = http(s.base, "GET", "/admin/model", key=admin)
            self.assertEqual(status, 200)
            self.assertTrue(json.loads(text)["manifest"].startswith("verified, signed by"), text)
        finally:
            s.stop()
        # One changed byte: refused before loading.
        with open(model, "r+b") as f:
            f.seek(os.path.getsize(model) - 1)
            last = f.read(1)
            f.seek(-1, os.SEEK_END)
            f.write(bytes([last[0] ^ 1]))
        r = subprocess.run([ENCLAVE, "serve", "-m", model, "--port", "0"], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertIn("refusing to serve", r.stderr)


class AuditCrash(unittest.TestCase):
    def test_kill_9_then_restart_continues_the_chain(self):
        log = TMP + "/crash/audit.jsonl"
        os.makedirs(TMP + "/crash")
        s = Server("--audit-log", log)
        stop = threading.Event()

        def load():
            while not stop.is_set():
                try:
                    http(s.base, "POST", "/v1/completions", COMPLETION, timeout=5)
                except Exception:
                    return
        threads = [threading.Thread(target=load) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(2)
        s.proc.send_signal(signal.SIGKILL)
        s.proc.wait(30)
        stop.set()
        for t in threads:
            t.join(10)
        s = Server("--audit-log", log)
        for _ in range(3):
            self.assertEqual(http(s.base, "POST", "/v1/completions", COMPLETION)[0], 200)
        self.assertEqual(s.stop(), 0)
        r = run("audit", "verify", log, check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(log) as f:
            types = [json.loads(line)["type"] for line in f]
        self.assertGreaterEqual(types.count("request"), 4)
        self.assertEqual(types.count("open"), 2)


class Content(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # The greedy output of the unfiltered server picks a term the filter will meet mid-stream:
        # three ASCII letters first seen a few characters in (random weights give odd text).
        s = Server()
        cls.term, cls.prompt, cls.plain = None, None, None
        try:
            for prompt in ("the cat", "hello world", "once upon a time", "tell me", "write code"):
                body = dict(COMPLETION, prompt=prompt, max_tokens=24)
                plain = json.loads(http(s.base, "POST", "/v1/completions", body)[1])["choices"][0]["text"]
                for i in range(4, len(plain) - 2):
                    sub = plain[i:i + 3]
                    if all("a" <= c.lower() <= "z" for c in sub) and plain.lower().find(sub.lower()) == i:
                        cls.term, cls.prompt, cls.plain = sub, prompt, plain
                        break
                if cls.term:
                    break
        finally:
            s.stop()
        with open(TMP + "/lexicon.txt", "w") as f:
            if cls.term:
                f.write("%s\tblocked\n" % cls.term)
            f.write("zebraword\tmasked\n")
        cls.server = Server("--pii-policy", "mask", "--filter-lexicon", TMP + "/lexicon.txt", "--filter-actions",
                            "blocked=block,masked=mask", "--audit-log", TMP + "/content.jsonl", "--audit-store-text")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_output_block_ends_the_stream(self):
        if not self.term:
            self.fail("no greedy text of the test prompts holds a usable term")
        body = dict(COMPLETION, prompt=self.prompt, max_tokens=24)
        status, text, _ = http(self.server.base, "POST", "/v1/completions", body)
        self.assertEqual(status, 200)
        choice = json.loads(text)["choices"][0]
        self.assertEqual(choice["finish_reason"], "content_filter")
        self.assertNotIn(self.term.lower(), choice["text"].lower())
        # Bytes that are not UTF-8 may be replaced in runs of different lengths.
        collapse = lambda t: re.sub("\ufffd+", "\ufffd", t)
        self.assertTrue(collapse(self.plain).startswith(collapse(choice["text"])), (self.plain, choice["text"]))
        client = openai.OpenAI(base_url=self.server.base + "/v1", api_key="x", max_retries=0)
        streamed, finish = "", None
        for chunk in client.completions.create(model=MODEL_ID, prompt=self.prompt, max_tokens=24, temperature=0,
                                               stream=True):
            streamed += chunk.choices[0].text
            finish = chunk.choices[0].finish_reason or finish
        self.assertEqual((streamed, finish), (choice["text"], "content_filter"))

    def test_prompt_controls(self):
        status, text, _ = http(self.server.base, "POST", "/v1/completions",
                               dict(COMPLETION, prompt="mail alice@example.com about zebraword"))
        self.assertEqual(status, 200)
        rid = json.loads(text)["id"]
        if self.term:
            status, text, _ = http(self.server.base, "POST", "/v1/completions", dict(COMPLETION, prompt="say " + self.term))
            self.assertEqual(status, 400)
            self.assertEqual(json.loads(text)["error"]["code"], "content_filter")
        status, text, _ = http(self.server.base, "POST", "/v1/completions", dict(COMPLETION, logprobs=2))
        self.assertEqual(status, 400)
        r = wait_for_record(TMP + "/content.jsonl", rid)
        self.assertNotIn("alice@example.com", r["prompt"])
        self.assertNotIn("zebraword", r["prompt"])
        self.assertIn("@example.com", r["prompt"])
        self.assertIn("prompt:pii:mask:EMAIL", r["actions"])
        self.assertIn("prompt:filter:mask:masked", r["actions"])


class Tls(unittest.TestCase):
    def test_https_and_reload(self):
        d = TMP + "/tls"
        os.makedirs(d)

        def make_cert(name):
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                            "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                            "-keyout", d + "/" + name + ".key", "-out", d + "/" + name + ".pem"],
                           check=True, capture_output=True)
        make_cert("a")
        make_cert("b")
        shutil.copy(d + "/a.pem", d + "/server.pem")
        shutil.copy(d + "/a.key", d + "/server.key")
        s = Server("--tls-cert", d + "/server.pem", "--tls-key", d + "/server.key", scheme="https")
        try:
            ctx = ssl.create_default_context(cafile=d + "/a.pem")
            self.assertEqual(http(s.base, "GET", "/health", context=ctx)[0], 200)
            # The openai client's own HTTP stack (httpx2 in the pinned version) with our CA.
            try:
                import httpx2 as httpx_module
            except ImportError:
                import httpx as httpx_module
            client = openai.OpenAI(base_url=s.base + "/v1", api_key="x", max_retries=0,
                                   http_client=httpx_module.Client(verify=ctx))
            self.assertEqual([m.id for m in client.models.list().data], [MODEL_ID])
            old12 = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            old12.load_verify_locations(d + "/a.pem")
            old12.maximum_version = ssl.TLSVersion.TLSv1_2
            with self.assertRaises((ssl.SSLError, urllib.error.URLError, ConnectionError)):
                http(s.base, "GET", "/health", context=old12)
            # A keep-alive connection opened before the reload keeps working; new ones get cert b.
            conn = http_client.HTTPSConnection("127.0.0.1", s.port, context=ctx)
            conn.request("GET", "/health")
            self.assertEqual(conn.getresponse().read(), b'{"status":"ok"}')
            shutil.copy(d + "/b.pem", d + "/server.pem")
            shutil.copy(d + "/b.key", d + "/server.key")
            s.proc.send_signal(signal.SIGHUP)
            deadline = time.time() + 10
            while time.time() < deadline and not any("SIGHUP" in line for line in s.lines):
                time.sleep(0.1)
            self.assertTrue(any("reloaded" in line for line in s.lines), s.lines)
            ctx_b = ssl.create_default_context(cafile=d + "/b.pem")
            self.assertEqual(http(s.base, "GET", "/health", context=ctx_b)[0], 200)
            with self.assertRaises((ssl.SSLError, urllib.error.URLError)):
                http(s.base, "GET", "/health", context=ctx)
            conn.request("GET", "/ready")
            self.assertEqual(conn.getresponse().status, 200)
            conn.close()
        finally:
            s.stop()

    def test_client_certificate_authenticates_as_its_key(self):
        d = TMP + "/mtls"
        os.makedirs(d)

        def openssl(*args):
            subprocess.run(["openssl", *args], check=True, capture_output=True)
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        openssl("req", "-x509", *ec, "-days", "2", "-subj", "/CN=test-ca", "-keyout", d + "/ca.key", "-out", d + "/ca.pem")
        openssl("req", "-x509", *ec, "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                "-keyout", d + "/server.key", "-out", d + "/server.pem")
        for name in ("svc", "stranger"):
            openssl("req", "-new", *ec, "-subj", "/CN=" + name, "-keyout", d + "/" + name + ".key", "-out", d + "/" + name + ".csr")
            openssl("x509", "-req", "-in", d + "/" + name + ".csr", "-CA", d + "/ca.pem", "-CAkey", d + "/ca.key",
                    "-CAcreateserial", "-days", "2", "-out", d + "/" + name + ".pem")
        db = d + "/keys.db"
        new_key(db, "svc", "user", "--client-cert", d + "/svc.pem")
        s = Server("--tls-cert", d + "/server.pem", "--tls-key", d + "/server.key", "--tls-client-ca", d + "/ca.pem",
                   "--tls-require-client-cert", "--keys-db", db, "--audit-log", d + "/audit.jsonl", host="0.0.0.0",
                   scheme="https")
        try:
            def ctx(cert):
                c = ssl.create_default_context(cafile=d + "/server.pem")
                if cert:
                    c.load_cert_chain(d + "/" + cert + ".pem", d + "/" + cert + ".key")
                return c
            # A bound certificate is the credential: no bearer key needed.
            self.assertEqual(http(s.base, "GET", "/v1/models", context=ctx("svc"))[0], 200)
            # A certificate from the CA that no key is bound to gets through TLS but not past auth.
            self.assertEqual(http(s.base, "GET", "/v1/models", context=ctx("stranger"))[0], 401)
            # Without a certificate the handshake itself is refused.
            with self.assertRaises((ssl.SSLError, urllib.error.URLError, ConnectionError)):
                http(s.base, "GET", "/health", context=ctx(None))
        finally:
            s.stop()
        with open(d + "/audit.jsonl") as f:
            records = [json.loads(line) for line in f]
        served = [r for r in records if r.get("type") == "request" and r.get("status") == 200]
        self.assertEqual([r["key_name"] for r in served], ["svc"])


def main():
    global ENCLAVE, TMP, MODEL
    ENCLAVE = os.path.abspath(sys.argv[1])
    TMP = tempfile.mkdtemp(prefix="enclave_governance_test_")
    subprocess.run([ENCLAVE, "synth", "--arch", "qwen2", "--preset", "tiny", "--seed", "3", "--out", TMP + "/m",
                    "--gguf", "f16"], check=True, stdout=subprocess.DEVNULL)
    MODEL = TMP + "/m/gguf/model-f16.gguf"
    result = unittest.main(argv=[sys.argv[0], "-v"], exit=False).result
    shutil.rmtree(TMP, ignore_errors=True)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
