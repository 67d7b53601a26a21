#!/usr/bin/env bash
# `enclave inspect` on the safetensors fixtures, with only bash and the built binary:
#  - each malformed case (tests/fixtures/safetensors/malformed/EXPECTED.tsv): exit 1, exactly one
#    "error:" line on stderr containing the expected words, also with --json;
#  - each good fixture: exit 0, nothing on stderr, and --json agrees with <fixture>.expected.json
#    (written by scripts/ref/make_safetensors_fixtures.py) on format, architecture, parameter count
#    and tensor count.
# Usage: inspect_safetensors.sh <enclave binary> <source dir>
set -u
enclave=$1
fixtures=$2/tests/fixtures/safetensors
fail=0
checked=0

field() {  # field NAME FILE: the first scalar value of "NAME": in a JSON file
  grep -o "\"$1\": *[^,}]*" "$2" | head -1 | sed 's/^[^:]*: *//'
}

while IFS=$'\t' read -r name words; do
  case "$name" in ''|'#'*) continue ;; esac
  for flag in "" "--json"; do
    err=$("$enclave" inspect $flag "$fixtures/malformed/$name" 2>&1 >/dev/null)
    rc=$?
    lines=$(printf '%s\n' "$err" | grep -c .)
    if [ "$rc" -ne 1 ]; then
      echo "FAIL $name $flag: exit code $rc, expected 1"; fail=1
    elif [ "$lines" -ne 1 ] || [[ "$err" != error:* ]]; then
      echo "FAIL $name $flag: expected one 'error:' line, got:"; printf '%s\n' "$err" | head -5; fail=1
    elif [[ "$err" != *"$words"* ]]; then
      echo "FAIL $name $flag: '$err' lacks '$words'"; fail=1
    fi
  done
  checked=$((checked + 1))
done < "$fixtures/malformed/EXPECTED.tsv"

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
for pair in single:single sharded:sharded fp8:fp8 single/model.safetensors:single \
            all_dtypes.safetensors:all_dtypes; do
  path=$fixtures/${pair%%:*}
  expected=$fixtures/${pair##*:}.expected.json
  if ! "$enclave" inspect "$path" >/dev/null 2>"$tmp" || [ -s "$tmp" ]; then
    echo "FAIL valid $path rejected:"; head -3 "$tmp"; fail=1
  fi
  json=$("$enclave" inspect --json "$path" 2>/dev/null)
  printf '%s\n' "$json" >"$tmp"
  for key in format architecture parameter_count; do
    got=$(field "$key" "$tmp")
    want=$(field "$key" "$expected")
    [ "$got" = "$want" ] || { echo "FAIL $path: $key is $got, expected $want"; fail=1; }
  done
  got=$(grep -c '"n_elements"' "$tmp")
  want=$(grep -c '"n_elements"' "$expected")
  [ "$got" = "$want" ] || { echo "FAIL $path: $got tensors, expected $want"; fail=1; }
  checked=$((checked + 1))
done

echo "$checked safetensors fixtures checked"
[ "$checked" -ge 50 ] || { echo "FAIL: expected at least 50 fixtures"; fail=1; }
exit $fail
