#!/usr/bin/env bash
# CLI contract tests for `ecert sm3` and `ecert sm2 …` (SPEC §8, §3.3).
#
# Run by CTest with ECERT_BIN (the built ecert) and ECERT_TEST_DATA
# (tests/data). Values are taken from tests/data/vectors/*.json with node,
# which the interop tests require anyway (python3 and jq may be absent).
# Ends with "N passed, M failed" and exits non-zero when anything failed.
set -u

BIN=${ECERT_BIN:?set ECERT_BIN to the ecert binary}
DATA=${ECERT_TEST_DATA:-$(cd "$(dirname "$0")/../data" && pwd)}
V2=$DATA/vectors/sm2.json
V3=$DATA/vectors/sm3.json
command -v node >/dev/null || { echo "node is required"; echo "0 passed, 1 failed"; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/ecert-cli.XXXXXX")
trap 'rm -rf "$T"' EXIT

passed=0
failed=0
# set by steps that may fail; defined so that `set -u` reports, not aborts
SIG= RAW= SABC= SEMPTY= SID= SIDR= SEID= S= SBIG=
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

ec() { "$BIN" "$@"; }

# t NAME WANT_RC CMD...   (stdin from $IN, default /dev/null)
# Exit status must be WANT_RC. A success leaves stderr empty; a failure (1 or
# 2) writes exactly one line "ecert: …" on stderr. Output: $T/out, $T/err.
t() {
    local name=$1 want=$2
    shift 2
    "$@" <"${IN:-/dev/null}" >"$T/out" 2>"$T/err"
    local rc=$?
    if [ "$rc" -ne "$want" ]; then
        fail "$name: exit $rc, want $want; stderr: $(head -c 400 "$T/err")"
        return 1
    fi
    local lines
    lines=$(wc -l <"$T/err")
    if [ "$want" -eq 0 ]; then
        if [ -s "$T/err" ]; then
            fail "$name: unexpected stderr: $(head -c 400 "$T/err")"
            return 1
        fi
    elif [ "$lines" -ne 1 ] || ! head -n 1 "$T/err" | grep -q '^ecert: .'; then
        fail "$name: want one 'ecert: …' line on stderr, got $lines: $(head -c 400 "$T/err")"
        return 1
    fi
    pass
}

# out_is NAME EXPECTED: stdout of the last t, byte for byte (with a newline
# appended to EXPECTED unless EXACT=1).
out_is() {
    local want=$2
    if [ "${EXACT:-0}" = 1 ]; then
        printf '%s' "$want" >"$T/want"
    else
        printf '%s\n' "$want" >"$T/want"
    fi
    if cmp -s "$T/out" "$T/want"; then pass; else fail "$1: stdout '$(head -c 300 "$T/out")', want '$want'"; fi
}
# out_matches NAME ERE: the whole stdout (one line) matches.
out_matches() {
    if [ "$(wc -l <"$T/out")" -eq 1 ] && grep -Eq "^($2)\$" "$T/out"; then pass; else
        fail "$1: stdout '$(head -c 300 "$T/out")' does not match $2"
    fi
}
# err_has NAME REGEX: the stderr line of the last t mentions REGEX (case-insensitive).
err_has() {
    if grep -Eiq -- "$2" "$T/err"; then pass; else fail "$1: stderr '$(head -c 300 "$T/err")' lacks /$2/"; fi
}

# One node run (node starts slowly on a loaded machine) unpacks every SM2
# vector into $T/v/<id>/<field>; hex fields also as <field>.bin (bytes) and
# <field>.b64 (base64 of those bytes).
node -e '
    const fs = require("fs");
    const v = require(process.argv[1]);
    for (const x of [].concat(v.signature_vectors, v.encryption_vectors)) {
        const d = process.argv[2] + "/v/" + x.id;
        fs.mkdirSync(d, { recursive: true });
        for (const [k, val] of Object.entries(x)) {
            if (typeof val !== "string") continue;
            fs.writeFileSync(d + "/" + k, val);
            if (/^[0-9a-f]+$/.test(val) && val.length % 2 === 0 && /_hex$|^signature_|^private_key$|^public_key$/.test(k)) {
                fs.writeFileSync(d + "/" + k + ".bin", Buffer.from(val, "hex"));
                fs.writeFileSync(d + "/" + k + ".b64", Buffer.from(val, "hex").toString("base64"));
            }
        }
    }' "$V2" "$T" || { echo "cannot read $V2"; echo "0 passed, 1 failed"; exit 1; }
# vec ID FIELD: one field of an SM2 vector (fails loudly when absent).
vec() {
    if [ -f "$T/v/$1/$2" ]; then cat "$T/v/$1/$2"; else echo "no vector field $1.$2" >&2; return 3; fi
}
vecfile() { echo "$T/v/$1/$2"; }
b64tobin() { printf '%s' "$1" | base64 -d >"$2"; }
firstbyte() { od -An -tx1 -N1 "$1" | tr -d ' \n'; }
upper() { printf '%s' "$1" | tr a-f A-F; }

# ===========================================================================
# help, usage errors
for args in "sm3 --help" "sm3 -h" "sm2 --help" "sm2 -h" "sm2 help" "sm2 keygen --help" \
    "sm2 encrypt --help" "sm2 decrypt -h" "sm2 sign --help" "sm2 verify --help" \
    "sm2 sign --key x --help"; do
    # shellcheck disable=SC2086
    t "help: ecert $args" 0 ec $args && {
        if grep -q '^usage: ecert' "$T/out"; then pass; else fail "help: ecert $args: no usage on stdout"; fi
    }
done
t "sm2 without subcommand" 2 ec sm2 && err_has "sm2 without subcommand" "subcommand"
t "sm2 unknown subcommand" 2 ec sm2 frobnicate && err_has "sm2 unknown subcommand" "frobnicate"
t "sm3 unknown option" 2 ec sm3 --bogus && err_has "sm3 unknown option" "--bogus"
t "sm3 two files" 2 ec sm3 a b
t "sign unknown option" 2 ec sm2 sign --key 00 --pub 11
t "encrypt unknown option" 2 ec sm2 encrypt --frob x
t "keygen takes no argument" 2 ec sm2 keygen extra
t "option needs a value" 2 ec sm2 encrypt --pub
t "option given twice" 2 ec sm2 sign --raw --raw --key 01
t "flag takes no value" 2 ec sm2 sign --raw=1 --key 01
t "single-dash option" 2 ec sm2 sign -x

# ===========================================================================
# sm3 (GB/T 32905 "abc": 66c7f0f4…8f4ba8e0)
ABC=66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0
printf abc >"$T/abc"
IN=$T/abc t "sm3 abc stdin" 0 ec sm3 && out_is "sm3 abc stdin" "$ABC"
t "sm3 abc file" 0 ec sm3 "$T/abc" && out_is "sm3 abc file" "$ABC"
IN=$T/abc t "sm3 abc '-'" 0 ec sm3 - && out_is "sm3 abc '-'" "$ABC"
IN=$T/abc t "sm3 abc after --" 0 ec sm3 -- "$T/abc" && out_is "sm3 abc after --" "$ABC"
: >"$T/empty"
t "sm3 empty" 0 ec sm3 "$T/empty" && out_is "sm3 empty" 1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b
t "sm3 missing file" 2 ec sm3 "$T/no-such-file" && err_has "sm3 missing file" "no-such-file"
t "sm3 directory" 2 ec sm3 "$T"
# every vector of sm3.json that is a plain digest (no HMAC)
node -e '
    const fs = require("fs");
    const v = require(process.argv[1]);
    for (const [i, x] of v.vectors.entries()) {
        if (x.algorithm || x.digest == null || x.input_hex == null) continue;
        fs.writeFileSync(process.argv[2] + "/sm3-" + i, Buffer.from(x.input_hex, "hex"));
        console.log(i + " " + x.digest + " " + x.id);
    }' "$V3" "$T" >"$T/sm3list"
n3=0
while read -r i digest id; do
    t "sm3 vector $id" 0 ec sm3 "$T/sm3-$i" && out_is "sm3 vector $id" "$digest"
    n3=$((n3 + 1))
done <"$T/sm3list"
[ "$n3" -ge 5 ] && pass || fail "sm3.json: only $n3 vectors found"

# ===========================================================================
# keygen
t "keygen" 0 ec sm2 keygen && cp "$T/out" "$T/k1.json"
if node -e '
    const k = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const keys = Object.keys(k).join(",");
    if (keys !== "privateKey,publicKey") throw new Error("keys " + keys);
    if (!/^[0-9a-f]{64}$/.test(k.privateKey)) throw new Error("privateKey " + k.privateKey);
    if (!/^04[0-9a-f]{128}$/.test(k.publicKey)) throw new Error("publicKey");' "$T/k1.json"; then
    pass
else
    fail "keygen JSON shape"
fi
if [ "$(wc -l <"$T/k1.json")" -eq 1 ] && [ "$(tail -c 1 "$T/k1.json" | od -An -c | tr -d ' ')" = '\n' ]; then pass; else
    fail "keygen: one line ending in a newline"
fi
t "keygen again" 0 ec sm2 keygen && cp "$T/out" "$T/k2.json"
cmp -s "$T/k1.json" "$T/k2.json" && fail "keygen twice gave the same key" || pass
# the shape is checked above; the values are taken with a bash regex
jfield() {
    [[ $(cat "$1") =~ \"$2\":\"([0-9a-f]+)\" ]] && printf '%s' "${BASH_REMATCH[1]}"
}
D1=$(jfield "$T/k1.json" privateKey)
P1=$(jfield "$T/k1.json" publicKey)
D2=$(jfield "$T/k2.json" privateKey)
P2=$(jfield "$T/k2.json" publicKey)
[ ${#D1} -eq 64 ] && [ ${#P2} -eq 130 ] && pass || fail "keygen values not extracted"
printf '%s\n' "$D1" >"$T/d1.hex"
chmod 600 "$T/d1.hex"

# ===========================================================================
# encrypt / decrypt round trips, every --format
printf 'hello, 长三角电子证照\n' >"$T/msg"
head -c 1000 /dev/urandom >"$T/bin"
mlen=$(wc -c <"$T/msg")
for fmt in hex hex04 base64 der; do
    t "encrypt --format $fmt" 0 ec sm2 encrypt --pub "$P1" --format "$fmt" "$T/msg" || continue
    cp "$T/out" "$T/ct.$fmt"
    ct=$(cat "$T/ct.$fmt")
    case $fmt in
        hex) want_len=$((2 * (64 + 32 + mlen))); re='[0-9a-f]+' ;;
        hex04) want_len=$((2 * (65 + 32 + mlen))); re='04[0-9a-f]+' ;;
        *) want_len=0; re='[A-Za-z0-9+/]+=*' ;;
    esac
    out_matches "encrypt --format $fmt: shape" "$re"
    if [ "$want_len" -gt 0 ]; then
        [ "${#ct}" -eq "$want_len" ] && pass || fail "encrypt --format $fmt: length ${#ct}, want $want_len"
    fi
    case $fmt in
        base64) lead=04 ;;
        der) lead=30 ;;
        *) lead= ;;
    esac
    if [ -n "$lead" ]; then
        b64tobin "$ct" "$T/ct.$fmt.bin"
        [ "$(firstbyte "$T/ct.$fmt.bin")" = "$lead" ] && pass || fail "encrypt --format $fmt: decoded bytes do not start with $lead"
    fi
    t "decrypt $fmt (file)" 0 ec sm2 decrypt --key "$D1" "$T/ct.$fmt" && { cmp -s "$T/out" "$T/msg" && pass || fail "decrypt $fmt: plaintext differs"; }
    IN=$T/ct.$fmt t "decrypt $fmt (stdin, @keyfile)" 0 ec sm2 decrypt --key "@$T/d1.hex" && { cmp -s "$T/out" "$T/msg" && pass || fail "decrypt $fmt stdin: plaintext differs"; }
    t "decrypt $fmt with another key" 2 ec sm2 decrypt --key "$D2" "$T/ct.$fmt" && err_has "decrypt $fmt with another key" "decrypt"
