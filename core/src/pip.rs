//! Point in polygon with a half-open boundary rule, exact (robust orientation predicates).
//!
//! Rule: a point on an edge shared by two areas belongs to exactly one of them: the one that contains the
//! point moved an infinitesimal step east (then north, for horizontal edges). A point on the outer edge of
//! the tree, which no area takes by that rule, belongs to the area whose closed polygon covers it
//! (smallest code first).
//!
//! How: we decide whether `p' = p + (ε, ε²)` is inside, for infinitely small ε, by crossing parity of a ray
//! from `p'` towards +x. With each edge taken lower endpoint first (`lo.y < hi.y`; horizontal edges never cross
//! the ray because `p'.y` lies strictly between vertex heights), an edge crosses iff
//! `lo.y <= p.y < hi.y` and `orient2d(lo, hi, p) > 0` (`p` strictly left of the upward edge). When
//! `orient2d == 0` the ε term decides: `p'` is then east of the edge, so the edge does not cross. Both neighbours
//! of a shared edge evaluate this identical exact predicate, so exactly one of them takes the point.

use geo_types::{Coord, MultiPolygon, Polygon, Rect};

use crate::geodesy;

/// Polygons with more edges than this get y-bands; smaller ones are scanned edge by edge.
const BAND_THRESHOLD: usize = 24;
/// Average number of edges per band we aim for.
const EDGES_PER_BAND: usize = 4;

/// Does edge `a`–`b` cross the eastward ray from `p + (ε, ε²)`? See the module docs.
#[inline]
fn crosses(a: Coord<f64>, b: Coord<f64>, p: Coord<f64>) -> bool {
    let (lo, hi) = if a.y < b.y {
        (a, b)
    } else if b.y < a.y {
        (b, a)
    } else {
        return false;
    };
    if p.y < lo.y || p.y >= hi.y {
        return false;
    }
    // Cheap decisions when p lies strictly outside the edge's x-range; exact predicate otherwise.
    if p.x < lo.x.min(hi.x) {
        return true;
    }
    if p.x > lo.x.max(hi.x) {
        return false;
    }
    robust::orient2d(to_robust(lo), to_robust(hi), to_robust(p)) > 0.0
}

/// Is `p` on the closed segment `a`–`b`? Exact.
#[inline]
fn on_segment(a: Coord<f64>, b: Coord<f64>, p: Coord<f64>) -> bool {
    p.x >= a.x.min(b.x)
        && p.x <= a.x.max(b.x)
        && p.y >= a.y.min(b.y)
        && p.y <= a.y.max(b.y)
        && robust::orient2d(to_robust(a), to_robust(b), to_robust(p)) == 0.0
}

#[inline]
fn to_robust(c: Coord<f64>) -> robust::Coord<f64> {
    robust::Coord { x: c.x, y: c.y }
}

/// Half-open containment of `p` in `mp` (see the module docs), without preparation.
pub fn contains(mp: &MultiPolygon<f64>, p: Coord<f64>) -> bool {
    mp.0.iter()
        .fold(false, |inside, poly| inside ^ polygon_contains(poly, p))
}

/// Half-open containment of `p` in one polygon.
fn polygon_contains(poly: &Polygon<f64>, p: Coord<f64>) -> bool {
    let mut inside = false;
    for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
        for l in ring.lines() {
            inside ^= crosses(l.start, l.end, p);
        }
    }
    inside
}

/// Closed containment (boundary inclusive) of `p` in `mp`, without preparation.
pub fn covers(mp: &MultiPolygon<f64>, p: Coord<f64>) -> bool {
    contains(mp, p)
        || mp
            .0
            .iter()
            .flat_map(|poly| std::iter::once(poly.exterior()).chain(poly.interiors()))
            .flat_map(geo_types::LineString::lines)
            .any(|l| on_segment(l.start, l.end, p))
}

/// Horizontal bands of edges: band `k` lists every edge whose closed y-range meets it.
#[derive(Debug, Clone)]
struct Bands {
    y0: f64,
    inv_h: f64,
    last: usize,
    /// `offsets[k]..offsets[k + 1]` indexes `edges` for band `k`.
    offsets: Vec<u32>,
    /// Edge `i` runs from `coords[i]` to `coords[i + 1]`.
    edges: Vec<u32>,
}

