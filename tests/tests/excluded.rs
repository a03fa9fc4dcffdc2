//! Excluded ground (ground no grid takes: rivers, rail yards, military ground) on both stores:
//! - the store round trip, additions by `write_city`, replacement of one kind, and the change log's delta;
//! - `gridmap import --level excluded` of GeoJSON in WGS-84 and GCJ-02 (converted by the test with
//!   `Crs::to_wgs84`), re-imports replacing their kind, a bad file rejected with nothing stored;
//! - a store filled with the sample city (as `gridmap serve` fills a new one) holds the 沙河 as water with the
//!   area of `sample_water()`; the `excluded` tile layer over the river holds it, a tile away from it does not;
//! - a row inserted in SQL (as QGIS would) reaches a running server through its watcher: the snapshot and the
//!   tiles (new `ETag`), and a delete takes it away again.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use geo::{BoundingRect, Contains, GeodesicArea, InteriorPoint};
use geo_types::{Coord, MultiPolygon, Point, Polygon, Rect};
use gridmap_core::{City, Crs, ExcludedGround, ExcludedKind, Level};
use gridmap_server::commands::import::{Codes, ImportArgs, ImportLevel};
use gridmap_server::state::ApiConfig;
use gridmap_server::store::CityChanges;
use gridmap_server::watcher::{WatchOptions, spawn};
use gridmap_tests::mvt::{DLayer, DValue, decode_tile, polygons, replay, to_tile_units};
use gridmap_tests::{
    Backend, TestServer, TestStore, each_store, fetch, note, rect_ring, ring, small_city,
};

/// The small city's micro-grid (a rectangle), whose outline the SQL test copies into `excluded`.
const MICRO_GRID: &str = "411104001001001001";
/// Mid-river in the sample city (data/README.md's reference points).
const MID_RIVER: (f64, f64) = (114.1119, 33.5662);

fn rect(w: f64, s: f64, e: f64, n: f64) -> MultiPolygon<f64> {
    MultiPolygon(vec![Polygon::new(rect_ring(w, s, e, n), vec![])])
}

fn ground(name: &str, kind: ExcludedKind, geometry: MultiPolygon<f64>) -> ExcludedGround {
    ExcludedGround {
        name: name.to_owned(),
        kind,
        geometry,
    }
}

/// A lake with an island (the hole wound clockwise, as stored) and a rail yard.
fn lake_and_yard() -> Vec<ExcludedGround> {
    let island = ring(&[
        (114.031, 33.521),
        (114.031, 33.524),
        (114.034, 33.524),
        (114.034, 33.521),
        (114.031, 33.521),
    ]);
    let lake = MultiPolygon(vec![Polygon::new(
        rect_ring(114.03, 33.52, 114.04, 33.53),
        vec![island],
    )]);
    vec![
        ground("东湖", ExcludedKind::Water, lake),
        ground(
            "漯河货场",
            ExcludedKind::Rail,
            rect(114.15, 33.65, 114.16, 33.655),
        ),
    ]
}

