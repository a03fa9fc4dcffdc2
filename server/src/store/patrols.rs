//! Patrol fixes on both backends: the SQL behind [`GridStore`](super::GridStore)'s patrol methods.
//! Schema: `migrations/*/0005_patrols.sql`.
//!
//! Fixes are stored raw and deduplicated on `(worker, at)` (`ON CONFLICT DO NOTHING`), times to the
//! millisecond on both backends.

use chrono::{DateTime, Utc};
use geo_types::{Coord, Geometry, Point, Rect};
use geozero::wkb::{FromWkb, WkbDialect};
use geozero::{CoordDimensions, ToWkb};
use gridmap_core::Fix;
use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;
use sqlx::{QueryBuilder, Sqlite};

use super::StoreError;
use super::common::{POSTGRES_BATCH_ROWS, SQLITE_BATCH_ROWS, geometry_error, stored_time};

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

/// GeoPackage `DATETIME` text; fixed width, so text order is time order.
fn gpkg_time(at: DateTime<Utc>) -> String {
    stored_time(at).format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn parse_gpkg_time(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Invalid(format!("patrol fix has invalid time `{text}`: {e}")))
}

/// GeoPackage binary of a point (no envelope: the spec calls it pointless for points).
fn gpkg_point(fix: &StoredFix) -> Result<Vec<u8>, StoreError> {
    Geometry::Point(Point(fix.point))
        .to_gpkg_wkb(CoordDimensions::xy(), Some(4326), Vec::new())
        .map_err(|e| geometry_error(&fix.worker, &e))
}

/// Inserts fixes, skipping those whose `(worker, at)` is already stored (also within `fixes`), in one
/// transaction; returns how many were new.
pub(crate) async fn gpkg_insert(pool: &SqlitePool, fixes: &[StoredFix]) -> Result<u64, StoreError> {
    let blobs = fixes
        .iter()
        .map(gpkg_point)
        .collect::<Result<Vec<_>, _>>()?;
    let rows: Vec<(&StoredFix, Vec<u8>)> = fixes.iter().zip(blobs).collect();
    let mut tx = pool.begin().await?;
    let mut inserted = 0;
    for chunk in rows.chunks(SQLITE_BATCH_ROWS) {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO patrol_fixes (worker, at, lon, lat, accuracy_m, geom) ",
        );
        insert.push_values(chunk, |mut row, (fix, blob)| {
            row.push_bind(fix.worker.as_str())
                .push_bind(gpkg_time(fix.at))
                .push_bind(fix.point.x)
                .push_bind(fix.point.y)
                .push_bind(fix.accuracy_m)
                .push_bind(blob.as_slice());
        });
        insert.push(" ON CONFLICT (worker, at) DO NOTHING");
        inserted += insert.build().execute(&mut *tx).await?.rows_affected();
    }
    tx.commit().await?;
    Ok(inserted)
}

/// Rows of `(worker, at, hex(geom), accuracy_m)` as SQLite's JSON: sqlx hands SQLite rows over one at a
/// time (~5 µs each), which dominated reading a day of fixes. The point travels as its GeoPackage blob in
/// hex because SQLite's JSON prints reals with 15 significant digits (the accuracy, a reported estimate,
/// does go through that).
type FixRow = (String, String, String, Option<f64>);

fn hex_bytes(text: &str) -> Option<Vec<u8>> {
    let digits = text.as_bytes();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks(2)
        .map(|pair| {
            let high = char::from(pair[0]).to_digit(16)?;
            let low = char::from(pair[1]).to_digit(16)?;
            u8::try_from(high * 16 + low).ok()
        })
        .collect()
}

fn point_from_hex(worker: &str, text: &str) -> Result<Coord<f64>, StoreError> {
    let bytes = hex_bytes(text).ok_or_else(|| {
        StoreError::Invalid(format!("patrol fix of `{worker}`: bad geometry hex"))
    })?;
    match Geometry::from_wkb(&mut &bytes[..], WkbDialect::Geopackage)
        .map_err(|e| geometry_error(worker, &e))?
    {
        Geometry::Point(p) => Ok(p.0),
        _ => Err(StoreError::Geometry {
            code: worker.to_owned(),
            reason: "a patrol fix is not a point".to_owned(),
        }),
    }
}

