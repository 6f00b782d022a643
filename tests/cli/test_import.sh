#!/usr/bin/env bash
# test_import.sh — the operator commands that load a node's store (db init,
# catalog/scene/cert import) and check its usage records (records verify):
# exit codes 0/1/2, "line N: reason" messages, idempotent re-runs, --config
# and --db, and the documented canonical record format, recomputed here in
# shell (docs/store.md) so the chain is checked against a second
# implementation.
set -u
: "${ECERT_BIN:?ECERT_BIN must point to the built ecert}"
: "${ECERT_TEST_DATA:?ECERT_TEST_DATA must point to tests/data}"
export LC_ALL=C # ${#var} counts bytes, as the canonical form does
# absolute, since some steps run from another directory
ECERT_BIN=$(cd "$(dirname "$ECERT_BIN")" && pwd)/$(basename "$ECERT_BIN")

SAMPLE=$ECERT_TEST_DATA/sample
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

ok() {
    echo "ok   $1"
    passed=$((passed + 1))
}
bad() {
    echo "FAIL $1"
    sed 's/^/     stdout: /' "$tmp/out" 2>/dev/null
    sed 's/^/     stderr: /' "$tmp/err" 2>/dev/null
    failed=$((failed + 1))
}

# run NAME WANT_RC STDOUT_REGEX STDERR_REGEX ARGS...   ('' = must be empty, '*' = anything)
run() {
    local name=$1 want=$2 out_re=$3 err_re=$4
    shift 4
    "$ECERT_BIN" "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$? good=1
    [ "$rc" -eq "$want" ] || good=0
    case $out_re in
    '*') ;;
    '') [ -s "$tmp/out" ] && good=0 ;;
    *) grep -Eq -- "$out_re" "$tmp/out" || good=0 ;;
    esac
    case $err_re in
    '*') ;;
    '') [ -s "$tmp/err" ] && good=0 ;;
    *) grep -Eq -- "$err_re" "$tmp/err" || good=0 ;;
    esac
    if [ "$good" -eq 1 ]; then ok "$name"; else bad "$name (rc $rc, want $want)"; fi
}

# check NAME COMMAND...: a shell condition as a test
check() {
    local name=$1
    shift
    if "$@"; then ok "$name"; else bad "$name"; fi
}

one_line_err() { [ "$(wc -l <"$tmp/err")" -eq 1 ]; }

DB=$tmp/node.db

# ---- help and usage -----------------------------------------------------------
for cmd in "db" "db init" "catalog" "catalog import" "scene" "scene import" "cert" \
    "cert import" "records" "records verify"; do
    # shellcheck disable=SC2086
    run "help: ecert $cmd --help" 0 '^usage: ecert' '' $cmd --help
done
run "usage: db without subcommand" 2 '' 'missing subcommand' db
run "usage: unknown subcommand" 2 '' "unknown subcommand 'frob'" cert frob
run "usage: db init needs --config or --db" 2 '' 'config FILE or --db PATH is required' db init
check "usage: one line on stderr" one_line_err
run "usage: --config and --db together" 2 '' 'not both' db init --db "$DB" --config "$tmp/x.ini"
run "usage: cert import needs a file" 2 '' 'missing input file' cert import --db "$DB"
run "usage: unknown option" 2 '' "unknown option '--frob'" cert import --frob --db "$DB" x
run "usage: bad --batch" 2 '' 'batch must be 1 to' cert import --db "$DB" --batch 0 x
run "usage: missing JSONL" 2 '' 'cannot open' cert import --db "$DB" "$tmp/none.jsonl"
run "usage: store directory missing" 2 '' 'cannot open' db init --db "$tmp/no/dir/x.db"

# ---- db init --------------------------------------------------------------------
run "db init creates" 0 '^schema version [1-9][0-9]*$' '' db init --db "$DB"
ver=$(cat "$tmp/out")
run "db init again: same version" 0 "^$ver\$" '' db init --db "$DB"
check "db file is private (0600)" test "$(stat -c %a "$DB")" = 600

# --config: the node's own node.ini, [store] path relative to it
mkdir -p "$tmp/node"
cat >"$tmp/node/node.ini" <<'EOF'
[node]
id = YRD-HUB
role = hub
private_key = hub.key
listen = 127.0.0.1:18440
[tls]
cert = tls.pem
key = tls.key
[store]
path = store.db
EOF
run "db init --config" 0 "^$ver\$" '' db init --config "$tmp/node/node.ini"
check "--config: [store] path is relative to node.ini" test -f "$tmp/node/store.db"
printf '[node]\nrole = nonsense\n' >"$tmp/bad.ini"
run "db init --config with a bad node.ini" 2 '' 'bad.ini:2' db init --config "$tmp/bad.ini"

