#!/usr/bin/env python3
"""Chat-template fixtures: each template rendered by Python jinja2 (pinned in scripts/requirements.txt) the
way Hugging Face transformers' apply_chat_template does (ImmutableSandboxedEnvironment with trim_blocks,
lstrip_blocks and loop controls; tojson = json.dumps(ensure_ascii=False); raise_exception; strftime_now),
for a set of conversations, with and without the generation prompt. As in transformers, `tools` and
`documents` are always passed (None when absent) and a conversation's "template_kwargs" (e.g. date_string,
builtin_tools) are passed as extra variables, like apply_chat_template(**kwargs). strftime_now formats a
fixed clock (FIXED_NOW) so that the fixtures are reproducible; the C++ test sets the same time.

Inputs:  tests/fixtures/chat_templates/templates/*.jinja   (PROVENANCE.md says where each comes from)
         tests/fixtures/chat_templates/conversations.json
Output:  tests/fixtures/chat_templates/expected.json  [{template, conversation, add_generation_prompt,
                                                       output | error}]
Run: .venv/bin/python scripts/ref/make_template_fixtures.py
"""
import datetime
import json
import os

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "chat_templates")
BOS, EOS = "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"
FIXED_NOW = datetime.datetime(2025, 1, 15, 9, 30, 0)  # tests/unit/chat_template_test.cc uses the same


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def strftime_now(fmt):
    return FIXED_NOW.strftime(fmt)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def main():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    convs = json.load(open(os.path.join(HERE, "conversations.json")))
    out = []
    tdir = os.path.join(HERE, "templates")
    for name in sorted(os.listdir(tdir)):
        if not name.endswith(".jinja"):
            continue
        tmpl = env.from_string(open(os.path.join(tdir, name), encoding="utf-8").read())
        for conv in convs:
            for gen in (False, True):
                kwargs = dict(bos_token=BOS, eos_token=EOS, **conv.get("template_kwargs", {}))
                kwargs.update(messages=conv["messages"], tools=conv.get("tools"), documents=None,
                              add_generation_prompt=gen)
                case = {"template": name, "conversation": conv["name"], "add_generation_prompt": gen}
                try:
                    case["output"] = tmpl.render(**kwargs)
                except Exception as e:  # the C++ side must fail too
                    case["error"] = f"{type(e).__name__}: {e}"
                out.append(case)
    json.dump({"jinja2": jinja2.__version__, "cases": out}, open(os.path.join(HERE, "expected.json"), "w"),
              ensure_ascii=False, indent=1)
    print(f"{len(out)} renderings, jinja2 {jinja2.__version__}")


if __name__ == "__main__":
    main()