impl Bands {
    /// Monotone in `y`, so an edge whose y-range holds `y` is listed in `band(y)`.
    #[inline]
    fn band(&self, y: f64) -> usize {
        // Truncation is floor for non-negative values (and avoids a libm call); both are monotone.
        let k = (y - self.y0) * self.inv_h;
        if k <= 0.0 {
            0
        } else {
            (k as usize).min(self.last)
        }
    }
}

/// A `MultiPolygon` prepared for many point queries: its rings flattened, its edges banded by y.
#[derive(Debug, Clone)]
pub struct PreparedPolygon {
    /// `[min_x, min_y, max_x, max_y]`; inverted (min > max) for an empty geometry, so nothing is inside.
    bbox: [f64; 4],
    /// Every ring, closed, one after another.
    coords: Box<[Coord<f64>]>,
    /// End (exclusive) of each ring in `coords`; left empty when there is a single ring, to save a memory access.
    ring_ends: Box<[u32]>,
    /// Boxed: most polygons have none, and the struct stays small (it is read on every lookup).
    bands: Option<Box<Bands>>,
}

impl PreparedPolygon {
    pub fn new(mp: &MultiPolygon<f64>) -> PreparedPolygon {
        let mut coords = Vec::new();
        let mut ring_ends = Vec::new();
        for ring in
            mp.0.iter()
                .flat_map(|poly| std::iter::once(poly.exterior()).chain(poly.interiors()))
        {
            if ring.0.is_empty() {
                continue;
            }
            coords.extend_from_slice(&ring.0);
            if ring.0.first() != ring.0.last() {
                coords.push(ring.0[0]);
            }
            ring_ends.push(coords.len() as u32);
        }
        if ring_ends.len() == 1 {
            ring_ends.clear();
        }
        let rect = bounding_rect(&coords);
        let bbox = rect.map_or([1.0, 1.0, -1.0, -1.0], |r| {
            [r.min().x, r.min().y, r.max().x, r.max().y]
        });
        let mut prepared = PreparedPolygon {
            bbox,
            coords: coords.into_boxed_slice(),
            ring_ends: ring_ends.into_boxed_slice(),
            bands: None,
        };
        let n_edges = prepared.edge_starts().count();
        if n_edges > BAND_THRESHOLD
            && let Some(rect) = rect
        {
            prepared.bands = Some(Box::new(prepared.make_bands(rect, n_edges)));
        }
        prepared
    }

    fn make_bands(&self, bbox: Rect<f64>, n_edges: usize) -> Bands {
        let n = (n_edges / EDGES_PER_BAND).max(1);
        let height = bbox.height();
        let inv_h = if height > 0.0 { n as f64 / height } else { 0.0 };
        let mut bands = Bands {
            y0: bbox.min().y,
            inv_h,
            last: n - 1,
            offsets: Vec::new(),
            edges: Vec::new(),
        };
        let spans: Vec<(usize, usize, usize)> = self
            .edge_starts()
            .map(|i| {
                let (a, b) = (self.coords[i], self.coords[i + 1]);
                (i, bands.band(a.y.min(b.y)), bands.band(a.y.max(b.y)))
            })
            .collect();
        // Counting sort: sizes, prefix sums, fill.
        let mut offsets = vec![0u32; n + 1];
        for &(_, lo, hi) in &spans {
            for k in lo..=hi {
                offsets[k + 1] += 1;
            }
        }
        for k in 0..n {
            offsets[k + 1] += offsets[k];
        }
        let mut fill = offsets.clone();
        let mut edges = vec![0u32; offsets[n] as usize];
        for &(i, lo, hi) in &spans {
            for slot in &mut fill[lo..=hi] {
                edges[*slot as usize] = i as u32;
                *slot += 1;
            }
        }
        bands.offsets = offsets;
        bands.edges = edges;
        bands
    }

