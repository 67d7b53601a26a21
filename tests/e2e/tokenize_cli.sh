#!/usr/bin/env bash
# `enclave tokenize` on the real DeepSeek-V3 tokenizer: ids equal those Hugging Face `tokenizers` 0.23.3
# gives for the same bytes (values below computed with it), --file reads exact bytes (CRLF kept), and
# errors are one line with a non-zero exit.
set -u
enclave=$1
src=$2
model="$src/tests/fixtures/tokenizer/deepseek-v3"
fail=0
expect() {  # expect NAME GOT WANT
  if [ "$2" != "$3" ]; then echo "FAIL $1: got '$2', want '$3'"; fail=1; fi
}
expect text "$("$enclave" tokenize -m "$model" --ids 'Hello world! 你好，世界。12345 <｜User｜>hi')" \
  "19923 2058 3 223 30594 303 3427 320 6895 1883 223 128803 6366"
tmp=$(mktemp)
printf 'line1\r\nline2\n' > "$tmp"
expect file "$("$enclave" tokenize -m "$model" --ids --file "$tmp")" "1836 19 204 201 1836 20 201"
expect add_special "$("$enclave" tokenize -m "$model" --ids --add-special 'hi')" "0 6366"
expect pieces "$("$enclave" tokenize -m "$model" 'a b' 2>/dev/null | cut -f2 | tr '\n' '|')" "a| b|"
printf 'bad\xffutf8' > "$tmp"
err=$("$enclave" tokenize -m "$model" --file "$tmp" 2>&1 >/dev/null); rc=$?
[ $rc -ne 0 ] && [[ "$err" == error:*UTF-8* ]] || { echo "FAIL invalid UTF-8: rc=$rc err=$err"; fail=1; }
err=$("$enclave" tokenize -m /nonexistent 'x' 2>&1 >/dev/null); rc=$?
[ $rc -ne 0 ] && [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || { echo "FAIL missing model: rc=$rc err=$err"; fail=1; }
# `enclave template`: the DeepSeek-V3 template, as jinja2 renders it (tests/fixtures/chat_templates/expected.json).
printf '[{"role": "user", "content": "Hello!"}]' > "$tmp"
expect template "$("$enclave" template -m "$model" --messages "$tmp" --generation-prompt)" \
  "<｜begin▁of▁sentence｜><｜User｜>Hello!<｜Assistant｜>"
printf '[{"content": "no role"}]' > "$tmp"
err=$("$enclave" template -m "$model" --messages "$tmp" 2>&1 >/dev/null); rc=$?
[ $rc -ne 0 ] && [[ "$err" == error:*role* ]] || { echo "FAIL template without role: rc=$rc err=$err"; fail=1; }
rm -f "$tmp"
[ $fail -eq 0 ] && echo "tokenize and template CLI: ok"
exit $fail
