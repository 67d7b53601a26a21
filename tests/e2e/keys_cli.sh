#!/usr/bin/env bash
# `enclave keys create|list|revoke|rotate`: secrets printed once (text and JSON) and stored only as
# SHA-256, listings without secrets or hashes, revocation and rotation by name or id, expiry,
# certificate binding, the ENCLAVE_AUTH_KEYS_DB fallback, and errors with their exit codes
# (1: "error: ..." from the command; 2: a usage error, ours or the command line's).
set -u
enclave=$1
src=$2
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
check() {  # check NAME CONDITION-EXIT-STATUS
  if [ "$2" -ne 0 ]; then echo "FAIL $1"; fail=1; fi
}
py() { python3 -c "$@"; }
unset ENCLAVE_AUTH_KEYS_DB
db="$tmp/keys.db"
cert_hash=015e1e6a071e40074b85b79374bfba4977312e6ffea9843c76d7f4804e43e3af  # tests/fixtures/keys/README.md

# No database named anywhere: a usage error that says how to name one.
err=$("$enclave" keys list 2>&1 >/dev/null); rc=$?
[ $rc -eq 2 ] && [[ "$err" == error:*--keys-db*ENCLAVE_AUTH_KEYS_DB* ]]; check "no db: rc=$rc $err" $?
err=$("$enclave" keys list --keys-db "$db" 2>&1 >/dev/null); rc=$?
[ $rc -eq 1 ] && [[ "$err" == error:*"enclave keys create"* ]] && [ ! -e "$db" ]; check "list before create: rc=$rc $err" $?

