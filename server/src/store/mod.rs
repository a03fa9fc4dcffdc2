//! Stores: two backends (embedded GeoPackage, PostGIS), both through sqlx, behind one small trait per job.
//!
//! Each flow is written once (`areas`, `changes`, `history`, `reports`, `patrols`, `plans`) over a dialect
//! trait that `gpkg/` and `postgis/` implement with their SQL only; `backend.rs` joins the two halves.

mod areas;
mod backend;
mod changes;
mod common;
mod gpkg;
mod history;
mod patrols;
mod plans;
mod postgis;
mod report_rows;
mod reports;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use gridmap_core::{Address, Area, City, ExcludedGround, ExcludedKind, Report, Road, Stage};

pub use gpkg::GpkgStore;
pub use patrols::{FixQuery, StoredFix, WorkerFixes};
pub use plans::{CommitOutcome, MovedArea, PlanCommit, PlanStatus, StoredPlan};
pub use postgis::PostgisStore;

/// Channel on which PostGIS announces report changes (see `migrations/postgis/0004_reports.sql`).
pub const REPORTS_CHANNEL: &str = "gridmap_reports";
/// Channel on which PostGIS announces every change of the city's tables (see `migrations/postgis/0003_data_version.sql`).
pub const CHANGES_CHANNEL: &str = "gridmap_changes";

/// Errors of a store; internals are logged, never shown to API clients.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored geometry of `{code}` cannot be read: {reason}")]
    Geometry { code: String, reason: String },
    #[error("stored value is invalid: {0}")]
    Invalid(String),
}

impl StoreError {
    /// True when the write broke a uniqueness rule, e.g. two current areas with one code.
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::Database(e)) if e.is_unique_violation())
    }
}

/// One stored version of an area's boundary and attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaVersion {
    pub area: Area,
    pub version: i64,
    pub valid_from: DateTime<Utc>,
    pub valid_to: Option<DateTime<Utc>>,
    pub author: String,
    pub reason: String,
}

/// Who wrote a change and why, recorded with every version. Stores keep `at` to the
/// millisecond (a GeoPackage `DATETIME`'s precision), on both backends.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeNote {
    pub author: String,
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteOutcome {
    /// Area versions written (new codes and new versions of existing codes).
    pub inserted: usize,
    /// Areas whose previous version was closed (`valid_to` set) and a new version written.
    pub superseded: usize,
}

/// What [`ReportStore::insert_report`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum InsertOutcome {
    /// A new report, with the id the store gave it.
    Created(i64),
    /// A report with this client id was already stored (by this request's twin, or earlier): that one.
    Existing(Box<Report>),
}

/// Which reports [`ReportStore::reports`] returns; every condition set must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportFilter {
    /// West, south, east, north in WGS-84 degrees, edges included.
    pub bbox: Option<[f64; 4]>,
    pub stage: Option<Stage>,
    /// The responsible area's code starts with this (a community's code takes its grids' reports).
    pub area_prefix: Option<String>,
    /// Only reports not closed whose deadline is before this time.
    pub overdue_at: Option<DateTime<Utc>>,
    /// At most this many, newest first; `None` for all.
    pub limit: Option<usize>,
    /// Only reports received at or before this time.
    pub received_by: Option<DateTime<Utc>>,
}

/// What changed in the city since a snapshot (see [`AreaStore::changes_since`]).
#[derive(Debug, Clone, PartialEq)]
pub enum CityChanges {
    /// The change log does not reach back to the snapshot (or a whole layer of areas or staff was
    /// truncated, or too much changed): reload the whole city.
    Unknown,
    Delta(CityDelta),
}

/// The difference between a snapshot and the store at `data_version`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CityDelta {
    pub data_version: i64,
    /// The current version, with staff, of every changed code that has one.
    pub areas: Vec<Area>,
    /// Changed codes with no current version (retired, recoded away, deleted).
    pub removed: Vec<String>,
    /// Every address, when any changed; `None`: unchanged.
    pub addresses: Option<Vec<Address>>,
    /// Every road, when any changed; `None`: unchanged.
    pub roads: Option<Vec<Road>>,
    /// All excluded ground, when any changed; `None`: unchanged.
    pub excluded: Option<Vec<ExcludedGround>>,
}

