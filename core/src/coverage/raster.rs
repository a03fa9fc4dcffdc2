//! A bit raster in a local metric frame: polygon masks by scanline, track buffers by capsule rows.
//!
//! A cell counts as inside a shape when its centre is. The R-buffer of a segment is a capsule (a rectangle with
//! half-discs at both ends), which is convex, so each raster row meets it in one interval computed in closed
//! form: a segment costs one range fill per row it spans, not one distance test per cell.

/// Metres east and north of a frame's origin.
pub type Xy = [f64; 2];

/// `nx` × `ny` cells of `cell_m` metres, cell (i, j) centred at `(x0 + (i + ½)·cell_m, y0 + (j + ½)·cell_m)`;
/// `j` runs south→north.
#[derive(Debug, Clone)]
pub struct Raster {
    pub x0: f64,
    pub y0: f64,
    pub cell_m: f64,
    pub nx: usize,
    pub ny: usize,
    words: usize,
    bits: Vec<u64>,
}

impl Raster {
    pub fn new(x0: f64, y0: f64, cell_m: f64, nx: usize, ny: usize) -> Raster {
        let words = nx.div_ceil(64);
        Raster {
            x0,
            y0,
            cell_m,
            nx,
            ny,
            words,
            bits: vec![0; words * ny],
        }
    }

    /// An empty raster of the same shape.
    #[must_use]
    pub fn empty_like(&self) -> Raster {
        Raster::new(self.x0, self.y0, self.cell_m, self.nx, self.ny)
    }

    fn row_centre(&self, j: usize) -> f64 {
        self.y0 + (j as f64 + 0.5) * self.cell_m
    }

    /// First cell whose centre is at or after `v` along an axis starting at `origin`.
    fn first_at_or_after(&self, origin: f64, v: f64) -> i64 {
        ceil_i64((v - origin) / self.cell_m - 0.5)
    }

    /// Sets cells `i0..=i1` of row `j`, clamped to the raster.
    fn fill(&mut self, j: usize, i0: i64, i1: i64) {
        let i0 = i0.max(0);
        let i1 = i1.min(self.nx as i64 - 1);
        if i0 > i1 {
            return;
        }
        let (i0, i1) = (i0 as usize, i1 as usize);
        let row = &mut self.bits[j * self.words..(j + 1) * self.words];
        let (w0, w1) = (i0 / 64, i1 / 64);
        let lo_mask = u64::MAX << (i0 % 64);
        let hi_mask = u64::MAX >> (63 - i1 % 64);
        if w0 == w1 {
            row[w0] |= lo_mask & hi_mask;
        } else {
            row[w0] |= lo_mask;
            for w in &mut row[w0 + 1..w1] {
                *w = u64::MAX;
            }
            row[w1] |= hi_mask;
        }
    }

    /// The words of row `j` (cell `i` is bit `i % 64` of word `i / 64`).
    pub fn row(&self, j: usize) -> &[u64] {
        &self.bits[j * self.words..(j + 1) * self.words]
    }

    pub fn row_mut(&mut self, j: usize) -> &mut [u64] {
        &mut self.bits[j * self.words..(j + 1) * self.words]
    }

    /// Sets cell (i, j), which must be inside the raster.
    pub fn set(&mut self, i: usize, j: usize) {
        assert!(
            i < self.nx && j < self.ny,
            "cell ({i}, {j}) of a {} × {} raster",
            self.nx,
            self.ny
        );
        self.bits[j * self.words + i / 64] |= 1 << (i % 64);
    }

    pub fn get(&self, i: usize, j: usize) -> bool {
        i < self.nx && j < self.ny && self.bits[j * self.words + i / 64] >> (i % 64) & 1 == 1
    }

    /// The cell holding a point, if inside the raster.
    pub fn cell_of(&self, p: Xy) -> Option<(usize, usize)> {
        let i = ((p[0] - self.x0) / self.cell_m).floor();
        let j = ((p[1] - self.y0) / self.cell_m).floor();
        (i >= 0.0 && j >= 0.0 && (i as usize) < self.nx && (j as usize) < self.ny)
            .then_some((i as usize, j as usize))
    }

