"""Propagation driver for bench/propagation.sh: edits boundaries, times when each replica answers the new grid.

Each edit moves micro-grid M from grid G1 to a neighbouring grid G2 of the same community: G1 becomes
G1 - M, G2 becomes G2 + M, M's parent becomes G2 (PostGIS computes the geometries). The probe is a point on
M's surface: before the edit every replica answers G1 at the grid level, after it G2.
"""

import argparse
import http.client
import json
import re
import statistics
import subprocess
import threading
import time
import urllib.parse

CANDIDATES = """
WITH m AS (
    SELECT code, parent_code, geom FROM areas
    WHERE level = 'micro_grid' AND valid_to IS NULL ORDER BY md5(code) LIMIT 4000
)
SELECT DISTINCT ON (m.code) m.code, g1.code, g2.code,
       ST_X(ST_PointOnSurface(m.geom)), ST_Y(ST_PointOnSurface(m.geom))
FROM m
JOIN areas g1 ON g1.code = m.parent_code AND g1.valid_to IS NULL AND right(g1.code, 3) < '900'
JOIN areas g2 ON g2.parent_code = g1.parent_code AND g2.level = 'grid' AND g2.valid_to IS NULL
             AND g2.code <> g1.code AND right(g2.code, 3) < '900' AND g2.geom && m.geom
WHERE (SELECT count(*) FROM areas s WHERE s.parent_code = g1.code AND s.valid_to IS NULL) >= 3
  AND ST_Length(ST_Intersection(ST_Boundary(m.geom), ST_Boundary(g2.geom))) > 0
ORDER BY m.code
"""


def psql(args, sql):
    out = subprocess.run(
        [args.psql, "-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", args.database_url],
        input=sql, capture_output=True, text=True, check=True,
    )
    return [line.split("\t") for line in out.stdout.splitlines() if line]


def sql_edit(m, g1, g2, author, unusable_log=False):
    """One transaction, as QGIS would write it: close the three current rows, insert their next versions."""
    poison = ("UPDATE gridmap_data_version SET changes_from = 9223372036854775807 WHERE id;"
              if unusable_log else "")
    return f"""
BEGIN;
CREATE TEMP TABLE old ON COMMIT DROP AS
  SELECT * FROM areas WHERE code IN ('{m}', '{g1}', '{g2}') AND valid_to IS NULL;
UPDATE areas SET valid_to = now() WHERE code IN ('{m}', '{g1}', '{g2}') AND valid_to IS NULL;
INSERT INTO areas (code, name, level, kind, parent_code, version, valid_from, author, reason, geom)
SELECT o.code, o.name, o.level, o.kind,
       CASE WHEN o.code = '{m}' THEN '{g2}' ELSE o.parent_code END,
       o.version + 1, now(), '{author}', 'propagation benchmark',
       CASE o.code
         WHEN '{g1}' THEN ST_Multi(ST_Difference(o.geom, (SELECT geom FROM old WHERE code = '{m}')))
         WHEN '{g2}' THEN ST_Multi(ST_Union(o.geom, (SELECT geom FROM old WHERE code = '{m}')))
         ELSE o.geom END
FROM old o;
{poison}
COMMIT;
SELECT extract(epoch FROM clock_timestamp());
"""


def plan_body(args, m, g1, g2):
    rows = psql(args, f"""
SELECT ST_AsGeoJSON(ST_Multi(ST_Difference(g1.geom, m.geom)), 15),
       ST_AsGeoJSON(ST_Multi(ST_Union(g2.geom, m.geom)), 15)
FROM areas m, areas g1, areas g2
WHERE m.code = '{m}' AND g1.code = '{g1}' AND g2.code = '{g2}'
  AND m.valid_to IS NULL AND g1.valid_to IS NULL AND g2.valid_to IS NULL""")
    less, more = rows[0]
    return {
        "name": f"bench: {m} to {g2}", "author": "bench", "reason": "propagation benchmark",
        "edits": [
            {"op": "reshape", "code": g1, "geometry": json.loads(less)},
            {"op": "reshape", "code": g2, "geometry": json.loads(more)},
            {"op": "move_parent", "code": m, "new_parent": g2},
        ],
    }


