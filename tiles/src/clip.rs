//! Clipping to an axis-aligned box in tile units.
//!
//! Polygon rings use Sutherland–Hodgman, one ring at a time. Against a convex clip window it is exact:
//! a concave ring that leaves and re-enters the box yields zero-width "bridges" along the box edge, which
//! add no area and render correctly; they lie in the tile's buffer, never in the visible tile.

/// A point in tile units (x right, y down), before quantization.
pub(crate) type Pt = [f64; 2];

/// The clip window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClipBox {
    pub min: f64,
    pub max: f64,
}

impl ClipBox {
    fn inside(self, p: Pt) -> bool {
        p[0] >= self.min && p[0] <= self.max && p[1] >= self.min && p[1] <= self.max
    }

    /// Whether the bbox of `pts` is inside the box (so clipping would be a no-op).
    pub fn contains_all(self, pts: &[Pt]) -> bool {
        pts.iter().all(|p| self.inside(*p))
    }
}

/// Bounding box `[min_x, min_y, max_x, max_y]` of `pts`.
pub(crate) fn bbox(pts: &[Pt]) -> [f64; 4] {
    pts.iter().fold(
        [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ],
        |b, p| {
            [
                b[0].min(p[0]),
                b[1].min(p[1]),
                b[2].max(p[0]),
                b[3].max(p[1]),
            ]
        },
    )
}

/// Clip an open ring (no repeated closing point) to the box. The result is open too; it may be empty.
pub(crate) fn clip_ring(ring: &[Pt], clip: ClipBox) -> Vec<Pt> {
    if clip.contains_all(ring) {
        return ring.to_vec();
    }
    let b = bbox(ring);
    if b[2] < clip.min || b[0] > clip.max || b[3] < clip.min || b[1] > clip.max {
        return Vec::new();
    }
    // One pass per edge: (axis, bound, keep values <= bound?).
    let edges = [
        (0, clip.min, false),
        (0, clip.max, true),
        (1, clip.min, false),
        (1, clip.max, true),
    ];
    let mut input = ring.to_vec();
    let mut output = Vec::with_capacity(ring.len() + 4);
    for (axis, bound, keep_below) in edges {
        output.clear();
        let Some(&last) = input.last() else {
            return Vec::new();
        };
        let is_in = |p: Pt| {
            if keep_below {
                p[axis] <= bound
            } else {
                p[axis] >= bound
            }
        };
        let mut prev = last;
        let mut prev_in = is_in(prev);
        for &cur in &input {
            let cur_in = is_in(cur);
            if cur_in != prev_in {
                output.push(intersect(prev, cur, axis, bound));
            }
            if cur_in {
                output.push(cur);
            }
            prev = cur;
            prev_in = cur_in;
        }
        std::mem::swap(&mut input, &mut output);
    }
    input
}

/// Clip a polyline to the box; it may split into several parts.
pub(crate) fn clip_line(line: &[Pt], clip: ClipBox) -> Vec<Vec<Pt>> {
    if clip.contains_all(line) {
        return vec![line.to_vec()];
    }
    let mut parts = Vec::new();
    let mut part: Vec<Pt> = Vec::new();
    for seg in line.windows(2) {
        if let Some((a, b)) = clip_segment(seg[0], seg[1], clip) {
            if part.last() != Some(&a) {
                if part.len() >= 2 {
                    parts.push(std::mem::take(&mut part));
                }
                part.clear();
                part.push(a);
            }
            part.push(b);
        } else {
            if part.len() >= 2 {
                parts.push(std::mem::take(&mut part));
            }
            part.clear();
        }
    }
    if part.len() >= 2 {
        parts.push(part);
    }
    parts
}

/// Liang–Barsky segment clipping.
fn clip_segment(a: Pt, b: Pt, clip: ClipBox) -> Option<(Pt, Pt)> {
    let d = [b[0] - a[0], b[1] - a[1]];
    let (mut t0, mut t1) = (0.0_f64, 1.0_f64);
    for axis in 0..2 {
        for (p, q) in [
            (-d[axis], a[axis] - clip.min),
            (d[axis], clip.max - a[axis]),
        ] {
            if p == 0.0 {
                if q < 0.0 {
                    return None;
                }
            } else {
                let r = q / p;
                if p < 0.0 {
                    t0 = t0.max(r);
                } else {
                    t1 = t1.min(r);
                }
            }
        }
    }
    if t0 > t1 {
        return None;
    }
    // Exact comparisons on purpose: an unclipped end keeps its exact input point, so the next
    // segment's start matches it and the part continues.
    #[allow(clippy::float_cmp)]
    let at = |t: f64| {
        if t == 0.0 {
            a
        } else if t == 1.0 {
            b
        } else {
            [a[0] + t * d[0], a[1] + t * d[1]]
        }
    };
    Some((at(t0), at(t1)))
}

fn intersect(a: Pt, b: Pt, axis: usize, bound: f64) -> Pt {
    let t = (bound - a[axis]) / (b[axis] - a[axis]);
    let mut p = [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])];
    p[axis] = bound; // exact on the edge despite rounding
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area(ring: &[Pt]) -> f64 {
        let n = ring.len();
        (0..n)
            .map(|i| {
                let (a, b) = (ring[i], ring[(i + 1) % n]);
                a[0] * b[1] - b[0] * a[1]
            })
            .sum::<f64>()
            / 2.0
    }

    #[test]
    fn square_overlapping_a_corner_keeps_the_overlap() {
        let clip = ClipBox {
            min: 0.0,
            max: 10.0,
        };
        let ring = [[5.0, 5.0], [15.0, 5.0], [15.0, 15.0], [5.0, 15.0]];
        let out = clip_ring(&ring, clip);
        assert!((area(&out).abs() - 25.0).abs() < 1e-9, "{out:?}");
    }

    #[test]
    fn ring_containing_the_box_becomes_the_box() {
        let clip = ClipBox {
            min: 0.0,
            max: 10.0,
        };
        let ring = [[-5.0, -5.0], [20.0, -5.0], [20.0, 20.0], [-5.0, 20.0]];
        assert!((area(&clip_ring(&ring, clip)).abs() - 100.0).abs() < 1e-9);
    }

    #[test]
    fn line_crossing_twice_splits_in_two() {
        let clip = ClipBox {
            min: 0.0,
            max: 10.0,
        };
        // In, out over the right edge, back in.
        let line = [[5.0, 2.0], [15.0, 2.0], [15.0, 8.0], [5.0, 8.0]];
        let parts = clip_line(&line, clip);
        assert_eq!(
            parts,
            vec![vec![[5.0, 2.0], [10.0, 2.0]], vec![[10.0, 8.0], [5.0, 8.0]]]
        );
    }
}
