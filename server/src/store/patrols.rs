//! Patrol fixes: [`PatrolStore`] over each backend's [`PatrolSql`] (GeoPackage reads them as one JSON row,
//! PostGIS as rows).
//! Schema: `migrations/*/0005_patrols.sql`.
//!
//! Fixes are stored raw and deduplicated on `(worker, at)` (`ON CONFLICT DO NOTHING`), times to the
//! millisecond on both backends.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use geo_types::{Coord, Rect};
use gridmap_core::Fix;

use super::backend::Backend;
use super::{PatrolStore, StoreError};

/// One GPS fix as stored: WGS-84, accuracy when the phone reported one.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFix {
    /// The worker's id: their phone number on the roster.
    pub worker: String,
    /// Kept to the millisecond.
    pub at: DateTime<Utc>,
    /// WGS-84 lon/lat.
    pub point: Coord<f64>,
    /// Reported horizontal accuracy radius in metres; `None` when not reported.
    pub accuracy_m: Option<f64>,
}

impl StoredFix {
    /// The fix for cleaning. An unreported accuracy counts as 0 m: the accuracy test cannot judge it, and the
    /// spike and speed tests still apply.
    pub fn to_fix(&self) -> Fix {
        Fix {
            worker: self.worker.clone(),
            at: self.at,
            point: self.point,
            accuracy_m: self.accuracy_m.unwrap_or(0.0),
        }
    }
}

/// Which stored fixes to read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FixQuery {
    pub from: DateTime<Utc>,
    /// Exclusive.
    pub to: DateTime<Utc>,
    /// Only workers with at least one fix in this lon/lat box during the window (all their fixes of the
    /// window, so that cleaning sees whole tracks); `None`: every worker.
    pub near: Option<Rect<f64>>,
}

/// A worker with fixes in a window: how many and the first and last times.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerFixes {
    pub worker: String,
    pub fixes: u64,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
}

/// The patrols' SQL on one backend.
#[async_trait]
pub(crate) trait PatrolSql: Send {
    /// Inserts `fixes`, skipping those whose `(worker, at)` is already stored (also within `fixes`); returns
    /// how many were new.
    async fn insert_fixes(&mut self, fixes: &[StoredFix]) -> Result<u64, StoreError>;
    async fn fixes(&mut self, query: &FixQuery) -> Result<Vec<StoredFix>, StoreError>;
    async fn recent(
        &mut self,
        since: DateTime<Utc>,
        per_worker: u32,
    ) -> Result<Vec<StoredFix>, StoreError>;
    /// `(worker, count, first, last)` by worker.
    async fn workers(
        &mut self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(String, i64, DateTime<Utc>, DateTime<Utc>)>, StoreError>;
    async fn worker_fixes(
        &mut self,
        worker: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<StoredFix>, StoreError>;
}

#[async_trait]
impl<B> PatrolStore for B
where
    B: Backend,
    B::Conn: PatrolSql,
{
    async fn insert_fixes(&self, fixes: &[StoredFix]) -> Result<u64, StoreError> {
        let mut tx = self.pool().begin().await?;
        let inserted = tx.insert_fixes(fixes).await?;
        tx.commit().await?;
        Ok(inserted)
    }

    async fn patrol_fixes(&self, query: &FixQuery) -> Result<Vec<StoredFix>, StoreError> {
        self.pool().acquire().await?.fixes(query).await
    }

    async fn recent_fixes(
        &self,
        since: DateTime<Utc>,
        per_worker: u32,
    ) -> Result<Vec<StoredFix>, StoreError> {
        self.pool().acquire().await?.recent(since, per_worker).await
    }

    async fn patrol_workers(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<WorkerFixes>, StoreError> {
        let rows = self.pool().acquire().await?.workers(from, to).await?;
        Ok(rows
            .into_iter()
            .map(|(worker, n, first, last)| WorkerFixes {
                worker,
                fixes: n.unsigned_abs(),
                first,
                last,
            })
            .collect())
    }

    async fn worker_fixes(
        &self,
        worker: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<StoredFix>, StoreError> {
        let mut conn = self.pool().acquire().await?;
        conn.worker_fixes(worker, from, to).await
    }
}