done
t "encrypt default format is hex" 0 ec sm2 encrypt --pub "$P1" "$T/msg" && out_matches "encrypt default format is hex" "[0-9a-f]{$((2 * (96 + mlen)))}"
IN=$T/bin t "encrypt binary from stdin" 0 ec sm2 encrypt --pub "$P1" --format=base64 && cp "$T/out" "$T/ct.bin64"
t "decrypt binary plaintext exactly" 0 ec sm2 decrypt --key "$D1" "$T/ct.bin64" && { cmp -s "$T/out" "$T/bin" && pass || fail "binary round trip"; }
# decrypt takes hex of any case, whitespace around/inside text, raw binary
upper "$(cat "$T/ct.hex04")" >"$T/ct.upper"
t "decrypt uppercase hex" 0 ec sm2 decrypt --key "$D1" "$T/ct.upper" && { cmp -s "$T/out" "$T/msg" && pass || fail "uppercase hex"; }
{ printf '\n  \t'; fold -w 40 "$T/ct.base64"; printf '\r\n\n'; } >"$T/ct.wrapped"
t "decrypt wrapped base64 with surrounding whitespace" 0 ec sm2 decrypt --key "$D1" "$T/ct.wrapped" && { cmp -s "$T/out" "$T/msg" && pass || fail "wrapped base64"; }
t "decrypt raw binary ciphertext" 0 ec sm2 decrypt --key "$D1" "$T/ct.base64.bin" && { cmp -s "$T/out" "$T/msg" && pass || fail "raw binary ciphertext"; }
t "decrypt binary DER ciphertext" 0 ec sm2 decrypt --key "$D1" "$T/ct.der.bin" && { cmp -s "$T/out" "$T/msg" && pass || fail "binary DER ciphertext"; }
printf '%s' "$(cat "$T/ct.hex")" | base64 -w0 >"$T/ct.b64hex"
t "decrypt base64 of the hex text" 0 ec sm2 decrypt --key "$D1" "$T/ct.b64hex" && { cmp -s "$T/out" "$T/msg" && pass || fail "base64 of hex"; }

