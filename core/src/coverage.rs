//! Patrol coverage of areas (grids, communities, streets, the city) from cleaned tracks over a time window.
//!
//! Frame: an equirectangular frame (WGS-84 radii of curvature at its centre; metres east/north) centred on the
//! request's areas (or on one area's bounding box, see Speed). At city scale (tens of km) the scale error is
//! below 3e-3.
//!
//! Method: a bit raster of `cell_m` cells (default `max(R/16, 1.5 m)`; finer for
//! small areas, see [`SMALL_MASK_CELLS`]) over the area's bounding box. The polygon
//! mask is the cells whose centre is inside the area (scanline, even-odd); the covered set is the cells whose
//! centre lies within `R` of a track segment (the capsule of every segment, filled row by row in closed form,
//! see [`raster`]). Area coverage = covered ∩ mask cells / mask cells; `area_m2` is the exact geodesic area and
//! `covered_m2 = area_coverage × area_m2`. The tests measure the error against geo's buffer–union–intersection.
//!
//! - Segments: consecutive fixes of a track whose both times are in `[from, to)`; a track's lone fix in the
//!   window counts as a point (its R-disc covers).
//! - Road coverage: roads sampled every `cell_m`; a sample belongs to the area when the closed area holds it or
//!   it is within `road_margin_m` of the area's boundary (the sample city's roads run along boundaries, so a road
//!   counts for the areas on both sides); it is covered when its raster cell is.
//! - Micro-grids visited: some segment within `R` of the micro-grid's polygon (exact segment–edge distance or a
//!   segment end inside); last visit = the latest end time of such a segment.
//! - Time per worker: the duration of each segment whose midpoint the area contains (half-open rule, so
//!   neighbouring grids never both count it).
//! - Duty met: area coverage ≥ `min_area_coverage` and the workers' summed time ≥ `min_minutes`.
//! - Uncovered parts: the mask cells not covered, traced to polygons (staircase outlines on the raster, at most
//!   one cell off the area's boundary), in WGS-84.
//!
//! Speed: segments are bucketed once by start point on a ~250 m grid; an area visits only the buckets near its
//! bounding box; areas run on all cores (`std::thread::scope`). The capsules are drawn once per request into
//! shared tiles of one cell lattice (see [`tiles`]: one frame for the request's extent, up to 40 km; wider
//! requests and areas too big for the default cell get their own raster and frame), rather than once per area
//! they come near. A micro-grid's visits test only its grid's segment list.

pub mod raster;
mod tiles;
pub mod trace;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use geo_types::{Coord, LineString, MultiPolygon, Polygon, Rect};
use serde::{Deserialize, Serialize};

use crate::index::{AreaId, AreaIndex};
use crate::patrol::PatrolTrack;
use crate::{Level, Road, geodesy};
use raster::{Raster, Xy};
use tiles::{CoveredTiles, Lattice, Window};

/// When a grid's daily patrol duty is met.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DutyPolicy {
    /// Share of the area within R of the tracks, 0..1.
    pub min_area_coverage: f64,
    /// Minutes the workers together spent in the area.
    pub min_minutes: f64,
}

impl Default for DutyPolicy {
    fn default() -> Self {
        DutyPolicy {
            min_area_coverage: 0.6,
            min_minutes: 120.0,
        }
    }
}

/// What to compute; see the module docs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoverageParams {
    pub from: DateTime<Utc>,
    /// Exclusive.
    pub to: DateTime<Utc>,
    /// R: a place counts as patrolled within this distance of a track.
    #[serde(default = "default_radius_m")]
    pub radius_m: f64,
    /// Raster cell; `None`: `max(R/16, 1.5 m)` (R/8 left grids of ~3 ha up to 2.4 points off PostGIS at R = 50).
    #[serde(default)]
    pub cell_m: Option<f64>,
    /// Roads this close to an area's boundary count as the area's.
    #[serde(default = "default_road_margin_m")]
    pub road_margin_m: f64,
    #[serde(default)]
    pub duty: DutyPolicy,
    /// Trace the uncovered parts to polygons (the costliest output; off for bulk statistics).
    #[serde(default = "default_true")]
    pub uncovered_polygons: bool,
}

fn default_radius_m() -> f64 {
    30.0
}
fn default_road_margin_m() -> f64 {
    10.0
}
fn default_true() -> bool {
    true
}

