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
use gridmap_core::{Action, Channel, Command, Crs, Intake, Stage};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::sync::broadcast::error::RecvError;

use crate::AppState;
use crate::api::extract::{
    At, AtParam, Bbox, BboxParam, Fields, Limit, MAX_SHORT_TEXT, Opt, check_lon_lat, json_object,
};
use crate::api::geojson_response;
use crate::error::{ApiError, FieldError};
use crate::service::reports::{self, Intook};
use crate::state::{MAX_CLOCK_SKEW, MAX_DESCRIPTION_CHARS};
use crate::store::ReportFilter;
use crate::views::ReportView;

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

const CHANNELS: &str = "patrol, hotline_12345, video, transfer_110 or app";

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
    let (status, report) = match reports::intake(&state, intake, gave_reported_at, now).await? {
        Intook::Created(report) => (StatusCode::CREATED, report),
        Intook::Existing(report) => (StatusCode::OK, report),
    };
    let view = ReportView::of(&state.snapshot(), &report, state.now());
    Ok((status, Json(view)).into_response())
}

/// `limit` of the list: newest first, default 1000.
type ListLimit = Opt<Limit<MAX_LIST_LIMIT>>;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ListParams {
    /// `registered`, `dispatched`, `handling`, `verification`, `closed`, `returned` or `escalated`.
    pub stage: Option<String>,
    /// Code of the responsible area or of an area above it (prefix of the code).
    pub area: Option<String>,
    /// `true`: only cases past their deadline.
    pub overdue: Option<String>,
}

fn parse_stage(field: &str, text: &str) -> Result<Stage, ApiError> {
    let stages = Stage::ALL.map(Stage::as_str).join(", ");
    let reason = format!("unknown stage `{text}`; expected one of {stages}");
    serde_json::from_value(Value::String(text.to_owned()))
        .map_err(|_| ApiError::field(field, reason))
}

/// Reports as a GeoJSON FeatureCollection of points (RFC 7946), newest first (`limit`: default 1000, at most
/// 10000). With `at`, the reports as they stood then: received by then, each case's stage, area, assignee and
/// deadline after its last event by then (`stage`, `area` and `overdue` filter on those), and `located`, the
/// area responsible for the point by the boundaries valid then. The routing at intake is never redone.
#[utoipa::path(get, path = "/v1/reports", params(ListParams, BboxParam, ListLimit, AtParam), tag = "reports",
    responses((status = 200, description = "GeoJSON FeatureCollection; properties as ReportSummary", content_type = "application/geo+json"),
        (status = 400, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn list_reports(
    State(state): State<Arc<AppState>>,
    query: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
    Opt(bbox): BboxParam,
    Opt(limit): ListLimit,
    Opt(at): AtParam,
) -> Result<Response, ApiError> {
    let Query(params) = query?;
    let overdue = match params.overdue.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            let reason = format!("`{other}`: expected true or false");
            return Err(ApiError::field("overdue", reason));
        }
    };
    let filter = ReportFilter {
        bbox: bbox.map(|Bbox(b)| b),
        stage: params
            .stage
            .as_deref()
            .map(|s| parse_stage("stage", s))
            .transpose()?,
        area_prefix: params.area.filter(|a| !a.is_empty()),
        overdue_at: None,
        limit: Some(limit.map_or(DEFAULT_LIST_LIMIT, |Limit(n)| n)),
        received_by: None,
    };
    let features = reports::list(&state, filter, overdue, at.map(|At(t)| t)).await?;
    Ok(geojson_response(
        &json!({"type": "FeatureCollection", "features": features}),
    ))
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
    Ok(Json(ReportView::of(
        &state.snapshot(),
        &report,
        state.now(),
    )))
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
    let report = reports::act(&state, id, command, version).await?;
    Ok(Json(ReportView::of(
        &state.snapshot(),
        &report,
        state.now(),
    )))
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
