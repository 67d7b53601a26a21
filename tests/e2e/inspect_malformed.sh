#!/usr/bin/env bash
# `enclave inspect` on every malformed GGUF and safetensors fixture: non-zero exit, exactly one line on
# stderr that starts with "error:", and no sanitizer report. Then the valid fixtures: exit 0.
# Usage: inspect_malformed.sh <enclave binary> <source dir>
set -u
enclave=$1
src=$2
fail=0
checked=0
for f in "$src"/tests/fixtures/gguf/malformed/*.gguf "$src"/tests/fixtures/safetensors/malformed/*; do
  [ -e "$f" ] || continue
  case "$f" in *.tsv|*.md) continue ;; esac
  err=$("$enclave" inspect "$f" 2>&1 >/dev/null)
  rc=$?
  lines=$(printf '%s\n' "$err" | grep -c .)
  checked=$((checked + 1))
  if [ "$rc" -eq 0 ] || [ "$rc" -ge 128 ]; then
    echo "FAIL $f: exit code $rc"; fail=1
  elif [ "$lines" -ne 1 ] || [[ "$err" != error:* ]]; then
    echo "FAIL $f: expected one 'error:' line on stderr, got:"; printf '%s\n' "$err" | head -20; fail=1
  fi
done
for f in "$src"/tests/fixtures/gguf/all_types.gguf "$src"/tests/fixtures/gguf/minimal_valid.gguf \
         "$src"/tests/fixtures/gguf/minimal_v2.gguf "$src"/tests/fixtures/safetensors/single \
         "$src"/tests/fixtures/safetensors/sharded "$src"/tests/fixtures/safetensors/fp8 \
         "$src"/tests/fixtures/safetensors/single/model.safetensors; do
  if ! "$enclave" inspect "$f" >/dev/null; then echo "FAIL valid file $f rejected"; fail=1; fi
  if ! "$enclave" inspect --json "$f" >/dev/null; then echo "FAIL valid file $f rejected (--json)"; fail=1; fi
  checked=$((checked + 1))
done
echo "$checked files checked"
[ "$checked" -ge 60 ] || { echo "FAIL: expected at least 60 fixture files"; fail=1; }
exit $fail
