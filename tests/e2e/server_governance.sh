#!/usr/bin/env bash
# Governance of `enclave serve` (tests/server/test_governance.py): secure defaults, the authorisation
# matrix, per-key limits, address rules, the audit log (incl. kill -9), content controls, TLS and
# SIGHUP. Needs the test venv (scripts/setup.sh) and the openssl command.
set -u
enclave=$1
src=$2
python="$src/.venv/bin/python"
if [ ! -x "$python" ]; then
  echo "FAIL: $python is missing: run scripts/setup.sh --no-build first"
  exit 1
fi
exec "$python" "$src/tests/server/test_governance.py" "$enclave"
