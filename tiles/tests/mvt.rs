//! Encodes tiles and decodes them with the independent decoder in `support/`, checking geometry
//! against geo's BooleanOps clip of the source, winding, degeneracy and attributes.
#![allow(clippy::unwrap_used, clippy::doc_markdown, clippy::type_complexity)]

#[path = "../../tests/src/skip.rs"]
mod skip;
mod support;

use std::collections::BTreeSet;

use geo::{Area, BoundingRect, Euclidean, Length, MultiPolygon, Polygon};
use geo_types::{Geometry, LineString, Point, coord};
use gridmap_tiles::{EncodeOptions, LayerBuilder, Tile, TileCoord, Value, tiles_covering};
use support::{DValue, decode_tile, polygons, reference_clip, replay};

const EXTENT: f64 = 4096.0;
const BUFFER: f64 = 64.0;
/// One screen pixel with the default options (4096 units / 512 px).
const PX: f64 = 8.0;

/// A concave five-petal polygon with a hole near lon 114.09, lat 33.57 (about 2 km across),
/// plus a small square island: a two-part MultiPolygon, exteriors counter-clockwise as in GeoJSON.
fn flower() -> MultiPolygon<f64> {
    let (cx, cy, r) = (114.09, 33.57, 0.01);
    let n = 80;
    let exterior: LineString<f64> = (0..=n)
        .map(|i| {
            let t = std::f64::consts::TAU * f64::from(i % n) / f64::from(n);
            let rr = r * (1.0 + 0.35 * (5.0 * t).sin());
            (cx + rr * t.cos(), cy + rr * t.sin())
        })
        .collect();
    let hole: LineString<f64> = (0..=24)
        .map(|i| {
            let t = -std::f64::consts::TAU * f64::from(i % 24) / 24.0;
            (cx + 0.002 + 0.003 * t.cos(), cy + 0.001 + 0.003 * t.sin())
        })
        .collect();
    let island = Polygon::new(
        LineString::from(vec![
            (cx + 0.02, cy),
            (cx + 0.024, cy),
            (cx + 0.024, cy + 0.004),
            (cx + 0.02, cy + 0.004),
            (cx + 0.02, cy),
        ]),
        vec![],
    );
    MultiPolygon(vec![Polygon::new(exterior, vec![hole]), island])
}

