//! Both stores, same expectations: exact round trip, history, all-or-nothing writes,
//! `data_version`, and files/tables that GDAL, QGIS and PostGIS themselves accept.

use std::process::Command;
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use geo_types::{LineString, MultiPolygon, Point, Polygon};
use gridmap_core::{Address, Area, City, GridKind, Level, StaffMember, StaffRole};
use gridmap_server::store::ChangeNote;
use gridmap_tests::{
    Backend, at_second, backends, each_store, fresh_store, note, rect_ring, ring, small_city,
    tool_available,
};
use sqlx::{Connection, PgConnection, SqliteConnection};

/// Every coordinate of a city as raw bits, in order: equality means nothing was rounded.
fn coordinate_bits(city: &City) -> Vec<u64> {
    let mut bits = Vec::new();
    let mut ring = |ls: &LineString<f64>| {
        for c in &ls.0 {
            bits.extend([c.x.to_bits(), c.y.to_bits()]);
        }
    };
    for area in &city.areas {
        for polygon in &area.geometry.0 {
            ring(polygon.exterior());
            polygon.interiors().iter().for_each(&mut ring);
        }
    }
    for road in &city.roads {
        ring(&road.geometry);
    }
    for address in &city.addresses {
        bits.extend([address.point.x().to_bits(), address.point.y().to_bits()]);
    }
    bits
}

/// Shoelace formula: positive for counter-clockwise rings.
fn signed_area(ring: &LineString<f64>) -> f64 {
    ring.0
        .windows(2)
        .map(|w| w[0].x * w[1].y - w[1].x * w[0].y)
        .sum::<f64>()
        / 2.0
}

fn find<'a>(city: &'a City, code: &str) -> &'a Area {
    city.areas
        .iter()
        .find(|a| a.code == code)
        .unwrap_or_else(|| panic!("area {code} missing"))
}

const GRID: &str = "411104001001001";

/// The grid of the small city, redrawn: new name, one part, new staff.
fn redrawn_grid() -> Area {
    let mut grid = find(&small_city(), GRID).clone();
    "黄河路第一网格（调整）".clone_into(&mut grid.name);
    grid.geometry = MultiPolygon(vec![Polygon::new(
        rect_ring(
            114.012_345_678_901_2,
            33.501_234_567_890_12,
            114.030_7,
            33.530_9,
        ),
        vec![],
    )]);
    grid.staff = vec![
        StaffMember {
            name: "孙磊".to_owned(),
            phone: "13700000001".to_owned(),
            role: StaffRole::Leader,
        },
        StaffMember {
            name: "周婷".to_owned(),
            phone: "13700000002".to_owned(),
            role: StaffRole::FullTime,
        },
    ];
    grid
}

/// `count` micro-grids tiling a row west to east, each with one staff member.
fn micro_grids(count: usize, prefix: &str) -> Vec<Area> {
    (0..count)
        .map(|i| {
            let x = 114.0 + i as f64 * 1.0e-4;
            Area {
                code: format!("{prefix}{i:06}"),
                name: format!("微网格{i}"),
                level: Level::MicroGrid,
                kind: Some(GridKind::Residential),
                parent: Some(GRID.to_owned()),
                geometry: MultiPolygon(vec![Polygon::new(
                    rect_ring(x, 33.5, x + 1.0e-4, 33.500_1 + i as f64 * 1.0e-9),
                    vec![],
                )]),
                staff: vec![StaffMember {
                    name: format!("网格员{i}"),
                    phone: format!("136{i:08}"),
                    role: StaffRole::PartTime,
                }],
            }
        })
        .collect()
}

#[tokio::test]
async fn small_city_round_trips_exactly() {
    each_store(|t| async move {
        let city = small_city();
        assert!(t.store.is_empty().await.expect("is_empty"));
        t.store.ping().await.expect("ping");
        let outcome = t
            .store
            .write_city(&city, &note("alice", 0))
            .await
            .expect("write");
        assert_eq!((outcome.inserted, outcome.superseded), (7, 0));
        assert!(!t.store.is_empty().await.expect("is_empty"));

        let loaded = t.store.load_city().await.expect("load");
        assert_eq!(coordinate_bits(&loaded), coordinate_bits(&city));
        assert_eq!(loaded, city);
        // The street keeps its lake as a hole; the grid keeps its two parts.
        assert_eq!(
            find(&loaded, "411104001").geometry.0[0].interiors().len(),
            1
        );
        assert_eq!(find(&loaded, GRID).geometry.0.len(), 2);
        assert_eq!(find(&loaded, GRID).staff.len(), 5);
    })
    .await;
}