fn fixes_from_json(json: &str) -> Result<Vec<StoredFix>, StoreError> {
    let rows: Vec<FixRow> = serde_json::from_str(json)
        .map_err(|e| StoreError::Invalid(format!("patrol fix rows: {e}")))?;
    rows.into_iter()
        .map(|(worker, at, geom, accuracy_m)| {
            Ok(StoredFix {
                at: parse_gpkg_time(&at)?,
                point: point_from_hex(&worker, &geom)?,
                worker,
                accuracy_m,
            })
        })
        .collect()
}

/// The window's fixes (see [`FixQuery`]), by worker then time.
pub(crate) async fn gpkg_fixes(
    pool: &SqlitePool,
    query: &FixQuery,
) -> Result<Vec<StoredFix>, StoreError> {
    let (from, to) = (gpkg_time(query.from), gpkg_time(query.to));
    let json: String = match query.near {
        None => sqlx::query_scalar(
            "SELECT coalesce(json_group_array(json_array(worker, at, hex(geom), accuracy_m)), '[]') \
                 FROM (SELECT * FROM patrol_fixes WHERE at >= ?1 AND at < ?2 ORDER BY worker, at)",
        )
        .bind(from)
        .bind(to)
        .fetch_one(pool)
        .await?,
        Some(r) => sqlx::query_scalar(
            "SELECT coalesce(json_group_array(json_array(worker, at, hex(geom), accuracy_m)), '[]') \
                 FROM (SELECT * FROM patrol_fixes WHERE at >= ?1 AND at < ?2 AND worker IN \
                       (SELECT DISTINCT worker FROM patrol_fixes WHERE at >= ?1 AND at < ?2 \
                        AND lon BETWEEN ?3 AND ?5 AND lat BETWEEN ?4 AND ?6) \
                       ORDER BY worker, at)",
        )
        .bind(from)
        .bind(to)
        .bind(r.min().x)
        .bind(r.min().y)
        .bind(r.max().x)
        .bind(r.max().y)
        .fetch_one(pool)
        .await?,
    };
    fixes_from_json(&json)
}

/// Each worker's last `per_worker` fixes at or after `since`, by worker then time.
pub(crate) async fn gpkg_recent(
    pool: &SqlitePool,
    since: DateTime<Utc>,
    per_worker: u32,
) -> Result<Vec<StoredFix>, StoreError> {
    let json: String = sqlx::query_scalar(
        "SELECT coalesce(json_group_array(json_array(worker, at, hex(geom), accuracy_m)), '[]') \
         FROM (SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY worker ORDER BY at DESC) AS k \
                              FROM patrol_fixes WHERE at >= ?1) \
               WHERE k <= ?2 ORDER BY worker, at)",
    )
    .bind(gpkg_time(since))
    .bind(i64::from(per_worker))
    .fetch_one(pool)
    .await?;
    fixes_from_json(&json)
}

