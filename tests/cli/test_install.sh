#!/usr/bin/env bash
# `make install PREFIX=DIR` gives a working installation: bin/ecert runs,
# the header and pkg-config file let a program build against libecert, and the
# shared library exports the public API and nothing else.
set -u
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix="$tmp/prefix"

if cmake --install "$ECERT_BUILD_DIR" --prefix "$prefix" >"$tmp/install.log" 2>&1; then ok; else
  bad "cmake --install failed: $(tail -3 "$tmp/install.log")"; echo "$pass passed, $fail failed"; exit 1
fi

libdir="$prefix/lib"
[ -d "$libdir" ] || libdir=$(dirname "$(find "$prefix" -name 'libecert.so' | head -1)")
for f in bin/ecert bin/ecertd include/ecert/ecert.h; do
  [ -e "$prefix/$f" ] && ok || bad "missing $f"
done
for f in libecert.a libecert.so pkgconfig/ecert.pc; do
  [ -e "$libdir/$f" ] && ok || bad "missing lib/$f"
done

# The installed CLI works on its own.
digest=$(printf abc | "$prefix/bin/ecert" sm3)
[ "$digest" = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0" ] && ok || bad "installed ecert sm3: '$digest'"

# Only ecert_* symbols leave the shared library.
extra=$(nm -D --defined-only "$libdir/libecert.so" | awk '$2 ~ /[TDBR]/ {print $3}' | grep -v '^ecert_' | grep -v '^_' || true)
[ -z "$extra" ] && ok || bad "libecert.so exports non-API symbols: $(echo $extra | head -c 300)"
nm -D --defined-only "$libdir/libecert.so" | grep -q ' T ecert_sm2_encrypt$' && ok || bad "ecert_sm2_encrypt not exported"

# A program builds against the installed header and pkg-config file.
cat >"$tmp/client.c" <<'C'
#include <ecert/ecert.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
    ecert_key *k = NULL;
    if (ecert_key_generate(&k) != ECERT_OK) return 1;
    char *ct = NULL; size_t n = 0;
    if (ecert_sm2_encrypt(k, "hi", 2, ECERT_CIPHER_HEX, &ct, &n) != ECERT_OK) return 2;
    unsigned char *pt = NULL; size_t pl = 0;
    if (ecert_sm2_decrypt(k, ct, n, &pt, &pl) != ECERT_OK || pl != 2 || memcmp(pt, "hi", 2)) return 3;
    ecert_free(ct); ecert_free(pt); ecert_key_free(k);
    puts("client ok");
    return 0;
}
C
export PKG_CONFIG_PATH="$libdir/pkgconfig"
cc=${ECERT_CC:-cc}
# shellcheck disable=SC2046
if $cc ${ECERT_SAN_FLAGS:-} -o "$tmp/client" "$tmp/client.c" $(pkg-config --cflags --libs ecert) 2>"$tmp/cc.log"; then
  ok
  out=$(LD_LIBRARY_PATH="$libdir" ASAN_OPTIONS=detect_leaks=0 "$tmp/client" 2>&1)
  [ "$out" = "client ok" ] && ok || bad "client program: $out"
else
  bad "client program does not build: $(head -5 "$tmp/cc.log")"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
