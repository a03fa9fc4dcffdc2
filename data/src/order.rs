//! The numbering rule: children are coded in reading order (west→east, north→south) inside their
//! parent.
//!
//! A child's band is `floor((north − lat_c) / band_deg)`, where `north` is the parent's largest
//! latitude and `lat_c` the child's area centroid; children are sorted by band (north first), then
//! by centroid longitude (west first).

use geo_types::MultiPolygon;

use crate::lattice::CELL_LAT_DEG;

/// Band heights in degrees of latitude, by the level of the children.
pub const STREET_BAND_DEG: f64 = 20.0 * CELL_LAT_DEG;
pub const COMMUNITY_BAND_DEG: f64 = 10.0 * CELL_LAT_DEG;
pub const GRID_BAND_DEG: f64 = 3.0 * CELL_LAT_DEG;
pub const MICRO_GRID_BAND_DEG: f64 = CELL_LAT_DEG;

/// Area centroid (lon, lat) by the shoelace formula; holes, being clockwise, subtract.
/// Coordinates are taken relative to the first vertex to avoid cancellation.
pub fn centroid(mp: &MultiPolygon<f64>) -> (f64, f64) {
    let Some(origin) = mp
        .iter()
        .next()
        .and_then(|p| p.exterior().0.first().copied())
    else {
        return (f64::NAN, f64::NAN);
    };
    let (mut a, mut cx, mut cy) = (0.0, 0.0, 0.0);
    for poly in mp {
        for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
            for w in ring.0.windows(2) {
                let (x0, y0) = (w[0].x - origin.x, w[0].y - origin.y);
                let (x1, y1) = (w[1].x - origin.x, w[1].y - origin.y);
                let cross = x0 * y1 - x1 * y0;
                a += cross;
                cx += (x0 + x1) * cross;
                cy += (y0 + y1) * cross;
            }
        }
    }
    (origin.x + cx / (3.0 * a), origin.y + cy / (3.0 * a))
}

/// Largest latitude of a geometry.
pub fn north(mp: &MultiPolygon<f64>) -> f64 {
    mp.iter()
        .flat_map(|p| p.exterior().0.iter())
        .map(|c| c.y)
        .fold(f64::NEG_INFINITY, f64::max)
}

/// Positions of `children` in code order.
pub fn reading_order(children: &[&MultiPolygon<f64>], north: f64, band_deg: f64) -> Vec<usize> {
    let keys: Vec<(f64, f64)> = children
        .iter()
        .map(|mp| {
            let (lon, lat) = centroid(mp);
            (((north - lat) / band_deg).floor(), lon)
        })
        .collect();
    let mut order: Vec<usize> = (0..children.len()).collect();
    order.sort_by(|&a, &b| {
        keys[a]
            .0
            .total_cmp(&keys[b].0)
            .then(keys[a].1.total_cmp(&keys[b].1))
            .then(a.cmp(&b))
    });
    order
}