def request(base, method, path, body=None):
    url = urllib.parse.urlparse(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
    data = None if body is None else json.dumps(body).encode()
    conn.request(method, path, body=data, headers={"content-type": "application/json"})
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    return response.status, json.loads(payload) if payload else None


def grid_at(conn, lon, lat):
    conn.request("GET", f"/v1/locate?lon={lon}&lat={lat}")
    answer = json.loads(conn.getresponse().read())
    return next((c["code"] for c in answer["chain"] if c["level"] == "grid"), None)


def watch(base, lon, lat, expected, started, out, key):
    """Polls one replica (a keep-alive connection, every 5 ms) until it answers `expected`."""
    url = urllib.parse.urlparse(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    deadline = time.time() + 60
    while time.time() < deadline:
        if grid_at(conn, lon, lat) == expected:
            out[key] = time.time() - started[0]
            return
        # A pause, so that the probe does not load the replica it measures (resolution: a few ms).
        time.sleep(0.005)
    out[key] = float("inf")


def one_edit(args, kind, candidate):
    m, g1, g2, lon, lat = candidate
    replicas = {"b": args.b, "c": args.c}
    for base in [args.a, *replicas.values()]:
        conn = http.client.HTTPConnection(urllib.parse.urlparse(base).hostname, urllib.parse.urlparse(base).port)
        assert grid_at(conn, lon, lat) == g1, f"{base} does not answer {g1} before the edit"
    out, started = {}, [0.0]
    if kind == "plan":
        status, plan = request(args.a, "POST", "/v1/plans", plan_body(args, m, g1, g2))
        assert status == 201, plan
        if not plan.get("valid"):
            kinds = [f["properties"]["kind"] for f in plan["problems"]["features"]]
            print(f"skipped {m} -> {g2}: the plan is not clean ({', '.join(kinds)})", flush=True)
            request(args.a, "POST", f"/v1/plans/{plan['id']}/abandon")
            return None
    threads = []
    event = threading.Event()

    def start_watchers():
        for key, base in replicas.items():
            t = threading.Thread(target=lambda b=base, k=key: (event.wait(), watch(b, lon, lat, g2, started, out, k)))
            t.start()
            threads.append(t)

    start_watchers()
    if kind == "plan":
        t0 = time.time()
        status, answer = request(args.a, "POST", f"/v1/plans/{plan['id']}/commit")
        started[0] = time.time()
        assert status == 200, answer
        out["commit"] = started[0] - t0
        # A itself answers at once (its commit reloads before it returns).
        conn = http.client.HTTPConnection(urllib.parse.urlparse(args.a).hostname, urllib.parse.urlparse(args.a).port)
        assert grid_at(conn, lon, lat) == g2
    else:
        rows = psql(args, sql_edit(m, g1, g2, "qgis", unusable_log=(kind == "full reload")))
        started[0] = float(rows[-1][0])
    event.set()
    for t in threads:
        t.join()
    if kind == "full reload":
        psql(args, "UPDATE gridmap_data_version SET changes_from = 0 WHERE id;")
        # Let every replica settle (the reset bumps nothing; the next edit starts from a loaded snapshot).
        time.sleep(1.0)
    return out


def applied_ms(logs, name):
    """In-process times of the replica's catch-ups, from its JSON log lines."""
    delta, full = [], []
    for line in open(f"{logs}/serve-{name}.log", encoding="utf-8"):
        if "elapsed_ms" not in line:
            continue
        record = json.loads(line)
        fields = record.get("fields", record)
        ms = fields.get("elapsed_ms")
        if "applied the store's changes" in fields.get("message", ""):
            delta.append(ms)
        elif "reloaded the whole city" in fields.get("message", ""):
            full.append(ms)
    return delta, full


def summary(values):
    values = sorted(values)
    if not values:
        return "n/a"
    fmt = lambda s: f"{s * 1000:.0f} ms"
    return f"{fmt(values[0])} / {fmt(statistics.median(values))} / {fmt(values[-1])}"


def main():
    parser = argparse.ArgumentParser()
    for name in ("database-url", "psql", "a", "b", "c", "logs", "out"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--edits", type=int, default=10)
    parser.add_argument("--micro-grids", type=int, default=100000)
    args = parser.parse_args()

    areas = int(psql(args, "SELECT count(*) FROM areas WHERE valid_to IS NULL")[0][0])
    candidates, used = [], set()
    for row in psql(args, CANDIDATES):
        m, g1, g2, lon, lat = row
        # Each edit on grids no other edit touches, so that every "before" is known.
        if used.isdisjoint({g1, g2}):
            candidates.append((m, g1, g2, float(lon), float(lat)))
            used |= {g1, g2}
    kinds = ["plan", "sql", "full reload"]
    need = args.edits * len(kinds)
    assert len(candidates) >= need, f"{len(candidates)} candidate edits, {need} needed"
    print(f"{len(candidates)} candidate edits", flush=True)
    results = {k: [] for k in kinds}
    skipped, i = 0, 0
    for kind in kinds * args.edits:
        while True:
            assert i < len(candidates), "ran out of candidate edits"
            out = one_edit(args, kind, candidates[i])
            i += 1
            if out is not None:
                break
            skipped += 1
        results[kind].append(out)
        time.sleep(0.2)

    rows = []
    for kind in kinds:
        for key, who in (("b", "B (LISTEN)"), ("c", "C (poll only, every 250 ms)")):
            delays = [r[key] for r in results[kind]]
            within = sum(d <= 1.0 for d in delays)
            rows.append(f"| {kind} | {who} | {summary(delays)} | {within} of {len(delays)} |")
    commits = [r["commit"] for r in results["plan"]]
    delta_b, full_b = applied_ms(args.logs, "b")
    delta_c, full_c = applied_ms(args.logs, "c")
    apply_delta = sorted(delta_b + delta_c)
    apply_full = sorted(full_b + full_c)
    med = lambda v: statistics.median(v) if v else float("nan")
    md = f"""## Propagation: edits reaching every replica (`bash bench/propagation.sh`)

Produced by `bash bench/propagation.sh` (PROPAGATION_MICRO_GRIDS={args.micro_grids}, PROPAGATION_EDITS={args.edits})
on {time.strftime('%Y-%m-%d')}: three `gridmap serve` processes on one PostGIS database holding the generated city
({areas} current areas). Each edit moves one micro-grid to the neighbouring grid of its community (two grids
reshaped, one micro-grid re-parented): `plan` is a plan committed through A's API (`POST /v1/plans`, then
`/commit`), `sql` the same kind of edit written directly in SQL as QGIS does (close the current rows, insert the
next versions), `full reload` the `sql` edit with the change log made unusable in the same transaction (the
baseline: what every replica did before `migrations/postgis/0007_change_log.sql`). Delay: from the
acknowledgement (A's 200, or the SQL `COMMIT`) until the replica's `/v1/locate` answers the new grid at a point of
the moved micro-grid (polled every 5 ms over a keep-alive connection). Target: within 1 s on every replica.

| edit | replica | delay min / median / max | within 1 s |
|---|---|---|---|
{chr(10).join(rows)}

- A's commit (validation, impact, the transaction, A's own catch-up): {summary(commits)} (min / median / max).
  {skipped} candidate moves were skipped because the plan's checks were not clean (see the run's output).
- In-process catch-up on B and C (from their logs): from the change log, median **{med(apply_delta):.0f} ms** over
  {len(apply_delta)} catch-ups (max {max(apply_delta, default=float('nan')):.0f} ms); a whole-city reload, median
  **{med(apply_full):.0f} ms** over {len(apply_full)} (max {max(apply_full, default=float('nan')):.0f} ms):
  the log makes a catch-up **{med(apply_full) / med(apply_delta):.0f}x** cheaper at this scale.
"""
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(md)


if __name__ == "__main__":
    main()
