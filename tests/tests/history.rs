//! Replicas and time travel on both stores, through real HTTP:
//! - propagation: two (on PostGIS three) gridmap servers on one store, each with its own connections and
//!   watcher; an edit through one and an edit made directly in SQL (close the current row, insert a new
//!   version, as QGIS does) reach the others' lookups and tiles within 1 s, and untouched tiles keep their
//!   `ETag` (the measured delays are printed);
//! - `at=` on `GET`/`POST /v1/locate` and on tiles, against an area changed at a known time;
//! - history with author and reason, and the diff of two versions against rectangles built here.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use geo::GeodesicArea;
use geo_types::{MultiPolygon, Polygon};
use gridmap_core::{Area, City};
use gridmap_server::state::ApiConfig;
use gridmap_server::store::{GpkgStore, GridStore, PostgisStore};
use gridmap_server::watcher::{WatchOptions, spawn};
use gridmap_tests::mvt::decode_tile;
use gridmap_tests::{
    Backend, Fetched, TestServer, TestStore, each_store, fetch, note, rect_ring, small_city,
};
use serde_json::{Value, json};

/// The exclusive school grid of the small city and its micro-grid-sized replacement.
const SCHOOL: &str = "411104002900001";
/// The two-part grid of the small city.
const GRID: &str = "411104001001001";
const MICRO_GRID: &str = "411104001001001001";
/// Inside the school as first drawn (114.1501..114.1703 × 33.6001..33.6205), outside it once shrunk.
const IN_OLD_SCHOOL: (f64, f64) = (114.165, 33.615);
/// Inside the grid's second part (114.0603..114.0801 × 33.6009..33.6503).
const IN_GRID_PART_2: (f64, f64) = (114.07, 33.625);
/// Inside the grid's first part, far from both edits' other area.
const IN_GRID_PART_1: (f64, f64) = (114.015, 33.505);

/// The school shrunk to its south-west corner.
fn shrunk_school() -> MultiPolygon<f64> {
    MultiPolygon(vec![Polygon::new(
        rect_ring(114.151, 33.601, 114.16, 33.61),
        vec![],
    )])
}

fn area<'a>(city: &'a City, code: &str) -> &'a Area {
    city.areas.iter().find(|a| a.code == code).unwrap()
}

