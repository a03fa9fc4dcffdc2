//! Outlines of the set cells of a [`Raster`] as polygons of raster nodes (node (i, j) is the south-west corner
//! of cell (i, j)): boundary edges with the region on their left, chained into rings, turning as far left as
//! possible where the region touches itself at a corner (so rings touch there without crossing). Exteriors
//! come out counter-clockwise, holes clockwise; polygons, and holes in a polygon, in the order of their lowest
//! (then westernmost) node.
//!
//! Coverage keeps only the corners of its uncovered parts; the sample city's generator (`gridmap-data`) keeps
//! every node, so that neighbouring areas carry the same vertices.

use super::raster::Raster;

/// A raster node.
pub type Node = (usize, usize);

/// Which nodes of its outline a ring keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nodes {
    /// Where the outline turns.
    Corners,
    /// Every node on the outline.
    All,
}

/// One polygon: exterior ring, then holes; rings open (first node not repeated), each ending at its lowest (then
/// westernmost) node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodePolygon {
    pub exterior: Vec<Node>,
    pub holes: Vec<Vec<Node>>,
}

const EAST: u8 = 1;
const NORTH: u8 = 2;
const WEST: u8 = 4;
const SOUTH: u8 = 8;

fn step((i, j): Node, dir: u8) -> Node {
    match dir {
        EAST => (i + 1, j),
        NORTH => (i, j + 1),
        WEST => (i - 1, j),
        _ => (i, j - 1),
    }
}

/// Left, straight and right turns from a direction, in that order of preference.
fn turns(dir: u8) -> [u8; 3] {
    match dir {
        EAST => [NORTH, EAST, SOUTH],
        NORTH => [WEST, NORTH, EAST],
        WEST => [SOUTH, WEST, NORTH],
        _ => [EAST, SOUTH, WEST],
    }
}

fn signed_area2(ring: &[Node]) -> i64 {
    let n = ring.len();
    (0..n)
        .map(|k| {
            let (a, b) = (ring[k], ring[(k + 1) % n]);
            a.0 as i64 * b.1 as i64 - b.0 as i64 * a.1 as i64
        })
        .sum()
}

/// Even-odd test of a point against a ring of nodes.
#[expect(clippy::many_single_char_names, reason = "geometry notation")]
fn ring_contains(ring: &[Node], x: f64, y: f64) -> bool {
    let n = ring.len();
    let mut inside = false;
    for k in 0..n {
        let (a, b) = (ring[k], ring[(k + 1) % n]);
        let (ax, ay, bx, by) = (a.0 as f64, a.1 as f64, b.0 as f64, b.1 as f64);
        if (ay > y) != (by > y) && x < ax + (y - ay) / (by - ay) * (bx - ax) {
            inside = !inside;
        }
    }
    inside
}

