//! The reports' SQL on PostGIS: the point made from the report's lon and lat, the bbox through the
//! `GiST` index.

use async_trait::async_trait;
use gridmap_core::Report;
use sqlx::PgConnection;

use super::arguments;
use crate::store::StoreError;
use crate::store::backend::Arg;
use crate::store::report_rows::{EventRow, ReportRow};
use crate::store::reports::{Condition, ReportSql};

#[async_trait]
impl ReportSql for PgConnection {
    fn report_geom(_report: &Report) -> Result<(&'static str, Vec<Arg>), StoreError> {
        Ok(("ST_SetSRID(ST_MakePoint($8, $9), 4326)", Vec::new()))
    }

    fn in_bbox([west, south, east, north]: [f64; 4]) -> Condition {
        // The GiST index finds the candidates.
        (
            "geom && ST_MakeEnvelope(?, ?, ?, ?, 4326)",
            vec![west.into(), south.into(), east.into(), north.into()],
        )
    }

    fn in_area(prefix: &str) -> Condition {
        ("starts_with(area_code, ?)", vec![prefix.into()])
    }

    async fn report_rows(
        &mut self,
        sql: &str,
        args: Vec<Arg>,
    ) -> Result<Vec<ReportRow>, StoreError> {
        Ok(sqlx::query_as_with(sql, arguments(args)?)
            .fetch_all(&mut *self)
            .await?)
    }

    async fn event_rows(&mut self, sql: &str, args: Vec<Arg>) -> Result<Vec<EventRow>, StoreError> {
        Ok(sqlx::query_as_with(sql, arguments(args)?)
            .fetch_all(&mut *self)
            .await?)
    }
}
