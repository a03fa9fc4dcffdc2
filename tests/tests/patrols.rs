//! Patrol fixes and coverage through real HTTP, on both stores.
//!
//! Coverage is checked on a hand-made community whose answer is analytic: two rectangular grids side by side
//! (400 m × 300 m each), one worker walking two straight north-south lines across the west grid, far enough
//! apart that their R-strips never meet and extending beyond the grid by more than R. The covered part of the
//! west grid is then exactly two 2R × 300 m strips: coverage R/100 for the grid, R/200 for the community, 0
//! for the east grid.

use std::sync::Arc;

use chrono::{DateTime, FixedOffset, TimeDelta, Utc};
use geo::{Distance, Geodesic, GeodesicArea};
use geo_types::{Coord, MultiPolygon, Point, Polygon};
use gridmap_core::{Area, City, Crs, GridKind, Level, StaffMember, StaffRole, geodesy};
use gridmap_server::state::ApiConfig;
use gridmap_server::store::{FixQuery, GpkgStore, GridStore, PostgisStore, StoredFix};
use gridmap_tests::{Backend, TestServer, TestStore, each_store, note, rect_ring};
use serde_json::{Value, json};

/// South-west corner of the test community.
const X0: f64 = 114.05;
const Y0: f64 = 33.55;
const WORKER: &str = "13800000002";

/// lon/lat of a point `x` m east and `y` m north of the corner (local frame; a 1e-4 scale error at 1 km).
fn at_m(x: f64, y: f64) -> Coord<f64> {
    let (mx, my) = geodesy::metres_per_degree(Y0);
    Coord {
        x: X0 + x / mx,
        y: Y0 + y / my,
    }
}

fn rect_m(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon<f64> {
    let (a, b) = (at_m(x0, y0), at_m(x1, y1));
    MultiPolygon(vec![Polygon::new(rect_ring(a.x, a.y, b.x, b.y), vec![])])
}

fn area(code: &str, level: Level, parent: Option<&str>, geometry: MultiPolygon<f64>) -> Area {
    Area {
        code: code.to_owned(),
        name: format!("{} {code}", level.as_str()),
        level,
        kind: (level >= Level::Grid).then_some(GridKind::Residential),
        parent: parent.map(str::to_owned),
        geometry,
        staff: Vec::new(),
    }
}

const COMMUNITY: &str = "411104001001";
const WEST: &str = "411104001001001";
const EAST: &str = "411104001001002";

/// District ⊃ street ⊃ community (800 m × 300 m) ⊃ west and east grids, each split into two micro-grids.
fn city() -> City {
    let mut west = area(
        WEST,
        Level::Grid,
        Some(COMMUNITY),
        rect_m(0.0, 0.0, 400.0, 300.0),
    );
    west.staff = vec![
        StaffMember {
            name: "张伟".into(),
            phone: "13800000001".into(),
            role: StaffRole::Leader,
        },
        StaffMember {
            name: "李娜".into(),
            phone: WORKER.into(),
            role: StaffRole::FullTime,
        },
    ];
    City {
        areas: vec![
            area(
                "411104",
                Level::District,
                None,
                rect_m(-500.0, -500.0, 1300.0, 800.0),
            ),
            area(
                "411104001",
                Level::Street,
                Some("411104"),
                rect_m(-500.0, -500.0, 1300.0, 800.0),
            ),
            area(
                COMMUNITY,
                Level::Community,
                Some("411104001"),
                rect_m(0.0, 0.0, 800.0, 300.0),
            ),
            west,
            area(
                EAST,
                Level::Grid,
                Some(COMMUNITY),
                rect_m(400.0, 0.0, 800.0, 300.0),
            ),
            area(
                &format!("{WEST}001"),
                Level::MicroGrid,
                Some(WEST),
                rect_m(0.0, 0.0, 200.0, 300.0),
            ),
            area(
                &format!("{WEST}002"),
                Level::MicroGrid,
                Some(WEST),
                rect_m(200.0, 0.0, 400.0, 300.0),
            ),
            area(
                &format!("{EAST}001"),
                Level::MicroGrid,
                Some(EAST),
                rect_m(400.0, 0.0, 600.0, 300.0),
            ),
            area(
                &format!("{EAST}002"),
                Level::MicroGrid,
                Some(EAST),
                rect_m(600.0, 0.0, 800.0, 300.0),
            ),
        ],
        addresses: Vec::new(),
        roads: Vec::new(),
        excluded: Vec::new(),
    }
}

/// 2026-03-02 08:30 Beijing time.
fn start() -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_411_400, 0).expect("a valid time")
}