impl CityDelta {
    /// The delta for the logged `codes`, given the current rows of those that have one.
    pub fn new(
        data_version: i64,
        codes: Vec<String>,
        areas: Vec<Area>,
        addresses: Option<Vec<Address>>,
        roads: Option<Vec<Road>>,
        excluded: Option<Vec<ExcludedGround>>,
    ) -> CityDelta {
        let current: std::collections::HashSet<&str> =
            areas.iter().map(|a| a.code.as_str()).collect();
        let removed = codes
            .into_iter()
            .filter(|c| !current.contains(c.as_str()))
            .collect();
        CityDelta {
            data_version,
            areas,
            removed,
            addresses,
            roads,
            excluded,
        }
    }

    /// The codes the delta touches: changed and removed ones.
    pub fn codes(&self) -> Vec<String> {
        self.areas
            .iter()
            .map(|a| a.code.clone())
            .chain(self.removed.iter().cloned())
            .collect()
    }

    /// True when nothing changed but (possibly) the version.
    pub fn is_empty(&self) -> bool {
        self.areas.is_empty()
            && self.removed.is_empty()
            && self.addresses.is_none()
            && self.roads.is_none()
            && self.excluded.is_none()
    }
}

/// The city now: its load and writes, and how replicas learn that it changed.
#[async_trait]
pub trait AreaStore: Send + Sync {
    /// True when no area was ever stored.
    async fn is_empty(&self) -> Result<bool, StoreError>;
    /// The current version of every area, with staff; addresses, roads and excluded ground; each in the
    /// order written (so a city written once into an empty store comes back equal).
    async fn load_city(&self) -> Result<City, StoreError>;
    /// Writes areas (a new version for codes already present; the old one is closed, never overwritten),
    /// their staff, and adds the addresses, roads and excluded ground, in one transaction: all or nothing.
    async fn write_city(&self, city: &City, note: &ChangeNote) -> Result<WriteOutcome, StoreError>;
    /// Replaces all excluded ground of `kind` with `ground` (every piece of that kind) in one transaction;
    /// returns how many pieces were removed. Other kinds are left alone, so re-importing a file is idempotent.
    async fn replace_excluded(
        &self,
        kind: ExcludedKind,
        ground: &[ExcludedGround],
    ) -> Result<u64, StoreError>;
    /// A number that grows with every write, for replicas to notice changes.
    async fn data_version(&self) -> Result<i64, StoreError>;
    /// What changed since the snapshot at data version `since`, read in one transaction from the change log
    /// (`migrations/*/0007_change_log.sql`): the current rows of the changed codes only, so a replica of a big
    /// city catches up in milliseconds rather than reloading it.
    async fn changes_since(&self, since: i64) -> Result<CityChanges, StoreError>;
    /// Data versions announced after any process (or an editor such as QGIS) changed the city, when the
    /// store can tell (PostGIS: `LISTEN gridmap_changes`); `None` otherwise (GeoPackage: poll
    /// [`AreaStore::data_version`]).
    async fn change_notifications(
        &self,
    ) -> Result<Option<tokio::sync::mpsc::Receiver<i64>>, StoreError>;
}

/// The city in the past: every area version is kept.
#[async_trait]
pub trait HistoryStore: Send + Sync {
    /// Every version of one area, oldest first. Staff is not versioned: only the current
    /// version carries it.
    async fn area_history(&self, code: &str) -> Result<Vec<AreaVersion>, StoreError>;
    /// The version of every area valid at `at`: `valid_from <= at` and (`valid_to` unset or `valid_to > at`),
    /// in stored order. Staff is not versioned: only a version that is still current carries it.
    async fn areas_at(&self, at: DateTime<Utc>) -> Result<Vec<Area>, StoreError>;
    /// One stored version of one area (staff as in [`HistoryStore::area_history`]).
    async fn area_version(
        &self,
        code: &str,
        version: i64,
    ) -> Result<Option<AreaVersion>, StoreError>;
    /// Every distinct instant at which some area version began or ended, ascending: between two of them
    /// [`HistoryStore::areas_at`] answers the same.
    async fn change_instants(&self) -> Result<Vec<DateTime<Utc>>, StoreError>;
}

