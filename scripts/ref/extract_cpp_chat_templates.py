#!/usr/bin/env python3
"""Extracts chat templates that llama.cpp's tests/test-chat-template.cpp carries as C++ string literals
(`/* .name= */ "NAME", /* .template_str= */ "..."`), decoding the literal exactly (escape sequences,
adjacent-literal concatenation, U8C(...) wrappers), and writes each to a .jinja file.

The source file comes from the PyPI sdist llama_cpp_python-0.3.16.tar.gz
(vendor/llama.cpp/tests/test-chat-template.cpp); PROVENANCE.md in the fixture folder records it.

Run: .venv/bin/python scripts/ref/extract_cpp_chat_templates.py PATH/TO/test-chat-template.cpp
"""
import os
import re
import sys

HERE = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "chat_templates", "templates")
# test name in llama.cpp -> fixture file
WANTED = {
    "deepseek-ai/deepseek-coder-33b-instruct": "deepseek-coder-33b-instruct.jinja",
    "DeepSeek-V2": "deepseek-v2-chat.jinja",
    "Llama-3": "llama-3-instruct.jinja",
}
SIMPLE = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "?": "?", "a": "\a", "b": "\b",
          "f": "\f", "v": "\v", "0": "\0"}


def read_literals(src, pos):
    """Decodes the string literal(s) starting at src[pos] (skipping whitespace, comments and a U8C( wrapper)
    up to the next ',' outside literals. Returns (bytes, end position)."""
    out = bytearray()
    i = pos
    depth = 0
    while True:
        while src[i].isspace():
            i += 1
        if src.startswith("/*", i):
            i = src.index("*/", i) + 2
            continue
        if src.startswith("U8C(", i):
            i += 4
            depth += 1
            continue
        if src[i] == ")" and depth:
            i += 1
            depth -= 1
            continue
        if src.startswith('u8"', i):
            i += 2
        if src[i] != '"':
            if src[i] == "," and not depth:
                return bytes(out), i
            raise ValueError(f"unexpected {src[i:i+20]!r} in a template literal")
        i += 1
        while src[i] != '"':
            c = src[i]
            if c == "\\":
                e = src[i + 1]
                if e == "x":
                    m = re.match(r"[0-9a-fA-F]+", src[i + 2:])
                    out.append(int(m.group(0), 16))
                    i += 2 + len(m.group(0))
                    continue
                if e in "01234567" and re.match(r"[0-7]{1,3}", src[i + 1:]).group(0) != "0":
                    m = re.match(r"[0-7]{1,3}", src[i + 1:])
                    out.append(int(m.group(0), 8))
                    i += 1 + len(m.group(0))
                    continue
                if e not in SIMPLE:
                    raise ValueError(f"unsupported escape \\{e}")
                out += SIMPLE[e].encode()
                i += 2
            else:
                out += c.encode("utf-8")
                i += 1
        i += 1


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    src = open(sys.argv[1], encoding="utf-8").read()
    found = {}
    for m in re.finditer(r'/\* \.name= \*/\s*"([^"]+)",\s*/\* \.template_str= \*/', src):
        name = m.group(1)
        if name in WANTED and name not in found:
            text, _ = read_literals(src, m.end())
            found[name] = text
    for name, fname in WANTED.items():
        if name not in found:
            sys.exit(f"template '{name}' not found in {sys.argv[1]}")
        with open(os.path.join(HERE, fname), "wb") as f:
            f.write(found[name])
        print(f"{fname}: {len(found[name])} bytes from '{name}'")


if __name__ == "__main__":
    main()
