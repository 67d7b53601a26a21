#!/usr/bin/env bash
# The whole test suite, as CI runs it:
#   1. release build with -Werror, every unit/e2e test;
#   2. the core tests again under AddressSanitizer + UndefinedBehaviorSanitizer;
#   3. each libFuzzer target for a bounded time (ENCLAVE_FUZZ_SECONDS, default 30) on its seed corpus.
# Options: --quick skips 2 and 3.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
[ "${1:-}" = "--quick" ] && quick=1
jobs=$(nproc)

step() { printf '\n=== %s ===\n' "$*"; }
passed=0
failed=0
# Runs ctest, keeps its output visible, and adds its counts to the totals printed at the end.
run_ctest() {
  local log
  log=$(mktemp)
  local rc=0
  "$@" 2>&1 | tee "$log" || rc=$?
  local total fails
  total=$(sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' "$log" | tail -1)
  fails=$(sed -n 's/.*, \([0-9]*\) tests failed out of.*/\1/p' "$log" | tail -1)
  rm -f "$log"
  passed=$((passed + ${total:-0} - ${fails:-0}))
  failed=$((failed + ${fails:-0}))
  return $rc
}
summary() { printf '\n%d passed, %d failed\n' "$passed" "$failed"; }

step "release build (-Werror)"
cmake --preset release >/dev/null
cmake --build --preset release -j "$jobs"
step "release tests"
run_ctest ctest --preset release -j "$jobs" || { summary; exit 1; }

if ((quick)); then summary; exit 0; fi

step "ASan+UBSan build"
cmake --preset asan >/dev/null
cmake --build --preset asan -j "$jobs"
step "ASan+UBSan tests"
run_ctest env ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --preset asan -j "$jobs" || { summary; exit 1; }

step "fuzzers (bounded run)"
if scripts/fuzz.sh "${ENCLAVE_FUZZ_SECONDS:-30}"; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
  summary
  exit 1
fi
summary
