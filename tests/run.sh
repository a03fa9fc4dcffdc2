#!/usr/bin/env bash
# The one test command (README, CI): on a fresh Debian machine it installs what is missing
# (PostgreSQL 15 + PostGIS 3, GDAL's ogrinfo, Chromium and a CJK font for the browser test, Node.js and npm for
# ESLint), starts a throwaway PostgreSQL cluster under
# target/pg listening on 127.0.0.1 only, then runs rustfmt, clippy, ESLint on web/, the vendored files' sums
# and every test of the workspace on both stores. The cluster is stopped on exit, failure included. Re-running wipes
# the old cluster. Exit status: non-zero if any step failed (all steps run regardless).
#
# Checks a test skips (a shared dataset, PostGIS, GDAL or Chromium absent) are counted: the last line
# says how many and why, or `nothing skipped`. Under CI=true a skip fails the run.
#
#   bash tests/run.sh                                   # everything (CI runs exactly this)
#   bash tests/run.sh --workspace --test plans          # the same set-up, then only `cargo test ARGS`
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
# shellcheck source=pg-cluster.sh
source "$repo/tests/pg-cluster.sh"
# shellcheck source=skipped.sh
source "$repo/tests/skipped.sh"

# Node.js from wherever it came (Debian's nodejs + npm, or NodeSource's nodejs, which carries npm).
node_packages=()
command -v node >/dev/null && command -v npm >/dev/null || node_packages=(nodejs npm)
pg_cluster_install chromium fonts-noto-cjk "${node_packages[@]}"
pg_cluster_start "$repo/target/pg" 54329
trap pg_cluster_stop EXIT
export GRIDMAP_TEST_DATABASE_URL="$PG_CLUSTER_URL"

# --- checks --------------------------------------------------------------------------------
# Each skipped check appends `test<TAB>reason<TAB>detail` here (tests/src/skip.rs).
export GRIDMAP_SKIP_LOG="$repo/target/skipped-checks.tsv"
mkdir -p "$repo/target"
: >"$GRIDMAP_SKIP_LOG"

# ESLint, pinned exactly in web/package-lock.json, installed into web/node_modules (ignored by git) by `npm ci`
# only when that lock changed since the last install; then offline.
eslint_web() {
    local stamp="$repo/web/node_modules/.gridmap-lock.sha256" want
    want="$(sha256sum <"$repo/web/package-lock.json")"
    if [ ! -x "$repo/web/node_modules/.bin/eslint" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        (cd "$repo/web" && npm ci --prefer-offline --no-audit --no-fund --ignore-scripts --loglevel=error) || return 1
        printf '%s\n' "$want" >"$stamp"
    fi
    (cd "$repo/web" && node_modules/.bin/eslint --max-warnings 0 .)
}

# The vendored files are npm's, unchanged: each web/vendor/*/VERSION.md lists the sha256 of every file beside it
# (its one ``` block), and nothing else may be there.
vendor_sums() {
    local dir sums f status=0 fence='```'
    for dir in "$repo"/web/vendor/*/; do
        sums="$(sed -n "/^$fence\$/,/^$fence\$/{/^$fence\$/d;p;}" "$dir/VERSION.md")"
        (cd "$dir" && sha256sum --check --strict --quiet <<<"$sums") || status=1
        for f in "$dir"*; do
            f="${f##*/}"
            [ "$f" = VERSION.md ] || awk -v f="$f" '$2 == f { found = 1 } END { exit !found }' <<<"$sums" || {
                echo "web/vendor/${dir#"$repo"/web/vendor/}$f: not listed in VERSION.md"
                status=1
            }
        done
    done
    return "$status"
}

failed=()
step() {
    local name="$1"
    shift
    say "$name: $*"
    if ! "$@"; then failed+=("$name"); fi
}
if [ "$#" -gt 0 ]; then
    step test cargo test "$@"
    verdict="green (cargo test $* only; fmt and clippy not run)"
else
    step fmt cargo fmt --all -- --check
    step clippy cargo clippy --workspace --all-targets -- -D warnings
    step eslint eslint_web
    step vendor vendor_sums
    step test cargo test --workspace --no-fail-fast
    verdict="all green (fmt, clippy, eslint, vendor sums, tests on GeoPackage and PostGIS)"
fi

skipped="$(skip_summary "$GRIDMAP_SKIP_LOG")"
if [ -s "$GRIDMAP_SKIP_LOG" ]; then
    say "skipped checks (test: reason, detail)"
    skip_details "$GRIDMAP_SKIP_LOG"
    # The tests fail themselves under CI; this catches a skip that did not.
    case "${CI:-}" in true | 1) failed+=(skips) ;; esac
fi
if [ "${#failed[@]}" -gt 0 ]; then
    say "FAILED: ${failed[*]}; $skipped"
    exit 1
fi
say "$verdict; $skipped"
