#!/usr/bin/env bash
# Side-by-side benchmarks: gridmap against PostGIS on the same generated city, in one run.
# Writes bench/RESULTS.md. Loopback only; every load is bounded in time.
#
#   bash bench/run.sh                         # 100,000 micro-grids, 10 s per load
#   BENCH_MICRO_GRIDS=10000 BENCH_SECONDS=5 BENCH_SKIP_CRITERION=1 bash bench/run.sh   # a quick smoke run
#   BENCH_SKIP_APPENDED=1 BENCH_RESULTS=/tmp/r.md bash bench/run.sh   # lookups, batch, tiles, Martin only, elsewhere
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
micro="${BENCH_MICRO_GRIDS:-100000}"
secs="${BENCH_SECONDS:-10}"
conns="${BENCH_CONNECTIONS:-16}"
batch_points="${BENCH_BATCH_POINTS:-1000000}"
work="$repo/target/bench"
results="${BENCH_RESULTS:-$repo/bench/RESULTS.md}"
port=18080
mkdir -p "$work"

# shellcheck source=../tests/pg-cluster.sh
source "$repo/tests/pg-cluster.sh"
pg_cluster_install wrk bc curl

# Martin, the baseline tile server (the newest release needs a newer rustc; this one builds in ~17 minutes).
martin_root="$work/tools"
martin="$martin_root/bin/martin"
if [ ! -x "$martin" ] && command -v martin >/dev/null; then martin="$(command -v martin)"; fi
if [ ! -x "$martin" ]; then
    say "installing martin 1.14.0 into $martin_root (once; ~17 minutes)"
    cargo install martin@1.14.0 --locked --no-default-features \
        --features postgres,mbtiles,pmtiles,geojson,metrics,webui --root "$martin_root"
fi

say "building gridmap (release)"
cargo build --release -p gridmap-server >/dev/null
bin="$repo/target/release/gridmap"

pg_cluster_start "$work/pg" 54400
trap 'kill $(jobs -p) 2>/dev/null || true; pg_cluster_stop' EXIT
psql_admin -c "CREATE DATABASE bench" >/dev/null
db_url="${PG_CLUSTER_URL%/*}/bench"
psql_bench() { "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 "$db_url" "$@"; }

say "generating and loading the $micro-micro-grid city into PostGIS"
load_started=$(date +%s.%N)
GRIDMAP_LOG_FORMAT=text "$bin" generate --database-url "$db_url" --micro-grids "$micro" 2>"$work/generate.log"
load_s=$(echo "$(date +%s.%N) - $load_started" | bc)
psql_bench -c "VACUUM ANALYZE"
read -r areas coords <<<"$(psql_bench -At -F ' ' -c "SELECT count(*), sum(ST_NPoints(geom)) FROM areas WHERE valid_to IS NULL")"
read -r x0 y0 x1 y1 <<<"$(psql_bench -At -F ' ' -c "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM areas WHERE level = 'district') s")"

say "starting gridmap on the same database"
GRIDMAP_LOG=warn "$bin" serve --database-url "$db_url" --listen "127.0.0.1:$port" --sample-city never 2>"$work/serve.log" &
server_pid=$!
for _ in $(seq 1 600); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
    sleep 0.5
done
curl -sf "http://127.0.0.1:$port/health" >/dev/null || { cat "$work/serve.log"; exit 1; }
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status")

# Random points in the city's bounding box, the same stream for both sides (seeded).
cat >"$work/locate.lua" <<LUA
math.randomseed(411104)
request = function()
  local lon = $x0 + math.random() * ($x1 - $x0)
  local lat = $y0 + math.random() * ($y1 - $y0)
  return wrk.format("GET", string.format("/v1/locate?lon=%.7f&lat=%.7f", lon, lat))
end
LUA
cat >"$work/locate.sql" <<SQL
\set lon $x0 + random(0, 1000000) * ($x1 - $x0) / 1000000.0
\set lat $y0 + random(0, 1000000) * ($y1 - $y0) / 1000000.0
SELECT level, code FROM areas WHERE valid_to IS NULL AND ST_Covers(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326));
SQL

