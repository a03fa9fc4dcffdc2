//! Per-grid patrol coverage kept for the `coverage` tile layer, so that panning the map does not recompute it.
//!
//! Entries are keyed by (window, R, snapshot generation, fixes version, grid). The fixes version counts the
//! batches this process stored: a new batch makes every older entry unreachable (moka evicts them by size).
//! Fixes posted to another replica are not seen by that count, so an entry of a window that was still open
//! when it was computed (its end after the server's clock) is trusted only for [`LIVE_TTL`]; closed windows
//! are trusted until evicted or [`CLOSED_TTL`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use geo_types::{MultiPolygon, Rect};
use gridmap_core::AreaId;
use moka::sync::Cache;

/// How long coverage of a window that includes "now" is reused.
pub const LIVE_TTL: Duration = Duration::from_secs(15);
/// How long coverage of a past window is reused (late uploads from other replicas show after this).
pub const CLOSED_TTL: Duration = Duration::from_mins(10);
/// Cache size: uncovered outlines are staircases of ~2 m cells, tens of KB per grid.
const CAPACITY_BYTES: u64 = 64 * 1024 * 1024;

/// The window and R of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WindowKey {
    pub from_ms: i64,
    pub to_ms: i64,
    pub radius_bits: u64,
}

impl WindowKey {
    pub fn new(from: DateTime<Utc>, to: DateTime<Utc>, radius_m: f64) -> WindowKey {
        WindowKey {
            from_ms: from.timestamp_millis(),
            to_ms: to.timestamp_millis(),
            radius_bits: radius_m.to_bits(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    window: WindowKey,
    generation: u64,
    version: u64,
    grid: AreaId,
}

/// What the tile layer draws of one grid.
#[derive(Debug)]
pub struct GridCover {
    pub code: String,
    pub name: String,
    /// 0..1.
    pub area_coverage: f64,
    /// WGS-84.
    pub uncovered: MultiPolygon<f64>,
    /// Bounds of `uncovered`; `None` when the grid is fully covered.
    pub bounds: Option<Rect<f64>>,
    computed: Instant,
    live: bool,
}

impl GridCover {
    pub fn new(
        code: String,
        name: String,
        area_coverage: f64,
        uncovered: MultiPolygon<f64>,
        live: bool,
    ) -> GridCover {
        let bounds = geo::BoundingRect::bounding_rect(&uncovered);
        GridCover {
            code,
            name,
            area_coverage,
            uncovered,
            bounds,
            computed: Instant::now(),
            live,
        }
    }

    fn fresh(&self) -> bool {
        let ttl = if self.live { LIVE_TTL } else { CLOSED_TTL };
        self.computed.elapsed() < ttl
    }

    fn weight(&self) -> u32 {
        let vertices: usize = self
            .uncovered
            .0
            .iter()
            .map(|p| p.exterior().0.len() + p.interiors().iter().map(|r| r.0.len()).sum::<usize>())
            .sum();
        u32::try_from(vertices * 16 + 256).unwrap_or(u32::MAX)
    }
}

/// See the module docs.
pub struct CoverageCache {
    entries: Cache<Key, Arc<GridCover>>,
    version: AtomicU64,
    /// Computations take turns: the tiles of one view arrive together and mostly need the same grids.
    pub compute_lock: tokio::sync::Mutex<()>,
}

impl Default for CoverageCache {
    fn default() -> Self {
        CoverageCache {
            entries: Cache::builder()
                .max_capacity(CAPACITY_BYTES)
                .weigher(|_, v: &Arc<GridCover>| v.weight())
                .time_to_live(CLOSED_TTL)
                .build(),
            version: AtomicU64::new(0),
            compute_lock: tokio::sync::Mutex::new(()),
        }
    }
}

impl CoverageCache {
    /// New fixes were stored: earlier entries no longer count.
    pub fn fixes_changed(&self) {
        self.version.fetch_add(1, Ordering::AcqRel);
    }

    /// The current fixes version (read it before reading fixes, so a concurrent batch is never missed).
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    pub fn get(
        &self,
        window: WindowKey,
        generation: u64,
        version: u64,
        grid: AreaId,
    ) -> Option<Arc<GridCover>> {
        self.entries
            .get(&Key {
                window,
                generation,
                version,
                grid,
            })
            .filter(|c| c.fresh())
    }

    pub fn insert(
        &self,
        window: WindowKey,
        generation: u64,
        version: u64,
        grid: AreaId,
        cover: Arc<GridCover>,
    ) {
        self.entries.insert(
            Key {
                window,
                generation,
                version,
                grid,
            },
            cover,
        );
    }
}
