#!/usr/bin/env bash
# `enclave manifest create` and `enclave verify` on a committed GGUF fixture and a small model
# directory: a fresh manifest verifies, a signed one verifies under its key and not another's, and
# a changed, extra or missing file is named with a non-zero exit.
set -u
enclave=$1
src=$2
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
check() {
  if [ "$2" -ne 0 ]; then echo "FAIL $1"; fail=1; fi
}
cp "$src/tests/fixtures/gguf/minimal_valid.gguf" "$tmp/model.gguf"
"$enclave" manifest create "$tmp/model.gguf" >/dev/null; check "create (file)" $?
[ -f "$tmp/model.gguf.manifest.json" ]; check "default manifest path beside the file" $?
want=$(sha256sum "$tmp/model.gguf" | cut -d' ' -f1)
grep -q "$want" "$tmp/model.gguf.manifest.json"; check "manifest holds sha256sum's digest" $?
out=$("$enclave" verify "$tmp/model.gguf"); check "verify (file)" $?
[[ "$out" == OK:* ]]; check "verify says OK: $out" $?
printf 'x' >> "$tmp/model.gguf"
err=$("$enclave" verify "$tmp/model.gguf" 2>&1 >/dev/null); rc=$?
[ $rc -eq 1 ] && [[ "$err" == error:*model.gguf* ]]; check "changed file: rc=$rc $err" $?

"$enclave" audit keygen --out "$tmp/k.pem" >/dev/null
"$enclave" audit keygen --out "$tmp/o.pem" >/dev/null
mkdir -p "$tmp/hf/sub"
echo '{}' > "$tmp/hf/config.json"
head -c 100000 /dev/zero > "$tmp/hf/model.safetensors"
echo tok > "$tmp/hf/sub/tokenizer.json"
"$enclave" manifest create "$tmp/hf" --sign "$tmp/k.pem" >/dev/null; check "create signed (dir)" $?
[ -f "$tmp/hf/enclave-manifest.json" ]; check "default manifest path in the directory" $?
"$enclave" verify "$tmp/hf" --pubkey "$tmp/k.pub.pem" --require-signature >/dev/null; check "signed verify" $?
"$enclave" verify "$tmp/hf" --pubkey "$tmp/o.pub.pem" >/dev/null 2>&1; [ $? -eq 1 ]; check "other key" $?
"$enclave" verify "$tmp/hf" --require-signature >/dev/null 2>&1; [ $? -eq 1 ]; check "require without key" $?
echo extra > "$tmp/hf/sub/extra.txt"
err=$("$enclave" verify "$tmp/hf" 2>&1 >/dev/null); rc=$?
[ $rc -eq 1 ] && [[ "$err" == *"sub/extra.txt: extra file"* ]]; check "extra file: rc=$rc $err" $?
rm "$tmp/hf/sub/extra.txt" "$tmp/hf/config.json"
err=$("$enclave" verify "$tmp/hf" 2>&1 >/dev/null); rc=$?
[ $rc -eq 1 ] && [[ "$err" == *"config.json: file missing"* ]]; check "missing file: rc=$rc $err" $?
"$enclave" manifest create "$tmp/hf" --out "$tmp/m.json" >/dev/null; check "create --out" $?
"$enclave" verify "$tmp/hf" --manifest "$tmp/m.json" >/dev/null; check "verify --manifest" $?
err=$("$enclave" verify "$tmp/nothing" 2>&1 >/dev/null); rc=$?
[ $rc -eq 1 ] && [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ]; check "no manifest: one-line error" $?
[ $fail -eq 0 ] && echo "manifest CLI: ok"
exit $fail
