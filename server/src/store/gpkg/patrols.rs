//! The patrols' SQL on a GeoPackage: fixes read back as one JSON row.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use geo_types::{Coord, Geometry, Point};
use geozero::wkb::{FromWkb, WkbDialect};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::{arguments, blob, numbered, parse_time, time_text};
use crate::store::StoreError;
use crate::store::backend::Arg;
use crate::store::common::{SQLITE_BATCH_ROWS, geometry_error};
use crate::store::patrols::{FixQuery, PatrolSql, StoredFix};

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
                at: parse_time(&format!("a patrol fix of `{worker}`"), &at)?,
                point: point_from_hex(&worker, &geom)?,
                worker,
                accuracy_m,
            })
        })
        .collect()
}

/// The fixes `inner` selects (every column of `patrol_fixes`, in order), as one JSON row.
async fn json_fixes(
    conn: &mut SqliteConnection,
    inner: &str,
    args: Vec<Arg>,
) -> Result<Vec<StoredFix>, StoreError> {
    let sql = numbered(&format!(
        "SELECT coalesce(json_group_array(json_array(worker, at, hex(geom), accuracy_m)), '[]') \
         FROM ({inner})"
    ));
    let json: String = sqlx::query_scalar_with(&sql, arguments(args)?)
        .fetch_one(&mut *conn)
        .await?;
    fixes_from_json(&json)
}

#[async_trait]
impl PatrolSql for SqliteConnection {
    async fn insert_fixes(&mut self, fixes: &[StoredFix]) -> Result<u64, StoreError> {
        let blobs = fixes
            .iter()
            .map(|f| blob(&f.worker, &Geometry::Point(Point(f.point))))
            .collect::<Result<Vec<_>, _>>()?;
        let rows: Vec<(&StoredFix, Vec<u8>)> = fixes.iter().zip(blobs).collect();
        let mut inserted = 0;
        for chunk in rows.chunks(SQLITE_BATCH_ROWS) {
            let mut insert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO patrol_fixes (worker, at, lon, lat, accuracy_m, geom) ",
            );
            insert.push_values(chunk, |mut row, (fix, blob)| {
                row.push_bind(fix.worker.as_str())
                    .push_bind(time_text(fix.at))
                    .push_bind(fix.point.x)
                    .push_bind(fix.point.y)
                    .push_bind(fix.accuracy_m)
                    .push_bind(blob.as_slice());
            });
            insert.push(" ON CONFLICT (worker, at) DO NOTHING");
            inserted += insert.build().execute(&mut *self).await?.rows_affected();
        }
        Ok(inserted)
    }

    async fn fixes(&mut self, query: &FixQuery) -> Result<Vec<StoredFix>, StoreError> {
        let window = vec![query.from.into(), query.to.into()];
        match query.near {
            None => {
                let inner =
                    "SELECT * FROM patrol_fixes WHERE at >= $1 AND at < $2 ORDER BY worker, at";
                json_fixes(self, inner, window).await
            }
            Some(r) => {
                let inner = "SELECT * FROM patrol_fixes WHERE at >= $1 AND at < $2 AND worker IN \
                     (SELECT DISTINCT worker FROM patrol_fixes WHERE at >= $1 AND at < $2 \
                      AND lon BETWEEN $3 AND $5 AND lat BETWEEN $4 AND $6) \
                     ORDER BY worker, at";
                let mut args = window;
                args.extend([r.min().x, r.min().y, r.max().x, r.max().y].map(Arg::from));
                json_fixes(self, inner, args).await
            }
        }
    }

    async fn recent(
        &mut self,
        since: DateTime<Utc>,
        per_worker: u32,
    ) -> Result<Vec<StoredFix>, StoreError> {
        let inner = "SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY worker ORDER BY at DESC) AS k \
                     FROM patrol_fixes WHERE at >= $1) WHERE k <= $2 ORDER BY worker, at";
        let args = vec![since.into(), i64::from(per_worker).into()];
        json_fixes(self, inner, args).await
    }

    async fn workers(
        &mut self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(String, i64, DateTime<Utc>, DateTime<Utc>)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT worker, count(*), min(at), max(at) FROM patrol_fixes \
             WHERE at >= ?1 AND at < ?2 GROUP BY worker ORDER BY worker",
        )
        .bind(time_text(from))
        .bind(time_text(to))
        .fetch_all(&mut *self)
        .await?)
    }

    async fn worker_fixes(
        &mut self,
        worker: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<StoredFix>, StoreError> {
        let inner =
            "SELECT * FROM patrol_fixes WHERE worker = $1 AND at >= $2 AND at < $3 ORDER BY at";
        json_fixes(self, inner, vec![worker.into(), from.into(), to.into()]).await
    }
}
