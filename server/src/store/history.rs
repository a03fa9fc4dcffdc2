//! History on both backends: the SQL behind [`GridStore`](super::GridStore)'s time-travel methods
//! (`areas_at`, `area_version`, `change_instants`) and the PostGIS change feed (`LISTEN gridmap_changes`).
//!
//! Areas are versioned rows (`migrations/*/0002_gridmap_layers.sql`): a version is valid from `valid_from`
//! (included) to `valid_to` (excluded, unset while current). Times are kept to the millisecond by gridmap; an
//! editor may store finer ones in PostGIS, which compare correctly all the same.

use chrono::{DateTime, Utc};
use geozero::wkb::WkbDialect;
use gridmap_core::Area;
use sqlx::postgres::{PgListener, PgPool};
use sqlx::sqlite::SqlitePool;

use super::common::{AreaRow, area_from_row, stored_time};
use super::gpkg::parse_time;
use super::{AreaVersion, CHANGES_CHANNEL, StoreError};

/// GeoPackage `DATETIME` text at gridmap's stored precision; fixed width, so text order is time order.
fn gpkg_time(at: DateTime<Utc>) -> String {
    super::gpkg::gpkg_time(stored_time(at))
}

/// A row of [`AreaRow`] followed by "is this version current".
type AreaAtRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Vec<u8>,
    bool,
);

/// `AreaRow` + version, valid from, valid to, author, reason (times as the backend returns them).
type VersionRow<T> = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Vec<u8>,
    i64,
    T,
    Option<T>,
    String,
    String,
);

fn areas_from_rows(
    dialect: WkbDialect,
    rows: Vec<AreaAtRow>,
    mut staff: std::collections::HashMap<String, Vec<gridmap_core::StaffMember>>,
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

pub(crate) async fn pg_areas_at(pool: &PgPool, at: DateTime<Utc>) -> Result<Vec<Area>, StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let rows: Vec<AreaAtRow> = sqlx::query_as(
        "SELECT code, name, level, kind, parent_code, ST_AsBinary(geom), valid_to IS NULL FROM areas \
         WHERE valid_from <= $1 AND (valid_to IS NULL OR valid_to > $1) ORDER BY fid",
    )
    .bind(at)
    .fetch_all(&mut *tx)
    .await?;
    let staff = super::postgis::load_staff(&mut tx, None).await?;
    tx.commit().await?;
    areas_from_rows(WkbDialect::Wkb, rows, staff)
}

pub(crate) async fn gpkg_areas_at(
    pool: &SqlitePool,
    at: DateTime<Utc>,
) -> Result<Vec<Area>, StoreError> {
    let mut tx = pool.begin().await?;
    let rows: Vec<AreaAtRow> = sqlx::query_as(
        "SELECT code, name, level, kind, parent_code, geom, valid_to IS NULL FROM areas \
         WHERE valid_from <= ?1 AND (valid_to IS NULL OR valid_to > ?1) ORDER BY fid",
    )
    .bind(gpkg_time(at))
    .fetch_all(&mut *tx)
    .await?;
    let staff = super::gpkg::load_staff(&mut tx, None).await?;
    tx.commit().await?;
    areas_from_rows(WkbDialect::Geopackage, rows, staff)
}

