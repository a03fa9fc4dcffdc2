//! Tracks → raster: an area's mask (the cells whose centre it holds) and covered cells (within R of a segment).
//!
//! Most areas take both from one lattice shared by the request: the capsules are drawn once into its tiles
//! (see [`super::tiles`]) and each area copies its window. Small areas and areas too big for the default cell
//! get a raster and frame of their own (so do all areas of a request too wide for one frame), with a finer or
//! coarser cell, and draw the capsules near them on it.

use geo_types::{MultiPolygon, Rect};

use super::CoverageParams;
use super::frame::Frame;
use super::raster::Raster;
use super::segments::{Seg, Segments};
use super::tiles::{CoveredTiles, Lattice, Window};
use crate::geodesy;
use crate::index::{AreaId, AreaIndex};

/// Largest raster we build for one area; bigger areas get coarser cells.
const MAX_CELLS: f64 = 4e8;

/// An area with fewer cells than this at the default cell is small for the raster: the edge error, about
/// perimeter × cell / area, reaches a point there (1.3 points on a 0.8 ha grid at R = 50 m against PostGIS,
/// 1.8 on a 2.2 ha grid walked along a raster row), so it gets its own raster of [`FINE_MASK_CELLS`] cells.
/// Most grids of a city are bigger than this at R = 30 m; a city-day costs about 40 % more CPU for it.
const SMALL_MASK_CELLS: f64 = 20_000.0;
/// Cells of a small area's own raster.
const FINE_MASK_CELLS: f64 = 40_000.0;

/// The finer cell a small area gets (see [`SMALL_MASK_CELLS`]); `None` for other areas.
fn fine_cell_m(area_m2: f64, cell_m: f64) -> Option<f64> {
    (area_m2 > 0.0 && area_m2 / (cell_m * cell_m) < SMALL_MASK_CELLS)
        .then(|| (area_m2 / FINE_MASK_CELLS).sqrt().min(cell_m))
}

/// The covered tiles shared by the areas (see [`super::tiles`]), with each area's window (`None`: too big for the
/// default cell, drawn alone); `None` when the areas span too wide an extent for one frame.
pub(super) fn shared_raster(
    index: &AreaIndex,
    areas: &[AreaId],
    segments: &Segments<'_>,
    params: &CoverageParams,
    threads: usize,
) -> Option<(Lattice, CoveredTiles, Vec<Option<Window>>)> {
    let cell = params.cell_size_m();
    let margin = raster_margin_m(params);
    let boxes: Vec<Option<Rect<f64>>> = areas.iter().map(|&id| index.prepared(id).bbox()).collect();
    let present: Vec<Rect<f64>> = boxes.iter().flatten().copied().collect();
    let lattice = Lattice::over(&present, cell, margin)?;
    let windows: Vec<Option<Window>> = boxes
        .iter()
        .zip(areas)
        .map(|(b, &id)| {
            let w = lattice.window((*b)?, margin);
            let small = fine_cell_m(geodesy::area_m2(&index.area(id).geometry), cell).is_some();
            (w.cells() as f64 <= MAX_CELLS && !small).then_some(w)
        })
        .collect();
    let present: Vec<Window> = windows.iter().flatten().copied().collect();
    let tiles = CoveredTiles::build(
        &lattice,
        &present,
        segments,
        params.radius_m.max(0.0),
        threads,
    );
    Some((lattice, tiles, windows))
}

/// Area rasters span the bounding box plus the road margin (and a cell), so that boundary roads fall on them.
pub(super) fn raster_margin_m(params: &CoverageParams) -> f64 {
    params.road_margin_m.max(0.0) + params.cell_size_m()
}

/// An area's cells: the mask and the covered cells on one raster, and the frame of that raster.
pub(super) struct AreaCells {
    pub frame: Frame,
    pub mask: Raster,
    pub covered: Raster,
}

impl AreaCells {
    /// From the area's window of the shared tiles.
    pub fn shared(
        lattice: &Lattice,
        tiles: &CoveredTiles,
        window: Window,
        area: &MultiPolygon<f64>,
    ) -> AreaCells {
        let mut mask = lattice.raster(window);
        mask.fill_polygon(&lattice.frame.rings(area));
        AreaCells {
            frame: lattice.frame,
            mask,
            covered: tiles.window(lattice, window),
        }
    }

    /// On a raster of its own over `bbox` (the area's box, `area_m2` its area), the capsules of `near` drawn
    /// on it; the cell is the default one, finer for a small area, coarser past [`MAX_CELLS`].
    #[expect(clippy::many_single_char_names, reason = "geometry notation")]
    pub fn own(
        area: &MultiPolygon<f64>,
        bbox: Rect<f64>,
        area_m2: f64,
        segments: &Segments<'_>,
        near: &[Seg],
        params: &CoverageParams,
    ) -> AreaCells {
        let frame = Frame::centred(bbox);
        let margin = raster_margin_m(params);
        let [x_min, y_min] = frame.to_xy(bbox.min());
        let [x_max, y_max] = frame.to_xy(bbox.max());
        let (w, h) = (x_max - x_min + 2.0 * margin, y_max - y_min + 2.0 * margin);
        let mut cell = params.cell_size_m();
        if let Some(fine) = fine_cell_m(area_m2, cell) {
            cell = fine;
        }
        let cells = (w / cell).ceil() * (h / cell).ceil();
        if cells > MAX_CELLS {
            cell *= (cells / MAX_CELLS).sqrt();
        }
        let nx = (w / cell).ceil().max(1.0) as usize;
        let ny = (h / cell).ceil().max(1.0) as usize;
        let mut mask = Raster::new(x_min - margin, y_min - margin, cell, nx, ny);
        mask.fill_polygon(&frame.rings(area));
        let mut covered = mask.empty_like();
        let r = params.radius_m.max(0.0);
        for &s in near {
            let (a, b) = segments.ends(s);
            covered.fill_capsule(frame.to_xy(a), frame.to_xy(b), r);
        }
        AreaCells {
            frame,
            mask,
            covered,
        }
    }
}