# create (text): the secret once, with the warning.
out=$("$enclave" keys create --keys-db "$db" --name alice --role user); check "create alice" $?
alice_key=$(printf '%s\n' "$out" | grep -oE 'enk_[A-Za-z0-9_-]{43}$')
[ ${#alice_key} -eq 47 ]; check "text create prints a secret: $out" $?
alice_id=$(printf '%s\n' "$out" | grep -oE 'key_[0-9a-f]{16}' | head -1)
[ -n "$alice_id" ] && [[ "$out" == *"store it now: it cannot be shown again"* ]] && [[ "$out" == *"role     user"* ]]
check "text create block: $out" $?
[ "$(stat -c %a "$db")" = 600 ]; check "database mode 0600" $?

# create --json with every option.
json=$("$enclave" keys create --keys-db "$db" --name bob --role admin --expires 90d --rpm 60 --tpm 100000 \
  --daily-tokens 500000 --max-concurrent 4 --max-tokens 2048 --models "m1, m2" \
  --client-cert "$src/tests/fixtures/keys/client.pem" --json); check "create bob --json" $?
printf '%s' "$json" | py '
import json, sys, re, datetime
d = json.load(sys.stdin)
assert re.fullmatch(r"key_[0-9a-f]{16}", d["id"]), d
assert re.fullmatch(r"enk_[A-Za-z0-9_-]{43}", d["key"]), d
assert d["name"] == "bob" and d["role"] == "admin" and d["state"] == "valid", d
assert d["prefix"] == d["key"][:8], d
expires = datetime.datetime.strptime(d["expires"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
left = (expires - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
assert 90 * 86400 - 120 < left <= 90 * 86400, left
assert d["limits"] == {"rpm": 60, "tpm": 100000, "daily_tokens": 500000, "max_concurrent": 4,
                       "max_tokens": 2048, "models": ["m1", "m2"]}, d["limits"]
assert d["client_cert_sha256"] == sys.argv[1], d
' "$cert_hash"; check "create --json fields: $json" $?
bob_key=$(printf '%s' "$json" | py 'import json,sys; print(json.load(sys.stdin)["key"])')
bob_id=$(printf '%s' "$json" | py 'import json,sys; print(json.load(sys.stdin)["id"])')
if command -v openssl >/dev/null; then
  [ "$(openssl x509 -in "$src/tests/fixtures/keys/client.pem" -outform DER | sha256sum | cut -c1-64)" = "$cert_hash" ]
  check "certificate digest matches openssl" $?
fi

# Only hashes are stored: the secrets are nowhere in the files, their SHA-256 is (python's sqlite3).
for k in "$alice_key" "$bob_key"; do
  ! cat "$db" "$db-wal" 2>/dev/null | grep -qaF -- "${k#enk_}"; check "secret not stored" $?
done
py '
import sqlite3, sys, hashlib
con = sqlite3.connect(sys.argv[1])
rows = dict(con.execute("SELECT id, secret_sha256 FROM keys"))
assert rows[sys.argv[2]] == hashlib.sha256(sys.argv[3].encode()).hexdigest(), rows
' "$db" "$alice_id" "$alice_key"; check "secret_sha256 column holds the hash" $?

# Errors from create.
err=$("$enclave" keys create --keys-db "$db" --name alice --role user 2>&1 >/dev/null); rc=$?
[ $rc -eq 1 ] && [[ "$err" == error:*"named 'alice' exists"* ]]; check "duplicate name: rc=$rc $err" $?
err=$("$enclave" keys create --keys-db "$db" --name carol --role user --expires soon 2>&1 >/dev/null); rc=$?
[ $rc -eq 2 ] && [[ "$err" == error:*"--expires 'soon'"*90d* ]]; check "bad --expires: rc=$rc $err" $?
"$enclave" keys create --keys-db "$db" --name carol --role user --expires 0d >/dev/null 2>&1; [ $? -eq 2 ]
check "--expires 0d refused" $?
err=$("$enclave" keys create --keys-db "$db" --name carol --role root 2>&1 >/dev/null); rc=$?
[ $rc -eq 2 ] && [[ "$err" == *"admin, user, auditor and metrics"* ]]; check "bad role: rc=$rc $err" $?
err=$("$enclave" keys create --keys-db "$db" --name " carol" --role user 2>&1 >/dev/null); rc=$?
[ $rc -eq 1 ] && [[ "$err" == error:*space* ]]; check "bad name: rc=$rc $err" $?
"$enclave" keys create --keys-db "$db" --name carol --role user --models "a,,b" >/dev/null 2>&1; [ $? -eq 1 ]
check "empty model id refused" $?
"$enclave" keys create --keys-db "$db" --name carol --role user --client-cert "$src/tests/fixtures/keys/README.md" \
  >/dev/null 2>&1; [ $? -eq 1 ]; check "non-certificate --client-cert refused" $?
"$enclave" keys create --keys-db "$db" --name carol --role user --client-cert "$src/tests/fixtures/keys/client.pem" \
  >/dev/null 2>&1; [ $? -eq 1 ]; check "certificate bound twice refused" $?
"$enclave" keys create --keys-db "$db" --name carol --role user --rpm -5 >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ]; check "negative --rpm is a usage error: rc=$rc" $?
"$enclave" keys create --keys-db "$db" --role user >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ]; check "missing --name is a usage error: rc=$rc" $?

# list: text table and JSON, never a secret or its hash; the environment variable as fallback.
out=$("$enclave" keys list --keys-db "$db"); check "list" $?
[[ "$(printf '%s\n' "$out" | head -1)" == ID*NAME*ROLE*PREFIX*CREATED*EXPIRES*STATE*LIMITS* ]]; check "list header: $out" $?
[ "$(printf '%s\n' "$out" | wc -l)" -eq 3 ] && [[ "$out" == *alice*valid* ]] && [[ "$out" == *"rpm=60 tpm=100000"* ]]
check "list rows: $out" $?
alice_hash=$(printf '%s' "$alice_key" | sha256sum | cut -c1-64)
all=$(ENCLAVE_AUTH_KEYS_DB="$db" "$enclave" keys list --json); check "list --json via ENCLAVE_AUTH_KEYS_DB" $?
for s in "${alice_key#enk_}" "$alice_hash" "${bob_key#enk_}"; do
  [[ "$out$all" != *"$s"* ]]; check "list shows no secret or hash" $?
done
printf '%s' "$all" | py '
import json, sys
keys = json.load(sys.stdin)
assert [k["name"] for k in keys] == ["alice", "bob"], keys
assert all(k["state"] == "valid" and "key" not in k for k in keys), keys
assert keys[0]["expires"] is None and keys[0]["client_cert_sha256"] is None, keys[0]
'; check "list --json: $all" $?
ENCLAVE_AUTH_KEYS_DB="$tmp/nowhere.db" "$enclave" keys list --keys-db "$db" >/dev/null; check "--keys-db wins over the variable" $?

# revoke by name: listed as revoked, the name free again; a second revoke and unknown keys fail.
out=$("$enclave" keys revoke --keys-db "$db" alice); check "revoke alice" $?
[[ "$out" == *"$alice_id"* ]]; check "revoke names the id: $out" $?
state=$("$enclave" keys list --keys-db "$db" --json | py 'import json,sys; print({k["id"]: k["state"] for k in json.load(sys.stdin)}[sys.argv[1]])' "$alice_id")
[ "$state" = revoked ]; check "alice revoked: $state" $?
err=$("$enclave" keys revoke --keys-db "$db" "$alice_id" 2>&1 >/dev/null); rc=$?
[ $rc -eq 1 ] && [[ "$err" == error:*"revoked already"* ]]; check "revoke twice: rc=$rc $err" $?
err=$("$enclave" keys revoke --keys-db "$db" nobody 2>&1 >/dev/null); rc=$?
[ $rc -eq 1 ] && [[ "$err" == error:*"no key named 'nobody'"* ]]; check "revoke unknown: rc=$rc $err" $?
"$enclave" keys rotate --keys-db "$db" "$alice_id" >/dev/null 2>&1; [ $? -eq 1 ]; check "rotate revoked refused" $?
"$enclave" keys create --keys-db "$db" --name alice --role user >/dev/null; check "name reused after revoke" $?

# rotate by id: same id, new secret, the old hash gone.
json=$("$enclave" keys rotate --keys-db "$db" "$bob_id" --json); check "rotate bob" $?
new_key=$(printf '%s' "$json" | py '
import json, sys
d = json.load(sys.stdin)
assert d["id"] == sys.argv[1] and d["name"] == "bob" and d["rotated"] and d["limits"]["rpm"] == 60, d
print(d["key"])' "$bob_id"); check "rotate --json: $json" $?
[ -n "$new_key" ] && [ "$new_key" != "$bob_key" ]; check "rotate gives a new secret" $?
py '
import sqlite3, sys, hashlib
con = sqlite3.connect(sys.argv[1])
(h, prefix), = con.execute("SELECT secret_sha256, prefix FROM keys WHERE id = ?", (sys.argv[2],))
assert h == hashlib.sha256(sys.argv[3].encode()).hexdigest() and prefix == sys.argv[3][:8]
' "$db" "$bob_id" "$new_key"; check "rotation replaced the stored hash" $?
out=$("$enclave" keys rotate --keys-db "$db" bob); check "rotate by name (text)" $?
[[ "$out" == *"old secret no longer works"*"store it now: it cannot be shown again"* ]]; check "rotate text: $out" $?

# Expiry: a 1-second key is listed as expired once that second has passed, and cannot be rotated.
"$enclave" keys create --keys-db "$db" --name brief --role metrics --expires 1s >/dev/null; check "create brief" $?
sleep 1.2
state=$("$enclave" keys list --keys-db "$db" --json | py 'import json,sys; print([k["state"] for k in json.load(sys.stdin) if k["name"] == "brief"][0])')
[ "$state" = expired ]; check "brief expired: $state" $?
"$enclave" keys rotate --keys-db "$db" brief >/dev/null 2>&1; [ $? -eq 1 ]; check "rotate expired refused" $?

# Files that are not a keys database.
echo "hello" > "$tmp/notes.db"
err=$("$enclave" keys list --keys-db "$tmp/notes.db" 2>&1 >/dev/null); rc=$?
[ $rc -eq 1 ] && [[ "$err" == error:*"not an Enclave keys database"* ]]; check "not a database: rc=$rc $err" $?
"$enclave" keys create --keys-db "$tmp/notes.db" --name x --role user >/dev/null 2>&1; [ $? -eq 1 ]
check "create refuses a foreign file" $?
[ "$(cat "$tmp/notes.db")" = hello ]; check "foreign file untouched" $?
"$enclave" keys create --keys-db "$tmp/no/such/dir/keys.db" --name x --role user >/dev/null 2>&1; [ $? -eq 1 ]
check "create in a missing directory fails" $?

out=$("$enclave" keys create --help); check "create --help" $?
[[ "$out" == *ENCLAVE_AUTH_KEYS_DB* && "$out" == *--expires* ]]; check "help names the variable" $?
[ $fail -eq 0 ] && echo "keys CLI: ok"
exit $fail
