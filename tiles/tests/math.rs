//! Tile addressing, Web Mercator, covering tiles and label points, against values known independently.
#![allow(clippy::unwrap_used, clippy::doc_markdown, clippy::type_complexity)]

use geo::{Contains, Distance, Euclidean};
use geo_types::{LineString, MultiPolygon, Polygon, Rect, coord};
use gridmap_tiles::{
    EncodeOptions, LAYERS, TileCoord, TileError, label_point, layer, lonlat_to_mercator,
    mercator_to_lonlat, tile_ranges, tiles_covering,
};

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

#[test]
fn invalid_addresses_name_the_field() {
    assert_eq!(TileCoord::new(23, 0, 0).unwrap_err().field(), "z");
    assert_eq!(
        TileCoord::new(300, 0, 0).unwrap_err(),
        TileError::ZoomOutOfRange { z: 300 }
    );
    let x = TileCoord::new(3, 8, 0).unwrap_err();
    assert_eq!(
        (x.field(), x),
        (
            "x",
            TileError::XOutOfRange {
                z: 3,
                x: 8,
                limit: 8
            }
        )
    );
    assert_eq!(TileCoord::new(3, 0, 8).unwrap_err().field(), "y");
    assert_eq!(TileCoord::new(0, 1, 0).unwrap_err().field(), "x");
    assert!(TileCoord::new(0, 0, 0).is_ok());
    let max = (1 << 22) - 1;
    assert!(TileCoord::new(22, max, max).is_ok());
    assert!(TileCoord::new(22, max + 1, 0).is_err());
}

#[test]
fn mercator_matches_epsg_3857_reference_values() {
    // π·6378137 and the well-known northing of 45°.
    let (x, y) = lonlat_to_mercator(180.0, 0.0);
    assert!(close(x, 20_037_508.342_789_244, 1e-6) && close(y, 0.0, 1e-9));
    let (_, y45) = lonlat_to_mercator(0.0, 45.0);
    assert!(close(y45, 5_621_521.486_192_066, 1e-4), "{y45}");
    // Clamped at the edge of the square.
    let (_, y90) = lonlat_to_mercator(0.0, 90.0);
    assert!(close(y90, 20_037_508.342_789_244, 1e-3), "{y90}");
    let (lon, lat) = mercator_to_lonlat(12_700_337.0, 3_972_000.0);
    let (x2, y2) = lonlat_to_mercator(lon, lat);
    assert!(close(x2, 12_700_337.0, 1e-6) && close(y2, 3_972_000.0, 1e-6));
}

#[test]
fn tile_bounds_and_containing_tile() {
    let b = TileCoord::new(1, 0, 0).unwrap().bounds_lonlat();
    assert!(close(b.min().x, -180.0, 1e-9) && close(b.max().x, 0.0, 1e-9));
    assert!(close(b.min().y, 0.0, 1e-9) && close(b.max().y, 85.051_128_779_806_59, 1e-9));
    let m = TileCoord::new(1, 1, 1).unwrap().bounds_mercator();
    assert!(close(m.min().x, 0.0, 1e-6) && close(m.min().y, -20_037_508.342_789_244, 1e-6));
    // By hand: lon 114 → 294/360·4 = 3.27; lat 33 → (0.5 − ln tan 61.5° / 2π)·4 = 1.61.
    assert_eq!(
        TileCoord::containing(114.0, 33.0, 2).unwrap(),
        TileCoord::new(2, 3, 1).unwrap()
    );
    assert_eq!(
        TileCoord::containing(10.0, 10.0, 1).unwrap(),
        TileCoord::new(1, 1, 0).unwrap()
    );
    assert_eq!(
        TileCoord::containing(-10.0, -10.0, 1).unwrap(),
        TileCoord::new(1, 0, 1).unwrap()
    );
    assert_eq!(
        TileCoord::containing(180.0, -90.0, 3).unwrap(),
        TileCoord::new(3, 7, 7).unwrap()
    );
    assert_eq!(
        TileCoord::new(14, 13_384, 6_558).unwrap().to_string(),
        "14/13384/6558"
    );
}

#[test]
fn a_bbox_inside_one_tile_touches_it_and_its_ancestors_only() {
    let tile = TileCoord::new(14, 13_384, 6_558).unwrap();
    let b = tile.bounds_lonlat();
    let inner = Rect::new(
        coord! { x: b.min().x + b.width() * 0.1, y: b.min().y + b.height() * 0.1 },
        coord! { x: b.max().x - b.width() * 0.1, y: b.max().y - b.height() * 0.1 },
    );
    let got: Vec<TileCoord> = tiles_covering(inner, 10..=14).collect();
    let want: Vec<TileCoord> = (10..=14)
        .map(|z| TileCoord::new(z, 13_384 >> (14 - z), 6_558 >> (14 - z)).unwrap())
        .collect();
    assert_eq!(got, want);
}

