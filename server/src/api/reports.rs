//! Reports: intake (`POST /v1/reports`), the list as GeoJSON, one report, actions on its case, and the live
//! stream of changes. Routing, staff choice and the legal moves are core's; this module checks input, stores
//! and announces.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, SubsecRound, Utc};
use futures::Stream;
use gridmap_core::workflow::WorkflowError;
use gridmap_core::{
    Action, Category, Channel, Command, Crs, Intake, Report, ReportEvent, RouteRecord, Stage,
    apply, choose_staff, new_report, overdue, route,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio::sync::broadcast::error::RecvError;

use crate::AppState;
use crate::api::geojson_response;
use crate::api::locate::check_lon_lat;
use crate::api::views::StaffView;
use crate::error::{ApiError, FieldError};
use crate::state::{MAX_CLOCK_SKEW, MAX_DESCRIPTION_CHARS, ON_DUTY_WINDOW};
use crate::store::{InsertOutcome, ReportFilter};

/// Longest client id, reporter, actor, assignee, in characters.
const MAX_SHORT_TEXT: usize = 200;
/// Longest reason, in characters.
const MAX_REASON_CHARS: usize = 2000;
/// Default and largest `limit` of the list.
const DEFAULT_LIST_LIMIT: usize = 1000;
const MAX_LIST_LIMIT: usize = 10_000;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/reports", post(create_report).get(list_reports))
        .route("/v1/reports/stream", get(stream_reports))
        .route("/v1/reports/{id}", get(get_report))
        .route("/v1/reports/{id}/actions", post(act_on_report))
}

/// A report as lists and the live stream show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReportSummary {
    pub id: i64,
    pub client_id: String,
    /// `01`..`10` or `emergency`.
    pub category: String,
    pub category_name: String,
    pub stage: String,
    pub stage_name: String,
    /// The responsible area now.
    pub area_code: String,
    pub level: String,
    /// The routing rule at intake: `exclusive`, `grid`, `boundary`, `nearest` or `fallback`.
    pub rule: String,
    /// Past its stage's deadline and not closed.
    pub overdue: bool,
    pub deadline: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
    pub description: String,
    pub assignee: Option<String>,
    pub version: i64,
    /// WGS-84.
    pub lon: f64,
    pub lat: f64,
}

impl ReportSummary {
    pub fn of(report: &Report, now: DateTime<Utc>) -> ReportSummary {
        ReportSummary {
            id: report.id,
            client_id: report.client_id.clone(),
            category: report.category.code().to_owned(),
            category_name: report.category.name_zh().to_owned(),
            stage: report.stage.as_str().to_owned(),
            stage_name: report.stage.name_zh().to_owned(),
            area_code: report.area_code.clone(),
            level: report.level.as_str().to_owned(),
            rule: report.route.rule.clone(),
            overdue: overdue(report, now),
            deadline: report.deadline,
            received_at: report.received_at,
            description: report.description.clone(),
            assignee: report.assignee.clone(),
            version: report.version,
            lon: report.point.x,
            lat: report.point.y,
        }
    }
}

/// A report with its route, staff and every event.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReportView {
    #[serde(flatten)]
    pub summary: ReportSummary,
    pub channel: String,
    pub reporter: Option<String>,
    pub reported_at: DateTime<Utc>,
    /// The coordinates as sent.
    pub input: InputPoint,
    /// Where the report was routed at intake and why (never changes).
    #[schema(value_type = Object)]
    pub route: RouteRecord,
    /// The routed area's leader and the handler chosen at intake, with the reason.
    pub leader: Option<StaffView>,
    pub handler: Option<StaffView>,
    pub handler_reason: String,
    /// Name of the responsible area now.
    pub area_name: Option<String>,
    /// The responsible area's staff now.
    pub staff: Vec<StaffView>,
    pub stage_since: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Every transition, oldest first.
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<ReportEvent>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InputPoint {
    pub lon: f64,
    pub lat: f64,
    pub crs: String,
}

