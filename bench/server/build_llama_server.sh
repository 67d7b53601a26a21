#!/usr/bin/env bash
# Builds llama.cpp's llama-server, for measurement only (never committed), from the llama.cpp source
# that the llama-cpp-python sdist carries (vendor/llama.cpp), so the peer is the same llama.cpp that
# bench/peer/ measures through llama-cpp-python.
#
#   bench/server/build_llama_server.sh [SDIST.tar.gz | EXTRACTED_SDIST_DIR] [BUILD_DIR]
#
# Without a path it looks for llama_cpp_python-$VERSION.tar.gz in $SDIST_DIR, the pip cache and
# /tmp/pkgs, and else downloads it (pip download --no-binary, from PyPI) into
# ${XDG_CACHE_HOME:-~/.cache}/enclave-bench. BUILD_DIR defaults to /tmp/llama-server-build; the binary
# is BUILD_DIR/bin/llama-server. Sources and build stay outside the repository.
# Environment: VERSION (llama-cpp-python, default 0.3.36), JOBS (default 2).
set -euo pipefail

VERSION=${VERSION:-0.3.36}
JOBS=${JOBS:-2}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SRC_ARG=${1:-}
BUILD=${2:-/tmp/llama-server-build}
NAME=llama_cpp_python-$VERSION

outside_repo() {  # refuses paths inside the repository
  local p
  p=$(realpath -m "$1")
  case "$p/" in "$REPO"/*) echo "error: $1 is inside the repository; use a path outside it" >&2; exit 2;; esac
}

find_sdist() {
  local dir f
  local cache=${XDG_CACHE_HOME:-$HOME/.cache}/enclave-bench
  for dir in ${SDIST_DIR:-} "${PIP_CACHE_DIR:-$HOME/.cache/pip}" "$cache" /tmp/pkgs; do
    [ -d "$dir" ] || continue
    f=$(find "$dir" -maxdepth 4 -name "$NAME.tar.gz" -print -quit 2>/dev/null || true)
    if [ -n "$f" ]; then echo "$f"; return; fi
  done
  dir=$cache
  mkdir -p "$dir"
  local py="$REPO/.venv/bin/python"
  [ -x "$py" ] || py=python3
  echo "downloading the $NAME sdist into $dir" >&2
  "$py" -m pip download --no-deps --no-binary :all: "llama-cpp-python==$VERSION" -d "$dir" >&2
  echo "$dir/$NAME.tar.gz"
}

[ -n "$SRC_ARG" ] || SRC_ARG=$(find_sdist)
if [ -d "$SRC_ARG" ]; then
  SDIST_ROOT=$SRC_ARG
elif [ -f "$SRC_ARG" ]; then
  SDIST_ROOT=/tmp/$NAME-src/$NAME
  outside_repo "$SDIST_ROOT"
  if [ ! -d "$SDIST_ROOT/vendor/llama.cpp" ]; then
    mkdir -p "/tmp/$NAME-src"
    tar -xzf "$SRC_ARG" -C "/tmp/$NAME-src"
  fi
else
  echo "error: $SRC_ARG: no such sdist file or directory" >&2; exit 2
fi
LLAMA=$SDIST_ROOT/vendor/llama.cpp
[ -f "$LLAMA/tools/server/server.cpp" ] || { echo "error: $LLAMA has no tools/server" >&2; exit 2; }
outside_repo "$BUILD"

GEN=()
command -v ninja >/dev/null && GEN=(-G Ninja)
# OpenSSL off and no web UI: no network library and no download at build time (the options LLAMA_CURL
# and LLAMA_BUILD_WEBUI of older versions are deprecated in this one).
cmake -S "$LLAMA" -B "$BUILD" "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
  -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
  -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DBUILD_SHARED_LIBS=OFF
cmake --build "$BUILD" --target llama-server -j "$JOBS"
echo "$BUILD/bin/llama-server"