# empty plaintext: whatever the crypto layer decides, encrypt and decrypt agree
if ec sm2 encrypt --pub "$P1" "$T/empty" >"$T/ct.empty" 2>"$T/err"; then
    t "decrypt empty plaintext" 0 ec sm2 decrypt --key "$D1" "$T/ct.empty" && { [ ! -s "$T/out" ] && pass || fail "empty plaintext decrypts to bytes"; }
else
    [ "$(wc -l <"$T/err")" -eq 1 ] && pass || fail "encrypt empty: want one stderr line"
fi

# ===========================================================================
# key forms
printf '%s' "$D1" >"$T/d1.nonl"
t "key file without newline" 0 ec sm2 sign --key "@$T/d1.nonl" "$T/msg"
t "key file = keygen JSON (--key)" 0 ec sm2 sign --key "@$T/k1.json" "$T/msg" && cp "$T/out" "$T/sig.json"
t "key file = keygen JSON (--pub)" 0 ec sm2 verify --pub "@$T/k1.json" --sig "$(cat "$T/sig.json")" "$T/msg"
t "key with 00 sign byte (66 hex)" 0 ec sm2 sign --key "00$D1" "$T/msg"
t "uppercase private key" 0 ec sm2 sign --key "$(upper "$D1")" "$T/msg"
t "public key without 04 (128 hex)" 0 ec sm2 encrypt --pub "${P1:2}" "$T/msg" && cp "$T/out" "$T/ct.no04key"
t "... decrypts" 0 ec sm2 decrypt --key "$D1" "$T/ct.no04key" && { cmp -s "$T/out" "$T/msg" && pass || fail "128-hex public key"; }
IN=$T/d1.hex t "key from stdin (@-) with FILE" 0 ec sm2 sign --key @- "$T/msg"
IN=$T/d1.hex t "key from stdin (@-) without FILE" 2 ec sm2 sign --key @- && err_has "key @- without FILE" "stdin"
t "key file missing" 2 ec sm2 sign --key "@$T/nope" "$T/msg" && err_has "key file missing" "nope"
t "key '@' alone" 2 ec sm2 sign --key @ "$T/msg"
t "key file empty" 2 ec sm2 sign --key "@$T/empty" "$T/msg"
echo '{"publicKey":"04"}' >"$T/pubonly.json"
t "key JSON without privateKey" 2 ec sm2 sign --key "@$T/pubonly.json" "$T/msg" && err_has "key JSON without privateKey" "privateKey"
echo '{"privateKey":' >"$T/broken.json"
t "key file broken JSON" 2 ec sm2 sign --key "@$T/broken.json" "$T/msg" && err_has "broken JSON" "JSON"
if command -v openssl >/dev/null && openssl genpkey -algorithm SM2 -out "$T/sm2.pem" 2>/dev/null &&
    openssl pkey -in "$T/sm2.pem" -pubout -out "$T/sm2pub.pem" 2>/dev/null; then
    t "PEM private key file" 0 ec sm2 sign --key "@$T/sm2.pem" "$T/msg" && cp "$T/out" "$T/sig.pem"
    t "PEM public key file" 0 ec sm2 verify --pub "@$T/sm2pub.pem" --sig "$(cat "$T/sig.pem")" "$T/msg"
    t "PEM public key inline" 0 ec sm2 encrypt --pub "$(cat "$T/sm2pub.pem")" "$T/msg" && cp "$T/out" "$T/ct.pem"
    t "PEM round trip" 0 ec sm2 decrypt --key "@$T/sm2.pem" "$T/ct.pem" && { cmp -s "$T/out" "$T/msg" && pass || fail "PEM round trip"; }