    /// Sets the cells whose centre is inside the rings (even-odd, so holes and several polygons work).
    pub fn fill_polygon(&mut self, rings: &[Vec<Xy>]) {
        let mut xs = Vec::new();
        for j in 0..self.ny {
            let y = self.row_centre(j);
            xs.clear();
            for ring in rings {
                for w in ring.windows(2) {
                    let ([ax, ay], [bx, by]) = (w[0], w[1]);
                    if (ay > y) != (by > y) {
                        xs.push(ax + (y - ay) * (bx - ax) / (by - ay));
                    }
                }
            }
            xs.sort_unstable_by(f64::total_cmp);
            for pair in xs.chunks_exact(2) {
                // Centres in [x_in, x_out).
                let i0 = self.first_at_or_after(self.x0, pair[0]);
                let i1 = self.first_at_or_after(self.x0, pair[1]) - 1;
                self.fill(j, i0, i1);
            }
        }
    }

    /// Sets the cells whose centre is within `r` of segment `a`–`b` (a point when `a == b`).
    ///
    /// The hot loop of coverage: in cell units with cell centres on integers, the per-segment constants are
    /// computed once and each row costs two square roots and a few multiplications.
    #[expect(clippy::many_single_char_names, reason = "geometry notation")]
    pub fn fill_capsule(&mut self, a: Xy, b: Xy, r: f64) {
        let inv = 1.0 / self.cell_m;
        let (ax, ay) = ((a[0] - self.x0) * inv - 0.5, (a[1] - self.y0) * inv - 0.5);
        let (bx, by) = ((b[0] - self.x0) * inv - 0.5, (b[1] - self.y0) * inv - 0.5);
        let rr = r * inv;
        let rr2 = rr * rr;
        let top = self.ny as i64 - 1;
        let j0 = ceil_i64(ay.min(by) - rr).max(0);
        let j1 = floor_i64(ay.max(by) + rr).min(top);
        if j0 > j1 || rr.is_nan() || rr < 0.0 {
            return;
        }
        let body = Body::new([ax, ay], [bx, by], rr);
        for j in j0..=j1 {
            let y = j as f64;
            let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
            for (px, py) in [(ax, ay), (bx, by)] {
                let e = y - py;
                let w2 = rr2 - e * e;
                if w2 >= 0.0 {
                    let w = w2.sqrt();
                    lo = lo.min(px - w);
                    hi = hi.max(px + w);
                }
            }
            if let Some((l, h)) = body.row(y) {
                lo = lo.min(l);
                hi = hi.max(h);
            }
            if lo <= hi {
                self.fill(j as usize, ceil_i64(lo), floor_i64(hi));
            }
        }
    }

    /// Number of cells set in both rasters (same shape).
    pub fn count_and(&self, other: &Raster) -> usize {
        self.bits
            .iter()
            .zip(&other.bits)
            .map(|(a, b)| (a & b).count_ones() as usize)
            .sum()
    }

    pub fn count(&self) -> usize {
        self.bits.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Cells set here and not in `other` (same shape).
    #[must_use]
    pub fn and_not(&self, other: &Raster) -> Raster {
        let mut out = self.empty_like();
        for ((o, a), b) in out.bits.iter_mut().zip(&self.bits).zip(&other.bits) {
            *o = a & !b;
        }
        out
    }
}

/// `x as i64` rounded toward −∞ (saturating): `f64::floor` is a libm call on baseline x86-64.
fn floor_i64(x: f64) -> i64 {
    let t = x as i64;
    t - i64::from((t as f64) > x)
}

fn ceil_i64(x: f64) -> i64 {
    let t = x as i64;
    t + i64::from((t as f64) < x)
}

/// The body of a capsule (the points whose projection falls on the segment, at most `r` from its line), per row.
struct Body {
    a: Xy,
    /// Along: `x ∈ ax − e·dy/dx + [0, len²/dx]` at row offset `e = y − ay` (sorted), when `dx ≠ 0`.
    dy_over_dx: f64,
    len2_over_dx: f64,
    /// Across: `x ∈ ax + e·dx/dy ± r·len/|dy|`, when `dy ≠ 0`.
    dx_over_dy: f64,
    half: f64,
    dx: f64,
    dy: f64,
    len2: f64,
    r: f64,
}

impl Body {
    fn new(a: Xy, b: Xy, r: f64) -> Body {
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        let len2 = dx * dx + dy * dy;
        Body {
            a,
            dy_over_dx: dy / dx,
            len2_over_dx: len2 / dx,
            dx_over_dy: dx / dy,
            half: r * len2.sqrt() / dy.abs(),
            dx,
            dy,
            len2,
            r,
        }
    }