# ---- cert import -----------------------------------------------------------------
run "cert import: good and bad lines" 1 '^imported 5, rejected 7$' '^line 2: invalid JSON' \
    cert import --db "$DB" "$SAMPLE/certs.jsonl"
cp "$tmp/err" "$tmp/err1"
for want in 'line 2: invalid JSON' "line 4: CertificateID: check character" \
    'line 7: CertificateHolderCode: ' 'line 8: CertificateIssuedDate: expected a date' \
    'line 10: CertificateStatus: expected valid' 'line 11: CertificateHolder: missing' \
    'line 13: filePath: cannot open'; do
    check "cert import reports '$want'" grep -q -- "$want" "$tmp/err1"
done
check "cert import: one stderr line per bad line" test "$(wc -l <"$tmp/err1")" -eq 7
check "cert import: no progress bar when stderr is not a terminal" \
    bash -c "! grep -q \$'\\r' '$tmp/err1'"
check "cert import: no personal data in messages" bash -c "! grep -q 310104198506128 '$tmp/err1'"

run "cert import re-run: idempotent" 1 '^imported 5, rejected 7$' '*' \
    cert import --db "$DB" "$SAMPLE/certs.jsonl"
run "cert import small batches: same result" 1 '^imported 5, rejected 7$' '*' \
    cert import --db "$DB" --batch 2 "$SAMPLE/certs.jsonl"
if command -v sqlite3 >/dev/null 2>&1; then
    check "cert import re-runs: still 5 certificates" test "$(sqlite3 "$DB" 'SELECT count(*) FROM certs')" = 5
    check "cert import: fileSM3 computed" test "$(sqlite3 "$DB" "SELECT file_sm3 FROM certs WHERE file_name = '结婚证.pdf'")" = "$("$ECERT_BIN" sm3 "$SAMPLE/files/marriage.pdf")"
fi

# only the good lines: exit 0; from stdin too
grep -n '' "$SAMPLE/certs.jsonl" | grep -E '^(1|3|6|9|12):' | cut -d: -f2- >"$tmp/good.jsonl"
cp -r "$SAMPLE/files" "$tmp/files"
run "cert import: all good" 0 '^imported 5, rejected 0$' '' cert import --db "$DB" "$tmp/good.jsonl"
(cd "$tmp" && "$ECERT_BIN" cert import --db "$DB" - <good.jsonl >out 2>err)
check "cert import from stdin (filePath relative to the working directory)" \
    grep -qx 'imported 5, rejected 0' "$tmp/out"

# more rejections: SM3 mismatch, both file forms, identifier/field disagreement, CRLF
first=$(head -n1 "$tmp/good.jsonl")
{
    printf '%s\r\n' "$first"
    echo "${first%\}},\"fileSM3\":\"$(printf '0%.0s' $(seq 64))\"}"
    echo "${first%\}},\"filePath\":\"files/estate.ofd\"}"
    echo "${first/\"CertificateTypeCode\": \"11100000000013338W001\"/\"CertificateTypeCode\": \"11100000000013338W032\"}"
    echo "${first/\"CertificateValidTo\": \"\"/\"CertificateValidTo\": \"2000-01-01\"}"
    echo '[1, 2]'
    echo "${first/\"CertificateAreaCode\": \"310115\"/\"CertificateAreaCode\": \"3101\"}"
} >"$tmp/more.jsonl"
run "cert import: more bad lines" 1 '^imported 1, rejected 6$' '*' cert import --db "$DB" "$tmp/more.jsonl"
cp "$tmp/err" "$tmp/err2"
check "fileSM3 mismatch" grep -q 'line 2: fileSM3: does not match the file' "$tmp/err2"
check "both fileEntity and filePath" grep -q 'line 3: give fileEntity or filePath, not both' "$tmp/err2"
check "type code differs from the identifier" grep -q 'line 4: CertificateTypeCode: differs' "$tmp/err2"
check "ValidTo before ValidFrom" grep -q 'line 5: CertificateValidTo: before' "$tmp/err2"
check "not an object" grep -q 'line 6: not a JSON object' "$tmp/err2"
check "area code" grep -q 'line 7: CertificateAreaCode: expected 6 digits' "$tmp/err2"

# a line over 64 MiB is rejected, the next one still imported
{
    head -c $((64 * 1024 * 1024 + 10)) /dev/zero | tr '\0' 'x'
    echo
    echo "$first"
} >"$tmp/long.jsonl"
run "cert import: over-long line" 1 '^imported 1, rejected 1$' '^line 1: longer than 67108864 bytes$' \
    cert import --db "$DB" "$tmp/long.jsonl"
rm -f "$tmp/long.jsonl"

