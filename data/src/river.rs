//! The 沙河 (Sha River): a band of lattice cells meandering west→east across the district.
//!
//! River cells stay inside their community and street but belong to no grid, micro-grid or
//! address, so the sample city has ground that is governed but in no grid (issue 4's "outside
//! every grid" routing).

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::trace::Ij;

/// Name of the river, written to `water.geojson`.
pub const RIVER_NAME: &str = "沙河";
/// Width of the band in cells (≈ 720 m; ≈ 630 m where a bank steps by a cell): its middle
/// stays over 250 m from either bank even at a step.
pub const RIVER_WIDTH_CELLS: u32 = 8;
/// Spacing of the meander's control points, in columns.
const MEANDER_STEP: usize = 24;
/// Largest offset of the centre line from its mean, in cells. With [`MEANDER_STEP`] this keeps
/// the bank's slope under about 0.4 cell per column, so the band stays wide across as well.
const MEANDER_CELLS: f64 = 3.5;
/// Fewest columns between two steps of the banks.
const MIN_RUN: usize = 3;

/// Which cells of an `nx` × `ny` lattice are river: in column `i`, rows `top[i] .. top[i] + width`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct River {
    top: Vec<u32>,
    width: u32,
}

impl River {
    /// A river a little south of the middle, its centre line a smoothstep curve through random
    /// control points (only `+ - * /`, so no libm differences across platforms).
    pub fn new(rng: &mut ChaCha8Rng, nx: u32, ny: u32) -> River {
        let width = RIVER_WIDTH_CELLS.min(ny);
        let controls: Vec<f64> = (0..nx as usize / MEANDER_STEP + 2)
            .map(|_| rng.gen_range(-MEANDER_CELLS..=MEANDER_CELLS))
            .collect();
        let smooth = |t: f64| t * t * (3.0 - 2.0 * t);
        let mean = f64::from(ny) * 0.55;
        let target = |i: usize| {
            let k = i / MEANDER_STEP;
            let t = smooth((i % MEANDER_STEP) as f64 / MEANDER_STEP as f64);
            let centre = mean + controls[k] * (1.0 - t) + controls[k + 1] * t;
            let top = (centre - f64::from(width) / 2.0).round().max(0.0) as u32;
            top.min(ny - width)
        };
        // The bank follows the curve in steps of one cell at least `MIN_RUN` columns apart: at a
        // step the band is one cell narrower, and two steps close together would pinch it more.
        let mut top: Vec<u32> = Vec::with_capacity(nx as usize);
        let mut run = MIN_RUN;
        for i in 0..nx as usize {
            let want = target(i);
            let next = match top.last() {
                None => want,
                Some(&prev) if run >= MIN_RUN && want != prev => {
                    run = 0;
                    if want > prev { prev + 1 } else { prev - 1 }
                }
                Some(&prev) => prev,
            };
            run += 1;
            top.push(next);
        }
        River { top, width }
    }

    /// Whether cell (i, j) is water.
    pub fn contains(&self, (i, j): Ij) -> bool {
        self.top
            .get(i as usize)
            .is_some_and(|&top| j >= top && j < top + self.width)
    }
}

/// The 4-connected components of `cells`, each in the input's order, components ordered by
/// their first cell.
pub fn components(cells: &[Ij]) -> Vec<Vec<Ij>> {
    let index: std::collections::HashMap<Ij, usize> =
        cells.iter().enumerate().map(|(k, &c)| (c, k)).collect();
    let mut label = vec![usize::MAX; cells.len()];
    let mut count = 0;
    for start in 0..cells.len() {
        if label[start] != usize::MAX {
            continue;
        }
        label[start] = count;
        let mut stack = vec![start];
        while let Some(k) = stack.pop() {
            let (i, j) = cells[k];
            let neighbours = [
                (i.wrapping_sub(1), j),
                (i + 1, j),
                (i, j.wrapping_sub(1)),
                (i, j + 1),
            ];
            for n in neighbours {
                if let Some(&m) = index.get(&n)
                    && label[m] == usize::MAX
                {
                    label[m] = count;
                    stack.push(m);
                }
            }
        }
        count += 1;
    }
    let mut out = vec![Vec::new(); count];
    for (k, &c) in cells.iter().enumerate() {
        out[label[k]].push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_band_splits_a_block_into_north_and_south() {
        let river = River {
            top: vec![2, 2, 3],
            width: 2,
        };
        let land: Vec<Ij> = (0..6)
            .flat_map(|j| (0..3).map(move |i| (i, j)))
            .filter(|&c| !river.contains(c))
            .collect();
        let parts = components(&land);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].len(), 2 + 2 + 3);
        assert_eq!(parts[1].len(), 2 + 2 + 1);
    }
}