else
    echo "note: openssl CLI unavailable or without SM2: PEM key tests skipped"
fi

# bad keys: exit 2, one line naming the option
ZERO64=0000000000000000000000000000000000000000000000000000000000000000
N_HEX=fffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123
t "private key not hex" 2 ec sm2 sign --key "zz${D1:2}" "$T/msg" && err_has "private key not hex" "--key"
t "private key 62 hex" 2 ec sm2 sign --key "${D1:2}" "$T/msg" && err_has "private key 62 hex" "--key"
t "private key 66 hex without 00" 2 ec sm2 sign --key "11$D1" "$T/msg"
t "private key zero" 2 ec sm2 sign --key "$ZERO64" "$T/msg"
t "private key = n" 2 ec sm2 sign --key "$N_HEX" "$T/msg"
t "private key empty" 2 ec sm2 sign --key "" "$T/msg"
t "public key as private key" 2 ec sm2 decrypt --key "$P1" "$T/ct.hex"
t "missing --key" 2 ec sm2 decrypt "$T/ct.hex" && err_has "missing --key" "--key"
t "missing --pub" 2 ec sm2 encrypt "$T/msg" && err_has "missing --pub" "--pub"
last=${P1:129:1}
[ "$last" = 0 ] && flip=1 || flip=0
OFFCURVE=${P1:0:129}$flip
t "public key not on the curve" 2 ec sm2 encrypt --pub "$OFFCURVE" "$T/msg" && err_has "public key not on the curve" "--pub.*curve"
t "public key not on the curve (verify)" 2 ec sm2 verify --pub "$OFFCURVE" --sig "$(cat "$T/sig.json")" "$T/msg"
t "public key wrong length" 2 ec sm2 encrypt --pub "${P1:0:120}" "$T/msg"
t "public key 05 prefix" 2 ec sm2 encrypt --pub "05${P1:2}" "$T/msg"
t "public key not hex" 2 ec sm2 encrypt --pub "04zz${P1:4}" "$T/msg"
t "unknown --format" 2 ec sm2 encrypt --pub "$P1" --format pem "$T/msg" && err_has "unknown --format" "format"

