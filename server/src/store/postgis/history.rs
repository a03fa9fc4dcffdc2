//! The history's SQL on PostGIS.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::store::StoreError;
use crate::store::history::{AreaAtRow, HistorySql, INSTANTS_SQL, VersionRow};

#[async_trait]
impl HistorySql for PgConnection {
    async fn rows_at(&mut self, at: DateTime<Utc>) -> Result<Vec<AreaAtRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT code, name, level, kind, parent_code, ST_AsBinary(geom), valid_to IS NULL FROM areas \
             WHERE valid_from <= $1 AND (valid_to IS NULL OR valid_to > $1) ORDER BY fid",
        )
        .bind(at)
        .fetch_all(&mut *self)
        .await?)
    }

    async fn version_rows(
        &mut self,
        code: &str,
        only: Option<i64>,
    ) -> Result<Vec<VersionRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT code, name, level, kind, parent_code, ST_AsBinary(geom), version, valid_from, \
             valid_to, author, reason FROM areas WHERE code = $1 AND ($2::bigint IS NULL OR version = $2) \
             ORDER BY version",
        )
        .bind(code)
        .bind(only)
        .fetch_all(&mut *self)
        .await?)
    }

    async fn instants(&mut self) -> Result<Vec<DateTime<Utc>>, StoreError> {
        Ok(sqlx::query_scalar(INSTANTS_SQL)
            .fetch_all(&mut *self)
            .await?)
    }
}
