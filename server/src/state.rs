//! Shared state: the store and the in-memory snapshot that every hot path reads.
//!
//! A snapshot is immutable; a change (import now, edits later) builds a new one and swaps it in atomically,
//! so a request sees either the old city or the new one, never a mix.

use std::sync::Arc;

use arc_swap::ArcSwap;
use chrono::{DateTime, Utc};
use gridmap_core::{RoutingPolicy, TimeLimits, WorkCalendar};
use tokio::sync::Mutex;

use crate::clock::{Clock, SystemClock, stored_now};
use crate::report_feed::ReportFeed;
pub use crate::snapshot::Snapshot;
use crate::store::{CityChanges, GridStore, StoreError};
use crate::tile_cache::{TileCache, TileChanges};
use crate::time_travel::{CityAt, TimeTravel};

/// Limits of the API, with named defaults.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Most points in one `POST /v1/locate`.
    pub max_batch_points: usize,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Tile cache size in bytes; 0 disables the cache.
    pub tile_cache_bytes: u64,
    /// Base URL written into `TileJSON` tile URLs (e.g. `https://maps.example.org`); without it, the
    /// request's `Host` header is used.
    pub public_url: Option<String>,
    /// XYZ raster URL template of an optional background map for the web page.
    pub basemap_url: Option<String>,
    /// Attribution shown with that basemap.
    pub basemap_attribution: Option<String>,
    /// Routing, working calendar and time limits of reports.
    pub reports: ReportSettings,
    /// Validation thresholds of plans (`--plan-*`); a plan's own `rules` override them.
    pub plan_rules: gridmap_core::plan::ValidationRules,
}

/// How reports are routed and timed; each part can be loaded from a JSON file (`--routing-policy`,
/// `--calendar`, `--time-limits`), with core's documented defaults.
#[derive(Debug, Clone, Default)]
pub struct ReportSettings {
    pub policy: RoutingPolicy,
    pub calendar: WorkCalendar,
    pub limits: TimeLimits,
}

/// Longest description of a report, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 2000;
/// How far in the future a report's `reported_at` may be (client clocks drift).
pub const MAX_CLOCK_SKEW: chrono::Duration = chrono::Duration::minutes(5);
/// A worker's last position counts for the staff choice while it is at most this old.
pub const ON_DUTY_WINDOW: chrono::Duration = chrono::Duration::minutes(30);

/// Default for [`ApiConfig::max_batch_points`].
pub const DEFAULT_MAX_BATCH_POINTS: usize = 100_000;
/// Default for [`ApiConfig::max_body_bytes`]: room for 100,000 points as a GeoJSON FeatureCollection.
pub const DEFAULT_MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
/// Default for [`ApiConfig::tile_cache_bytes`], in MiB.
pub const DEFAULT_TILE_CACHE_MB: u64 = 256;

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            max_batch_points: DEFAULT_MAX_BATCH_POINTS,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            tile_cache_bytes: DEFAULT_TILE_CACHE_MB * 1024 * 1024,
            public_url: None,
            basemap_url: None,
            basemap_attribution: None,
            reports: ReportSettings::default(),
            plan_rules: gridmap_core::plan::ValidationRules::default(),
        }
    }
}

/// How long a store health check stays valid.
pub const STORE_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

pub struct AppState {
    pub store: Arc<dyn GridStore>,
    pub config: ApiConfig,
    snapshot: ArcSwap<Snapshot>,
    /// Writers take turns so that two imports never interleave their reload.
    write_lock: Mutex<()>,
    /// Snapshot replacements take turns, so the tile cache is carried over from each snapshot to the next.
    replace_lock: Mutex<()>,
    pub tile_cache: Arc<TileCache>,
    /// Grid workers' latest positions (patrol fixes), for the on-duty staff choice of report routing.
    pub positions: crate::positions::Positions,
    /// When the store last answered a health check, and whether it did (see [`AppState::store_up`]).
    store_checked: std::sync::Mutex<Option<(std::time::Instant, bool)>>,
    /// The time for reports: intake, deadlines, escalation.
    pub clock: Arc<dyn Clock>,
    /// Live report updates for server-sent events.
    pub feed: ReportFeed,
    /// Per-grid patrol coverage for the `coverage` tile layer.
    pub coverage_cache: crate::coverage_cache::CoverageCache,
    /// Historical indexes for `at=` requests.
    pub time_travel: TimeTravel,
}

impl AppState {
    /// Loads the city from the store and indexes it.
    pub async fn load(
        store: Arc<dyn GridStore>,
        config: ApiConfig,
    ) -> Result<AppState, StoreError> {
        AppState::load_with_clock(store, config, Arc::new(SystemClock)).await
    }

