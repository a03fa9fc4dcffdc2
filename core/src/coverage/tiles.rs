//! The covered raster of a whole request, built once in tiles and shared by its areas.
//!
//! Rasterising the track capsules area by area draws every segment near a boundary once per neighbouring area
//! (about twice on a city-day). Instead, the areas of a request share one cell lattice in one equirectangular
//! frame centred on their extent; the capsules are drawn once into square tiles of that lattice (only the tiles
//! some area needs, in parallel), and each area copies the words of its window. Areas are word-aligned on the
//! lattice, so the copy is whole `u64`s.
//!
//! One frame for the whole extent: its east-west scale is off by about `tan(lat) × half-extent / 6,371 km`, so
//! the lattice is only used up to [`MAX_EXTENT_M`] (scale error below 0.3 % at 45°, a few centimetres on R);
//! wider requests fall back to per-area rasters.

use geo_types::{Coord, Rect};

use super::frame::Frame;
use super::raster::Raster;
use super::segments::{Seg, Segments};

/// Cells per tile side; a multiple of 64, so that tiles are whole words wide.
const TILE: usize = 512;
const TILE_WORDS: usize = TILE / 64;
/// Widest extent served by one frame, metres.
pub(super) const MAX_EXTENT_M: f64 = 40_000.0;

/// A cell lattice in one frame: cell (i, j) centred at `(x0 + (i + ½)·cell_m, y0 + (j + ½)·cell_m)`.
pub(super) struct Lattice {
    pub frame: Frame,
    x0: f64,
    y0: f64,
    pub cell_m: f64,
    /// Tiles across and up.
    ntx: usize,
    nty: usize,
}

/// An area's part of the lattice: cells `i0..i0 + nx` × `j0..j0 + ny`, `i0` a multiple of 64.
#[derive(Debug, Clone, Copy)]
pub(super) struct Window {
    i0: usize,
    j0: usize,
    nx: usize,
    ny: usize,
}

impl Window {
    pub fn cells(self) -> usize {
        self.nx * self.ny
    }
}

impl Lattice {
    /// A lattice over `boxes` (lon/lat) grown by `margin_m`; `None` when their extent is too wide for one frame.
    pub fn over(boxes: &[Rect<f64>], cell_m: f64, margin_m: f64) -> Option<Lattice> {
        let mut it = boxes.iter();
        let first = *it.next()?;
        let (mut lo, mut hi) = (first.min(), first.max());
        for b in it {
            lo = Coord {
                x: lo.x.min(b.min().x),
                y: lo.y.min(b.min().y),
            };
            hi = Coord {
                x: hi.x.max(b.max().x),
                y: hi.y.max(b.max().y),
            };
        }
        let frame = Frame::centred(Rect::new(lo, hi));
        let [x_lo, y_lo] = frame.to_xy(lo);
        let [x_hi, y_hi] = frame.to_xy(hi);
        if !(x_hi - x_lo <= MAX_EXTENT_M && y_hi - y_lo <= MAX_EXTENT_M && cell_m > 0.0) {
            return None;
        }
        // Room for the margin and the word alignment of the westernmost window.
        let pad = margin_m + 65.0 * cell_m;
        let (x0, y0) = (x_lo - pad, y_lo - pad);
        let cells_x = ((x_hi + pad - x0) / cell_m).ceil() as usize + 1;
        let cells_y = ((y_hi + pad - y0) / cell_m).ceil() as usize + 1;
        Some(Lattice {
            frame,
            x0,
            y0,
            cell_m,
            ntx: cells_x.div_ceil(TILE),
            nty: cells_y.div_ceil(TILE),
        })
    }

    /// The window of an area's lon/lat box grown by `margin_m`.
    pub fn window(&self, bbox: Rect<f64>, margin_m: f64) -> Window {
        let [x_min, y_min] = self.frame.to_xy(bbox.min());
        let [x_max, y_max] = self.frame.to_xy(bbox.max());
        let cell = |v: f64, origin: f64| ((v - origin) / self.cell_m).floor().max(0.0) as usize;
        let i0 = cell(x_min - margin_m, self.x0) / 64 * 64;
        let j0 = cell(y_min - margin_m, self.y0);
        let i1 = cell(x_max + margin_m, self.x0).min(self.ntx * TILE - 1);
        let j1 = cell(y_max + margin_m, self.y0).min(self.nty * TILE - 1);
        Window {
            i0,
            j0,
            nx: i1.saturating_sub(i0) + 1,
            ny: j1.saturating_sub(j0) + 1,
        }
    }

