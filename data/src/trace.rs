//! Outlines of a set of lattice cells, by core's cell tracer ([`gridmap_core::coverage::trace`]).
//!
//! Every lattice node on the outline is a vertex of the ring (no simplification), so two areas that
//! share an edge, or a coarse boundary that meets finer ones, carry the same vertices.
//! Rings have the region on their left: exteriors come out counter-clockwise and holes clockwise,
//! as RFC 7946 asks.

use gridmap_core::coverage::raster::Raster;
use gridmap_core::coverage::trace::{Node, Nodes, trace as trace_raster};

/// A lattice node or cell, (i, j): `i` west→east, `j` north→south.
pub type Ij = (u32, u32);

/// One polygon in lattice nodes: exterior, then holes. Rings are open (first node not repeated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IjPolygon {
    pub exterior: Vec<Ij>,
    pub holes: Vec<Vec<Ij>>,
}

/// Traces the outline of `cells` into polygons, in a deterministic order.
///
/// The raster is the lattice transposed (raster x = `j`, y = `i`): a quarter turn, so orientation is
/// kept, and core's scan from the south-west meets the rings in this lattice's (i, j) order, the order
/// (and first vertices) of the committed sample files.
pub fn trace(cells: &[Ij]) -> Vec<IjPolygon> {
    let Some(i0) = cells.iter().map(|c| c.0).min() else {
        return Vec::new();
    };
    let j0 = cells.iter().map(|c| c.1).min().unwrap_or(0);
    let ni = cells.iter().map(|c| c.0 - i0).max().unwrap_or(0) as usize + 1;
    let nj = cells.iter().map(|c| c.1 - j0).max().unwrap_or(0) as usize + 1;
    let mut raster = Raster::new(0.0, 0.0, 1.0, nj, ni);
    for &(i, j) in cells {
        raster.set((j - j0) as usize, (i - i0) as usize);
    }
    let ring = |nodes: &[Node]| {
        let mut ring: Vec<Ij> = nodes
            .iter()
            .map(|&(x, y)| (y as u32 + i0, x as u32 + j0))
            .collect();
        // Core ends a ring at its first node; the samples start there.
        ring.rotate_right(1);
        ring
    };
    trace_raster(&raster, Nodes::All)
        .iter()
        .map(|p| IjPolygon {
            exterior: ring(&p.exterior),
            holes: p.holes.iter().map(|h| ring(h)).collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Twice the signed area in map orientation (x east, y north; positive: counter-clockwise).
    fn signed_area2(ring: &[Ij]) -> i64 {
        let n = ring.len();
        (0..n)
            .map(|k| {
                let (a, b) = (ring[k], ring[(k + 1) % n]);
                let (ax, ay) = (i64::from(a.0), -i64::from(a.1));
                let (bx, by) = (i64::from(b.0), -i64::from(b.1));
                ax * by - bx * ay
            })
            .sum()
    }

    #[test]
    fn square_of_four_cells_has_eight_nodes_from_its_north_west_corner() {
        let polys = trace(&[(0, 0), (1, 0), (0, 1), (1, 1)]);
        assert_eq!(polys.len(), 1);
        assert_eq!(
            polys[0].exterior,
            [
                (0, 0),
                (0, 1),
                (0, 2),
                (1, 2),
                (2, 2),
                (2, 1),
                (2, 0),
                (1, 0)
            ]
        );
        assert!(polys[0].holes.is_empty());
        assert_eq!(signed_area2(&polys[0].exterior), 8);
    }

    #[test]
    fn ring_of_cells_has_a_clockwise_hole() {
        let cells: Vec<Ij> = (0..3)
            .flat_map(|j| (0..3).map(move |i| (i, j)))
            .filter(|&c| c != (1, 1))
            .collect();
        let polys = trace(&cells);
        assert_eq!(polys.len(), 1);
        assert_eq!(polys[0].holes.len(), 1);
        assert_eq!(signed_area2(&polys[0].holes[0]), -2);
        assert_eq!(signed_area2(&polys[0].exterior), 18);
    }

    #[test]
    fn diagonal_cells_make_two_rings_touching_at_a_node() {
        let polys = trace(&[(5, 7), (6, 8)]);
        assert_eq!(polys.len(), 2);
        assert_eq!(polys[0].exterior, [(5, 7), (5, 8), (6, 8), (6, 7)]);
        assert_eq!(polys[1].exterior, [(6, 8), (6, 9), (7, 9), (7, 8)]);
    }
}
