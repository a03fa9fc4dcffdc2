//! The embedded store: one GeoPackage file (SQLite) that GDAL and QGIS open as it is.
//!
//! Geometries are GeoPackage binary (header with `srs_id` 4326 and envelope, then little-endian
//! WKB). Schema and the reasons for it: `migrations/gpkg/`. sqlx keeps its bookkeeping in
//! `_sqlx_migrations`; GDAL neither lists nor warns about it because it is not registered in
//! `gpkg_contents` (the GeoPackage spec allows unregistered tables).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use geo::BoundingRect;
use geo_types::{Geometry, Point, Rect};
use geozero::wkb::{FromWkb, WkbDialect};
use geozero::{CoordDimensions, ToWkb};
use gridmap_core::{
    Address, Area, City, ExcludedGround, ExcludedKind, GridKind, Report, Road, StaffMember,
};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::common::{
    AreaRow, ExcludedRow, SQLITE_BATCH_ROWS, area_from_row, check_excluded_kind, decode_linestring,
    excluded_from_row, geometry_error, group_staff, oriented_excluded, oriented_geometry,
    parse_role, stored_time,
};
use super::report_rows::{
    EVENT_COLUMNS, EventRow, REPORT_COLUMNS, ReportRow, assemble, chain_json, enum_name,
    events_after, staff_columns,
};
use super::{
    AreaVersion, ChangeNote, CityChanges, GridStore, InsertOutcome, ReportFilter, StoreError,
    WriteOutcome,
};

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

/// GeoPackage `DATETIME`: ISO 8601 UTC with milliseconds.
pub(super) fn gpkg_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

pub(super) fn parse_time(code: &str, text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Invalid(format!("area `{code}` has invalid time `{text}`: {e}")))
}

