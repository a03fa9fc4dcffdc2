//! Outlines of a set of lattice cells: shared unit edges cancel, the rest chain into rings.
//!
//! Every lattice node on the outline is a vertex of the ring (no simplification), so two areas that
//! share an edge, or a coarse boundary that meets finer ones, carry the same vertices.
//! Rings have the region on their left: exteriors come out counter-clockwise and holes clockwise,
//! as RFC 7946 asks.

use std::collections::{HashMap, HashSet};

/// A lattice node or cell, (i, j): `i` west→east, `j` north→south.
pub type Ij = (u32, u32);

/// One polygon in lattice nodes: exterior, then holes. Rings are open (first node not repeated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IjPolygon {
    pub exterior: Vec<Ij>,
    pub holes: Vec<Vec<Ij>>,
}

/// Direction of a unit edge in map orientation (x east, y north).
fn direction(a: Ij, b: Ij) -> (i64, i64) {
    (
        i64::from(b.0) - i64::from(a.0),
        i64::from(a.1) - i64::from(b.1),
    )
}

/// Twice the signed area in map orientation (positive: counter-clockwise).
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

/// Even-odd test of a point given in map orientation against a ring.
#[expect(
    clippy::many_single_char_names,
    reason = "shoelace and ray-casting notation"
)]
fn ring_contains(ring: &[Ij], x: f64, y: f64) -> bool {
    let n = ring.len();
    let mut inside = false;
    for k in 0..n {
        let (a, b) = (ring[k], ring[(k + 1) % n]);
        let (ax, ay) = (f64::from(a.0), -f64::from(a.1));
        let (bx, by) = (f64::from(b.0), -f64::from(b.1));
        if (ay > y) != (by > y) && x < ax + (y - ay) / (by - ay) * (bx - ax) {
            inside = !inside;
        }
    }
    inside
}

/// Traces the outline of `cells` (distinct cells) into polygons, in a deterministic order.
pub fn trace(cells: &[Ij]) -> Vec<IjPolygon> {
    // Each cell contributes its four edges counter-clockwise; an edge whose reverse is present
    // is shared with a neighbour of the set and cancels.
    let mut edges: HashSet<(Ij, Ij)> = HashSet::with_capacity(cells.len() * 4);
    for &(i, j) in cells {
        let (sw, se, ne, nw) = ((i, j + 1), (i + 1, j + 1), (i + 1, j), (i, j));
        for edge in [(sw, se), (se, ne), (ne, nw), (nw, sw)] {
            if !edges.remove(&(edge.1, edge.0)) {
                edges.insert(edge);
            }
        }
    }
    let mut sorted: Vec<(Ij, Ij)> = edges.into_iter().collect();
    sorted.sort_unstable();
    let mut outgoing: HashMap<Ij, Vec<Ij>> = HashMap::with_capacity(sorted.len());
    for &(a, b) in &sorted {
        outgoing.entry(a).or_default().push(b);
    }
    let mut used: HashSet<(Ij, Ij)> = HashSet::with_capacity(sorted.len());
    let mut shells: Vec<Vec<Ij>> = Vec::new();
    let mut holes: Vec<Vec<Ij>> = Vec::new();
    for &start in &sorted {
        if used.contains(&start) {
            continue;
        }
        let mut ring = vec![start.0];
        let mut edge = start;
        loop {
            used.insert(edge);
            let (a, b) = edge;
            // At a node where the set touches itself diagonally, turn as far left as possible:
            // the rings then touch at the node without crossing.
            let (dx, dy) = direction(a, b);
            let next = outgoing
                .get(&b)
                .and_then(|outs| {
                    [(-dy, dx), (dx, dy), (dy, -dx)]
                        .into_iter()
                        .find_map(|want| outs.iter().find(|&&c| direction(b, c) == want))
                })
                .copied();
            let Some(c) = next else {
                break; // cannot happen for a set of whole cells: every node is balanced
            };
            if (b, c) == start {
                break;
            }
            ring.push(b);
            edge = (b, c);
        }
        if signed_area2(&ring) > 0 {
            shells.push(ring);
        } else {
            holes.push(ring);
        }
    }
    let mut polygons: Vec<IjPolygon> = shells
        .into_iter()
        .map(|exterior| IjPolygon {
            exterior,
            holes: Vec::new(),
        })
        .collect();
    for hole in holes {
        // A point a quarter cell to the left of the hole's first edge lies in the region, never
        // on a lattice line, so the even-odd test is exact.
        let (a, b) = (hole[0], hole[1 % hole.len()]);
        let (dx, dy) = direction(a, b);
        let x = f64::midpoint(f64::from(a.0), f64::from(b.0)) - 0.25 * dy as f64;
        let y = -(f64::from(a.1) + f64::from(b.1)) / 2.0 + 0.25 * dx as f64;
        let owner = polygons
            .iter()
            .enumerate()
            .filter(|(_, p)| ring_contains(&p.exterior, x, y))
            .min_by_key(|(_, p)| signed_area2(&p.exterior))
            .map(|(k, _)| k);
        if let Some(k) = owner {
            polygons[k].holes.push(hole);
        }
    }
    polygons
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn square_of_four_cells_has_eight_nodes() {
        let polys = trace(&[(0, 0), (1, 0), (0, 1), (1, 1)]);
        assert_eq!(polys.len(), 1);
        assert_eq!(polys[0].exterior.len(), 8);
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
        let polys = trace(&[(0, 0), (1, 1)]);
        assert_eq!(polys.len(), 2);
        for p in &polys {
            assert_eq!(p.exterior.len(), 4);
        }
    }
}