# ===========================================================================
# bad ciphertexts
ct=$(cat "$T/ct.hex")
printf '%s' "${ct:0:150}" >"$T/ct.trunc"
t "truncated ciphertext" 2 ec sm2 decrypt --key "$D1" "$T/ct.trunc" && err_has "truncated ciphertext" "decrypt"
printf '%s' "${ct:0:$((${#ct} - 2))}" >"$T/ct.short1"
t "ciphertext one byte short" 2 ec sm2 decrypt --key "$D1" "$T/ct.short1"
printf 'not a ciphertext at all!' >"$T/ct.junk"
t "junk ciphertext" 2 ec sm2 decrypt --key "$D1" "$T/ct.junk"
t "empty ciphertext" 2 ec sm2 decrypt --key "$D1" "$T/empty" && err_has "empty ciphertext" "empty"
printf ' \n\t\n' >"$T/ws"
t "whitespace-only ciphertext" 2 ec sm2 decrypt --key "$D1" "$T/ws"
t "decrypt missing file" 2 ec sm2 decrypt --key "$D1" "$T/no-such-ct" && err_has "decrypt missing file" "no-such-ct"

# ===========================================================================
# sign / verify
t "sign" 0 ec sm2 sign --key "$D1" "$T/msg" && out_matches "sign: base64 DER" "ME[A-Za-z0-9+/]+=*" && cp "$T/out" "$T/sig.b64"
SIG=$(cat "$T/sig.b64")
t "verify" 0 ec sm2 verify --pub "$P1" --sig "$SIG" "$T/msg" && out_is "verify prints valid" valid
IN=$T/msg t "verify from stdin" 0 ec sm2 verify --pub "$P1" --sig "$SIG"
t "verify tampered message" 1 ec sm2 verify --pub "$P1" --sig "$SIG" "$T/abc" && out_is "verify tampered: prints invalid" invalid
t "verify with another key" 1 ec sm2 verify --pub "$P2" --sig "$SIG" "$T/msg"
t "sign --raw" 0 ec sm2 sign --key "$D1" --raw "$T/msg" && out_matches "sign --raw: 128 hex" "[0-9a-f]{128}"
RAW=$(cat "$T/out")
t "verify raw hex" 0 ec sm2 verify --pub "$P1" --sig "$RAW" "$T/msg"
t "verify raw hex, uppercase" 0 ec sm2 verify --pub "$P1" --sig "$(upper "$RAW")" "$T/msg"
t "verify raw, tampered" 1 ec sm2 verify --pub "$P1" --sig "$RAW" "$T/abc"
# bytes are signed exactly: no trimming of a trailing newline
printf 'abc\n' >"$T/abcnl"
t "sign abc" 0 ec sm2 sign --key "$D1" "$T/abc" && SABC=$(cat "$T/out")
t "signature of 'abc' fails for 'abc\\n'" 1 ec sm2 verify --pub "$P1" --sig "$SABC" "$T/abcnl"
t "sign empty message" 0 ec sm2 sign --key "$D1" "$T/empty" && SEMPTY=$(cat "$T/out")
t "verify empty message" 0 ec sm2 verify --pub "$P1" --sig "$SEMPTY" "$T/empty"
# user IDs
t "sign --id" 0 ec sm2 sign --key "$D1" --id "alice@example.cn" "$T/msg" && SID=$(cat "$T/out")
t "verify --id" 0 ec sm2 verify --pub "$P1" --sig "$SID" --id "alice@example.cn" "$T/msg"
t "verify --id, default ID" 1 ec sm2 verify --pub "$P1" --sig "$SID" "$T/msg"
t "verify --id, other ID" 1 ec sm2 verify --pub "$P1" --sig "$SID" --id "alice@example.com" "$T/msg"
t "verify default sig with explicit default --id" 0 ec sm2 verify --pub "$P1" --sig "$SIG" --id 1234567812345678 "$T/msg"
t "sign --raw --id 中文" 0 ec sm2 sign --key "$D1" --raw --id "用户甲" "$T/msg" && SIDR=$(cat "$T/out")
t "verify --id 中文 raw" 0 ec sm2 verify --pub "$P1" --sig "$SIDR" --id "用户甲" "$T/msg"
t "sign empty --id" 0 ec sm2 sign --key "$D1" --id "" "$T/msg" && SEID=$(cat "$T/out")
t "verify empty --id" 0 ec sm2 verify --pub "$P1" --sig "$SEID" --id "" "$T/msg"
t "verify empty-ID sig with default ID" 1 ec sm2 verify --pub "$P1" --sig "$SEID" "$T/msg"
LONGID=$(head -c 8192 /dev/zero | tr '\0' a)
t "--id over 8191 bytes" 2 ec sm2 sign --key "$D1" --id "$LONGID" "$T/msg" && err_has "--id too long" "--id"
# signature files: text (wrapped), binary DER, binary r||s
printf '%s\n' "$SIG" | fold -w 16 >"$T/sig.txt"
t "verify --sig @text file" 0 ec sm2 verify --pub "$P1" --sig "@$T/sig.txt" "$T/msg"
b64tobin "$SIG" "$T/sig.der"
t "verify --sig @binary DER" 0 ec sm2 verify --pub "$P1" --sig "@$T/sig.der" "$T/msg"
printf '%b' "$(printf '%s' "$RAW" | sed 's/../\\x&/g')" >"$T/sig.raw"
[ "$(wc -c <"$T/sig.raw")" -eq 64 ] && pass || fail "raw signature file: $(wc -c <"$T/sig.raw") bytes"
t "verify --sig @binary r||s" 0 ec sm2 verify --pub "$P1" --sig "@$T/sig.raw" "$T/msg"
t "verify --sig @missing" 2 ec sm2 verify --pub "$P1" --sig "@$T/nope" "$T/msg"
IN=$T/sig.txt t "verify --sig @- with FILE" 0 ec sm2 verify --pub "$P1" --sig @- "$T/msg"
IN=$T/d1.hex t "verify @- twice" 2 ec sm2 verify --pub @- --sig @- "$T/msg"
# malformed signatures: input errors (2), not verdicts
t "malformed sig text" 2 ec sm2 verify --pub "$P1" --sig "not a signature!" "$T/msg" && err_has "malformed sig" "--sig"
t "malformed sig: short hex" 2 ec sm2 verify --pub "$P1" --sig "${RAW:0:100}" "$T/msg"
t "malformed sig: odd hex" 2 ec sm2 verify --pub "$P1" --sig "${RAW}0" "$T/msg"
t "malformed sig: empty" 2 ec sm2 verify --pub "$P1" --sig "" "$T/msg"
t "malformed sig: base64 of junk" 2 ec sm2 verify --pub "$P1" --sig "aGVsbG8gd29ybGQ=" "$T/msg"
t "missing --sig" 2 ec sm2 verify --pub "$P1" "$T/msg" && err_has "missing --sig" "--sig"
t "missing --pub (verify)" 2 ec sm2 verify --sig "$SIG" "$T/msg" && err_has "missing --pub (verify)" "--pub"
t "missing --key (sign)" 2 ec sm2 sign "$T/msg" && err_has "missing --key (sign)" "--key"
t "sign missing file" 2 ec sm2 sign --key "$D1" "$T/no-such-msg" && err_has "sign missing file" "no-such-msg"
t "verify missing file" 2 ec sm2 verify --pub "$P1" --sig "$SIG" "$T/no-such-msg"