/// The walk: north along x = 100 m from y = -100 to 400, east to x = 260 m, south to y = -100; 1.25 m/s, a fix
/// every 10 s, WGS-84. Returns (time, point) pairs.
fn walk(from: DateTime<Utc>) -> Vec<(DateTime<Utc>, Coord<f64>)> {
    let legs = [
        ((100.0, -100.0), (100.0, 400.0)),
        ((100.0, 400.0), (260.0, 400.0)),
        ((260.0, 400.0), (260.0, -100.0)),
    ];
    let mut out = Vec::new();
    let mut t = 0_i64;
    for (k, ((x0, y0), (x1, y1))) in legs.into_iter().enumerate() {
        let length: f64 = f64::hypot(x1 - x0, y1 - y0);
        let steps = (length / 12.5).round() as i64;
        // Each leg starts where the last ended; skip the shared point.
        for s in i64::from(k > 0)..=steps {
            let f = s as f64 / steps as f64;
            out.push((
                from + TimeDelta::seconds(t),
                at_m(x0 + f * (x1 - x0), y0 + f * (y1 - y0)),
            ));
            t += 10;
        }
    }
    out
}

fn fix_json(worker: &str, at: DateTime<Utc>, p: Coord<f64>, crs: Option<&str>) -> Value {
    let mut v =
        json!({"worker": worker, "at": at.to_rfc3339(), "lon": p.x, "lat": p.y, "accuracy": 5.0});
    if let Some(crs) = crs {
        v["crs"] = json!(crs);
    }
    v
}

fn ndjson(values: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for v in values {
        serde_json::to_writer(&mut out, v).expect("serialise JSON");
        out.push(b'\n');
    }
    out
}

fn to_json(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).expect("serialise JSON")
}

async fn serve(t: &TestStore) -> TestServer {
    t.store
        .write_city(&city(), &note("test", 1))
        .await
        .expect("write the test city");
    TestServer::start(t.store.clone(), ApiConfig::default()).await
}

async fn stored(store: &dyn GridStore) -> Vec<StoredFix> {
    store
        .patrol_fixes(&FixQuery {
            from: DateTime::from_timestamp(0, 0).expect("epoch"),
            to: DateTime::from_timestamp(4_000_000_000, 0).expect("2096"),
            near: None,
        })
        .await
        .expect("read the stored fixes")
}

/// Posts the walk: its first half as JSON (WGS-84), its second half as NDJSON in GCJ-02 and backwards.
async fn post_walk(server: &TestServer, from: DateTime<Utc>) -> usize {
    let fixes = walk(from);
    let half = fixes.len() / 2;
    let first: Vec<Value> = fixes[..half]
        .iter()
        .map(|&(at, p)| fix_json(WORKER, at, p, None))
        .collect();
    let (status, _, body) = server
        .post(
            "/v1/patrols",
            "application/json",
            to_json(&json!({"fixes": first})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let second: Vec<Value> = fixes[half..]
        .iter()
        .rev()
        .map(|&(at, p)| fix_json(WORKER, at, Crs::Gcj02.from_wgs84(p), Some("gcj02")))
        .collect();
    let (status, _, body) = server
        .post("/v1/patrols", "application/x-ndjson", ndjson(&second))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["accepted"], fixes.len() - half, "{body}");
    fixes.len()
}

#[tokio::test]
async fn json_and_ndjson_batches_are_stored_once_whatever_their_order() {
    each_store(|t| async move {
        let server = serve(&t).await;
        let t0 = start();
        let p = at_m(100.0, 100.0);
        let batch: Vec<Value> = (0..6)
            .map(|k| {
                fix_json(
                    WORKER,
                    t0 + TimeDelta::seconds(10 * k),
                    at_m(100.0, 100.0 + 12.0 * k as f64),
                    None,
                )
            })
            .collect();
        let mut first = json!({"fixes": batch[..4].to_vec()});
        // One fix of poor accuracy, one without accuracy, one in GCJ-02.
        first["fixes"][1]["accuracy"] = json!(120.0);
        first["fixes"][2]
            .as_object_mut()
            .expect("object")
            .remove("accuracy");
        let gcj = Crs::Gcj02.from_wgs84(at_m(100.0, 136.0));
        first["fixes"][3]["lon"] = json!(gcj.x);
        first["fixes"][3]["lat"] = json!(gcj.y);
        first["fixes"][3]["crs"] = json!("gcj02");
        let (status, _, body) = server
            .post("/v1/patrols", "application/json", to_json(&first))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["received"], 4);
        assert_eq!(body["accepted"], 4);
        assert_eq!(body["duplicates"], 0);
        assert_eq!(body["cleaning"]["rejected"]["poor_accuracy"], 1, "{body}");
        assert_eq!(body["cleaning"]["kept"], 3, "{body}");

        // The same fixes again, backwards, with two new ones and one repeated inside the batch, as NDJSON.
        let mut again: Vec<Value> = first["fixes"].as_array().expect("array").clone();
        again.extend(batch[4..].iter().cloned());
        again.push(batch[5].clone());
        again.reverse();
        let (status, _, body) = server
            .post("/v1/patrols", "application/x-ndjson", ndjson(&again))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["received"], 7);
        assert_eq!(body["accepted"], 2);
        assert_eq!(body["duplicates"], 5);
        assert_eq!(body["cleaning"]["duplicates"], 1, "{body}");

        let fixes = stored(t.store.as_ref()).await;
        assert_eq!(fixes.len(), 6);
        assert!(
            fixes.windows(2).all(|w| w[0].at < w[1].at),
            "stored in time order"
        );
        assert_eq!(fixes[0].point, p, "WGS-84 kept to the bit");
        assert_eq!(fixes[1].accuracy_m, Some(120.0));
        assert_eq!(fixes[2].accuracy_m, None);
        let wgs = at_m(100.0, 136.0);
        let off_m = Geodesic.distance(Point(fixes[3].point), Point(wgs));
        assert!(off_m < 0.5, "GCJ-02 converted to WGS-84: {off_m} m off");
        // The worker's position for report routing is the batch's last kept fix.
        let position = server.state.positions.of(WORKER).expect("a position");
        assert_eq!(position.at, t0 + TimeDelta::seconds(50));
    })
    .await;
}