fn view(state: &AppState, report: &Report) -> ReportView {
    let snapshot = state.snapshot();
    let area = snapshot
        .index
        .by_code(&report.area_code)
        .map(|id| snapshot.index.area(id));
    ReportView {
        summary: ReportSummary::of(report, state.now()),
        channel: report.channel.as_str().to_owned(),
        reporter: report.reporter.clone(),
        reported_at: report.reported_at,
        input: InputPoint {
            lon: report.input_point.x,
            lat: report.input_point.y,
            crs: report.input_crs.as_str().to_owned(),
        },
        route: report.route.clone(),
        leader: report.leader.as_ref().map(StaffView::of),
        handler: report.handler.as_ref().map(StaffView::of),
        handler_reason: report.handler_reason.clone(),
        area_name: area.map(|a| a.name.clone()),
        staff: area
            .map(|a| a.staff.iter().map(StaffView::of).collect())
            .unwrap_or_default(),
        stage_since: report.stage_since,
        closed_at: report.closed_at,
        events: report.events.clone(),
    }
}

/// `POST /v1/reports` body (documentation; the handler checks the JSON field by field to name the field at
/// fault).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ReportRequest {
    /// The client's id for this report; sending it again returns the stored report.
    pub client_id: String,
    /// `patrol`, `hotline_12345`, `video`, `transfer_110` or `app`.
    pub channel: String,
    /// `01`..`10` or `emergency`.
    pub category: String,
    pub location: LocationRequest,
    /// At most 2000 characters.
    pub description: String,
    pub reporter: Option<String>,
    /// RFC 3339; at most 5 minutes ahead of the server's clock. Default: when it arrives.
    pub reported_at: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LocationRequest {
    pub lon: f64,
    pub lat: f64,
    /// `wgs84` (default), `gcj02` or `bd09`.
    pub crs: Option<String>,
}

/// Collects field errors while reading a JSON object.
struct Fields<'a> {
    object: &'a Map<String, Value>,
    prefix: &'static str,
    errors: Vec<FieldError>,
}

impl<'a> Fields<'a> {
    fn new(object: &'a Map<String, Value>, prefix: &'static str) -> Fields<'a> {
        Fields {
            object,
            prefix,
            errors: Vec::new(),
        }
    }

    fn name(&self, field: &str) -> String {
        format!("{}{field}", self.prefix)
    }

    fn fail(&mut self, field: &str, reason: impl Into<String>) {
        let name = self.name(field);
        self.errors.push(FieldError::new(name, reason));
    }

    /// A string of 1..=`max` characters (`None` when absent or null and not `required`, or invalid).
    fn text(&mut self, field: &str, required: bool, max: usize) -> Option<String> {
        match self.object.get(field) {
            None | Some(Value::Null) => {
                if required {
                    self.fail(field, "required");
                }
                None
            }
            Some(Value::String(s)) if s.trim().is_empty() => {
                self.fail(field, "must not be empty");
                None
            }
            Some(Value::String(s)) if s.chars().count() > max => {
                self.fail(
                    field,
                    format!("{} characters; at most {max}", s.chars().count()),
                );
                None
            }
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.fail(field, "must be a string");
                None
            }
        }
    }

    /// A required number.
    fn number(&mut self, field: &str) -> Option<f64> {
        match self.object.get(field) {
            None | Some(Value::Null) => {
                self.fail(field, "required");
                None
            }
            Some(Value::Number(n)) => match n.as_f64() {
                Some(x) if x.is_finite() => Some(x),
                _ => {
                    self.fail(field, "must be a finite number");
                    None
                }
            },
            Some(_) => {
                self.fail(field, "must be a finite number");
                None
            }
        }
    }

    /// A required category code, read by [`parse_category`].
    fn category(&mut self, field: &str) -> Option<Category> {
        let text = self.text(field, true, MAX_SHORT_TEXT)?;
        let category = parse_category(&text);
        if category.is_none() {
            self.fail(field, unknown_category(&text));
        }
        category
    }

    /// One of a serde enum's names.
    fn choice<T: serde::de::DeserializeOwned>(
        &mut self,
        field: &str,
        required: bool,
        expected: &str,
    ) -> Option<T> {
        let text = self.text(field, required, MAX_SHORT_TEXT)?;
        let parsed = serde_json::from_value(Value::String(text.clone())).ok();
        if parsed.is_none() {
            self.fail(
                field,
                format!("unknown {field} `{text}`; expected {expected}"),
            );
        }
        parsed
    }
}

fn json_object(body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(ApiError::field("body", "expected a JSON object")),
        Err(e) => Err(ApiError::field("body", e.to_string())),
    }
}

const CHANNELS: &str = "patrol, hotline_12345, video, transfer_110 or app";

