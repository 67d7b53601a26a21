#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) and runs each for SECONDS on a scratch corpus
# seeded from the fixture files listed (as globs) in tests/fuzz/<target>.seeds.
# Longer runs: scripts/fuzz.sh 3600
# A crash leaves its input as build/fuzz/crash-* and fails this script.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$(nproc)"
status=0
for bin in build/fuzz/*_fuzz; do
  [ -f "$bin" ] && [ -x "$bin" ] || continue
  name=$(basename "$bin")
  seeds="tests/fuzz/${name%_fuzz}.seeds"
  work="build/fuzz/corpus/$name"
  rm -rf "$work" && mkdir -p "$work"
  if [ -f "$seeds" ]; then
    while read -r pattern; do
      for f in $pattern; do [ -f "$f" ] && cp "$f" "$work/$(echo "$f" | tr / _)"; done
    done < "$seeds"
  fi
  echo "fuzz: $name for ${seconds}s"
  if ! ASAN_OPTIONS=detect_leaks=1 "$bin" -max_total_time="$seconds" -max_len=65536 \
      -artifact_prefix=build/fuzz/ -print_final_stats=0 "$work" >"build/fuzz/$name.log" 2>&1; then
    echo "fuzz: $name FAILED; last lines of build/fuzz/$name.log:"
    tail -30 "build/fuzz/$name.log"
    status=1
  else
    grep -E '^Done|#[0-9]+ *DONE' "build/fuzz/$name.log" | tail -1 || true
  fi
done
exit $status
