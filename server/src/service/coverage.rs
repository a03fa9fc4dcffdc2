//! Patrol coverage use cases: the window of a request, one area's coverage with its grids, and the grids of
//! a coverage tile through the per-grid cache.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use geo::BoundingRect;
use gridmap_core::geodesy::{grow_rect, union_rect};
use gridmap_core::{
    AreaId, AreaIndex, CleaningPolicy, Coverage, CoverageParams, Level, clean, coverage,
};
use gridmap_tiles::TileCoord;

use crate::AppState;
use crate::clock::{TimeArg, day_start, local};
use crate::coverage_cache::{GridCover, WindowKey};
use crate::error::ApiError;
use crate::snapshot::Snapshot;
use crate::store::{FixQuery, StoredFix};
use crate::tile_index::{buffered_bounds, encode_options, layer_id};

/// Longest window: a month of fixes is the most one request may read.
const MAX_WINDOW: TimeDelta = TimeDelta::days(31);
/// Fixes are read this far beyond R around the area (a fix just outside still draws a track inside).
const FIX_MARGIN_M: f64 = 10.0;

/// The window `[from, to)` of a coverage request, in local days; default: today.
pub fn window(
    from: Option<TimeArg>,
    to: Option<TimeArg>,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
    let out_of_range = |field: &str, t: TimeArg| {
        t.resolve(local(), field == "to")
            .ok_or_else(|| ApiError::field(field, format!("{t:?} is out of range")))
    };
    let from = match from {
        Some(t) => out_of_range("from", t)?,
        None => day_start(now.with_timezone(&local()).date_naive()),
    };
    let to = match to {
        Some(t) => out_of_range("to", t)?,
        None => from + TimeDelta::days(1),
    };
    if to <= from {
        let reason = format!("{to} is not after from ({from})");
        return Err(ApiError::field("to", reason));
    }
    if to - from > MAX_WINDOW {
        let reason = format!("the window is longer than {} days", MAX_WINDOW.num_days());
        return Err(ApiError::field("to", reason));
    }
    Ok((from, to))
}

/// One area's coverage, then each of its ordinary grids' (for a community or street).
pub struct AreaCoverage {
    /// Stored fixes read (every worker seen near the area in the window).
    pub fixes: usize,
    /// Rejected by cleaning.
    pub rejected: usize,
    pub area: Coverage,
    pub grids: Vec<Coverage>,
}

/// The coverage of the area `code` at `level` in `[from, to)` with R = `radius_m`.
pub async fn of_area(
    state: &AppState,
    (level, code): (Level, &str),
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    radius_m: f64,
) -> Result<AreaCoverage, ApiError> {
    let snapshot = state.snapshot();
    let id = snapshot
        .index
        .by_code(code)
        .filter(|&id| snapshot.index.area(id).level == level)
        .ok_or_else(|| ApiError::NotFound(format!("{} `{code}`", level.as_str())))?;
    let bbox = snapshot
        .index
        .area(id)
        .geometry
        .bounding_rect()
        .ok_or_else(|| ApiError::Internal(format!("area `{code}` has no extent")))?;
    let near = Some(grow_rect(bbox, radius_m + FIX_MARGIN_M));
    let fixes = state
        .store
        .patrol_fixes(&FixQuery { from, to, near })
        .await?;
    let read = fixes.len();
    let (mut reports, rejected) = tokio::task::spawn_blocking(move || {
        let index = &snapshot.index;
        let mut areas = vec![id];
        if level != Level::Grid {
            areas.extend(grids_below(index, id));
        }
        let cleaned = clean(
            fixes.iter().map(StoredFix::to_fix).collect(),
            &CleaningPolicy::default(),
        );
        let params = CoverageParams {
            radius_m,
            ..CoverageParams::new(from, to)
        };
        (
            coverage(index, &areas, &cleaned.tracks, &snapshot.roads, &params),
            cleaned.rejected.len(),
        )
    })
    .await?;
    if reports.is_empty() {
        return Err(ApiError::Internal("coverage returned nothing".into()));
    }
    let area = reports.remove(0);
    Ok(AreaCoverage {
        fixes: read,
        rejected,
        area,
        grids: reports,
    })
}

/// The ordinary grids at or below `id`, in code order.
fn grids_below(index: &AreaIndex, id: AreaId) -> Vec<AreaId> {
    let mut out = Vec::new();
    let mut stack = vec![id];
    while let Some(a) = stack.pop() {
        let area = index.area(a);
        if area.level == Level::Grid {
            if !area.is_exclusive() {
                out.push(a);
            }
        } else if area.level < Level::Grid {
            stack.extend(index.children(a).iter().copied());
        }
    }
    out.sort_by(|&x, &y| index.area(x).code.cmp(&index.area(y).code));
    out.dedup();
    out
}

/// The ordinary grids whose bounding box meets the buffered tile.
fn grids_in(snapshot: &Snapshot, tile: TileCoord) -> Vec<AreaId> {
    let Some(grids) = layer_id("grids") else {
        return Vec::new();
    };
    let query = buffered_bounds(tile, encode_options().buffer_fraction());
    snapshot.tiles.ids_in(grids, &query)
}

/// Each grid's coverage, from the cache or computed now (the missing ones together, one at a time).
pub async fn grid_covers(
    state: &AppState,
    snapshot: &Arc<Snapshot>,
    tile: TileCoord,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    radius_m: f64,
    live: bool,
) -> Result<Vec<Arc<GridCover>>, ApiError> {
    let cache = &state.coverage_cache;
    let window = WindowKey::new(from, to, radius_m);
    let grids = grids_in(snapshot, tile);
    let lookup = |version: u64| -> (Vec<Arc<GridCover>>, Vec<AreaId>) {
        let mut found = Vec::with_capacity(grids.len());
        let mut missing = Vec::new();
        for &g in &grids {
            match cache.get(window, snapshot.generation, version, g) {
                Some(c) => found.push(c),
                None => missing.push(g),
            }
        }
        (found, missing)
    };
    let (found, missing) = lookup(cache.version());
    if missing.is_empty() {
        return Ok(found);
    }
    let _turn = cache.compute_lock.lock().await;
    // Another request may have computed them while this one waited.
    let version = cache.version();
    let (mut found, missing) = lookup(version);
    if missing.is_empty() {
        return Ok(found);
    }
    let bounds = missing
        .iter()
        .filter_map(|&id| snapshot.index.area(id).geometry.bounding_rect());
    let Some(bbox) = bounds.reduce(union_rect) else {
        return Ok(found);
    };
    let fixes = state
        .store
        .patrol_fixes(&FixQuery {
            from,
            to,
            near: Some(grow_rect(bbox, radius_m + FIX_MARGIN_M)),
        })
        .await?;
    let computed = {
        let snapshot = snapshot.clone();
        let missing = missing.clone();
        tokio::task::spawn_blocking(move || {
            let cleaned = clean(
                fixes.iter().map(StoredFix::to_fix).collect(),
                &CleaningPolicy::default(),
            );
            let params = CoverageParams {
                radius_m,
                ..CoverageParams::new(from, to)
            };
            // Roads are not drawn: the area and its uncovered parts are what the layer shows.
            coverage(&snapshot.index, &missing, &cleaned.tracks, &[], &params)
        })
        .await?
    };
    for (id, c) in missing.into_iter().zip(computed) {
        let cover = Arc::new(GridCover::new(
            c.code,
            c.name,
            c.area_coverage,
            c.uncovered,
            live,
        ));
        cache.insert(window, snapshot.generation, version, id, cover.clone());
        found.push(cover);
    }
    Ok(found)
}