#[tokio::test]
async fn bad_fixes_are_rejected_naming_the_field_and_nothing_is_stored() {
    each_store(|t| async move {
        let server = serve(&t).await;
        let good = fix_json(WORKER, start(), at_m(10.0, 10.0), None);
        let with = |key: &str, value: Value| {
            let mut fix = good.clone();
            if value.is_null() {
                fix.as_object_mut().expect("object").remove(key);
            } else {
                fix[key] = value;
            }
            fix
        };
        let json_cases: Vec<(Value, u16, &str)> = vec![
            (with("worker", Value::Null), 422, "fixes/1/worker"),
            (with("worker", json!("  ")), 422, "fixes/1/worker"),
            (with("at", Value::Null), 422, "fixes/1/at"),
            (with("at", json!("yesterday")), 422, "fixes/1/at"),
            (with("at", json!("2999-01-01T00:00:00Z")), 422, "fixes/1/at"),
            (with("lon", json!("NaN")), 422, "fixes/1/lon"),
            (with("lon", Value::Null), 422, "fixes/1/lon"),
            (with("lon", json!(181.0)), 422, "fixes/1/lon"),
            (with("lat", json!(-95.5)), 422, "fixes/1/lat"),
            (with("accuracy", json!(-3)), 422, "fixes/1/accuracy"),
            (with("crs", json!("epsg3857")), 422, "fixes/1/crs"),
            (json!(17), 422, "fixes/1"),
        ];
        for (bad, status_expected, field) in json_cases {
            let body = json!({"fixes": [good.clone(), bad.clone()]});
            let (status, content_type, problem) = server
                .post("/v1/patrols", "application/json", to_json(&body))
                .await;
            assert_eq!(status, status_expected, "{bad}: {problem}");
            assert_eq!(content_type, "application/problem+json");
            assert_eq!(problem["field"], field, "{bad}: {problem}");
        }
        // NDJSON: NaN is not JSON, and a line without a time; named by 1-based line number.
        let line = |v: &Value| format!("{v}\n");
        let nan = format!(
            "{}{{\"worker\":\"{WORKER}\",\"at\":\"2026-03-02T00:30:10Z\",\"lon\":NaN,\"lat\":33.55}}\n",
            line(&good)
        );
        let no_at = format!("{}\n{}{}", line(&good), line(&good), line(&with("at", Value::Null)));
        for (body, status_expected, field) in [(nan, 400, "lines/2"), (no_at, 422, "lines/4/at")] {
            let (status, _, problem) = server
                .post("/v1/patrols", "application/x-ndjson", body.into_bytes())
                .await;
            assert_eq!(status, status_expected, "{problem}");
            assert_eq!(problem["field"], field, "{problem}");
        }
        // Whole-body mistakes.
        for (body, content_type, status_expected, field) in [
            (b"{\"fixes\": []}".to_vec(), "application/json", 400, "fixes"),
            (b"{\"points\": []}".to_vec(), "application/json", 400, "fixes"),
            (b"{\"fixes\": [".to_vec(), "application/json", 400, "body"),
            (b"{\"fixes\": []}".to_vec(), "text/csv", 415, "content-type"),
        ] {
            let (status, _, problem) = server.post("/v1/patrols", content_type, body).await;
            assert_eq!(status, status_expected, "{problem}");
            assert_eq!(problem["field"], field, "{problem}");
        }
        assert!(stored(t.store.as_ref()).await.is_empty(), "a rejected batch stores nothing");
    })
    .await;
}