fn version_from_row<T>(
    dialect: WkbDialect,
    row: VersionRow<T>,
    staff: &mut std::collections::HashMap<String, Vec<gridmap_core::StaffMember>>,
    time: impl Fn(&str, T) -> Result<DateTime<Utc>, StoreError>,
) -> Result<AreaVersion, StoreError> {
    let (code, name, level, kind, parent, geom, version, from, to, author, reason) = row;
    let valid_from = time(&code, from)?;
    let valid_to = to.map(|t| time(&code, t)).transpose()?;
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
pub(crate) async fn pg_versions(
    pool: &PgPool,
    code: &str,
    only: Option<i64>,
) -> Result<Vec<AreaVersion>, StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let rows: Vec<VersionRow<DateTime<Utc>>> = sqlx::query_as(
        "SELECT code, name, level, kind, parent_code, ST_AsBinary(geom), version, valid_from, \
         valid_to, author, reason FROM areas WHERE code = $1 AND ($2::bigint IS NULL OR version = $2) \
         ORDER BY version",
    )
    .bind(code)
    .bind(only)
    .fetch_all(&mut *tx)
    .await?;
    let mut staff = super::postgis::load_staff(&mut tx, Some(&[code.to_owned()])).await?;
    tx.commit().await?;
    rows.into_iter()
        .map(|row| version_from_row(WkbDialect::Wkb, row, &mut staff, |_, t| Ok(t)))
        .collect()
}

/// As [`pg_versions`], on the GeoPackage.
pub(crate) async fn gpkg_versions(
    pool: &SqlitePool,
    code: &str,
    only: Option<i64>,
) -> Result<Vec<AreaVersion>, StoreError> {
    let mut tx = pool.begin().await?;
    let rows: Vec<VersionRow<String>> = sqlx::query_as(
        "SELECT code, name, level, kind, parent_code, geom, version, valid_from, valid_to, \
         author, reason FROM areas WHERE code = ?1 AND (?2 IS NULL OR version = ?2) ORDER BY version",
    )
    .bind(code)
    .bind(only)
    .fetch_all(&mut *tx)
    .await?;
    let mut staff = super::gpkg::load_staff(&mut tx, Some(&[code.to_owned()])).await?;
    tx.commit().await?;
    rows.into_iter()
        .map(|row| {
            version_from_row(WkbDialect::Geopackage, row, &mut staff, |c, t| {
                parse_time(c, &t)
            })
        })
        .collect()
}

const INSTANTS_SQL: &str = "SELECT t FROM (SELECT valid_from AS t FROM areas UNION \
     SELECT valid_to FROM areas WHERE valid_to IS NOT NULL) AS instants ORDER BY t";

pub(crate) async fn pg_change_instants(pool: &PgPool) -> Result<Vec<DateTime<Utc>>, StoreError> {
    Ok(sqlx::query_scalar(INSTANTS_SQL).fetch_all(pool).await?)
}

pub(crate) async fn gpkg_change_instants(
    pool: &SqlitePool,
) -> Result<Vec<DateTime<Utc>>, StoreError> {
    let texts: Vec<String> = sqlx::query_scalar(INSTANTS_SQL).fetch_all(pool).await?;
    let mut instants = texts
        .iter()
        .map(|t| parse_time("(a version)", t))
        .collect::<Result<Vec<_>, _>>()?;
    // Text order is time order for gridmap's own fixed-width times; an editor's may differ.
    instants.sort_unstable();
    instants.dedup();
    Ok(instants)
}

/// `LISTEN gridmap_changes`: the data version each notification carries (`{"table", "data_version"}`).
pub(crate) async fn pg_change_notifications(
    pool: &PgPool,
) -> Result<tokio::sync::mpsc::Receiver<i64>, StoreError> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANGES_CHANNEL).await?;
    let (tx, rx) = tokio::sync::mpsc::channel(256);
    tokio::spawn(async move {
        loop {
            // `recv` reconnects after a lost connection; an error means it could not.
            match listener.recv().await {
                Ok(notification) => {
                    let version = serde_json::from_str::<serde_json::Value>(notification.payload())
                        .ok()
                        .and_then(|v| v["data_version"].as_i64());
                    let Some(version) = version else {
                        tracing::warn!(payload = notification.payload(), "odd change notification");
                        continue;
                    };
                    // A full channel means a reload is already due: dropping this one loses nothing.
                    match tx.try_send(version) {
                        Ok(()) | Err(tokio::sync::mpsc::error::TrySendError::Full(_)) => {}
                        Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) => break,
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "change notifications stopped; polling only");
                    break;
                }
            }
        }
    });
    Ok(rx)
}