# ===========================================================================
# GB/T 32918.5 Annex A signature and neighbours
A=gbt32918.5-annexA-sign
AD=$(vec $A private_key)
AP=$(vec $A public_key)
AM=$(vec $A message_ascii)
ADER=$(vec $A signature_der)
ARAW=$(vec $A signature_raw_rs)
printf '%s' "$AM" >"$T/annexA.msg"
ADERB64=$(vec $A signature_der.b64)
ARAWB64=$(vec $A signature_raw_rs.b64)
t "Annex A: DER base64" 0 ec sm2 verify --pub "$AP" --sig "$ADERB64" "$T/annexA.msg"
t "Annex A: DER hex" 0 ec sm2 verify --pub "$AP" --sig "$ADER" "$T/annexA.msg"
t "Annex A: raw hex" 0 ec sm2 verify --pub "$AP" --sig "$ARAW" "$T/annexA.msg"
t "Annex A: raw base64" 0 ec sm2 verify --pub "$AP" --sig "$ARAWB64" "$T/annexA.msg"
t "Annex A: explicit default --id" 0 ec sm2 verify --pub "$AP" --sig "$ADER" --id "$(vec $A user_id_ascii)" "$T/annexA.msg"
# lenient DER (SPEC §3.1): r and s without their 00 sign bytes ("negative")
NEG=30440220${ADER:10:64}0220${ADER:80:64}
t "Annex A: DER with negative INTEGERs" 0 ec sm2 verify --pub "$AP" --sig "$NEG" "$T/annexA.msg"
t "Annex A: public key without 04" 0 ec sm2 verify --pub "${AP:2}" --sig "$ADER" "$T/annexA.msg"
t "Annex A: private key derives the public key" 0 ec sm2 sign --key "$AD" "$T/annexA.msg" && S=$(cat "$T/out")
t "Annex A: own signature verifies" 0 ec sm2 verify --pub "$AP" --sig "$S" "$T/annexA.msg"
W=gbt32918.5-annexA-wrong-uid
printf '%s' "$(vec $W message_ascii)" >"$T/wuid.msg"
t "Annex A: wrong user ID" 1 ec sm2 verify --pub "$(vec $W public_key)" --sig "$(vec $W signature_der)" \
    --id "$(vec $W user_id_ascii)" "$T/wuid.msg"
