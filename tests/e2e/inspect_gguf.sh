#!/usr/bin/env bash
# `enclave inspect` on GGUF files, as a user runs it (ctest runs this in the release and the
# ASan+UBSan builds):
#   - every file in tests/fixtures/gguf/malformed/: exit code 1, exactly one line on stderr, starting
#     with "error:" and containing the words EXPECTED.tsv gives for it, and no sanitizer report;
#   - the valid fixtures: exit code 0 and a silent stderr, as text and as --json;
#   - a well-formed file with three unloadable tensor types: exit 1, one line counting the others.
# Usage: inspect_gguf.sh <enclave binary> <source dir>
set -u
enclave=$1
src=$2
dir="$src/tests/fixtures/gguf"
fail=0
checked=0

# run FILE [ARGS...]: sets rc, out (stdout) and err (stderr).
run() {
  local errfile
  errfile=$(mktemp)
  out=$("$enclave" inspect "$@" 2>"$errfile")
  rc=$?
  err=$(cat "$errfile")
  rm -f "$errfile"
}

sanitizer_free() {
  ! printf '%s\n%s\n' "$out" "$err" | grep -qE 'Sanitizer|runtime error:|LeakSanitizer'
}

while IFS=$'\t' read -r name words; do
  case "$name" in ''|'#'*) continue ;; esac
  f="$dir/malformed/$name"
  [ -f "$f" ] || { echo "FAIL $name listed in EXPECTED.tsv but missing"; fail=1; continue; }
  run "$f"
  checked=$((checked + 1))
  lines=$(printf '%s' "$err" | grep -c '')
  if [ "$rc" -ne 1 ]; then
    echo "FAIL $name: exit code $rc, expected 1"; fail=1
  elif [ "$lines" -ne 1 ] || [[ "$err" != error:* ]]; then
    echo "FAIL $name: expected one 'error:' line on stderr, got:"; printf '%s\n' "$err" | head -20; fail=1
  elif [[ "$err" != *"$words"* ]]; then
    echo "FAIL $name: '$err' does not mention '$words'"; fail=1
  elif ! sanitizer_free; then
    echo "FAIL $name: sanitizer report"; printf '%s\n' "$err" | head -20; fail=1
  fi
done < "$dir/malformed/EXPECTED.tsv"

# Every malformed file is listed in EXPECTED.tsv (a new file without expectations is a mistake).
for f in "$dir"/malformed/*.gguf; do
  grep -q "^$(basename "$f")"$'\t' "$dir/malformed/EXPECTED.tsv" || { echo "FAIL $f not in EXPECTED.tsv"; fail=1; }
done

for name in all_types extra_types enclave_written minimal_valid minimal_v2; do
  for flag in "" "--json"; do
    run $flag "$dir/$name.gguf"
    checked=$((checked + 1))
    if [ "$rc" -ne 0 ] || [ -n "$err" ] || [ -z "$out" ] || ! sanitizer_free; then
      echo "FAIL $name.gguf $flag: exit $rc, stderr: $err"; fail=1
    fi
  done
done

run "$dir/unloadable_types.gguf"
checked=$((checked + 1))
if [ "$rc" -ne 1 ] || [ "$(printf '%s' "$err" | grep -c '')" -ne 1 ] ||
   [[ "$err" != "error: tensor 'blk.0.iq2_xxs.weight' has type IQ2_XXS (16), which Enclave cannot load (and 2 more problems)" ]] ||
   [[ "$out" != *"TQ1_0"* ]] || [[ "$out" != *"MXFP4"* ]]; then
  echo "FAIL unloadable_types.gguf: exit $rc, stderr: $err"; fail=1
fi

echo "$checked GGUF inspections checked"
[ "$checked" -ge 60 ] || { echo "FAIL: expected at least 60 inspections"; fail=1; }
exit $fail
