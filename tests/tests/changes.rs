//! Replicas catch up from the store's change log (`migrations/*/0007_change_log.sql`) instead of reloading
//! the whole city. After edits made through gridmap and directly in SQL as QGIS makes them (a new version,
//! a name changed in place, a retirement, staff deleted, a road deleted, an address added), the log names
//! exactly the codes the test changed, and the snapshot patched with them answers exactly as one built
//! afresh from the store: same areas with staff, same lookups, same tile bytes.

use std::collections::BTreeSet;

use geo::{AffineOps, AffineTransform, BoundingRect, Centroid};
use gridmap_core::{Area, City, Level};
use gridmap_server::AppState;
use gridmap_server::state::{ApiConfig, Snapshot};
use gridmap_server::store::{CityChanges, CityDelta};
use gridmap_tests::{Backend, TestStore, each_store, note};
use gridmap_tiles::{LAYERS, TileCoord};

/// Runs one statement on the test's database, as an editor connected beside gridmap would.
async fn edit_in_sql(t: &TestStore, postgis: &str, gpkg: &str) {
    use sqlx::Connection;
    match t.backend {
        Backend::Postgis => {
            let url = t.database_url.as_ref().expect("database url");
            let mut db = sqlx::PgConnection::connect(url).await.expect("connect");
            sqlx::query(postgis).execute(&mut db).await.expect(postgis);
        }
        Backend::Gpkg => {
            let path = t.gpkg_path.as_ref().expect("gpkg path");
            let url = format!("sqlite://{}", path.display());
            let mut db = sqlx::SqliteConnection::connect(&url).await.expect("open");
            sqlx::query(gpkg).execute(&mut db).await.expect(gpkg);
        }
    }
}

fn delta(changes: CityChanges) -> CityDelta {
    match changes {
        CityChanges::Delta(d) => d,
        CityChanges::Unknown => panic!("the change log should reach back to the snapshot"),
    }
}

fn ordinary(city: &City, level: Level) -> Vec<&Area> {
    city.areas
        .iter()
        .filter(|a| a.level == level && !a.is_exclusive())
        .collect()
}

/// The patched snapshot answers as the fresh one: areas (with staff) in the same order, every address and a
/// lattice of points located alike, and every layer of the tiles over `around` encoded to the same bytes.
fn assert_same(patched: &Snapshot, fresh: &Snapshot, around: &[&Area]) {
    assert_eq!(patched.index.areas(), fresh.index.areas());
    assert_eq!(patched.addresses.len(), fresh.addresses.len());
    assert_eq!(patched.roads.len(), fresh.roads.len());
    let bounds = fresh.tiles.bounds().expect("bounds");
    let mut points: Vec<geo_types::Coord<f64>> =
        fresh.addresses.iter().map(|a| a.point.0).collect();
    for i in 0..60 {
        for j in 0..60 {
            points.push(geo_types::coord! {
                x: bounds.min().x + bounds.width() * (f64::from(i) + 0.5) / 60.0,
                y: bounds.min().y + bounds.height() * (f64::from(j) + 0.5) / 60.0,
            });
        }
    }
    for p in &points {
        assert_eq!(patched.index.locate(*p), fresh.index.locate(*p), "at {p:?}");
    }
    let mut tiles = BTreeSet::new();
    for area in around {
        let r = area.geometry.bounding_rect().expect("bounds");
        for z in [12u8, 14, 16] {
            for (x, y) in [(r.min().x, r.min().y), (r.max().x, r.max().y)] {
                let t = TileCoord::containing(x, y, z).expect("tile");
                tiles.insert((t.z(), t.x(), t.y()));
            }
        }
    }
    for (z, x, y) in tiles {
        let tile = TileCoord::new(u32::from(z), x, y).expect("tile");
        for (layer, spec) in LAYERS.iter().enumerate() {
            assert_eq!(
                patched
                    .tiles
                    .render(&patched.index, &patched.roads, layer, tile),
                fresh.tiles.render(&fresh.index, &fresh.roads, layer, tile),
                "layer {} of {z}/{x}/{y}",
                spec.name
            );
        }
    }
}

