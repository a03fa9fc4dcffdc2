//! Splitting an area along lines.
//!
//! geo 0.33 has boolean operations but no split, so we call the library under them, `i_overlay`, whose
//! `slice_by` cuts shapes along open polylines exactly (no thin strip is cut away: the pieces share the cut
//! edges vertex for vertex). Like geo's boolean operations it snaps coordinates to an integer grid fitted to
//! the inputs' extent (about 1e-9 of it: micrometres for a grid), far below any tolerance of a plan.
//!
//! Lines drawn by hand often stop on the boundary or a hair short of it; each line is extended by
//! [`EXTEND_M`] at both ends so that it crosses. A line ending inside the area, further than that from the
//! boundary, cuts nothing.

use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use i_overlay::core::fill_rule::FillRule;
use i_overlay::float::slice::FloatSlice;

use super::geometry::{MIN_AREA_M2, polygon_area_m2};
use crate::geodesy;

/// How far each cutting line is extended beyond its ends, in metres.
pub const EXTEND_M: f64 = 1.0;

/// The pieces of `mp` cut along `lines`, exterior rings counter-clockwise, holes clockwise. Parts of the area
/// that no line crosses come back whole.
///
/// ```
/// use geo_types::{MultiPolygon, Rect, coord, line_string};
/// use gridmap_core::{geodesy::area_m2, plan::split_by_lines};
/// let block = MultiPolygon(vec![Rect::new(coord! {x: 114.0, y: 33.0}, coord! {x: 114.01, y: 33.01}).to_polygon()]);
/// let cut = line_string![(x: 114.004, y: 33.0), (x: 114.004, y: 33.01)];
/// let pieces = split_by_lines(&block, &[cut]);
/// assert_eq!(pieces.len(), 2);
/// let west = MultiPolygon(vec![Rect::new(coord! {x: 114.0, y: 33.0}, coord! {x: 114.004, y: 33.01}).to_polygon()]);
/// let smaller = pieces.iter().map(|p| area_m2(&MultiPolygon(vec![p.clone()]))).fold(f64::MAX, f64::min);
/// assert!((smaller / area_m2(&west) - 1.0).abs() < 1e-4);
/// ```
pub fn split_by_lines(mp: &MultiPolygon<f64>, lines: &[LineString<f64>]) -> Vec<Polygon<f64>> {
    let rings: Vec<Vec<[f64; 2]>> =
        mp.0.iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            .map(open_ring)
            .filter(|r| r.len() >= 3)
            .collect();
    let cuts: Vec<Vec<[f64; 2]>> = lines
        .iter()
        .filter(|l| l.0.len() >= 2)
        .map(extended)
        .collect();
    if rings.is_empty() {
        return Vec::new();
    }
    let shapes = rings.slice_by(&cuts, FillRule::EvenOdd);
    let mut pieces: Vec<Polygon<f64>> = shapes
        .into_iter()
        .filter_map(|shape| {
            let mut contours = shape.into_iter().map(closed_ring);
            let exterior = contours.next()?;
            Some(Polygon::new(exterior, contours.collect()))
        })
        .filter(|p| polygon_area_m2(p) > MIN_AREA_M2)
        .collect();
    crate::validate::normalise_winding(&mut pieces);
    pieces
}

/// A ring's positions without the closing repeat.
fn open_ring(ring: &LineString<f64>) -> Vec<[f64; 2]> {
    let mut points: Vec<[f64; 2]> = ring.0.iter().map(|c| [c.x, c.y]).collect();
    if points.len() > 1 && points.first() == points.last() {
        points.pop();
    }
    points
}

fn closed_ring(points: Vec<[f64; 2]>) -> LineString<f64> {
    LineString::from(
        points
            .into_iter()
            .map(|[x, y]| Coord { x, y })
            .collect::<Vec<_>>(),
    )
}

/// The line with its first and last segments lengthened by [`EXTEND_M`] outwards.
fn extended(line: &LineString<f64>) -> Vec<[f64; 2]> {
    let mut points: Vec<[f64; 2]> = line.0.iter().map(|c| [c.x, c.y]).collect();
    let n = points.len();
    points[0] = push_out(line.0[1], line.0[0]);
    points[n - 1] = push_out(line.0[n - 2], line.0[n - 1]);
    points
}

/// `end` moved [`EXTEND_M`] further along the direction from `before` to `end`.
fn push_out(before: Coord<f64>, end: Coord<f64>) -> [f64; 2] {
    let (mx, my) = geodesy::metres_per_degree(end.y);
    let (dx, dy) = ((end.x - before.x) * mx, (end.y - before.y) * my);
    let len = dx.hypot(dy);
    if len == 0.0 {
        return [end.x, end.y];
    }
    let k = EXTEND_M / len;
    [end.x + dx * k / mx, end.y + dy * k / my]
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{Rect, coord, line_string};

    fn block() -> MultiPolygon<f64> {
        MultiPolygon(vec![
            Rect::new(coord! {x: 114.0, y: 33.0}, coord! {x: 114.01, y: 33.01}).to_polygon(),
        ])
    }

    #[test]
    fn two_crossing_lines_give_four_quarters_of_equal_area() {
        let lines = [
            line_string![(x: 114.005, y: 33.02), (x: 114.005, y: 32.99)],
            line_string![(x: 113.99, y: 33.005), (x: 114.02, y: 33.005)],
        ];
        let pieces = split_by_lines(&block(), &lines);
        assert_eq!(pieces.len(), 4);
        let quarter = geodesy::area_m2(&block()) / 4.0;
        for p in &pieces {
            // Quarters differ a little by latitude (the north ones are smaller); 1e-3 covers 0.005 deg.
            assert!((polygon_area_m2(p) / quarter - 1.0).abs() < 1e-3);
        }
    }

    #[test]
    fn a_line_stopping_half_a_metre_short_still_cuts() {
        let short = 0.5 / geodesy::metres_per_degree(33.0).1;
        let lines = [line_string![(x: 114.005, y: 33.0 + short), (x: 114.005, y: 33.01 - short)]];
        assert_eq!(split_by_lines(&block(), &lines).len(), 2);
    }

    #[test]
    fn a_dangling_line_cuts_nothing() {
        let lines = [line_string![(x: 114.005, y: 33.005), (x: 114.005, y: 33.02)]];
        let pieces = split_by_lines(&block(), &lines);
        assert_eq!(pieces.len(), 1);
        let ratio = polygon_area_m2(&pieces[0]) / geodesy::area_m2(&block());
        // Geodesic area shifts by ~1e-5 when a vertex splits an edge along a parallel: not a loss of ground.
        assert!((ratio - 1.0).abs() < 1e-4, "{ratio}");
    }
}