    /// The x-interval of the body on the row at `y`.
    fn row(&self, y: f64) -> Option<(f64, f64)> {
        if self.len2 <= 0.0 {
            return None;
        }
        let e = y - self.a[1];
        let (mut lo, mut hi) = (f64::NEG_INFINITY, f64::INFINITY);
        if self.dx == 0.0 {
            // Vertical: the projection depends on y only.
            let t = e * self.dy;
            if t < 0.0 || t > self.len2 {
                return None;
            }
        } else {
            let u = self.a[0] - e * self.dy_over_dx;
            let v = u + self.len2_over_dx;
            (lo, hi) = (u.min(v), u.max(v));
        }
        if self.dy == 0.0 {
            // Horizontal: the offset depends on y only.
            if e.abs() > self.r {
                return None;
            }
        } else {
            let c = self.a[0] + e * self.dx_over_dy;
            lo = lo.max(c - self.half);
            hi = hi.min(c + self.half);
        }
        (lo <= hi).then_some((lo, hi))
    }
}

/// Distance from `p` to segment `a`–`b`.
pub fn point_segment(p: Xy, a: Xy, b: Xy) -> f64 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (a[0] + t * dx - p[0]).hypot(a[1] + t * dy - p[1])
}

fn orient(a: Xy, b: Xy, c: Xy) -> f64 {
    (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
}

/// Distance between segments `p`–`q` and `u`–`v` (zero when they cross).
pub fn segment_segment(p: Xy, q: Xy, u: Xy, v: Xy) -> f64 {
    let (d1, d2) = (orient(u, v, p), orient(u, v, q));
    let (d3, d4) = (orient(p, q, u), orient(p, q, v));
    if d1 * d2 < 0.0 && d3 * d4 < 0.0 {
        return 0.0;
    }
    point_segment(p, u, v)
        .min(point_segment(q, u, v))
        .min(point_segment(u, p, q))
        .min(point_segment(v, p, q))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every cell centre is tested against the distance directly: the row intervals must agree exactly.
    #[test]
    fn capsule_rows_match_a_per_cell_distance_test() {
        let cases = [
            ([3.3, 4.1], [41.7, 29.2]),
            ([20.0, 5.0], [20.0, 40.0]),
            ([2.0, 20.5], [45.0, 20.5]),
            ([25.0, 25.0], [25.0, 25.0]),
            ([40.0, 3.0], [1.0, 44.0]),
        ];
        for (a, b) in cases {
            let mut r = Raster::new(0.0, 0.0, 0.7, 72, 70);
            r.fill_capsule(a, b, 9.3);
            for j in 0..r.ny {
                for i in 0..r.nx {
                    let c = [(i as f64 + 0.5) * 0.7, (j as f64 + 0.5) * 0.7];
                    let d = point_segment(c, a, b);
                    if (d - 9.3).abs() > 1e-9 {
                        assert_eq!(r.get(i, j), d < 9.3, "{a:?} {b:?} cell {i},{j} d {d}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_polygon_mask_counts_the_centres_inside_a_square_with_a_hole() {
        let square = |x0: f64, y0: f64, s: f64| {
            vec![
                [x0, y0],
                [x0 + s, y0],
                [x0 + s, y0 + s],
                [x0, y0 + s],
                [x0, y0],
            ]
        };
        let mut r = Raster::new(0.0, 0.0, 1.0, 130, 100);
        r.fill_polygon(&[square(10.2, 10.2, 80.0), square(30.2, 30.2, 20.0)]);
        // Centres k + 0.5 in [10.2, 90.2): k = 10..=89, 80 per axis; the hole 30..=49, 20 per axis.
        assert_eq!(r.count(), 80 * 80 - 20 * 20);
        assert!(r.get(10, 10) && !r.get(9, 10) && !r.get(35, 35) && r.get(89, 89));
    }

    #[test]
    fn crossing_and_parallel_segments_have_the_right_distance() {
        assert!(segment_segment([0.0, 0.0], [10.0, 10.0], [0.0, 10.0], [10.0, 0.0]) < 1e-12);
        let d = segment_segment([0.0, 0.0], [10.0, 0.0], [3.0, 4.0], [8.0, 4.0]);
        assert!((d - 4.0).abs() < 1e-12);
    }
}
