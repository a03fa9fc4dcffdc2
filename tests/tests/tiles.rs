//! Vector tiles through real HTTP on both stores: decoded with the tests' own MVT decoder and compared with
//! the source polygons clipped to the tile by geo's `BooleanOps` (independent projection too), attributes,
//! zoom ranges, HTTP behaviour (204, 400, ETag/304, gzip), `TileJSON`, and precise cache invalidation.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

use std::collections::{BTreeSet, HashMap};
use std::io::Read as _;
use std::path::PathBuf;

use geo::{Area as _, BoundingRect, Contains, InteriorPoint, MapCoords};
use geo_types::{Coord, MultiPolygon, Point, Rect};
use gridmap_core::{Area, City, Crs, Level};
use gridmap_server::commands::import::{Codes, ImportArgs};
use gridmap_server::state::ApiConfig;
use gridmap_tests::mvt::{
    DLayer, DValue, decode_tile, dump, max_vertex_distance, polygons, reference_clip, replay,
    to_tile_units,
};
use gridmap_tests::{TestServer, TestStore, each_store, fetch_with, note};

const EXTENT: f64 = 4096.0;
const BUFFER: f64 = 64.0;
/// Tile units per screen pixel (512 px tiles).
const PX: f64 = 8.0;

/// The tile at zoom `z` holding a WGS-84 point, by the textbook formulas (not the server's code).
fn tile_of(lon: f64, lat: f64, z: u8) -> (u32, u32) {
    let n = 2f64.powi(i32::from(z));
    let x = ((lon + 180.0) / 360.0 * n).floor();
    let phi = lat.to_radians();
    let y = ((1.0 - (phi.tan() + 1.0 / phi.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor();
    (x as u32, y as u32)
}

/// The layer an area belongs in, by the rules.
fn expected_layer(area: &Area) -> &'static str {
    if area.is_exclusive() {
        return "exclusive";
    }
    match area.level {
        Level::District => "districts",
        Level::Street => "streets",
        Level::Community => "communities",
        Level::Grid => "grids",
        Level::MicroGrid => "micro_grids",
    }
}

/// The zoom from which a layer has features (the issue: micro-grids from 15; the rest per the README).
fn min_zoom(layer: &str) -> u8 {
    match layer {
        "districts" => 0,
        "streets" => 8,
        "grids" => 10,
        "communities" => 11,
        "exclusive" => 13,
        "micro_grids" => 15,
        other => panic!("no zoom for {other}"),
    }
}

fn string_attr(layer: &DLayer, f: &gridmap_tests::mvt::DFeature, key: &str) -> Option<String> {
    layer
        .attributes(f)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| match v {
            DValue::Str(s) => s,
            other => panic!("{key} is not a string: {other:?}"),
        })
}

/// The source projected to tile units, for containment checks of label points.
fn project(area: &MultiPolygon<f64>, z: u8, x: u32, y: u32) -> MultiPolygon<f64> {
    area.map_coords(|c| {
        let (tx, ty) = to_tile_units(c.x, c.y, z, x, y, EXTENT);
        Coord { x: tx, y: ty }
    })
}

/// Whether the area's bbox meets the buffered tile.
fn bbox_meets_tile(area: &Area, z: u8, x: u32, y: u32) -> bool {
    let r = area.geometry.bounding_rect().unwrap();
    let (x0, y0) = to_tile_units(r.min().x, r.max().y, z, x, y, EXTENT);
    let (x1, y1) = to_tile_units(r.max().x, r.min().y, z, x, y, EXTENT);
    !(x1 < -BUFFER || x0 > EXTENT + BUFFER || y1 < -BUFFER || y0 > EXTENT + BUFFER)
}

/// Fetches one polygon layer of one tile and checks it against the source: every feature's attributes and
/// geometry (within a pixel of the reference clip, both ways), and every area with more than a few square
/// pixels in the tile present. Returns the number of features.
async fn check_polygon_layer(
    server: &TestServer,
    areas: &[Area],
    layer_name: &str,
    (z, x, y): (u8, u32, u32),
) -> usize {
    let got = fetch_with(server, &format!("/tiles/{layer_name}/{z}/{x}/{y}.mvt"), &[]).await;
    let tile = format!("{layer_name} {z}/{x}/{y}");
    if z < min_zoom(layer_name) {
        assert_eq!(got.status, 204, "{tile}: below the layer's zooms");
        return 0;
    }
    let candidates: Vec<&Area> = areas
        .iter()
        .filter(|a| expected_layer(a) == layer_name && bbox_meets_tile(a, z, x, y))
        .collect();
    let mut expected: HashMap<&str, MultiPolygon<f64>> = HashMap::new();
    for a in &candidates {
        let clip = reference_clip(&a.geometry, z, x, y, EXTENT, BUFFER);
        if clip.unsigned_area() >= 4.0 * PX * PX {
            expected.insert(a.code.as_str(), clip);
        }
    }
    if got.status == 204 {
        assert!(
            expected.is_empty(),
            "{tile}: 204 but {} areas are in it",
            expected.len()
        );
        return 0;
    }
    assert_eq!(got.status, 200, "{tile}");
    assert_eq!(
        got.header("content-type"),
        "application/vnd.mapbox-vector-tile"
    );
    let layers = decode_tile(&got.body);
    assert_eq!(layers.len(), 1, "{tile}: one layer");
    let layer = &layers[0];
    assert_eq!(
        (layer.name.as_str(), layer.version, layer.extent),
        (layer_name, 2, 4096)
    );
    let by_code: HashMap<&str, &Area> = candidates.iter().map(|a| (a.code.as_str(), *a)).collect();
    let mut seen = BTreeSet::new();
    for f in &layer.features {
        assert_eq!(f.geom_type, 3, "{tile}: polygon");
        let code = string_attr(layer, f, "code").expect("code");
        let area = by_code
            .get(code.as_str())
            .unwrap_or_else(|| panic!("{tile}: feature {code} is not a source area of this layer"));
        assert!(seen.insert(code.clone()), "{tile}: {code} twice");
        assert_eq!(
            string_attr(layer, f, "name").as_deref(),
            Some(area.name.as_str())
        );
        assert_eq!(
            string_attr(layer, f, "level").as_deref(),
            Some(area.level.as_str())
        );
        assert_eq!(
            string_attr(layer, f, "kind"),
            area.kind.map(|k| k.as_str().to_owned())
        );
        assert_eq!(string_attr(layer, f, "parent_code"), area.parent.clone());
        let decoded = polygons(&replay(f));
        let reference = reference_clip(&area.geometry, z, x, y, EXTENT, BUFFER);
        let on_buffer_edge = |c: Coord<f64>| {
            [c.x, c.y]
                .iter()
                .any(|v| *v == -BUFFER || *v == EXTENT + BUFFER)
        };
        let d1 = max_vertex_distance(&decoded, &reference, on_buffer_edge);
        assert!(
            d1 <= PX,
            "{tile} {code}: decoded vertex {d1:.2} units from the source"
        );
        let kept = MultiPolygon(
            reference
                .iter()
                .filter(|p| p.unsigned_area() >= 4.0 * PX * PX)
                .cloned()
                .collect(),
        );
        let d2 = max_vertex_distance(&kept, &decoded, |_| false);
        assert!(
            d2 <= PX,
            "{tile} {code}: source vertex {d2:.2} units from the decoded boundary"
        );
    }
    for code in expected.keys() {
        assert!(seen.contains(*code), "{tile}: {code} missing");
    }
    layer.features.len()
}

/// Checks the labels layer of a tile: each label names a source area shown at this zoom and lies inside it.
async fn check_labels(server: &TestServer, areas: &[Area], (z, x, y): (u8, u32, u32)) -> usize {
    let label_min_zoom = |a: &Area| match expected_layer(a) {
        "districts" => 8,
        "streets" => 11,
        "communities" => 13,
        "grids" | "exclusive" => 15,
        _ => 17,
    };
    let got = fetch_with(server, &format!("/tiles/labels/{z}/{x}/{y}.mvt"), &[]).await;
    if got.status == 204 {
        return 0;
    }
    let layers = decode_tile(&got.body);
    let layer = &layers[0];
    assert_eq!(layer.name, "labels");
    let by_code: HashMap<&str, &Area> = areas.iter().map(|a| (a.code.as_str(), a)).collect();
    for f in &layer.features {
        assert_eq!(f.geom_type, 1, "labels are points");
        let code = string_attr(layer, f, "code").expect("code");
        let area = by_code[code.as_str()];
        assert!(label_min_zoom(area) <= z, "{code} labelled at z{z}");
        assert_eq!(
            string_attr(layer, f, "name").as_deref(),
            Some(area.name.as_str())
        );
        let parts = replay(f);
        assert_eq!(parts.len(), 1);
        let (px, py) = parts[0][0];
        let projected = project(&area.geometry, z, x, y);
        // Quantized to a unit: inside, or within a unit of the boundary for tiny areas at low zoom.
        let p = Point::new(px as f64, py as f64);
        assert!(
            projected.contains(&p)
                || max_vertex_distance(
                    &MultiPolygon(vec![geo_types::Polygon::new(
                        geo_types::LineString::from(vec![(p.x(), p.y())]),
                        vec![]
                    )]),
                    &projected,
                    |_| false
                ) <= 1.0,
            "label of {code} at z{z} outside its area"
        );
    }
    layer.features.len()
}

/// A few tiles per zoom on the city: around given points.
fn tiles_around(points: &[(f64, f64)], z: u8) -> Vec<(u8, u32, u32)> {
    let mut tiles: Vec<(u8, u32, u32)> = points
        .iter()
        .map(|&(lon, lat)| {
            let (x, y) = tile_of(lon, lat, z);
            (z, x, y)
        })
        .collect();
    tiles.sort_unstable();
    tiles.dedup();
    tiles
}

fn interior(area: &Area) -> (f64, f64) {
    let p = area.geometry.interior_point().unwrap();
    (p.x(), p.y())
}

async fn sample_server(t: &TestStore, config: ApiConfig) -> (TestServer, City) {
    let city = gridmap_data::sample_city();
    t.store.write_city(&city, &note("test", 1)).await.unwrap();
    (TestServer::start(t.store.clone(), config).await, city)
}

/// Text snapshots of served tiles (as martin keeps them): a change in what users get shows up in review. Both
/// stores must serve byte-for-byte the same tiles, so both assert the same snapshots.
#[tokio::test]
async fn served_tiles_snapshots() {
    each_store(|t| async move {
        let (server, city) = sample_server(&t, ApiConfig::default()).await;
        let micro = city
            .areas
            .iter()
            .find(|a| a.level == Level::MicroGrid)
            .unwrap();
        let exclusive = city.areas.iter().find(|a| a.is_exclusive()).unwrap();
        let (lon, lat) = interior(micro);
        let (ex_lon, ex_lat) = interior(exclusive);
        for (name, layer, (lon, lat), z) in [
            ("micro_grids_z18", "micro_grids", (lon, lat), 18),
            ("exclusive_z17", "exclusive", (ex_lon, ex_lat), 17),
            ("labels_z18", "labels", (lon, lat), 18),
        ] {
            let (x, y) = tile_of(lon, lat, z);
            let got = fetch_with(&server, &format!("/tiles/{layer}/{z}/{x}/{y}.mvt"), &[]).await;
            assert_eq!(got.status, 200, "{name} at {x} {y}");
            let text = format!(
                "GET /tiles/{layer}/{z}/{x}/{y}.mvt\n{}",
                dump(&decode_tile(&got.body))
            );
            insta::assert_snapshot!(name, text);
        }
    })
    .await;
}

#[tokio::test]
async fn sample_city_tiles_match_the_source_at_zooms_8_to_18() {
    each_store(|t| async move {
        let (server, city) = sample_server(&t, ApiConfig::default()).await;
        let exclusive = city.areas.iter().find(|a| a.is_exclusive()).unwrap();
        let micro = city
            .areas
            .iter()
            .find(|a| a.level == Level::MicroGrid)
            .unwrap();
        let district = city
            .areas
            .iter()
            .find(|a| a.level == Level::District)
            .unwrap();
        let corner = district.geometry.bounding_rect().unwrap().min();
        let points = [
            interior(exclusive),
            interior(micro),
            (corner.x + 0.002, corner.y + 0.002),
        ];
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for z in 8..=18u8 {
            for tile in tiles_around(&points, z) {
                for layer in [
                    "districts",
                    "streets",
                    "communities",
                    "grids",
                    "micro_grids",
                    "exclusive",
                ] {
                    let n = check_polygon_layer(&server, &city.areas, layer, tile).await;
                    *counts.entry(layer).or_default() += n;
                    if layer == "micro_grids" && z < 15 {
                        assert_eq!(n, 0, "micro-grids at z{z}");
                    }
                }
                check_labels(&server, &city.areas, tile).await;
            }
        }
        // Each layer was really exercised.
        for layer in [
            "districts",
            "streets",
            "communities",
            "grids",
            "micro_grids",
            "exclusive",
        ] {
            assert!(counts[layer] > 0, "no {layer} feature checked");
        }
        // Micro-grids from z15: the tile over a micro-grid has it.
        let (lon, lat) = interior(micro);
        let (x, y) = tile_of(lon, lat, 14);
        let f = fetch_with(&server, &format!("/tiles/micro_grids/14/{x}/{y}.mvt"), &[]).await;
        assert_eq!(f.status, 204, "micro-grids absent at z14");
        let (x, y) = tile_of(lon, lat, 15);
        let f = fetch_with(&server, &format!("/tiles/micro_grids/15/{x}/{y}.mvt"), &[]).await;
        assert_eq!(f.status, 200, "micro-grids present at z15");
    })
    .await;
}

#[tokio::test]
async fn composite_tile_holds_the_layers_of_its_zoom_and_roads() {
    each_store(|t| async move {
        let (server, city) = sample_server(&t, ApiConfig::default()).await;
        let micro = city
            .areas
            .iter()
            .find(|a| a.level == Level::MicroGrid)
            .unwrap();
        let (lon, lat) = interior(micro);
        for (z, want_micro) in [(14u8, false), (15, true)] {
            let (x, y) = tile_of(lon, lat, z);
            let f = fetch_with(&server, &format!("/tiles/{z}/{x}/{y}.mvt"), &[]).await;
            assert_eq!(f.status, 200);
            let names: BTreeSet<String> =
                decode_tile(&f.body).into_iter().map(|l| l.name).collect();
            for layer in ["districts", "streets", "communities", "grids", "labels"] {
                assert!(
                    names.contains(layer),
                    "z{z} composite lacks {layer}: {names:?}"
                );
            }
            assert_eq!(names.contains("micro_grids"), want_micro, "z{z}: {names:?}");
            // The composite is exactly the single-layer tiles' layers.
            for layer in &names {
                let single =
                    fetch_with(&server, &format!("/tiles/{layer}/{z}/{x}/{y}.mvt"), &[]).await;
                assert_eq!(single.status, 200, "{layer}");
            }
        }
        // Roads: the sample city's roads, with their names and classes, at z14 over the city centre.
        let district = city
            .areas
            .iter()
            .find(|a| a.level == Level::District)
            .unwrap();
        let c = district.geometry.bounding_rect().unwrap().center();
        let (x, y) = tile_of(c.x, c.y, 12);
        let f = fetch_with(&server, &format!("/tiles/roads/12/{x}/{y}.mvt"), &[]).await;
        assert_eq!(f.status, 200);
        let layers = decode_tile(&f.body);
        let roads: BTreeSet<(String, String)> = city
            .roads
            .iter()
            .map(|r| (r.name.clone(), r.class.clone()))
            .collect();
        assert!(!layers[0].features.is_empty());
        for feature in &layers[0].features {
            assert_eq!(feature.geom_type, 2, "roads are lines");
            let key = (
                string_attr(&layers[0], feature, "name").unwrap(),
                string_attr(&layers[0], feature, "class").unwrap(),
            );
            assert!(roads.contains(&key), "{key:?} is not a source road");
        }
    })
    .await;
}

#[tokio::test]
async fn http_behaviour_empty_bad_etag_gzip_and_tilejson() {
    each_store(|t| async move {
        let (server, city) = sample_server(&t, ApiConfig::default()).await;
        // Ocean (the Gulf of Guinea at 0,0) has no feature: 204, in a layer and in the composite.
        for path in ["/tiles/grids/14/8192/8191.mvt", "/tiles/14/8192/8191.mvt"] {
            assert_eq!(fetch_with(&server, path, &[]).await.status, 204, "{path}");
        }
        // A district is below a pixel at z0 (dropped), and there at z8; `.pbf` is an alias.
        let district = city
            .areas
            .iter()
            .find(|a| a.level == Level::District)
            .unwrap();
        let (lon, lat) = interior(district);
        assert_eq!(
            fetch_with(&server, "/tiles/districts/0/0/0.pbf", &[])
                .await
                .status,
            204
        );
        let (x, y) = tile_of(lon, lat, 8);
        assert_eq!(
            fetch_with(&server, &format!("/tiles/districts/8/{x}/{y}.pbf"), &[])
                .await
                .status,
            200
        );
        // Bad addresses: 400 problem+json naming the field.
        for (path, field) in [
            ("/tiles/grids/23/0/0.mvt", "z"),
            ("/tiles/grids/3/8/0.mvt", "x"),
            ("/tiles/grids/3/0/-1.mvt", "y"),
            ("/tiles/grids/3/0/8.mvt", "y"),
            ("/tiles/grids/abc/0/0.mvt", "z"),
            ("/tiles/grids/3/0/0", "y"),
            ("/tiles/parks/3/0/0.mvt", "layer"),
            ("/tiles/abc/0/0.mvt", "z"),
            ("/tiles/23/0/0.mvt", "z"),
            ("/tiles/parks.json", "layer"),
        ] {
            let (status, content_type, body) = server.get(path).await;
            assert_eq!(status, 400, "{path}");
            assert_eq!(content_type, "application/problem+json", "{path}");
            assert_eq!(body["field"], field, "{path}: {body}");
        }

        // ETag and 304; Cache-Control; gzip when asked, same bytes.
        let grid = city
            .areas
            .iter()
            .find(|a| a.level == Level::Grid && !a.is_exclusive())
            .unwrap();
        let (lon, lat) = interior(grid);
        let (x, y) = tile_of(lon, lat, 15);
        let path = format!("/tiles/grids/15/{x}/{y}.mvt");
        let plain = fetch_with(&server, &path, &[]).await;
        assert_eq!(plain.status, 200);
        assert!(plain.header("content-encoding").is_empty());
        assert!(plain.header("cache-control").contains("max-age=60"));
        let etag = plain.header("etag").to_owned();
        assert!(
            etag.starts_with('"') && etag.ends_with('"') && etag.len() > 2,
            "{etag}"
        );
        let again = fetch_with(&server, &path, &[]).await;
        assert_eq!(again.body, plain.body);
        assert_eq!(again.header("etag"), etag, "same bytes, same ETag");
        let other = fetch_with(&server, &format!("/tiles/grids/15/{}/{y}.mvt", x + 1), &[]).await;
        if other.status == 200 {
            assert_ne!(
                other.header("etag"),
                etag,
                "different bytes, different ETag"
            );
        }
        let not_modified = fetch_with(&server, &path, &[("if-none-match", etag.as_str())]).await;
        assert_eq!(not_modified.status, 304);
        assert!(not_modified.body.is_empty());
        let stale = fetch_with(&server, &path, &[("if-none-match", "\"0000\"")]).await;
        assert_eq!(stale.status, 200);
        let gz = fetch_with(&server, &path, &[("accept-encoding", "gzip")]).await;
        assert_eq!(gz.status, 200);
        assert_eq!(gz.header("content-encoding"), "gzip");
        assert_eq!(
            gz.header("content-type"),
            "application/vnd.mapbox-vector-tile"
        );
        assert!(gz.body.len() < plain.body.len());
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(gz.body.as_slice())
            .read_to_end(&mut unzipped)
            .unwrap();
        assert_eq!(unzipped, plain.body);
        let gz_etag = gz.header("etag").to_owned();
        assert_ne!(gz_etag, etag, "each representation has its own strong ETag");
        let gz_304 = fetch_with(
            &server,
            &path,
            &[
                ("accept-encoding", "gzip"),
                ("if-none-match", gz_etag.as_str()),
            ],
        )
        .await;
        assert_eq!(gz_304.status, 304);

        // TileJSON.
        let district = city
            .areas
            .iter()
            .find(|a| a.level == Level::District)
            .unwrap();
        let bbox: Rect<f64> = district.geometry.bounding_rect().unwrap();
        for (path, tiles_suffix, minzoom, maxzoom, layers) in [
            ("/tiles.json", "/tiles/{z}/{x}/{y}.mvt", 0, 18, 9),
            (
                "/tiles/grids.json",
                "/tiles/grids/{z}/{x}/{y}.mvt",
                10,
                18,
                1,
            ),
            (
                "/tiles/micro_grids.json",
                "/tiles/micro_grids/{z}/{x}/{y}.mvt",
                15,
                18,
                1,
            ),
        ] {
            let (status, content_type, doc) = server.get(path).await;
            assert_eq!(status, 200, "{path}");
            assert!(content_type.starts_with("application/json"));
            assert_eq!(doc["tilejson"], "3.0.0");
            assert_eq!(
                doc["tiles"][0],
                format!("{}{tiles_suffix}", server.base),
                "{path}"
            );
            assert_eq!(doc["minzoom"], minzoom, "{path}");
            assert_eq!(doc["maxzoom"], maxzoom, "{path}");
            let b: Vec<f64> = doc["bounds"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            assert!(
                b[0] <= bbox.min().x
                    && b[1] <= bbox.min().y
                    && b[2] >= bbox.max().x
                    && b[3] >= bbox.max().y,
                "{b:?}"
            );
            assert!(
                b[2] - b[0] < 1.0,
                "bounds are the city's, not the world: {b:?}"
            );
            let c = &doc["center"];
            let (cx, cy) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
            assert!(b[0] <= cx && cx <= b[2] && b[1] <= cy && cy <= b[3]);
            let cz = c[2].as_u64().unwrap();
            assert!((minzoom..=maxzoom).contains(&cz));
            let vl = doc["vector_layers"].as_array().unwrap();
            assert_eq!(vl.len(), layers);
        }
        let (_, _, doc) = server.get("/tiles/grids.json").await;
        let grids = &doc["vector_layers"][0];
        assert_eq!(grids["id"], "grids");
        for field in ["code", "name", "level", "kind", "parent_code"] {
            assert!(grids["fields"][field].is_string(), "{field}");
        }
        // A configured public URL replaces the Host header.
        let config = ApiConfig {
            public_url: Some("https://maps.example.org/".into()),
            ..ApiConfig::default()
        };
        let public = TestServer::start(t.store.clone(), config).await;
        let (_, _, doc) = public.get("/tiles/labels.json").await;
        assert_eq!(
            doc["tiles"][0],
            "https://maps.example.org/tiles/labels/{z}/{x}/{y}.mvt"
        );
        let (_, _, openapi) = server.get("/openapi.json").await;
        assert!(openapi["paths"]["/tiles/{layer}/{z}/{x}/{y}.mvt"].is_object());
    })
    .await;
}

/// Tiles (at zoom `z`, with the encoder's 64/4096 buffer) that a bbox touches, by independent math.
fn touched(bbox: Rect<f64>, z: u8, x: u32, y: u32) -> bool {
    let (x0, y0) = to_tile_units(bbox.min().x, bbox.max().y, z, x, y, EXTENT);
    let (x1, y1) = to_tile_units(bbox.max().x, bbox.min().y, z, x, y, EXTENT);
    !(x1 < -BUFFER || x0 > EXTENT + BUFFER || y1 < -BUFFER || y0 > EXTENT + BUFFER)
}

#[tokio::test]
async fn a_change_invalidates_exactly_the_touched_tiles() {
    each_store(|t| async move {
        let (server, city) = sample_server(&t, ApiConfig::default()).await;
        let grids: Vec<&Area> = city
            .areas
            .iter()
            .filter(|a| a.level == Level::Grid && !a.is_exclusive())
            .collect();
        let changed = grids[grids.len() / 2];
        let old_bbox = changed.geometry.bounding_rect().unwrap();
        let (lon, lat) = interior(changed);
        let z = 15;
        let (ax, ay) = tile_of(lon, lat, z);
        // A tile far from the change: the first grid whose z15 tile the change does not touch.
        let (bx, by) = grids
            .iter()
            .map(|g| {
                let (lon, lat) = interior(g);
                tile_of(lon, lat, z)
            })
            .find(|&(x, y)| !touched(old_bbox, z, x, y))
            .unwrap();
        let a = format!("/tiles/grids/{z}/{ax}/{ay}.mvt");
        let b = format!("/tiles/grids/{z}/{bx}/{by}.mvt");
        let ca = format!("/tiles/{z}/{ax}/{ay}.mvt");
        let cb = format!("/tiles/{z}/{bx}/{by}.mvt");
        for path in [&a, &b, &ca, &cb] {
            assert_eq!(
                fetch_with(&server, path, &[]).await.header("x-cache"),
                "miss",
                "{path}"
            );
            assert_eq!(
                fetch_with(&server, path, &[]).await.header("x-cache"),
                "hit",
                "{path}"
            );
        }
        let before_a = fetch_with(&server, &a, &[]).await;
        let before_b = fetch_with(&server, &b, &[]).await;

        // Rename the grid and shrink it towards its interior point; write; reload (what every writer does).
        let mut edited = changed.clone();
        edited.name = format!("{}（调整）", changed.name);
        let centre = Coord { x: lon, y: lat };
        edited.geometry = changed.geometry.map_coords(|c| Coord {
            x: centre.x + (c.x - centre.x) * 0.8,
            y: centre.y + (c.y - centre.y) * 0.8,
        });
        let partial = City {
            areas: vec![edited.clone()],
            ..City::default()
        };
        t.store
            .write_city(&partial, &note("test", 2))
            .await
            .unwrap();
        server.state.reload().await.unwrap();

        let after_a = fetch_with(&server, &a, &[]).await;
        assert_eq!(
            after_a.header("x-cache"),
            "miss",
            "touched tile re-rendered"
        );
        assert_ne!(after_a.body, before_a.body, "touched tile changed");
        assert_ne!(after_a.header("etag"), before_a.header("etag"));
        let layers = decode_tile(&after_a.body);
        let names: Vec<String> = layers[0]
            .features
            .iter()
            .filter(|f| {
                string_attr(&layers[0], f, "code").as_deref() == Some(changed.code.as_str())
            })
            .map(|f| string_attr(&layers[0], f, "name").unwrap())
            .collect();
        assert_eq!(
            names,
            vec![edited.name.clone()],
            "the new name is in the tile"
        );
        assert_eq!(
            fetch_with(&server, &ca, &[]).await.header("x-cache"),
            "miss",
            "touched composite re-rendered"
        );
        let after_b = fetch_with(&server, &b, &[]).await;
        assert_eq!(
            after_b.header("x-cache"),
            "hit",
            "untouched tile still cached"
        );
        assert_eq!(after_b.body, before_b.body);
        assert_eq!(
            fetch_with(&server, &cb, &[]).await.header("x-cache"),
            "hit",
            "untouched composite still cached"
        );
        // The geometry check passes against the edited source.
        let mut areas = city.areas.clone();
        let i = areas.iter().position(|x| x.code == edited.code).unwrap();
        areas[i] = edited;
        check_polygon_layer(&server, &areas, "grids", (z, ax, ay)).await;
    })
    .await;
}

#[tokio::test]
async fn cache_off_serves_the_same_tiles() {
    each_store(|t| async move {
        let (cached, city) = sample_server(&t, ApiConfig::default()).await;
        let off = TestServer::start(
            t.store.clone(),
            ApiConfig {
                tile_cache_bytes: 0,
                ..ApiConfig::default()
            },
        )
        .await;
        let micro = city
            .areas
            .iter()
            .find(|a| a.level == Level::MicroGrid)
            .unwrap();
        let (lon, lat) = interior(micro);
        let (x, y) = tile_of(lon, lat, 16);
        let path = format!("/tiles/16/{x}/{y}.mvt");
        let a = fetch_with(&off, &path, &[]).await;
        let b = fetch_with(&off, &path, &[]).await;
        assert_eq!((a.header("x-cache"), b.header("x-cache")), ("miss", "miss"));
        assert_eq!(a.body, fetch_with(&cached, &path, &[]).await.body);
        assert_eq!(a.header("etag"), b.header("etag"));
    })
    .await;
}

fn chicago_dir() -> Option<PathBuf> {
    gridmap_tests::shared_dataset("chicago-police", "police_beats.geojson")
}

fn import_args(
    t: &TestStore,
    file: PathBuf,
    level: Level,
    code: &str,
    parent: Option<&str>,
) -> ImportArgs {
    ImportArgs {
        file,
        store: gridmap_server::cli::StoreArgs {
            gpkg: t.gpkg_path.clone().unwrap_or_default(),
            database_url: t.database_url.clone(),
        },
        level: level.into(),
        code_field: Some(code.to_owned()),
        name_field: None,
        parent_field: parent.map(str::to_owned),
        kind: None,
        crs: Crs::Wgs84,
        codes: Codes::Verbatim,
        layer: None,
        author: "test".to_owned(),
        reason: None,
    }
}

#[tokio::test]
async fn imported_chicago_beats_render_at_zooms_10_to_14() {
    let Some(dir) = chicago_dir() else { return };
    each_store(move |t| {
        let dir = dir.clone();
        async move {
            // Serve the empty store, import, reload: the import path of a running server. The simplified beats
            // (3,500 vertices instead of 72,000) keep the import to seconds in a debug build.
            let server = TestServer::start(t.store.clone(), ApiConfig::default()).await;
            let (x, y) = tile_of(-87.63, 41.88, 10);
            let empty = fetch_with(&server, &format!("/tiles/grids/10/{x}/{y}.mvt"), &[]).await;
            assert_eq!(empty.status, 204);
            let districts = import_args(
                &t,
                dir.join("police_districts.geojson"),
                Level::District,
                "DIST_NUM",
                None,
            );
            gridmap_server::commands::import::run(districts)
                .await
                .unwrap();
            let beats = import_args(
                &t,
                dir.join("police_beats_simplified.geojson"),
                Level::Grid,
                "BEAT_NUM",
                Some("DISTRICT"),
            );
            gridmap_server::commands::import::run(beats).await.unwrap();
            server.state.reload().await.unwrap();
            let city = t.store.load_city().await.unwrap();
            assert_eq!(
                city.areas.iter().filter(|a| a.level == Level::Grid).count(),
                275
            );
            let beat = |code: &str| city.areas.iter().find(|a| a.code == code).unwrap();
            // The Loop (beat 0111), a lakefront beat and O'Hare's district.
            let points = [
                interior(beat("0111")),
                interior(beat("1913")),
                interior(beat("1654")),
            ];
            let mut features = 0;
            for z in [10u8, 12, 14] {
                for tile in tiles_around(&points, z) {
                    features += check_polygon_layer(&server, &city.areas, "grids", tile).await;
                    check_polygon_layer(&server, &city.areas, "districts", tile).await;
                }
            }
            assert!(features > 20, "{features} beat features checked");
            assert_eq!(
                fetch_with(&server, &format!("/tiles/grids/10/{x}/{y}.mvt"), &[])
                    .await
                    .status,
                200
            );
            let (_, _, doc) = server.get("/tiles.json").await;
            let b = doc["bounds"].as_array().unwrap();
            assert!((b[0].as_f64().unwrap() + 87.94).abs() < 0.05, "{b:?}");
        }
    })
    .await;
}
