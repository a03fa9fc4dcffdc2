#!/usr/bin/env bash
# Propagation of boundary edits to every replica, at benchmark scale: three gridmap processes serve one PostGIS
# database holding the generated 100,000-micro-grid city (A and B listen for notifications, C only polls the
# data version, as on a read replica). Each edit moves one micro-grid from its grid to a neighbouring grid of
# the same community (both grids reshaped, the micro-grid re-parented), either committed as a plan through A's
# API or written directly in SQL as QGIS does; the delay is from the acknowledgement (A's 200, or the SQL
# COMMIT) to the moment each replica's /v1/locate answers the new grid at a point of the moved micro-grid.
# The baseline, in the same run: the same SQL edits with the change log made unusable (changes_from moved past
# every snapshot), so that each replica reloads the whole city as gridmap did before the log.
#
#   bash bench/propagation.sh                                     # 100,000 micro-grids, 10 edits per kind
#   PROPAGATION_MICRO_GRIDS=10000 PROPAGATION_EDITS=4 bash bench/propagation.sh   # a quick smoke run
#
# Writes PROPAGATION_RESULTS (default target/bench-propagation/propagation.md); run alone, it also replaces the
# "## Propagation" section of bench/RESULTS.md (bench/run.sh appends it instead).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
micro="${PROPAGATION_MICRO_GRIDS:-100000}"
edits="${PROPAGATION_EDITS:-10}"
work="$repo/target/bench-propagation"
results="${PROPAGATION_RESULTS:-$work/propagation.md}"
port=18180
mkdir -p "$work"

# shellcheck source=../tests/pg-cluster.sh
source "$repo/tests/pg-cluster.sh"
pg_cluster_install python3 curl

say "building gridmap (release)"
cargo build --release -p gridmap-server >/dev/null
bin="$repo/target/release/gridmap"

pg_cluster_start "$work/pg" 54410
trap 'kill $(jobs -p) 2>/dev/null || true; pg_cluster_stop' EXIT
psql_admin -c "CREATE DATABASE propagation" >/dev/null
db_url="${PG_CLUSTER_URL%/*}/propagation"

say "generating the $micro-micro-grid city into PostGIS"
GRIDMAP_LOG_FORMAT=text "$bin" generate --database-url "$db_url" --micro-grids "$micro" 2>"$work/generate.log"
"$pg_bin/psql" -X -q "$db_url" -c "VACUUM ANALYZE"

serve() { # name port listen
    GRIDMAP_LOG=info,sqlx=warn,tower_http=warn "$bin" serve --database-url "$db_url" --listen "127.0.0.1:$2" \
        --sample-city never --watch-listen "$3" 2>"$work/serve-$1.log" &
}
serve a "$port" true
serve b "$((port + 1))" true
serve c "$((port + 2))" false
for p in "$port" "$((port + 1))" "$((port + 2))"; do
    for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$p/health" >/dev/null && break; sleep 0.5; done
    curl -sf "http://127.0.0.1:$p/health" >/dev/null || { cat "$work"/serve-*.log; exit 1; }
done

say "measuring: $edits edits per kind"
python3 "$repo/bench/propagation.py" --database-url "$db_url" --psql "$pg_bin/psql" --edits "$edits" \
    --a "http://127.0.0.1:$port" --b "http://127.0.0.1:$((port + 1))" --c "http://127.0.0.1:$((port + 2))" \
    --logs "$work" --micro-grids "$micro" --out "$results"

if [ -z "${PROPAGATION_RESULTS:-}" ]; then
    python3 - "$repo/bench/RESULTS.md" "$results" <<'PY'
import re, sys
path, section = sys.argv[1], open(sys.argv[2]).read().strip() + "\n"
text = open(path).read()
start = text.find("## Propagation")
if start < 0:
    text = text.rstrip("\n") + "\n\n" + section
else:
    nxt = text.find("\n## ", start + 1)
    text = text[:start] + section + ("" if nxt < 0 else "\n" + text[nxt + 1:])
open(path, "w").write(text)
PY
    say "updated bench/RESULTS.md"
fi
cat "$results"
