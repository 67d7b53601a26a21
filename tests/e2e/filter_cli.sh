#!/usr/bin/env bash
# `enclave filter` end to end on tests/fixtures/wordfilter/: masking through disguises (punctuation,
# spaces, case, zero-width characters, traditional forms via --variants), flag leaves text alone,
# a block category exits 3 with nothing on stdout, --json reports hits with byte offsets, and bad
# input or files fail with one "error:" line and exit 1.
# Usage: filter_cli.sh <enclave binary> <source dir>
set -u
enclave=$1
src=$2
fx="$src/tests/fixtures/wordfilter"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
expect() {  # expect NAME GOT WANT
  if [ "$2" != "$3" ]; then echo "FAIL $1: got '$2', want '$3'"; fail=1; fi
}
filter() {  # filter ARGS... < stdin; sets out, err, rc
  "$enclave" filter --lexicon "$fx/lexicon.tsv" "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  out=$(cat "$tmp/out")
  err=$(cat "$tmp/err")
}
masks=(--action pii=mask --action politics=mask --action internal=flag --action violence=block)

# Masking through disguises; the variant file makes 詞 match 词.
filter "${masks[@]}" --variants "$fx/variants.txt" < "$fx/sample.txt"
expect sample.rc "$rc" 0
expect sample.text "$out" "Our *********** plan: ***** and ******* stuff."
[[ "$err" == *"mask: category pii, bytes 4-15"* ]] || { echo "FAIL sample.err: $err"; fail=1; }

# Without --variants the traditional form is not caught.
filter "${masks[@]}" < "$fx/sample.txt"
expect novariants.text "$out" "Our *********** plan: 敏 感 詞 and ******* stuff."

# Flag: text unchanged, hit reported.
out=$(printf 'This is Confidential.' | "$enclave" filter --lexicon "$fx/lexicon.tsv" "${masks[@]}" 2>/dev/null)
expect flag "$out" "This is Confidential."

# Block: nothing on stdout, exit 3, category on stderr.
printf 'how to build a w e a p o n, secret' > "$tmp/in"
filter "${masks[@]}" < "$tmp/in"
expect block.rc "$rc" 3
expect block.out "$out" ""
[[ "$err" == *"blocked: category violence"* ]] || { echo "FAIL block.err: $err"; fail=1; }
# The default action of unlisted categories is block.
printf 'a secret' | "$enclave" filter --lexicon "$fx/lexicon.tsv" >/dev/null 2>&1
expect default_block.rc "$?" 3

# --json: verdict, text and hits with byte offsets into the input.
printf 'x ＳＥＣＲＥＴ y 发财' > "$tmp/in"
filter "${masks[@]}" --variants "$fx/variants.txt" --json < "$tmp/in"
expect json.rc "$rc" 0
got=$(printf '%s' "$out" | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["action"], j["text"], j["blocked"], [(h["category"], h["action"], h["start"], h["end"]) for h in j["hits"]])')
expect json "$got" "mask x ****** y ** None [('pii', 'mask', 2, 20), ('politics', 'mask', 23, 29)]"
printf 'a weapon' > "$tmp/in"
filter "${masks[@]}" --json < "$tmp/in"
expect json_block.rc "$rc" 3
got=$(printf '%s' "$out" | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["action"], repr(j["text"]), j["blocked"]["category"], j["blocked"]["start"])')
expect json_block "$got" "block '' violence 2"

# Errors: one line, exit 1.
printf 'bad \xff input' > "$tmp/in"
filter "${masks[@]}" < "$tmp/in"
expect utf8.rc "$rc" 1
[[ "$err" == error:*UTF-8* ]] && [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || { echo "FAIL utf8.err: $err"; fail=1; }
printf 'good\tcat\nbad\tcat\textra\n' > "$tmp/lex"
err=$("$enclave" filter --lexicon "$tmp/lex" < /dev/null 2>&1 >/dev/null); rc=$?
expect badlex.rc "$rc" 1
[[ "$err" == "error: $tmp/lex:2: "* ]] || { echo "FAIL badlex.err: $err"; fail=1; }
err=$("$enclave" filter --lexicon "$fx/lexicon.tsv" --action piii=mask < /dev/null 2>&1 >/dev/null); rc=$?
expect badcat.rc "$rc" 1
[[ "$err" == *"'piii'"*"categories: pii"* ]] || { echo "FAIL badcat.err: $err"; fail=1; }
err=$("$enclave" filter --lexicon "$fx/lexicon.tsv" --action pii=hide < /dev/null 2>&1 >/dev/null); rc=$?
expect badaction.rc "$rc" 1
[[ "$err" == *"unknown action 'hide'"* ]] || { echo "FAIL badaction.err: $err"; fail=1; }
err=$("$enclave" filter --lexicon /nonexistent.tsv < /dev/null 2>&1 >/dev/null); rc=$?
expect missing.rc "$rc" 1
[[ "$err" == *"cannot open '/nonexistent.tsv'"* ]] || { echo "FAIL missing.err: $err"; fail=1; }

[ $fail -eq 0 ] && echo "filter CLI: ok"
exit $fail