#[tokio::test]
async fn clockwise_exteriors_come_back_counter_clockwise() {
    each_store(|t| async move {
        let exterior = rect_ring(114.0, 33.5, 114.1, 33.6);
        let hole = ring(&[
            (114.02, 33.52),
            (114.04, 33.52),
            (114.04, 33.54),
            (114.02, 33.54),
        ]);
        let reversed = |ls: &LineString<f64>| LineString(ls.0.iter().rev().copied().collect());
        // As some editors draw it: exterior clockwise, hole counter-clockwise.
        let mut area = find(&small_city(), "411104").clone();
        area.geometry = MultiPolygon(vec![Polygon::new(reversed(&exterior), vec![hole.clone()])]);
        let city = City {
            areas: vec![area],
            ..City::default()
        };
        t.store
            .write_city(&city, &note("alice", 0))
            .await
            .expect("write");

        let loaded = t.store.load_city().await.expect("load");
        let polygon = &loaded.areas[0].geometry.0[0];
        assert!(
            signed_area(polygon.exterior()) > 0.0,
            "exterior must be CCW"
        );
        assert!(
            signed_area(&polygon.interiors()[0]) < 0.0,
            "holes must be CW"
        );
        // Same rings, only their direction changed.
        assert_eq!(polygon.exterior(), &exterior);
        assert_eq!(polygon.interiors()[0], reversed(&hole));
    })
    .await;
}

#[tokio::test]
async fn a_second_write_closes_the_old_version_and_keeps_it() {
    each_store(|t| async move {
        let city = small_city();
        t.store
            .write_city(&city, &note("alice", 0))
            .await
            .expect("first write");
        let before = t.store.data_version().await.expect("data_version");

        // Sub-millisecond digits are dropped by both stores.
        let at = at_second(60) + TimeDelta::nanoseconds(123_456_789);
        let change = ChangeNote {
            author: "bob".to_owned(),
            reason: "社区调整边界".to_owned(),
            at,
        };
        let update = City {
            areas: vec![redrawn_grid()],
            ..City::default()
        };
        let outcome = t
            .store
            .write_city(&update, &change)
            .await
            .expect("second write");
        assert_eq!((outcome.inserted, outcome.superseded), (1, 1));
        assert!(t.store.data_version().await.expect("data_version") > before);

        let history = t.store.area_history(GRID).await.expect("history");
        assert_eq!(history.len(), 2);
        let stored_at = at_second(60) + TimeDelta::milliseconds(123);
        let (old, new) = (&history[0], &history[1]);
        assert_eq!((old.version, new.version), (1, 2));
        assert_eq!(old.valid_from, at_second(0));
        assert_eq!(old.valid_to, Some(stored_at));
        assert_eq!((new.valid_from, new.valid_to), (stored_at, None));
        assert_eq!((old.author.as_str(), new.author.as_str()), ("alice", "bob"));
        assert_eq!(new.reason, "社区调整边界");
        // The old boundary is kept exactly; staff belongs to the current version only.
        let original = find(&city, GRID);
        assert_eq!(old.area.geometry, original.geometry);
        assert_eq!(old.area.name, original.name);
        assert!(old.area.staff.is_empty());
        assert_eq!(new.area, redrawn_grid());

        let loaded = t.store.load_city().await.expect("load");
        assert_eq!(loaded.areas.len(), 7);
        assert_eq!(find(&loaded, GRID), &redrawn_grid());
        for area in city.areas.iter().filter(|a| a.code != GRID) {
            assert_eq!(find(&loaded, &area.code), area);
        }
        // The second write had no addresses or roads: the first write's are still there.
        assert_eq!(loaded.addresses, city.addresses);
        assert_eq!(loaded.roads, city.roads);

        assert_eq!(
            t.store.area_history("411104").await.expect("history").len(),
            1
        );
        assert!(
            t.store
                .area_history("999999")
                .await
                .expect("history")
                .is_empty()
        );
    })
    .await;
}