ratio() { echo "scale=2; $1 / $2" | bc; }
pass() { if [ "$(echo "$1" | bc)" -eq 1 ]; then echo "yes"; else echo "**no**"; fi; }
wrk_rps() { awk '/Requests\/sec/ {print $2}' "$1"; }
wrk_p99() { awk '/ 99%/ {print $2}' "$1"; }

say "HTTP: /health ceiling, then /v1/locate, then PostGIS (pgbench), interleaved twice"
for round in 1 2; do
    wrk -t2 -c"$conns" -d"${secs}s" --latency "http://127.0.0.1:$port/health" >"$work/health.$round.txt"
    wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$work/locate.lua" "http://127.0.0.1:$port" >"$work/locate.$round.txt"
    "$pg_bin/pgbench" -n -M prepared -c "$conns" -j 2 -T "$secs" -f "$work/locate.sql" "$db_url" >"$work/pgbench.$round.txt" 2>&1
done
best() { printf '%s\n' "$@" | sort -g | tail -1; }
health_rps=$(best "$(wrk_rps "$work/health.1.txt")" "$(wrk_rps "$work/health.2.txt")")
locate_rps=$(best "$(wrk_rps "$work/locate.1.txt")" "$(wrk_rps "$work/locate.2.txt")")
locate_p99=$(wrk_p99 "$work/locate.1.txt")
pg_tps=$(best "$(awk '/^tps/ {print $3}' "$work/pgbench.1.txt")" "$(awk '/^tps/ {print $3}' "$work/pgbench.2.txt")")

say "batch: $batch_points points, gridmap (POST /v1/locate, 100,000 a request, 2 at a time) vs one SQL join"
psql_bench <<SQL
SELECT setseed(0.411104);
DROP TABLE IF EXISTS bench_points;
CREATE TABLE bench_points AS
  SELECT i AS id, ST_SetSRID(ST_MakePoint($x0 + random() * ($x1 - $x0), $y0 + random() * ($y1 - $y0)), 4326) AS geom
  FROM generate_series(1, $batch_points) i;
ANALYZE bench_points;
SQL
rm -f "$work"/batch.*.json
psql_bench -At -c "SELECT ST_X(geom) || ',' || ST_Y(geom) FROM bench_points ORDER BY id" |
    awk -v dir="$work" 'BEGIN { n = 0 }
        { if (n % 100000 == 0) { if (n) { printf "]}" > f; close(f) } f = sprintf("%s/batch.%03d.json", dir, n / 100000); printf "{\"points\":[" > f; sep = "" }
          printf "%s[%s]", sep, $0 > f; sep = ","; n++ }
        END { printf "]}" > f; close(f) }'
batch_started=$(date +%s.%N)
ls "$work"/batch.*.json | xargs -P 2 -I{} curl -sf -o /dev/null -w '%{time_total} s %{size_upload} B up %{size_download} B down\n' \
    -H 'content-type: application/json' --data-binary @{} "http://127.0.0.1:$port/v1/locate" >"$work/batch_requests.txt"
batch_s=$(echo "$(date +%s.%N) - $batch_started" | bc)
join_sql="SELECT count(*) FROM (SELECT p.id, a.level, a.code FROM bench_points p JOIN areas a ON ST_Covers(a.geom, p.geom) WHERE a.valid_to IS NULL) s"
join_ms() {
    psql_bench -c "SET max_parallel_workers_per_gather = $1" -c '\timing on' -c "$join_sql" | awk '/^Time:/ {print $2}'
}
join_serial_ms=$(join_ms 0)
join_parallel_ms=$(join_ms 2)
join_best_ms=$(printf '%s\n%s\n' "$join_serial_ms" "$join_parallel_ms" | sort -g | head -1)

say "vector tiles: gridmap composite tiles (cache off = cold, cache on = warm) vs PostGIS ST_AsMVT per tile"
# The same tile list for every side: all tiles of the district's bbox at z10 and z12, and 256 of z14 and z16.
python3 - "$x0" "$y0" "$x1" "$y1" >"$work/tiles.txt" <<'PY'
import math, random, sys
x0, y0, x1, y1 = map(float, sys.argv[1:])
def tile(lon, lat, z):
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2 * n)
    return x, y