impl CoverageParams {
    /// Defaults (R = 30 m) over `[from, to)`.
    pub fn new(from: DateTime<Utc>, to: DateTime<Utc>) -> CoverageParams {
        CoverageParams {
            from,
            to,
            radius_m: default_radius_m(),
            cell_m: None,
            road_margin_m: default_road_margin_m(),
            duty: DutyPolicy::default(),
            uncovered_polygons: true,
        }
    }

    /// The raster cell actually used, in metres.
    pub fn cell_size_m(&self) -> f64 {
        self.cell_m
            .filter(|c| c.is_finite() && *c > 0.0)
            .unwrap_or((self.radius_m / 16.0).max(1.5))
    }
}

/// A micro-grid's visit status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MicroGridVisit {
    pub code: String,
    pub visited: bool,
    pub last_visit: Option<DateTime<Utc>>,
}

/// Time one worker spent in the area.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerTime {
    pub worker: String,
    pub minutes: f64,
}

/// The coverage report of one area over a window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    pub code: String,
    pub name: String,
    pub level: Level,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub radius_m: f64,
    pub cell_m: f64,
    /// Geodesic area of the area.
    pub area_m2: f64,
    pub covered_m2: f64,
    pub uncovered_m2: f64,
    /// 0..1.
    pub area_coverage: f64,
    pub road_length_m: f64,
    pub road_covered_m: f64,
    /// 0..1; `None` when no road runs in the area.
    pub road_coverage: Option<f64>,
    /// Every micro-grid below the area (itself, for a micro-grid), in code order.
    pub micro_grids: Vec<MicroGridVisit>,
    /// By worker id.
    pub workers: Vec<WorkerTime>,
    /// Sum of `workers`.
    pub patrol_minutes: f64,
    pub duty_met: bool,
    /// WGS-84; empty unless `uncovered_polygons` was asked for.
    pub uncovered: MultiPolygon<f64>,
}

/// Segment start index → `(start, end)` indices into the flattened fixes; `end == start` for a lone fix.
#[derive(Debug, Clone, Copy)]
struct Seg {
    a: u32,
    b: u32,
}

/// The window's fixes flattened, their segments bucketed by start point.
struct Segments<'t> {
    from: DateTime<Utc>,
    points: Vec<Coord<f64>>,
    /// Seconds since `from`.
    times: Vec<f64>,
    /// Worker id (index into `workers`) per point.
    worker: Vec<u32>,
    workers: Vec<&'t str>,
    grid: BucketGrid,
    /// `offsets[k]..offsets[k + 1]` indexes `segs` for bucket `k`.
    offsets: Vec<u32>,
    segs: Vec<Seg>,
    /// Segments longer than half a bucket, checked by every query.
    long: Vec<Seg>,
}

/// A uniform grid over a lon/lat extent.
#[derive(Debug, Clone)]
struct BucketGrid {
    min: Coord<f64>,
    size: Coord<f64>,
    nx: usize,
    ny: usize,
    /// Degrees per metre, upper bounds over the extent (for expanding boxes).
    deg_per_m: Coord<f64>,
}

impl BucketGrid {
    fn new(points: impl Iterator<Item = Coord<f64>>, bucket_m: f64) -> Option<BucketGrid> {
        let mut lo = Coord {
            x: f64::INFINITY,
            y: f64::INFINITY,
        };
        let mut hi = Coord {
            x: f64::NEG_INFINITY,
            y: f64::NEG_INFINITY,
        };
        for p in points {
            lo = Coord {
                x: lo.x.min(p.x),
                y: lo.y.min(p.y),
            };
            hi = Coord {
                x: hi.x.max(p.x),
                y: hi.y.max(p.y),
            };
        }
        if lo.x > hi.x {
            return None;
        }
        let far_lat = lo.y.abs().max(hi.y.abs()).min(89.0);
        let (mx, _) = geodesy::metres_per_degree(far_lat);
        let (_, my) = geodesy::metres_per_degree(0.0);
        // 2 % slack for the ellipsoid's meridional radius varying with latitude.
        let deg_per_m = Coord {
            x: 1.02 / mx,
            y: 1.02 / my,
        };
        let size = Coord {
            x: bucket_m * deg_per_m.x,
            y: bucket_m * deg_per_m.y,
        };
        let nx = (((hi.x - lo.x) / size.x).floor() as usize + 1).min(1 << 14);
        let ny = (((hi.y - lo.y) / size.y).floor() as usize + 1).min(1 << 14);
        Some(BucketGrid {
            min: lo,
            size,
            nx,
            ny,
            deg_per_m,
        })
    }
    fn col(&self, x: f64) -> usize {
        (((x - self.min.x) / self.size.x).max(0.0) as usize).min(self.nx - 1)
    }
    fn row(&self, y: f64) -> usize {
        (((y - self.min.y) / self.size.y).max(0.0) as usize).min(self.ny - 1)
    }
}

