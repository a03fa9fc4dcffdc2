#!/usr/bin/env bash
# The one test command (README, CI): on a fresh Debian machine it installs what is missing
# (PostgreSQL 15 + PostGIS 3, GDAL's ogrinfo, Chromium and CJK fonts for the browser test),
# starts a throwaway PostgreSQL cluster under target/pg listening on 127.0.0.1 only, then runs
# rustfmt, clippy and every test of the workspace on both stores. The cluster is stopped on exit,
# failure included. Re-running wipes the old cluster. Exit status: non-zero if any step failed
# (all steps run regardless).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
pg_bin=/usr/lib/postgresql/15/bin
pg_root="$repo/target/pg"
pg_user=postgres

say() { printf '\n==> %s\n' "$*"; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# --- packages ------------------------------------------------------------------------------
missing=()
[ -x "$pg_bin/initdb" ] || missing+=(postgresql-15)
[ -f /usr/share/postgresql/15/extension/postgis.control ] || missing+=(postgresql-15-postgis-3)
command -v ogrinfo >/dev/null || missing+=(gdal-bin)
# The browser test (tests/tests/browser.rs) drives headless Chromium; CJK fonts make its screenshots readable.
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || missing+=(fonts-noto-cjk)
if [ "${#missing[@]}" -gt 0 ]; then
    say "installing ${missing[*]}"
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

# --- throwaway cluster ---------------------------------------------------------------------
# PostgreSQL refuses to run as root: as root we run it as `postgres` (created if missing);
# otherwise as ourselves.
if [ "$(id -u)" -eq 0 ]; then
    id "$pg_user" >/dev/null 2>&1 || useradd --system --user-group --no-create-home "$pg_user"
    as_pg() { runuser -u "$pg_user" -- "$@"; }
else
    pg_user="$(id -un)"
    as_pg() { "$@"; }
fi

stop_cluster() {
    if [ -f "$pg_root/data/postmaster.pid" ]; then
        as_pg "$pg_bin/pg_ctl" -D "$pg_root/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
}

# A cluster left by an interrupted run: stop it, then start afresh.
stop_cluster
rm -rf "$pg_root"
mkdir -p "$pg_root/socket"
[ "$(id -u)" -ne 0 ] || chown -R "$pg_user:" "$pg_root"

# The first free port from 54329 up (bash's /dev/tcp: nothing else to install).
port=54329
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    port=$((port + 1))
done

say "starting PostgreSQL 15 in $pg_root on 127.0.0.1:$port"
as_pg "$pg_bin/initdb" -D "$pg_root/data" -U postgres --auth=trust -E UTF8 --no-locale >"$pg_root/initdb.log"
trap stop_cluster EXIT
# Durability is pointless for a throwaway cluster; skipping fsync makes CREATE DATABASE cheap.
as_pg "$pg_bin/pg_ctl" -D "$pg_root/data" -l "$pg_root/server.log" -w -o "\
    -c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$pg_root/socket \
    -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" start >/dev/null

export GRIDMAP_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"

# --- checks --------------------------------------------------------------------------------
failed=()
step() {
    local name="$1"
    shift
    say "$name: $*"
    if ! "$@"; then failed+=("$name"); fi
}
step fmt cargo fmt --all -- --check
step clippy cargo clippy --workspace --all-targets -- -D warnings
step test cargo test --workspace

if [ "${#failed[@]}" -gt 0 ]; then
    say "FAILED: ${failed[*]}"
    exit 1
fi
say "all green (fmt, clippy, tests on GeoPackage and PostGIS)"