    /// Start index of every edge (edges never join the end of one ring to the start of the next).
    fn edge_starts(&self) -> impl Iterator<Item = usize> + '_ {
        let single = self
            .ring_ends
            .is_empty()
            .then_some(self.coords.len() as u32);
        let mut start = 0usize;
        self.ring_ends
            .iter()
            .copied()
            .chain(single)
            .flat_map(move |end| {
                let s = start;
                start = end as usize;
                s..(end as usize).saturating_sub(1)
            })
    }

    /// The candidate edges for a point at height `y`, as start indices.
    fn candidates(&self, y: f64) -> Candidates<'_> {
        match &self.bands {
            Some(b) => {
                let k = b.band(y);
                Candidates::Band(b.edges[b.offsets[k] as usize..b.offsets[k + 1] as usize].iter())
            }
            None => Candidates::All(Box::new(self.edge_starts())),
        }
    }

    /// The bounding box, `None` for an empty geometry.
    pub fn bbox(&self) -> Option<Rect<f64>> {
        let [x0, y0, x1, y1] = self.bbox;
        (x0 <= x1).then(|| Rect::new(Coord { x: x0, y: y0 }, Coord { x: x1, y: y1 }))
    }

    fn in_bbox(&self, p: Coord<f64>) -> bool {
        let [x0, y0, x1, y1] = self.bbox;
        p.x >= x0 && p.x <= x1 && p.y >= y0 && p.y <= y1
    }

    /// Half-open containment (see the module docs).
    pub fn contains(&self, p: Coord<f64>) -> bool {
        if !self.in_bbox(p) {
            return false;
        }
        let coords = &self.coords;
        let mut inside = false;
        match &self.bands {
            Some(bands) => {
                let band = bands.band(p.y);
                for &i in
                    &bands.edges[bands.offsets[band] as usize..bands.offsets[band + 1] as usize]
                {
                    let i = i as usize;
                    inside ^= crosses(coords[i], coords[i + 1], p);
                }
            }
            None if self.ring_ends.is_empty() => {
                for w in coords.windows(2) {
                    inside ^= crosses(w[0], w[1], p);
                }
            }
            None => {
                let mut start = 0usize;
                for &end in &*self.ring_ends {
                    let end = end as usize;
                    for w in coords[start..end].windows(2) {
                        inside ^= crosses(w[0], w[1], p);
                    }
                    start = end;
                }
            }
        }
        inside
    }

    /// Is `p` exactly on the boundary?
    pub fn on_boundary(&self, p: Coord<f64>) -> bool {
        self.in_bbox(p)
            && self
                .candidates(p.y)
                .any(|i| on_segment(self.coords[i], self.coords[i + 1], p))
    }

    /// Closed containment, boundary inclusive.
    pub fn covers(&self, p: Coord<f64>) -> bool {
        self.contains(p) || self.on_boundary(p)
    }

    /// Distance from `p` to the nearest edge, in metres (local metric frame, see [`crate::geodesy`]).
    pub fn distance_to_boundary_m(&self, p: Coord<f64>) -> f64 {
        let (mx, my) = geodesy::metres_per_degree(p.y);
        self.edge_starts()
            .map(|i| {
                geodesy::point_segment_distance_scaled(
                    p,
                    self.coords[i],
                    self.coords[i + 1],
                    mx,
                    my,
                )
            })
            .fold(f64::INFINITY, f64::min)
    }

    /// Number of vertices held (rings closed), for memory accounting.
    pub fn vertex_count(&self) -> usize {
        self.coords.len()
    }
}

