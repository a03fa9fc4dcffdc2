//! The server store: PostGIS, editable in QGIS next to gridmap. Schema: `migrations/postgis/`.
//!
//! Batches travel as arrays (`UNNEST`), a few thousand rows per statement; geometries as WKB,
//! which keeps every f64 bit.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use geo_types::{Geometry, Point};
use geozero::wkb::WkbDialect;
use geozero::{CoordDimensions, ToWkb};
use gridmap_core::{Address, City, GridKind, Road, StaffMember};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions};

use super::common::{
    AreaRow, POSTGRES_BATCH_ROWS, area_from_row, decode_linestring, geometry_error, group_staff,
    oriented_geometry, parse_role, stored_time,
};
use super::{AreaVersion, ChangeNote, GridStore, StoreError, WriteOutcome};

static MIGRATOR: Migrator = sqlx::migrate!("../migrations/postgis");

/// A PostGIS database holding the grid tree, its history, staff, addresses and roads.
#[derive(Debug, Clone)]
pub struct PostgisStore {
    pool: PgPool,
}

impl PostgisStore {
    /// Connects and brings the schema up to date (`CREATE EXTENSION IF NOT EXISTS postgis`
    /// included, so the role needs that right on a database without PostGIS).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new().max_connections(8).connect(url).await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn wkb(what: &str, geometry: &Geometry<f64>) -> Result<Vec<u8>, StoreError> {
    geometry
        .to_wkb(CoordDimensions::xy())
        .map_err(|e| geometry_error(what, &e))
}