#[tokio::test]
async fn a_failed_write_changes_nothing() {
    each_store(|t| async move {
        let city = small_city();
        t.store
            .write_city(&city, &note("alice", 0))
            .await
            .expect("first write");
        let before = t.store.load_city().await.expect("load");
        let version_before = t.store.data_version().await.expect("data_version");

        // A new version of an existing grid, then more areas than one statement holds, then a
        // duplicate of one of them: the failure comes after many rows were already written.
        let mut areas = vec![redrawn_grid()];
        let new = micro_grids(1_500, "411104001001001");
        areas.extend(new.iter().cloned());
        areas.push(new[3].clone());
        let bad = City {
            areas,
            addresses: city.addresses.clone(),
            roads: city.roads.clone(),
            excluded: Vec::new(),
        };
        let error = t
            .store
            .write_city(&bad, &note("mallory", 60))
            .await
            .expect_err("a batch with a duplicate code must fail");
        assert!(error.is_conflict(), "expected a conflict, got {error}");

        // A change dated before the version it closes breaks valid_from <= valid_to.
        let backdated = City {
            areas: vec![redrawn_grid()],
            ..City::default()
        };
        let error = t
            .store
            .write_city(&backdated, &note("mallory", -60))
            .await
            .expect_err("a backdated change must fail");
        assert!(!error.is_conflict());

        // An area without geometry is refused before anything is written.
        let mut empty = redrawn_grid();
        empty.geometry = MultiPolygon(vec![]);
        let empty = City {
            areas: vec![empty],
            ..City::default()
        };
        t.store
            .write_city(&empty, &note("mallory", 120))
            .await
            .expect_err("an empty geometry must fail");

        assert_eq!(t.store.load_city().await.expect("load"), before);
        assert_eq!(
            t.store.data_version().await.expect("data_version"),
            version_before
        );
        let history = t.store.area_history(GRID).await.expect("history");
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].valid_to, None);
    })
    .await;
}

#[tokio::test]
async fn batches_larger_than_one_statement_round_trip() {
    each_store(|t| async move {
        let mut city = small_city();
        city.areas.extend(micro_grids(12_000, "411104001001001"));
        city.addresses = (0..6_000)
            .map(|i| Address {
                full: format!("漯河市召陵区黄河路{i}号"),
                road: "黄河路".to_owned(),
                number: i.to_string(),
                building: String::new(),
                point: Point::new(114.0 + f64::from(i) * 1.0e-5, 33.5 + f64::from(i) * 1.0e-7),
            })
            .collect();
        let started = Instant::now();
        let outcome = t
            .store
            .write_city(&city, &note("alice", 0))
            .await
            .expect("write");
        let write = started.elapsed();
        assert_eq!(outcome.inserted, 12_007);
        let started = Instant::now();
        let loaded = t.store.load_city().await.expect("load");
        eprintln!(
            "{}: wrote 12,007 areas + 6,000 addresses in {write:?}, loaded in {:?}",
            t.backend,
            started.elapsed()
        );
        assert_eq!(coordinate_bits(&loaded), coordinate_bits(&city));
        assert_eq!(loaded, city);
    })
    .await;
}

#[tokio::test]
async fn data_version_grows_with_every_change_including_direct_edits() {
    each_store(|t| async move {
        let empty = t.store.data_version().await.expect("data_version");
        t.store
            .write_city(&small_city(), &note("alice", 0))
            .await
            .expect("write");
        let first = t.store.data_version().await.expect("data_version");
        assert!(first > empty);
        let update = City {
            areas: vec![redrawn_grid()],
            ..City::default()
        };
        t.store
            .write_city(&update, &note("bob", 60))
            .await
            .expect("write");
        let second = t.store.data_version().await.expect("data_version");
        assert!(second > first);

        // Someone edits a name in QGIS, behind gridmap's back.
        let edit = "UPDATE areas SET name = 'renamed' WHERE code = '411104'";
        match t.backend {
            Backend::Gpkg => {
                let path = t.gpkg_path.as_ref().expect("gpkg path");
                let url = format!("sqlite://{}", path.display());
                let mut conn = SqliteConnection::connect(&url)
                    .await
                    .expect("open the file");
                sqlx::query(edit).execute(&mut conn).await.expect("edit");
                conn.close().await.expect("close");
            }
            Backend::Postgis => {
                let url = t.database_url.as_ref().expect("database url");
                let mut listener = sqlx::postgres::PgListener::connect(url)
                    .await
                    .expect("listen");
                listener.listen("gridmap_changes").await.expect("listen");
                let mut conn = PgConnection::connect(url).await.expect("connect");
                sqlx::query(edit).execute(&mut conn).await.expect("edit");
                let notification = tokio::time::timeout(Duration::from_secs(10), listener.recv())
                    .await
                    .expect("a notification within 10 s")
                    .expect("a notification");
                assert!(
                    notification.payload().contains("\"areas\""),
                    "{notification:?}"
                );
            }
        }
        assert!(t.store.data_version().await.expect("data_version") > second);
        assert_eq!(
            find(&t.store.load_city().await.expect("load"), "411104").name,
            "renamed"
        );
    })
    .await;
}

