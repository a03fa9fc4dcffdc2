//! Reports, the same on both backends over each backend's [`ReportSql`]: the insert that is safe when two
//! requests race with one client id, transitions guarded by the report's version, and the filter, whose SQL
//! is built here once.

use async_trait::async_trait;
use gridmap_core::Report;

use super::areas::AreaSql;
use super::backend::{Arg, Backend, Exec};
use super::report_rows::{
    EVENT_COLUMNS, EventRow, REPORT_COLUMNS, ReportRow, assemble, chain_json, enum_name,
    events_after, staff_columns,
};
use super::{InsertOutcome, ReportFilter, ReportStore, StoreError};

/// A condition with `?` where each of its values goes, in order.
pub(crate) type Condition = (&'static str, Vec<Arg>);

/// The reports' SQL on one backend.
#[async_trait]
pub(crate) trait ReportSql: AreaSql {
    /// How the `geom` of a new report is written, after the 33 values of [`report_values`] (`$8`, `$9` are
    /// its lon and lat), and the values it adds.
    fn report_geom(report: &Report) -> Result<(&'static str, Vec<Arg>), StoreError>;
    /// Reports inside west, south, east, north (edges included).
    fn in_bbox(bbox: [f64; 4]) -> Condition;
    /// Reports whose area code starts with `prefix`.
    fn in_area(prefix: &str) -> Condition;
    /// Rows of `sql` (selecting [`REPORT_COLUMNS`]).
    async fn report_rows(
        &mut self,
        sql: &str,
        args: Vec<Arg>,
    ) -> Result<Vec<ReportRow>, StoreError>;
    /// Rows of `sql` (selecting [`EVENT_COLUMNS`]).
    async fn event_rows(&mut self, sql: &str, args: Vec<Arg>) -> Result<Vec<EventRow>, StoreError>;
}

/// `WHERE` conditions with `$n` placeholders, numbered as they are added.
#[derive(Default)]
struct Conditions {
    sql: String,
    args: Vec<Arg>,
}

impl Conditions {
    /// Adds `arg` as the next value; its placeholder.
    fn bind(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        format!("${}", self.args.len())
    }

    fn and(&mut self, (template, args): Condition) {
        self.sql.push_str(" AND ");
        let mut args = args.into_iter();
        for (i, part) in template.split('?').enumerate() {
            if i > 0
                && let Some(arg) = args.next()
            {
                let placeholder = self.bind(arg);
                self.sql.push_str(&placeholder);
            }
            self.sql.push_str(part);
        }
    }
}

/// Values `$1`..`$33` of a new report's row, in the order of [`INSERT_REPORT`].
fn report_values(report: &Report) -> Vec<Arg> {
    let (leader_name, leader_phone, leader_role) = staff_columns(report.leader.as_ref());
    let (handler_name, handler_phone, handler_role) = staff_columns(report.handler.as_ref());
    let route = &report.route;
    vec![
        report.client_id.as_str().into(),
        report.channel.as_str().into(),
        report.category.code().into(),
        report.description.as_str().into(),
        report.reporter.as_deref().into(),
        report.reported_at.into(),
        report.received_at.into(),
        report.point.x.into(),
        report.point.y.into(),
        report.input_crs.as_str().into(),
        report.input_point.x.into(),
        report.input_point.y.into(),
        route.area_code.as_str().into(),
        route.level.as_str().into(),
        route.rule.as_str().into(),
        route.distance_m.into(),
        route.micro_grid_code.as_deref().into(),
        chain_json(route).into(),
        leader_name.into(),
        leader_phone.into(),
        leader_role.into(),
        handler_name.into(),
        handler_phone.into(),
        handler_role.into(),
        report.handler_reason.as_str().into(),
        report.stage.as_str().into(),
        report.area_code.as_str().into(),
        report.level.as_str().into(),
        report.assignee.as_deref().into(),
        report.stage_since.into(),
        report.deadline.into(),
        report.closed_at.into(),
        report.version.into(),
    ]
}

const INSERT_REPORT: &str = "INSERT INTO reports (client_id, channel, category, description, reporter, \
     reported_at, received_at, lon, lat, input_crs, input_lon, input_lat, route_area_code, route_level, \
     route_rule, route_distance_m, route_micro_grid_code, route_chain, leader_name, leader_phone, leader_role, \
     handler_name, handler_phone, handler_role, handler_reason, stage, area_code, level, assignee, \
     stage_since, deadline, closed_at, version, geom) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, \
     $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, ";

/// Inserts the report's events after `stored_seq`.
async fn insert_events<C: ReportSql + ?Sized>(
    conn: &mut C,
    id: i64,
    report: &Report,
    stored_seq: i64,
) -> Result<(), StoreError> {
    for event in events_after(report, stored_seq) {
        let args = vec![
            id.into(),
            i64::from(event.seq).into(),
            event.at.into(),
            event.actor.as_str().into(),
            enum_name(&event.action).into(),
            enum_name(&event.from).into(),
            enum_name(&event.to).into(),
            event.reason.as_deref().into(),
            event.area_code.as_str().into(),
            event.assignee.as_deref().into(),
            event.deadline.into(),
        ];
        conn.execute(
            "INSERT INTO report_events (report_id, seq, at, actor, action, from_stage, to_stage, reason, \
             area_code, assignee, deadline) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            args,
        )
        .await?;
    }
    Ok(())
}

/// Reports selected by `sql` with their events (every event with `all_events`), from one snapshot.
async fn fetch_reports<B>(
    store: &B,
    sql: &str,
    args: Vec<Arg>,
    all_events: bool,
) -> Result<Vec<Report>, StoreError>
where
    B: Backend,
    B::Conn: ReportSql,
{
    let mut tx = store.read().await?;
    let rows = tx.report_rows(sql, args).await?;
    let select = format!("SELECT {EVENT_COLUMNS} FROM report_events");
    let events = if all_events {
        let sql = format!("{select} ORDER BY report_id, seq");
        tx.event_rows(&sql, Vec::new()).await?
    } else if rows.is_empty() {
        Vec::new()
    } else {
        let of_reports = B::Conn::in_list("report_id", "$1");
        let sql = format!("{select} WHERE {of_reports} ORDER BY report_id, seq");
        let ids = Arg::Ints(rows.iter().map(|r| r.id).collect());
        tx.event_rows(&sql, vec![ids]).await?
    };
    tx.commit().await?;
    assemble(rows, events)
}

async fn one_report<B>(store: &B, column: &str, value: Arg) -> Result<Option<Report>, StoreError>
where
    B: Backend,
    B::Conn: ReportSql,
{
    let sql = format!("SELECT {REPORT_COLUMNS} FROM reports WHERE {column} = $1");
    Ok(fetch_reports(store, &sql, vec![value], false)
        .await?
        .into_iter()
        .next())
}

#[async_trait]
impl<B> ReportStore for B
where
    B: Backend,
    B::Conn: ReportSql,
{
    async fn insert_report(&self, report: &Report) -> Result<InsertOutcome, StoreError> {
        let (geom, geom_args) = B::Conn::report_geom(report)?;
        let mut args = report_values(report);
        args.extend(geom_args);
        let sql = format!("{INSERT_REPORT}{geom}) ON CONFLICT (client_id) DO NOTHING RETURNING id");
        let mut tx = self.pool().begin().await?;
        // ON CONFLICT DO NOTHING waits for a racing insert of the same client id to commit, then skips.
        let Some(id) = tx.fetch_i64(&sql, args).await? else {
            tx.rollback().await?;
            return match one_report(self, "client_id", report.client_id.as_str().into()).await? {
                Some(existing) => Ok(InsertOutcome::Existing(Box::new(existing))),
                None => Err(StoreError::Invalid(format!(
                    "report `{}` conflicted but cannot be read",
                    report.client_id
                ))),
            };
        };
        insert_events(&mut *tx, id, report, 0).await?;
        let point = geo_types::Rect::new(report.point, report.point);
        tx.touch("reports", report.received_at, Some(point)).await?;
        tx.commit().await?;
        Ok(InsertOutcome::Created(id))
    }

    async fn report(&self, id: i64) -> Result<Option<Report>, StoreError> {
        one_report(self, "id", id.into()).await
    }

    async fn reports(&self, filter: &ReportFilter) -> Result<Vec<Report>, StoreError> {
        let mut conditions = Conditions::default();
        if let Some(bbox) = filter.bbox {
            conditions.and(B::Conn::in_bbox(bbox));
        }
        if let Some(stage) = filter.stage {
            conditions.and(("stage = ?", vec![stage.as_str().into()]));
        }
        if let Some(prefix) = &filter.area_prefix {
            conditions.and(B::Conn::in_area(prefix));
        }
        if let Some(now) = filter.overdue_at {
            // GeoPackage: text comparison of times in one format is time comparison.
            conditions.and(("stage <> 'closed' AND deadline < ?", vec![now.into()]));
        }
        if let Some(by) = filter.received_by {
            conditions.and(("received_at <= ?", vec![by.into()]));
        }
        let limit = match filter.limit {
            Some(limit) => {
                format!(
                    " LIMIT {}",
                    conditions.bind(i64::try_from(limit).unwrap_or(i64::MAX).into())
                )
            }
            None => String::new(),
        };
        let sql = format!(
            "SELECT {REPORT_COLUMNS} FROM reports WHERE 1 = 1{} ORDER BY id DESC{limit}",
            conditions.sql
        );
        fetch_reports(self, &sql, conditions.args, false).await
    }

    async fn all_reports(&self) -> Result<Vec<Report>, StoreError> {
        let sql = format!("SELECT {REPORT_COLUMNS} FROM reports ORDER BY id");
        fetch_reports(self, &sql, Vec::new(), true).await
    }

    async fn save_transition(
        &self,
        report: &Report,
        expected_version: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        // PostGIS: the row lock taken here makes a racing writer wait, then find the version changed.
        let args = vec![
            report.stage.as_str().into(),
            report.area_code.as_str().into(),
            report.level.as_str().into(),
            report.assignee.as_deref().into(),
            report.stage_since.into(),
            report.deadline.into(),
            report.closed_at.into(),
            report.version.into(),
            report.id.into(),
            expected_version.into(),
        ];
        let updated = tx
            .execute(
                "UPDATE reports SET stage = $1, area_code = $2, level = $3, assignee = $4, \
                 stage_since = $5, deadline = $6, closed_at = $7, version = $8 \
                 WHERE id = $9 AND version = $10",
                args,
            )
            .await?;
        if updated == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        let stored_seq = tx
            .fetch_i64(
                "SELECT CAST(coalesce(max(seq), 0) AS BIGINT) FROM report_events WHERE report_id = $1",
                vec![report.id.into()],
            )
            .await?
            .unwrap_or(0);
        insert_events(&mut *tx, report.id, report, stored_seq).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn report_notifications(
        &self,
    ) -> Result<Option<tokio::sync::mpsc::Receiver<i64>>, StoreError> {
        self.report_ids().await
    }
}
