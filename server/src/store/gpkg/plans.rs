//! The plans' SQL on a GeoPackage: JSON columns are text.

use async_trait::async_trait;
use sqlx::SqliteConnection;

use crate::store::StoreError;
use crate::store::plans::{PlanRow, PlanSql};

#[async_trait]
impl PlanSql for SqliteConnection {
    const INSERT: &'static str = "INSERT INTO plans (name, status, edits, base_versions, version, \
        created_at, author, reason, updated_at, committed_at, rules) \
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) RETURNING id";
    const UPDATE: &'static str = "UPDATE plans SET name = ?1, status = ?2, edits = ?3, \
        base_versions = ?4, version = ?5, updated_at = ?6, rules = ?9 \
        WHERE id = ?7 AND version = ?8 AND status = 'draft'";

    async fn plan_rows(&mut self, id: Option<i64>) -> Result<Vec<PlanRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, name, author, reason, status, edits, base_versions, rules, version, \
             created_at, updated_at, committed_at FROM plans WHERE ?1 IS NULL OR id = ?1 \
             ORDER BY id DESC",
        )
        .bind(id)
        .fetch_all(&mut *self)
        .await?)
    }
}
