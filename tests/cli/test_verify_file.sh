#!/usr/bin/env bash
# test_verify_file.sh — the `ecert verify-file` contract (SPEC §7, §8): exit 0
# only when the verdict's result is 1, 1 for any negative verdict (with one
# line on stderr), 2 for usage and input errors; --json gives the verdict.
set -u
: "${ECERT_BIN:?ECERT_BIN must point to the built ecert}"
: "${ECERT_TEST_DATA:?ECERT_TEST_DATA must point to tests/data}"

C=$ECERT_TEST_DATA/corpus/ofd
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

# run WANT_RC STDOUT_REGEX STDERR_REGEX ARGS...   ('' = stderr must be empty)
run() {
    local want=$1 out_re=$2 err_re=$3
    shift 3
    "$ECERT_BIN" "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$? ok=1
    [ "$rc" -eq "$want" ] || ok=0
    [ -z "$out_re" ] || grep -Eq -- "$out_re" "$tmp/out" || ok=0
    if [ -z "$err_re" ]; then
        [ -s "$tmp/err" ] && ok=0
    else
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

V=$C/signed-valid
run 0 '^result: 1 \(verified\)$' '' verify-file "$V/ofdrw_999_KingGrid_v4.ofd"
run 0 '"result":1' '' verify-file --json "$V/ofdrw_signedFile_gomain_JS-tax_v4.ofd"
run 0 '"format":"GB/T 35275 SignedData"' '' verify-file "$V/ofdrw_testPathClip_e-licence_mining-permit_gbt35275_2sig.ofd" --json
run 0 'Signatures.xml changed' '' verify-file "$V/ofdrw_h_ofdrw-sign_2seals_sig1-covers-Signatures.xml.ofd"
# a bare SM2 signature: verifies only with its signer's certificate
run 1 'result: 0' 'not verified: invalid signature' verify-file "$V/ofdrw_DigitalSign_raw-sm2.ofd"
run 0 'result: 1' '' verify-file "$V/ofdrw_DigitalSign_raw-sm2.ofd" --cert "$C/ses/ofdrw_USER_cert.pem"
# trust: that certificate as the anchor; an anchor that issued nothing here
run 0 'chain: trusted' '' verify-file "$V/ofdrw_DigitalSign_raw-sm2.ofd" --cert "$C/ses/ofdrw_USER_cert.pem" --trust "$C/ses/ofdrw_USER_cert.pem"
run 1 '"trust":"untrusted"' 'not verified: untrusted' verify-file --json "$V/ofdrw_999_KingGrid_v4.ofd" --trust "$C/ses/ofdrw_USER_cert.pem"
# negative verdicts
run 1 'result: 0 \(tampered' 'not verified: tampered: signature 1: /Doc_0/Document.xml' verify-file "$C/signed-invalid/ofdrw_invoice-sample_TAMPERED.ofd"
run 1 '"reason":"unsigned"' 'not verified: unsigned' verify-file --json "$C/unsigned/ofdrw_helloworld_unsigned.ofd"
run 1 '"result":0' 'not verified: malformed' verify-file --json "$C/ses/ofdrw-gm_UserV4.esl"
head -c 100 "$V/ofdrw_999_KingGrid_v4.ofd" >"$tmp/trunc.ofd"
run 1 'result: 0' 'not verified: malformed' verify-file "$tmp/trunc.ofd" --format OFD
# usage and input errors
run 2 '' 'cannot open' verify-file "$tmp/missing.ofd"
run 2 '' 'one FILE only' verify-file a b
run 2 '' 'needs a value' verify-file "$V/ofdrw_999_KingGrid_v4.ofd" --trust
run 2 '' 'unknown option' verify-file --bogus x
run 2 '' '--trust' verify-file "$V/ofdrw_999_KingGrid_v4.ofd" --trust "$C/ses/ofdrw-gm_Signature.xml"
run 2 '' 'want OFD or PDF' verify-file "$V/ofdrw_999_KingGrid_v4.ofd" --format DOC
run 0 'usage: ecert verify-file' '' verify-file --help

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "all verify-file checks passed"