async fn load_staff(
    conn: &mut PgConnection,
    code: Option<&str>,
) -> Result<HashMap<String, Vec<StaffMember>>, StoreError> {
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT area_code, role, name, phone FROM staff \
         WHERE $1::text IS NULL OR area_code = $1 ORDER BY fid",
    )
    .bind(code)
    .fetch_all(&mut *conn)
    .await?;
    let members = rows
        .into_iter()
        .map(|(code, role, name, phone)| {
            let role = parse_role(&code, &role)?;
            Ok((code, StaffMember { name, phone, role }))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(group_staff(members))
}

/// New versions: 1 for new codes, one more than the version just closed otherwise.
async fn insert_areas(
    conn: &mut PgConnection,
    city: &City,
    area_wkb: &[Vec<u8>],
    closed: &HashMap<String, i64>,
    at: DateTime<Utc>,
    note: &ChangeNote,
) -> Result<(), StoreError> {
    for (areas, wkbs) in city
        .areas
        .chunks(POSTGRES_BATCH_ROWS)
        .zip(area_wkb.chunks(POSTGRES_BATCH_ROWS))
    {
        let versions: Vec<i64> = areas
            .iter()
            .map(|a| closed.get(&a.code).map_or(1, |v| v + 1))
            .collect();
        sqlx::query(
            "INSERT INTO areas (code, name, level, kind, parent_code, version, valid_from, \
             author, reason, geom) \
             SELECT code, name, level, kind, parent_code, version, $7, $8, $9, \
                    ST_GeomFromWKB(wkb, 4326) \
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
                         $6::bigint[], $10::bytea[]) WITH ORDINALITY \
                  AS t(code, name, level, kind, parent_code, version, wkb, ord) \
             ORDER BY ord",
        )
        .bind(areas.iter().map(|a| a.code.as_str()).collect::<Vec<_>>())
        .bind(areas.iter().map(|a| a.name.as_str()).collect::<Vec<_>>())
        .bind(areas.iter().map(|a| a.level.as_str()).collect::<Vec<_>>())
        .bind(
            areas
                .iter()
                .map(|a| a.kind.map(GridKind::as_str))
                .collect::<Vec<_>>(),
        )
        .bind(
            areas
                .iter()
                .map(|a| a.parent.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(versions)
        .bind(at)
        .bind(note.author.as_str())
        .bind(note.reason.as_str())
        .bind(wkbs)
        .execute(&mut *conn)
        .await?;
    }

    Ok(())
}

async fn insert_staff(conn: &mut PgConnection, city: &City) -> Result<(), StoreError> {
    let staff: Vec<(&str, &StaffMember)> = city
        .areas
        .iter()
        .flat_map(|a| a.staff.iter().map(move |m| (a.code.as_str(), m)))
        .collect();
    for chunk in staff.chunks(POSTGRES_BATCH_ROWS) {
        sqlx::query(
            "INSERT INTO staff (area_code, role, name, phone) \
             SELECT area_code, role, name, phone \
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY \
                  AS t(area_code, role, name, phone, ord) \
             ORDER BY ord",
        )
        .bind(chunk.iter().map(|(code, _)| *code).collect::<Vec<_>>())
        .bind(
            chunk
                .iter()
                .map(|(_, m)| m.role.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            chunk
                .iter()
                .map(|(_, m)| m.name.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            chunk
                .iter()
                .map(|(_, m)| m.phone.as_str())
                .collect::<Vec<_>>(),
        )
        .execute(&mut *conn)
        .await?;
    }

    Ok(())
}

async fn insert_addresses(conn: &mut PgConnection, city: &City) -> Result<(), StoreError> {
    for chunk in city.addresses.chunks(POSTGRES_BATCH_ROWS) {
        sqlx::query(
            "INSERT INTO addresses (full_address, road, number, building, geom) \
             SELECT full_address, road, number, building, ST_SetSRID(ST_MakePoint(x, y), 4326) \
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], \
                         $5::float8[], $6::float8[]) WITH ORDINALITY \
                  AS t(full_address, road, number, building, x, y, ord) \
             ORDER BY ord",
        )
        .bind(chunk.iter().map(|a| a.full.as_str()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|a| a.road.as_str()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|a| a.number.as_str()).collect::<Vec<_>>())
        .bind(
            chunk
                .iter()
                .map(|a| a.building.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(chunk.iter().map(|a| a.point.x()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|a| a.point.y()).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
    }

    Ok(())
}

async fn insert_roads(
    conn: &mut PgConnection,
    city: &City,
    road_wkb: &[Vec<u8>],
) -> Result<(), StoreError> {
    for (roads, wkbs) in city
        .roads
        .chunks(POSTGRES_BATCH_ROWS)
        .zip(road_wkb.chunks(POSTGRES_BATCH_ROWS))
    {
        sqlx::query(
            "INSERT INTO roads (name, class, geom) \
             SELECT name, class, ST_GeomFromWKB(wkb, 4326) \
             FROM UNNEST($1::text[], $2::text[], $3::bytea[]) WITH ORDINALITY \
                  AS t(name, class, wkb, ord) \
             ORDER BY ord",
        )
        .bind(roads.iter().map(|r| r.name.as_str()).collect::<Vec<_>>())
        .bind(roads.iter().map(|r| r.class.as_str()).collect::<Vec<_>>())
        .bind(wkbs)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[async_trait]
impl GridStore for PostgisStore {
    fn backend(&self) -> &'static str {
        "postgis"
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
        // One snapshot for the four tables.
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        let rows: Vec<AreaRow> = sqlx::query_as(
            "SELECT code, name, level, kind, parent_code, ST_AsBinary(geom) FROM areas \
             WHERE valid_to IS NULL ORDER BY fid",
        )
        .fetch_all(&mut *tx)
        .await?;
        let mut staff = load_staff(&mut tx, None).await?;
        let address_rows: Vec<(String, String, String, String, f64, f64)> = sqlx::query_as(
            "SELECT full_address, road, number, building, ST_X(geom), ST_Y(geom) FROM addresses \
             ORDER BY fid",
        )
        .fetch_all(&mut *tx)
        .await?;
        let road_rows: Vec<(String, String, Vec<u8>)> =
            sqlx::query_as("SELECT name, class, ST_AsBinary(geom) FROM roads ORDER BY fid")
                .fetch_all(&mut *tx)
                .await?;
        tx.commit().await?;

        let areas = rows
            .into_iter()
            .map(|row| {
                let mut area = area_from_row(WkbDialect::Wkb, row)?;
                area.staff = staff.remove(&area.code).unwrap_or_default();
                Ok(area)
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let addresses = address_rows
            .into_iter()
            .map(|(full, road, number, building, x, y)| Address {
                full,
                road,
                number,
                building,
                point: Point::new(x, y),
            })
            .collect();
        let roads = road_rows
            .into_iter()
            .map(|(name, class, geom)| {
                Ok(Road {
                    geometry: decode_linestring(&name, &geom, WkbDialect::Wkb)?,
                    name,
                    class,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(City {
            areas,
            addresses,
            roads,
        })
    }

    async fn write_city(&self, city: &City, note: &ChangeNote) -> Result<WriteOutcome, StoreError> {
        let at = stored_time(note.at);
        // Encode everything first: a bad geometry fails before the database is touched.
        let area_wkb = city
            .areas
            .iter()
            .map(|area| wkb(&area.code, &oriented_geometry(area)?))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let road_wkb = city
            .roads
            .iter()
            .map(|r| wkb(&r.name, &Geometry::LineString(r.geometry.clone())))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let codes: Vec<&str> = city.areas.iter().map(|a| a.code.as_str()).collect();

        // Dropping `tx` on any error below rolls everything back.
        let mut tx = self.pool.begin().await?;
        let closed: HashMap<String, i64> = sqlx::query_as(
            "UPDATE areas SET valid_to = $1 WHERE valid_to IS NULL AND code = ANY($2) \
             RETURNING code, version",
        )
        .bind(at)
        .bind(&codes)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect();
        sqlx::query("DELETE FROM staff WHERE area_code = ANY($1)")
            .bind(&codes)
            .execute(&mut *tx)
            .await?;

        insert_areas(&mut tx, city, &area_wkb, &closed, at, note).await?;
        insert_staff(&mut tx, city).await?;
        insert_addresses(&mut tx, city).await?;
        insert_roads(&mut tx, city, &road_wkb).await?;
        tx.commit().await?;
        Ok(WriteOutcome {
            inserted: city.areas.len(),
            superseded: closed.len(),
        })
    }

    async fn area_history(&self, code: &str) -> Result<Vec<AreaVersion>, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        let rows: Vec<(
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
        )> = sqlx::query_as(
            "SELECT code, name, level, kind, parent_code, ST_AsBinary(geom), version, valid_from, \
             valid_to, author, reason FROM areas WHERE code = $1 ORDER BY version",
        )
        .bind(code)
        .fetch_all(&mut *tx)
        .await?;
        let mut staff = load_staff(&mut tx, Some(code)).await?;
        tx.commit().await?;
        rows.into_iter()
            .map(
                |(
                    code,
                    name,
                    level,
                    kind,
                    parent,
                    geom,
                    version,
                    valid_from,
                    valid_to,
                    author,
                    reason,
                )| {
                    let mut area =
                        area_from_row(WkbDialect::Wkb, (code, name, level, kind, parent, geom))?;
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
                },
            )
            .collect()
    }

    async fn data_version(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT version FROM gridmap_data_version WHERE id")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn insert_fixes(&self, fixes: &[super::StoredFix]) -> Result<u64, StoreError> {
        super::patrols::pg_insert(&self.pool, fixes).await
    }

    async fn patrol_fixes(
        &self,
        query: &super::FixQuery,
    ) -> Result<Vec<super::StoredFix>, StoreError> {
        super::patrols::pg_fixes(&self.pool, query).await
    }

    async fn recent_fixes(
        &self,
        since: DateTime<Utc>,
        per_worker: u32,
    ) -> Result<Vec<super::StoredFix>, StoreError> {
        super::patrols::pg_recent(&self.pool, since, per_worker).await
    }
}