fn encode_one(tile: TileCoord, geometry: &Geometry<f64>, attrs: &[(&str, Value<'_>)]) -> Vec<u8> {
    let mut layer = LayerBuilder::new("test", tile, EncodeOptions::default());
    layer.add_feature(geometry, attrs).unwrap();
    Tile::from(layer.finish()).encode()
}

/// Up to `limit` tiles of `z` covering `source`, evenly spread, always including the first and last.
fn sample_tiles(source: &MultiPolygon<f64>, z: u8, limit: usize) -> Vec<TileCoord> {
    let all: Vec<TileCoord> = tiles_covering(source.bounding_rect().unwrap(), z..=z).collect();
    let step = all.len().div_ceil(limit).max(1);
    let mut picked: Vec<TileCoord> = all.iter().step_by(step).copied().collect();
    if picked.last() != all.last() {
        picked.push(*all.last().unwrap());
    }
    picked
}

/// Encodes `source` in `tile`, decodes it independently and compares with the reference clip.
/// Returns whether the tile had a feature.
fn check_polygon_tile(source: &MultiPolygon<f64>, tile: TileCoord) -> bool {
    let bytes = encode_one(tile, &Geometry::MultiPolygon(source.clone()), &[]);
    let expected = reference_clip(source, tile.z(), tile.x(), tile.y(), EXTENT, BUFFER);
    let layers = decode_tile(&bytes);
    let Some(layer) = layers.first() else {
        // Dropped: what the reference keeps must be sliver-sized.
        assert!(
            expected.unsigned_area() < 2.0 * PX * PX,
            "{tile}: dropped a feature of {} units²",
            expected.unsigned_area()
        );
        return false;
    };
    assert_eq!(layer.version, 2);
    assert_eq!(layer.extent, 4096);
    assert_eq!(layer.features.len(), 1);
    let feature = &layer.features[0];
    assert_eq!(feature.geom_type, 3);
    let rings = replay(feature);
    for ring in &rings {
        assert!(ring.len() >= 3, "{tile}: degenerate ring {ring:?}");
        assert_ne!(ring.first(), ring.last(), "{tile}: closing point repeated");
        assert!(
            support::area2(ring).unsigned_abs() as f64 >= 2.0 * PX * PX,
            "{tile}: sliver ring below a pixel"
        );
        for &(x, y) in ring {
            assert!(
                (-BUFFER..=EXTENT + BUFFER).contains(&(x as f64)),
                "{tile}: x {x} outside"
            );
            assert!(
                (-BUFFER..=EXTENT + BUFFER).contains(&(y as f64)),
                "{tile}: y {y} outside"
            );
        }
    }
    // Panics unless the first ring is an exterior (positive area) and holes are negative.
    let decoded = polygons(&rings);

    // Every decoded vertex lies within a pixel of the reference boundary, and every vertex of the
    // reference (except slivers the encoder may drop) within a pixel of the decoded boundary.
    // Decoded vertices on the buffer's edge are skipped: clipping each ring on its own (as
    // geojson-vt does) may join two pieces of a concave ring along the buffer edge, through a box
    // corner, adding zero area and nothing visible (renderers clip at the tile edge).
    let on_buffer_edge = |c: geo::Coord<f64>| {
        [c.x, c.y]
            .iter()
            .any(|v| *v == -BUFFER || *v == EXTENT + BUFFER)
    };
    let d1 = support::max_vertex_distance(&decoded, &expected, on_buffer_edge);
    assert!(
        d1 <= PX,
        "{tile}: decoded vertex {d1:.2} units from the reference"
    );
    let kept = MultiPolygon(
        expected
            .iter()
            .filter(|p| p.unsigned_area() >= 4.0 * PX * PX)
            .cloned()
            .collect(),
    );
    let d2 = support::max_vertex_distance(&kept, &decoded, |_| false);
    assert!(
        d2 <= PX,
        "{tile}: reference vertex {d2:.2} units from the decoded boundary"
    );

    // Area: the symmetric difference is at most a quarter pixel wide along the boundary on average.
    let perimeter: f64 = expected
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .map(|r| Euclidean.length(r))
        .sum();
    let xor = support::xor_area(&decoded, &expected);
    let allowed = perimeter * PX / 4.0 + PX * PX * expected.0.len() as f64;
    assert!(
        xor <= allowed,
        "{tile}: symmetric difference {xor:.0} units² > {allowed:.0} (perimeter {perimeter:.0})"
    );
    true
}

#[test]
fn flower_matches_the_reference_clip_at_zooms_8_to_18() {
    let source = flower();
    for z in 8..=18 {
        let tiles = sample_tiles(&source, z, 24);
        let with_features = tiles
            .iter()
            .filter(|t| check_polygon_tile(&source, **t))
            .count();
        assert!(with_features > 0, "z{z}: no tile had the feature");
    }
}

#[test]
fn chicago_beat_matches_the_reference_clip_at_zooms_8_to_18() {
    let path = skip::shared_external("chicago-police/police_beats.geojson");
    let Ok(text) = std::fs::read_to_string(&path) else {
        skip::skip(
            skip::NO_SHARED_DATA,
            &format!("{} not found", path.display()),
        );
        return;
    };
    let geojson: geojson::FeatureCollection = text.parse().unwrap();
    let mut checked = 0;
    for feature in &geojson.features {
        let beat = feature
            .property("BEAT_NUM")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        // A north-side beat with a detailed boundary, and a large irregular one (O'Hare).
        if beat != "1713" && beat != "1651" {
            continue;
        }
        let geometry: Geometry<f64> = feature.geometry.clone().unwrap().try_into().unwrap();
        let source = match geometry {
            Geometry::Polygon(p) => MultiPolygon(vec![p]),
            Geometry::MultiPolygon(mp) => mp,
            other => panic!("beat {beat}: unexpected {other:?}"),
        };
        for z in 8..=18 {
            let tiles = sample_tiles(&source, z, 16);
            let with_features = tiles
                .iter()
                .filter(|t| check_polygon_tile(&source, **t))
                .count();
            assert!(
                with_features > 0,
                "beat {beat} z{z}: no tile had the feature"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 2, "beats 1713 and 1651 not found");
}

#[test]
fn known_square_lands_on_known_tile_units_with_spec_winding() {
    // At z0 with extent 4096: lon ±90 → x 1024/3072; lat ±66.51326044311186 (= atan(sinh(π/2)))
    // → y 3072/1024. Both ring orientations of the source give the same positive-area exterior.
    let lat = 66.513_260_443_111_86;
    let ccw = LineString::from(vec![(-90.0, -lat), (90.0, -lat), (90.0, lat), (-90.0, lat)]);
    let mut cw = ccw.clone();
    cw.0.reverse();
    for ring in [ccw, cw] {
        let g = Geometry::Polygon(Polygon::new(ring, vec![]));
        let layers = decode_tile(&encode_one(TileCoord::new(0, 0, 0).unwrap(), &g, &[]));
        let rings = replay(&layers[0].features[0]);
        assert_eq!(rings.len(), 1);
        let got: BTreeSet<(i64, i64)> = rings[0].iter().copied().collect();
        let want: BTreeSet<(i64, i64)> =
            [(1024, 1024), (3072, 1024), (3072, 3072), (1024, 3072)].into();
        assert_eq!(got, want);
        assert_eq!(
            support::area2(&rings[0]),
            2 * 2048 * 2048,
            "exterior must be positive"
        );
    }
}

#[test]
fn hole_is_wound_opposite_to_its_exterior() {
    let outer = LineString::from(vec![
        (-90.0, -60.0),
        (90.0, -60.0),
        (90.0, 60.0),
        (-90.0, 60.0),
    ]);
    // Same orientation as the exterior on purpose: the encoder must flip it.
    let inner = LineString::from(vec![
        (-30.0, -20.0),
        (30.0, -20.0),
        (30.0, 20.0),
        (-30.0, 20.0),
    ]);
    let g = Geometry::Polygon(Polygon::new(outer, vec![inner]));
    let layers = decode_tile(&encode_one(TileCoord::new(0, 0, 0).unwrap(), &g, &[]));
    let rings = replay(&layers[0].features[0]);
    assert_eq!(rings.len(), 2);
    assert!(support::area2(&rings[0]) > 0);
    assert!(support::area2(&rings[1]) < 0);
}

#[test]
fn attributes_round_trip_with_keys_and_values_deduplicated() {
    let tile = TileCoord::containing(114.09, 33.57, 14).unwrap();
    let mut layer = LayerBuilder::new("grids", tile, EncodeOptions::default());
    let b = tile.bounds_lonlat();
    let (w, s) = (b.min().x, b.min().y);
    let (dx, dy) = (b.width() / 10.0, b.height() / 10.0);
    let square = |i: f64| {
        Geometry::Rect(geo_types::Rect::new(
            coord! { x: w + i * dx, y: s + dy },
            coord! { x: w + (i + 1.0) * dx, y: s + 2.0 * dy },
        ))
    };
    let features: Vec<Vec<(&str, Value<'_>)>> = vec![
        vec![
            ("code", Value::String("420100001001")),
            ("name", Value::String("东湖社区第一网格")),
            ("households", Value::Int(312)),
            ("delta", Value::Int(-7)),
            ("area_km2", Value::Float(0.125)),
            ("exclusive", Value::Bool(false)),
        ],
        vec![
            ("code", Value::String("420100001002")),
            ("name", Value::String("东湖社区第一网格")),
            ("households", Value::Int(312)),
            ("exclusive", Value::Bool(true)),
        ],
    ];
    for (i, attrs) in features.iter().enumerate() {
        assert!(
            layer
                .add_feature_with_id(i as u64 + 10, &square(i as f64), attrs)
                .unwrap()
        );
    }
    let layers = decode_tile(&Tile::from(layer.finish()).encode());
    let layer = &layers[0];
    assert_eq!(layer.name, "grids");
    assert_eq!(layer.keys.len(), 6, "keys {:?}", layer.keys);
    // Distinct values: 2 codes, 1 name, 312, -7, 0.125, false, true.
    assert_eq!(layer.values.len(), 8, "values {:?}", layer.values);
    for (i, (decoded, source)) in layer.features.iter().zip(&features).enumerate() {
        assert_eq!(decoded.id, Some(i as u64 + 10));
        let got = layer.attributes(decoded);
        let want: Vec<(String, DValue)> = source
            .iter()
            .map(|(k, v)| {
                let v = match *v {
                    Value::String(s) => DValue::Str(s.to_owned()),
                    Value::Int(n) if n >= 0 => DValue::UInt(n as u64),
                    Value::Int(n) => DValue::SInt(n),
                    Value::Float(f) => DValue::Double(f),
                    Value::Bool(b) => DValue::Bool(b),
                };
                ((*k).to_owned(), v)
            })
            .collect();
        assert_eq!(got, want);
    }
}

#[test]
fn empty_tile_and_features_outside_encode_to_nothing() {
    let tile = TileCoord::containing(114.09, 33.57, 14).unwrap();
    assert!(
        Tile::from(LayerBuilder::new("grids", tile, EncodeOptions::default()).finish()).is_empty()
    );

    let mut layer = LayerBuilder::new("grids", tile, EncodeOptions::default());
    let source = flower();
    let far = source.iter().map(|p| {
        use geo::Translate;
        p.translate(1.0, 0.0)
    });
    for p in far {
        assert!(
            !layer
                .add_feature(&Geometry::Polygon(p), &[("code", "x".into())])
                .unwrap()
        );
    }
    assert!(
        !layer
            .add_feature(&Geometry::Point(Point::new(0.0, 0.0)), &[])
            .unwrap()
    );
    let tile = Tile::from(layer.finish());
    assert!(tile.is_empty());
    let bytes = tile.encode();
    assert!(bytes.is_empty());
    assert!(decode_tile(&bytes).is_empty());
}

#[test]
fn polygons_below_a_pixel_are_dropped_and_above_kept() {
    let tile = TileCoord::new(14, 13_384, 6_558).unwrap();
    let b = tile.bounds_lonlat();
    // One tile unit in degrees of longitude; latitude span per unit is close enough near the centre.
    let (ux, uy) = (b.width() / EXTENT, b.height() / EXTENT);
    let (cx, cy) = (b.center().x, b.center().y);
    let square = |side_units: f64| {
        Geometry::Rect(geo_types::Rect::new(
            coord! { x: cx, y: cy },
            coord! { x: cx + side_units * ux, y: cy + side_units * uy },
        ))
    };
    let mut layer = LayerBuilder::new("grids", tile, EncodeOptions::default());
    assert!(
        !layer.add_feature(&square(4.0), &[]).unwrap(),
        "half a pixel wide is a sliver"
    );
    assert!(
        layer.add_feature(&square(24.0), &[]).unwrap(),
        "three pixels wide is kept"
    );
}

#[test]
fn lines_are_clipped_at_the_buffer_and_points_outside_dropped() {
    let tile = TileCoord::new(0, 0, 0).unwrap();
    let mut layer = LayerBuilder::new("roads", tile, EncodeOptions::default());
    // Along the equator (y 2048) from lon -200 (off the world, x -228) to lon 90 (x 3072).
    let line = Geometry::LineString(LineString::from(vec![(-200.0, 0.0), (90.0, 0.0)]));
    assert!(layer.add_feature(&line, &[]).unwrap());
    let points = Geometry::MultiPoint(vec![(-90.0, 0.0), (-200.0, 0.0)].into());
    assert!(layer.add_feature(&points, &[]).unwrap());
    let layers = decode_tile(&Tile::from(layer.finish()).encode());
    let features = &layers[0].features;
    assert_eq!(replay(&features[0]), vec![vec![(-64, 2048), (3072, 2048)]]);
    assert_eq!(features[1].geom_type, 1);
    assert_eq!(replay(&features[1]), vec![vec![(1024, 2048)]]);
}

#[test]
fn single_layer_tiles_concatenate_into_the_composite_tile() {
    let tile = TileCoord::containing(114.09, 33.57, 13).unwrap();
    let geometry = Geometry::MultiPolygon(flower());
    let build = |name: &str| {
        let mut layer = LayerBuilder::new(name, tile, EncodeOptions::default());
        layer
            .add_feature(&geometry, &[("code", "a".into())])
            .unwrap();
        layer.finish()
    };
    let mut composite = Tile::new();
    composite.push(build("grids"));
    composite.push(build("labels"));
    let mut joined = Tile::from(build("grids")).encode();
    joined.extend(Tile::from(build("labels")).encode());
    assert_eq!(joined, composite.encode());
    let names: Vec<String> = decode_tile(&joined).into_iter().map(|l| l.name).collect();
    assert_eq!(names, ["grids", "labels"]);
}

#[test]
fn snapshot_flower_edge_tile_z15() {
    // The tile holding the flower's east petal tip, where it is clipped by tile edges.
    let tile = TileCoord::containing(114.09 + 0.0135, 33.57, 15).unwrap();
    let mut layer = LayerBuilder::new("grids", tile, EncodeOptions::default());
    layer
        .add_feature_with_id(
            1,
            &Geometry::MultiPolygon(flower()),
            &[("code", "420100001001".into()), ("level", "grid".into())],
        )
        .unwrap();
    let text = format!(
        "tile {tile}\n{}",
        support::dump(&decode_tile(&Tile::from(layer.finish()).encode()))
    );
    insta::assert_snapshot!(text);
}

#[test]
fn snapshot_points_and_lines_z0() {
    let tile = TileCoord::new(0, 0, 0).unwrap();
    let mut layer = LayerBuilder::new("roads", tile, EncodeOptions::default());
    let road = LineString::from(vec![
        (-120.0, 40.0),
        (-60.0, 10.0),
        (0.0, 0.0),
        (170.0, -60.0),
    ]);
    layer
        .add_feature(&Geometry::LineString(road), &[("name", "环城路".into())])
        .unwrap();
    layer
        .add_feature(
            &Geometry::Point(Point::new(114.09, 33.57)),
            &[("name", "label".into()), ("rank", 3_i64.into())],
        )
        .unwrap();
    insta::assert_snapshot!(support::dump(&decode_tile(
        &Tile::from(layer.finish()).encode()
    )));
}