/// See [`gpkg_insert`].
pub(crate) async fn pg_insert(pool: &PgPool, fixes: &[StoredFix]) -> Result<u64, StoreError> {
    let mut tx = pool.begin().await?;
    let mut inserted = 0;
    for chunk in fixes.chunks(POSTGRES_BATCH_ROWS) {
        inserted += sqlx::query(
            "INSERT INTO patrol_fixes (worker, at, accuracy_m, geom) \
             SELECT worker, at, accuracy_m, ST_SetSRID(ST_MakePoint(lon, lat), 4326) \
             FROM UNNEST($1::text[], $2::timestamptz[], $3::float8[], $4::float8[], $5::float8[]) \
                  AS t(worker, at, lon, lat, accuracy_m) \
             ON CONFLICT (worker, at) DO NOTHING",
        )
        .bind(chunk.iter().map(|f| f.worker.as_str()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|f| stored_time(f.at)).collect::<Vec<_>>())
        .bind(chunk.iter().map(|f| f.point.x).collect::<Vec<_>>())
        .bind(chunk.iter().map(|f| f.point.y).collect::<Vec<_>>())
        .bind(chunk.iter().map(|f| f.accuracy_m).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    tx.commit().await?;
    Ok(inserted)
}

type PgFixRow = (String, DateTime<Utc>, f64, f64, Option<f64>);

fn fixes_from_pg(rows: Vec<PgFixRow>) -> Vec<StoredFix> {
    rows.into_iter()
        .map(|(worker, at, x, y, accuracy_m)| StoredFix {
            worker,
            at,
            point: Coord { x, y },
            accuracy_m,
        })
        .collect()
}

/// See [`gpkg_fixes`].
pub(crate) async fn pg_fixes(
    pool: &PgPool,
    query: &FixQuery,
) -> Result<Vec<StoredFix>, StoreError> {
    let rows: Vec<PgFixRow> = match query.near {
        None => {
            sqlx::query_as(
                "SELECT worker, at, ST_X(geom), ST_Y(geom), accuracy_m FROM patrol_fixes \
                 WHERE at >= $1 AND at < $2 ORDER BY worker, at",
            )
            .bind(query.from)
            .bind(query.to)
            .fetch_all(pool)
            .await?
        }
        Some(r) => {
            sqlx::query_as(
                "SELECT worker, at, ST_X(geom), ST_Y(geom), accuracy_m FROM patrol_fixes \
                 WHERE at >= $1 AND at < $2 AND worker IN \
                       (SELECT DISTINCT worker FROM patrol_fixes WHERE at >= $1 AND at < $2 \
                        AND geom && ST_MakeEnvelope($3, $4, $5, $6, 4326)) \
                 ORDER BY worker, at",
            )
            .bind(query.from)
            .bind(query.to)
            .bind(r.min().x)
            .bind(r.min().y)
            .bind(r.max().x)
            .bind(r.max().y)
            .fetch_all(pool)
            .await?
        }
    };
    Ok(fixes_from_pg(rows))
}

/// See [`gpkg_recent`].
pub(crate) async fn pg_recent(
    pool: &PgPool,
    since: DateTime<Utc>,
    per_worker: u32,
) -> Result<Vec<StoredFix>, StoreError> {
    let rows: Vec<PgFixRow> = sqlx::query_as(
        "SELECT worker, at, x, y, accuracy_m FROM \
           (SELECT worker, at, ST_X(geom) AS x, ST_Y(geom) AS y, accuracy_m, \
                   row_number() OVER (PARTITION BY worker ORDER BY at DESC) AS k \
            FROM patrol_fixes WHERE at >= $1) t \
         WHERE k <= $2 ORDER BY worker, at",
    )
    .bind(since)
    .bind(i64::from(per_worker))
    .fetch_all(pool)
    .await?;
    Ok(fixes_from_pg(rows))
}

/// A worker with fixes in a window: how many and the first and last times.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerFixes {
    pub worker: String,
    pub fixes: u64,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
}

/// Workers with fixes in `[from, to)`, by worker.
pub(crate) async fn gpkg_workers(
    pool: &SqlitePool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<WorkerFixes>, StoreError> {
    let rows: Vec<(String, i64, String, String)> = sqlx::query_as(
        "SELECT worker, count(*), min(at), max(at) FROM patrol_fixes \
         WHERE at >= ?1 AND at < ?2 GROUP BY worker ORDER BY worker",
    )
    .bind(gpkg_time(from))
    .bind(gpkg_time(to))
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|(worker, n, first, last)| {
            Ok(WorkerFixes {
                worker,
                fixes: n.unsigned_abs(),
                first: parse_gpkg_time(&first)?,
                last: parse_gpkg_time(&last)?,
            })
        })
        .collect()
}

/// One worker's fixes in `[from, to)`, by time.
pub(crate) async fn gpkg_worker_fixes(
    pool: &SqlitePool,
    worker: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<StoredFix>, StoreError> {
    let json: String = sqlx::query_scalar(
        "SELECT coalesce(json_group_array(json_array(worker, at, hex(geom), accuracy_m)), '[]') \
         FROM (SELECT * FROM patrol_fixes WHERE worker = ?1 AND at >= ?2 AND at < ?3 ORDER BY at)",
    )
    .bind(worker)
    .bind(gpkg_time(from))
    .bind(gpkg_time(to))
    .fetch_one(pool)
    .await?;
    fixes_from_json(&json)
}

/// See [`gpkg_workers`].
pub(crate) async fn pg_workers(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<WorkerFixes>, StoreError> {
    let rows: Vec<(String, i64, DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
        "SELECT worker, count(*), min(at), max(at) FROM patrol_fixes \
         WHERE at >= $1 AND at < $2 GROUP BY worker ORDER BY worker",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?;
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

/// See [`gpkg_worker_fixes`].
pub(crate) async fn pg_worker_fixes(
    pool: &PgPool,
    worker: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<StoredFix>, StoreError> {
    let rows: Vec<PgFixRow> = sqlx::query_as(
        "SELECT worker, at, ST_X(geom), ST_Y(geom), accuracy_m FROM patrol_fixes \
         WHERE worker = $1 AND at >= $2 AND at < $3 ORDER BY at",
    )
    .bind(worker)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?;
    Ok(fixes_from_pg(rows))
}
