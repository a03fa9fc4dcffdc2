//! Whether a ring crosses itself, in O(n log n) rather than geo's pairwise O(n²).
//!
//! geo's `Validation` compares every segment of a ring with every other one: 20,000 vertices take
//! seconds, and a caller can send far more. Here only the pairs whose bounding boxes meet are compared,
//! found through an R-tree, with geo's own rule for what counts as a crossing, so the verdicts are
//! geo's: two distinct segments that intersect, unless one starts where the other ends.

use geo::Intersects;
use geo_types::{Line, LineString};
use rstar::{AABB, RTree, RTreeObject};

struct Segment {
    index: usize,
    line: Line<f64>,
}

impl RTreeObject for Segment {
    type Envelope = AABB<[f64; 2]>;

    fn envelope(&self) -> Self::Envelope {
        AABB::from_corners(
            [self.line.start.x, self.line.start.y],
            [self.line.end.x, self.line.end.y],
        )
    }
}

/// True when two segments of `ring` cross or overlap, other than where one starts at the other's end.
///
/// ```
/// use geo_types::line_string;
/// use gridmap_core::validate::ring_self_intersects;
/// let square = line_string![(x: 0., y: 0.), (x: 1., y: 0.), (x: 1., y: 1.), (x: 0., y: 1.), (x: 0., y: 0.)];
/// let bow_tie = line_string![(x: 0., y: 0.), (x: 1., y: 1.), (x: 1., y: 0.), (x: 0., y: 1.), (x: 0., y: 0.)];
/// assert!(!ring_self_intersects(&square));
/// assert!(ring_self_intersects(&bow_tie));
/// ```
pub fn ring_self_intersects(ring: &LineString<f64>) -> bool {
    let segments: Vec<Segment> = ring
        .lines()
        .enumerate()
        .map(|(index, line)| Segment { index, line })
        .collect();
    let tree = RTree::bulk_load(segments);
    tree.iter().any(|a| {
        tree.locate_in_envelope_intersecting(&a.envelope())
            .any(|b| {
                a.index != b.index
                    && a.line.intersects(&b.line)
                    && a.line.start != b.line.end
                    && a.line.end != b.line.start
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::Coord;

    /// geo's pairwise rule, the oracle.
    fn pairwise(ring: &LineString<f64>) -> bool {
        ring.lines().enumerate().any(|(i, a)| {
            ring.lines()
                .enumerate()
                .any(|(j, b)| i != j && a.intersects(&b) && a.start != b.end && a.end != b.start)
        })
    }

    #[test]
    fn agrees_with_geos_pairwise_rule_on_random_rings() {
        // A small xorshift: rings of 4 to 12 points on a coarse lattice meet themselves often, in every way
        // (crossings, touching vertices, collinear overlaps, repeated points).
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let (mut crossing, mut simple) = (0, 0);
        for _ in 0..5_000 {
            let n = 3 + usize::try_from(next() % 10).expect("small");
            let mut points: Vec<Coord<f64>> = (0..n)
                .map(|_| Coord {
                    x: f64::from(u32::try_from(next() % 5).expect("small")),
                    y: f64::from(u32::try_from(next() % 5).expect("small")),
                })
                .collect();
            points.push(points[0]);
            let ring = LineString(points);
            let expected = pairwise(&ring);
            assert_eq!(ring_self_intersects(&ring), expected, "{ring:?}");
            if expected {
                crossing += 1;
            } else {
                simple += 1;
            }
        }
        assert!(
            crossing > 100 && simple > 100,
            "{crossing} crossing, {simple} simple"
        );
    }
}