#[test]
fn a_bbox_around_a_tile_corner_touches_four_tiles() {
    let corner = TileCoord::new(12, 3_346, 1_640)
        .unwrap()
        .bounds_lonlat()
        .min(); // south-west
    let eps = 1e-7;
    let bbox = Rect::new(
        coord! { x: corner.x - eps, y: corner.y - eps },
        coord! { x: corner.x + eps, y: corner.y + eps },
    );
    let mut got: Vec<(u32, u32)> = tiles_covering(bbox, 12..=12)
        .map(|t| (t.x(), t.y()))
        .collect();
    got.sort_unstable();
    assert_eq!(
        got,
        vec![
            (3_345, 1_640),
            (3_345, 1_641),
            (3_346, 1_640),
            (3_346, 1_641)
        ]
    );
}

#[test]
fn the_buffer_reaches_into_the_neighbour_tile() {
    // A change 1% of a tile width inside the east edge shows in the east neighbour's 64/4096 buffer.
    let tile = TileCoord::new(15, 26_768, 13_136).unwrap();
    let b = tile.bounds_lonlat();
    let x = b.max().x - b.width() * 0.01;
    let y = b.center().y;
    let bbox = Rect::new(coord! { x: x, y: y }, coord! { x: x, y: y });
    let buffer = EncodeOptions::default().buffer_fraction();
    let plain = tile_ranges(bbox, 15..=15, 0.0);
    let buffered = tile_ranges(bbox, 15..=15, buffer);
    assert_eq!(plain[0].len(), 1);
    assert_eq!(buffered[0].len(), 2);
    let east = TileCoord::new(15, 26_769, 13_136).unwrap();
    assert!(buffered[0].contains(east) && !plain[0].contains(east));
    assert!(buffered[0].contains(tile));
}

fn square(x0: f64, y0: f64, side: f64) -> Polygon<f64> {
    Polygon::new(
        LineString::from(vec![
            (x0, y0),
            (x0 + side, y0),
            (x0 + side, y0 + side),
            (x0, y0 + side),
            (x0, y0),
        ]),
        vec![],
    )
}

#[test]
fn label_of_an_l_shape_is_at_its_largest_inscribed_circle() {
    // L of arm width s: the largest inscribed circle touches both outer edges and the inner
    // corner; its radius a solves √2·(s − a) = a, a = s·√2/(1+√2) ≈ 0.5858·s.
    let s = 0.001;
    let l = Polygon::new(
        LineString::from(vec![
            (0.0, 0.0),
            (2.0 * s, 0.0),
            (2.0 * s, s),
            (s, s),
            (s, 2.0 * s),
            (0.0, 2.0 * s),
            (0.0, 0.0),
        ]),
        vec![],
    );
    let p = label_point(&MultiPolygon(vec![l.clone()])).unwrap();
    assert!(l.contains(&p));
    let radius = Euclidean.distance(&p, l.exterior());
    assert!(radius >= 0.58 * s, "radius {radius} < {}", 0.5858 * s);
}

#[test]
fn label_goes_in_the_largest_part() {
    let big = square(114.0, 33.0, 0.01);
    let small = square(114.1, 33.0, 0.002);
    let p = label_point(&MultiPolygon(vec![small, big])).unwrap();
    assert!(
        close(p.x(), 114.005, 1e-4) && close(p.y(), 33.005, 1e-4),
        "{p:?}"
    );
}

#[test]
fn label_accounts_for_shrinking_longitude_degrees() {
    // At 60°N a degree of longitude is half as long. The triangle (0,60) (2,60) (0,61) is, locally,
    // the right isosceles triangle with legs 1; its incircle centre is at r = (2 − √2)/2 from both
    // legs, i.e. lon 2r, lat 60 + r.
    let t = Polygon::new(
        LineString::from(vec![(0.0, 60.0), (2.0, 60.0), (0.0, 61.0), (0.0, 60.0)]),
        vec![],
    );
    let r = (2.0 - std::f64::consts::SQRT_2) / 2.0;
    let p = label_point(&MultiPolygon(vec![t])).unwrap();
    // The local frame uses the cosine of the centre latitude (60.5°), hence the tolerance.
    assert!(
        close(p.x(), 2.0 * r, 0.03) && close(p.y(), 60.0 + r, 0.01),
        "{p:?}"
    );
    assert!(label_point(&MultiPolygon::<f64>(vec![])).is_none());
}

#[test]
fn layer_table_is_consistent() {
    assert_eq!(layer("micro_grids").unwrap().min_zoom, 15);
    assert_eq!(layer("roads").unwrap().min_zoom, 10);
    assert_eq!(
        layer("excluded").unwrap().fields,
        [("name", "String"), ("kind", "String")]
    );
    assert!(layer("buildings").is_none());
    for spec in &LAYERS {
        assert!(spec.min_zoom <= spec.max_zoom, "{}", spec.name);
        if let Some(z) = spec.label_min_zoom {
            assert!(spec.shown_at(z), "{} labels outside its zooms", spec.name);
        }
    }
    let names: Vec<&str> = LAYERS.iter().map(|l| l.name).collect();
    assert_eq!(
        names,
        [
            "districts",
            "streets",
            "communities",
            "grids",
            "micro_grids",
            "exclusive",
            "excluded",
            "roads",
            "labels"
        ]
    );
}
