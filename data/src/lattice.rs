//! The jittered lattice: node (i, j) → lon/lat. `i` runs west→east, `j` north→south.
//!
//! Coordinates are rounded to 7 decimals once, here, so that every ring passing a node carries the
//! bit-identical vertex. The warp uses only `+ - * /` (no `sin`, no `cos`) so the output does not
//! depend on the platform's libm.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Width of one cell in degrees of longitude (≈ 90 m at lat 33.57).
pub const CELL_LON_DEG: f64 = 0.000_97;
/// Height of one cell in degrees of latitude (≈ 90 m).
pub const CELL_LAT_DEG: f64 = 0.000_81;
/// Centre of the city: Zhaoling district, Luohe.
const CENTRE_LON: f64 = 114.09;
const CENTRE_LAT: f64 = 33.57;
/// Spacing of the smooth warp's control points, in cells.
const WARP_STEP: usize = 20;

/// Rounds to 7 decimals (≈ 1 cm), the precision written to `GeoJSON`.
pub fn round7(x: f64) -> f64 {
    (x * 1e7).round() / 1e7
}

/// Node coordinates of an `nx` × `ny`-cell lattice.
pub struct Lattice {
    nx: usize,
    coords: Vec<[f64; 2]>,
}

/// Smooth value noise: random values on a coarse grid, blended with smoothstep.
struct ValueNoise {
    width: usize,
    values: Vec<f64>,
}

impl ValueNoise {
    fn new(rng: &mut ChaCha8Rng, nx: usize, ny: usize) -> ValueNoise {
        let width = nx / WARP_STEP + 2;
        let height = ny / WARP_STEP + 2;
        let values = (0..width * height)
            .map(|_| rng.gen_range(-1.0..=1.0))
            .collect();
        ValueNoise { width, values }
    }

    fn at(&self, i: usize, j: usize) -> f64 {
        let (ci, cj) = (i / WARP_STEP, j / WARP_STEP);
        let step = WARP_STEP as f64;
        let smooth = |t: f64| t * t * (3.0 - 2.0 * t);
        let tx = smooth((i % WARP_STEP) as f64 / step);
        let ty = smooth((j % WARP_STEP) as f64 / step);
        let v = |a: usize, b: usize| self.values[b * self.width + a];
        let top = v(ci, cj) * (1.0 - tx) + v(ci + 1, cj) * tx;
        let bottom = v(ci, cj + 1) * (1.0 - tx) + v(ci + 1, cj + 1) * tx;
        top * (1.0 - ty) + bottom * ty
    }
}

impl Lattice {
    /// Builds the lattice. Nodes on road lines get no noise across the road, so roads bend smoothly.
    pub fn new(
        rng: &mut ChaCha8Rng,
        nx: usize,
        ny: usize,
        col_road: &[bool],
        row_road: &[bool],
    ) -> Lattice {
        let warp_x = ValueNoise::new(rng, nx, ny);
        let warp_y = ValueNoise::new(rng, nx, ny);
        let west = CENTRE_LON - nx as f64 * CELL_LON_DEG / 2.0;
        let north = CENTRE_LAT + ny as f64 * CELL_LAT_DEG / 2.0;
        let mut coords = Vec::with_capacity((nx + 1) * (ny + 1));
        for (j, &on_row_road) in row_road.iter().enumerate().take(ny + 1) {
            for (i, &on_col_road) in col_road.iter().enumerate().take(nx + 1) {
                // Offsets in cells: a gentle warp (N-S roads meander more than E-W ones) plus
                // small per-node noise; together they keep every cell convex.
                let noise_x: f64 = rng.gen_range(-0.08..=0.08);
                let noise_y: f64 = rng.gen_range(-0.08..=0.08);
                let dx = warp_x.at(i, j) + if on_col_road { 0.0 } else { noise_x };
                let dy = 0.4 * warp_y.at(i, j) + if on_row_road { 0.0 } else { noise_y };
                coords.push([
                    round7(west + (i as f64 + dx) * CELL_LON_DEG),
                    round7(north - (j as f64 + dy) * CELL_LAT_DEG),
                ]);
            }
        }
        Lattice { nx, coords }
    }

    /// Lon/lat of node (i, j).
    pub fn node(&self, i: usize, j: usize) -> [f64; 2] {
        self.coords[j * (self.nx + 1) + i]
    }

    /// A point of cell (i, j) by bilinear interpolation: `s` runs west→east, `t` north→south, both
    /// in 0..1. Cells are convex, so parameters strictly inside 0..1 give points strictly inside.
    pub fn point_in_cell(&self, i: usize, j: usize, s: f64, t: f64) -> [f64; 2] {
        let nw = self.node(i, j);
        let ne = self.node(i + 1, j);
        let sw = self.node(i, j + 1);
        let se = self.node(i + 1, j + 1);
        let mix = |k: usize| {
            let top = nw[k] * (1.0 - s) + ne[k] * s;
            let bottom = sw[k] * (1.0 - s) + se[k] * s;
            round7(top * (1.0 - t) + bottom * t)
        };
        [mix(0), mix(1)]
    }
}
