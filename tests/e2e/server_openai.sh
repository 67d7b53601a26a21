#!/usr/bin/env bash
# `enclave serve` through the official openai Python client and raw HTTP (tests/server/test_openai_api.py):
# chat and completions, streamed and not, stop strings, n > 1, seeds, logprobs, usage, reasoning_content,
# error shapes and codes, probes and metrics, concurrent requests equal alone, prefix cache, disconnect frees the KV
# cache, 1,000 idle connections, slow clients, a 200-request load with flat RSS, the access log and SIGTERM drain. Needs the test venv (scripts/setup.sh).
set -u
enclave=$1
src=$2
python="$src/.venv/bin/python"
if [ ! -x "$python" ]; then
  echo "FAIL: $python is missing: run scripts/setup.sh --no-build first"
  exit 1
fi
exec "$python" "$src/tests/server/test_openai_api.py" "$enclave"