/// Citizens' reports and their workflow.
#[async_trait]
pub trait ReportStore: Send + Sync {
    /// Stores a new report (its `id` is ignored) with its events, unless one with its `client_id` exists:
    /// then nothing is written and that one is returned. Safe when two requests race with one client id.
    async fn insert_report(&self, report: &Report) -> Result<InsertOutcome, StoreError>;
    /// One report with its events.
    async fn report(&self, id: i64) -> Result<Option<Report>, StoreError>;
    /// Reports matching `filter`, newest first, with their events.
    async fn reports(&self, filter: &ReportFilter) -> Result<Vec<Report>, StoreError>;
    /// Every report with its events, oldest first (indicators).
    async fn all_reports(&self) -> Result<Vec<Report>, StoreError>;
    /// Writes a transition in one transaction: the report's current state, if the stored version is still
    /// `expected_version`, and its new events. `false` (nothing written) when another writer got there first.
    async fn save_transition(
        &self,
        report: &Report,
        expected_version: i64,
    ) -> Result<bool, StoreError>;
    /// Ids of reports created or changed by any process sharing this store, when the store can tell
    /// (PostGIS: `LISTEN gridmap_reports`); `None` when only this process writes it (GeoPackage).
    async fn report_notifications(
        &self,
    ) -> Result<Option<tokio::sync::mpsc::Receiver<i64>>, StoreError>;
}

/// Workers' GPS fixes.
#[async_trait]
pub trait PatrolStore: Send + Sync {
    /// Stores raw patrol fixes in one transaction, skipping any whose `(worker, at)` is already stored (or
    /// repeated in `fixes`); returns how many were new.
    async fn insert_fixes(&self, fixes: &[StoredFix]) -> Result<u64, StoreError>;
    /// Stored fixes of a window (see [`FixQuery`]), by worker then time.
    async fn patrol_fixes(&self, query: &FixQuery) -> Result<Vec<StoredFix>, StoreError>;
    /// Each worker's last `per_worker` fixes at or after `since`, by worker then time (latest positions).
    async fn recent_fixes(
        &self,
        since: DateTime<Utc>,
        per_worker: u32,
    ) -> Result<Vec<StoredFix>, StoreError>;
    /// Workers with fixes in `[from, to)`, by worker (the track player's picker).
    async fn patrol_workers(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<WorkerFixes>, StoreError>;
    /// One worker's fixes in `[from, to)`, by time (track playback).
    async fn worker_fixes(
        &self,
        worker: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<StoredFix>, StoreError>;
}

/// Plans: drafts of boundary changes, committed as new area versions.
#[async_trait]
pub trait PlanStore: Send + Sync {
    /// Stores a new plan (its `id` is ignored); returns the id given.
    async fn insert_plan(&self, plan: &StoredPlan) -> Result<i64, StoreError>;
    /// One plan.
    async fn plan(&self, id: i64) -> Result<Option<StoredPlan>, StoreError>;
    /// Every plan, newest first.
    async fn plans(&self) -> Result<Vec<StoredPlan>, StoreError>;
    /// Rewrites a draft (name, status, edits, base versions, version, `updated_at`) if it is still a draft at
    /// `expected_version`; `false` (nothing written) otherwise.
    async fn update_plan(
        &self,
        plan: &StoredPlan,
        expected_version: i64,
    ) -> Result<bool, StoreError>;
    /// The current version of each of `codes` that has one.
    async fn current_versions(
        &self,
        codes: &[String],
    ) -> Result<std::collections::BTreeMap<String, i64>, StoreError>;
    /// Commits a plan in one transaction (see [`PlanCommit`]): checks that every expected code is still at
    /// its version, closes the changed and retired areas' current versions, inserts the changed ones as new
    /// versions (previous + 1, new codes 1) with the note's author and reason, and marks the plan committed.
    /// Nothing is written when a version moved or the plan changed.
    async fn commit_plan(&self, commit: &PlanCommit<'_>) -> Result<CommitOutcome, StoreError>;
}

/// Every job on one backend; what the server holds as `Arc<dyn GridStore>`. Methods of the job traits are
/// callable on `dyn GridStore` without importing them.
#[async_trait]
pub trait GridStore: AreaStore + HistoryStore + ReportStore + PatrolStore + PlanStore {
    /// `gpkg` or `postgis`, for logs and `/health`.
    fn backend(&self) -> &'static str;
    /// Answers when the database does.
    async fn ping(&self) -> Result<(), StoreError>;
}
