//! Topology-preserving reshape: moving a shared vertex for every area that has it.
//!
//! Neighbours do not always share vertices: a split leaves a T-junction where its cut meets the neighbour's
//! edge (a community's long edge passes the end of a cut between two of its grids). So an edge passing within
//! the tolerance of the vertex without an end there is bent through the target. To keep the bend as local as
//! the moved vertex's own edges, the edge also gets the moved vertex's ring neighbours ("anchors", collected
//! from every area that has the vertex) that lie on it: the neighbour follows the moved boundary exactly
//! instead of opening a long thin gap or overlap.

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
    anchors: &[Coord<f64>],
) -> Option<MultiPolygon<f64>> {
    let frame = Frame::new(from, tolerance_m);
    let (mx, my) = (frame.mx, frame.my);
    let (dx, dy) = (tolerance_m / mx, tolerance_m / my);
    let r = mp.bounding_rect()?;
    if from.x < r.min().x - dx
        || from.x > r.max().x + dx
        || from.y < r.min().y - dy
        || from.y > r.max().y + dy
    {
        return None;
    }
    let mut changed = false;
    let mut out = mp.clone();
    let mut bend = |ring: &mut LineString<f64>| {
        if let Some(moved) = bend_ring(ring, to, &frame, anchors) {
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

/// The local metric frame of a move: distances in metres around `from`.
pub(crate) struct Frame {
    from: Coord<f64>,
    tolerance_m: f64,
    mx: f64,
    my: f64,
}

impl Frame {
    pub(crate) fn new(from: Coord<f64>, tolerance_m: f64) -> Frame {
        let (mx, my) = geodesy::metres_per_degree(from.y);
        Frame {
            from,
            tolerance_m,
            mx,
            my,
        }
    }

    /// True if segment `a`–`b` (a point when equal) passes within the tolerance of `p`.
    fn near_to(&self, p: Coord<f64>, a: Coord<f64>, b: Coord<f64>) -> bool {
        geodesy::point_segment_distance_scaled(p, a, b, self.mx, self.my) <= self.tolerance_m
    }

    fn near(&self, a: Coord<f64>, b: Coord<f64>) -> bool {
        self.near_to(self.from, a, b)
    }

    /// Position of `p`'s projection along `a`–`b`, 0 at `a`, 1 at `b`.
    fn along(&self, p: Coord<f64>, a: Coord<f64>, b: Coord<f64>) -> f64 {
        let (dx, dy) = ((b.x - a.x) * self.mx, (b.y - a.y) * self.my);
        let (px, py) = ((p.x - a.x) * self.mx, (p.y - a.y) * self.my);
        let len2 = dx * dx + dy * dy;
        if len2 > 0.0 {
            (px * dx + py * dy) / len2
        } else {
            0.0
        }
    }
}

/// The ring neighbours of every vertex of `mp` near the frame's point (see the module docs).
pub(crate) fn anchors(mp: &MultiPolygon<f64>, frame: &Frame, out: &mut Vec<Coord<f64>>) {
    for ring in
        mp.0.iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
    {
        // Closed ring: positions 0..n-1 are distinct, n-1 repeats 0.
        let pts = &ring.0;
        let n = pts.len().saturating_sub(1);
        for k in 0..n {
            if frame.near(pts[k], pts[k]) {
                out.push(pts[(k + n - 1) % n]);
                out.push(pts[(k + 1) % n]);
            }
        }
    }
}

/// The ring with near vertices moved to `to` and near edges bent through it, or `None` if nothing is near.
fn bend_ring(
    ring: &LineString<f64>,
    to: Coord<f64>,
    frame: &Frame,
    anchors: &[Coord<f64>],
) -> Option<LineString<f64>> {
    let pts = &ring.0;
    if pts.len() < 2 {
        return None;
    }
    let close: Vec<bool> = pts.iter().map(|&v| frame.near(v, v)).collect();
    let mut out = Vec::with_capacity(pts.len() + 3);
    let mut changed = false;
    for k in 0..pts.len() {
        if close[k] {
            out.push(to);
            changed = true;
        } else {
            out.push(pts[k]);
        }
        if k + 1 < pts.len() && !close[k] && !close[k + 1] && frame.near(pts[k], pts[k + 1]) {
            let (a, b) = (pts[k], pts[k + 1]);
            let at = frame.along(frame.from, a, b);
            let mut on_edge: Vec<(f64, Coord<f64>)> = anchors
                .iter()
                .filter(|&&c| !frame.near(c, c) && frame.near_to(c, a, b))
                .map(|&c| (frame.along(c, a, b), c))
                .filter(|(t, _)| *t > 0.0 && *t < 1.0)
                .collect();
            on_edge.push((at, to));
            on_edge.sort_by(|x, y| x.0.total_cmp(&y.0));
            out.extend(on_edge.into_iter().map(|(_, c)| c));
            changed = true;
        }
    }
    // Two near vertices in a row collapse onto `to`, anchors may repeat: keep one of each run.
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
        assert!(
            move_vertex(
                &square(114.0),
                coord! {x: 114.5, y: 33.5},
                coord! {x: 114.6, y: 33.5},
                1.0,
                &[]
            )
            .is_none()
        );
    }

    #[test]
    fn the_closing_vertex_moves_with_the_first() {
        let from = coord! {x: 114.0, y: 33.0};
        let to = coord! {x: 113.999, y: 32.999};
        let moved = move_vertex(&square(114.0), from, to, 0.5, &[]).expect("moved");
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
        let moved = move_vertex(&square(114.0), from, to, 0.5, &[]).expect("bent");
        assert_eq!(moved.0[0].exterior().0.len(), 6);
        assert!(moved.0[0].exterior().0.contains(&to));
    }
}
