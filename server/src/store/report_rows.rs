//! Reports as both stores keep them: one row per report (the case now, the route at intake) and one row per
//! event. Enum values are stored as their API names (`registered`, `06`, `gcj02`), so the rows read well in QGIS.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use geo_types::Coord;
use gridmap_core::{
    Action, Category, Channel, Crs, Level, Report, ReportEvent, RouteRecord, StaffMember, Stage,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::StoreError;
use super::common::parse_role;

/// The columns of `reports`, in the order the stores select them (`REPORT_COLUMNS`).
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ReportRow {
    pub id: i64,
    pub client_id: String,
    pub channel: String,
    pub category: String,
    pub description: String,
    pub reporter: Option<String>,
    pub reported_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub lon: f64,
    pub lat: f64,
    pub input_crs: String,
    pub input_lon: f64,
    pub input_lat: f64,
    pub route_area_code: String,
    pub route_level: String,
    pub route_rule: String,
    pub route_distance_m: f64,
    pub route_micro_grid_code: Option<String>,
    pub route_chain: String,
    pub leader_name: Option<String>,
    pub leader_phone: Option<String>,
    pub leader_role: Option<String>,
    pub handler_name: Option<String>,
    pub handler_phone: Option<String>,
    pub handler_role: Option<String>,
    pub handler_reason: String,
    pub stage: String,
    pub area_code: String,
    pub level: String,
    pub assignee: Option<String>,
    pub stage_since: DateTime<Utc>,
    pub deadline: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub version: i64,
}

/// Every column of [`ReportRow`], for `SELECT`.
pub(crate) const REPORT_COLUMNS: &str = "id, client_id, channel, category, description, reporter, \
    reported_at, received_at, lon, lat, input_crs, input_lon, input_lat, route_area_code, route_level, \
    route_rule, route_distance_m, route_micro_grid_code, route_chain, leader_name, leader_phone, leader_role, \
    handler_name, handler_phone, handler_role, handler_reason, stage, area_code, level, assignee, stage_since, \
    deadline, closed_at, version";

/// The columns of `report_events`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct EventRow {
    pub report_id: i64,
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub from_stage: String,
    pub to_stage: String,
    pub reason: Option<String>,
    pub area_code: String,
    pub assignee: Option<String>,
    pub deadline: Option<DateTime<Utc>>,
}

/// Every column of [`EventRow`], for `SELECT`.
pub(crate) const EVENT_COLUMNS: &str = "report_id, seq, at, actor, action, from_stage, to_stage, reason, area_code, assignee, deadline";

/// The API name of a serde enum value (`Stage::Registered` → `registered`).
pub(crate) fn enum_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        // Every enum stored here serialises as a plain string.
        other => format!("{other:?}"),
    }
}

fn parse_enum<T: DeserializeOwned>(what: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|_| StoreError::Invalid(format!("unknown {what} `{text}`")))
}

fn parse_level(text: &str) -> Result<Level, StoreError> {
    text.parse()
        .map_err(|_| StoreError::Invalid(format!("unknown level `{text}`")))
}

/// The chain of codes as stored (a JSON array).
pub(crate) fn chain_json(route: &RouteRecord) -> String {
    serde_json::to_string(&route.chain_codes).unwrap_or_else(|_| "[]".to_owned())
}

/// A staff member's (name, phone, role) columns.
pub(crate) fn staff_columns(
    member: Option<&StaffMember>,
) -> (Option<&str>, Option<&str>, Option<&'static str>) {
    member.map_or((None, None, None), |m| {
        (
            Some(m.name.as_str()),
            Some(m.phone.as_str()),
            Some(m.role.as_str()),
        )
    })
}

fn staff_member(
    code: &str,
    name: Option<String>,
    phone: Option<String>,
    role: Option<String>,
) -> Result<Option<StaffMember>, StoreError> {
    match (name, phone, role) {
        (Some(name), Some(phone), Some(role)) => Ok(Some(StaffMember {
            role: parse_role(code, &role)?,
            name,
            phone,
        })),
        _ => Ok(None),
    }
}

fn event_from_row(row: EventRow) -> Result<ReportEvent, StoreError> {
    Ok(ReportEvent {
        seq: u32::try_from(row.seq)
            .map_err(|_| StoreError::Invalid(format!("event seq {} out of range", row.seq)))?,
        at: row.at,
        actor: row.actor,
        action: parse_enum::<Action>("action", &row.action)?,
        from: parse_enum::<Stage>("stage", &row.from_stage)?,
        to: parse_enum::<Stage>("stage", &row.to_stage)?,
        reason: row.reason,
        area_code: row.area_code,
        assignee: row.assignee,
        deadline: row.deadline,
    })
}

fn report_from_row(row: ReportRow, events: Vec<ReportEvent>) -> Result<Report, StoreError> {
    let chain_codes: Vec<String> = serde_json::from_str(&row.route_chain).map_err(|e| {
        StoreError::Invalid(format!("report {} has an invalid route chain: {e}", row.id))
    })?;
    let leader = staff_member(
        &row.route_area_code,
        row.leader_name,
        row.leader_phone,
        row.leader_role,
    )?;
    let handler = staff_member(
        &row.route_area_code,
        row.handler_name,
        row.handler_phone,
        row.handler_role,
    )?;
    Ok(Report {
        id: row.id,
        client_id: row.client_id,
        channel: parse_enum::<Channel>("channel", &row.channel)?,
        category: parse_enum::<Category>("category", &row.category)?,
        description: row.description,
        reporter: row.reporter,
        reported_at: row.reported_at,
        received_at: row.received_at,
        point: Coord {
            x: row.lon,
            y: row.lat,
        },
        input_crs: parse_enum::<Crs>("crs", &row.input_crs)?,
        input_point: Coord {
            x: row.input_lon,
            y: row.input_lat,
        },
        route: RouteRecord {
            level: parse_level(&row.route_level)?,
            area_code: row.route_area_code,
            rule: row.route_rule,
            distance_m: row.route_distance_m,
            micro_grid_code: row.route_micro_grid_code,
            chain_codes,
        },
        leader,
        handler,
        handler_reason: row.handler_reason,
        stage: parse_enum::<Stage>("stage", &row.stage)?,
        area_code: row.area_code,
        level: parse_level(&row.level)?,
        assignee: row.assignee,
        stage_since: row.stage_since,
        deadline: row.deadline,
        closed_at: row.closed_at,
        version: row.version,
        events,
    })
}

/// Reports from their rows and their events' rows (any order), in the order of `rows`.
pub(crate) fn assemble(
    rows: Vec<ReportRow>,
    event_rows: Vec<EventRow>,
) -> Result<Vec<Report>, StoreError> {
    let mut events: HashMap<i64, Vec<ReportEvent>> = HashMap::new();
    for row in event_rows {
        events
            .entry(row.report_id)
            .or_default()
            .push(event_from_row(row)?);
    }
    rows.into_iter()
        .map(|row| {
            let mut list = events.remove(&row.id).unwrap_or_default();
            list.sort_by_key(|e| e.seq);
            report_from_row(row, list)
        })
        .collect()
}

/// Events of `report` after the last stored one: transitions append, never rewrite.
pub(crate) fn events_after(report: &Report, stored_seq: i64) -> Vec<&ReportEvent> {
    report
        .events
        .iter()
        .filter(|e| i64::from(e.seq) > stored_seq)
        .collect()
}
