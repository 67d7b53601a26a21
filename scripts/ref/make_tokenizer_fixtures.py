#!/usr/bin/env python3
"""Tokenizer reference data: expected ids from Hugging Face `tokenizers` (pinned in
scripts/requirements.txt) for a corpus of hard cases, written to tests/fixtures/tokenizer/.

  corpus.json                      the cases: [{"name": ..., "text": ...}] (exact strings)
  deepseek-v3.expected.json        {"tokenizers_version", "cases": [{"name", "ids"}]} for the real
                                   DeepSeek-V3 tokenizer in tests/fixtures/tokenizer/deepseek-v3/

Run: .venv/bin/python scripts/ref/make_tokenizer_fixtures.py
"""
import json
import os
import random

import tokenizers
from tokenizers import Tokenizer

HERE = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "tokenizer")


def corpus():
    rnd = random.Random(5)
    cases = [
        ("empty", ""),
        ("english", "The quick brown fox jumps over the lazy dog. It's 9 o'clock; they'll say \"we've done it\"!"),
        ("contractions_upper", "DON'T WE'LL YOU'RE I'M HE'D THEY'VE"),
        ("simplified_chinese", "深度求索是一家专注于人工智能基础技术研究的公司。我们的目标是探索通用人工智能。"),
        ("traditional_chinese", "臺灣的繁體中文，與簡體字不同：國語、學習、機器學習。"),
        ("japanese", "日本語のテキストです。カタカナとひらがな、そして漢字が混ざっています。東京は晴れ。"),
        ("korean", "안녕하세요. 한국어 문장입니다. 토크나이저 테스트!"),
        ("arabic", "مرحبا بالعالم. هذه جملة باللغة العربية مع أرقام ١٢٣ و 456."),
        ("hindi", "नमस्ते दुनिया। यह हिंदी में एक वाक्य है।"),
        ("russian_greek", "Привет, мир! Γειά σου Κόσμε. Ελληνικά και русский."),
        ("emoji", "I ❤️ tokenizers 😀😃😄 👍🏽 🇨🇳🇺🇸🇯🇵 👨‍👩‍👧‍👦 🧑🏻‍💻 ✨"),
        ("python", "def fib(n: int) -> int:\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n\nprint([fib(i) for i in range(10)])\n"),
        ("cpp", "#include <vector>\nint main() {\n\tstd::vector<int> v{1, 2, 3};\n\tfor (auto& x : v) x *= 2;  // double\n\treturn v.size() == 3 ? 0 : 1;\n}\n"),
        ("json", "{\"model\": \"deepseek-v3\", \"params\": [671e9, 37e9], \"nested\": {\"a\": null, \"b\": true}}"),
        ("shell", "for f in *.gguf; do sha256sum \"$f\" | tee -a SUMS; done && echo ok || exit 1"),
        ("whitespace_runs", "a  b   c    d\t\te\n\n\nf \n \n g      \n"),
        ("crlf_mixed", "line one\r\nline two\nline three\r\n\r\nend\r"),
        ("punctuation", "Wait... what?!?! (yes) [no] {maybe} <tag/> --- *** ### @@@ ~~ `code` 'quote' \"dq\" ;;; ::"),
        ("full_width", "ＡＢＣ　ｄｅｆ　１２３！？（全角）：；"),
        ("special_tokens_inline", "<｜begin▁of▁sentence｜>system<｜User｜>Hi<｜Assistant｜><think>\nhmm</think>ok<｜end▁of▁sentence｜>"),
        ("special_like_but_not", "<|User|> <｜User> <｜user｜> <think >"),
        ("very_long_word", "pneumonoultramicroscopicsilicovolcanoconiosis" * 20),
        ("long_letters_no_space", "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(3000))),
        ("mixed_scripts", "DeepSeek深度求索v3模型在2025年1月发布，支持128K上下文。GPU:H800×2048"),
        ("math", "∀x∈ℝ: x² ≥ 0; ∑_{i=1}^{n} i = n(n+1)/2 ≈ ½n²; π ≈ 3.14159"),
        ("accents_marks", "Café naïve coöperate résumé São Paulo Ångström e\u0301 a\u0308 क्षि"),
        ("control_chars", "tab\there\x0bvt\x0cff\x00nul\x7fdel end"),
        ("nbsp_and_spaces", "a\u00a0b\u2009c\u3000d\u200be\u2028f\u2029g"),
        ("only_spaces", "     "),
        ("only_newlines", "\n\n\n"),
        ("single_char", "x"),
    ]
    for k in range(1, 13):
        digits = "".join(str((i * 7 + k) % 10) for i in range(k))
        cases.append((f"digits_{k}", f"{digits} a{digits}b {digits}.{digits[::-1]}"))
    for k in range(20):  # random unicode soup from several blocks
        blocks = [(0x20, 0x7E), (0xA0, 0x2FF), (0x370, 0x3FF), (0x400, 0x4FF), (0x4E00, 0x4F00), (0x3040, 0x30FF),
                  (0xAC00, 0xAD00), (0x1F600, 0x1F64F), (0x600, 0x6FF), (0x900, 0x97F), (0xFF01, 0xFF5E)]
        s = []
        for _ in range(rnd.randint(20, 200)):
            if rnd.random() < 0.15:
                s.append(rnd.choice([" ", "\n", "  ", "\t", "\r\n", "1", "22", "333"]))
            else:
                lo, hi = rnd.choice(blocks)
                s.append(chr(rnd.randint(lo, hi)))
        cases.append((f"random_{k}", "".join(s)))
    return [{"name": n, "text": t} for n, t in cases]


def main():
    cases = corpus()
    with open(os.path.join(HERE, "corpus.json"), "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=True, indent=1)
    tok = Tokenizer.from_file(os.path.join(HERE, "deepseek-v3", "tokenizer.json"))
    out = {"tokenizers_version": tokenizers.__version__, "cases": []}
    for c in cases:
        ids = tok.encode(c["text"], add_special_tokens=False).ids
        out["cases"].append({"name": c["name"], "ids": ids})
    with open(os.path.join(HERE, "deepseek-v3.expected.json"), "w") as f:
        json.dump(out, f)
    print(f"{len(cases)} cases; expected ids from tokenizers {tokenizers.__version__}")


if __name__ == "__main__":
    main()
