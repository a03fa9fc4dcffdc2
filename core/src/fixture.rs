//! Synthetic test and benchmark cities: a jittered lattice partitioned hierarchically into levels.
//!
//! Micro-grids are single lattice cells; each coarser level is the union of square blocks of cells, so shared
//! edges carry identical vertices at every level. Every fifth lattice column is left unjittered in x and every
//! fourth row in y, so exactly vertical and horizontal edges occur too. Jitter is a whole number of micro-degrees,
//! so edges that are not exactly horizontal have a slope of at least ~1e-3. Not part of the stable API.

use geo_types::{Coord, LineString, MultiPolygon, Polygon, coord};

use crate::{Area, GridKind, Level};

/// Block side in cells per level, coarsest first, for a city shaped like the benchmark city of issue 2
/// (about 1 micro-grid : 0.1 grid : 0.01 community).
pub const BENCH_BLOCKS: [usize; 5] = [144, 36, 9, 3, 1];

/// A deterministic pseudo-random generator (`SplitMix64`), so that the library needs no `rand`.
#[derive(Debug, Clone)]
pub struct SplitMix(u64);

impl SplitMix {
    pub fn new(seed: u64) -> SplitMix {
        SplitMix(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The vertices of a jittered lattice of `nx` x `ny` cells near Luohe.
#[derive(Debug, Clone)]
pub struct Lattice {
    pub nx: usize,
    pub ny: usize,
    vertices: Vec<Coord<f64>>,
}

/// Cell size in degrees (about 46 m x 44 m).
const DX: f64 = 0.0005;
const DY: f64 = 0.0004;
const LON0: f64 = 114.0;
const LAT0: f64 = 33.5;

impl Lattice {
    pub fn new(nx: usize, ny: usize, seed: u64) -> Lattice {
        let mut rng = SplitMix::new(seed);
        let mut vertices = Vec::with_capacity((nx + 1) * (ny + 1));
        for j in 0..=ny {
            for i in 0..=nx {
                // Whole micro-degrees, up to a quarter cell.
                let mut jitter =
                    |half_range: f64| ((rng.unit() * 2.0 - 1.0) * half_range * 1e6).round() / 1e6;
                let jx = jitter(DX * 0.25);
                let jy = jitter(DY * 0.25);
                let border_x = i == 0 || i == nx || i % 5 == 0;
                let border_y = j == 0 || j == ny || j % 4 == 0;
                vertices.push(coord! {
                    x: LON0 + i as f64 * DX + if border_x { 0.0 } else { jx },
                    y: LAT0 + j as f64 * DY + if border_y { 0.0 } else { jy },
                });
            }
        }
        Lattice { nx, ny, vertices }
    }

    pub fn vertex(&self, i: usize, j: usize) -> Coord<f64> {
        self.vertices[j * (self.nx + 1) + i]
    }

    /// The lon/lat bounding box `(min, max)` of the whole lattice.
    pub fn bounds(&self) -> (Coord<f64>, Coord<f64>) {
        (
            coord! { x: LON0, y: LAT0 },
            coord! { x: LON0 + self.nx as f64 * DX, y: LAT0 + self.ny as f64 * DY },
        )
    }

    /// The counter-clockwise ring around cells `i0..i1` x `j0..j1`, through every lattice vertex on its perimeter.
    pub fn block(&self, i0: usize, j0: usize, i1: usize, j1: usize) -> Polygon<f64> {
        let mut ring = Vec::with_capacity(2 * (i1 - i0 + j1 - j0) + 1);
        ring.extend((i0..i1).map(|i| self.vertex(i, j0)));
        ring.extend((j0..j1).map(|j| self.vertex(i1, j)));
        ring.extend((i0 + 1..=i1).rev().map(|i| self.vertex(i, j1)));
        ring.extend((j0 + 1..=j1).rev().map(|j| self.vertex(i0, j)));
        ring.push(ring[0]);
        Polygon::new(LineString(ring), vec![])
    }

    /// `n` uniform random points over the lattice's bounding box, with a 2 % margin outside it.
    pub fn random_points(&self, n: usize, seed: u64) -> Vec<Coord<f64>> {
        let (min, max) = self.bounds();
        let (w, h) = (max.x - min.x, max.y - min.y);
        let mut rng = SplitMix::new(seed);
        (0..n)
            .map(|_| coord! { x: min.x - 0.02 * w + rng.unit() * 1.04 * w, y: min.y - 0.02 * h + rng.unit() * 1.04 * h })
            .collect()
    }
}

fn code(level: Level, bi: usize, bj: usize) -> String {
    let prefix = match level {
        Level::District => "D",
        Level::Street => "S",
        Level::Community => "C",
        Level::Grid => "G",
        Level::MicroGrid => "M",
    };
    format!("{prefix}{bj:04}{bi:04}")
}

/// A city on an `nx` x `ny` lattice: for each level, blocks of `blocks[depth]` x `blocks[depth]` cells (clipped
/// at the edges), each block's parent being the block of the next coarser level that holds it; plus exclusive
/// grids (2 x 2 and 4 x 4 cell blocks, some overlapping each other) every ~2,000 cells.
pub fn city(lattice: &Lattice, blocks: [usize; 5]) -> Vec<Area> {
    let mut areas = Vec::new();
    for level in Level::ALL {
        let b = blocks[level.depth()];
        for bj in 0..lattice.ny.div_ceil(b) {
            for bi in 0..lattice.nx.div_ceil(b) {
                let (i0, j0) = (bi * b, bj * b);
                let (i1, j1) = ((i0 + b).min(lattice.nx), (j0 + b).min(lattice.ny));
                let parent = level.depth().checked_sub(1).map(|d| {
                    let pb = blocks[d];
                    code(Level::ALL[d], i0 / pb, j0 / pb)
                });
                let kind = (level >= Level::Grid).then_some(GridKind::Residential);
                areas.push(Area {
                    code: code(level, bi, bj),
                    name: code(level, bi, bj),
                    level,
                    kind,
                    parent,
                    geometry: MultiPolygon(vec![lattice.block(i0, j0, i1, j1)]),
                    staff: Vec::new(),
                });
            }
        }
    }
    let mut rng = SplitMix::new(0x5EED_E5C1);
    let n_exclusive = (lattice.nx * lattice.ny / 2000).max(2);
    for k in 0..n_exclusive {
        let i0 = (rng.unit() * (lattice.nx.saturating_sub(4)) as f64) as usize;
        let j0 = (rng.unit() * (lattice.ny.saturating_sub(4)) as f64) as usize;
        let mut add = |size: usize, kind: GridKind, suffix: &str| {
            let (i1, j1) = ((i0 + size).min(lattice.nx), (j0 + size).min(lattice.ny));
            areas.push(Area {
                code: format!("X{k:04}{suffix}"),
                name: format!("exclusive {k}{suffix}"),
                level: Level::Grid,
                kind: Some(kind),
                parent: Some(code(Level::Community, i0 / blocks[2], j0 / blocks[2])),
                geometry: MultiPolygon(vec![lattice.block(i0, j0, i1, j1)]),
                staff: Vec::new(),
            });
        };
        add(2, GridKind::School, "a");
        if k % 2 == 0 {
            // A market around the school: overlapping exclusive grids, the smaller first.
            add(4, GridKind::Market, "b");
        }
    }
    areas
}
