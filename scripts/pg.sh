#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests and benchmarks: its own cluster in a
# temporary directory, reachable only through a Unix socket of its own (no TCP
# port, so parallel runs never clash), trust authentication for the cluster's
# superuser "ecert", and a database "ecert".
#
#   scripts/pg.sh start STATE     initdb (first time) and start; prints the DSN
#   scripts/pg.sh fresh STATE     destroy what STATE had, then start a new one
#   scripts/pg.sh stop STATE      fast shutdown, data kept (start again later)
#   scripts/pg.sh kill STATE      immediate shutdown (a crash), data kept
#   scripts/pg.sh destroy STATE   stop if running and remove everything
#   scripts/pg.sh dsn STATE       prints the DSN (libpq key=value form)
#   scripts/pg.sh status STATE    exit 0 when the server accepts connections
#
# STATE is a directory of ours (created when missing) holding "dsn" and
# "cluster", the path of the cluster's temporary directory (data/, sock/,
# log). The cluster lives under ${TMPDIR:-/tmp} because a socket path must
# stay under ~100 bytes and the server's user must be able to reach it.
#
# initdb refuses to run as root: as root the server runs as the "postgres"
# user (installed with the server packages) or, without it, as "nobody".
# Extra server settings: PG_OPTS="-c shared_buffers=1GB ..." at start.
set -euo pipefail

usage() {
  sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

[ $# -eq 2 ] || usage
cmd=$1
state=$2

bindir() {
  local d=""
  if command -v pg_config >/dev/null 2>&1; then
    d=$(pg_config --bindir 2>/dev/null || true)
  fi
  if [ -z "$d" ] || [ ! -x "$d/initdb" ]; then
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  fi
  if [ -z "$d" ] || [ ! -x "$d/initdb" ]; then
    d=$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")
  fi
  if [ ! -x "$d/initdb" ]; then
    echo "pg.sh: no PostgreSQL server binaries (initdb) found; run scripts/install-deps.sh" >&2
    exit 2
  fi
  echo "$d"
}

# Runs a server binary as the cluster's owner.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    local user=postgres
    id postgres >/dev/null 2>&1 || user=nobody
    runuser -u "$user" -- "$@"
  else
    "$@"
  fi
}

owner() {
  if [ "$(id -u)" -eq 0 ]; then
    if id postgres >/dev/null 2>&1; then echo postgres; else echo nobody; fi
  else
    id -un
  fi
}

cluster_dir() {
  [ -f "$state/cluster" ] && cat "$state/cluster"
}

running() {
  local c
  c=$(cluster_dir) || return 1
  [ -n "$c" ] && [ -f "$c/data/postmaster.pid" ] &&
    as_owner "$BIN/pg_ctl" -D "$c/data" status >/dev/null 2>&1
}

BIN=$(bindir)

if [ "$cmd" = fresh ]; then
  "$0" destroy "$state"
  cmd=start
fi

case "$cmd" in
start)
  mkdir -p "$state"
  c=$(cluster_dir || true)
  if [ -z "$c" ] || [ ! -d "$c/data" ]; then
    c=$(mktemp -d "${TMPDIR:-/tmp}/ecert-pg.XXXXXX")
    chmod 755 "$c"
    mkdir -p "$c/data" "$c/sock"
    chown "$(owner)" "$c/data" "$c/sock" "$c"
    # -A trust: a throwaway cluster on a private socket; --no-sync: its data
    # is never worth an fsync at creation.
    as_owner "$BIN/initdb" -D "$c/data" -U ecert -A trust -E UTF8 --locale=C.UTF-8 \
      --no-sync >"$c/initdb.log" 2>&1 || {
      cat "$c/initdb.log" >&2
      exit 1
    }
    echo "$c" >"$state/cluster"
    fresh=1
  else
    fresh=0
  fi
  if ! running; then
    # Unix socket only; enough connections for parallel e2e federations.
    as_owner "$BIN/pg_ctl" -D "$c/data" -l "$c/log" -w -t 60 \
      -o "-c listen_addresses='' -c unix_socket_directories='$c/sock' -c port=5432 \
          -c max_connections=300 ${PG_OPTS:-}" start >/dev/null || {
      tail -n 20 "$c/log" >&2
      exit 1
    }
  fi
  if [ "$fresh" -eq 1 ]; then
    "$BIN/psql" -X -q -h "$c/sock" -p 5432 -U ecert -d postgres \
      -c 'CREATE DATABASE ecert' >/dev/null
  fi
  echo "host=$c/sock port=5432 user=ecert dbname=ecert" >"$state/dsn"
  cat "$state/dsn"
  ;;
stop | kill)
  c=$(cluster_dir || true)
  if [ -n "$c" ] && running; then
    mode=fast
    [ "$cmd" = kill ] && mode=immediate
    as_owner "$BIN/pg_ctl" -D "$c/data" -m "$mode" -w -t 60 stop >/dev/null
  fi
  ;;
destroy)
  c=$(cluster_dir || true)
  if [ -n "$c" ]; then
    if running; then
      as_owner "$BIN/pg_ctl" -D "$c/data" -m immediate -w -t 60 stop >/dev/null || true
    fi
    case "$c" in
    */ecert-pg.*) rm -rf "$c" ;;
    esac
  fi
  rm -f "$state/cluster" "$state/dsn"
  rmdir "$state" 2>/dev/null || true
  ;;
dsn)
  cat "$state/dsn"
  ;;
status)
  c=$(cluster_dir) || exit 1
  "$BIN/pg_isready" -q -h "$c/sock" -p 5432
  ;;
*)
  usage
  ;;
esac
