#!/usr/bin/env python3
"""An independent HTTP(S) client for tests/unit/http_tls_test.cc (Python's ssl and http.client).

Usage: http_tls_client.py SPEC.json. The spec is {"port": N, "steps": [...]}; each step runs on a
named connection and prints one JSON line (flushed, so the test can act between steps):
  {"op": "connect", "conn": "a", "tls": true, "ca": "ca.pem", "cert": ..., "key": ...,
   "min": "1.2", "max": "1.2", "ciphers": "..."}   -> version, cipher, server_cert_sha256
  {"op": "request", "conn": "a", "path": "/echo", "method": "GET", "body": "..."}
                                                    -> status, headers (lower-case), body
  {"op": "close", "conn": "a"}
  {"op": "wait_file", "path": "..."}                waits (30 s at most) until the file exists
  {"op": "idle", "timeout": 10}                     a TCP connection that never speaks:
                                                    -> seconds until the server closes it
Every line has "op", "ok" and, when not ok, "error" (exception type) and "message".
"""
import hashlib
import http.client
import json
import os
import socket
import ssl
import sys
import time

VERSIONS = {
    "1.0": ssl.TLSVersion.TLSv1,
    "1.1": ssl.TLSVersion.TLSv1_1,
    "1.2": ssl.TLSVersion.TLSv1_2,
    "1.3": ssl.TLSVersion.TLSv1_3,
}


def make_context(step):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies the server's chain and name
    ctx.load_verify_locations(step["ca"])
    if "ciphers" in step:
        ctx.set_ciphers(step["ciphers"])
    if "min" in step:
        ctx.minimum_version = VERSIONS[step["min"]]
    if "max" in step:
        ctx.maximum_version = VERSIONS[step["max"]]
    if "cert" in step:
        ctx.load_cert_chain(step["cert"], step["key"])
    return ctx


def run_step(step, port, conns, out):
    op = step["op"]
    if op == "connect":
        if step.get("tls", True):
            conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=make_context(step))
        else:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conns[step["conn"]] = conn
        conn.connect()
        if isinstance(conn.sock, ssl.SSLSocket):
            der = conn.sock.getpeercert(binary_form=True)
            out.update(version=conn.sock.version(), cipher=conn.sock.cipher()[0],
                       server_cert_sha256=hashlib.sha256(der).hexdigest())
    elif op == "request":
        conn = conns[step["conn"]]
        conn.request(step.get("method", "GET"), step.get("path", "/echo"), body=step.get("body"))
        resp = conn.getresponse()
        out.update(status=resp.status, headers={k.lower(): v for k, v in resp.getheaders()},
                   body=resp.read().decode("utf-8", "replace"))
    elif op == "close":
        conns.pop(step["conn"]).close()
    elif op == "wait_file":
        deadline = time.monotonic() + 30
        while not os.path.exists(step["path"]):
            if time.monotonic() > deadline:
                raise TimeoutError("waited 30 s for " + step["path"])
            time.sleep(0.02)
    elif op == "idle":
        with socket.create_connection(("127.0.0.1", port), timeout=step["timeout"]) as sock:
            start = time.monotonic()
            try:
                data = sock.recv(1)
            except ConnectionResetError:
                data = b""
            out.update(closed_after=time.monotonic() - start, bytes=len(data))
    else:
        raise ValueError("unknown op " + op)


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    conns = {}
    for step in spec["steps"]:
        out = {"op": step["op"], "conn": step.get("conn", "")}
        try:
            run_step(step, spec["port"], conns, out)
            out["ok"] = True
        except Exception as e:  # reported, the test decides
            out.update(ok=False, error=type(e).__name__, message=str(e))
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