/// Reads a category code (`01`..`10`, `emergency`): the one parser of categories for the intake and for
/// `/v1/locate`, so both take the same values. Allocates nothing (a batch reads one per point).
pub fn parse_category(text: &str) -> Option<Category> {
    Category::ALL.into_iter().find(|c| c.code() == text)
}

/// Why `text` is not a category, listing the valid codes.
pub fn unknown_category(text: &str) -> String {
    let codes: Vec<&str> = Category::ALL.iter().map(|c| c.code()).collect();
    format!(
        "unknown category `{text}`; expected one of {}",
        codes.join(", ")
    )
}

/// Reads and checks an intake request; every field at fault is reported.
fn parse_intake(object: &Map<String, Value>, now: DateTime<Utc>) -> Result<Intake, ApiError> {
    let mut fields = Fields::new(object, "");
    let client_id = fields.text("client_id", true, MAX_SHORT_TEXT);
    let channel: Option<Channel> = fields.choice("channel", true, CHANNELS);
    let category = fields.category("category");
    let description = fields.text("description", true, MAX_DESCRIPTION_CHARS);
    let reporter = fields.text("reporter", false, MAX_SHORT_TEXT);
    let reported_at = match fields.text("reported_at", false, MAX_SHORT_TEXT) {
        None => Some(now),
        Some(text) => match DateTime::parse_from_rfc3339(&text) {
            Ok(t) if t.with_timezone(&Utc) > now + MAX_CLOCK_SKEW => {
                fields.fail(
                    "reported_at",
                    format!("{text} is in the future (server time {})", now.to_rfc3339()),
                );
                None
            }
            // Stored to the millisecond; truncated here so a repeat compares equal.
            Ok(t) => Some(t.with_timezone(&Utc).trunc_subsecs(3)),
            Err(e) => {
                fields.fail(
                    "reported_at",
                    format!("`{text}` is not an RFC 3339 time: {e}"),
                );
                None
            }
        },
    };
    let mut errors = fields.errors;
    let location = match object.get("location") {
        Some(Value::Object(location)) => {
            let mut at = Fields::new(location, "location/");
            let lon = at.number("lon");
            let lat = at.number("lat");
            let crs: Option<Crs> = match at.text("crs", false, MAX_SHORT_TEXT) {
                None if at.errors.iter().any(|e| e.field == "location/crs") => None,
                None => Some(Crs::Wgs84),
                Some(text) => text.parse().ok().or_else(|| {
                    at.fail(
                        "crs",
                        format!("unknown crs `{text}`; expected wgs84, gcj02 or bd09"),
                    );
                    None
                }),
            };
            let checked = match (lon, lat) {
                (Some(lon), Some(lat)) => match check_lon_lat(lon, lat, "location") {
                    Ok(c) => Some(c),
                    Err(e) => {
                        at.errors.push(e);
                        None
                    }
                },
                _ => None,
            };
            errors.extend(at.errors);
            checked.zip(crs)
        }
        None | Some(Value::Null) => {
            errors.push(FieldError::new("location", "required: {lon, lat, crs?}"));
            None
        }
        Some(_) => {
            errors.push(FieldError::new(
                "location",
                "expected an object {lon, lat, crs?}",
            ));
            None
        }
    };
    match (
        client_id,
        channel,
        category,
        description,
        reported_at,
        location,
    ) {
        (
            Some(client_id),
            Some(channel),
            Some(category),
            Some(description),
            Some(reported_at),
            Some((input_point, input_crs)),
        ) if errors.is_empty() => Ok(Intake {
            client_id,
            channel,
            category,
            description,
            reporter,
            reported_at,
            point: input_crs.to_wgs84(input_point),
            input_crs,
            input_point,
        }),
        _ => Err(ApiError::unprocessable(errors)),
    }
}

/// Is a stored report the one this request describes? (`reported_at` only when the request gave it.)
fn same_content(stored: &Report, intake: &Intake, gave_reported_at: bool) -> bool {
    stored.channel == intake.channel
        && stored.category == intake.category
        && stored.description == intake.description
        && stored.reporter == intake.reporter
        && stored.input_crs == intake.input_crs
        && stored.input_point == intake.input_point
        && (!gave_reported_at || stored.reported_at == intake.reported_at)
}

