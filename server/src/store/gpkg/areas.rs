//! The city's SQL on a GeoPackage: batches through `QueryBuilder`, lists of codes as JSON (`json_each`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use geo_types::{Geometry, Point, Rect};
use geozero::wkb::{FromWkb, WkbDialect};
use gridmap_core::{Address, Area, GridKind, StaffMember};
use sqlx::query_builder::Separated;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::{blob, json_codes, time_text};
use crate::store::areas::AreaSql;
use crate::store::changes::LogReader;
use crate::store::common::{AreaRow, NamedRow, SQLITE_BATCH_ROWS, geometry_error, parse_role};
use crate::store::{ChangeNote, StoreError};

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

/// Inserts `rows` after `head` (`INSERT INTO table (columns) `), [`SQLITE_BATCH_ROWS`] a statement, each
/// row's values pushed by `push`.
async fn insert_batches<'a, T: Sync>(
    conn: &mut SqliteConnection,
    head: &str,
    rows: &'a [T],
    push: impl Fn(&mut Separated<'_, 'a, Sqlite, &'static str>, &'a T) + Send + Sync,
) -> Result<(), StoreError> {
    for chunk in rows.chunks(SQLITE_BATCH_ROWS) {
        let mut insert = QueryBuilder::<'a, Sqlite>::new(head);
        insert.push_values(chunk, |mut row, item| push(&mut row, item));
        insert.build().execute(&mut *conn).await?;
    }
    Ok(())
}

#[async_trait]
impl LogReader for SqliteConnection {
    const GEOMETRY: WkbDialect = WkbDialect::Geopackage;

    async fn logged_since(&mut self, since: i64) -> Result<Vec<(String, String)>, StoreError> {
        Ok(
            sqlx::query_as("SELECT layer, code FROM gridmap_changes WHERE data_version > ?1")
                .bind(since)
                .fetch_all(&mut *self)
                .await?,
        )
    }

    async fn staff_rows(
        &mut self,
        codes: Option<&[String]>,
    ) -> Result<Vec<(String, StaffMember)>, StoreError> {
        let codes = codes.map(json_codes).transpose()?;
        // One JSON row instead of a row per member: sqlx hands SQLite rows over one at a time
        // (~5 µs each), which dominated loading a 100,000-area city.
        let json: String = sqlx::query_scalar(
            "SELECT coalesce(json_group_array(json_array(fid, area_code, role, name, phone)), '[]') \
             FROM staff WHERE ?1 IS NULL OR area_code IN (SELECT value FROM json_each(?1))",
        )
        .bind(codes)
        .fetch_one(&mut *self)
        .await?;
        let mut rows: Vec<(i64, String, String, String, String)> = serde_json::from_str(&json)
            .map_err(|e| StoreError::Invalid(format!("staff rows: {e}")))?;
        // Stored order, which is the order written.
        rows.sort_by_key(|row| row.0);
        rows.into_iter()
            .map(|(_, code, role, name, phone)| {
                let role = parse_role(&code, &role)?;
                Ok((code, StaffMember { name, phone, role }))
            })
            .collect()
    }

    async fn area_rows(&mut self, codes: Option<&[String]>) -> Result<Vec<AreaRow>, StoreError> {
        let select =
            "SELECT code, name, level, kind, parent_code, geom FROM areas WHERE valid_to IS NULL";
        Ok(match codes {
            None => {
                sqlx::query_as(&format!("{select} ORDER BY fid"))
                    .fetch_all(&mut *self)
                    .await?
            }
            Some(codes) => {
                sqlx::query_as(&format!(
                    "{select} AND code IN (SELECT value FROM json_each(?1)) ORDER BY fid"
                ))
                .bind(json_codes(codes)?)
                .fetch_all(&mut *self)
                .await?
            }
        })
    }

    async fn addresses(&mut self) -> Result<Vec<Address>, StoreError> {
        let rows: Vec<(String, String, String, String, Vec<u8>)> = sqlx::query_as(
            "SELECT full_address, road, number, building, geom FROM addresses ORDER BY fid",
        )
        .fetch_all(&mut *self)
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

    async fn named_rows(
        &mut self,
        table: &'static str,
        second: &'static str,
    ) -> Result<Vec<NamedRow>, StoreError> {
        let sql = format!("SELECT name, {second}, geom FROM {table} ORDER BY fid");
        Ok(sqlx::query_as(&sql).fetch_all(&mut *self).await?)
    }
}

#[async_trait]
impl AreaSql for SqliteConnection {
    fn encode(what: &str, geometry: &Geometry<f64>) -> Result<Vec<u8>, StoreError> {
        blob(what, geometry)
    }

    /// Records the change time and widens the layer's extent in `gpkg_contents`.
    async fn touch(
        &mut self,
        table: &str,
        at: DateTime<Utc>,
        extent: Option<Rect<f64>>,
    ) -> Result<(), StoreError> {
        let at = time_text(at);
        match extent {
            None => {
                sqlx::query("UPDATE gpkg_contents SET last_change = ?1 WHERE table_name = ?2")
                    .bind(at)
                    .bind(table)
                    .execute(&mut *self)
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
                .execute(&mut *self)
                .await?;
            }
        }
        Ok(())
    }

    async fn insert_areas(
        &mut self,
        rows: &[(&Area, &[u8], i64)],
        at: DateTime<Utc>,
        note: &ChangeNote,
    ) -> Result<(), StoreError> {
        let at = time_text(at);
        insert_batches(
            self,
            "INSERT INTO areas (code, name, level, kind, parent_code, version, valid_from, author, \
             reason, geom) ",
            rows,
            |row, (area, blob, version)| {
                row.push_bind(area.code.as_str())
                    .push_bind(area.name.as_str())
                    .push_bind(area.level.as_str())
                    .push_bind(area.kind.map(GridKind::as_str))
                    .push_bind(area.parent.as_deref())
                    .push_bind(*version)
                    .push_bind(at.clone())
                    .push_bind(note.author.clone())
                    .push_bind(note.reason.clone())
                    .push_bind(*blob);
            },
        )
        .await
    }

    async fn insert_staff(&mut self, staff: &[(&str, &StaffMember)]) -> Result<(), StoreError> {
        insert_batches(
            self,
            "INSERT INTO staff (area_code, role, name, phone) ",
            staff,
            |row, (code, member)| {
                row.push_bind(*code)
                    .push_bind(member.role.as_str())
                    .push_bind(member.name.as_str())
                    .push_bind(member.phone.as_str());
            },
        )
        .await
    }

    async fn insert_addresses(&mut self, addresses: &[Address]) -> Result<(), StoreError> {
        let blobs = addresses
            .iter()
            .map(|a| blob(&a.full, &Geometry::Point(a.point)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let rows: Vec<(&Address, Vec<u8>)> = addresses.iter().zip(blobs).collect();
        insert_batches(
            self,
            "INSERT INTO addresses (full_address, road, number, building, geom) ",
            &rows,
            |row, (address, blob)| {
                row.push_bind(address.full.as_str())
                    .push_bind(address.road.as_str())
                    .push_bind(address.number.as_str())
                    .push_bind(address.building.as_str())
                    .push_bind(blob.as_slice());
            },
        )
        .await
    }

    async fn insert_named(
        &mut self,
        table: &'static str,
        second: &'static str,
        rows: &[(&str, &str, &[u8])],
    ) -> Result<(), StoreError> {
        let head = format!("INSERT INTO {table} (name, {second}, geom) ");
        insert_batches(self, &head, rows, |row, (name, other, blob)| {
            row.push_bind(*name).push_bind(*other).push_bind(*blob);
        })
        .await
    }
}