/// Runs ogrinfo, failing on any warning or error it prints.
fn ogrinfo(args: &[&str]) -> String {
    let out = Command::new("ogrinfo")
        .args(args)
        .output()
        .expect("run ogrinfo");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "ogrinfo {args:?} failed: {stderr}");
    assert!(
        !stderr.contains("Warning") && !stderr.contains("ERROR"),
        "ogrinfo {args:?} complained: {stderr}"
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn gdal_opens_the_geopackage() {
    let (t, guard) = fresh_store(Backend::Gpkg).await;
    t.store
        .write_city(&small_city(), &note("alice", 0))
        .await
        .expect("write");
    // With a piece of excluded ground (a lake with an island), which GDAL reads as a layer of its own.
    let update = City {
        areas: vec![redrawn_grid()],
        excluded: vec![gridmap_core::ExcludedGround {
            name: "东湖".to_owned(),
            kind: gridmap_core::ExcludedKind::Water,
            geometry: MultiPolygon(vec![Polygon::new(
                rect_ring(114.03, 33.52, 114.04, 33.53),
                vec![rect_ring(114.031, 33.521, 114.034, 33.524)],
            )]),
        }],
        ..City::default()
    };
    t.store
        .write_city(&update, &note("bob", 60))
        .await
        .expect("write");
    let path = t.gpkg_path.clone().expect("gpkg path");
    drop(t);

    // GeoPackage header: application_id "GPKG" at byte 68, user_version at byte 60.
    let bytes = std::fs::read(&path).expect("read the file");
    assert_eq!(&bytes[68..72], b"GPKG");
    assert_eq!(
        u32::from_be_bytes(bytes[60..64].try_into().expect("4 bytes")),
        10_300
    );

    if tool_available("ogrinfo") {
        let file = path.to_str().expect("utf-8 path");
        let layers = ogrinfo(&["-ro", file]);
        for line in [
            "1: areas (Multi Polygon)",
            "2: addresses (Point)",
            "3: roads (Line String)",
            "4: reports (Point)",
            "5: patrol_fixes (Point)",
            "6: excluded (Multi Polygon)",
            "7: staff (None)",
            "8: report_events (None)",
            "9: plans (None)",
        ] {
            assert!(layers.contains(line), "missing `{line}` in:\n{layers}");
        }
        // Nothing else (sqlx's bookkeeping, the data_version counter) shows up as a layer.
        let listed = layers
            .lines()
            .filter(|l| {
                l.split_once(": ")
                    .is_some_and(|(n, _)| n.parse::<u32>().is_ok())
            })
            .count();
        // Patrol fixes (issue 5) are a point layer of their own; plans (issue 6) an attribute table; excluded
        // ground (issue 12) a polygon layer.
        assert_eq!(listed, 9, "{layers}");

        let summary = ogrinfo(&[
            "-ro",
            "-so",
            file,
            "areas",
            "addresses",
            "roads",
            "staff",
            "excluded",
        ]);
        let layer = |name: &str| -> String {
            let start = summary
                .find(&format!("Layer name: {name}\n"))
                .unwrap_or_else(|| panic!("no layer {name} in:\n{summary}"));
            let rest = &summary[start + 1..];
            rest[..rest.find("Layer name:").unwrap_or(rest.len())].to_owned()
        };
        // Both versions of the redrawn grid are features; 5 + 1 staff, then the grid's 5 replaced by 2.
        for (name, geometry, count) in [
            ("areas", "Multi Polygon", 8),
            ("addresses", "Point", 3),
            ("roads", "Line String", 2),
            ("staff", "None", 3),
            ("excluded", "Multi Polygon", 1),
        ] {
            let text = layer(name);
            assert!(text.contains(&format!("Geometry: {geometry}\n")), "{text}");
            assert!(
                text.contains(&format!("Feature Count: {count}\n")),
                "{text}"
            );
        }
        // The extent GDAL reads from gpkg_contents is the small city's bounding box.
        assert!(
            layer("areas").contains("Extent: (114.012346, 33.501235) - (114.198765, 33.698765)"),
            "{}",
            layer("areas")
        );
        // GDAL decodes the street with its hole: two rings.
        let street = ogrinfo(&["-ro", "-q", file, "areas", "-where", "code = '411104001'"]);
        assert_eq!(street.matches("MULTIPOLYGON (((").count(), 1, "{street}");
        assert_eq!(street.matches("),(").count(), 1, "{street}");
        // And the lake with its island, its kind and name as fields.
        let lake = ogrinfo(&["-ro", "-q", file, "excluded"]);
        assert!(
            lake.contains("kind (String) = water") && lake.contains("name (String) = 东湖"),
            "{lake}"
        );
        assert_eq!(lake.matches("),(").count(), 1, "{lake}");
    }
    guard.release().await;
}

#[tokio::test]
async fn postgis_tables_are_typed_indexed_and_valid() {
    if !backends().contains(&Backend::Postgis) {
        return;
    }
    let (t, guard) = fresh_store(Backend::Postgis).await;
    t.store
        .write_city(&small_city(), &note("alice", 0))
        .await
        .expect("write");
    let url = t.database_url.clone().expect("database url");
    let mut conn = PgConnection::connect(&url).await.expect("connect");

    for (table, expected) in [
        ("areas", "MULTIPOLYGON"),
        ("addresses", "POINT"),
        ("roads", "LINESTRING"),
        ("excluded", "MULTIPOLYGON"),
    ] {
        let (kind, srid): (String, i32) = sqlx::query_as(
            "SELECT type, srid FROM geometry_columns \
             WHERE f_table_name = $1 AND f_geometry_column = 'geom'",
        )
        .bind(table)
        .fetch_one(&mut conn)
        .await
        .expect("geometry_columns row");
        assert_eq!((kind.as_str(), srid), (expected, 4326), "{table}");

        let gist: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_index i \
               JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam \
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) \
             WHERE i.indrelid = $1::regclass AND am.amname = 'gist' AND a.attname = 'geom')",
        )
        .bind(table)
        .fetch_one(&mut conn)
        .await
        .expect("catalog query");
        assert!(gist, "{table}.geom needs a GiST index");

        let primary_key: Vec<String> = sqlx::query_scalar(
            "SELECT a.attname::text FROM pg_index i \
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) \
             WHERE i.indrelid = $1::regclass AND i.indisprimary",
        )
        .bind(table)
        .fetch_all(&mut conn)
        .await
        .expect("catalog query");
        assert_eq!(
            primary_key,
            ["fid"],
            "{table} needs a primary key QGIS can edit with"
        );
    }

    let current_code_unique: String = sqlx::query_scalar(
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i \
         WHERE i.indrelid = 'areas'::regclass AND i.indisunique AND i.indpred IS NOT NULL",
    )
    .fetch_one(&mut conn)
    .await
    .expect("a partial unique index on areas");
    assert!(
        current_code_unique.contains("(code) WHERE (valid_to IS NULL)"),
        "{current_code_unique}"
    );

    let (count, valid, holes): (i64, bool, i64) = sqlx::query_as(
        "SELECT count(*), bool_and(ST_IsValid(geom)), \
                sum(ST_NumInteriorRings(ST_GeometryN(geom, 1)))::bigint FROM areas",
    )
    .fetch_one(&mut conn)
    .await
    .expect("validity query");
    assert_eq!(
        (count, valid, holes),
        (7, true, 2),
        "street and community each have the lake"
    );
    // The kind CHECK of excluded ground holds.
    let bad_kind = sqlx::query(
        "INSERT INTO excluded (name, kind, geom) SELECT 'x', 'lava', geom FROM areas LIMIT 1",
    )
    .execute(&mut conn)
    .await;
    assert!(bad_kind.is_err(), "kind `lava` accepted");
    let parts: i32 = sqlx::query_scalar("SELECT ST_NumGeometries(geom) FROM areas WHERE code = $1")
        .bind(GRID)
        .fetch_one(&mut conn)
        .await
        .expect("grid parts");
    assert_eq!(parts, 2);
    conn.close().await.expect("close");
    drop(t);
    guard.release().await;
}

/// Not a test: measures a 100,000-micro-grid write and load on every store.
/// `cargo test -p gridmap-tests --release --test store -- --ignored --nocapture`
#[tokio::test]
#[ignore = "a measurement, ~a minute"]
async fn measure_100k_micro_grids() {
    each_store(|t| async move {
        let mut city = small_city();
        city.areas.extend(micro_grids(100_000, "411104001001001"));
        let started = Instant::now();
        t.store
            .write_city(&city, &note("alice", 0))
            .await
            .expect("write");
        let write = started.elapsed();
        let started = Instant::now();
        let loaded = t.store.load_city().await.expect("load");
        eprintln!(
            "{}: 100,007 areas, 100,011 staff: write {write:?}, load {:?}",
            t.backend,
            started.elapsed()
        );
        assert_eq!(loaded.areas.len(), 100_007);
    })
    .await;
}
