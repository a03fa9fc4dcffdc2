//! The patrols' SQL on PostGIS: fixes as rows, the point made from lon and lat.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use geo_types::Coord;
use sqlx::PgConnection;

use super::arguments;
use crate::store::StoreError;
use crate::store::backend::Arg;
use crate::store::common::{POSTGRES_BATCH_ROWS, stored_time};
use crate::store::patrols::{FixQuery, PatrolSql, StoredFix};

const FIX_COLUMNS: &str = "worker, at, ST_X(geom), ST_Y(geom), accuracy_m";

type FixRow = (String, DateTime<Utc>, f64, f64, Option<f64>);

/// The fixes `sql` selects ([`FIX_COLUMNS`]).
async fn fixes(
    conn: &mut PgConnection,
    sql: &str,
    args: Vec<Arg>,
) -> Result<Vec<StoredFix>, StoreError> {
    let rows: Vec<FixRow> = sqlx::query_as_with(sql, arguments(args)?)
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(worker, at, x, y, accuracy_m)| StoredFix {
            worker,
            at,
            point: Coord { x, y },
            accuracy_m,
        })
        .collect())
}

#[async_trait]
impl PatrolSql for PgConnection {
    async fn insert_fixes(&mut self, fixes: &[StoredFix]) -> Result<u64, StoreError> {
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
            .execute(&mut *self)
            .await?
            .rows_affected();
        }
        Ok(inserted)
    }

    async fn fixes(&mut self, query: &FixQuery) -> Result<Vec<StoredFix>, StoreError> {
        let window = vec![Arg::Time(Some(query.from)), Arg::Time(Some(query.to))];
        match query.near {
            None => {
                let sql = format!(
                    "SELECT {FIX_COLUMNS} FROM patrol_fixes WHERE at >= $1 AND at < $2 ORDER BY worker, at"
                );
                fixes(self, &sql, window).await
            }
            Some(r) => {
                let sql = format!(
                    "SELECT {FIX_COLUMNS} FROM patrol_fixes WHERE at >= $1 AND at < $2 AND worker IN \
                     (SELECT DISTINCT worker FROM patrol_fixes WHERE at >= $1 AND at < $2 \
                      AND geom && ST_MakeEnvelope($3, $4, $5, $6, 4326)) \
                     ORDER BY worker, at"
                );
                let mut args = window;
                args.extend([r.min().x, r.min().y, r.max().x, r.max().y].map(Arg::from));
                fixes(self, &sql, args).await
            }
        }
    }

    async fn recent(
        &mut self,
        since: DateTime<Utc>,
        per_worker: u32,
    ) -> Result<Vec<StoredFix>, StoreError> {
        let sql = "SELECT worker, at, x, y, accuracy_m FROM \
                   (SELECT worker, at, ST_X(geom) AS x, ST_Y(geom) AS y, accuracy_m, \
                           row_number() OVER (PARTITION BY worker ORDER BY at DESC) AS k \
                    FROM patrol_fixes WHERE at >= $1) t \
                   WHERE k <= $2 ORDER BY worker, at";
        fixes(self, sql, vec![since.into(), i64::from(per_worker).into()]).await
    }

    async fn workers(
        &mut self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(String, i64, DateTime<Utc>, DateTime<Utc>)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT worker, count(*), min(at), max(at) FROM patrol_fixes \
             WHERE at >= $1 AND at < $2 GROUP BY worker ORDER BY worker",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&mut *self)
        .await?)
    }

    async fn worker_fixes(
        &mut self,
        worker: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<StoredFix>, StoreError> {
        let sql = format!(
            "SELECT {FIX_COLUMNS} FROM patrol_fixes WHERE worker = $1 AND at >= $2 AND at < $3 ORDER BY at"
        );
        fixes(self, &sql, vec![worker.into(), from.into(), to.into()]).await
    }
}