random.seed(411104)
for z in (10, 12, 14, 16):
    (xa, yb), (xb, ya) = tile(x0, y0, z), tile(x1, y1, z)
    tiles = [(z, x, y) for x in range(xa, xb + 1) for y in range(ya, yb + 1)]
    for t in (tiles if len(tiles) <= 256 else random.sample(tiles, 256)):
        print(*t)
PY
psql_bench -c "DROP TABLE IF EXISTS bench_tiles; CREATE TABLE bench_tiles (id serial PRIMARY KEY, z int, x int, y int)"
psql_bench -c "\copy bench_tiles (z, x, y) FROM '$work/tiles.txt' WITH (DELIMITER ' ')"
cold_port=$((port + 1))
GRIDMAP_LOG=warn "$bin" serve --database-url "$db_url" --listen "127.0.0.1:$cold_port" --sample-city never --tile-cache-mb 0 2>"$work/serve-cold.log" &
cold_pid=$!
for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$cold_port/health" >/dev/null && break; sleep 0.5; done
tile_rows=()
for z in 10 12 14 16; do
    awk -v z="$z" '$1 == z { printf "/tiles/%s/%s/%s.mvt\n", $1, $2, $3 }' "$work/tiles.txt" >"$work/tiles.$z.paths"
    n=$(wc -l <"$work/tiles.$z.paths")
    cat >"$work/tiles.$z.lua" <<LUA