/// Does the closed region of `parent` hold all of `child`? Exact (orientation predicates only, no constructed
/// points); it may answer `false` for some degenerate children that do fit (callers must treat `false` as
/// "unknown"), never `true` for one that does not.
///
/// `child ⊆ parent` iff the parent's boundary never enters the child's interior and every polygon of the child
/// has one interior point inside the parent. The first part: no parent edge properly crosses a child edge, and
/// each piece of a parent edge between the child's vertices on it either runs along a child edge or lies
/// outside the child (decided at its start, moved an infinitesimal step along it: [`crosses_along`]). The
/// second: a point an infinitesimal step from a child vertex into the child ([`interior_witness`]), tested
/// against the parent the same way.
pub fn covers_region(
    parent: &PreparedPolygon,
    child: &MultiPolygon<f64>,
    child_prepared: &PreparedPolygon,
) -> bool {
    let Some(child_box) = child_prepared.bbox() else {
        return true; // an empty child fits anywhere
    };
    let child_edges: Vec<(Coord<f64>, Coord<f64>)> = child_prepared
        .edge_starts()
        .map(|i| (child_prepared.coords[i], child_prepared.coords[i + 1]))
        .filter(|(a, b)| a != b)
        .collect();
    let child_vertices: Vec<Coord<f64>> = child_edges.iter().map(|e| e.0).collect();
    let meets = |a: Coord<f64>, b: Coord<f64>, r: &Rect<f64>| {
        a.x.max(b.x) >= r.min().x
            && a.x.min(b.x) <= r.max().x
            && a.y.max(b.y) >= r.min().y
            && a.y.min(b.y) <= r.max().y
    };
    let mut stops = Vec::new();
    for i in parent.edge_starts() {
        let (a, b) = (parent.coords[i], parent.coords[i + 1]);
        if a == b || !meets(a, b, &child_box) {
            continue;
        }
        let edge_box = Rect::new(a, b);
        if child_edges
            .iter()
            .any(|&(c, d)| meets(c, d, &edge_box) && properly_cross(a, b, c, d))
        {
            return false;
        }
        // Split the edge at the child's vertices on it; the pieces then meet the child's boundary only at their ends.
        stops.clear();
        stops.push(a);
        stops.push(b);
        stops.extend(
            child_vertices
                .iter()
                .copied()
                .filter(|&v| on_segment(a, b, v)),
        );
        if (b.x - a.x).abs() >= (b.y - a.y).abs() {
            stops.sort_by(|p, q| p.x.total_cmp(&q.x));
        } else {
            stops.sort_by(|p, q| p.y.total_cmp(&q.y));
        }
        stops.dedup();
        for w in stops.windows(2) {
            let (s, t) = (w[0], w[1]);
            let along_child_edge = child_edges
                .iter()
                .any(|&(c, d)| on_segment(c, d, s) && on_segment(c, d, t));
            if !along_child_edge {
                let inside = child_edges
                    .iter()
                    .fold(false, |inside, &(c, d)| inside ^ crosses_along(c, d, s, t));
                if inside {
                    return false;
                }
            }
        }
    }
    child.0.iter().all(|poly| {
        interior_witness(poly).is_some_and(|(s, t)| {
            parent.edge_starts().fold(false, |inside, i| {
                inside ^ crosses_along(parent.coords[i], parent.coords[i + 1], s, t)
            })
        })
    })
}

/// A direction `s → t` from a vertex of `poly` whose first infinitesimal step lies in `poly`'s interior, if one
/// is found: towards the vertex after next, or towards the middle of the two neighbours (any float point will
/// do as `t`, the test is exact for it).
fn interior_witness(poly: &Polygon<f64>) -> Option<(Coord<f64>, Coord<f64>)> {
    let ring = &poly.exterior().0;
    let n = ring.len().saturating_sub(1); // closed ring: last = first
    let edges: Vec<(Coord<f64>, Coord<f64>)> = std::iter::once(poly.exterior())
        .chain(poly.interiors())
        .flat_map(geo_types::LineString::lines)
        .map(|l| (l.start, l.end))
        .filter(|(a, b)| a != b)
        .collect();
    (0..n).find_map(|i| {
        let s = ring[i];
        let (prev, next) = (ring[(i + n - 1) % n], ring[(i + 1) % n]);
        let towards = [
            ring[(i + 2) % n],
            Coord {
                x: f64::midpoint(prev.x, next.x),
                y: f64::midpoint(prev.y, next.y),
            },
        ];
        towards.into_iter().find_map(|t| {
            let along_edge = t == s
                || edges.iter().any(|&(c, d)| {
                    on_segment(c, d, s)
                        && robust::orient2d(to_robust(c), to_robust(d), to_robust(t)) == 0.0
                });
            let inside = !along_edge
                && edges
                    .iter()
                    .fold(false, |inside, &(c, d)| inside ^ crosses_along(c, d, s, t));
            inside.then_some((s, t))
        })
    })
}

/// Do the open segments `a`–`b` and `c`–`d` cross at a single point inside both? Exact.
fn properly_cross(a: Coord<f64>, b: Coord<f64>, c: Coord<f64>, d: Coord<f64>) -> bool {
    let orient = |from: Coord<f64>, to: Coord<f64>, at: Coord<f64>| {
        robust::orient2d(to_robust(from), to_robust(to), to_robust(at))
    };
    orient(a, b, c) * orient(a, b, d) < 0.0 && orient(c, d, a) * orient(c, d, b) < 0.0
}