/// Buckets of about this size, in metres.
const BUCKET_M: f64 = 250.0;

fn bbox_of(a: Coord<f64>, b: Coord<f64>) -> Rect<f64> {
    Rect::new(a, b)
}

fn expand(r: Rect<f64>, dx: f64, dy: f64) -> Rect<f64> {
    Rect::new(
        Coord {
            x: r.min().x - dx,
            y: r.min().y - dy,
        },
        Coord {
            x: r.max().x + dx,
            y: r.max().y + dy,
        },
    )
}

fn contains_rect(outer: &Rect<f64>, inner: &Rect<f64>) -> bool {
    outer.min().x <= inner.min().x
        && outer.min().y <= inner.min().y
        && outer.max().x >= inner.max().x
        && outer.max().y >= inner.max().y
}

fn overlaps(a: &Rect<f64>, b: &Rect<f64>) -> bool {
    a.min().x <= b.max().x
        && b.min().x <= a.max().x
        && a.min().y <= b.max().y
        && b.min().y <= a.max().y
}

impl<'t> Segments<'t> {
    fn new(tracks: &'t [PatrolTrack], from: DateTime<Utc>, to: DateTime<Utc>) -> Segments<'t> {
        let mut ids: HashMap<&str, u32> = HashMap::new();
        let mut workers = Vec::new();
        let mut points = Vec::new();
        let mut times = Vec::new();
        let mut worker = Vec::new();
        let mut all: Vec<Seg> = Vec::new();
        for t in tracks {
            let next = workers.len() as u32;
            let id = *ids.entry(t.worker.as_str()).or_insert_with(|| {
                workers.push(t.worker.as_str());
                next
            });
            let start = points.len() as u32;
            for &(at, p) in &t.fixes {
                if at >= from && at < to && p.x.is_finite() && p.y.is_finite() {
                    points.push(p);
                    times.push((at - from).num_milliseconds() as f64 / 1000.0);
                    worker.push(id);
                }
            }
            let end = points.len() as u32;
            match end - start {
                0 => {}
                1 => all.push(Seg { a: start, b: start }),
                _ => all.extend((start..end - 1).map(|a| Seg { a, b: a + 1 })),
            }
        }
        let grid = BucketGrid::new(points.iter().copied(), BUCKET_M);
        let mut segments = Segments {
            from,
            points,
            times,
            worker,
            workers,
            grid: grid.clone().unwrap_or(BucketGrid {
                min: Coord { x: 0.0, y: 0.0 },
                size: Coord { x: 1.0, y: 1.0 },
                nx: 1,
                ny: 1,
                deg_per_m: Coord { x: 1.0, y: 1.0 },
            }),
            offsets: vec![0, 0],
            segs: Vec::new(),
            long: Vec::new(),
        };
        let Some(grid) = grid else {
            return segments;
        };
        let half = Coord {
            x: grid.size.x / 2.0,
            y: grid.size.y / 2.0,
        };
        let mut short = Vec::with_capacity(all.len());
        for s in all {
            let (a, b) = (segments.points[s.a as usize], segments.points[s.b as usize]);
            if (a.x - b.x).abs() > half.x || (a.y - b.y).abs() > half.y {
                segments.long.push(s);
            } else {
                short.push((grid.row(a.y) * grid.nx + grid.col(a.x), s));
            }
        }
        // Counting sort by bucket.
        let mut offsets = vec![0u32; grid.nx * grid.ny + 1];
        for &(k, _) in &short {
            offsets[k + 1] += 1;
        }
        for k in 0..grid.nx * grid.ny {
            offsets[k + 1] += offsets[k];
        }
        let mut fill = offsets.clone();
        let mut segs = vec![Seg { a: 0, b: 0 }; short.len()];
        for (k, s) in short {
            segs[fill[k] as usize] = s;
            fill[k] += 1;
        }
        segments.grid = grid;
        segments.offsets = offsets;
        segments.segs = segs;
        segments
    }

    fn ends(&self, s: Seg) -> (Coord<f64>, Coord<f64>) {
        (self.points[s.a as usize], self.points[s.b as usize])
    }

    /// Segments whose `radius_m`-buffer may meet `bbox`.
    fn near(&self, bbox: Rect<f64>, radius_m: f64, out: &mut Vec<Seg>) {
        out.clear();
        if self.points.is_empty() {
            return;
        }
        let g = &self.grid;
        let (rx, ry) = (radius_m * g.deg_per_m.x, radius_m * g.deg_per_m.y);
        let target = expand(bbox, rx, ry);
        // A short segment lies within half a bucket of its start point.
        let reach = expand(target, g.size.x / 2.0, g.size.y / 2.0);
        if reach.max().x < g.min.x
            || reach.max().y < g.min.y
            || reach.min().x > g.min.x + g.size.x * g.nx as f64
            || reach.min().y > g.min.y + g.size.y * g.ny as f64
        {
            out.extend(self.long_near(&target));
            return;
        }
        let (c0, c1) = (g.col(reach.min().x), g.col(reach.max().x));
        let (r0, r1) = (g.row(reach.min().y), g.row(reach.max().y));
        for r in r0..=r1 {
            let range =
                self.offsets[r * g.nx + c0] as usize..self.offsets[r * g.nx + c1 + 1] as usize;
            for &s in &self.segs[range] {
                let (a, b) = self.ends(s);
                if overlaps(&bbox_of(a, b), &target) {
                    out.push(s);
                }
            }
        }
        out.extend(self.long_near(&target));
    }

    /// The segments of `within` whose `radius_m`-buffer may meet `bbox`: [`Segments::near`] when `within`
    /// holds the answer of `near` for a box containing `bbox` (a grid's list, for its micro-grids).
    fn near_among(&self, within: &[Seg], bbox: Rect<f64>, radius_m: f64, out: &mut Vec<Seg>) {
        let g = &self.grid;
        let target = expand(bbox, radius_m * g.deg_per_m.x, radius_m * g.deg_per_m.y);
        out.clear();
        out.extend(within.iter().copied().filter(|&s| {
            let (a, b) = self.ends(s);
            overlaps(&bbox_of(a, b), &target)
        }));
    }

    fn long_near<'a>(&'a self, target: &'a Rect<f64>) -> impl Iterator<Item = Seg> + 'a {
        self.long.iter().copied().filter(move |&s| {
            let (a, b) = self.ends(s);
            overlaps(&bbox_of(a, b), target)
        })
    }
}

/// Road samples (every `step_m`), bucketed like segments.
struct RoadSamples {
    /// Sample point and the road length it stands for, in metres.
    samples: Vec<(Coord<f64>, f64)>,
    grid: Option<BucketGrid>,
    offsets: Vec<u32>,
}

impl RoadSamples {
    fn new(roads: &[Road], step_m: f64) -> RoadSamples {
        let mut raw = Vec::new();
        for road in roads {
            for line in road.geometry.lines() {
                let (mx, my) = geodesy::metres_per_degree(f64::midpoint(line.start.y, line.end.y));
                let len =
                    ((line.end.x - line.start.x) * mx).hypot((line.end.y - line.start.y) * my);
                if !len.is_finite() || len <= 0.0 {
                    continue;
                }
                let n = (len / step_m).ceil().max(1.0);
                for k in 0..n as usize {
                    let t = (k as f64 + 0.5) / n;
                    raw.push((
                        Coord {
                            x: line.start.x + t * (line.end.x - line.start.x),
                            y: line.start.y + t * (line.end.y - line.start.y),
                        },
                        len / n,
                    ));
                }
            }
        }
        let grid = BucketGrid::new(raw.iter().map(|s| s.0), BUCKET_M);
        let Some(g) = &grid else {
            return RoadSamples {
                samples: raw,
                grid,
                offsets: vec![0, 0],
            };
        };
        let key = |p: Coord<f64>| g.row(p.y) * g.nx + g.col(p.x);
        raw.sort_by_key(|s| key(s.0));
        let mut offsets = vec![0u32; g.nx * g.ny + 1];
        for s in &raw {
            offsets[key(s.0) + 1] += 1;
        }
        for k in 0..g.nx * g.ny {
            offsets[k + 1] += offsets[k];
        }
        RoadSamples {
            samples: raw,
            grid,
            offsets,
        }
    }