/// The tile at zoom `z` holding a WGS-84 point, by the textbook formulas.
fn tile_of((lon, lat): (f64, f64), z: u8) -> (u32, u32) {
    let n = 2f64.powi(i32::from(z));
    let x = ((lon + 180.0) / 360.0 * n).floor();
    let phi = lat.to_radians();
    let y = ((1.0 - (phi.tan() + 1.0 / phi.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor();
    (x as u32, y as u32)
}

/// The composite tile path at z14 holding a point (`at` appended when given).
fn tile_path(p: (f64, f64), layer: Option<&str>, at: Option<&str>) -> String {
    let (x, y) = tile_of(p, 14);
    let layer = layer.map(|l| format!("{l}/")).unwrap_or_default();
    let query = at
        .map(|at| format!("?at={}", encode(at)))
        .unwrap_or_default();
    format!("/tiles/{layer}14/{x}/{y}.mvt{query}")
}

/// `+` in an RFC 3339 offset must travel as `%2B`.
fn encode(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}

/// Fetches a tile until it comes from the cache (rendered once, then a hit), returning the hit.
async fn cached_tile(server: &TestServer, path: &str) -> Fetched {
    let first = fetch(server, path).await;
    let second = fetch(server, path).await;
    assert_eq!(second.cache, "hit", "{path} cached after one render");
    assert_eq!(first.etag, second.etag);
    second
}

async fn locate(server: &TestServer, (lon, lat): (f64, f64), at: Option<&str>) -> Value {
    let query = at
        .map(|at| format!("&at={}", encode(at)))
        .unwrap_or_default();
    let (status, _, body) = server
        .get(&format!("/v1/locate?lon={lon}&lat={lat}{query}"))
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Codes of the chain and the exclusive grids of a locate answer.
fn codes(answer: &Value) -> (Vec<String>, Vec<String>) {
    let list = |key: &str| {
        answer[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["code"].as_str().unwrap().to_owned())
            .collect()
    };
    (list("chain"), list("exclusive"))
}

/// Polls `server`'s answer for `p` every 5 ms until `changed` holds; the time it took (at most 10 s).
async fn wait_for(
    server: &TestServer,
    p: (f64, f64),
    since: Instant,
    changed: impl Fn(&Value) -> bool,
) -> Duration {
    loop {
        if changed(&locate(server, p, None).await) {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < Duration::from_secs(10),
            "{} never saw the change",
            server.base
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A second connection to the same store, as another process would open it.
async fn reopen(t: &TestStore) -> Arc<dyn GridStore> {
    match t.backend {
        Backend::Gpkg => Arc::new(
            GpkgStore::open(t.gpkg_path.as_ref().unwrap(), false)
                .await
                .unwrap(),
        ),
        Backend::Postgis => Arc::new(
            PostgisStore::connect(t.database_url.as_ref().unwrap())
                .await
                .unwrap(),
        ),
    }
}

/// What QGIS does when a planner redraws a grid: in one transaction, close the current row and insert the
/// next version, here with the micro-grid's rectangle as the new boundary and a new name.
async fn edit_in_sql(t: &TestStore, code: &str, new_name: &str) {
    match t.backend {
        Backend::Postgis => {
            use sqlx::Connection;
            let mut db = sqlx::PgConnection::connect(t.database_url.as_ref().unwrap())
                .await
                .unwrap();
            let mut tx = db.begin().await.unwrap();
            let version: i64 = sqlx::query_scalar(
                "UPDATE areas SET valid_to = now() WHERE code = $1 AND valid_to IS NULL RETURNING version",
            )
            .bind(code)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
            sqlx::query(
                "INSERT INTO areas (code, name, level, kind, parent_code, version, valid_from, author, reason, geom) \
                 SELECT a.code, $3, a.level, a.kind, a.parent_code, a.version + 1, now(), 'qgis', 'redrawn in QGIS', \
                        (SELECT geom FROM areas WHERE code = $4 AND valid_to IS NULL) \
                 FROM areas a WHERE a.code = $1 AND a.version = $2",
            )
            .bind(code)
            .bind(version)
            .bind(new_name)
            .bind(MICRO_GRID)
            .execute(&mut *tx)
            .await
            .unwrap();
            tx.commit().await.unwrap();
        }
        Backend::Gpkg => {
            use sqlx::Connection;
            let url = format!("sqlite://{}", t.gpkg_path.as_ref().unwrap().display());
            let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
            let mut tx = db.begin().await.unwrap();
            let now = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";
            let version: i64 = sqlx::query_scalar(&format!(
                "UPDATE areas SET valid_to = {now} WHERE code = ?1 AND valid_to IS NULL RETURNING version"
            ))
            .bind(code)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
            sqlx::query(&format!(
                "INSERT INTO areas (code, name, level, kind, parent_code, version, valid_from, author, reason, geom) \
                 SELECT a.code, ?3, a.level, a.kind, a.parent_code, a.version + 1, {now}, 'qgis', 'redrawn in QGIS', \
                        (SELECT geom FROM areas WHERE code = ?4 AND valid_to IS NULL) \
                 FROM areas a WHERE a.code = ?1 AND a.version = ?2"
            ))
            .bind(code)
            .bind(version)
            .bind(new_name)
            .bind(MICRO_GRID)
            .execute(&mut *tx)
            .await
            .unwrap();
            tx.commit().await.unwrap();
        }
    }
}

#[tokio::test]
async fn edits_reach_every_replica_within_a_second() {
    each_store(|t| async move {
        let city = small_city();
        t.store.write_city(&city, &note("test", 1)).await.unwrap();
        let a = TestServer::start(t.store.clone(), ApiConfig::default()).await;
        let b = TestServer::start(reopen(&t).await, ApiConfig::default()).await;
        let mut watchers = vec![
            spawn(a.state.clone(), WatchOptions::default()),
            spawn(b.state.clone(), WatchOptions::default()),
        ];
        // On PostGIS a third replica that only polls, as on a read replica where NOTIFY never arrives.
        let c = if t.backend == Backend::Postgis {
            let c = TestServer::start(reopen(&t).await, ApiConfig::default()).await;
            let options = WatchOptions {
                listen: false,
                ..WatchOptions::default()
            };
            watchers.push(spawn(c.state.clone(), options));
            Some(c)
        } else {
            None
        };
        let others: Vec<&TestServer> = std::iter::once(&b).chain(c.as_ref()).collect();

        // 1. Through A (what every writer does: write, then reload its own snapshot): shrink the school.
        assert_eq!(
            codes(&locate(&b, IN_OLD_SCHOOL, None).await).1,
            vec![SCHOOL]
        );
        let school_tile = tile_path(IN_OLD_SCHOOL, None, None);
        let far_tile = tile_path(IN_GRID_PART_1, None, None);
        let mut before = Vec::new();
        for server in &others {
            before.push((
                cached_tile(server, &school_tile).await,
                cached_tile(server, &far_tile).await,
            ));
        }
        let mut school = area(&city, SCHOOL).clone();
        school.geometry = shrunk_school();
        let edit = City {
            areas: vec![school],
            ..City::default()
        };
        let mut edit_note = note("planner", 0);
        edit_note.at = chrono::Utc::now();
        a.state.store.write_city(&edit, &edit_note).await.unwrap();
        let committed = Instant::now();
        a.state.reload().await.unwrap();
        for (server, (school_before, far_before)) in others.iter().zip(&before) {
            let delay = wait_for(server, IN_OLD_SCHOOL, committed, |v| codes(v).1.is_empty()).await;
            println!(
                "{}: edit through A seen by {} after {} ms",
                t.backend,
                if c.as_ref().is_some_and(|c| std::ptr::eq(c, *server)) {
                    "C (poll only)"
                } else {
                    "B"
                },
                delay.as_millis(),
            );
            assert!(delay < Duration::from_secs(1), "{delay:?}");
            let school_after = fetch(server, &school_tile).await;
            assert_eq!(school_after.status, 200);
            assert_ne!(
                school_after.etag, school_before.etag,
                "touched tile changed"
            );
            assert_ne!(school_after.body, school_before.body);
            // The carry-over of the cache finishes just after the swap.
            tokio::time::sleep(Duration::from_millis(100)).await;
            let far_after = fetch(server, &far_tile).await;
            assert_eq!(
                far_after.etag, far_before.etag,
                "untouched tile kept its ETag"
            );
            assert_eq!(far_after.cache, "hit", "untouched tile stayed cached");
        }

        // 2. Directly in SQL, as QGIS: the grid loses its second part and is renamed.
        let grid_tile = tile_path(IN_GRID_PART_2, None, None);
        let mut before = Vec::new();
        for server in [&a].into_iter().chain(others.iter().copied()) {
            let (chain, _) = codes(&locate(server, IN_GRID_PART_2, None).await);
            assert_eq!(chain.last().map(String::as_str), Some(GRID));
            before.push((
                cached_tile(server, &grid_tile).await,
                cached_tile(server, &school_tile).await,
            ));
        }
        edit_in_sql(&t, GRID, "黄河路第一网格（重划）").await;
        let committed = Instant::now();
        for ((name, server), (grid_before, school_before)) in ["A", "B", "C (poll only)"]
            .into_iter()
            .zip([&a].into_iter().chain(others.iter().copied()))
            .zip(&before)
        {
            let delay = wait_for(server, IN_GRID_PART_2, committed, |v| {
                !codes(v).0.iter().any(|c| c == GRID)
            })
            .await;
            println!(
                "{}: SQL edit (QGIS) seen by {name} after {} ms",
                t.backend,
                delay.as_millis()
            );
            assert!(delay < Duration::from_secs(1), "{delay:?}");
            // The grid keeps the micro-grid's rectangle, under its new name.
            let inside = locate(server, IN_GRID_PART_1, None).await;
            let grid = inside["chain"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["code"] == GRID)
                .unwrap()
                .clone();
            assert_eq!(grid["name"], "黄河路第一网格（重划）");
            assert_ne!(fetch(server, &grid_tile).await.etag, grid_before.etag);
            tokio::time::sleep(Duration::from_millis(100)).await;
            let school_after = fetch(server, &school_tile).await;
            assert_eq!(school_after.etag, school_before.etag);
            assert_eq!(school_after.cache, "hit");
        }
        // History has the editor's version.
        let (status, _, history) = b.get(&format!("/v1/grids/{GRID}/history")).await;
        assert_eq!(status, 200);
        let last = history["features"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        assert_eq!(
            (
                &last["properties"]["version"],
                &last["properties"]["author"]
            ),
            (&json!(2), &json!("qgis"))
        );
        for w in watchers {
            w.abort();
        }
    })
    .await;
}

/// The small city at second 1; the school shrunk at second 100 by a planner. Returns the server.
async fn city_with_a_shrunk_school(t: &TestStore) -> (TestServer, City) {
    let city = small_city();
    t.store.write_city(&city, &note("import", 1)).await.unwrap();
    let server = TestServer::start(t.store.clone(), ApiConfig::default()).await;
    (server, city)
}

async fn shrink_school(server: &TestServer, city: &City, second: i64) {
    let mut school = area(city, SCHOOL).clone();
    school.geometry = shrunk_school();
    let mut change = note("planner", second);
    change.reason = "school shrunk to its playground".into();
    let edit = City {
        areas: vec![school],
        ..City::default()
    };
    server.state.store.write_city(&edit, &change).await.unwrap();
    server.state.reload().await.unwrap();
}

async fn post_json(server: &TestServer, path: &str, body: &Value) -> (u16, Value) {
    let (status, _, body) = server
        .post(path, "application/json", body.to_string().into_bytes())
        .await;
    (status, body)
}

#[tokio::test]
async fn at_answers_as_the_boundaries_were() {
    each_store(|t| async move {
        let (server, city) = city_with_a_shrunk_school(&t).await;
        // Before the change: the live tiles and a report routed to the school (it takes category 03).
        let school_layer = tile_path(IN_OLD_SCHOOL, Some("exclusive"), None);
        let composite = tile_path(IN_OLD_SCHOOL, None, None);
        let tiles_before = (
            fetch(&server, &school_layer).await,
            fetch(&server, &composite).await,
        );
        assert_eq!(tiles_before.0.status, 200);
        let report = |id: &str| {
            json!({
                "client_id": id, "channel": "patrol", "category": "03",
                "location": {"lon": IN_OLD_SCHOOL.0, "lat": IN_OLD_SCHOOL.1},
                "description": "井盖破损",
            })
        };
        let (status, routed) = post_json(&server, "/v1/reports", &report("before-1")).await;
        assert_eq!(status, 201, "{routed}");
        assert_eq!(routed["area_code"], SCHOOL);

        shrink_school(&server, &city, 100).await;

        let before = "2024-01-01T00:00:50Z";
        let just_before = "2024-01-01T08:01:39.999+08:00";
        let at_change = "2024-01-01T08:01:40+08:00";
        let after = "2024-01-01T00:02:30Z";
        let before_any = "2023-12-31T23:59:59Z";
        for (at, school) in [
            (Some(before), true),
            (Some(just_before), true),
            (Some(at_change), false),
            (Some(after), false),
            (None, false),
        ] {
            let answer = locate(&server, IN_OLD_SCHOOL, at).await;
            let (chain, exclusive) = codes(&answer);
            assert_eq!(
                exclusive,
                if school { vec![SCHOOL] } else { vec![] },
                "at {at:?}"
            );
            assert_eq!(chain, vec!["411104", "411104002"], "at {at:?}");
            // Outside every grid the street answers (属地兜底).
            assert_eq!(
                answer["responsible"]["code"].as_str(),
                Some(if school { SCHOOL } else { "411104002" }),
                "at {at:?}"
            );
        }
        // Before anything was stored: an empty answer, not an error.
        let empty = locate(&server, IN_OLD_SCHOOL, Some(before_any)).await;
        assert_eq!(codes(&empty), (vec![], vec![]));
        assert!(empty["responsible"].is_null() && empty["nearest"].is_null());
        let (status, _, problem) = server
            .get(&format!(
                "/v1/locate?lon={}&lat={}&at=yesterday",
                IN_OLD_SCHOOL.0, IN_OLD_SCHOOL.1
            ))
            .await;
        assert_eq!((status, &problem["field"]), (400, &json!("at")));

        // Batch: `at` in the body or the query, not both.
        let points = json!([
            [IN_OLD_SCHOOL.0, IN_OLD_SCHOOL.1],
            [IN_GRID_PART_2.0, IN_GRID_PART_2.1]
        ]);
        let (status, past) = post_json(
            &server,
            "/v1/locate",
            &json!({"points": points, "at": before}),
        )
        .await;
        assert_eq!(status, 200, "{past}");
        assert_eq!(past["results"][0]["responsible"], SCHOOL);
        assert_eq!(past["results"][0]["exclusive"], json!([SCHOOL]));
        assert_eq!(past["results"][1]["grid"], GRID);
        let (_, same) = post_json(
            &server,
            &format!("/v1/locate?at={}", encode(before)),
            &json!({"points": points}),
        )
        .await;
        assert_eq!(same, past);
        let (_, now) = post_json(&server, "/v1/locate", &json!({"points": points})).await;
        assert_ne!(now["results"][0]["responsible"], SCHOOL, "{now}");
        assert!(now["results"][0].get("exclusive").is_none(), "{now}");
        let (status, problem) = post_json(
            &server,
            &format!("/v1/locate?at={}", encode(after)),
            &json!({"points": points, "at": before}),
        )
        .await;
        assert_eq!((status, &problem["field"]), (400, &json!("at")));

        // Tiles at a time before the change are the tiles that were served then, byte for byte.
        let past_layer = fetch(
            &server,
            &tile_path(IN_OLD_SCHOOL, Some("exclusive"), Some(before)),
        )
        .await;
        assert_eq!(past_layer.body, tiles_before.0.body);
        assert_eq!(past_layer.etag, tiles_before.0.etag);
        let past_composite = fetch(&server, &tile_path(IN_OLD_SCHOOL, None, Some(before))).await;
        assert_eq!(past_composite.body, tiles_before.1.body);
        let live = fetch(&server, &school_layer).await;
        assert_ne!(live.body, tiles_before.0.body);
        assert_eq!(
            fetch(
                &server,
                &tile_path(IN_OLD_SCHOOL, Some("exclusive"), Some(after))
            )
            .await
            .body,
            live.body
        );
        // The school's feature in the past tile reaches the old east edge (114.1703 is right of the new one).
        let layers = decode_tile(&past_layer.body);
        assert_eq!(layers.len(), 1);
        assert_eq!(layers[0].features.len(), 1);
        assert_eq!(
            fetch(
                &server,
                &tile_path(IN_OLD_SCHOOL, Some("exclusive"), Some(before_any))
            )
            .await
            .status,
            204
        );
        let (status, _, problem) = server
            .get(&tile_path(
                IN_OLD_SCHOOL,
                Some("exclusive"),
                Some("2024-13-01"),
            ))
            .await;
        assert_eq!((status, &problem["field"]), (400, &json!("at")));

        // One historical index per epoch: every time between the import and the change shared one.
        let builds = server.state.time_travel.builds();
        assert_eq!(
            builds, 2,
            "one index for the first epoch, one for before any data"
        );
        locate(&server, IN_OLD_SCHOOL, Some("2024-01-01T00:00:02Z")).await;
        assert_eq!(server.state.time_travel.builds(), builds);

        // A report keeps the grid it was routed to; a new one at the same point goes elsewhere now.
        let id = routed["id"].as_i64().unwrap();
        let (_, _, kept) = server.get(&format!("/v1/reports/{id}")).await;
        assert_eq!(
            (&kept["area_code"], &kept["route"]["area_code"]),
            (&json!(SCHOOL), &json!(SCHOOL))
        );
        let (status, rerouted) = post_json(&server, "/v1/reports", &report("after-1")).await;
        assert_eq!(status, 201, "{rerouted}");
        assert_ne!(rerouted["area_code"], SCHOOL);
    })
    .await;
}

fn geodesic_m2(polygon: &Polygon<f64>) -> f64 {
    polygon.geodesic_area_unsigned()
}

/// Checks `actual` against `expected` square metres within 1 m² (boolean operations add no real area).
fn assert_m2(actual: &Value, expected: f64, what: &str) {
    let actual = actual
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: {actual}"));
    assert!(
        (actual - expected).abs() < 1.0,
        "{what}: {actual} m² vs {expected} m²"
    );
}

#[tokio::test]
async fn history_and_diff_of_versions() {
    each_store(|t| async move {
        let (server, city) = city_with_a_shrunk_school(&t).await;
        shrink_school(&server, &city, 100).await;
        // Version 3: the playground grows east, and the school is renamed.
        let mut school = area(&city, SCHOOL).clone();
        school.name = "召陵区实验小学（扩建）".into();
        school.geometry = MultiPolygon(vec![Polygon::new(
            rect_ring(114.151, 33.601, 114.175, 33.61),
            vec![],
        )]);
        let mut change = note("planner2", 200);
        change.reason = "extension to the east".into();
        let edit = City {
            areas: vec![school],
            ..City::default()
        };
        t.store.write_city(&edit, &change).await.unwrap();
        server.state.reload().await.unwrap();

        let (status, content_type, history) =
            server.get(&format!("/v1/grids/{SCHOOL}/history")).await;
        assert_eq!(
            (status, content_type.as_str()),
            (200, "application/geo+json")
        );
        let versions: Vec<Value> = history["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["properties"].clone())
            .collect();
        let fields = |key: &str| versions.iter().map(|v| v[key].clone()).collect::<Vec<_>>();
        assert_eq!(fields("version"), vec![json!(1), json!(2), json!(3)]);
        assert_eq!(
            fields("author"),
            vec![json!("import"), json!("planner"), json!("planner2")]
        );
        assert_eq!(
            fields("reason"),
            vec![
                json!("test change at second 1"),
                json!("school shrunk to its playground"),
                json!("extension to the east")
            ]
        );
        assert_eq!(
            fields("valid_from"),
            vec![
                json!("2024-01-01T00:00:01+00:00"),
                json!("2024-01-01T00:01:40+00:00"),
                json!("2024-01-01T00:03:20+00:00")
            ]
        );
        assert_eq!(
            fields("valid_to"),
            vec![
                json!("2024-01-01T00:01:40+00:00"),
                json!("2024-01-01T00:03:20+00:00"),
                Value::Null
            ]
        );

        // 1 → 2: the school shrank into itself; the removed part is the old outline less the new rectangle.
        let old_school = &area(&city, SCHOOL).geometry.0[0];
        let shrunk = Polygon::new(rect_ring(114.151, 33.601, 114.16, 33.61), vec![]);
        let (status, _, diff) = server
            .get(&format!("/v1/grids/{SCHOOL}/diff?from=1&to=2"))
            .await;
        assert_eq!(status, 200, "{diff}");
        assert_eq!(diff["features"][0]["properties"]["change"], "added");
        assert_m2(
            &diff["features"][0]["properties"]["area_m2"],
            0.0,
            "added 1→2",
        );
        assert_m2(
            &diff["features"][1]["properties"]["area_m2"],
            geodesic_m2(old_school) - geodesic_m2(&shrunk),
            "removed 1→2",
        );
        assert_m2(
            &diff["area_change_m2"],
            geodesic_m2(&shrunk) - geodesic_m2(old_school),
            "change 1→2",
        );
        assert_eq!(diff["changes"], json!([]));
        assert_eq!(
            (&diff["from"]["author"], &diff["to"]["author"]),
            (&json!("import"), &json!("planner"))
        );

        // 2 → 3 (also the default: the latest version against the one before): a strip added to the east.
        let strip = Polygon::new(rect_ring(114.16, 33.601, 114.175, 33.61), vec![]);
        for path in [
            format!("/v1/grids/{SCHOOL}/diff?from=2&to=3"),
            format!("/v1/grids/{SCHOOL}/diff"),
        ] {
            let (status, _, diff) = server.get(&path).await;
            assert_eq!(status, 200, "{diff}");
            assert_m2(
                &diff["features"][0]["properties"]["area_m2"],
                geodesic_m2(&strip),
                "added 2→3",
            );
            assert_m2(
                &diff["features"][1]["properties"]["area_m2"],
                0.0,
                "removed 2→3",
            );
            assert_m2(&diff["area_change_m2"], geodesic_m2(&strip), "change 2→3");
            // The added part is the strip: its bounds are the strip's.
            let added: geo_types::Geometry<f64> = serde_json::from_value::<geojson::Geometry>(
                diff["features"][0]["geometry"].clone(),
            )
            .unwrap()
            .try_into()
            .unwrap();
            let bounds = geo::BoundingRect::bounding_rect(&added).unwrap();
            for (got, want) in [
                (bounds.min().x, 114.16),
                (bounds.min().y, 33.601),
                (bounds.max().x, 114.175),
                (bounds.max().y, 33.61),
            ] {
                assert!((got - want).abs() < 1e-9, "{bounds:?}");
            }
            assert_eq!(
                diff["changes"],
                json!([{"field": "name", "from": "召陵区实验小学", "to": "召陵区实验小学（扩建）"}])
            );
        }

        // Bad versions and unknown areas.
        let (status, _, problem) = server
            .get(&format!("/v1/grids/{SCHOOL}/diff?from=x&to=2"))
            .await;
        assert_eq!((status, &problem["field"]), (400, &json!("from")));
        let (status, _, _) = server
            .get(&format!("/v1/grids/{SCHOOL}/diff?from=1&to=9"))
            .await;
        assert_eq!(status, 404);
        let (status, _, _) = server.get("/v1/grids/999999/diff").await;
        assert_eq!(status, 404);
        let (status, _, _) = server.get("/v1/grids/999999/history").await;
        assert_eq!(status, 404);
    })
    .await;
}

/// Propagation on the sample city (thousands of areas, so the reload counts): a grid edited through A, the
/// delay until B and a poll-only C answer from the new boundary. A measurement: run with `--ignored --nocapture`.
#[tokio::test]
#[ignore = "a measurement, a few seconds"]
async fn measure_propagation_on_the_sample_city() {
    each_store(|t| async move {
        let city = gridmap_data::sample_city();
        t.store.write_city(&city, &note("import", 1)).await.unwrap();
        let a = TestServer::start(t.store.clone(), ApiConfig::default()).await;
        let b = TestServer::start(reopen(&t).await, ApiConfig::default()).await;
        let c = TestServer::start(reopen(&t).await, ApiConfig::default()).await;
        let poll_only = WatchOptions {
            listen: false,
            ..WatchOptions::default()
        };
        let watchers = [
            spawn(b.state.clone(), WatchOptions::default()),
            spawn(c.state.clone(), poll_only),
        ];
        let grid = city
            .areas
            .iter()
            .find(|a| a.level == gridmap_core::Level::Grid && !a.is_exclusive())
            .unwrap();
        let p = {
            use geo::InteriorPoint;
            let p = grid.geometry.interior_point().unwrap();
            (p.x(), p.y())
        };
        for round in 0..3 {
            let mut renamed = grid.clone();
            renamed.name = format!("{}（第{round}次调整）", grid.name);
            let edit = City {
                areas: vec![renamed.clone()],
                ..City::default()
            };
            let mut change = note("planner", 0);
            change.at = chrono::Utc::now();
            a.state.store.write_city(&edit, &change).await.unwrap();
            let committed = Instant::now();
            a.state.reload().await.unwrap();
            let own = committed.elapsed();
            println!("{}: A's own reload {} ms", t.backend, own.as_millis());
            let seen = |v: &Value| {
                v["chain"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|a| a["name"] == json!(renamed.name))
            };
            let on_b = wait_for(&b, p, committed, seen).await;
            let on_c = wait_for(&c, p, committed, seen).await;
            println!(
                "{} sample city ({} areas): A's own reload {} ms, B (watcher) {} ms, C (poll only) {} ms",
                t.backend,
                city.areas.len(),
                own.as_millis(),
                on_b.as_millis(),
                on_c.as_millis()
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        for w in watchers {
            w.abort();
        }
    })
    .await;
}