/// Does edge `a`–`b` cross the eastward ray from `q = s + δ(t − s) + δ²(0, 1)`, for infinitely small δ? Like
/// [`crosses`], with the point moved along `s → t` instead of east; every term's sign is an exact predicate.
/// Valid when `q` is on no edge, i.e. the segment `s`–`t` does not start along an edge.
#[expect(
    clippy::float_cmp,
    reason = "exact ties decide which symbolic term counts"
)]
fn crosses_along(a: Coord<f64>, b: Coord<f64>, s: Coord<f64>, t: Coord<f64>) -> bool {
    let (lo, hi) = if a.y < b.y {
        (a, b)
    } else if b.y < a.y {
        (b, a)
    } else {
        return false; // `q.y` is never a vertex height, so horizontal edges never cross
    };
    let above_lo = s.y > lo.y || (s.y == lo.y && t.y >= s.y);
    let below_hi = s.y < hi.y || (s.y == hi.y && t.y < s.y);
    if !(above_lo && below_hi) {
        return false;
    }
    // orient(lo, hi, q) = orient(lo, hi, s) + δ·cross(hi − lo, t − s) + δ²·(hi.x − lo.x); when the first term
    // is zero, the second equals orient(lo, hi, t).
    let at_s = robust::orient2d(to_robust(lo), to_robust(hi), to_robust(s));
    if at_s != 0.0 {
        return at_s > 0.0;
    }
    let at_t = robust::orient2d(to_robust(lo), to_robust(hi), to_robust(t));
    if at_t != 0.0 {
        return at_t > 0.0;
    }
    hi.x > lo.x
}

enum Candidates<'a> {
    Band(std::slice::Iter<'a, u32>),
    All(Box<dyn Iterator<Item = usize> + 'a>),
}

impl Iterator for Candidates<'_> {
    type Item = usize;
    fn next(&mut self) -> Option<usize> {
        match self {
            Candidates::Band(it) => it.next().map(|&i| i as usize),
            Candidates::All(it) => it.next(),
        }
    }
}

