//! A parent's boundary prepared for many questions: does it contain this point, and how far outside it
//! does a child reach? Edges go into an R-tree in a local metric projection, so each question costs a
//! logarithmic search instead of a walk over every edge.

use geo_types::{Coord, LineString, MultiPolygon};
use rstar::primitives::Line;
use rstar::{AABB, PointDistance, RTree};

/// Metres per degree of latitude on a sphere of the mean Earth radius (6,371,008.8 m).
const M_PER_DEG: f64 = 6_371_008.8 * std::f64::consts::PI / 180.0;

pub(crate) struct ParentShape {
    edges: RTree<Line<[f64; 2]>>,
    /// Metres per degree of longitude at the shape's mean latitude (equirectangular projection; the
    /// scale error over a district is far below the 1 m tolerance for vertices near the edge).
    m_per_deg_lon: f64,
    max_x: f64,
}

impl ParentShape {
    pub(crate) fn new(shape: &MultiPolygon<f64>) -> ParentShape {
        let rings = || {
            shape
                .0
                .iter()
                .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        };
        let (sum, n) = rings()
            .flat_map(|r| r.0.iter())
            .fold((0.0, 0usize), |(s, n), c| (s + c.y, n + 1));
        let mean_lat = if n == 0 { 0.0 } else { sum / n as f64 };
        let m_per_deg_lon = M_PER_DEG * mean_lat.to_radians().cos();
        let project = |c: Coord<f64>| [c.x * m_per_deg_lon, c.y * M_PER_DEG];
        let edges: Vec<Line<[f64; 2]>> = rings()
            .flat_map(LineString::lines)
            .map(|l| Line::new(project(l.start), project(l.end)))
            .collect();
        let max_x = edges
            .iter()
            .map(|l| l.from[0].max(l.to[0]))
            .fold(f64::NEG_INFINITY, f64::max);
        ParentShape {
            edges: RTree::bulk_load(edges),
            m_per_deg_lon,
            max_x,
        }
    }

    fn project(&self, c: Coord<f64>) -> [f64; 2] {
        [c.x * self.m_per_deg_lon, c.y * M_PER_DEG]
    }

    /// Even-odd ray casting to +x over the edges the ray's envelope meets. Points on an edge may go
    /// either way: callers only ask about points farther than a tolerance from every edge, or
    /// interior points of children.
    fn contains_projected(&self, p: [f64; 2]) -> bool {
        let ray = AABB::from_corners(p, [self.max_x + 1.0, p[1]]);
        let crossings = self
            .edges
            .locate_in_envelope_intersecting(&ray)
            .filter(|e| {
                let (a, b) = (e.from, e.to);
                (a[1] > p[1]) != (b[1] > p[1])
                    && p[0] < a[0] + (p[1] - a[1]) * (b[0] - a[0]) / (b[1] - a[1])
            })
            .count();
        crossings % 2 == 1
    }

    pub(crate) fn contains(&self, c: Coord<f64>) -> bool {
        self.contains_projected(self.project(c))
    }

    /// The largest distance in metres of a vertex of `child` outside this shape; 0 when none is outside.
    pub(crate) fn max_outside_m(&self, child: &MultiPolygon<f64>) -> f64 {
        let mut worst: f64 = 0.0;
        for c in child
            .0
            .iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            .flat_map(|r| r.0.iter())
        {
            let p = self.project(*c);
            let Some(edge) = self.edges.nearest_neighbor(&p) else {
                return f64::INFINITY;
            };
            let distance_m = edge.distance_2(&p).sqrt();
            if distance_m > worst && !self.contains_projected(p) {
                worst = distance_m;
            }
        }
        worst
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{coord, polygon};

    #[test]
    fn distances_outside_are_in_metres() {
        // A 0.01° square near Chicago's latitude; a child reaching 0.0001° of latitude (~11.1 m) beyond it.
        let parent = MultiPolygon(vec![polygon![
            (x: -87.70, y: 41.80), (x: -87.69, y: 41.80), (x: -87.69, y: 41.81), (x: -87.70, y: 41.81), (x: -87.70, y: 41.80),
        ]]);
        let shape = ParentShape::new(&parent);
        assert!(shape.contains(coord! {x: -87.695, y: 41.805}));
        assert!(!shape.contains(coord! {x: -87.685, y: 41.805}));
        let child = MultiPolygon(vec![polygon![
            (x: -87.699, y: 41.809), (x: -87.698, y: 41.809), (x: -87.698, y: 41.8101), (x: -87.699, y: 41.809),
        ]]);
        let outside_m = shape.max_outside_m(&child);
        assert!((outside_m - 11.12).abs() < 0.05, "{outside_m}");
        let inside = MultiPolygon(vec![polygon![
            (x: -87.699, y: 41.801), (x: -87.698, y: 41.801), (x: -87.698, y: 41.81), (x: -87.699, y: 41.801),
        ]]);
        assert!(shape.max_outside_m(&inside) < 1e-9);
    }
}
