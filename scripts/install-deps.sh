#!/usr/bin/env bash
# Installs what ecert needs to build and test, only when it is missing; safe to
# run any number of times. Debian 12 packages (DESIGN §2) through apt, and the
# npm modules of the interop tests through npm ci (versions pinned in
# tests/interop/package-lock.json).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake pkg-config clang libclang-rt-14-dev
  libssl-dev libjansson-dev libcmocka-dev
  libmicrohttpd-dev libcurl4-openssl-dev libsqlite3-dev libpq-dev postgresql
  libzip-dev libxml2-dev libqrencode-dev libzbar-dev libinih-dev
  sqlite3 nodejs npm poppler-utils
)

missing=()
for p in "${packages[@]}"; do
  # nodejs/npm may come from outside Debian (the machine's own Node): accept the command.
  case "$p" in
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
  esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm test modules: only when the lock file changed or the tree is missing.
if [ -f tests/interop/package-lock.json ]; then
  stamp=tests/interop/node_modules/.ecert-lock
  if ! cmp -s tests/interop/package-lock.json "$stamp" 2>/dev/null; then
    echo "install-deps: npm ci in tests/interop"
    (cd tests/interop && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    cp tests/interop/package-lock.json "$stamp"
  fi
fi
