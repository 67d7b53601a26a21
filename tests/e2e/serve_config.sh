#!/usr/bin/env bash
# `enclave serve --config FILE --print-config` end to end: the shipped example file, an environment
# override and a flag each win where they should, the printed YAML reads back to itself, and bad
# files, variables and a missing model fail with one actionable "error:" line (never a crash or a
# hang). No model is loaded: --print-config exits before that.
# Usage: serve_config.sh <enclave binary> <source dir>
set -u
enclave=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

check_contains() {  # name, text, expected substring
  if [[ "$2" != *"$3"* ]]; then
    echo "FAIL $1: expected '$3' in:"; printf '%s\n' "$2" | head -30; fail=1
  fi
}

# Runs enclave with a time limit, stdout to $tmp/out, stderr to $tmp/err; sets rc.
run() {
  timeout 20 env "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
}

# 1. Precedence: flag > environment > file > default.
run ENCLAVE_SERVER_PORT=9123 ENCLAVE_SCHEDULER_QUEUE=77 "$enclave" serve --config "$src/deploy/enclave.yaml" \
  --print-config --queue 12
out=$(cat "$tmp/out")
[ "$rc" -eq 0 ] || { echo "FAIL print-config: exit $rc: $(cat "$tmp/err")"; fail=1; }
check_contains "file value" "$out" "path: models/SmolLM2-135M-Instruct.Q4_1.gguf"
check_contains "env over file" "$out" "port: 9123"
check_contains "flag over env" "$out" "queue: 12"
check_contains "default" "$out" "host: 127.0.0.1"
check_contains "sections" "$out" $'scheduler:\n  parallel: 16'

# 2. The printed configuration is itself a valid config file that prints the same.
cp "$tmp/out" "$tmp/printed.yaml"
run "$enclave" serve --config "$tmp/printed.yaml" --print-config
[ "$rc" -eq 0 ] && cmp -s "$tmp/out" "$tmp/printed.yaml" || {
  echo "FAIL round trip (exit $rc):"; diff "$tmp/printed.yaml" "$tmp/out" | head; cat "$tmp/err"; fail=1; }

# 3. Errors: non-zero exit (not a signal), one line on stderr starting "error:", and the words a user needs.
expect_error() {  # name, expected substring, command...
  local name=$1 want=$2
  shift 2
  run "$@"
  local err lines
  err=$(cat "$tmp/err")
  lines=$(printf '%s\n' "$err" | grep -c .)
  if [ "$rc" -eq 0 ] || [ "$rc" -ge 124 ]; then
    echo "FAIL $name: exit code $rc"; fail=1
  elif [ "$lines" -ne 1 ] || [[ "$err" != error:* ]]; then
    echo "FAIL $name: expected one 'error:' line on stderr, got:"; printf '%s\n' "$err" | head; fail=1
  fi
  check_contains "$name" "$err" "$want"
}

printf 'server:\n  port: abc\n' >"$tmp/type.yaml"
expect_error "wrong type" "$tmp/type.yaml:2:9: server.port: expected an integer 0..65535, got 'abc'" \
  "$enclave" serve --config "$tmp/type.yaml" --print-config
printf 'model:\n  path: m.gguf\nserver:\n  prot: 9000\n' >"$tmp/typo.yaml"
expect_error "unknown key" "$tmp/typo.yaml:4:3: unknown key 'server.prot'; did you mean 'server.port'?" \
  "$enclave" serve --config "$tmp/typo.yaml"
printf 'server:\n  port: [1\n' >"$tmp/syntax.yaml"
expect_error "syntax" "$tmp/syntax.yaml:3:1: YAML syntax error" "$enclave" serve --config "$tmp/syntax.yaml"
printf ',\n' >"$tmp/comma.yaml"  # yaml-cpp 0.7's LoadAll loops forever on this
expect_error "stray comma" "YAML syntax error: unexpected ','" "$enclave" serve --config "$tmp/comma.yaml"
expect_error "missing file" "cannot read config file '$tmp/none.yaml': No such file or directory" \
  "$enclave" serve --config "$tmp/none.yaml"
expect_error "bad variable" "environment variable ENCLAVE_SERVER_PORT (sets server.port): expected an integer" \
  ENCLAVE_SERVER_PORT=http "$enclave" serve -m m.gguf
expect_error "unknown variable" "did you mean ENCLAVE_MODEL_PATH?" ENCLAVE_MODEL_PAHT=m.gguf "$enclave" serve
expect_error "no model" "no model to serve: pass -m MODEL, set model.path in the --config file, or set ENCLAVE_MODEL_PATH" \
  "$enclave" serve

# 4. The model may come from the environment alone (here it does not exist: the loader says so).
expect_error "model from env" "/nonexistent/model.gguf" ENCLAVE_MODEL_PATH=/nonexistent/model.gguf "$enclave" serve

# 5. --help tells where else settings come from.
help=$("$enclave" serve --help)
check_contains "help --config" "$help" "--config"
check_contains "help --print-config" "$help" "--print-config"
check_contains "help env" "$help" "ENCLAVE_SERVER_PORT"

# 6. Boolean switches: alone they mean true; =false undoes the environment's true; bad values fail.
out=$("$enclave" serve --insecure --print-config 2>&1)
check_contains "switch alone" "$out" "insecure: true"
out=$(ENCLAVE_SERVER_INSECURE=yes "$enclave" serve --print-config 2>&1)
check_contains "switch from env" "$out" "insecure: true"
out=$(ENCLAVE_SERVER_INSECURE=yes "$enclave" serve --insecure=false --print-config 2>&1)
check_contains "switch =false wins" "$out" "insecure: false"
out=$(ENCLAVE_SERVER_INSECURE=maybe "$enclave" serve --print-config 2>&1)
check_contains "bad bool" "$out" "expected true or false, got 'maybe'"

[ "$fail" -eq 0 ] && echo "serve config: all checks passed"
exit $fail
