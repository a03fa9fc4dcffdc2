//! The embedded store: one GeoPackage file (SQLite) that GDAL and QGIS open as it is.
//!
//! Geometries are GeoPackage binary (header with `srs_id` 4326 and envelope, then little-endian
//! WKB); times are `DATETIME` text. Schema and the reasons for it: `migrations/gpkg/`. sqlx keeps its
//! bookkeeping in `_sqlx_migrations`; GDAL neither lists nor warns about it because it is not registered in
//! `gpkg_contents` (the GeoPackage spec allows unregistered tables).

mod areas;
mod history;
mod patrols;
mod plans;
mod reports;

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use geo::BoundingRect;
use geo_types::Geometry;
use geozero::{CoordDimensions, ToWkb};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteQueryResult,
};
use sqlx::{Arguments, Sqlite, SqliteConnection, Transaction};

use super::StoreError;
use super::backend::{Arg, Backend, Dialect};
use super::common::{geometry_error, stored_time};

static MIGRATOR: Migrator = sqlx::migrate!("../migrations/gpkg");

/// SRS of every layer: WGS-84 lon/lat.
const SRS_ID: i32 = 4326;

/// A GeoPackage file holding the grid tree, its history, staff, addresses and roads.
#[derive(Debug, Clone)]
pub struct GpkgStore {
    pool: SqlitePool,
    path: PathBuf,
}

impl GpkgStore {
    /// Opens (or, with `create_if_missing`, creates) the file and brings its schema up to date.
    pub async fn open(path: impl AsRef<Path>, create_if_missing: bool) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(create_if_missing)
            // A rollback journal keeps the GeoPackage one self-contained file (no -wal/-shm).
            .journal_mode(SqliteJournalMode::Delete)
            .foreign_keys(true)
            // Readers wait while a large write commits instead of failing.
            .busy_timeout(Duration::from_mins(1));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool, path })
    }

    /// The file this store writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes every connection, e.g. before another program opens the file for writing.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[async_trait]
impl Backend for GpkgStore {
    type Db = Sqlite;
    type Conn = SqliteConnection;
    const NAME: &'static str = "gpkg";

    fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    async fn read(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        // A read transaction holds SQLite's shared lock: every statement in it sees the same file.
        Ok(self.pool.begin().await?)
    }

    async fn locked(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

/// GeoPackage `DATETIME`: ISO 8601 UTC with milliseconds (gridmap's stored precision). Fixed width, so text
/// order is time order.
pub(crate) fn time_text(at: DateTime<Utc>) -> String {
    stored_time(at).format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// A `DATETIME` read as text (inside JSON rows).
pub(crate) fn parse_time(what: &str, text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Invalid(format!("{what} has invalid time `{text}`: {e}")))
}

/// GeoPackage binary of a geometry; the envelope (minx, maxx, miny, maxy) lets readers skip
/// decoding, so it is written for everything but points (where the spec says it is pointless).
pub(crate) fn blob(what: &str, geometry: &Geometry<f64>) -> Result<Vec<u8>, StoreError> {
    let envelope = match geometry {
        Geometry::Point(_) => Vec::new(),
        _ => geometry
            .bounding_rect()
            .map(|r| vec![r.min().x, r.max().x, r.min().y, r.max().y])
            .unwrap_or_default(),
    };
    geometry
        .to_gpkg_wkb(CoordDimensions::xy(), Some(SRS_ID), envelope)
        .map_err(|e| geometry_error(what, &e))
}

/// Values bound by number: SQL written with `$n` runs here as `?n`.
fn arguments<'q>(args: Vec<Arg>) -> Result<SqliteArguments<'q>, StoreError> {
    let mut out = SqliteArguments::default();
    for arg in args {
        match arg {
            Arg::Int(v) => out.add(v),
            Arg::Real(v) => out.add(v),
            Arg::Text(v) => out.add(v),
            Arg::Time(v) => out.add(v.map(time_text)),
            Arg::Blob(v) => out.add(v),
            Arg::Ints(v) => out.add(json_codes(&v)?),
            Arg::Texts(v) => out.add(json_codes(&v)?),
        }
        .map_err(|e| StoreError::Invalid(format!("a value to bind: {e}")))?;
    }
    Ok(out)
}

/// SQL with `$n` placeholders as SQLite numbers them.
fn numbered(sql: &str) -> String {
    sql.replace('$', "?")
}

impl Dialect for Sqlite {
    /// `BEGIN IMMEDIATE` has locked the whole file already.
    const ROW_LOCK: &'static str = "";

    fn in_list(column: &str, placeholder: &str) -> String {
        format!("{column} IN (SELECT value FROM json_each({placeholder}))")
    }

    fn numbered(sql: &str) -> Cow<'_, str> {
        Cow::Owned(numbered(sql))
    }

    fn arguments<'q>(args: Vec<Arg>) -> Result<SqliteArguments<'q>, StoreError>
    where
        Self: 'q,
    {
        arguments(args)
    }

    fn rows_affected(done: &SqliteQueryResult) -> u64 {
        done.rows_affected()
    }
}

/// `codes` as one JSON array for `json_each`: no bound-parameter limit.
pub(crate) fn json_codes<T: serde::Serialize + ?Sized>(codes: &T) -> Result<String, StoreError> {
    serde_json::to_string(codes).map_err(|e| StoreError::Invalid(format!("codes: {e}")))
}
