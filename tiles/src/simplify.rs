//! Douglas–Peucker simplification in tile units.
//!
//! The same choices as `geo`'s `Simplify` (keep both ends; split at the farthest point, the last of
//! equals; drop a run when its farthest point is within the tolerance), so tiles do not change, but
//! on squared distances and one keep-mask: no square root per point, no allocation per recursion.

use crate::clip::Pt;

/// Squared distance from `p` to the segment `a`–`b` (to `a` when the segment is a point).
#[allow(clippy::float_cmp)] // exact: a closed ring's first and last points are the same point
fn segment_distance2(p: Pt, a: Pt, b: Pt) -> f64 {
    let dist2 = |q: Pt| (p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2);
    if a == b {
        return dist2(a);
    }
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let d2 = dx * dx + dy * dy;
    let r = ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / d2;
    if r <= 0.0 {
        return dist2(a);
    }
    if r >= 1.0 {
        return dist2(b);
    }
    ((a[1] - p[1]) * dx - (a[0] - p[0]) * dy).powi(2) / d2
}

/// Reusable buffers for [`douglas_peucker`].
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    keep: Vec<bool>,
    runs: Vec<(usize, usize)>,
}

/// Simplifies `pts` in place with a tolerance in the same units; `tolerance <= 0` keeps every point.
pub(crate) fn douglas_peucker(pts: &mut Vec<Pt>, tolerance: f64, scratch: &mut Scratch) {
    let n = pts.len();
    if tolerance <= 0.0 || n < 3 {
        return;
    }
    let tolerance2 = tolerance * tolerance;
    let keep = &mut scratch.keep;
    keep.clear();
    keep.resize(n, false);
    keep[0] = true;
    keep[n - 1] = true;
    let runs = &mut scratch.runs;
    runs.clear();
    runs.push((0, n - 1));
    while let Some((first, last)) = runs.pop() {
        if last <= first + 1 {
            continue;
        }
        let (a, b) = (pts[first], pts[last]);
        let (mut farthest, mut farthest2) = (first, 0.0);
        for (i, p) in pts.iter().enumerate().take(last).skip(first + 1) {
            let d2 = segment_distance2(*p, a, b);
            if d2 >= farthest2 {
                (farthest, farthest2) = (i, d2);
            }
        }
        if farthest2 > tolerance2 {
            keep[farthest] = true;
            runs.push((first, farthest));
            runs.push((farthest, last));
        }
    }
    let mut i = 0;
    pts.retain(|_| {
        i += 1;
        keep[i - 1]
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::Simplify;
    use geo_types::{Coord, LineString};

    /// A wobbly closed ring with `n` points, deterministic.
    fn wobbly_ring(n: usize, seed: u32) -> Vec<Pt> {
        let mut pts: Vec<Pt> = (0..n)
            .map(|k| {
                let t = std::f64::consts::TAU * k as f64 / n as f64;
                let r = 100.0 + 3.0 * (7.0 * t + f64::from(seed)).sin() + 0.4 * (53.0 * t).cos();
                [2000.0 + r * t.cos(), 2000.0 + r * t.sin()]
            })
            .collect();
        pts.push(pts[0]);
        pts
    }

    #[test]
    fn keeps_the_same_points_as_geo() {
        for (n, seed, tolerance) in [(40, 1, 2.0), (400, 2, 0.5), (1000, 3, 0.1), (7, 4, 50.0)] {
            let ring = wobbly_ring(n, seed);
            let line: LineString<f64> = ring.iter().map(|&[x, y]| Coord { x, y }).collect();
            let expected: Vec<Pt> = line
                .simplify(tolerance)
                .0
                .iter()
                .map(|c| [c.x, c.y])
                .collect();
            let mut got = ring.clone();
            douglas_peucker(&mut got, tolerance, &mut Scratch::default());
            assert_eq!(got, expected, "n={n} tolerance={tolerance}");
            assert!(
                got.len() < ring.len() || tolerance < 0.2,
                "n={n}: nothing dropped"
            );
        }
    }

    #[test]
    fn a_straight_run_keeps_its_ends() {
        let mut pts = vec![[0.0, 0.0], [1.0, 0.01], [2.0, -0.01], [3.0, 0.0]];
        douglas_peucker(&mut pts, 0.25, &mut Scratch::default());
        assert_eq!(pts, vec![[0.0, 0.0], [3.0, 0.0]]);
    }
}