    /// An empty raster on the window.
    pub fn raster(&self, w: Window) -> Raster {
        Raster::new(
            self.x0 + w.i0 as f64 * self.cell_m,
            self.y0 + w.j0 as f64 * self.cell_m,
            self.cell_m,
            w.nx,
            w.ny,
        )
    }

    fn tiles_of(&self, w: Window) -> impl Iterator<Item = usize> + '_ {
        let (tx0, tx1) = (w.i0 / TILE, (w.i0 + w.nx - 1) / TILE);
        let (ty0, ty1) = (w.j0 / TILE, (w.j0 + w.ny - 1) / TILE);
        (ty0..=ty1).flat_map(move |ty| (tx0..=tx1).map(move |tx| ty * self.ntx + tx))
    }
}

/// The capsules of all segments, on the tiles that the windows need.
pub(super) struct CoveredTiles {
    tiles: Vec<Option<Raster>>,
}

impl CoveredTiles {
    /// Draws the `radius_m` capsules of `segments` on every tile that one of `windows` touches, on `threads`.
    pub fn build(
        lattice: &Lattice,
        windows: &[Window],
        segments: &Segments<'_>,
        radius_m: f64,
        threads: usize,
    ) -> CoveredTiles {
        let mut wanted = vec![false; lattice.ntx * lattice.nty];
        for &w in windows {
            for t in lattice.tiles_of(w) {
                wanted[t] = true;
            }
        }
        let todo: Vec<usize> = (0..wanted.len()).filter(|&t| wanted[t]).collect();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let drawn: Vec<Vec<(usize, Raster)>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads.clamp(1, todo.len().max(1)))
                .map(|_| {
                    scope.spawn(|| {
                        let mut mine = Vec::new();
                        let mut near: Vec<Seg> = Vec::new();
                        loop {
                            let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some(&t) = todo.get(k) else { break };
                            mine.push((t, draw(lattice, t, segments, radius_m, &mut near)));
                        }
                        mine
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a tile worker does not panic"))
                .collect()
        });
        let mut tiles: Vec<Option<Raster>> = (0..wanted.len()).map(|_| None).collect();
        for (t, r) in drawn.into_iter().flatten() {
            tiles[t] = Some(r);
        }
        CoveredTiles { tiles }
    }

    /// The covered cells of a window (built by [`CoveredTiles::build`] with it), as a raster on the window.
    pub fn window(&self, lattice: &Lattice, w: Window) -> Raster {
        let mut out = lattice.raster(w);
        let words = w.nx.div_ceil(64);
        for j in 0..w.ny {
            let gj = w.j0 + j;
            let (ty, row) = (gj / TILE, gj % TILE);
            let dst = out.row_mut(j);
            for (k, word) in dst.iter_mut().enumerate().take(words) {
                let gw = w.i0 / 64 + k;
                let tile = self.tiles[ty * lattice.ntx + gw / TILE_WORDS].as_ref();
                *word = tile.map_or(0, |t| t.row(row)[gw % TILE_WORDS]);
            }
        }
        out
    }
}

/// One tile: the capsules of the segments near it.
fn draw(
    lattice: &Lattice,
    t: usize,
    segments: &Segments<'_>,
    radius_m: f64,
    near: &mut Vec<Seg>,
) -> Raster {
    let (tx, ty) = (t % lattice.ntx, t / lattice.ntx);
    let mut tile = Raster::new(
        lattice.x0 + (tx * TILE) as f64 * lattice.cell_m,
        lattice.y0 + (ty * TILE) as f64 * lattice.cell_m,
        lattice.cell_m,
        TILE,
        TILE,
    );
    let span = TILE as f64 * lattice.cell_m;
    let bbox = Rect::new(
        lattice.frame.to_lonlat([tile.x0, tile.y0]),
        lattice.frame.to_lonlat([tile.x0 + span, tile.y0 + span]),
    );
    segments.near(bbox, radius_m, near);
    for &s in near.iter() {
        let (a, b) = segments.ends(s);
        tile.fill_capsule(lattice.frame.to_xy(a), lattice.frame.to_xy(b), radius_m);
    }
    tile
}