M=gbt32918.5-annexA-tampered-msg
printf '%s' "$(vec $M message_ascii)" >"$T/tmsg.msg"
t "Annex A: tampered message" 1 ec sm2 verify --pub "$(vec $M public_key)" --sig "$(vec $M signature_raw_rs)" "$T/tmsg.msg"
E=emmansun-example-verify
printf '%s' "$(vec $E message_ascii)" >"$T/em.msg"
EDER=$(vec $E signature_der)
t "gmsm example DER" 0 ec sm2 verify --pub "$(vec $E public_key)" --sig "$EDER" "$T/em.msg"
# non-minimal DER: r (top bit clear) with a superfluous 00
NONMIN=3045022100${EDER:8}
t "gmsm example, non-minimal DER INTEGER" 0 ec sm2 verify --pub "$(vec $E public_key)" --sig "$NONMIN" "$T/em.msg"

# ===========================================================================
# GB/T 32918.5 Annex C ciphertext in every listed encoding (+ gmsm DER example)
for C in gbt32918.5-annexC-encrypt emmansun-example-decrypt-der; do
    CD=$(vec $C private_key)
    vec $C plaintext_ascii >"$T/pt"
    for field in C1C3C2_hex C1C3C2_no04_hex C1C3C2_base64 GMT0009_DER_C1C3C2_hex GMT0009_DER_C1C3C2_base64 \
        C1C2C3_hex C1C2C3_no04_hex C1C2C3_base64; do
        t "$C: $field" 0 ec sm2 decrypt --key "$CD" "$(vecfile $C $field)" && { cmp -s "$T/out" "$T/pt" && pass || fail "$C $field: wrong plaintext"; }
    done
    # the same with a trailing newline (as `echo` writes it), uppercase, and binary
    { vec $C C1C3C2_hex; echo; } >"$T/cv"
    IN=$T/cv t "$C: hex with newline, stdin" 0 ec sm2 decrypt --key "$CD" && { cmp -s "$T/out" "$T/pt" && pass || fail "$C newline"; }
    upper "$(vec $C C1C3C2_no04_hex)" >"$T/cv"
    t "$C: uppercase no04 hex" 0 ec sm2 decrypt --key "$CD" "$T/cv" && { cmp -s "$T/out" "$T/pt" && pass || fail "$C uppercase"; }
    t "$C: binary DER" 0 ec sm2 decrypt --key "$CD" "$(vecfile $C GMT0009_DER_C1C3C2_hex.bin)" && { cmp -s "$T/out" "$T/pt" && pass || fail "$C binary DER"; }
done
AK=$(vec gbt32918.5-annexC-encrypt private_key)
for C in gbt32918.5-annexC-tampered-C3 gbt32918.5-annexC-tampered-C2; do
    vec $C C1C3C2_hex >"$T/cv"
    t "$C fails" 2 ec sm2 decrypt --key "$AK" "$T/cv" && err_has "$C fails" "decrypt"
