#!/usr/bin/env bash
# `enclave template` with built-in templates: a model without a chat template gets its family's
# built-in (with a note on stderr), --chat-template takes a built-in name or a Jinja file, and a
# bad --chat-template is a one-line error. Expected prompts are jinja2's renderings of the same
# template texts (tests/fixtures/chat_templates/expected.json).
set -u
enclave=$1
src=$2
fail=0
expect() {  # expect NAME GOT WANT
  if [ "$2" != "$3" ]; then echo "FAIL $1: got '$2', want '$3'"; fail=1; fi
}
tmp=$(mktemp)
errf=$(mktemp)
printf '[{"role": "user", "content": "Hello!"}]' > "$tmp"

# qwen2 tokenizer fixture: no chat_template in tokenizer_config.json -> the qwen2 built-in.
got=$("$enclave" template -m "$src/tests/fixtures/tokenizer/qwen2" --messages "$tmp" --generation-prompt 2>"$errf")
expect qwen2-fallback "$got" "$(printf '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n')"
[[ "$(cat "$errf")" == note:*"built-in 'qwen2'"* ]] || { echo "FAIL qwen2 note: $(cat "$errf")"; fail=1; }

# deepseek-llm tokenizer fixture -> the User:/Assistant: template (its bos_token is the tokenizer's).
got=$("$enclave" template -m "$src/tests/fixtures/tokenizer/deepseek-llm" --messages "$tmp" --generation-prompt 2>/dev/null)
[[ "$got" == *"User: Hello!"*"Assistant:" ]] || { echo "FAIL deepseek-llm fallback: '$got'"; fail=1; }

# The model's own template wins unless --chat-template is given; a built-in name, then a file.
model="$src/tests/fixtures/tokenizer/deepseek-v3"
got=$("$enclave" template -m "$model" --messages "$tmp" --generation-prompt --chat-template deepseek-r1 2>"$errf")
expect r1-builtin "$got" "$(printf '<｜begin▁of▁sentence｜><｜User｜>Hello!<｜Assistant｜><think>\n')"
expect r1-no-note "$(cat "$errf")" ""
printf '{{ messages[0].content }}|{{ date_string }}' > "$errf"
printf '{"messages": [{"role": "user", "content": "Hi"}], "date_string": "03 Mar 2025"}' > "$tmp"
expect file "$("$enclave" template -m "$model" --messages "$tmp" --chat-template "$errf")" "Hi|03 Mar 2025"

err=$("$enclave" template -m "$model" --messages "$tmp" --chat-template no-such-template 2>&1 >/dev/null); rc=$?
[ $rc -ne 0 ] && [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] && [[ "$err" == error:*deepseek-v3*llama3* ]] ||
  { echo "FAIL unknown --chat-template: rc=$rc err=$err"; fail=1; }
rm -f "$tmp" "$errf"
[ $fail -eq 0 ] && echo "template CLI with built-in templates: ok"
exit $fail
