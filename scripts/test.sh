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

step "release build (-Werror)"
cmake --preset release >/dev/null
cmake --build --preset release -j "$jobs"
step "release tests"
ctest --preset release -j "$jobs"

if ((quick)); then exit 0; fi

step "ASan+UBSan build"
cmake --preset asan >/dev/null
cmake --build --preset asan -j "$jobs"
step "ASan+UBSan tests"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --preset asan -j "$jobs"

step "fuzzers (bounded run)"
scripts/fuzz.sh "${ENCLAVE_FUZZ_SECONDS:-30}"