    fn near(&self, bbox: Rect<f64>) -> impl Iterator<Item = (Coord<f64>, f64)> + '_ {
        let ranges: Vec<std::ops::Range<usize>> = match &self.grid {
            Some(g) => {
                let (c0, c1) = (g.col(bbox.min().x), g.col(bbox.max().x));
                let (r0, r1) = (g.row(bbox.min().y), g.row(bbox.max().y));
                (r0..=r1)
                    .map(|r| {
                        self.offsets[r * g.nx + c0] as usize
                            ..self.offsets[r * g.nx + c1 + 1] as usize
                    })
                    .collect()
            }
            None => Vec::new(),
        };
        ranges
            .into_iter()
            .flat_map(move |r| self.samples[r].iter().copied())
            .filter(move |(p, _)| {
                p.x >= bbox.min().x
                    && p.x <= bbox.max().x
                    && p.y >= bbox.min().y
                    && p.y <= bbox.max().y
            })
    }
}

/// An equirectangular frame: metres east/north of `origin`.
#[derive(Debug, Clone, Copy)]
struct Frame {
    origin: Coord<f64>,
    mx: f64,
    my: f64,
}

impl Frame {
    fn centred(bbox: Rect<f64>) -> Frame {
        let origin = bbox.center();
        let (mx, my) = geodesy::metres_per_degree(origin.y);
        Frame { origin, mx, my }
    }
    fn to_xy(self, p: Coord<f64>) -> Xy {
        [
            (p.x - self.origin.x) * self.mx,
            (p.y - self.origin.y) * self.my,
        ]
    }
    fn to_lonlat(self, [x, y]: Xy) -> Coord<f64> {
        Coord {
            x: self.origin.x + x / self.mx,
            y: self.origin.y + y / self.my,
        }
    }
    fn rings(self, mp: &MultiPolygon<f64>) -> Vec<Vec<Xy>> {
        mp.0.iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            .map(|ring| ring.0.iter().map(|&c| self.to_xy(c)).collect())
            .collect()
    }
}

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