#[tokio::test]
async fn more_than_100000_fixes_are_413_and_nothing_is_stored() {
    each_store(|t| async move {
        let server = serve(&t).await;
        let t0 = start();
        let fixes: Vec<Value> = (0..100_001)
            .map(|k| json!({"worker": WORKER, "at": (t0 + TimeDelta::seconds(k)).to_rfc3339(), "lon": X0, "lat": Y0}))
            .collect();
        let (status, content_type, problem) = server
            .post("/v1/patrols", "application/x-ndjson", ndjson(&fixes))
            .await;
        assert_eq!(status, 413, "{problem}");
        assert_eq!(content_type, "application/problem+json");
        let (status, _, problem) = server
            .post("/v1/patrols", "application/json", to_json(&json!({"fixes": fixes})))
            .await;
        assert_eq!(status, 413, "{problem}");
        assert!(stored(t.store.as_ref()).await.is_empty());
    })
    .await;
}

fn close(actual: &Value, expected: f64, tolerance: f64, what: &str) {
    let actual = actual
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: not a number: {actual}"));
    assert!(
        (actual - expected).abs() <= tolerance,
        "{what}: {actual} vs expected {expected} (± {tolerance})"
    );
}

#[tokio::test]
async fn coverage_of_a_walked_grid_matches_the_analytic_strips() {
    each_store(|t| async move {
        let server = serve(&t).await;
        post_walk(&server, start()).await;
        // Another worker walking the same lines a day later must not count.
        post_walk_other_day(&server).await;
        // Width and height measured geodesically, independent of the local frame.
        let w_m = Geodesic.distance(Point(at_m(0.0, 0.0)), Point(at_m(400.0, 0.0)));
        let h_m = Geodesic.distance(Point(at_m(0.0, 0.0)), Point(at_m(0.0, 300.0)));
        let grid_m2 = city().areas[3].geometry.geodesic_area_unsigned();
        for radius_m in [30.0, 50.0] {
            let expected_grid = 2.0 * 2.0 * radius_m * h_m / grid_m2;
            let (status, _, body) = server
                .get(&format!("/v1/coverage?grid={WEST}&from=2026-03-02&to=2026-03-02&radius_m={radius_m}"))
                .await;
            assert_eq!(status, 200, "{body}");
            let c = &body["coverage"];
            assert_eq!(c["code"], WEST);
            close(&c["area_coverage"], expected_grid, 0.01, "west grid coverage");
            close(&c["area_m2"], w_m * h_m, 0.001 * w_m * h_m, "west grid area");
            assert_eq!(body["grids"], json!([]));
            assert_eq!(body["fixes"], walk(start()).len());
            // Both micro-grids walked; 8 minutes inside the grid (300 m twice at 1.25 m/s).
            let visited: Vec<bool> = c["micro_grids"]
                .as_array()
                .expect("micro_grids")
                .iter()
                .map(|m| m["visited"].as_bool().expect("visited"))
                .collect();
            assert_eq!(visited, [true, true]);
            close(&c["patrol_minutes"], 8.0, 0.25, "minutes in the grid");
            assert_eq!(c["workers"][0]["worker"], WORKER);
            assert_eq!(c["uncovered"]["type"], "MultiPolygon", "{}", c["uncovered"]);

            // The community: itself and both grids.
            let (status, _, body) = server
                .get(&format!(
                    "/v1/coverage?community={COMMUNITY}&from=2026-03-02T00:00:00%2B08:00&to=2026-03-03T00:00:00%2B08:00&radius_m={radius_m}"
                ))
                .await;
            assert_eq!(status, 200, "{body}");
            close(&body["coverage"]["area_coverage"], expected_grid / 2.0, 0.01, "community coverage");
            let grids: Vec<(&str, f64)> = body["grids"]
                .as_array()
                .expect("grids")
                .iter()
                .map(|g| (g["code"].as_str().expect("code"), g["area_coverage"].as_f64().expect("coverage")))
                .collect();
            assert_eq!(grids.len(), 2);
            assert_eq!((grids[0].0, grids[1].0), (WEST, EAST));
            assert!((grids[0].1 - expected_grid).abs() < 0.01);
            assert!(grids[1].1.abs() < 1e-9, "the east grid was not walked: {}", grids[1].1);
        }

        // GeoJSON: the uncovered part of the west grid, about 1 - 0.3 of it at R = 30 m.
        let (status, content_type, body) = server
            .get(&format!("/v1/coverage?grid={WEST}&from=2026-03-02&format=geojson"))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(content_type, "application/geo+json");
        assert_eq!(body["type"], "FeatureCollection");
        let features = body["features"].as_array().expect("features");
        assert_eq!(features.len(), 1);
        assert_eq!(features[0]["properties"]["code"], WEST);
        let uncovered: geo_types::Geometry<f64> = geojson::Geometry::from_json_value(features[0]["geometry"].clone())
            .expect("GeoJSON geometry")
            .try_into()
            .expect("a geo geometry");
        let expected_uncovered = 1.0 - 4.0 * 30.0 * h_m / grid_m2;
        close(
            &json!(uncovered.geodesic_area_unsigned() / grid_m2),
            expected_uncovered,
            0.02,
            "uncovered share from the polygons",
        );
    })
    .await;
}

