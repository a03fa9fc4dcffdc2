//! The city's SQL on PostGIS: batches as arrays through `UNNEST ... WITH ORDINALITY` (stored order kept),
//! lists of codes as `= ANY($1)`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use geo_types::{Geometry, Point};
use geozero::wkb::WkbDialect;
use gridmap_core::{Address, Area, GridKind, StaffMember};
use sqlx::PgConnection;

use super::wkb;
use crate::store::areas::AreaSql;
use crate::store::changes::LogReader;
use crate::store::common::{AreaRow, NamedRow, POSTGRES_BATCH_ROWS, parse_role};
use crate::store::{ChangeNote, StoreError};

/// One column of a batch, as an array.
fn column<'a, T, V>(rows: &'a [T], value: impl Fn(&'a T) -> V) -> Vec<V> {
    rows.iter().map(value).collect()
}

/// Rows of `select` (with or without its `WHERE`), of `codes` only when given, in stored order. Two
/// statements rather than `$1 IS NULL OR ...`: a prepared statement's generic plan would scan the whole table
/// for a handful of codes instead of using the index on `column`.
async fn fetch_for_codes<R>(
    conn: &mut PgConnection,
    select: &str,
    column: &str,
    codes: Option<&[String]>,
) -> Result<Vec<R>, StoreError>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    let joiner = if select.contains(" WHERE ") {
        "AND"
    } else {
        "WHERE"
    };
    let sql = match codes {
        None => format!("{select} ORDER BY fid"),
        Some(_) => format!("{select} {joiner} {column} = ANY($1) ORDER BY fid"),
    };
    let mut query = sqlx::query_as(&sql);
    if let Some(codes) = codes {
        query = query.bind(codes);
    }
    Ok(query.fetch_all(&mut *conn).await?)
}

#[async_trait]
impl LogReader for PgConnection {
    const GEOMETRY: WkbDialect = WkbDialect::Wkb;

    async fn logged_since(&mut self, since: i64) -> Result<Vec<(String, String)>, StoreError> {
        Ok(
            sqlx::query_as("SELECT layer, code FROM gridmap_changes WHERE data_version > $1")
                .bind(since)
                .fetch_all(&mut *self)
                .await?,
        )
    }

    async fn staff_rows(
        &mut self,
        codes: Option<&[String]>,
    ) -> Result<Vec<(String, StaffMember)>, StoreError> {
        let rows: Vec<(String, String, String, String)> = fetch_for_codes(
            self,
            "SELECT area_code, role, name, phone FROM staff",
            "area_code",
            codes,
        )
        .await?;
        rows.into_iter()
            .map(|(code, role, name, phone)| {
                let role = parse_role(&code, &role)?;
                Ok((code, StaffMember { name, phone, role }))
            })
            .collect()
    }

    async fn area_rows(&mut self, codes: Option<&[String]>) -> Result<Vec<AreaRow>, StoreError> {
        fetch_for_codes(
            self,
            "SELECT code, name, level, kind, parent_code, ST_AsBinary(geom) FROM areas \
             WHERE valid_to IS NULL",
            "code",
            codes,
        )
        .await
    }

    async fn addresses(&mut self) -> Result<Vec<Address>, StoreError> {
        let rows: Vec<(String, String, String, String, f64, f64)> = sqlx::query_as(
            "SELECT full_address, road, number, building, ST_X(geom), ST_Y(geom) FROM addresses \
             ORDER BY fid",
        )
        .fetch_all(&mut *self)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(full, road, number, building, x, y)| Address {
                full,
                road,
                number,
                building,
                point: Point::new(x, y),
            })
            .collect())
    }

    async fn named_rows(
        &mut self,
        table: &'static str,
        second: &'static str,
    ) -> Result<Vec<NamedRow>, StoreError> {
        let sql = format!("SELECT name, {second}, ST_AsBinary(geom) FROM {table} ORDER BY fid");
        Ok(sqlx::query_as(&sql).fetch_all(&mut *self).await?)
    }
}

