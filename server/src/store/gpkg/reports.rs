//! The reports' SQL on a GeoPackage: the point as a GeoPackage blob, ids as JSON (`json_each`).

use async_trait::async_trait;
use geo_types::{Geometry, Point};
use gridmap_core::Report;
use sqlx::SqliteConnection;

use super::{arguments, blob, numbered};
use crate::store::StoreError;
use crate::store::backend::Arg;
use crate::store::report_rows::{EventRow, ReportRow};
use crate::store::reports::{Condition, ReportSql};

#[async_trait]
impl ReportSql for SqliteConnection {
    fn report_geom(report: &Report) -> Result<(&'static str, Vec<Arg>), StoreError> {
        let geom = blob(&report.client_id, &Geometry::Point(Point(report.point)))?;
        Ok(("$34", vec![Arg::Blob(geom)]))
    }

    fn in_bbox([west, south, east, north]: [f64; 4]) -> Condition {
        (
            "lon >= ? AND lon <= ? AND lat >= ? AND lat <= ?",
            vec![west.into(), east.into(), south.into(), north.into()],
        )
    }

    fn in_area(prefix: &str) -> Condition {
        let length = i64::try_from(prefix.chars().count()).unwrap_or(i64::MAX);
        (
            "substr(area_code, 1, ?) = ?",
            vec![length.into(), prefix.into()],
        )
    }

    async fn report_rows(
        &mut self,
        sql: &str,
        args: Vec<Arg>,
    ) -> Result<Vec<ReportRow>, StoreError> {
        let sql = numbered(sql);
        Ok(sqlx::query_as_with(&sql, arguments(args)?)
            .fetch_all(&mut *self)
            .await?)
    }

    async fn event_rows(&mut self, sql: &str, args: Vec<Arg>) -> Result<Vec<EventRow>, StoreError> {
        let sql = numbered(sql);
        Ok(sqlx::query_as_with(&sql, arguments(args)?)
            .fetch_all(&mut *self)
            .await?)
    }
}
