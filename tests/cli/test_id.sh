#!/usr/bin/env bash
# test_id.sh — the `ecert id` contract (SPEC §8): exit 0 valid with one line
# on stdout, 1 invalid with one line on stderr, 2 usage error.
set -u
: "${ECERT_BIN:?ECERT_BIN must point to the built ecert}"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

# run WANT_RC STDOUT_REGEX STDERR_REGEX ARGS...   ('' = must be empty)
run() {
    local want=$1 out_re=$2 err_re=$3
    shift 3
    "$ECERT_BIN" "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$? ok=1
    [ "$rc" -eq "$want" ] || ok=0
    if [ -z "$out_re" ]; then
        [ -s "$tmp/out" ] && ok=0
    else
        grep -Eq -- "$out_re" "$tmp/out" || ok=0
    fi
    if [ -z "$err_re" ]; then
        [ -s "$tmp/err" ] && ok=0
    else
        # one clear line
        [ "$(wc -l <"$tmp/err")" -eq 1 ] || ok=0
        grep -Eq -- "$err_re" "$tmp/err" || ok=0
    fi
    if [ "$ok" -eq 1 ]; then
        echo "ok   ecert $*"
    else
        echo "FAIL ecert $* (rc $rc, want $want)"
        sed 's/^/     stdout: /' "$tmp/out"
        sed 's/^/     stderr: /' "$tmp/err"
        failures=$((failures + 1))
    fi
}

ID1=1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F
ID2=1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U
ID3=1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0

# valid: exactly one line on stdout
run 0 '^valid certificate identifier \(issuer region 220000\)$' '' id check "$ID1"
run 0 '^valid certificate identifier \(issuer region 430000\)$' '' id check "$ID2"
run 0 '^valid certificate identifier \(issuer region 330105, province 330000\)$' '' id check "$ID3"
run 0 '^valid 公民身份号码 \(111\)$' '' id check 11010519491231002X
run 0 '^valid 统一社会信用代码 \(001\)$' '' id check 11220000013544541J
run 0 '^valid 统一社会信用代码 \(001\)$' '' id check 91320115MA202UKD7X
run 0 'valid' '' id check -- "$ID1"

# invalid: exit 1, one line on stderr with the reason
run 1 '' "check character is 'J', expected 'F'" id check "${ID1%F}J"
run 1 '' 'issuer code' id check "${ID1/13544541J/13544542J}"
run 1 '' 'lowercase' id check "${ID1/W032/w032}"
run 1 '' "extra '\\.'" id check "$ID1."
run 1 '' 'parts after the root' id check "${ID1/.001./.001}"
run 1 '' 'does not start with the root' id check "x$ID1"
run 1 '' "lowercase 'x'" id check 11010519491231002x
run 1 '' "check character is '0', expected 'X'" id check 110105194912310020
run 1 '' '29 February of a non-leap year' id check 310104199902291230
run 1 '' "check character is 'A', expected '7'" id check 91310000MA1FL8LQ4A
run 1 '' '5 characters' id check hello
run 1 '' 'empty' id check ''
run 1 '' '1003' id check "$(printf 'A%.0s' $(seq 1 200))"

# usage errors: exit 2
run 2 '' 'missing IDENTIFIER' id check
run 2 '' "unexpected argument" id check "$ID1" extra
run 2 '' "unknown option '--strict'" id check --strict "$ID1"
run 2 '' 'missing subcommand' id
run 2 '' "unknown subcommand 'verify'" id verify "$ID1"

# help: usage on stdout, exit 0
run 0 '^usage: ecert id check IDENTIFIER' '' id --help
run 0 '^usage: ecert id check IDENTIFIER' '' id check --help
run 0 '^usage: ecert id check IDENTIFIER' '' id -h

# generate: what it prints is valid
for kind in cert 111 001; do
    v=$("$ECERT_BIN" id generate "$kind") || { echo "FAIL generate $kind"; failures=$((failures + 1)); continue; }
    run 0 '^valid' '' id check "$v"
done
v=$("$ECERT_BIN" id generate cert --region 320583 --serial-length 32)
run 0 'issuer region 320583, province 320000' '' id check "$v"
v=$("$ECERT_BIN" id generate 111 --region 340104 --birth 20000229)
case "$v" in 34010420000229*) run 0 '公民身份号码' '' id check "$v" ;;
    *) echo "FAIL generate 111 --birth: $v"; failures=$((failures + 1)) ;; esac
run 2 '' 'serial-length must be 1-32' id generate cert --serial-length 0
run 2 '' "unknown kind" id generate 002
run 2 '' 'birth month 13' id generate 111 --birth 19901301

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "all ecert id tests passed"
