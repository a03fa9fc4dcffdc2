//! Metric helpers for plans: label points, widths of slivers, and the west→east, north→south order.

use geo::{Area as _, BoundingRect, InteriorPoint};
use geo_types::{Coord, MultiPolygon, Polygon};

use crate::geodesy;

/// Label-point precision for [`pole`], as a fraction of the part's larger side: polylabel's cost grows fast
/// with precision (a 2:1 rectangle has a whole ridge of best points), and a thousandth of a grid's size is
/// plenty to tell which grid holds the point.
const POLE_PRECISION: f64 = 1e-3;

/// The pole of inaccessibility of the largest part: a point well inside the area, unlike the centroid of a
/// C-shaped grid. `None` for an empty geometry.
///
/// ```
/// use geo_types::{MultiPolygon, Rect, coord};
/// let square = MultiPolygon(vec![Rect::new(coord! {x: 0.0, y: 0.0}, coord! {x: 2.0, y: 2.0}).to_polygon()]);
/// let p = gridmap_core::plan::pole(&square).unwrap();
/// assert!((p.x - 1.0).abs() < 2e-3 && (p.y - 1.0).abs() < 2e-3);
/// ```
pub fn pole(mp: &MultiPolygon<f64>) -> Option<Coord<f64>> {
    let largest =
        mp.0.iter()
            .max_by(|a, b| a.unsigned_area().total_cmp(&b.unsigned_area()))?;
    let size = largest
        .bounding_rect()
        .map_or(0.0, |r| r.width().max(r.height()));
    polylabel::polylabel(largest, &(size * POLE_PRECISION).max(1e-9))
        .ok()
        .map(|p| p.0)
        .or_else(|| largest.interior_point().map(|p| p.0))
}

/// Perimeter of a polygon (all rings) in metres, in a local frame at its first vertex.
pub(crate) fn perimeter_m(p: &Polygon<f64>) -> f64 {
    let Some(origin) = p.exterior().0.first() else {
        return 0.0;
    };
    let (mx, my) = geodesy::metres_per_degree(origin.y);
    std::iter::once(p.exterior())
        .chain(p.interiors())
        .flat_map(geo_types::LineString::lines)
        .map(|l| ((l.end.x - l.start.x) * mx).hypot((l.end.y - l.start.y) * my))
        .sum()
}

/// Area of one polygon in m² (geodesic).
pub(crate) fn polygon_area_m2(p: &Polygon<f64>) -> f64 {
    geodesy::area_m2(&MultiPolygon(vec![p.clone()]))
}

/// Parts of `mp` wider than `width_m` on average (2·area / perimeter: the width of a long strip, half the
/// side of a square), with their total area in m². Slivers of digitising noise along shared borders and the
/// snapping noise of boolean operations fall below any positive width.
pub(crate) fn parts_wider_than(mp: &MultiPolygon<f64>, width_m: f64) -> (MultiPolygon<f64>, f64) {
    let mut kept = Vec::new();
    let mut total = 0.0;
    for p in &mp.0 {
        let area = polygon_area_m2(p);
        let perimeter = perimeter_m(p);
        if area > MIN_AREA_M2 && perimeter > 0.0 && 2.0 * area / perimeter > width_m {
            total += area;
            kept.push(p.clone());
        }
    }
    (MultiPolygon(kept), total)
}

/// Areas below this are numerical dust of boolean operations (a millimetre-wide strip 1 km long).
pub(crate) const MIN_AREA_M2: f64 = 1e-3;

/// Orders items west→east, north→south in row bands. Each item is `(label point, height in degrees)`; items
/// are taken from the north, and an item joins the current band if its point lies less than half the median
/// height below the band's first point. Returns indexes into `items`.
pub(crate) fn reading_order(items: &[(Coord<f64>, f64)]) -> Vec<usize> {
    let mut heights: Vec<f64> = items.iter().map(|i| i.1).collect();
    heights.sort_by(f64::total_cmp);
    let band = heights.get(heights.len() / 2).copied().unwrap_or(0.0) / 2.0;
    let mut by_north: Vec<usize> = (0..items.len()).collect();
    by_north.sort_by(|&a, &b| {
        items[b]
            .0
            .y
            .total_cmp(&items[a].0.y)
            .then(items[a].0.x.total_cmp(&items[b].0.x))
    });
    let mut order = Vec::with_capacity(items.len());
    let mut start = 0;
    while start < by_north.len() {
        let top = items[by_north[start]].0.y;
        let end = by_north[start..]
            .iter()
            .position(|&i| top - items[i].0.y >= band)
            .map_or(by_north.len(), |k| start + k);
        let mut row = by_north[start..end].to_vec();
        row.sort_by(|&a, &b| items[a].0.x.total_cmp(&items[b].0.x));
        order.extend(row);
        // A band always takes its first item, so this advances.
        start = end.max(start + 1);
    }
    order
}

/// `(label point, height in degrees)` of an area, for [`reading_order`].
pub(crate) fn order_key(mp: &MultiPolygon<f64>) -> (Coord<f64>, f64) {
    let height = mp.bounding_rect().map_or(0.0, geo_types::Rect::height);
    (pole(mp).unwrap_or_default(), height)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{Rect, coord};

    #[test]
    fn reading_order_goes_by_rows_from_the_north_west() {
        // Two rows of three, the lower row's centres jittered by a fifth of a row.
        let items = [
            (coord! {x: 2.0, y: 0.2}, 1.0),
            (coord! {x: 0.0, y: 1.0}, 1.0),
            (coord! {x: 1.0, y: -0.2}, 1.0),
            (coord! {x: 1.0, y: 1.1}, 1.0),
            (coord! {x: 0.0, y: 0.0}, 1.0),
            (coord! {x: 2.0, y: 0.9}, 1.0),
        ];
        assert_eq!(reading_order(&items), vec![1, 3, 5, 4, 2, 0]);
    }

    #[test]
    fn a_thin_strip_is_narrower_than_its_tolerance_a_block_is_not() {
        // 0.5 m x 1 km strip and 100 m x 100 m block near 33.5N.
        let (mx, my) = geodesy::metres_per_degree(33.5);
        let rect = |w_m: f64, h_m: f64| {
            Rect::new(
                coord! {x: 114.0, y: 33.5},
                coord! {x: 114.0 + w_m / mx, y: 33.5 + h_m / my},
            )
            .to_polygon()
        };
        let (strip, strip_m2) = parts_wider_than(&MultiPolygon(vec![rect(0.5, 1000.0)]), 1.0);
        assert!(strip.0.is_empty() && strip_m2 == 0.0);
        let (block, block_m2) = parts_wider_than(&MultiPolygon(vec![rect(100.0, 100.0)]), 1.0);
        assert_eq!(block.0.len(), 1);
        assert!((block_m2 - 10_000.0).abs() < 10.0, "{block_m2}");
    }
}