# ---- catalog and scene import ------------------------------------------------------
run "catalog import" 0 '^imported 3, rejected 0$' '' catalog import --db "$DB" "$SAMPLE/catalog.json"
run "catalog import re-run" 0 '^imported 3, rejected 0$' '' catalog import --db "$DB" "$SAMPLE/catalog.json"
cat >"$tmp/catalog.json" <<'EOF'
{"catalog": [
  {"typeCode": "11100000000013338W099", "name": "示例证照"},
  {"typeCode": "1110000000001333W099", "name": "短代码"},
  {"typeCode": "11100000000013338W098", "name": "x", "yrdShared": "yes"},
  {"typeCode": "11100000000013338W097"}
]}
EOF
run "catalog import: bad entries" 1 '^imported 1, rejected 3$' '^entry 2: typeCode' \
    catalog import --db "$DB" "$tmp/catalog.json"
check "catalog: yrdShared must be boolean" grep -q 'entry 3: yrdShared' "$tmp/err"
check "catalog: name missing" grep -q 'entry 4: name: missing' "$tmp/err"
echo '{"catalog": [' >"$tmp/broken.json"
run "catalog import: invalid JSON" 2 '' 'invalid JSON' catalog import --db "$DB" "$tmp/broken.json"
echo '{"other": []}' >"$tmp/other.json"
run "catalog import: wrong shape" 2 '' 'expected a JSON array' catalog import --db "$DB" "$tmp/other.json"

run "scene import" 0 '^imported 2, rejected 0$' '' scene import --db "$DB" "$SAMPLE/scenes.json"
cat >"$tmp/federation.json" <<'EOF'
{"ca": "ca.pem", "nodes": [],
 "scenes": [{"itemCode": "320000-X-1", "itemName": "户籍迁移", "types": ["11100000000013338W032"]},
            {"itemCode": "320000-X-2", "itemName": "坏", "types": ["W032"]},
            {"itemCode": "320000-X-3", "itemName": "无类型"}]}
EOF
run "scene import: federation.json shape, bad entries" 1 '^imported 1, rejected 2$' \
    '^entry 2: types\[0\]' scene import --config "$tmp/node/node.ini" "$tmp/federation.json"
check "scene: types missing" grep -q 'entry 3: types: missing' "$tmp/err"

# ---- records verify ----------------------------------------------------------------
run "records verify: empty chain" 0 '^0 records, chain intact$' '' records verify --db "$DB"
run "records verify --config" 0 '^0 records, chain intact$' '' records verify --config "$tmp/node/node.ini"

# netstring "len:value," with len in bytes
ns() { printf '%s:%s,' "${#1}" "$1"; }
# canonical SEQ TIME CERT HOLDER IFACE APP NODE USEFOR ICODE INAME IORG OP BIZ RESULT
canonical() {
    ns ecert-urec-v1
    for v in "$@"; do ns "$v"; done
}
ZERO=0000000000000000000000000000000000000000000000000000000000000000
if command -v sqlite3 >/dev/null 2>&1; then
    CID=1.2.156.3005.2.11100000000013338W032.113100000096364432.39234568.001.B
    r1=(1 1764345600123 "$CID" 310104198506128045 cert/file/by-id A3100001 YRD-JS 办事 310000-0001 企业开办 徐汇区 窗口01 BIZ-1 0)
    r2=(2 1764345600456 "" 310104198506128045 cert/search A3100001 "" 核验 310000-0001 企业开办 徐汇区 "" BIZ-2 3006)
    h1=$(printf '%s%s' "$ZERO" "$(canonical "${r1[@]}")" | "$ECERT_BIN" sm3)
    h2=$(printf '%s%s' "$h1" "$(canonical "${r2[@]}")" | "$ECERT_BIN" sm3)
    q() { printf "'%s'" "${1//\'/\'\'}"; }
    row() {
        local out="" v
        for v in "$@"; do out+="$(q "$v"),"; done
        printf '%s' "${out%,}"
    }
    sqlite3 "$DB" "INSERT INTO usage_records VALUES ($(row "${r1[@]}" "$ZERO" "$h1"));
                   INSERT INTO usage_records VALUES ($(row "${r2[@]}" "$h1" "$h2"));"
    run "records verify: chain computed from docs/store.md" 0 '^2 records, chain intact$' '' \
        records verify --db "$DB"
    sqlite3 "$DB" "UPDATE usage_records SET result = 0 WHERE seq = 2"
    run "records verify: tampered record" 1 '^chain broken at seq 2 ' 'record 2: hash does not match' \
        records verify --db "$DB"
    check "records verify: one line on stderr" one_line_err
    sqlite3 "$DB" "UPDATE usage_records SET result = 3006 WHERE seq = 2;
                   UPDATE usage_records SET prev = '$ZERO' WHERE seq = 2"
    run "records verify: broken link" 1 '^chain broken at seq 2 ' 'prev does not match' \
        records verify --db "$DB"
else
    echo "skip records verify with hand-made chains: the sqlite3 command is not installed"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