done
# the "wrong order" vector is a legacy C1||C2||C3 ciphertext: the CLI accepts it
vec gbt32918.5-annexC-wrong-order C1C3C2_hex >"$T/cv"
vec gbt32918.5-annexC-encrypt plaintext_ascii >"$T/pt"
t "legacy order detected" 0 ec sm2 decrypt --key "$AK" "$T/cv" && { cmp -s "$T/out" "$T/pt" && pass || fail "legacy order plaintext"; }
# Annex C ciphertext under another key
t "Annex C with another key" 2 ec sm2 decrypt --key "$D1" "$T/cv"

# ===========================================================================
# size caps: 64 MiB for decrypt/sign/verify, the plaintext limit for encrypt;
# sm3 streams and has none
CAP=$((64 * 1024 * 1024))
head -c $((CAP + 1)) /dev/zero >"$T/huge"
t "decrypt input over the cap" 2 ec sm2 decrypt --key "$D1" "$T/huge" && err_has "decrypt over cap" "limit"
t "sign input over the cap" 2 ec sm2 sign --key "$D1" "$T/huge" && err_has "sign over cap" "limit"
IN=$T/huge t "verify stdin over the cap" 2 ec sm2 verify --pub "$P1" --sig "$SIG" && err_has "verify over cap" "limit"
t "encrypt input over the plaintext limit" 2 ec sm2 encrypt --pub "$P1" "$T/huge" && err_has "encrypt over limit" "limit"
truncate -s "$CAP" "$T/huge" 2>/dev/null || head -c "$CAP" /dev/zero >"$T/huge"
t "sign exactly 64 MiB" 0 ec sm2 sign --key "$D1" "$T/huge" && SBIG=$(cat "$T/out")
t "verify exactly 64 MiB" 0 ec sm2 verify --pub "$P1" --sig "$SBIG" "$T/huge"
head -c $((CAP + 4096)) /dev/zero >"$T/huge"
want=$(node -e 'const h = require("crypto").createHash("sm3"); h.update(require("fs").readFileSync(process.argv[1])); process.stdout.write(h.digest("hex"))' "$T/huge" 2>/dev/null)
t "sm3 streams past the cap" 0 ec sm3 "$T/huge" && {
    if [ -n "$want" ]; then out_is "sm3 of 64 MiB + 4 KiB" "$want"; else out_matches "sm3 of 64 MiB + 4 KiB" "[0-9a-f]{64}"; fi
}
rm -f "$T/huge"

# ===========================================================================
# output errors are reported, not swallowed
if [ -w /dev/full ]; then
    "$BIN" sm3 "$T/abc" >/dev/full 2>"$T/err"
    rc=$?
    [ "$rc" -eq 2 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && pass || fail "sm3 >/dev/full: exit $rc"
    "$BIN" sm2 decrypt --key "$D1" "$T/ct.hex" >/dev/full 2>"$T/err"
    rc=$?
    [ "$rc" -eq 2 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && pass || fail "decrypt >/dev/full: exit $rc"
fi

# ===========================================================================
# ecert bench crypto: both engines, every operation, wall and CPU time
t "bench crypto --json" 0 ec bench crypto --engine both --seconds 0.3 --json && {
    if node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const ops = ["sign","verify","encrypt_512B","decrypt_512B","verify_cold","encrypt_cold"];
if (r.results.length !== 12) throw new Error("want 12 results, got " + r.results.length);
for (const x of r.results) {
  if (!ops.includes(x.op) || !["openssl","fast"].includes(x.engine)) throw new Error("bad row " + JSON.stringify(x));
  if (!(x.ops_per_s > 0 && x.us_per_op > 0 && x.cpu_us_per_op > 0)) throw new Error("no rate " + JSON.stringify(x));
  // one thread: it cannot use more CPU time than the time that passed
  if (x.cpu_us_per_op > x.us_per_op * 1.01 + 1) throw new Error("CPU above wall " + JSON.stringify(x));
}
for (const k of ["ratio_fast_over_openssl", "cpu_ratio_fast_over_openssl"])
  for (const o of ops) if (!(r[k][o] > 0)) throw new Error(k + " lacks " + o);
' "$T/out" 2>"$T/why"; then pass; else fail "bench crypto --json: $(head -c 300 "$T/why")"; fi
}
t "bench crypto text" 0 ec bench crypto --engine fast --seconds 0.1 && {
    if grep -Eq '^decrypt_512B +[0-9]+ +[0-9.]+ +[0-9.]+$' "$T/out"; then pass; else
        fail "bench crypto text: no decrypt_512B row with rate, us/op and cpu us: $(head -c 300 "$T/out")"
    fi
}
t "bench crypto bad engine" 2 ec bench crypto --engine gmssl
t "bench crypto 0 seconds" 2 ec bench crypto --seconds 0
t "bench crypto too long" 2 ec bench crypto --seconds 601

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