#[tokio::test]
#[allow(
    clippy::too_many_lines,
    reason = "one sequence of edits, told in order"
)]
async fn a_snapshot_patched_from_the_change_log_equals_a_fresh_load() {
    each_store(|t| async move {
        let city = gridmap_data::sample_city();
        t.store
            .write_city(&city, &note("import", 1))
            .await
            .expect("import");
        let state = AppState::load(t.store.clone(), ApiConfig::default())
            .await
            .expect("load");
        let before = state.snapshot();
        let v0 = before.data_version;
        assert!(delta(t.store.changes_since(v0).await.expect("log")).is_empty());

        let grids = ordinary(&city, Level::Grid);
        let micro = ordinary(&city, Level::MicroGrid);
        // Through gridmap: a new version of a grid, shrunk about its centre, with one staff member.
        let mut shrunk = grids[0].clone();
        let centre = shrunk.geometry.centroid().expect("centre");
        shrunk.geometry = shrunk
            .geometry
            .affine_transform(&AffineTransform::scale(0.9, 0.9, centre));
        shrunk.staff.truncate(1);
        let one = City {
            areas: vec![shrunk.clone()],
            addresses: Vec::new(),
            roads: Vec::new(),
            excluded: Vec::new(),
        };
        t.store
            .write_city(&one, &note("planner", 2))
            .await
            .expect("write one area");
        // In SQL, as QGIS's attribute table does: a name changed in place, a micro-grid retired, a grid's staff
        // deleted.
        let renamed = grids[1].code.clone();
        let retired = micro[5].code.clone();
        let unstaffed = grids
            .iter()
            .find(|g| !g.staff.is_empty() && g.code != grids[0].code && g.code != renamed)
            .expect("a staffed grid")
            .code
            .clone();
        edit_in_sql(
            &t,
            &format!("UPDATE areas SET name = 'QGIS 改名' WHERE code = '{renamed}' AND valid_to IS NULL"),
            &format!("UPDATE areas SET name = 'QGIS 改名' WHERE code = '{renamed}' AND valid_to IS NULL"),
        )
        .await;
        edit_in_sql(
            &t,
            &format!("UPDATE areas SET valid_to = now() WHERE code = '{retired}' AND valid_to IS NULL"),
            &format!(
                "UPDATE areas SET valid_to = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') \
                 WHERE code = '{retired}' AND valid_to IS NULL"
            ),
        )
        .await;
        let staff_sql = format!("DELETE FROM staff WHERE area_code = '{unstaffed}'");
        edit_in_sql(&t, &staff_sql, &staff_sql).await;

        let d = delta(t.store.changes_since(v0).await.expect("log"));
        let changed: BTreeSet<&str> = d.areas.iter().map(|a| a.code.as_str()).collect();
        let expected: BTreeSet<&str> =
            [grids[0].code.as_str(), renamed.as_str(), unstaffed.as_str()].into();
        assert_eq!(changed, expected, "changed areas");
        assert_eq!(d.removed, std::slice::from_ref(&retired));
        assert!(d.addresses.is_none() && d.roads.is_none());
        let staffless = d.areas.iter().find(|a| a.code == unstaffed).expect("in delta");
        assert!(staffless.staff.is_empty());
        assert_eq!(d.data_version, t.store.data_version().await.expect("version"));

        assert!(state.reload_if_stale().await.expect("catch up"));
        let patched = state.snapshot();
        assert_eq!(patched.data_version, d.data_version);
        // Shared, not copied: the addresses did not change.
        assert!(std::sync::Arc::ptr_eq(&patched.addresses, &before.addresses));
        let fresh = Snapshot::build(t.store.load_city().await.expect("load"), 0);
        let around = [grids[0], grids[1], micro[5]];
        assert_same(&patched, &fresh, &around);
        assert_eq!(
            patched.index.by_code(&renamed).map(|id| patched.index.area(id).name.as_str()),
            Some("QGIS 改名")
        );
        assert!(patched.index.by_code(&retired).is_none());

        // Roads and addresses are logged per layer: a road deleted and an address added come as whole layers.
        let v1 = patched.data_version;
        let road = &city.roads[0].name;
        edit_in_sql(
            &t,
            &format!("DELETE FROM roads WHERE fid = (SELECT min(fid) FROM roads WHERE name = '{road}')"),
            &format!("DELETE FROM roads WHERE fid = (SELECT min(fid) FROM roads WHERE name = '{road}')"),
        )
        .await;
        edit_in_sql(
            &t,
            "INSERT INTO addresses (full_address, road, number, building, geom) \
             SELECT '测试路1号', '测试路', '1号', '', geom FROM addresses WHERE fid = (SELECT min(fid) FROM addresses)",
            "INSERT INTO addresses (full_address, road, number, building, geom) \
             SELECT '测试路1号', '测试路', '1号', '', geom FROM addresses WHERE fid = (SELECT min(fid) FROM addresses)",
        )
        .await;
        let d = delta(t.store.changes_since(v1).await.expect("log"));
        assert!(d.areas.is_empty() && d.removed.is_empty());
        assert_eq!(d.roads.as_ref().map(Vec::len), Some(city.roads.len() - 1));
        assert_eq!(d.addresses.as_ref().map(Vec::len), Some(city.addresses.len() + 1));
        assert!(state.reload_if_stale().await.expect("catch up"));
        let patched = state.snapshot();
        let fresh = Snapshot::build(t.store.load_city().await.expect("load"), 0);
        assert_same(&patched, &fresh, &around);
        assert!(
            patched
                .address_index
                .search("测试路1号", 1)
                .first()
                .is_some_and(|m| patched.addresses[m.address].full == "测试路1号"),
            "the new address is found"
        );
    })
    .await;
}

/// A TRUNCATE (PostGIS) logs the whole layer: the log cannot say what went, so the server reloads everything.
#[tokio::test]
async fn a_truncated_layer_asks_for_a_full_reload() {
    each_store(|t| async move {
        if t.backend != Backend::Postgis {
            return; // SQLite has no TRUNCATE
        }
        t.store
            .write_city(&gridmap_tests::small_city(), &note("import", 1))
            .await
            .expect("import");
        let v0 = t.store.data_version().await.expect("version");
        edit_in_sql(&t, "TRUNCATE staff", "").await;
        assert_eq!(
            t.store.changes_since(v0).await.expect("log"),
            CityChanges::Unknown
        );
        // A snapshot from another store (a version the store never had) is not patched either.
        assert_eq!(
            t.store.changes_since(v0 + 1_000).await.expect("log"),
            CityChanges::Unknown
        );
    })
    .await;
}
