#!/usr/bin/env bash
# The one test command (README, CI): on a fresh Debian machine it installs what is missing
# (PostgreSQL 15 + PostGIS 3, GDAL's ogrinfo, Chromium and a CJK font for the browser test), starts a throwaway PostgreSQL cluster under
# target/pg listening on 127.0.0.1 only, then runs rustfmt, clippy and every test of the
# workspace on both stores. The cluster is stopped on exit, failure included. Re-running wipes
# the old cluster. Exit status: non-zero if any step failed (all steps run regardless).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
# shellcheck source=pg-cluster.sh
source "$repo/tests/pg-cluster.sh"

pg_cluster_install chromium fonts-noto-cjk
pg_cluster_start "$repo/target/pg" 54329
trap pg_cluster_stop EXIT
export GRIDMAP_TEST_DATABASE_URL="$PG_CLUSTER_URL"

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
step test cargo test --workspace --no-fail-fast

if [ "${#failed[@]}" -gt 0 ]; then
    say "FAILED: ${failed[*]}"
    exit 1
fi
say "all green (fmt, clippy, tests on GeoPackage and PostGIS)"