/// Coverage of each of `areas` over the window of `params`, in input order (see the module docs).
pub fn coverage(
    index: &AreaIndex,
    areas: &[AreaId],
    tracks: &[PatrolTrack],
    roads: &[Road],
    params: &CoverageParams,
) -> Vec<Coverage> {
    let segments = Segments::new(tracks, params.from, params.to);
    let road_samples = RoadSamples::new(roads, params.cell_size_m());
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let threads = cores.min(areas.len().max(1));
    let shared = shared_raster(index, areas, &segments, params, cores);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut out: Vec<Option<Coverage>> = vec![None; areas.len()];
    let done: Vec<Vec<(usize, Coverage)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    let mut scratch = Vec::new();
                    loop {
                        let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(&id) = areas.get(k) else { break };
                        let shared = shared.as_ref().and_then(|(l, t, w)| Some((l, t, w[k]?)));
                        mine.push((
                            k,
                            area_coverage(
                                index,
                                id,
                                &segments,
                                &road_samples,
                                params,
                                shared,
                                &mut scratch,
                            ),
                        ));
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a coverage worker does not panic"))
            .collect()
    });
    for (k, c) in done.into_iter().flatten() {
        out[k] = Some(c);
    }
    out.into_iter().flatten().collect()
}

/// The covered tiles shared by the areas (see [`tiles`]), with each area's window (`None`: too big for the
/// default cell, drawn alone); `None` when the areas span too wide an extent for one frame.
fn shared_raster(
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
fn raster_margin_m(params: &CoverageParams) -> f64 {
    params.road_margin_m.max(0.0) + params.cell_size_m()
}

/// The micro-grids at or below `id`, in code order.
fn micro_grids(index: &AreaIndex, id: AreaId) -> Vec<AreaId> {
    let mut out = Vec::new();
    let mut stack = vec![id];
    while let Some(a) = stack.pop() {
        if index.area(a).level == Level::MicroGrid {
            out.push(a);
        } else {
            stack.extend(index.children(a).iter().copied());
        }
    }
    out.sort_by(|&x, &y| index.area(x).code.cmp(&index.area(y).code));
    out.dedup();
    out
}

#[expect(
    clippy::many_single_char_names,
    clippy::too_many_lines,
    reason = "one pass over the area's parts; geometry notation"
)]
fn area_coverage(
    index: &AreaIndex,
    id: AreaId,
    segments: &Segments<'_>,
    roads: &RoadSamples,
    params: &CoverageParams,
    shared: Option<(&Lattice, &CoveredTiles, Window)>,
    scratch: &mut Vec<Seg>,
) -> Coverage {
    let area = index.area(id);
    let prepared = index.prepared(id);
    let r = params.radius_m.max(0.0);
    let area_m2 = geodesy::area_m2(&area.geometry);
    let mut report = Coverage {
        code: area.code.clone(),
        name: area.name.clone(),
        level: area.level,
        from: params.from,
        to: params.to,
        radius_m: r,
        cell_m: params.cell_size_m(),
        area_m2,
        covered_m2: 0.0,
        uncovered_m2: area_m2,
        area_coverage: 0.0,
        road_length_m: 0.0,
        road_covered_m: 0.0,
        road_coverage: None,
        micro_grids: Vec::new(),
        workers: Vec::new(),
        patrol_minutes: 0.0,
        duty_met: false,
        uncovered: MultiPolygon(Vec::new()),
    };
    let Some(bbox) = prepared.bbox() else {
        return report;
    };
    segments.near(bbox, r, scratch);
    let (frame, mask, covered) = if let Some((lattice, tiles, window)) = shared {
        let mut mask = lattice.raster(window);
        mask.fill_polygon(&lattice.frame.rings(&area.geometry));
        (lattice.frame, mask, tiles.window(lattice, window))
    } else {
        let frame = Frame::centred(bbox);
        let margin = raster_margin_m(params);
        let [x_min, y_min] = frame.to_xy(bbox.min());
        let [x_max, y_max] = frame.to_xy(bbox.max());
        let (w, h) = (x_max - x_min + 2.0 * margin, y_max - y_min + 2.0 * margin);
        if let Some(fine) = fine_cell_m(area_m2, report.cell_m) {
            report.cell_m = fine;
        }
        let cells = (w / report.cell_m).ceil() * (h / report.cell_m).ceil();
        if cells > MAX_CELLS {
            report.cell_m *= (cells / MAX_CELLS).sqrt();
        }
        let cell = report.cell_m;
        let nx = (w / cell).ceil().max(1.0) as usize;
        let ny = (h / cell).ceil().max(1.0) as usize;
        let mut mask = Raster::new(x_min - margin, y_min - margin, cell, nx, ny);
        mask.fill_polygon(&frame.rings(&area.geometry));
        let mut covered = mask.empty_like();
        for &s in scratch.iter() {
            let (a, b) = segments.ends(s);
            covered.fill_capsule(frame.to_xy(a), frame.to_xy(b), r);
        }
        (frame, mask, covered)
    };
    let mut seconds: HashMap<u32, f64> = HashMap::new();
    for &s in scratch.iter() {
        if s.a != s.b {
            let (a, b) = segments.ends(s);
            let mid = Coord {
                x: f64::midpoint(a.x, b.x),
                y: f64::midpoint(a.y, b.y),
            };
            if prepared.contains(mid) {
                let dt = segments.times[s.b as usize] - segments.times[s.a as usize];
                *seconds.entry(segments.worker[s.a as usize]).or_default() += dt;
            }
        }
    }
    let inside = mask.count();
    let hit = covered.count_and(&mask);
    if inside > 0 {
        report.area_coverage = hit as f64 / inside as f64;
    }
    report.covered_m2 = report.area_coverage * area_m2;
    report.uncovered_m2 = area_m2 - report.covered_m2;
    // Roads.
    let near = expand(
        bbox,
        params.road_margin_m * segments.grid.deg_per_m.x.max(1.1e-5),
        params.road_margin_m * segments.grid.deg_per_m.y.max(1e-5),
    );
    for (p, len_m) in roads.near(near) {
        if prepared.covers(p) || prepared.distance_to_boundary_m(p) <= params.road_margin_m {
            report.road_length_m += len_m;
            if covered
                .cell_of(frame.to_xy(p))
                .is_some_and(|(i, j)| covered.get(i, j))
            {
                report.road_covered_m += len_m;
            }
        }
    }
    if report.road_length_m > 0.0 {
        report.road_coverage = Some(report.road_covered_m / report.road_length_m);
    }
    let mut mine = Vec::new();
    report.micro_grids = micro_grids(index, id)
        .into_iter()
        .map(|m| {
            // A micro-grid inside the grid's box takes its segments from the grid's list, not the buckets.
            match index.prepared(m).bbox() {
                Some(b) if contains_rect(&bbox, &b) => {
                    segments.near_among(scratch, b, r, &mut mine);
                }
                Some(b) => segments.near(b, r, &mut mine),
                None => mine.clear(),
            }
            visit(index, m, segments, r, &mine)
        })
        .collect();
    let mut workers: Vec<WorkerTime> = seconds
        .into_iter()
        .map(|(w, s)| WorkerTime {
            worker: segments.workers[w as usize].to_owned(),
            minutes: s / 60.0,
        })
        .collect();
    workers.sort_by(|a, b| a.worker.cmp(&b.worker));
    report.patrol_minutes = workers.iter().map(|w| w.minutes).sum();
    report.workers = workers;
    report.duty_met = report.area_coverage >= params.duty.min_area_coverage
        && report.patrol_minutes >= params.duty.min_minutes;
    if params.uncovered_polygons {
        report.uncovered = uncovered(&mask.and_not(&covered), frame);
    }
    report
}

