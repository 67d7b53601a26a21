#!/usr/bin/env bash
# `enclave audit keygen|note|verify|prune`: a signed log built through the CLI verifies (text and
# JSON), a changed, deleted or truncated record is named with a non-zero exit, another key's
# signatures are refused, and a second key file is never overwritten.
set -u
enclave=$1
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
check() {  # check NAME CONDITION-EXIT-STATUS
  if [ "$2" -ne 0 ]; then echo "FAIL $1"; fail=1; fi
}
"$enclave" audit keygen --out "$tmp/k.pem" >/dev/null; check keygen $?
[ "$(stat -c %a "$tmp/k.pem")" = 600 ]; check "private key mode 0600" $?
grep -q "BEGIN PUBLIC KEY" "$tmp/k.pub.pem"; check "public key written" $?
"$enclave" audit keygen --out "$tmp/k.pem" >/dev/null 2>&1; [ $? -ne 0 ]; check "keygen refuses to overwrite" $?
"$enclave" audit keygen --out "$tmp/other.pem" >/dev/null; check "second key" $?

log="$tmp/audit.jsonl"
for i in 1 2 3; do
  "$enclave" audit note "$log" --text "note $i" --key "$tmp/k.pem" >/dev/null; check "note $i" $?
done
out=$("$enclave" audit verify "$log" --pubkey "$tmp/k.pub.pem"); check "verify ok" $?
[[ "$out" == OK:* ]]; check "verify says OK: $out" $?
json=$("$enclave" audit verify --json "$log" --pubkey "$tmp/k.pub.pem"); check "verify --json" $?
echo "$json" | grep -q '"ok": true'; check "json ok" $?
"$enclave" audit verify "$log" --pubkey "$tmp/other.pub.pem" >/dev/null 2>&1; [ $? -eq 1 ]; check "other key refused" $?

n=$(wc -l < "$log")
# Change the text of the second note (line 6: each note run writes open, note, close, checkpoint).
sed '6s/"note 2"/"note X"/' "$log" > "$tmp/changed.jsonl"
err=$("$enclave" audit verify "$tmp/changed.jsonl" 2>&1 >/dev/null); rc=$?
[ $rc -eq 1 ] && [[ "$err" == *"line 6"*"hash mismatch"* ]]; check "changed record: rc=$rc $err" $?
# Delete record 3: reported at the record after it.
sed '3d' "$log" > "$tmp/deleted.jsonl"
err=$("$enclave" audit verify "$tmp/deleted.jsonl" 2>&1 >/dev/null); rc=$?
[ $rc -eq 1 ] && [[ "$err" == *"line 3"*"deleted"* ]]; check "deleted record: rc=$rc $err" $?
# Cut the last record in half: an incomplete last record.
size=$(stat -c %s "$log")
head -c $((size - 40)) "$log" > "$tmp/torn.jsonl"
err=$("$enclave" audit verify "$tmp/torn.jsonl" 2>&1 >/dev/null); rc=$?
[ $rc -eq 1 ] && [[ "$err" == *"line $n"*"incomplete record"* ]]; check "torn record: rc=$rc $err" $?
# The writer recovers the torn copy: side file kept, chain continued.
cp "$tmp/torn.jsonl" "$tmp/recover.jsonl"
"$enclave" audit note "$tmp/recover.jsonl" --text after-crash >/dev/null; check "note after crash" $?
ls "$tmp"/recover.jsonl.torn-* >/dev/null 2>&1; check "torn bytes kept in a side file" $?
"$enclave" audit verify "$tmp/recover.jsonl" >/dev/null; check "recovered log verifies" $?
"$enclave" audit verify "$tmp/missing.jsonl" >/dev/null 2>&1; [ $? -eq 1 ]; check "missing file" $?
"$enclave" audit prune "$log" --older-than 180d --key "$tmp/k.pem" >/dev/null; check prune $?
"$enclave" audit verify "$log" --pubkey "$tmp/k.pub.pem" >/dev/null; check "verify after prune" $?
"$enclave" audit prune "$log" --older-than soon >/dev/null 2>&1; [ $? -eq 2 ]; check "prune bad age" $?
[ $fail -eq 0 ] && echo "audit CLI: ok"
exit $fail