    /// [`AppState::load`] with another clock (tests move time forward).
    pub async fn load_with_clock(
        store: Arc<dyn GridStore>,
        config: ApiConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<AppState, StoreError> {
        let snapshot = Snapshot::load(store.as_ref()).await?;
        let tile_cache = Arc::new(TileCache::new(config.tile_cache_bytes));
        let feed = ReportFeed::start(store.clone(), clock.clone()).await?;
        let positions = crate::positions::Positions::load(store.as_ref(), clock.now()).await?;
        Ok(AppState {
            clock,
            feed,
            store,
            config,
            snapshot: ArcSwap::from_pointee(snapshot),
            write_lock: Mutex::new(()),
            replace_lock: Mutex::new(()),
            tile_cache,
            positions,
            store_checked: std::sync::Mutex::new(None),
            coverage_cache: crate::coverage_cache::CoverageCache::default(),
            time_travel: TimeTravel::default(),
        })
    }

    /// Whether the store answers, asked at most once per [`STORE_CHECK_INTERVAL`]: `/health` is polled by load
    /// balancers and must stay as cheap as HTTP itself, not cost a database round trip per request.
    pub async fn store_up(&self) -> bool {
        let fresh = self
            .store_checked
            .lock()
            .ok()
            .and_then(|checked| *checked)
            .filter(|(at, _)| at.elapsed() < STORE_CHECK_INTERVAL)
            .map(|(_, up)| up);
        if let Some(up) = fresh {
            return up;
        }
        let up = self.store.ping().await.is_ok();
        if let Ok(mut checked) = self.store_checked.lock() {
            *checked = Some((std::time::Instant::now(), up));
        }
        up
    }

    /// Now, to the millisecond the stores keep.
    pub fn now(&self) -> DateTime<Utc> {
        stored_now(self.clock.as_ref())
    }

    /// The current snapshot; cheap, lock-free.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// Brings the snapshot up to the store's data and swaps it in (see [`AppState::replace_snapshot`]). Every
    /// writer calls this after its write, before acknowledging it.
    pub async fn reload(&self) -> Result<(), StoreError> {
        let _turn = self.replace_lock.lock().await;
        self.catch_up().await.map(|_| ())
    }

    /// Reloads when the store's data version differs from the snapshot's (another process, or an editor such
    /// as QGIS, changed the data); true when it did. The watcher calls this (see `crate::watcher`).
    pub async fn reload_if_stale(&self) -> Result<bool, StoreError> {
        let stored = self.store.data_version().await?;
        if stored == self.snapshot().data_version {
            return Ok(false);
        }
        let _turn = self.replace_lock.lock().await;
        // A writer's reload may have caught up while this waited for its turn.
        if stored == self.snapshot().data_version {
            return Ok(false);
        }
        self.catch_up().await
    }

    /// Applies what changed since the snapshot's data version (the store's change log), or reloads the whole
    /// city when the log cannot tell; true when a new snapshot was swapped in. Call with `replace_lock` held.
    async fn catch_up(&self) -> Result<bool, StoreError> {
        let current = self.snapshot();
        let started = std::time::Instant::now();
        let changes = self.store.changes_since(current.data_version).await?;
        let read_ms = started.elapsed().as_millis() as u64;
        match changes {
            CityChanges::Delta(delta)
                if delta.is_empty() && delta.data_version == current.data_version =>
            {
                return Ok(false);
            }
            CityChanges::Delta(delta) => {
                let codes = delta.codes();
                let roads_changed = delta.roads.is_some();
                let (areas, version) = (codes.len(), delta.data_version);
                let base = current.clone();
                let snapshot = tokio::task::spawn_blocking(move || base.with_delta(delta))
                    .await
                    .map_err(|e| StoreError::Invalid(format!("index update failed: {e}")))?;
                let patched_ms = started.elapsed().as_millis() as u64;
                self.swap_in(Arc::new(snapshot), (!roads_changed).then_some(codes))
                    .await;
                tracing::info!(
                    changed_areas = areas,
                    data_version = version,
                    read_ms,
                    patched_ms,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "applied the store's changes to the snapshot"
                );
            }
            CityChanges::Unknown => {
                let snapshot = Snapshot::load(self.store.as_ref()).await?;
                self.swap_in(Arc::new(snapshot), None).await;
                tracing::info!(
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "reloaded the whole city"
                );
            }
        }
        Ok(true)
    }

    /// Swaps in a new snapshot and carries the tile cache over: tiles touched by areas that differ between
    /// the old and new snapshot (old and new bounding boxes) are invalidated, the rest stay cached. Once
    /// this returns, no request is answered from the old data.
    pub async fn replace_snapshot(&self, snapshot: Snapshot) {
        let _turn = self.replace_lock.lock().await;
        self.swap_in(Arc::new(snapshot), None).await;
    }

    /// `changed`: the codes of the areas that differ, when known (roads unchanged); `None` diffs everything.
    async fn swap_in(&self, new: Arc<Snapshot>, changed: Option<Vec<String>>) {
        let old = self.snapshot.swap(new.clone());
        if !self.tile_cache.enabled() {
            return;
        }
        let cache = self.tile_cache.clone();
        // Diffing 100,000 areas takes tens of milliseconds: off the async workers.
        let carried = tokio::task::spawn_blocking(move || {
            let changes = match changed {
                Some(codes) => TileChanges::of_areas(&old, &new, &codes),
                None => TileChanges::between(&old, &new),
            };
            cache.carry_over(&old, &new, &changes);
        })
        .await;
        if let Err(e) = carried {
            // Entries keep the old generation and so never hit: a panic here costs speed, not freshness.
            tracing::error!(error = %e, "tile cache carry-over failed");
        }
    }

    /// Serialises writers: hold the guard across write + reload.
    pub async fn write_guard(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.write_lock.lock().await
    }

    /// The city valid at `at` (`None`: now, the live snapshot).
    pub async fn city_at(&self, at: Option<DateTime<Utc>>) -> Result<CityAt, StoreError> {
        let snapshot = self.snapshot();
        match at {
            None => Ok(CityAt::Current(snapshot)),
            Some(at) => self.time_travel.at(self.store.as_ref(), snapshot, at).await,
        }
    }
}