#[async_trait]
impl AreaSql for PgConnection {
    fn encode(what: &str, geometry: &Geometry<f64>) -> Result<Vec<u8>, StoreError> {
        wkb(what, geometry)
    }

    async fn insert_areas(
        &mut self,
        rows: &[(&Area, &[u8], i64)],
        at: DateTime<Utc>,
        note: &ChangeNote,
    ) -> Result<(), StoreError> {
        for chunk in rows.chunks(POSTGRES_BATCH_ROWS) {
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
            .bind(column(chunk, |(a, _, _)| a.code.as_str()))
            .bind(column(chunk, |(a, _, _)| a.name.as_str()))
            .bind(column(chunk, |(a, _, _)| a.level.as_str()))
            .bind(column(chunk, |(a, _, _)| a.kind.map(GridKind::as_str)))
            .bind(column(chunk, |(a, _, _)| a.parent.as_deref()))
            .bind(column(chunk, |(_, _, version)| *version))
            .bind(at)
            .bind(note.author.as_str())
            .bind(note.reason.as_str())
            .bind(column(chunk, |(_, wkb, _)| *wkb))
            .execute(&mut *self)
            .await?;
        }
        Ok(())
    }

    async fn insert_staff(&mut self, staff: &[(&str, &StaffMember)]) -> Result<(), StoreError> {
        for chunk in staff.chunks(POSTGRES_BATCH_ROWS) {
            sqlx::query(
                "INSERT INTO staff (area_code, role, name, phone) \
                 SELECT area_code, role, name, phone \
                 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY \
                      AS t(area_code, role, name, phone, ord) \
                 ORDER BY ord",
            )
            .bind(column(chunk, |(code, _)| *code))
            .bind(column(chunk, |(_, m)| m.role.as_str()))
            .bind(column(chunk, |(_, m)| m.name.as_str()))
            .bind(column(chunk, |(_, m)| m.phone.as_str()))
            .execute(&mut *self)
            .await?;
        }
        Ok(())
    }

    async fn insert_addresses(&mut self, addresses: &[Address]) -> Result<(), StoreError> {
        for chunk in addresses.chunks(POSTGRES_BATCH_ROWS) {
            sqlx::query(
                "INSERT INTO addresses (full_address, road, number, building, geom) \
                 SELECT full_address, road, number, building, ST_SetSRID(ST_MakePoint(x, y), 4326) \
                 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], \
                             $5::float8[], $6::float8[]) WITH ORDINALITY \
                      AS t(full_address, road, number, building, x, y, ord) \
                 ORDER BY ord",
            )
            .bind(column(chunk, |a| a.full.as_str()))
            .bind(column(chunk, |a| a.road.as_str()))
            .bind(column(chunk, |a| a.number.as_str()))
            .bind(column(chunk, |a| a.building.as_str()))
            .bind(column(chunk, |a| a.point.x()))
            .bind(column(chunk, |a| a.point.y()))
            .execute(&mut *self)
            .await?;
        }
        Ok(())
    }

    async fn insert_named(
        &mut self,
        table: &'static str,
        second: &'static str,
        rows: &[(&str, &str, &[u8])],
    ) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO {table} (name, {second}, geom) \
             SELECT name, other, ST_GeomFromWKB(wkb, 4326) \
             FROM UNNEST($1::text[], $2::text[], $3::bytea[]) WITH ORDINALITY AS t(name, other, wkb, ord) \
             ORDER BY ord"
        );
        for chunk in rows.chunks(POSTGRES_BATCH_ROWS) {
            sqlx::query(&sql)
                .bind(column(chunk, |row| row.0))
                .bind(column(chunk, |row| row.1))
                .bind(column(chunk, |row| row.2))
                .execute(&mut *self)
                .await?;
        }
        Ok(())
    }
}