#[expect(clippy::many_single_char_names, reason = "geometry notation")]
/// Was micro-grid `m` visited (a segment within `r`), and when last; `near` are the segments near it.
fn visit(
    index: &AreaIndex,
    m: AreaId,
    segments: &Segments<'_>,
    r: f64,
    near: &[Seg],
) -> MicroGridVisit {
    let area = index.area(m);
    let prepared = index.prepared(m);
    let mut last: Option<f64> = None;
    if let Some(bbox) = prepared.bbox() {
        let frame = Frame::centred(bbox);
        let rings = frame.rings(&area.geometry);
        // Buckets list segments in track order, so walking backwards meets late ones first; anything not later
        // than the best hit is skipped without the exact test.
        for &s in near.iter().rev() {
            let t = segments.times[s.b as usize];
            if last.is_some_and(|best| t <= best) {
                continue;
            }
            let (a, b) = segments.ends(s);
            let (pa, pb) = (frame.to_xy(a), frame.to_xy(b));
            let near = prepared.covers(a)
                || rings.iter().any(|ring| {
                    ring.windows(2)
                        .any(|e| raster::segment_segment(pa, pb, e[0], e[1]) <= r)
                });
            if near {
                last = Some(t);
            }
        }
    }
    MicroGridVisit {
        code: area.code.clone(),
        visited: last.is_some(),
        last_visit: last
            .map(|s| segments.from + chrono::TimeDelta::milliseconds((s * 1000.0).round() as i64)),
    }
}

