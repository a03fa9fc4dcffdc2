//! History, the same on both backends over each backend's [`HistorySql`]: [`HistoryStore`]'s time-travel
//! methods (`areas_at`, `area_version`, `change_instants`).
//!
//! Areas are versioned rows (`migrations/*/0002_gridmap_layers.sql`): a version is valid from `valid_from`
//! (included) to `valid_to` (excluded, unset while current). Times are kept to the millisecond by gridmap; an
//! editor may store finer ones in PostGIS, which compare correctly all the same.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use geozero::wkb::WkbDialect;
use gridmap_core::{Area, StaffMember};

use super::backend::Backend;
use super::changes::{LogReader, load_staff};
use super::common::{AreaRow, area_from_row};
use super::{AreaVersion, HistoryStore, StoreError};

/// The history's SQL on one backend.
#[async_trait]
pub(crate) trait HistorySql: LogReader {
    /// Rows of the versions valid at `at`, in stored order.
    async fn rows_at(&mut self, at: DateTime<Utc>) -> Result<Vec<AreaAtRow>, StoreError>;
    /// Rows of every version of `code` (or version `only`), by version.
    async fn version_rows(
        &mut self,
        code: &str,
        only: Option<i64>,
    ) -> Result<Vec<VersionRow>, StoreError>;
    /// Every `valid_from` and `valid_to` ([`INSTANTS_SQL`]).
    async fn instants(&mut self) -> Result<Vec<DateTime<Utc>>, StoreError>;
}

/// Every instant a version began or ended; sorted again after reading, as an editor's times may not sort
/// as text.
pub(crate) const INSTANTS_SQL: &str = "SELECT t FROM (SELECT valid_from AS t FROM areas UNION \
     SELECT valid_to FROM areas WHERE valid_to IS NOT NULL) AS instants ORDER BY t";

/// A row of [`AreaRow`] followed by "is this version current".
pub(crate) type AreaAtRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Vec<u8>,
    bool,
);

/// `AreaRow` + version, valid from, valid to, author, reason.
pub(crate) type VersionRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Vec<u8>,
    i64,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    String,
    String,
);

fn areas_from_rows(
    dialect: WkbDialect,
    rows: Vec<AreaAtRow>,
    mut staff: HashMap<String, Vec<StaffMember>>,
) -> Result<Vec<Area>, StoreError> {
    rows.into_iter()
        .map(|(code, name, level, kind, parent, geom, current)| {
            let row: AreaRow = (code, name, level, kind, parent, geom);
            let mut area = area_from_row(dialect, row)?;
            if current {
                area.staff = staff.remove(&area.code).unwrap_or_default();
            }
            Ok(area)
        })
        .collect()
}

fn version_from_row(
    dialect: WkbDialect,
    row: VersionRow,
    staff: &mut HashMap<String, Vec<StaffMember>>,
) -> Result<AreaVersion, StoreError> {
    let (code, name, level, kind, parent, geom, version, valid_from, valid_to, author, reason) =
        row;
    let mut area = area_from_row(dialect, (code, name, level, kind, parent, geom))?;
    // Staff is not versioned: it belongs to the current version only.
    if valid_to.is_none() {
        area.staff = staff.remove(&area.code).unwrap_or_default();
    }
    Ok(AreaVersion {
        area,
        version,
        valid_from,
        valid_to,
        author,
        reason,
    })
}

/// Every version of `code` (or only version `only`), by version: `area_history` and `area_version`.
async fn versions<B>(
    store: &B,
    code: &str,
    only: Option<i64>,
) -> Result<Vec<AreaVersion>, StoreError>
where
    B: Backend,
    B::Conn: HistorySql,
{
    let mut tx = store.read().await?;
    let rows = tx.version_rows(code, only).await?;
    let mut staff = load_staff(&mut *tx, Some(&[code.to_owned()])).await?;
    tx.commit().await?;
    rows.into_iter()
        .map(|row| version_from_row(B::Conn::GEOMETRY, row, &mut staff))
        .collect()
}

#[async_trait]
impl<B> HistoryStore for B
where
    B: Backend,
    B::Conn: HistorySql,
{
    async fn area_history(&self, code: &str) -> Result<Vec<AreaVersion>, StoreError> {
        versions(self, code, None).await
    }

    async fn areas_at(&self, at: DateTime<Utc>) -> Result<Vec<Area>, StoreError> {
        let mut tx = self.read().await?;
        let rows = tx.rows_at(at).await?;
        let staff = load_staff(&mut *tx, None).await?;
        tx.commit().await?;
        areas_from_rows(B::Conn::GEOMETRY, rows, staff)
    }

    async fn area_version(
        &self,
        code: &str,
        version: i64,
    ) -> Result<Option<AreaVersion>, StoreError> {
        Ok(versions(self, code, Some(version)).await?.pop())
    }

    async fn change_instants(&self) -> Result<Vec<DateTime<Utc>>, StoreError> {
        let mut instants = self.pool().acquire().await?.instants().await?;
        instants.sort_unstable();
        instants.dedup();
        Ok(instants)
    }
}
