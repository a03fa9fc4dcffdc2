//! Patrol coverage of areas (grids, communities, streets, the city) from cleaned tracks over a time window.
//!
//! Frame: an equirectangular frame (WGS-84 radii of curvature at its centre; metres east/north) centred on the
//! request's areas (or on one area's bounding box, see Speed). At city scale (tens of km) the scale error is
//! below 3e-3.
//!
//! Method: a bit raster of `cell_m` cells (default `max(R/16, 1.5 m)`; finer for
//! small areas, see [`marking::SMALL_MASK_CELLS`]) over the area's bounding box. The polygon
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
//!
//! One part per module: [`segments`] (the window's fixes, bucketed), [`marking`] (mask and covered cells, on
//! [`tiles`] or an area's own [`raster`]), [`roads`], [`visits`], [`duty`], [`uncovered`] (via [`trace`]), put
//! together per area by [`area`].

mod area;
mod buckets;
mod duty;
mod frame;
mod marking;
pub mod raster;
mod roads;
mod segments;
mod tiles;
pub mod trace;
mod uncovered;
mod visits;

use chrono::{DateTime, Utc};
use geo_types::MultiPolygon;
use serde::{Deserialize, Serialize};

use crate::index::{AreaId, AreaIndex};
use crate::patrol::PatrolTrack;
use crate::{Level, Road};
use roads::RoadSamples;
use segments::Segments;

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
    let shared = marking::shared_raster(index, areas, &segments, params, cores);
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
                            area::area_coverage(
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

#[cfg(test)]
mod tests;