/// The tile at zoom `z` holding a WGS-84 point, by the textbook formulas.
fn tile_of((lon, lat): (f64, f64), z: u8) -> (u32, u32) {
    let n = 2f64.powi(i32::from(z));
    let x = ((lon + 180.0) / 360.0 * n).floor();
    let phi = lat.to_radians();
    let y = ((1.0 - (phi.tan() + 1.0 / phi.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor();
    (x as u32, y as u32)
}

/// A tile's WGS-84 bounds, by the textbook formulas.
fn tile_bounds(z: u8, x: u32, y: u32) -> Rect<f64> {
    let n = 2f64.powi(i32::from(z));
    let lon = |x: f64| x / n * 360.0 - 180.0;
    let lat = |y: f64| {
        (std::f64::consts::PI * (1.0 - 2.0 * y / n))
            .sinh()
            .atan()
            .to_degrees()
    };
    Rect::new(
        Coord {
            x: lon(f64::from(x)),
            y: lat(f64::from(y + 1)),
        },
        Coord {
            x: lon(f64::from(x + 1)),
            y: lat(f64::from(y)),
        },
    )
}

fn string_attr(layer: &DLayer, f: &gridmap_tests::mvt::DFeature, key: &str) -> String {
    match layer.attributes(f).into_iter().find(|(k, _)| k == key) {
        Some((_, DValue::Str(s))) => s,
        other => panic!("{key}: {other:?}"),
    }
}

/// `(name, kind)` of every feature of the `excluded` layer whose polygon holds `p`, in a tile's bytes.
fn excluded_at(bytes: &[u8], p: (f64, f64), (z, x, y): (u8, u32, u32)) -> Vec<(String, String)> {
    let (px, py) = to_tile_units(p.0, p.1, z, x, y, 4096.0);
    let point = Point::new(px, py);
    decode_tile(bytes)
        .iter()
        .filter(|l| l.name == "excluded")
        .flat_map(|l| {
            l.features
                .iter()
                .filter(|f| polygons(&replay(f)).contains(&point))
                .map(|f| (string_attr(l, f, "name"), string_attr(l, f, "kind")))
        })
        .collect()
}

/// Names of every feature of the `excluded` layer in a tile's bytes.
fn excluded_names(bytes: &[u8]) -> Vec<String> {
    decode_tile(bytes)
        .iter()
        .filter(|l| l.name == "excluded")
        .flat_map(|l| l.features.iter().map(|f| string_attr(l, f, "name")))
        .collect()
}

#[tokio::test]
async fn excluded_ground_round_trips_and_a_kind_is_replaced() {
    each_store(|t| async move {
        let mut city = small_city();
        city.excluded = lake_and_yard();
        t.store.write_city(&city, &note("test", 1)).await.unwrap();
        let loaded = t.store.load_city().await.unwrap();
        assert_eq!(loaded.excluded, city.excluded, "{}", t.backend);
        assert_eq!(loaded.areas.len(), city.areas.len());

        // write_city adds, like roads; the change log carries the whole layer and no area.
        let before = t.store.data_version().await.unwrap();
        let pond = ground(
            "小池塘",
            ExcludedKind::Water,
            rect(114.05, 33.55, 114.051, 33.551),
        );
        let more = City {
            excluded: vec![pond.clone()],
            ..City::default()
        };
        t.store.write_city(&more, &note("test", 2)).await.unwrap();
        let mut expected = city.excluded.clone();
        expected.push(pond);
        assert_eq!(t.store.load_city().await.unwrap().excluded, expected);
        match t.store.changes_since(before).await.unwrap() {
            CityChanges::Delta(delta) => {
                assert_eq!(delta.excluded.as_ref(), Some(&expected));
                assert!(delta.areas.is_empty() && delta.removed.is_empty());
                assert!(delta.roads.is_none() && delta.addresses.is_none());
            }
            CityChanges::Unknown => panic!("the log should tell"),
        }

        // Replacing the water leaves the rail yard; twice gives the same as once.
        let river = ground(
            "沙河",
            ExcludedKind::Water,
            rect(114.0, 33.56, 114.2, 33.57),
        );
        let removed = t
            .store
            .replace_excluded(ExcludedKind::Water, std::slice::from_ref(&river))
            .await
            .unwrap();
        assert_eq!(removed, 2, "the lake and the pond");
        let again = t
            .store
            .replace_excluded(ExcludedKind::Water, std::slice::from_ref(&river))
            .await
            .unwrap();
        assert_eq!(again, 1);
        let yard = city.excluded[1].clone();
        assert_eq!(
            t.store.load_city().await.unwrap().excluded,
            vec![yard.clone(), river.clone()]
        );

        // Ground of another kind than the one replaced is refused, nothing written.
        let version = t.store.data_version().await.unwrap();
        let refused = t
            .store
            .replace_excluded(ExcludedKind::Military, std::slice::from_ref(&river))
            .await;
        assert!(refused.is_err());
        assert_eq!(t.store.data_version().await.unwrap(), version);
        assert_eq!(
            t.store.load_city().await.unwrap().excluded,
            vec![yard, river]
        );
    })
    .await;
}

fn import_args(t: &TestStore, file: PathBuf, kind: &str, crs: Crs) -> ImportArgs {
    ImportArgs {
        file,
        store: gridmap_server::cli::StoreArgs {
            gpkg: t.gpkg_path.clone().unwrap_or_default(),
            database_url: t.database_url.clone(),
        },
        level: ImportLevel::Excluded,
        code_field: None,
        name_field: Some("NAME".to_owned()),
        parent_field: None,
        kind: Some(kind.to_owned()),
        crs,
        codes: Codes::National,
        layer: None,
        author: "test".to_owned(),
        reason: None,
    }
}

/// A GeoJSON `FeatureCollection` of polygons with a `NAME` property.
fn feature_collection(features: &[(&str, &[(f64, f64)])]) -> String {
    let features: Vec<serde_json::Value> = features
        .iter()
        .map(|(name, ring)| {
            serde_json::json!({
                "type": "Feature",
                "properties": {"NAME": name},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [ring.iter().map(|(x, y)| [x, y]).collect::<Vec<_>>()],
                },
            })
        })
        .collect();
    serde_json::json!({"type": "FeatureCollection", "features": features}).to_string()
}

#[tokio::test]
async fn import_level_excluded_converts_replaces_and_rejects_bad_files() {
    each_store(|t| async move {
        t.store
            .write_city(&small_city(), &note("test", 1))
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        // Counter-clockwise, in WGS-84.
        let river: &[(f64, f64)] = &[
            (114.02, 33.55),
            (114.18, 33.55),
            (114.18, 33.56),
            (114.02, 33.56),
            (114.02, 33.55),
        ];
        let water_file = dir.path().join("water.geojson");
        std::fs::write(&water_file, feature_collection(&[("沙河", river)])).unwrap();
        gridmap_server::commands::import::run(import_args(
            &t,
            water_file.clone(),
            "water",
            Crs::Wgs84,
        ))
        .await
        .unwrap();
        let expected_river = ground(
            "沙河",
            ExcludedKind::Water,
            MultiPolygon(vec![Polygon::new(river.to_vec().into(), vec![])]),
        );
        assert_eq!(
            t.store.load_city().await.unwrap().excluded,
            vec![expected_river.clone()]
        );

        // GCJ-02 (as read off Amap), clockwise: rewound and converted, one yard of two parts.
        let yard_gcj: &[(f64, f64)] = &[
            (114.15, 33.65),
            (114.15, 33.66),
            (114.16, 33.66),
            (114.16, 33.65),
            (114.15, 33.65),
        ];
        let rail_file = dir.path().join("rail.geojson");
        std::fs::write(&rail_file, feature_collection(&[("漯河货场", yard_gcj)])).unwrap();
        let rail = || import_args(&t, rail_file.clone(), "rail", Crs::Gcj02);
        gridmap_server::commands::import::run(rail()).await.unwrap();
        let loaded = t.store.load_city().await.unwrap().excluded;
        assert_eq!(loaded.len(), 2);
        assert_eq!(loaded[0], expected_river, "water left alone");
        let yard = &loaded[1];
        assert_eq!(
            (yard.name.as_str(), yard.kind),
            ("漯河货场", ExcludedKind::Rail)
        );
        // The test's conversion of each input vertex, in the stored (counter-clockwise) order.
        let mut expected: Vec<Coord<f64>> = yard_gcj
            .iter()
            .rev()
            .map(|&(x, y)| Crs::Gcj02.to_wgs84(Coord { x, y }))
            .collect();
        let stored: Vec<Coord<f64>> = yard.geometry.0[0].exterior().0.clone();
        // Same ring, possibly from another start vertex.
        let start = expected
            .iter()
            .position(|c| (c.x - stored[0].x).abs() < 1e-9 && (c.y - stored[0].y).abs() < 1e-9)
            .expect("the stored ring starts at a converted input vertex");
        expected.pop();
        expected.rotate_left(start);
        expected.push(expected[0]);
        assert_eq!(stored.len(), expected.len());
        for (s, e) in stored.iter().zip(&expected) {
            assert!(
                (s.x - e.x).abs() < 1e-9 && (s.y - e.y).abs() < 1e-9,
                "{s:?} vs {e:?}"
            );
        }
        // GCJ-02 is hundreds of metres off WGS-84 here: converted, not copied.
        assert!((stored[0].x - 114.15).abs() > 1e-3);

        // Re-importing the same file replaces, so the store is as after one import.
        gridmap_server::commands::import::run(rail()).await.unwrap();
        assert_eq!(t.store.load_city().await.unwrap().excluded, loaded);

        // A self-intersecting ring (and a missing name) rejects the whole file: nothing changes.
        let version = t.store.data_version().await.unwrap();
        let bowtie: &[(f64, f64)] = &[
            (114.02, 33.60),
            (114.04, 33.62),
            (114.04, 33.60),
            (114.02, 33.62),
            (114.02, 33.60),
        ];
        let bad_file = dir.path().join("bad.geojson");
        let mut bad = feature_collection(&[("新河", river), ("坏河", bowtie)]);
        bad = bad.replacen("\"NAME\":\"新河\"", "\"OTHER\":\"新河\"", 1);
        std::fs::write(&bad_file, bad).unwrap();
        let error =
            gridmap_server::commands::import::run(import_args(&t, bad_file, "water", Crs::Wgs84))
                .await
                .expect_err("a bad file is rejected");
        let message = format!("{error:#}");
        assert!(
            message.contains("feature 0") && message.contains("NAME"),
            "{message}"
        );
        assert!(
            message.contains("feature 1") && message.contains("geometry"),
            "{message}"
        );
        assert!(message.contains("nothing was written"), "{message}");
        assert_eq!(t.store.data_version().await.unwrap(), version);
        assert_eq!(t.store.load_city().await.unwrap().excluded, loaded);

        // No --kind, or an unknown one: refused before anything is read.
        let mut no_kind = import_args(&t, water_file.clone(), "water", Crs::Wgs84);
        no_kind.kind = None;
        assert!(
            gridmap_server::commands::import::run(no_kind)
                .await
                .is_err()
        );
        let unknown = import_args(&t, water_file, "lava", Crs::Wgs84);
        assert!(
            gridmap_server::commands::import::run(unknown)
                .await
                .is_err()
        );
        assert_eq!(t.store.data_version().await.unwrap(), version);
    })
    .await;
}

#[tokio::test]
async fn the_sample_store_has_the_river_as_water_in_tiles() {
    each_store(|t| async move {
        gridmap_server::serve::fill_with_sample(t.store.as_ref())
            .await
            .unwrap();
        let city = t.store.load_city().await.unwrap();
        let water = gridmap_data::sample_water();
        assert_eq!(city.excluded.len(), 1, "{}", t.backend);
        let river = &city.excluded[0];
        assert_eq!(
            (river.name.as_str(), river.kind),
            (gridmap_data::RIVER_NAME, ExcludedKind::Water)
        );
        let (stored, expected) = (
            river.geometry.geodesic_area_unsigned(),
            water.geodesic_area_unsigned(),
        );
        assert!(
            (stored - expected).abs() <= expected * 1e-12,
            "{stored} m² vs {expected} m²"
        );
        assert!(expected > 1e6, "the river is several km²: {expected}");

        let server = TestServer::start(t.store.clone(), ApiConfig::default()).await;
        // The snapshot carries it for plan validation.
        assert_eq!(&*server.state.snapshot().excluded, &city.excluded[..]);

        // Over the river: the layer's tile and the composite tile hold 沙河 where the point is.
        for z in [12u8, 14, 16] {
            let (x, y) = tile_of(MID_RIVER, z);
            for path in [
                format!("/tiles/excluded/{z}/{x}/{y}.mvt"),
                format!("/tiles/{z}/{x}/{y}.mvt"),
            ] {
                let tile = fetch(&server, &path).await;
                assert_eq!(tile.status, 200, "{path}");
                assert_eq!(
                    excluded_at(&tile.body, MID_RIVER, (z, x, y)),
                    vec![("沙河".to_owned(), "water".to_owned())],
                    "{path}"
                );
            }
        }
        // Below the layer's zooms there is none.
        let (x, y) = tile_of(MID_RIVER, 7);
        assert_eq!(
            fetch(&server, &format!("/tiles/excluded/7/{x}/{y}.mvt"))
                .await
                .status,
            204
        );

        // Away from it: a grid's tile at z15 whose bounds (widened by a quarter tile) miss the river's box.
        let river_box = water.bounding_rect().unwrap();
        let away = city
            .areas
            .iter()
            .filter(|a| a.level == Level::Grid)
            .find_map(|a| {
                let p = a.geometry.interior_point()?;
                let (x, y) = tile_of((p.x(), p.y()), 15);
                let b = tile_bounds(15, x, y);
                let (pad_x, pad_y) = (b.width() / 4.0, b.height() / 4.0);
                let clear = b.max().x + pad_x < river_box.min().x
                    || b.min().x - pad_x > river_box.max().x
                    || b.max().y + pad_y < river_box.min().y
                    || b.min().y - pad_y > river_box.max().y;
                clear.then_some((x, y))
            })
            .expect("a grid away from the river");
        let layer = fetch(
            &server,
            &format!("/tiles/excluded/15/{}/{}.mvt", away.0, away.1),
        )
        .await;
        assert_eq!(layer.status, 204);
        let composite = fetch(&server, &format!("/tiles/15/{}/{}.mvt", away.0, away.1)).await;
        assert_eq!(composite.status, 200, "the grids are there");
        assert!(excluded_names(&composite.body).is_empty());

        // TileJSON lists the layer with its fields.
        let (status, _, doc) = server.get("/tiles.json").await;
        assert_eq!(status, 200);
        let layer = doc["vector_layers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["id"] == "excluded")
            .expect("excluded in vector_layers")
            .clone();
        assert_eq!(
            layer["fields"],
            serde_json::json!({"name": "String", "kind": "String"})
        );
        let (status, _, doc) = server.get("/tiles/excluded.json").await;
        assert_eq!(status, 200);
        assert_eq!(doc["minzoom"], 8);
    })
    .await;
}

/// What QGIS does when a planner draws excluded ground: a row inserted in SQL, here with a micro-grid's outline.
async fn sql(t: &TestStore, statement: &str) {
    use sqlx::Connection;
    match t.backend {
        Backend::Postgis => {
            let mut db = sqlx::PgConnection::connect(t.database_url.as_ref().unwrap())
                .await
                .unwrap();
            sqlx::query(statement).execute(&mut db).await.unwrap();
        }
        Backend::Gpkg => {
            let url = format!("sqlite://{}", t.gpkg_path.as_ref().unwrap().display());
            let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
            sqlx::query(statement).execute(&mut db).await.unwrap();
        }
    }
}

/// Polls until `server`'s snapshot holds exactly `names` as excluded ground (at most 10 s).
async fn wait_for_excluded(server: &TestServer, names: &[&str], since: Instant) -> Duration {
    loop {
        let snapshot = server.state.snapshot();
        let now: Vec<&str> = snapshot.excluded.iter().map(|g| g.name.as_str()).collect();
        if now == names {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < Duration::from_secs(10),
            "never saw {names:?}, still {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn excluded_ground_edited_in_sql_reaches_a_running_server() {
    each_store(|t| async move {
        let city = small_city();
        t.store.write_city(&city, &note("test", 1)).await.unwrap();
        let server = TestServer::start(t.store.clone(), ApiConfig::default()).await;
        let watcher = spawn(server.state.clone(), WatchOptions::default());
        let micro = city.areas.iter().find(|a| a.code == MICRO_GRID).unwrap();
        let inside = micro.geometry.interior_point().unwrap();
        let p = (inside.x(), inside.y());
        let (x, y) = tile_of(p, 14);
        let path = format!("/tiles/excluded/14/{x}/{y}.mvt");
        let composite = format!("/tiles/14/{x}/{y}.mvt");
        let empty = fetch(&server, &path).await;
        assert_eq!(empty.status, 204);
        let before = fetch(&server, &composite).await;
        assert!(excluded_names(&before.body).is_empty());

        sql(
            &t,
            &format!(
                "INSERT INTO excluded (name, kind, geom) \
                 SELECT '营区', 'military', geom FROM areas WHERE code = '{MICRO_GRID}' AND valid_to IS NULL"
            ),
        )
        .await;
        let took = wait_for_excluded(&server, &["营区"], Instant::now()).await;
        println!("{}: SQL insert seen after {} ms", t.backend, took.as_millis());
        assert!(took < Duration::from_secs(2), "{took:?}");
        let excluded = &server.state.snapshot().excluded;
        assert_eq!(excluded[0].kind, ExcludedKind::Military);
        assert_eq!(excluded[0].geometry, micro.geometry);
        let drawn = fetch(&server, &path).await;
        assert_eq!(drawn.status, 200);
        assert_ne!(drawn.etag, empty.etag);
        assert_eq!(
            excluded_at(&drawn.body, p, (14, x, y)),
            vec![("营区".to_owned(), "military".to_owned())]
        );
        let after = fetch(&server, &composite).await;
        assert_ne!(after.etag, before.etag, "the composite tile was invalidated");
        assert_eq!(excluded_names(&after.body), vec!["营区".to_owned()]);

        // Deleted in SQL: gone from the snapshot and the tile.
        sql(&t, "DELETE FROM excluded").await;
        wait_for_excluded(&server, &[], Instant::now()).await;
        assert_eq!(fetch(&server, &path).await.status, 204);
        assert!(excluded_names(&fetch(&server, &composite).await.body).is_empty());
        watcher.abort();
    })
    .await;
}
