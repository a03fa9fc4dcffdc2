//! Topology-preserving reshape: moving a shared vertex for every area that has it.
//!
//! Neighbours do not always share vertices: a split leaves a T-junction where its cut meets the neighbour's
//! edge. So an edge passing within the tolerance of the vertex without an end there gets a new vertex at the
//! target, which keeps the neighbour on the moved boundary instead of opening a gap or an overlap.

use geo::BoundingRect;
use geo_types::{Coord, LineString, MultiPolygon};

use crate::geodesy;

/// `mp` with every vertex within `tolerance_m` of `from` moved to `to`, and every edge passing that close
/// (without a vertex there) bent through `to`; `None` if no boundary of `mp` comes that close.
///
/// ```
/// use geo_types::{MultiPolygon, Rect, coord};
/// use gridmap_core::plan::{Plan, PlanEdit, apply};
/// use gridmap_core::{Area, Level};
/// // Two squares sharing the edge x = 1; the east one has no vertex at (1, 0.5).
/// let sq = |x0: f64| MultiPolygon(vec![Rect::new(coord! {x: x0, y: 0.0}, coord! {x: x0 + 1.0, y: 1.0}).to_polygon()]);
/// let area = |code: &str, x0: f64| Area { code: code.into(), name: code.into(), level: Level::Grid, kind: None,
///     parent: None, geometry: sq(x0), staff: vec![] };
/// let areas = [area("w", 0.0), area("e", 1.0)];
/// let plan = Plan { edits: vec![PlanEdit::MoveVertex {
///     from: coord! {x: 1.0, y: 1.0}, to: coord! {x: 1.2, y: 1.0}, tolerance_m: 1.0 }], ..Plan::default() };
/// let out = apply(&areas, &plan).unwrap();
/// assert_eq!(out.changed.len(), 2); // both neighbours moved the shared corner
/// ```
pub(crate) fn move_vertex(
    mp: &MultiPolygon<f64>,
    from: Coord<f64>,
    to: Coord<f64>,
    tolerance_m: f64,
) -> Option<MultiPolygon<f64>> {
    let (mx, my) = geodesy::metres_per_degree(from.y);
    let (dx, dy) = (tolerance_m / mx, tolerance_m / my);
    let r = mp.bounding_rect()?;
    if from.x < r.min().x - dx || from.x > r.max().x + dx || from.y < r.min().y - dy || from.y > r.max().y + dy {
        return None;
    }
    let mut changed = false;
    let mut out = mp.clone();
    let near = |a: Coord<f64>, b: Coord<f64>| {
        geodesy::point_segment_distance_scaled(from, a, b, mx, my) <= tolerance_m
    };
    let mut bend = |ring: &mut LineString<f64>| {
        if let Some(moved) = bend_ring(ring, to, &near) {
            *ring = moved;
            changed = true;
        }
    };
    for p in &mut out.0 {
        p.exterior_mut(&mut bend);
        p.interiors_mut(|holes| holes.iter_mut().for_each(&mut bend));
    }
    changed.then_some(out)
}

/// The ring with near vertices moved to `to` and near edges bent through it, or `None` if nothing is near.
fn bend_ring(
    ring: &LineString<f64>,
    to: Coord<f64>,
    near: &impl Fn(Coord<f64>, Coord<f64>) -> bool,
) -> Option<LineString<f64>> {
    let pts = &ring.0;
    if pts.len() < 2 {
        return None;
    }
    let close: Vec<bool> = pts.iter().map(|&v| near(v, v)).collect();
    let mut out = Vec::with_capacity(pts.len() + 1);
    let mut changed = false;
    for k in 0..pts.len() {
        if close[k] {
            out.push(to);
            changed = true;
        } else {
            out.push(pts[k]);
        }
        if k + 1 < pts.len() && !close[k] && !close[k + 1] && near(pts[k], pts[k + 1]) {
            out.push(to);
            changed = true;
        }
    }
    // Two near vertices in a row collapse onto `to`: keep one.
    out.dedup();
    changed.then(|| LineString::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{Rect, coord};

    fn square(x0: f64) -> MultiPolygon<f64> {
        MultiPolygon(vec![
            Rect::new(coord! {x: x0, y: 33.0}, coord! {x: x0 + 0.01, y: 33.01}).to_polygon(),
        ])
    }

    #[test]
    fn a_far_point_changes_nothing() {
        assert!(move_vertex(&square(114.0), coord! {x: 114.5, y: 33.5}, coord! {x: 114.6, y: 33.5}, 1.0).is_none());
    }

    #[test]
    fn the_closing_vertex_moves_with_the_first() {
        let from = coord! {x: 114.0, y: 33.0};
        let to = coord! {x: 113.999, y: 32.999};
        let moved = move_vertex(&square(114.0), from, to, 0.5).expect("moved");
        let ring = &moved.0[0].exterior().0;
        assert_eq!(ring.first(), ring.last());
        assert!(ring.contains(&to) && !ring.contains(&from));
        assert_eq!(ring.len(), 5);
    }

    #[test]
    fn an_edge_passing_through_gets_a_new_vertex() {
        // The east edge x = 114.01 passes through (114.01, 33.005) without a vertex there.
        let from = coord! {x: 114.01, y: 33.005};
        let to = coord! {x: 114.011, y: 33.005};
        let moved = move_vertex(&square(114.0), from, to, 0.5).expect("bent");
        assert_eq!(moved.0[0].exterior().0.len(), 6);
        assert!(moved.0[0].exterior().0.contains(&to));
    }
}