/// The walk, a day later, by another worker.
async fn post_walk_other_day(server: &TestServer) {
    let fixes: Vec<Value> = walk(start() + TimeDelta::days(1))
        .into_iter()
        .map(|(at, p)| fix_json("13900000009", at, p, None))
        .collect();
    let (status, _, body) = server
        .post(
            "/v1/patrols",
            "application/json",
            to_json(&json!({"fixes": fixes})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn coverage_rejects_unknown_codes_bad_dates_and_radii() {
    each_store(|t| async move {
        let server = serve(&t).await;
        for (query, status_expected, field) in [
            (format!("grid={COMMUNITY}"), 404, None),
            ("grid=411104009009009".to_owned(), 404, None),
            ("community=411104001009".to_owned(), 404, None),
            (format!("grid={WEST}&from=2026-02-30"), 400, Some("from")),
            (format!("grid={WEST}&to=tomorrow"), 400, Some("to")),
            (
                format!("grid={WEST}&from=2026-03-03&to=2026-03-02"),
                400,
                Some("to"),
            ),
            (
                format!("grid={WEST}&from=2026-01-01&to=2026-03-02"),
                400,
                Some("to"),
            ),
            (format!("grid={WEST}&radius_m=0"), 400, Some("radius_m")),
            (format!("grid={WEST}&radius_m=abc"), 400, Some("radius_m")),
            (format!("grid={WEST}&radius_m=NaN"), 400, Some("radius_m")),
            (
                format!("grid={WEST}&community={COMMUNITY}"),
                400,
                Some("grid"),
            ),
            (String::new(), 400, Some("grid")),
            (format!("grid={WEST}&format=kml"), 400, Some("format")),
        ] {
            let (status, content_type, problem) =
                server.get(&format!("/v1/coverage?{query}")).await;
            assert_eq!(status, status_expected, "{query}: {problem}");
            assert_eq!(content_type, "application/problem+json", "{query}");
            if let Some(field) = field {
                assert_eq!(problem["field"], field, "{query}: {problem}");
            }
        }
        // No window given: today in Beijing time.
        let (status, _, body) = server.get(&format!("/v1/coverage?grid={WEST}")).await;
        assert_eq!(status, 200, "{body}");
        let beijing = FixedOffset::east_opt(8 * 3600).expect("+08:00");
        let today = Utc::now().with_timezone(&beijing).date_naive();
        let midnight = today
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_local_timezone(beijing)
            .single()
            .expect("one midnight")
            .with_timezone(&Utc);
        let from: DateTime<Utc> = serde_json::from_value(body["from"].clone()).expect("from");
        let to: DateTime<Utc> = serde_json::from_value(body["to"].clone()).expect("to");
        assert_eq!((from, to), (midnight, midnight + TimeDelta::days(1)));
        assert_eq!(body["coverage"]["area_coverage"], 0.0);
    })
    .await;
}

/// Reopens the same database or file, as a restarted server would.
async fn reopen(t: &TestStore) -> Arc<dyn GridStore> {
    match t.backend {
        Backend::Gpkg => Arc::new(
            GpkgStore::open(t.gpkg_path.as_ref().expect("a file"), false)
                .await
                .expect("reopen the GeoPackage"),
        ),
        Backend::Postgis => Arc::new(
            PostgisStore::connect(t.database_url.as_ref().expect("a URL"))
                .await
                .expect("reconnect to PostGIS"),
        ),
    }
}

#[tokio::test]
async fn a_restart_keeps_every_fix_and_the_latest_positions() {
    each_store(|t| async move {
        let server = serve(&t).await;
        // Recent fixes, so the restarted server loads the worker's position; whole milliseconds survive.
        let now = DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).expect("now");
        let from = now - TimeDelta::minutes(20);
        let n = post_walk(&server, from).await;
        let before = stored(t.store.as_ref()).await;
        assert_eq!(before.len(), n);
        drop(server);

        let store = reopen(&t).await;
        let after = stored(store.as_ref()).await;
        assert_eq!(after, before, "every fix back, bit for bit");
        let restarted = TestServer::start(store, ApiConfig::default()).await;
        let position = restarted
            .state
            .positions
            .of(WORKER)
            .expect("a position after restart");
        let (last_at, last_point) = *walk(from).last().expect("a walk");
        assert_eq!(position.at, last_at);
        let off_m = Geodesic.distance(Point(position.point), Point(last_point));
        assert!(off_m < 0.5, "{off_m} m");
        // And report routing's staff list gets it.
        let west = city().areas[3].clone();
        let for_staff = restarted.state.positions.for_staff(&west.staff);
        assert_eq!(for_staff.len(), 1);
        assert_eq!(for_staff[0].worker, WORKER);
    })
    .await;
}

/// Not a check: ingest and coverage times on the sample city (run with `--ignored --nocapture`).
#[tokio::test]
#[ignore = "a measurement, not a check"]
async fn measure_ingest_and_street_coverage() {
    each_store(|t| async move {
        let city = gridmap_data::sample_city();
        t.store
            .write_city(&city, &note("test", 1))
            .await
            .expect("write the sample city");
        let server = TestServer::start(t.store.clone(), ApiConfig::default()).await;
        let params = gridmap_data::TrackParams::day(7, 120);
        let fixes: Vec<Value> = gridmap_data::generate_tracks(&city, &params)
            .into_iter()
            .map(|f| json!({"worker": f.worker, "at": f.at.to_rfc3339(), "lon": f.point.x, "lat": f.point.y, "accuracy": f.accuracy_m}))
            .collect();
        let clock = std::time::Instant::now();
        for chunk in fixes.chunks(100_000) {
            let (status, _, body) = server
                .post("/v1/patrols", "application/x-ndjson", ndjson(chunk))
                .await;
            assert_eq!(status, 200, "{body}");
        }
        let ingest_s = clock.elapsed().as_secs_f64();
        let street = city
            .areas
            .iter()
            .find(|a| a.level == Level::Street)
            .expect("a street");
        let clock = std::time::Instant::now();
        let (status, _, body) = server
            .get(&format!("/v1/coverage?street={}&from=2026-03-02", street.code))
            .await;
        assert_eq!(status, 200);
        println!(
            "{}: ingest {} fixes in {ingest_s:.2} s ({:.0} fixes/s); street {} coverage ({} grids, {} fixes read) in {:.2} s",
            t.backend,
            fixes.len(),
            fixes.len() as f64 / ingest_s,
            street.code,
            body["grids"].as_array().map_or(0, Vec::len),
            body["fixes"],
            clock.elapsed().as_secs_f64()
        );
    })
    .await;
}

/// Uncovered share of the west grid from the `coverage` tile holding it: the decoded polygons' area over the
/// grid's, both in tile units (Web Mercator is conformal: area ratios this small are kept to ~1e-5).
async fn uncovered_share_from_tile(server: &TestServer, query: &str) -> (f64, Option<f64>, String) {
    use geo::{Area as _, MapCoords as _};
    use gridmap_tests::mvt::{DValue, decode_tile, polygons, replay, to_tile_units};
    const Z: u8 = 14;
    let corner = |x_m: f64, y_m: f64| {
        let c = at_m(x_m, y_m);
        let n = 2f64.powi(i32::from(Z));
        let tx = ((c.x + 180.0) / 360.0 * n).floor() as u32;
        let phi = c.y.to_radians();
        let ty = ((1.0 - (phi.tan() + 1.0 / phi.cos()).ln() / std::f64::consts::PI) / 2.0 * n)
            .floor() as u32;
        (tx, ty)
    };
    let (x, y) = corner(0.0, 0.0);
    assert_eq!(
        corner(400.0, 300.0),
        (x, y),
        "the test grid lies in one z{Z} tile"
    );
    let response = server
        .client
        .get(format!(
            "{}/tiles/coverage/{Z}/{x}/{y}.mvt?{query}",
            server.base
        ))
        .send()
        .await
        .expect("GET a coverage tile");
    let status = response.status().as_u16();
    let cache_control = response
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let bytes = response.bytes().await.expect("tile bytes");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    let layers = decode_tile(&bytes);
    assert_eq!(layers.len(), 1);
    assert_eq!(layers[0].name, "coverage");
    let layer = &layers[0];
    let feature = layer
        .features
        .iter()
        .find(|f| {
            layer
                .attributes(f)
                .contains(&("code".to_owned(), DValue::Str(WEST.to_owned())))
        })
        .expect("a feature of the west grid");
    let area_coverage = layer
        .attributes(feature)
        .into_iter()
        .find(|(k, _)| k == "area_coverage")
        .and_then(|(_, v)| match v {
            DValue::Double(d) => Some(d),
            DValue::Float(f) => Some(f64::from(f)),
            DValue::Int(i) | DValue::SInt(i) => Some(i as f64),
            DValue::UInt(u) => Some(u as f64),
            _ => None,
        });
    let uncovered = polygons(&replay(feature)).unsigned_area();
    let grid: MultiPolygon<f64> = city().areas[3].geometry.map_coords(|c| {
        let (tx, ty) = to_tile_units(c.x, c.y, Z, x, y, 4096.0);
        Coord { x: tx, y: ty }
    });
    (
        uncovered / grid.unsigned_area(),
        area_coverage,
        cache_control,
    )
}

#[tokio::test]
async fn coverage_tiles_shade_the_unwalked_part_of_a_grid() {
    each_store(|t| async move {
        let server = serve(&t).await;
        let h_m = Geodesic.distance(Point(at_m(0.0, 0.0)), Point(at_m(0.0, 300.0)));
        let grid_m2 = city().areas[3].geometry.geodesic_area_unsigned();
        let window = "from=2026-03-02&to=2026-03-02";
        // Nothing walked yet: the whole grid is uncovered.
        let (share, coverage, cache_control) = uncovered_share_from_tile(&server, window).await;
        assert!(
            (share - 1.0).abs() < 0.005,
            "unwalked grid: uncovered share {share}"
        );
        assert_eq!(coverage, Some(0.0));
        assert_eq!(cache_control, "public, max-age=300", "a past window");

        // After the walk (the cache must not keep the unwalked answer), at two radii.
        post_walk(&server, start()).await;
        for radius_m in [30.0, 50.0] {
            let expected = 1.0 - 4.0 * radius_m * h_m / grid_m2;
            let (share, coverage, _) =
                uncovered_share_from_tile(&server, &format!("{window}&radius_m={radius_m}")).await;
            assert!(
                (share - expected).abs() <= 0.01,
                "R = {radius_m}: uncovered share {share} vs analytic {expected}"
            );
            let coverage = coverage.expect("area_coverage attribute");
            assert!(
                (coverage - (1.0 - expected)).abs() <= 0.01,
                "R = {radius_m}: {coverage}"
            );
        }

        // The default window is today (nothing walked): short caching.
        let (share, _, cache_control) = uncovered_share_from_tile(&server, "").await;
        assert!((share - 1.0).abs() < 0.005, "today: {share}");
        assert_eq!(cache_control, "public, max-age=10");

        // Below z11: empty. Bad windows and radii: problem+json naming the field.
        let (status, _, _) = server.get("/tiles/coverage/10/837/409.mvt").await;
        assert_eq!(status, 204);
        for (query, field) in [
            ("from=yesterday", "from"),
            ("from=2026-03-03&to=2026-03-01", "to"),
            ("from=2026-01-01&to=2026-03-01", "to"),
            ("radius_m=0", "radius_m"),
            ("radius_m=abc", "radius_m"),
        ] {
            for path in [
                format!("/tiles/coverage/14/0/0.mvt?{query}"),
                format!("/tiles/coverage.json?{query}"),
            ] {
                let (status, content_type, body) = server.get(&path).await;
                assert_eq!(status, 400, "{path}: {body}");
                assert_eq!(content_type, "application/problem+json", "{path}");
                assert_eq!(body["field"], field, "{path}: {body}");
            }
        }
        let (status, _, body) = server.get("/tiles/coverage/23/0/0.mvt").await;
        assert_eq!((status, body["field"].as_str()), (400, Some("z")), "{body}");

        // TileJSON: the layer, its fields, and the window carried into the tile URL.
        let (status, _, doc) = server
            .get("/tiles/coverage.json?from=2026-03-02&radius_m=50")
            .await;
        assert_eq!(status, 200, "{doc}");
        let url = doc["tiles"][0].as_str().expect("tile URL");
        assert!(
            url.ends_with("/tiles/coverage/{z}/{x}/{y}.mvt?from=2026-03-02&radius_m=50"),
            "{url}"
        );
        assert_eq!(doc["vector_layers"][0]["id"], "coverage");
        assert_eq!(doc["vector_layers"][0]["fields"]["area_coverage"], "Number");
        // Not in the composite tile's TileJSON: it depends on the window.
        let (_, _, composite) = server.get("/tiles.json").await;
        assert!(
            composite["vector_layers"]
                .as_array()
                .expect("layers")
                .iter()
                .all(|l| l["id"] != "coverage"),
            "{composite}"
        );
    })
    .await;
}

#[tokio::test]
async fn tracks_and_workers_of_a_day_for_playback() {
    each_store(|t| async move {
        let server = serve(&t).await;
        let walked = walk(start());
        // The walk with one spike 300 m east in the middle of the north-bound leg.
        let mut fixes: Vec<Value> = walked
            .iter()
            .map(|&(at, p)| fix_json(WORKER, at, p, None))
            .collect();
        let spike_at = start() + TimeDelta::seconds(105);
        fixes.push(fix_json(WORKER, spike_at, at_m(400.0, 130.0), None));
        let (status, _, body) = server
            .post("/v1/patrols", "application/json", to_json(&json!({"fixes": fixes})))
            .await;
        assert_eq!(status, 200, "{body}");
        post_walk_other_day(&server).await;

        let (status, content_type, body) = server
            .get(&format!("/v1/patrols/tracks?worker={WORKER}&date=2026-03-02"))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(content_type, "application/geo+json");
        assert_eq!(body["name"], "李娜");
        assert_eq!(body["grid"], WEST);
        let features = body["features"].as_array().expect("features");
        let tracks: Vec<&Value> = features
            .iter()
            .filter(|f| f["properties"]["kind"] == "track")
            .collect();
        assert_eq!(tracks.len(), 1, "{body}");
        assert_eq!(tracks[0]["geometry"]["type"], "LineString");
        let coordinates = tracks[0]["geometry"]["coordinates"]
            .as_array()
            .expect("coordinates");
        let times = tracks[0]["properties"]["times"].as_array().expect("times");
        assert_eq!(coordinates.len(), walked.len());
        assert_eq!(times.len(), walked.len());
        for ((c, t), (at, p)) in coordinates.iter().zip(times).zip(&walked) {
            let when = DateTime::parse_from_rfc3339(t.as_str().expect("a time")).expect("RFC 3339");
            assert_eq!(when, *at);
            // serde_json's default float parsing may be one ulp off.
            let (lon, lat) = (c[0].as_f64().expect("lon"), c[1].as_f64().expect("lat"));
            assert!((lon - p.x).abs() < 1e-12 && (lat - p.y).abs() < 1e-12, "{c} vs {p:?}");
        }
        // 500 + 160 + 500 m.
        close(&tracks[0]["properties"]["length_m"], 1160.0, 2.0, "track length");
        let dropped: Vec<&Value> = features
            .iter()
            .filter(|f| f["properties"]["kind"] == "dropped")
            .collect();
        assert_eq!(dropped.len(), 1, "{body}");
        assert_eq!(dropped[0]["properties"]["reason"], "spike");
        let at = DateTime::parse_from_rfc3339(dropped[0]["properties"]["at"].as_str().expect("at"))
            .expect("RFC 3339");
        assert_eq!(at, spike_at);

        // The same day by from/to in local time; nothing the next day for this worker.
        let (_, _, same) = server
            .get(&format!(
                "/v1/patrols/tracks?worker={WORKER}&from=2026-03-02T00:00:00%2B08:00&to=2026-03-03T00:00:00%2B08:00"
            ))
            .await;
        assert_eq!(same["features"], body["features"]);
        let (status, _, next) = server
            .get(&format!("/v1/patrols/tracks?worker={WORKER}&date=2026-03-03"))
            .await;
        assert_eq!(status, 200);
        assert_eq!(next["features"], json!([]));

        // Workers per day, with their roster names.
        let (status, _, day) = server.get("/v1/patrols/workers?date=2026-03-02").await;
        assert_eq!(status, 200, "{day}");
        assert_eq!(
            day["workers"],
            json!([{
                "worker": WORKER, "name": "李娜", "grid": WEST, "grid_name": format!("grid {WEST}"),
                "fixes": walked.len() + 1,
                "first": "2026-03-02T00:30:00Z",
                "last": (start() + TimeDelta::seconds(10 * (walked.len() as i64 - 1))).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            }])
        );
        let (_, _, next_day) = server.get("/v1/patrols/workers?date=2026-03-03").await;
        let names: Vec<&str> = next_day["workers"]
            .as_array()
            .expect("workers")
            .iter()
            .map(|w| w["worker"].as_str().expect("worker"))
            .collect();
        assert_eq!(names, ["13900000009"]);
        assert_eq!(next_day["workers"][0]["name"], Value::Null);

        for (path, field) in [
            ("/v1/patrols/tracks?date=2026-03-02", "worker"),
            (&format!("/v1/patrols/tracks?worker={WORKER}&date=tuesday") as &str, "from"),
            ("/v1/patrols/workers?date=2026-03-02&from=2026-03-01", "date"),
        ] {
            let (status, content_type, body) = server.get(path).await;
            assert_eq!(status, 400, "{path}: {body}");
            assert_eq!(content_type, "application/problem+json");
            assert_eq!(body["field"], field, "{path}: {body}");
        }
    })
    .await;
}