/// Traces uncovered cells to WGS-84 polygons.
fn uncovered(cells: &Raster, frame: Frame) -> MultiPolygon<f64> {
    let to_ring = |nodes: &[trace::Node]| {
        let mut coords: Vec<Coord<f64>> = nodes
            .iter()
            .map(|&(i, j)| {
                frame.to_lonlat([
                    cells.x0 + i as f64 * cells.cell_m,
                    cells.y0 + j as f64 * cells.cell_m,
                ])
            })
            .collect();
        if let Some(&first) = coords.first() {
            coords.push(first);
        }
        LineString(coords)
    };
    MultiPolygon(
        trace::trace(cells)
            .into_iter()
            .map(|p| {
                Polygon::new(
                    to_ring(&p.exterior),
                    p.holes.iter().map(|h| to_ring(h)).collect(),
                )
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use geo_types::polygon;

    use super::*;
    use crate::{Area, GridKind};

    const LON: f64 = 114.09;
    const LAT: f64 = 33.57;

    /// A point `east_m`, `north_m` from the reference corner.
    fn at(east_m: f64, north_m: f64) -> Coord<f64> {
        let (mx, my) = geodesy::metres_per_degree(LAT);
        Coord {
            x: LON + east_m / mx,
            y: LAT + north_m / my,
        }
    }

    fn square(code: &str, level: Level, parent: Option<&str>, x0: f64, y0: f64, s: f64) -> Area {
        let ring = [
            at(x0, y0),
            at(x0 + s, y0),
            at(x0 + s, y0 + s),
            at(x0, y0 + s),
        ];
        Area {
            code: code.into(),
            name: code.into(),
            level,
            kind: (level >= Level::Grid).then_some(GridKind::Residential),
            parent: parent.map(Into::into),
            geometry: MultiPolygon(vec![polygon![ring[0], ring[1], ring[2], ring[3]]]),
            staff: Vec::new(),
        }
    }

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_772_400_000 + s, 0).expect("a valid time")
    }

    /// A 200 m grid of four 100 m micro-grids; a worker walks along y = 50 m from x = -50 to 250 at 1.2 m/s.
    fn setup() -> (AreaIndex, Vec<PatrolTrack>) {
        let areas = vec![
            square("G", Level::Grid, None, 0.0, 0.0, 200.0),
            square("M1", Level::MicroGrid, Some("G"), 0.0, 0.0, 100.0),
            square("M2", Level::MicroGrid, Some("G"), 100.0, 0.0, 100.0),
            square("M3", Level::MicroGrid, Some("G"), 0.0, 100.0, 100.0),
            square("M4", Level::MicroGrid, Some("G"), 100.0, 100.0, 100.0),
        ];
        let fixes = (0..=25)
            .map(|k| (t(10 * k), at(-50.0 + 12.0 * k as f64, 50.0)))
            .collect();
        let track = PatrolTrack {
            worker: "13800000000".into(),
            fixes,
        };
        (AreaIndex::build(areas), vec![track])
    }

    #[test]
    fn a_straight_walk_covers_a_band_of_two_r_and_the_micro_grids_it_passes() {
        let (index, tracks) = setup();
        let grid = index.by_code("G").expect("grid");
        // The band y in [20, 80] across the whole 200 m width: 12,000 of 40,000 m².
        let road = Road {
            name: "north road".into(),
            class: "main".into(),
            geometry: LineString(vec![at(0.0, 200.0), at(200.0, 200.0)]),
        };
        let inner = Road {
            name: "walked lane".into(),
            class: "secondary".into(),
            geometry: LineString(vec![at(0.0, 60.0), at(200.0, 60.0)]),
        };
        let params = CoverageParams::new(t(0), t(3600));
        let report = &coverage(&index, &[grid], &tracks, &[road, inner], &params)[0];
        assert!((report.area_coverage - 0.3).abs() < 0.005, "{report:?}");
        assert!((report.area_m2 - 40_000.0).abs() < 40.0);
        // Half the road length (the lane) is walked; the boundary road is 150 m from the track.
        assert_eq!(
            report.road_coverage.map(|c| (c * 100.0).round()),
            Some(50.0)
        );
        let visited: Vec<(&str, bool)> = report
            .micro_grids
            .iter()
            .map(|m| (m.code.as_str(), m.visited))
            .collect();
        // M3/M4 start at y = 100, 50 m from the track: more than R = 30.
        assert_eq!(
            visited,
            [("M1", true), ("M2", true), ("M3", false), ("M4", false)]
        );
        // M2 last seen by the segment whose end is the first fix past x = 230 (R beyond its east edge).
        let m2 = report.micro_grids[1].last_visit.expect("visited");
        assert_eq!(m2, t(240));
        // Inside the grid from x = 0 to 200: 200 m at 1.2 m/s, counted by segment midpoints (whole 10 s steps).
        assert_eq!(report.workers.len(), 1);
        assert!(
            (report.patrol_minutes - 170.0 / 60.0).abs() < 1e-9,
            "{}",
            report.patrol_minutes
        );
        assert!(!report.duty_met);
        // The uncovered parts: the strips north and south of the band.
        let uncovered_m2 = geodesy::area_m2(&report.uncovered);
        assert!(
            (uncovered_m2 - 28_000.0).abs() < 28_000.0 * 0.02,
            "{uncovered_m2}"
        );
        assert_eq!(report.uncovered.0.len(), 2);
    }

    #[test]
    fn fixes_outside_the_window_do_not_count() {
        let (index, tracks) = setup();
        let grid = index.by_code("G").expect("grid");
        let params = CoverageParams::new(t(4000), t(8000));
        let report = &coverage(&index, &[grid], &tracks, &[], &params)[0];
        assert!(report.area_coverage.abs() < f64::EPSILON);
        assert!(report.micro_grids.iter().all(|m| !m.visited));
        assert!(report.road_coverage.is_none());
        assert_eq!(report.uncovered.0.len(), 1);
    }
}