/// GeoPackage binary of a geometry; the envelope (minx, maxx, miny, maxy) lets readers skip
/// decoding, so it is written for everything but points (where the spec says it is pointless).
fn gpkg_blob(what: &str, geometry: &Geometry<f64>) -> Result<Vec<u8>, StoreError> {
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

fn decode_point(what: &str, bytes: &[u8]) -> Result<Point<f64>, StoreError> {
    match Geometry::from_wkb(&mut &bytes[..], WkbDialect::Geopackage)
        .map_err(|e| geometry_error(what, &e))?
    {
        Geometry::Point(point) => Ok(point),
        _ => Err(StoreError::Geometry {
            code: what.to_owned(),
            reason: "expected a point".to_owned(),
        }),
    }
}

/// Grows `extent` to cover `geometry`.
fn extend(extent: &mut Option<Rect<f64>>, geometry: &Geometry<f64>) {
    if let Some(r) = geometry.bounding_rect() {
        *extent = Some(match *extent {
            None => r,
            Some(e) => Rect::new(
                (e.min().x.min(r.min().x), e.min().y.min(r.min().y)),
                (e.max().x.max(r.max().x), e.max().y.max(r.max().y)),
            ),
        });
    }
}

/// Records the change time and widens the layer's extent in `gpkg_contents`, which GDAL and
/// QGIS read instead of scanning the layer.
pub(super) async fn touch_contents(
    conn: &mut SqliteConnection,
    table: &str,
    at: &str,
    extent: Option<Rect<f64>>,
) -> Result<(), StoreError> {
    match extent {
        None => {
            sqlx::query("UPDATE gpkg_contents SET last_change = ?1 WHERE table_name = ?2")
                .bind(at)
                .bind(table)
                .execute(&mut *conn)
                .await?;
        }
        Some(r) => {
            sqlx::query(
                "UPDATE gpkg_contents SET last_change = ?1, \
                 min_x = min(coalesce(min_x, ?2), ?2), min_y = min(coalesce(min_y, ?3), ?3), \
                 max_x = max(coalesce(max_x, ?4), ?4), max_y = max(coalesce(max_y, ?5), ?5) \
                 WHERE table_name = ?6",
            )
            .bind(at)
            .bind(r.min().x)
            .bind(r.min().y)
            .bind(r.max().x)
            .bind(r.max().y)
            .bind(table)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// Staff of every area (or of the areas `codes` only), grouped by area code, in stored order.
pub(super) async fn load_staff(
    conn: &mut SqliteConnection,
    codes: Option<&[String]>,
) -> Result<HashMap<String, Vec<StaffMember>>, StoreError> {
    // The codes as one JSON array: no bound-parameter limit.
    let codes = codes
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| StoreError::Invalid(format!("codes: {e}")))?;
    // One JSON row instead of a row per member: sqlx hands SQLite rows over one at a time
    // (~5 µs each), which dominated loading a 100,000-area city.
    let json: String = sqlx::query_scalar(
        "SELECT coalesce(json_group_array(json_array(fid, area_code, role, name, phone)), '[]') \
         FROM staff WHERE ?1 IS NULL OR area_code IN (SELECT value FROM json_each(?1))",
    )
    .bind(codes)
    .fetch_one(&mut *conn)
    .await?;
    staff_from_json(&json)
}

/// Staff rows as `json_group_array(json_array(fid, area_code, role, name, phone))`, grouped by area.
fn staff_from_json(json: &str) -> Result<HashMap<String, Vec<StaffMember>>, StoreError> {
    let mut rows: Vec<(i64, String, String, String, String)> =
        serde_json::from_str(json).map_err(|e| StoreError::Invalid(format!("staff rows: {e}")))?;
    // Stored order, which is the order written.
    rows.sort_by_key(|row| row.0);
    let members = rows
        .into_iter()
        .map(|(_, code, role, name, phone)| {
            let role = parse_role(&code, &role)?;
            Ok((code, StaffMember { name, phone, role }))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(group_staff(members))
}

/// A city's geometries as GeoPackage binary, and each layer's extent.
struct Encoded {
    areas: Vec<Vec<u8>>,
    addresses: Vec<Vec<u8>>,
    roads: Vec<Vec<u8>>,
    excluded: EncodedAreas,
    area_extent: Option<Rect<f64>>,
    address_extent: Option<Rect<f64>>,
    road_extent: Option<Rect<f64>>,
}

/// Geometries as GeoPackage binary, and their extent.
pub(super) type EncodedAreas = (Vec<Vec<u8>>, Option<Rect<f64>>);

/// Areas' geometries as GeoPackage binary, and their extent.
pub(super) fn encode_areas(areas: &[Area]) -> Result<EncodedAreas, StoreError> {
    let mut extent = None;
    let blobs = areas
        .iter()
        .map(|area| {
            let geometry = oriented_geometry(area)?;
            extend(&mut extent, &geometry);
            gpkg_blob(&area.code, &geometry)
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok((blobs, extent))
}

/// Excluded ground's geometries as GeoPackage binary, and their extent.
fn encode_excluded(ground: &[ExcludedGround]) -> Result<EncodedAreas, StoreError> {
    let mut extent = None;
    let blobs = oriented_excluded(ground)?
        .iter()
        .zip(ground)
        .map(|(geometry, g)| {
            extend(&mut extent, geometry);
            gpkg_blob(&g.name, geometry)
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok((blobs, extent))
}

impl Encoded {
    fn new(city: &City) -> Result<Self, StoreError> {
        let (areas, area_extent) = encode_areas(&city.areas)?;
        let mut address_extent = None;
        let addresses = city
            .addresses
            .iter()
            .map(|a| {
                let geometry = Geometry::Point(a.point);
                extend(&mut address_extent, &geometry);
                gpkg_blob(&a.full, &geometry)
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let mut road_extent = None;
        let roads = city
            .roads
            .iter()
            .map(|r| {
                let geometry = Geometry::LineString(r.geometry.clone());
                extend(&mut road_extent, &geometry);
                gpkg_blob(&r.name, &geometry)
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Self {
            areas,
            addresses,
            roads,
            excluded: encode_excluded(&city.excluded)?,
            area_extent,
            address_extent,
            road_extent,
        })
    }
}

/// Closes the current version of each of `codes` (`valid_to = at`) and drops their staff, which belongs to
/// the current version; returns the closed versions by code (codes without a current version are skipped).
pub(super) async fn close_current(
    conn: &mut SqliteConnection,
    codes: &[&str],
    at: &str,
) -> Result<HashMap<String, i64>, StoreError> {
    let codes = serde_json::to_string(codes).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let closed: HashMap<String, i64> = sqlx::query_as(
        "UPDATE areas SET valid_to = ?1 \
         WHERE valid_to IS NULL AND code IN (SELECT value FROM json_each(?2)) \
         RETURNING code, version",
    )
    .bind(at)
    .bind(&codes)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .collect();
    sqlx::query("DELETE FROM staff WHERE area_code IN (SELECT value FROM json_each(?1))")
        .bind(&codes)
        .execute(&mut *conn)
        .await?;
    Ok(closed)
}

/// New versions: 1 for new codes, one more than the version just closed otherwise.
pub(super) async fn insert_areas(
    conn: &mut SqliteConnection,
    areas: &[Area],
    blobs: &[Vec<u8>],
    closed: &HashMap<String, i64>,
    at: &str,
    note: &ChangeNote,
) -> Result<(), StoreError> {
    let rows: Vec<(&Area, &Vec<u8>)> = areas.iter().zip(blobs).collect();
    for chunk in rows.chunks(SQLITE_BATCH_ROWS) {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO areas (code, name, level, kind, parent_code, version, valid_from, \
             author, reason, geom) ",
        );
        insert.push_values(chunk, |mut row, (area, blob)| {
            row.push_bind(area.code.as_str())
                .push_bind(area.name.as_str())
                .push_bind(area.level.as_str())
                .push_bind(area.kind.map(GridKind::as_str))
                .push_bind(area.parent.as_deref())
                .push_bind(closed.get(&area.code).map_or(1, |v| v + 1))
                .push_bind(at)
                .push_bind(note.author.as_str())
                .push_bind(note.reason.as_str())
                .push_bind(blob.as_slice());
        });
        insert.build().execute(&mut *conn).await?;
    }
    Ok(())
}

pub(super) async fn insert_staff(
    conn: &mut SqliteConnection,
    areas: &[Area],
) -> Result<(), StoreError> {
    let staff: Vec<(&str, &StaffMember)> = areas
        .iter()
        .flat_map(|a| a.staff.iter().map(move |m| (a.code.as_str(), m)))
        .collect();
    for chunk in staff.chunks(SQLITE_BATCH_ROWS) {
        let mut insert =
            QueryBuilder::<Sqlite>::new("INSERT INTO staff (area_code, role, name, phone) ");
        insert.push_values(chunk, |mut row, (code, member)| {
            row.push_bind(*code)
                .push_bind(member.role.as_str())
                .push_bind(member.name.as_str())
                .push_bind(member.phone.as_str());
        });
        insert.build().execute(&mut *conn).await?;
    }
    Ok(())
}

async fn insert_addresses(
    conn: &mut SqliteConnection,
    city: &City,
    blobs: &[Vec<u8>],
) -> Result<(), StoreError> {
    let rows: Vec<(&Address, &Vec<u8>)> = city.addresses.iter().zip(blobs).collect();
    for chunk in rows.chunks(SQLITE_BATCH_ROWS) {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO addresses (full_address, road, number, building, geom) ",
        );
        insert.push_values(chunk, |mut row, (address, blob)| {
            row.push_bind(address.full.as_str())
                .push_bind(address.road.as_str())
                .push_bind(address.number.as_str())
                .push_bind(address.building.as_str())
                .push_bind(blob.as_slice());
        });
        insert.build().execute(&mut *conn).await?;
    }
    Ok(())
}

async fn insert_roads(
    conn: &mut SqliteConnection,
    city: &City,
    blobs: &[Vec<u8>],
) -> Result<(), StoreError> {
    let rows: Vec<(&Road, &Vec<u8>)> = city.roads.iter().zip(blobs).collect();
    for chunk in rows.chunks(SQLITE_BATCH_ROWS) {
        let mut insert = QueryBuilder::<Sqlite>::new("INSERT INTO roads (name, class, geom) ");
        insert.push_values(chunk, |mut row, (road, blob)| {
            row.push_bind(road.name.as_str())
                .push_bind(road.class.as_str())
                .push_bind(blob.as_slice());
        });
        insert.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Deletes the excluded ground of `kind`; returns how many pieces.
async fn delete_excluded(
    conn: &mut SqliteConnection,
    kind: ExcludedKind,
) -> Result<u64, StoreError> {
    Ok(sqlx::query("DELETE FROM excluded WHERE kind = ?1")
        .bind(kind.as_str())
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

async fn insert_excluded(
    conn: &mut SqliteConnection,
    ground: &[ExcludedGround],
    blobs: &[Vec<u8>],
) -> Result<(), StoreError> {
    let rows: Vec<(&ExcludedGround, &Vec<u8>)> = ground.iter().zip(blobs).collect();
    for chunk in rows.chunks(SQLITE_BATCH_ROWS) {
        let mut insert = QueryBuilder::<Sqlite>::new("INSERT INTO excluded (name, kind, geom) ");
        insert.push_values(chunk, |mut row, (g, blob)| {
            row.push_bind(g.name.as_str())
                .push_bind(g.kind.as_str())
                .push_bind(blob.as_slice());
        });
        insert.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// The current version of every area (or of `codes` only), with staff, in stored order.
pub(super) async fn load_current_areas(
    conn: &mut SqliteConnection,
    codes: Option<&[String]>,
) -> Result<Vec<Area>, StoreError> {
    let rows: Vec<AreaRow> = match codes {
        None => {
            sqlx::query_as(
                "SELECT code, name, level, kind, parent_code, geom FROM areas \
                 WHERE valid_to IS NULL ORDER BY fid",
            )
            .fetch_all(&mut *conn)
            .await?
        }
        Some(codes) => {
            let codes = serde_json::to_string(codes)
                .map_err(|e| StoreError::Invalid(format!("codes: {e}")))?;
            sqlx::query_as(
                "SELECT code, name, level, kind, parent_code, geom FROM areas \
                 WHERE valid_to IS NULL AND code IN (SELECT value FROM json_each(?1)) ORDER BY fid",
            )
            .bind(&codes)
            .fetch_all(&mut *conn)
            .await?
        }
    };
    let mut staff = load_staff(conn, codes).await?;
    rows.into_iter()
        .map(|row| {
            let mut area = area_from_row(WkbDialect::Geopackage, row)?;
            area.staff = staff.remove(&area.code).unwrap_or_default();
            Ok(area)
        })
        .collect()
}

/// Every address, in stored order.
pub(super) async fn load_addresses(
    conn: &mut SqliteConnection,
) -> Result<Vec<Address>, StoreError> {
    let rows: Vec<(String, String, String, String, Vec<u8>)> = sqlx::query_as(
        "SELECT full_address, road, number, building, geom FROM addresses ORDER BY fid",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|(full, road, number, building, geom)| {
            Ok(Address {
                point: decode_point(&full, &geom)?,
                full,
                road,
                number,
                building,
            })
        })
        .collect()
}

/// Every road, in stored order.
pub(super) async fn load_roads(conn: &mut SqliteConnection) -> Result<Vec<Road>, StoreError> {
    let rows: Vec<(String, String, Vec<u8>)> =
        sqlx::query_as("SELECT name, class, geom FROM roads ORDER BY fid")
            .fetch_all(&mut *conn)
            .await?;
    rows.into_iter()
        .map(|(name, class, geom)| {
            Ok(Road {
                geometry: decode_linestring(&name, &geom, WkbDialect::Geopackage)?,
                name,
                class,
            })
        })
        .collect()
}

/// All excluded ground, in stored order.
pub(super) async fn load_excluded(
    conn: &mut SqliteConnection,
) -> Result<Vec<ExcludedGround>, StoreError> {
    let rows: Vec<ExcludedRow> =
        sqlx::query_as("SELECT name, kind, geom FROM excluded ORDER BY fid")
            .fetch_all(&mut *conn)
            .await?;
    rows.into_iter()
        .map(|row| excluded_from_row(WkbDialect::Geopackage, row))
        .collect()
}

#[async_trait]
impl GridStore for GpkgStore {
    fn backend(&self) -> &'static str {
        "gpkg"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn is_empty(&self) -> Result<bool, StoreError> {
        let any: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM areas)")
            .fetch_one(&self.pool)
            .await?;
        Ok(!any)
    }

    async fn load_city(&self) -> Result<City, StoreError> {
        super::changes::gpkg_load_city(&self.pool).await
    }

    async fn changes_since(&self, since: i64) -> Result<CityChanges, StoreError> {
        super::changes::gpkg_changes_since(&self.pool, since).await
    }

    async fn write_city(&self, city: &City, note: &ChangeNote) -> Result<WriteOutcome, StoreError> {
        let at = gpkg_time(stored_time(note.at));
        // Encode everything first: a bad geometry fails before the file is touched.
        let encoded = Encoded::new(city)?;
        let codes: Vec<&str> = city.areas.iter().map(|a| a.code.as_str()).collect();

        // Dropping `tx` on any error below rolls everything back.
        let mut tx = self.pool.begin().await?;
        let closed = close_current(&mut tx, &codes, &at).await?;
        insert_areas(&mut tx, &city.areas, &encoded.areas, &closed, &at, note).await?;
        insert_staff(&mut tx, &city.areas).await?;
        insert_addresses(&mut tx, city, &encoded.addresses).await?;
        insert_roads(&mut tx, city, &encoded.roads).await?;
        insert_excluded(&mut tx, &city.excluded, &encoded.excluded.0).await?;

        if !city.areas.is_empty() {
            touch_contents(&mut tx, "areas", &at, encoded.area_extent).await?;
            touch_contents(&mut tx, "staff", &at, None).await?;
        }
        if !city.addresses.is_empty() {
            touch_contents(&mut tx, "addresses", &at, encoded.address_extent).await?;
        }
        if !city.roads.is_empty() {
            touch_contents(&mut tx, "roads", &at, encoded.road_extent).await?;
        }
        if !city.excluded.is_empty() {
            touch_contents(&mut tx, "excluded", &at, encoded.excluded.1).await?;
        }
        tx.commit().await?;
        Ok(WriteOutcome {
            inserted: city.areas.len(),
            superseded: closed.len(),
        })
    }

    async fn replace_excluded(
        &self,
        kind: ExcludedKind,
        ground: &[ExcludedGround],
    ) -> Result<u64, StoreError> {
        check_excluded_kind(kind, ground)?;
        let (blobs, extent) = encode_excluded(ground)?;
        let mut tx = self.pool.begin().await?;
        let removed = delete_excluded(&mut tx, kind).await?;
        insert_excluded(&mut tx, ground, &blobs).await?;
        let at = gpkg_time(stored_time(Utc::now()));
        touch_contents(&mut tx, "excluded", &at, extent).await?;
        tx.commit().await?;
        Ok(removed)
    }

    async fn area_history(&self, code: &str) -> Result<Vec<AreaVersion>, StoreError> {
        super::history::gpkg_versions(&self.pool, code, None).await
    }

    async fn data_version(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT version FROM gridmap_data_version WHERE id = 1")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn insert_report(&self, report: &Report) -> Result<InsertOutcome, StoreError> {
        let mut tx = self.pool.begin().await?;
        let Some(id) = Self::insert_report_row(&mut tx, report).await? else {
            tx.rollback().await?;
            return match self.report_by_client_id(&report.client_id).await? {
                Some(existing) => Ok(InsertOutcome::Existing(Box::new(existing))),
                None => Err(StoreError::Invalid(format!(
                    "report `{}` conflicted but cannot be read",
                    report.client_id
                ))),
            };
        };
        insert_events(&mut tx, id, report, 0).await?;
        touch_contents(
            &mut tx,
            "reports",
            &gpkg_time(stored_time(report.received_at)),
            Some(Rect::new(report.point, report.point)),
        )
        .await?;
        tx.commit().await?;
        Ok(InsertOutcome::Created(id))
    }

    async fn report(&self, id: i64) -> Result<Option<Report>, StoreError> {
        let mut query =
            QueryBuilder::new(format!("SELECT {REPORT_COLUMNS} FROM reports WHERE id = "));
        query.push_bind(id);
        Ok(fetch_reports(&self.pool, &mut query, false)
            .await?
            .into_iter()
            .next())
    }

    async fn reports(&self, filter: &ReportFilter) -> Result<Vec<Report>, StoreError> {
        let mut query = QueryBuilder::new(format!("SELECT {REPORT_COLUMNS} FROM reports WHERE 1"));
        if let Some([west, south, east, north]) = filter.bbox {
            query
                .push(" AND lon >= ")
                .push_bind(west)
                .push(" AND lon <= ")
                .push_bind(east)
                .push(" AND lat >= ")
                .push_bind(south)
                .push(" AND lat <= ")
                .push_bind(north);
        }
        if let Some(stage) = filter.stage {
            query.push(" AND stage = ").push_bind(stage.as_str());
        }
        if let Some(prefix) = &filter.area_prefix {
            query
                .push(" AND substr(area_code, 1, ")
                .push_bind(prefix.chars().count() as i64)
                .push(") = ")
                .push_bind(prefix.clone());
        }
        if let Some(now) = filter.overdue_at {
            // Text comparison of DATETIME values in one format is time comparison.
            query
                .push(" AND stage <> 'closed' AND deadline < ")
                .push_bind(gpkg_time(stored_time(now)));
        }
        if let Some(by) = filter.received_by {
            query
                .push(" AND received_at <= ")
                .push_bind(gpkg_time(stored_time(by)));
        }
        query.push(" ORDER BY id DESC");
        if let Some(limit) = filter.limit {
            query.push(" LIMIT ").push_bind(limit as i64);
        }
        fetch_reports(&self.pool, &mut query, false).await
    }

    async fn all_reports(&self) -> Result<Vec<Report>, StoreError> {
        let mut query =
            QueryBuilder::new(format!("SELECT {REPORT_COLUMNS} FROM reports ORDER BY id"));
        fetch_reports(&self.pool, &mut query, true).await
    }

    async fn save_transition(
        &self,
        report: &Report,
        expected_version: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE reports SET stage = ?1, area_code = ?2, level = ?3, assignee = ?4, stage_since = ?5, \
             deadline = ?6, closed_at = ?7, version = ?8 WHERE id = ?9 AND version = ?10",
        )
        .bind(report.stage.as_str())
        .bind(report.area_code.as_str())
        .bind(report.level.as_str())
        .bind(report.assignee.as_deref())
        .bind(gpkg_time(stored_time(report.stage_since)))
        .bind(gpkg_time_opt(report.deadline))
        .bind(gpkg_time_opt(report.closed_at))
        .bind(report.version)
        .bind(report.id)
        .bind(expected_version)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        let stored_seq: i64 = sqlx::query_scalar(
            "SELECT coalesce(max(seq), 0) FROM report_events WHERE report_id = ?1",
        )
        .bind(report.id)
        .fetch_one(&mut *tx)
        .await?;
        insert_events(&mut tx, report.id, report, stored_seq).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn report_notifications(
        &self,
    ) -> Result<Option<tokio::sync::mpsc::Receiver<i64>>, StoreError> {
        // Only this process writes the file: the server announces its own changes.
        Ok(None)
    }

    async fn insert_fixes(&self, fixes: &[super::StoredFix]) -> Result<u64, StoreError> {
        super::patrols::gpkg_insert(&self.pool, fixes).await
    }

    async fn patrol_fixes(
        &self,
        query: &super::FixQuery,
    ) -> Result<Vec<super::StoredFix>, StoreError> {
        super::patrols::gpkg_fixes(&self.pool, query).await
    }

    async fn recent_fixes(
        &self,
        since: DateTime<Utc>,
        per_worker: u32,
    ) -> Result<Vec<super::StoredFix>, StoreError> {
        super::patrols::gpkg_recent(&self.pool, since, per_worker).await
    }

    async fn patrol_workers(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<super::WorkerFixes>, StoreError> {
        super::patrols::gpkg_workers(&self.pool, from, to).await
    }

    async fn worker_fixes(
        &self,
        worker: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<super::StoredFix>, StoreError> {
        super::patrols::gpkg_worker_fixes(&self.pool, worker, from, to).await
    }

    async fn areas_at(&self, at: DateTime<Utc>) -> Result<Vec<gridmap_core::Area>, StoreError> {
        super::history::gpkg_areas_at(&self.pool, at).await
    }

    async fn area_version(
        &self,
        code: &str,
        version: i64,
    ) -> Result<Option<AreaVersion>, StoreError> {
        Ok(
            super::history::gpkg_versions(&self.pool, code, Some(version))
                .await?
                .pop(),
        )
    }

    async fn change_instants(&self) -> Result<Vec<DateTime<Utc>>, StoreError> {
        super::history::gpkg_change_instants(&self.pool).await
    }

    async fn change_notifications(
        &self,
    ) -> Result<Option<tokio::sync::mpsc::Receiver<i64>>, StoreError> {
        Ok(None) // another process writing the file is noticed by polling the data version
    }

    async fn insert_plan(&self, plan: &super::StoredPlan) -> Result<i64, StoreError> {
        super::plans::gpkg_insert(&self.pool, plan).await
    }

    async fn plan(&self, id: i64) -> Result<Option<super::StoredPlan>, StoreError> {
        super::plans::gpkg_get(&self.pool, id).await
    }

    async fn plans(&self) -> Result<Vec<super::StoredPlan>, StoreError> {
        super::plans::gpkg_list(&self.pool).await
    }

    async fn update_plan(
        &self,
        plan: &super::StoredPlan,
        expected_version: i64,
    ) -> Result<bool, StoreError> {
        super::plans::gpkg_update(&self.pool, plan, expected_version).await
    }

    async fn current_versions(
        &self,
        codes: &[String],
    ) -> Result<std::collections::BTreeMap<String, i64>, StoreError> {
        super::plans::gpkg_current_versions(&self.pool, codes).await
    }

    async fn commit_plan(
        &self,
        commit: &super::PlanCommit<'_>,
    ) -> Result<super::CommitOutcome, StoreError> {
        super::plans::gpkg_commit(&self.pool, commit).await
    }
}

/// `Option<DateTime>` as GeoPackage `DATETIME` text.
fn gpkg_time_opt(at: Option<DateTime<Utc>>) -> Option<String> {
    at.map(|t| gpkg_time(stored_time(t)))
}

/// Inserts the report's events after `stored_seq`.
async fn insert_events(
    conn: &mut SqliteConnection,
    id: i64,
    report: &Report,
    stored_seq: i64,
) -> Result<(), StoreError> {
    for event in events_after(report, stored_seq) {
        sqlx::query(
            "INSERT INTO report_events (report_id, seq, at, actor, action, from_stage, to_stage, reason, \
             area_code, assignee, deadline) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )
        .bind(id)
        .bind(i64::from(event.seq))
        .bind(gpkg_time(stored_time(event.at)))
        .bind(event.actor.as_str())
        .bind(enum_name(&event.action))
        .bind(enum_name(&event.from))
        .bind(enum_name(&event.to))
        .bind(event.reason.as_deref())
        .bind(event.area_code.as_str())
        .bind(event.assignee.as_deref())
        .bind(gpkg_time_opt(event.deadline))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Reports selected by `sql` (which selects [`REPORT_COLUMNS`]) with their events, in one read transaction.
async fn fetch_reports(
    pool: &SqlitePool,
    query: &mut QueryBuilder<'_, Sqlite>,
    all_events: bool,
) -> Result<Vec<Report>, StoreError> {
    let mut tx = pool.begin().await?;
    let rows: Vec<ReportRow> = query.build_query_as().fetch_all(&mut *tx).await?;
    let events: Vec<EventRow> = if all_events {
        sqlx::query_as(&format!(
            "SELECT {EVENT_COLUMNS} FROM report_events ORDER BY report_id, seq"
        ))
        .fetch_all(&mut *tx)
        .await?
    } else if rows.is_empty() {
        Vec::new()
    } else {
        let ids = serde_json::to_string(&rows.iter().map(|r| r.id).collect::<Vec<_>>())
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        sqlx::query_as(&format!(
            "SELECT {EVENT_COLUMNS} FROM report_events \
             WHERE report_id IN (SELECT value FROM json_each(?1)) ORDER BY report_id, seq"
        ))
        .bind(ids)
        .fetch_all(&mut *tx)
        .await?
    };
    tx.commit().await?;
    assemble(rows, events)
}

impl GpkgStore {
    async fn insert_report_row(
        conn: &mut SqliteConnection,
        report: &Report,
    ) -> Result<Option<i64>, StoreError> {
        let geom = gpkg_blob(&report.client_id, &Geometry::Point(Point(report.point)))?;
        let (leader_name, leader_phone, leader_role) = staff_columns(report.leader.as_ref());
        let (handler_name, handler_phone, handler_role) = staff_columns(report.handler.as_ref());
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO reports (client_id, channel, category, description, reporter, reported_at, \
             received_at, lon, lat, input_crs, input_lon, input_lat, route_area_code, route_level, route_rule, \
             route_distance_m, route_micro_grid_code, route_chain, leader_name, leader_phone, leader_role, \
             handler_name, handler_phone, handler_role, handler_reason, stage, area_code, level, assignee, \
             stage_since, deadline, closed_at, version, geom) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, \
             ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34) \
             ON CONFLICT (client_id) DO NOTHING RETURNING id",
        )
        .bind(report.client_id.as_str())
        .bind(report.channel.as_str())
        .bind(report.category.code())
        .bind(report.description.as_str())
        .bind(report.reporter.as_deref())
        .bind(gpkg_time(stored_time(report.reported_at)))
        .bind(gpkg_time(stored_time(report.received_at)))
        .bind(report.point.x)
        .bind(report.point.y)
        .bind(report.input_crs.as_str())
        .bind(report.input_point.x)
        .bind(report.input_point.y)
        .bind(report.route.area_code.as_str())
        .bind(report.route.level.as_str())
        .bind(report.route.rule.as_str())
        .bind(report.route.distance_m)
        .bind(report.route.micro_grid_code.as_deref())
        .bind(chain_json(&report.route))
        .bind(leader_name)
        .bind(leader_phone)
        .bind(leader_role)
        .bind(handler_name)
        .bind(handler_phone)
        .bind(handler_role)
        .bind(report.handler_reason.as_str())
        .bind(report.stage.as_str())
        .bind(report.area_code.as_str())
        .bind(report.level.as_str())
        .bind(report.assignee.as_deref())
        .bind(gpkg_time(stored_time(report.stage_since)))
        .bind(gpkg_time_opt(report.deadline))
        .bind(gpkg_time_opt(report.closed_at))
        .bind(report.version)
        .bind(geom)
        .fetch_optional(&mut *conn)
        .await?;
        Ok(id)
    }

    async fn report_by_client_id(&self, client_id: &str) -> Result<Option<Report>, StoreError> {
        let mut query = QueryBuilder::new(format!(
            "SELECT {REPORT_COLUMNS} FROM reports WHERE client_id = "
        ));
        query.push_bind(client_id);
        Ok(fetch_reports(&self.pool, &mut query, false)
            .await?
            .into_iter()
            .next())
    }
}