/// Traces the set cells of `cells` into polygons, keeping `nodes`.
///
/// ```
/// use gridmap_core::coverage::raster::Raster;
/// use gridmap_core::coverage::trace::{Nodes, trace};
///
/// let mut cells = Raster::new(0.0, 0.0, 1.0, 4, 4);
/// for (i, j) in [(1, 1), (2, 1)] {
///     cells.set(i, j);
/// }
/// let corners = trace(&cells, Nodes::Corners);
/// assert_eq!(corners[0].exterior, [(3, 1), (3, 2), (1, 2), (1, 1)]);
/// let all = trace(&cells, Nodes::All);
/// assert_eq!(all[0].exterior, [(2, 1), (3, 1), (3, 2), (2, 2), (1, 2), (1, 1)]);
/// ```
pub fn trace(cells: &Raster, nodes: Nodes) -> Vec<NodePolygon> {
    let (nx, ny) = (cells.nx, cells.ny);
    let width = nx + 1;
    // Outgoing boundary edges per node, as direction bits.
    let mut out = vec![0u8; width * (ny + 1)];
    let set = |i: isize, j: isize| i >= 0 && j >= 0 && cells.get(i as usize, j as usize);
    let mut any = false;
    for j in 0..=ny {
        for i in 0..=nx {
            let (ii, jj) = (i as isize, j as isize);
            // Horizontal edge from (i, j) to (i + 1, j): cell above is (i, j), below (i, j - 1).
            if i < nx {
                let (above, below) = (set(ii, jj), set(ii, jj - 1));
                if above && !below {
                    out[j * width + i] |= EAST;
                    any = true;
                } else if below && !above {
                    out[j * width + i + 1] |= WEST;
                }
            }
            // Vertical edge from (i, j) to (i, j + 1): cell east is (i, j), west (i - 1, j).
            if j < ny {
                let (east, west) = (set(ii, jj), set(ii - 1, jj));
                if west && !east {
                    out[j * width + i] |= NORTH;
                } else if east && !west {
                    out[(j + 1) * width + i] |= SOUTH;
                }
            }
        }
    }
    if !any {
        return Vec::new();
    }
    let mut shells: Vec<Vec<Node>> = Vec::new();
    let mut holes: Vec<Vec<Node>> = Vec::new();
    for k in 0..out.len() {
        while out[k] != 0 {
            let start: Node = (k % width, k / width);
            let first = out[k] & out[k].wrapping_neg();
            let mut ring = Vec::new();
            let (mut node, mut dir) = (start, first);
            loop {
                out[node.1 * width + node.0] &= !dir;
                let next = step(node, dir);
                if next == start {
                    ring.push(start);
                    break;
                }
                let bits = out[next.1 * width + next.0];
                let Some(turn) = turns(dir).into_iter().find(|&d| bits & d != 0) else {
                    break; // cannot happen: every node of a boundary is balanced
                };
                if turn != dir || nodes == Nodes::All {
                    ring.push(next);
                }
                node = next;
                dir = turn;
            }
            if ring.len() < 4 {
                continue; // cannot happen for whole cells; keeps odd input harmless
            }
            if signed_area2(&ring) > 0 {
                shells.push(ring);
            } else {
                holes.push(ring);
            }
        }
    }
    let mut polygons: Vec<NodePolygon> = shells
        .into_iter()
        .map(|exterior| NodePolygon {
            exterior,
            holes: Vec::new(),
        })
        .collect();
    for hole in holes {
        // A point a quarter cell to the left of the hole's first edge lies in the region, off every node line.
        let (a, b) = (hole[0], hole[1]);
        let (dx, dy) = (b.0 as f64 - a.0 as f64, b.1 as f64 - a.1 as f64);
        let len = dx.abs() + dy.abs();
        let x = f64::midpoint(a.0 as f64, b.0 as f64) - 0.25 * dy / len;
        let y = f64::midpoint(a.1 as f64, b.1 as f64) + 0.25 * dx / len;
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

    fn raster(cells: &[(usize, usize)]) -> Raster {
        let mut r = Raster::new(0.0, 0.0, 1.0, 8, 8);
        for &(i, j) in cells {
            r.set(i, j);
        }
        r
    }

    fn area2(p: &NodePolygon) -> i64 {
        signed_area2(&p.exterior) + p.holes.iter().map(|h| signed_area2(h)).sum::<i64>()
    }

    #[test]
    fn a_ring_of_cells_has_one_hole_and_its_area() {
        let cells: Vec<(usize, usize)> = (2..5)
            .flat_map(|j| (1..4).map(move |i| (i, j)))
            .filter(|&c| c != (2, 3))
            .collect();
        let polys = trace(&raster(&cells), Nodes::Corners);
        assert_eq!(polys.len(), 1);
        assert_eq!(polys[0].exterior.len(), 4, "only corners are kept");
        assert_eq!(polys[0].holes.len(), 1);
        assert_eq!(area2(&polys[0]), 2 * 8);
    }

    #[test]
    fn diagonal_cells_make_two_squares_and_edges_of_the_raster_close() {
        let polys = trace(&raster(&[(0, 0), (1, 1), (7, 7), (6, 7)]), Nodes::Corners);
        let mut areas: Vec<i64> = polys.iter().map(area2).collect();
        areas.sort_unstable();
        assert_eq!(areas, [2, 2, 4]);
    }
}