fn bounding_rect(coords: &[Coord<f64>]) -> Option<Rect<f64>> {
    let first = *coords.first()?;
    let (mut min, mut max) = (first, first);
    for c in coords {
        min.x = min.x.min(c.x);
        min.y = min.y.min(c.y);
        max.x = max.x.max(c.x);
        max.y = max.y.max(c.y);
    }
    Some(Rect::new(min, max))
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{coord, polygon};

    fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon<f64> {
        MultiPolygon(vec![
            polygon![(x: x0, y: y0), (x: x1, y: y0), (x: x1, y: y1), (x: x0, y: y1)],
        ])
    }

    #[test]
    fn shared_vertical_edge_goes_east_and_horizontal_edge_goes_north() {
        let west = square(0.0, 0.0, 1.0, 1.0);
        let east = square(1.0, 0.0, 2.0, 1.0);
        let north = square(0.0, 1.0, 1.0, 2.0);
        let on_vertical = coord! { x: 1.0, y: 0.5 };
        assert!(!contains(&west, on_vertical) && contains(&east, on_vertical));
        let on_horizontal = coord! { x: 0.5, y: 1.0 };
        assert!(!contains(&west, on_horizontal) && contains(&north, on_horizontal));
        // The corner (1, 1) shared by west, east, north: east of it and a hair north lies north-east,
        // which none of these three holds; west/north/east's own outer corners follow the same rule.
        let corner = coord! { x: 1.0, y: 1.0 };
        assert!(!contains(&west, corner) && !contains(&east, corner) && !contains(&north, corner));
        assert!(covers(&west, corner) && covers(&east, corner) && covers(&north, corner));
        // South-west corner of `west`: moved east then north it is inside.
        assert!(contains(&west, coord! { x: 0.0, y: 0.0 }));
    }

    #[test]
    fn prepared_agrees_with_unprepared_on_a_big_ring_with_a_hole() {
        // A 200-gon (banded) with a square hole.
        let n = 200;
        let outer: Vec<Coord<f64>> = (0..n)
            .map(|i| {
                let t = f64::from(i) / f64::from(n) * std::f64::consts::TAU;
                let r = 1.0 + 0.3 * (5.0 * t).sin();
                coord! { x: r * t.cos(), y: r * t.sin() }
            })
            .collect();
        let hole = vec![
            coord! { x: -0.2, y: -0.2 },
            coord! { x: -0.2, y: 0.2 },
            coord! { x: 0.2, y: 0.2 },
            coord! { x: 0.2, y: -0.2 },
        ];
        let mp = MultiPolygon(vec![geo_types::Polygon::new(
            outer.clone().into(),
            vec![hole.into()],
        )]);
        let prepared = PreparedPolygon::new(&mp);
        assert!(prepared.bands.is_some());
        for i in 0..2000 {
            let p = coord! { x: -1.4 + 2.8 * f64::from((i * 37) % 2000) / 2000.0, y: -1.4 + 2.8 * f64::from(i) / 2000.0 };
            assert_eq!(prepared.contains(p), contains(&mp, p), "{p:?}");
        }
        for v in &outer {
            assert!(prepared.covers(*v) && prepared.on_boundary(*v));
        }
        assert!(!prepared.contains(coord! { x: 0.0, y: 0.0 }));
        assert!(prepared.contains(coord! { x: 0.5, y: 0.0 }));
    }

    fn fits(parent: &MultiPolygon<f64>, child: &MultiPolygon<f64>) -> bool {
        covers_region(
            &PreparedPolygon::new(parent),
            child,
            &PreparedPolygon::new(child),
        )
    }

    #[test]
    fn covers_region_accepts_nested_children_and_rejects_every_way_of_poking_out() {
        let parent = square(0.0, 0.0, 2.0, 2.0);
        // Nested: sharing edges and corners, equal, a diamond touching every side.
        assert!(fits(&parent, &square(0.0, 0.0, 1.0, 1.0)));
        assert!(fits(&parent, &parent));
        let diamond = MultiPolygon(vec![
            polygon![(x: 1.0, y: 0.0), (x: 2.0, y: 1.0), (x: 1.0, y: 2.0), (x: 0.0, y: 1.0)],
        ]);
        assert!(fits(&parent, &diamond));
        // Poking out across an edge, or lying next door.
        assert!(!fits(&parent, &square(1.0, 0.0, 3.0, 1.0)));
        assert!(!fits(&parent, &square(2.0, 0.0, 3.0, 1.0)));
        // Every vertex and edge midpoint of the child covered, but a notch in the parent cuts into it.
        let notched = MultiPolygon(vec![polygon![
            (x: 0.0, y: 0.0), (x: 0.2, y: 0.0), (x: 0.2, y: 0.1), (x: 0.3, y: 0.1), (x: 0.3, y: 0.0),
            (x: 2.0, y: 0.0), (x: 2.0, y: 2.0), (x: 0.0, y: 2.0),
        ]]);
        assert!(!fits(&notched, &square(0.0, 0.0, 1.0, 1.0)));
        assert!(fits(&notched, &square(0.0, 0.2, 1.0, 1.0)));
        // A parent with a hole: the child that is exactly the hole is outside; one touching the hole is inside.
        let holed = MultiPolygon(vec![geo_types::Polygon::new(
            square(0.0, 0.0, 4.0, 4.0).0[0].exterior().clone(),
            vec![square(1.0, 1.0, 2.0, 2.0).0[0].exterior().clone()],
        )]);
        assert!(!fits(&holed, &square(1.0, 1.0, 2.0, 2.0)));
        assert!(!fits(&holed, &square(0.5, 0.5, 2.5, 2.5)));
        assert!(fits(&holed, &square(2.0, 2.0, 3.0, 3.0)));
        // A hole whose edge runs through the child from corner to corner: every child vertex is covered.
        let chorded = MultiPolygon(vec![geo_types::Polygon::new(
            square(-1.0, -1.0, 3.0, 3.0).0[0].exterior().clone(),
            vec![geo_types::LineString::from(vec![
                (0.0, 0.0),
                (1.0, 1.0),
                (0.9, 0.2),
                (0.0, 0.0),
            ])],
        )]);
        assert!(!fits(&chorded, &square(0.0, 0.0, 1.0, 1.0)));
        assert!(fits(&chorded, &square(-1.0, 1.0, 0.0, 2.0)));
        // Touching the parent's slanted edge at one corner only.
        let triangle = MultiPolygon(vec![
            polygon![(x: 0.0, y: 0.0), (x: 2.0, y: 0.0), (x: 2.0, y: 2.0)],
        ]);
        assert!(fits(&triangle, &square(1.0, 0.0, 2.0, 1.0)));
        assert!(!fits(&triangle, &square(0.0, 0.0, 1.0, 1.0)));
    }
}