/// Takes a report: routes it to the responsible area, chooses its staff, registers the case.
#[utoipa::path(post, path = "/v1/reports", request_body = ReportRequest, tag = "reports",
    responses(
        (status = 201, description = "stored", body = ReportView),
        (status = 200, description = "this client_id was already stored with the same content", body = ReportView),
        (status = 409, description = "this client_id was stored with other content", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid field, or the point is outside every area and too far from any grid", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn create_report(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let object = json_object(&body?)?;
    let now = state.now();
    let intake = parse_intake(&object, now)?;
    let gave_reported_at = object.get("reported_at").is_some_and(|v| !v.is_null());
    let settings = &state.config.reports;
    let snapshot = state.snapshot();
    let index = &snapshot.index;
    let routed =
        route(index, &settings.policy, intake.point, intake.category).ok_or_else(|| {
            ApiError::unprocessable(vec![FieldError::new(
                "location",
                format!(
                    "the point is in no area and more than {} m from every grid",
                    settings.policy.max_nearest_m
                ),
            )])
        })?;
    // Workers' latest patrol fixes pick the nearest one on duty; without any the roster decides.
    let area = index.area(routed.area);
    let staff = choose_staff(
        area,
        intake.point,
        &state.positions.for_staff(&area.staff),
        now,
        ON_DUTY_WINDOW,
    );
    let candidate = intake.clone();
    let mut report = new_report(
        intake,
        index,
        &routed,
        staff,
        now,
        &settings.calendar,
        &settings.limits,
    );
    match state.store.insert_report(&report).await? {
        InsertOutcome::Created(id) => {
            report.id = id;
            state.feed.publish(&report, now);
            Ok((StatusCode::CREATED, Json(view(&state, &report))).into_response())
        }
        InsertOutcome::Existing(stored) if same_content(&stored, &candidate, gave_reported_at) => {
            Ok((StatusCode::OK, Json(view(&state, &stored))).into_response())
        }
        InsertOutcome::Existing(stored) => Err(ApiError::Conflict(format!(
            "client_id `{}` is report {} with other content",
            stored.client_id, stored.id
        ))),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ListParams {
    /// `west,south,east,north` in WGS-84 degrees.
    pub bbox: Option<String>,
    /// `registered`, `dispatched`, `handling`, `verification`, `closed`, `returned` or `escalated`.
    pub stage: Option<String>,
    /// Code of the responsible area or of an area above it (prefix of the code).
    pub area: Option<String>,
    /// `true`: only cases past their deadline.
    pub overdue: Option<String>,
    /// At most this many, newest first (default 1000, at most 10000).
    pub limit: Option<String>,
    /// The reports as they stood at this time (RFC 3339): received by then, each case's stage, area, assignee
    /// and deadline after its last event by then (`stage`, `area` and `overdue` filter on those), and `located`,
    /// the area responsible for the point by the boundaries valid then. The routing at intake is never redone.
    pub at: Option<String>,
}

fn parse_bbox(text: &str) -> Result<[f64; 4], ApiError> {
    let parts: Vec<f64> = text
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| ApiError::field("bbox", "expected four numbers: west,south,east,north"))?;
    let [west, south, east, north] = parts[..] else {
        return Err(ApiError::field(
            "bbox",
            "expected four numbers: west,south,east,north",
        ));
    };
    for (lon, lat) in [(west, south), (east, north)] {
        check_lon_lat(lon, lat, "").map_err(|e| ApiError::field("bbox", e.reason))?;
    }
    if west > east || south > north {
        return Err(ApiError::field(
            "bbox",
            "west must not exceed east, south must not exceed north",
        ));
    }
    Ok([west, south, east, north])
}

fn parse_stage(field: &str, text: &str) -> Result<Stage, ApiError> {
    serde_json::from_value(Value::String(text.to_owned())).map_err(|_| {
        ApiError::field(
            field,
            format!(
                "unknown stage `{text}`; expected one of {}",
                Stage::ALL.map(Stage::as_str).join(", ")
            ),
        )
    })
}

/// Reports as a GeoJSON FeatureCollection of points (RFC 7946), newest first.
#[utoipa::path(get, path = "/v1/reports", params(ListParams), tag = "reports",
    responses((status = 200, description = "GeoJSON FeatureCollection; properties as ReportSummary", content_type = "application/geo+json"),
        (status = 400, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn list_reports(
    State(state): State<Arc<AppState>>,
    query: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = query?;
    let now = state.now();
    let mut filter = ReportFilter {
        bbox: params.bbox.as_deref().map(parse_bbox).transpose()?,
        stage: params
            .stage
            .as_deref()
            .map(|s| parse_stage("stage", s))
            .transpose()?,
        area_prefix: params.area.filter(|a| !a.is_empty()),
        overdue_at: None,
        limit: Some(DEFAULT_LIST_LIMIT),
        received_by: None,
    };
    match params.overdue.as_deref() {
        None | Some("false") => {}
        Some("true") => filter.overdue_at = Some(now),
        Some(other) => {
            return Err(ApiError::field(
                "overdue",
                format!("`{other}`: expected true or false"),
            ));
        }
    }
    if let Some(limit) = params.limit {
        let n: usize = limit
            .parse()
            .map_err(|_| ApiError::field("limit", format!("`{limit}` is not a count")))?;
        if n == 0 || n > MAX_LIST_LIMIT {
            return Err(ApiError::field(
                "limit",
                format!("{n} is outside 1..{MAX_LIST_LIMIT}"),
            ));
        }
        filter.limit = Some(n);
    }
    let at = params
        .at
        .as_deref()
        .map(|t| crate::time_travel::parse_at("at", t))
        .transpose()?;
    let features: Vec<Value> = match at {
        None => state
            .store
            .reports(&filter)
            .await?
            .iter()
            .map(|r| report_feature(r, ReportSummary::of(r, now), None))
            .collect(),
        Some(at) => reports_at(&state, filter, at).await?,
    };
    Ok(geojson_response(
        &json!({"type": "FeatureCollection", "features": features}),
    ))
}

fn report_feature(report: &Report, summary: ReportSummary, located: Option<Value>) -> Value {
    let mut properties = serde_json::to_value(summary).unwrap_or_else(|_| json!({}));
    if let Some(located) = located {
        properties["located"] = located;
    }
    json!({
        "type": "Feature",
        "id": report.id,
        "geometry": {"type": "Point", "coordinates": [report.point.x, report.point.y]},
        "properties": properties,
    })
}

/// The list as it stood at `at`: every report received by then, replayed to `at`, then filtered (stage, area,
/// overdue: of the case then) and cut to the limit; each with the area its point lay in by the boundaries then.
async fn reports_at(
    state: &AppState,
    mut filter: ReportFilter,
    at: DateTime<Utc>,
) -> Result<Vec<Value>, ApiError> {
    let stage = filter.stage.take();
    let prefix = filter.area_prefix.take();
    let overdue_only = filter.overdue_at.take().is_some();
    let limit = filter.limit.take().unwrap_or(DEFAULT_LIST_LIMIT);
    filter.received_by = Some(at);
    let reports = state.store.reports(&filter).await?;
    let city = state.city_at(Some(at)).await?;
    let now = state.snapshot();
    let index = city.index();
    // An area a case was moved to may have been retired since: its level from the city then, else now.
    let level_of = |code: &str| {
        index
            .by_code(code)
            .map(|id| index.area(id).level)
            .or_else(|| now.index.by_code(code).map(|id| now.index.area(id).level))
    };
    Ok(reports
        .iter()
        .filter_map(|r| gridmap_core::workflow::as_of(r, at, level_of).map(|then| (r, then)))
        .filter(|(_, then)| stage.is_none_or(|s| then.stage == s))
        .filter(|(_, then)| {
            prefix
                .as_deref()
                .is_none_or(|p| then.area_code.starts_with(p))
        })
        .filter(|(_, then)| !overdue_only || overdue(then, at))
        .take(limit)
        .map(|(r, then)| {
            let located = index.locate(r.point).responsible.map(|id| {
                let area = index.area(id);
                json!({"code": area.code, "name": area.name, "level": area.level.as_str()})
            });
            report_feature(
                r,
                ReportSummary::of(&then, at),
                Some(located.unwrap_or(Value::Null)),
            )
        })
        .collect())
}

fn parse_id(text: &str) -> Result<i64, ApiError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::field("id", format!("`{text}` is not a report id")))
}

/// One report with its route, staff and events.
#[utoipa::path(get, path = "/v1/reports/{id}", tag = "reports",
    params(("id" = i64, Path, description = "report id")),
    responses((status = 200, body = ReportView),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn get_report(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<ReportView>, ApiError> {
    let id = parse_id(&id)?;
    let report = state
        .store
        .report(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("report {id}")))?;
    Ok(Json(view(&state, &report)))
}

/// `POST /v1/reports/{id}/actions` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ActionRequest {
    /// `dispatch`, `accept`, `submit`, `close`, `rework`, `return`, `escalate`, `reassign` or `extend`.
    pub action: String,
    /// Who acts.
    pub actor: String,
    /// Required for escalate, return, rework and extend.
    pub reason: Option<String>,
    /// Reassign: the area to send the case to.
    pub area_code: Option<String>,
    /// The new assignee.
    pub assignee: Option<String>,
    /// The version the client saw; a stale one gets 409 and changes nothing.
    pub version: Option<i64>,
}

const ACTIONS: &str =
    "dispatch, accept, submit, close, rework, return, escalate, reassign or extend";

fn parse_action(object: &Map<String, Value>) -> Result<(Command, Option<i64>), ApiError> {
    let mut fields = Fields::new(object, "");
    let action: Option<Action> = fields.choice("action", true, ACTIONS);
    if action == Some(Action::Register) {
        fields.fail("action", "register happens at intake only");
    }
    let actor = fields.text("actor", true, MAX_SHORT_TEXT);
    let reason = fields.text("reason", false, MAX_REASON_CHARS);
    let area_code = fields.text("area_code", false, MAX_SHORT_TEXT);
    let assignee = fields.text("assignee", false, MAX_SHORT_TEXT);
    let version = match object.get("version") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let version = v.as_i64().filter(|v| *v >= 1);
            if version.is_none() {
                fields.fail("version", "must be a whole number ≥ 1");
            }
            version
        }
    };
    match (action, actor) {
        (Some(action), Some(actor)) if fields.errors.is_empty() => Ok((
            Command {
                action,
                actor,
                reason,
                area_code,
                assignee,
            },
            version,
        )),
        _ => Err(ApiError::unprocessable(fields.errors)),
    }
}

