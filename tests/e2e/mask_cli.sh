#!/usr/bin/env bash
# `enclave mask` end to end: stdin to stdout on the sample fixture (compared with its reviewed
# masked form), --json with byte offsets, placeholders, block (exit 3, values never printed),
# --types, --regex, and bad flags failing with one actionable "error:" line.
# Usage: mask_cli.sh <enclave binary> <source dir>
set -u
enclave=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# Runs enclave with stdin from $1 (a string), stdout to $tmp/out, stderr to $tmp/err; sets rc.
run() {
  local input=$1
  shift
  printf '%s' "$input" | timeout 20 "$enclave" "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
}

expect_out() {  # name, expected stdout, expected rc
  if [ "$rc" -ne "$3" ] || [ "$(cat "$tmp/out")" != "$2" ]; then
    echo "FAIL $1: exit $rc (want $3), stdout:"; cat "$tmp/out"; echo; echo "want:"; echo "$2"; cat "$tmp/err"
    fail=1
  fi
}

# 1. The sample file: every detector, near misses left alone.
timeout 20 "$enclave" mask --regex EMPLOYEE_ID='EMP-[0-9]{6}' <"$src/tests/fixtures/pii/sample.txt" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ "$rc" -ne 0 ] || ! cmp -s "$tmp/out" "$src/tests/fixtures/pii/sample.masked.txt"; then
  echo "FAIL sample: exit $rc"; diff "$src/tests/fixtures/pii/sample.masked.txt" "$tmp/out"; cat "$tmp/err"; fail=1
fi

# 2. --json: the masked text and each finding's type and byte range in the input.
run $'call 13800138000\n' mask --json
expect_out "json" '{"text":"call 138****8000\n","findings":[{"type":"MOBILE","start":5,"end":16}]}' 0
run '手机13800138000' mask --json
expect_out "json offsets are bytes" '{"text":"手机138****8000","findings":[{"type":"MOBILE","start":6,"end":17}]}' 0

# 3. Placeholders: the same value, the same placeholder; the mapping is never printed.
run 'A 13800138000 B 13800138000 C a@b.cn' mask --policy placeholder
expect_out "placeholder" 'A [MOBILE_1] B [MOBILE_1] C [EMAIL_1]' 0

# 4. Block: exit 3, nothing on stdout, types and offsets (not values) on stderr.
run 'call 13800138000' mask --policy block
expect_out "block" '' 3
if [[ "$(cat "$tmp/err")" != "error: "*"MOBILE at bytes 5..16"* ]] || grep -q 13800138000 "$tmp/err"; then
  echo "FAIL block message:"; cat "$tmp/err"; fail=1
fi
run 'nothing personal' mask --policy block
expect_out "block clean" 'nothing personal' 0

# 5. --types and --regex.
run '13800138000 a@b.cn' mask --types email
expect_out "types" '13800138000 a***@b.cn' 0
run 'EMP-123456 and PRJ-7' mask --regex EMPLOYEE_ID='EMP-[0-9]{6}' --regex project='PRJ-[0-9]' --policy placeholder
expect_out "regex" '[EMPLOYEE_ID_1] and [PROJECT_1]' 0

# 6. Empty input and invalid UTF-8.
run '' mask
expect_out "empty" '' 0
run $'\xff\xfe 13800138000' mask --json
[ "$rc" -eq 0 ] && grep -q '"start":3,"end":14' "$tmp/out" || { echo "FAIL invalid utf-8 json: $rc"; cat "$tmp/out" "$tmp/err"; fail=1; }

# 7. Bad flags: exit 2 and one "error:" line naming the problem.
expect_error() {  # name, expected substring, args...
  local name=$1 want=$2
  shift 2
  run 'x' "$@"
  local lines
  lines=$(grep -c . "$tmp/err")
  if [ "$rc" -eq 0 ] || [ "$rc" -ge 124 ] || [ "$lines" -ne 1 ] || ! grep -q "^error: .*$want" "$tmp/err"; then
    echo "FAIL $name: exit $rc, stderr:"; cat "$tmp/err"; fail=1
  fi
}
expect_error "bad regex" "does not compile at byte 8" mask --regex 'broken=EMP-[0-9'
expect_error "regex without name" "expected NAME=PATTERN" mask --regex 'EMP-[0-9]'
expect_error "bad type" "unknown PII type 'phone'" mask --types phone

# 8. --help documents the flags.
timeout 20 "$enclave" mask --help >"$tmp/out" 2>&1
for word in --policy --json --types --regex "byte offsets"; do
  grep -q -- "$word" "$tmp/out" || { echo "FAIL help lacks '$word'"; fail=1; }
done

[ "$fail" -eq 0 ] && echo "mask_cli: all checks passed"
exit "$fail"