paths = {}
for line in io.lines("$work/tiles.$z.paths") do paths[#paths + 1] = line end
i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
LUA
    ids=$(psql_bench -At -c "SELECT min(id) || ' ' || max(id) FROM bench_tiles WHERE z = $z")
    cat >"$work/tiles.$z.sql" <<SQL
\set i random(${ids% *}, ${ids#* })
SELECT length(ST_AsMVT(q, 'areas', 4096, 'geom')) FROM (
  SELECT a.code, a.name, a.level, a.kind, a.parent_code,
         ST_AsMVTGeom(ST_Transform(a.geom, 3857), ST_TileEnvelope(t.z, t.x, t.y), 4096, 64, true) AS geom
  FROM bench_tiles t JOIN areas a ON a.valid_to IS NULL AND a.geom && ST_Transform(ST_TileEnvelope(t.z, t.x, t.y, margin => 64.0 / 4096), 4326)
  WHERE t.id = :i) q;
SQL
    wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$work/tiles.$z.lua" "http://127.0.0.1:$cold_port" >"$work/tiles-cold.$z.txt"
    wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$work/tiles.$z.lua" "http://127.0.0.1:$port" >"$work/tiles-warm.$z.txt"
    PGOPTIONS="-c max_parallel_workers_per_gather=0" "$pg_bin/pgbench" -n -M prepared -c "$conns" -j 2 -T "$secs" \
        -f "$work/tiles.$z.sql" "$db_url" >"$work/tiles-pg.$z.txt" 2>&1
    bytes=$(while read -r path; do curl -s -o /dev/null -w '%{size_download}\n' "http://127.0.0.1:$port$path"; done <"$work/tiles.$z.paths" | awk '{ s += $1 } END { printf "%.0f", s / NR }')
    cold=$(wrk_rps "$work/tiles-cold.$z.txt"); warm=$(wrk_rps "$work/tiles-warm.$z.txt")
    pg=$(awk '/^tps/ {print $3}' "$work/tiles-pg.$z.txt")
    pg_lat=$(awk '/latency average/ {print $4 " " $5}' "$work/tiles-pg.$z.txt")
    tile_rows+=("| z$z ($n tiles) | $cold | $(awk '/ 50%/ {print $2}' "$work/tiles-cold.$z.txt") / $(wrk_p99 "$work/tiles-cold.$z.txt") | $warm | $(awk '/ 50%/ {print $2}' "$work/tiles-warm.$z.txt") / $(wrk_p99 "$work/tiles-warm.$z.txt") | $pg (mean $pg_lat) | $bytes | **$(ratio "$cold" "$pg")x** / **$(ratio "$warm" "$pg")x** |")
done

say "per layer: gridmap vs Martin (cache off and on) on the same rows"
# Martin publishes these views of the current rows; gridmap serves the same rows as its own layers.
psql_bench <<SQL
CREATE OR REPLACE VIEW bench_grids AS SELECT fid, code, name, kind, parent_code, geom FROM areas
  WHERE valid_to IS NULL AND level = 'grid' AND kind IN ('residential', 'commercial', 'road', 'village');
CREATE OR REPLACE VIEW bench_micro_grids AS SELECT fid, code, name, parent_code, geom FROM areas
  WHERE valid_to IS NULL AND level = 'micro_grid';
SQL
martin_cold_port=$((port + 2)); martin_warm_port=$((port + 3))
"$martin" --listen-addresses "127.0.0.1:$martin_cold_port" --cache-size 0 "$db_url" >"$work/martin-cold.log" 2>&1 &
martin_cold_pid=$!
"$martin" --listen-addresses "127.0.0.1:$martin_warm_port" --cache-size 1024 "$db_url" >"$work/martin-warm.log" 2>&1 &
martin_warm_pid=$!
for p in "$martin_cold_port" "$martin_warm_port"; do
    for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$p/catalog" >/dev/null && break; sleep 0.5; done
    curl -sf "http://127.0.0.1:$p/bench_micro_grids" >/dev/null || { cat "$work"/martin-*.log; exit 1; }
done
martin_version=$("$martin" --version | awk '{print $2}')
# One wrk run over a list of paths; prints "tiles/s median p99".
wrk_paths() { # base paths_file out
    cat >"$3.lua" <<LUA
paths = {}
for line in io.lines("$2") do paths[#paths + 1] = line end
i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
LUA
    wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$3.lua" "$1" >"$3"
    echo "$(wrk_rps "$3") $(awk '/ 50%/ {print $2}' "$3") $(wrk_p99 "$3")"
}
mean_bytes() { # base paths_file
    while read -r path; do curl -s -o /dev/null -w '%{size_download}\n' "$1$path"; done <"$2" | awk '{ s += $1 } END { printf "%.0f", s / NR }'
}
layer_rows=()
for spec in "grids bench_grids 10" "grids bench_grids 12" "grids bench_grids 14" "grids bench_grids 16" \
    "micro_grids bench_micro_grids 16"; do
    read -r layer view z <<<"$spec"
    awk -v z="$z" -v l="$layer" '$1 == z { printf "/tiles/%s/%s/%s/%s.mvt\n", l, $1, $2, $3 }' "$work/tiles.txt" >"$work/layer.$layer.$z.paths"
    awk -v z="$z" -v v="$view" '$1 == z { printf "/%s/%s/%s/%s\n", v, $1, $2, $3 }' "$work/tiles.txt" >"$work/martin.$layer.$z.paths"
    n=$(wc -l <"$work/layer.$layer.$z.paths")
    features=$(psql_bench -At -c "SELECT count(*) FROM $view")
    read -r g_cold g_cold_med g_cold_p99 <<<"$(wrk_paths "http://127.0.0.1:$cold_port" "$work/layer.$layer.$z.paths" "$work/layer-cold.$layer.$z.txt")"
    read -r m_cold m_cold_med m_cold_p99 <<<"$(wrk_paths "http://127.0.0.1:$martin_cold_port" "$work/martin.$layer.$z.paths" "$work/martin-cold.$layer.$z.txt")"
    read -r g_warm g_warm_med g_warm_p99 <<<"$(wrk_paths "http://127.0.0.1:$port" "$work/layer.$layer.$z.paths" "$work/layer-warm.$layer.$z.txt")"
    read -r m_warm m_warm_med m_warm_p99 <<<"$(wrk_paths "http://127.0.0.1:$martin_warm_port" "$work/martin.$layer.$z.paths" "$work/martin-warm.$layer.$z.txt")"
    g_bytes=$(mean_bytes "http://127.0.0.1:$port" "$work/layer.$layer.$z.paths")
    m_bytes=$(mean_bytes "http://127.0.0.1:$martin_warm_port" "$work/martin.$layer.$z.paths")
    layer_rows+=("| $layer ($features features) z$z, $n tiles | $g_cold ($g_cold_med / $g_cold_p99) | $m_cold ($m_cold_med / $m_cold_p99) | **$(ratio "$g_cold" "$m_cold")x** (≥ 5: $(pass "$g_cold / $m_cold >= 5")) | $g_warm ($g_warm_med / $g_warm_p99) | $m_warm ($m_warm_med / $m_warm_p99) | **$(ratio "$g_warm" "$m_warm")x** (≥ 1: $(pass "$g_warm / $m_warm >= 1")) | $g_bytes / $m_bytes |")
done
kill "$cold_pid" "$martin_cold_pid" "$martin_warm_pid" 2>/dev/null || true

say "in-process lookups (criterion)"
if [ -z "${BENCH_SKIP_CRITERION:-}" ]; then
    cargo bench -p gridmap-core --bench locate -- --noplot 2>/dev/null | tee "$work/criterion.txt" >/dev/null
    cargo bench -p gridmap-core --bench route -- --noplot 2>/dev/null | tee -a "$work/criterion.txt" >/dev/null
fi
# Middle estimate of a criterion throughput line, in elements per second.
criterion_rate() {
    awk -v id="$1" '
        index($0, id) == 1 { found = 1 }
        found && /thrpt:/ {
            sub(/.*thrpt: *\[/, ""); split($0, f, " ")
            v = f[3]; u = f[4]
            m = (u ~ /^G/) ? 1e9 : (u ~ /^M/) ? 1e6 : (u ~ /^K/) ? 1e3 : 1
            printf "%.0f\n", v * m; exit
        }' "$work/criterion.txt"
}
inproc_rate=$(criterion_rate "locate/100k_micro_grids")
inproc_batch_rate=$(criterion_rate "locate_batch/100k_micro_grids_1m_points")
route_rate=$(criterion_rate "route/100k_micro_grids")

batch_rate=$(echo "scale=0; $batch_points / $batch_s" | bc)
join_rate=$(echo "scale=0; $batch_points * 1000 / $join_best_ms" | bc)
coord_mb=$(echo "scale=1; $coords * 16 / 1048576" | bc)
rss_mb=$(echo "scale=1; $rss_kb / 1024" | bc)
mem_budget_mb=$(echo "scale=1; 3 * $coord_mb + 100" | bc)

cat >"$results" <<MD
# Benchmarks: gridmap vs PostGIS, side by side

Produced by \`bash bench/run.sh\` (BENCH_MICRO_GRIDS=$micro, BENCH_SECONDS=$secs, BENCH_CONNECTIONS=$conns) on
$(date -u +%Y-%m-%d), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo).
Both sides read the same PostGIS database on loopback: the city written by \`gridmap generate --micro-grids $micro\`
($areas current areas, $coords vertices; generated and loaded in ${load_s%.*} s). PostGIS $("$pg_bin/psql" -XAt "$db_url" -c "SELECT postgis_lib_version()"),
PostgreSQL 15; gridmap built with \`cargo build --release\`. Load generator: wrk (2 threads, $conns connections) for
HTTP, pgbench (\`-M prepared\`, $conns clients, 2 threads) for SQL, each run twice interleaved, best run kept.
The machine is shared and noisy: read the ratios, which were measured in the same run, more than the absolute figures.

## Single lookups

| what | rate | ratio |
|---|---|---|
| \`GET /health\` (the HTTP ceiling on this machine) | $health_rps req/s | |
| \`GET /v1/locate\`, random points, the whole chain + exclusive + staff | $locate_rps req/s (p99 $locate_p99) | **$(ratio "$locate_rps" "$health_rps")** of the /health ceiling (target ≥ 0.70: $(pass "$locate_rps / $health_rps >= 0.7")) |
| PostGIS: \`SELECT level, code FROM areas WHERE valid_to IS NULL AND ST_Covers(geom, point)\` (GiST, prepared) | $pg_tps queries/s | gridmap is **$(ratio "$locate_rps" "$pg_tps")x** PostGIS (target ≥ 5x: $(pass "$locate_rps / $pg_tps >= 5")) |

## Batch: $batch_points points

| what | time | rate | ratio |
|---|---|---|---|
| gridmap: \`POST /v1/locate\`, 100,000 points a request, 2 requests at a time (parse, locate, serialise) | ${batch_s} s | $batch_rate points/s | **$(ratio "$batch_rate" "$join_rate")x** the SQL join (target ≥ 100x: $(pass "$batch_rate / $join_rate >= 100")) |
| PostGIS: one join \`bench_points JOIN areas ON ST_Covers\` (best of serial ${join_serial_ms} ms and parallel ${join_parallel_ms} ms) | ${join_best_ms} ms | $join_rate points/s | |

## Vector tiles (composite tile, all layers) vs PostGIS \`ST_AsMVT(ST_AsMVTGeom(...))\`

Same tile list on every side. gridmap: \`GET /tiles/{z}/{x}/{y}.mvt\` (every layer valid at z, clipped,
simplified, with labels), cold = a second server with \`--tile-cache-mb 0\`, warm = the cache on. PostGIS: one
\`ST_AsMVT\` over every current area touching the tile (no simplification; serial plans, faster here per the
notes).

| zoom | gridmap cold tiles/s | cold median / p99 | gridmap warm tiles/s | warm median / p99 | PostGIS tiles/s | gridmap bytes/tile | cold / warm vs PostGIS |
|---|---|---|---|---|---|---|---|
$(printf '%s\n' "${tile_rows[@]}")

## Vector tiles per layer: gridmap vs Martin $martin_version

The same rows and the same tile list on both sides. Martin (\`--cache-size 0\` = cold, \`--cache-size 1024\` =
warm) auto-publishes two views of the current rows, \`bench_grids\` (ordinary grids) and \`bench_micro_grids\`;
gridmap serves the same rows as its \`grids\` and \`micro_grids\` layers (\`GET /tiles/{layer}/{z}/{x}/{y}.mvt\`,
cold = \`--tile-cache-mb 0\`). Micro-grids are compared at z16 only: gridmap serves them from z15 up by design
(below that one tile would hold tens of thousands of one-building polygons). Cells: tiles/s (median / p99).

| layer, zoom | gridmap cold | Martin cold | cold ratio | gridmap warm | Martin warm | warm ratio | bytes/tile gridmap / Martin |
|---|---|---|---|---|---|---|---|
$(printf '%s\n' "${layer_rows[@]}")

## In-process (criterion, \`cargo bench -p gridmap-core --bench locate\` and \`--bench route\`, one core)

| what | rate |
|---|---|
| \`AreaIndex::locate\`, random points, the whole chain (\`locate/100k_micro_grids\`) | $inproc_rate lookups/s (target ≥ 2,000,000: $(pass "$inproc_rate >= 2000000")) |
| \`AreaIndex::locate_batch\`, 1,000,000 random points (\`locate_batch/100k_micro_grids_1m_points\`) | $inproc_batch_rate lookups/s |
| \`routing::route\`: a report's responsible area (precedence table, boundary, nearest, 属地兜底) (\`route/100k_micro_grids\`) | $route_rate routings/s (target ≥ 100,000: $(pass "$route_rate >= 100000")) |

## Memory

| what | value |
|---|---|
| raw coordinate bytes (vertices × 16) | $coord_mb MiB |
| gridmap resident memory after loading (VmRSS) | $rss_mb MiB |
| budget: 3 × raw coordinates + 100 MB | $mem_budget_mb MiB (within: $(pass "$rss_mb <= $mem_budget_mb")) |

Raw outputs of this run are in \`target/bench/\` (wrk, pgbench, criterion).
MD
if [ -z "${BENCH_SKIP_APPENDED:-}" ]; then
    # Propagation of edits to replicas (issue 6): its own script and cluster, appended as a section.
    say "propagation: bench/propagation.sh"
    PROPAGATION_RESULTS="$work/propagation.md" PROPAGATION_MICRO_GRIDS="$micro" bash "$repo/bench/propagation.sh"
    { echo; cat "$work/propagation.md"; } >>"$results"
    # Patrol coverage (issue 5): its own script, the same PostgreSQL, appended as a section.
    say "patrol coverage: bench/coverage.sh"
    COVERAGE_RESULTS="$work/coverage.md" bash "$repo/bench/coverage.sh"
    { echo; cat "$work/coverage.md"; } >>"$results"
fi
say "wrote $results"
cat "$results"