/// Acts on a case: moves it to its next stage and records who did what, when and why.
#[utoipa::path(post, path = "/v1/reports/{id}/actions", request_body = ActionRequest, tag = "reports",
    params(("id" = i64, Path, description = "report id")),
    responses((status = 200, body = ReportView),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "illegal in the case's stage, or the version is stale", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn act_on_report(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<ReportView>, ApiError> {
    let id = parse_id(&id)?;
    let object = json_object(&body?)?;
    let (command, version) = parse_action(&object)?;
    let mut report = state
        .store
        .report(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("report {id}")))?;
    let expected = report.version;
    if let Some(version) = version
        && version != expected
    {
        return Err(ApiError::Conflict(format!(
            "report {id} is at version {expected}, not {version}: reload it"
        )));
    }
    let now = state.now();
    let settings = &state.config.reports;
    let snapshot = state.snapshot();
    apply(
        &mut report,
        &snapshot.index,
        &settings.calendar,
        &settings.limits,
        command,
        now,
    )
    .map_err(|e| match e {
        WorkflowError::Illegal(_) | WorkflowError::NoHigherLevel(_) => {
            ApiError::Conflict(e.to_string())
        }
        WorkflowError::MissingReason(_) => {
            ApiError::unprocessable(vec![FieldError::new("reason", e.to_string())])
        }
        WorkflowError::UnknownArea(_) => {
            ApiError::unprocessable(vec![FieldError::new("area_code", e.to_string())])
        }
    })?;
    if !state.store.save_transition(&report, expected).await? {
        return Err(ApiError::Conflict(format!(
            "report {id} was changed by someone else meanwhile: reload it"
        )));
    }
    state.feed.publish(&report, now);
    Ok(Json(view(&state, &report)))
}

/// Server-sent events: `event: report`, data a [`ReportSummary`], for every intake and transition on any
/// process serving this store.
#[utoipa::path(get, path = "/v1/reports/stream", tag = "reports",
    responses((status = 200, description = "text/event-stream of `report` events (data: ReportSummary)", content_type = "text/event-stream")))]
pub async fn stream_reports(
    State(state): State<Arc<AppState>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let receiver = state.feed.subscribe();
    let events = futures::stream::unfold(receiver, |mut receiver| async move {
        let event = match receiver.recv().await {
            Ok(summary) => Event::default()
                .event("report")
                .id(format!("{}-{}", summary.id, summary.version))
                .json_data(summary.as_ref())
                .unwrap_or_else(|_| Event::default().comment("unserialisable report")),
            // A slow client missed some: tell it to reload rather than end the stream.
            Err(RecvError::Lagged(missed)) => {
                Event::default().event("lagged").data(missed.to_string())
            }
            Err(RecvError::Closed) => return None,
        };
        Some((Ok(event), receiver))
    });
    Sse::new(events).keep_alive(KeepAlive::default())
}
