//! `POST /v1/patrols`: batches of grid workers' GPS fixes, as JSON or NDJSON.
//!
//! Every fix is checked first; one bad fix rejects the batch (422 naming `fixes/INDEX/FIELD` or, for NDJSON,
//! `lines/LINE/FIELD` with 1-based line numbers) and nothing is stored. Good batches are stored raw,
//! deduplicated on `(worker, at)`, so re-sent and out-of-order batches are safe. The answer also says what
//! cleaning would drop from the batch and why (cleaning itself runs when coverage is computed).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::post;
use chrono::{DateTime, TimeDelta, Utc};
use gridmap_core::{CleaningPolicy, Crs, Reason, clean, last_positions};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::AppState;
use crate::api::extract::{check_lon_lat, parse_crs};
use crate::error::{ApiError, FieldError};
use crate::store::StoredFix;

pub fn router() -> Router<Arc<AppState>> {
    Router::new().route("/v1/patrols", post(ingest))
}

/// Media type of newline-delimited JSON bodies.
pub const NDJSON: &str = "application/x-ndjson";
/// Longest worker id, in characters.
const MAX_WORKER_CHARS: usize = 64;
/// A fix may be at most this far ahead of the server's clock (phone clocks drift; more is a wrong clock).
const MAX_FUTURE: TimeDelta = TimeDelta::days(1);
/// Errors listed in one answer.
const MAX_ERRORS: usize = 20;

/// What cleaning would do with the batch on its own.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CleaningSummary {
    /// Fixes kept in tracks.
    pub kept: usize,
    /// Continuous tracks (split at long gaps).
    pub tracks: usize,
    /// Repeated `(worker, at)` inside the batch.
    pub duplicates: usize,
    /// Rejected fixes by reason: `poor_accuracy`, `spike`, `too_fast`, `invalid`.
    pub rejected: BTreeMap<&'static str, usize>,
}

/// The outcome of a batch.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IngestResponse {
    /// Fixes in the request.
    pub received: usize,
    /// Fixes newly stored.
    pub accepted: u64,
    /// Fixes whose `(worker, at)` was already stored or repeated in the batch (ignored).
    pub duplicates: u64,
    pub cleaning: CleaningSummary,
}

/// Where a fix came from, for error field names.
#[derive(Debug, Clone, Copy)]
enum Place {
    /// Index in `fixes`.
    Index(usize),
    /// 1-based NDJSON line.
    Line(usize),
}

impl Place {
    fn field(self, name: &str) -> String {
        let base = match self {
            Place::Index(i) => format!("fixes/{i}"),
            Place::Line(n) => format!("lines/{n}"),
        };
        if name.is_empty() {
            base
        } else {
            format!("{base}/{name}")
        }
    }
}

fn number(object: &Map<String, Value>, name: &str, place: Place) -> Result<f64, FieldError> {
    match object.get(name) {
        None | Some(Value::Null) => Err(FieldError::new(place.field(name), "required")),
        Some(Value::Number(n)) => n
            .as_f64()
            .ok_or_else(|| FieldError::new(place.field(name), "not a finite number")),
        Some(other) => Err(FieldError::new(
            place.field(name),
            format!("expected a number, got {other}"),
        )),
    }
}

/// One fix from its JSON object, converted to WGS-84.
fn parse_fix(
    value: &Value,
    place: Place,
    default_crs: Crs,
    now: DateTime<Utc>,
) -> Result<StoredFix, FieldError> {
    let Value::Object(object) = value else {
        return Err(FieldError::new(place.field(""), "expected a JSON object"));
    };
    let worker = match object.get("worker") {
        Some(Value::String(w)) if !w.trim().is_empty() => {
            if w.chars().count() > MAX_WORKER_CHARS {
                return Err(FieldError::new(
                    place.field("worker"),
                    format!("longer than {MAX_WORKER_CHARS} characters"),
                ));
            }
            w.trim().to_owned()
        }
        None | Some(Value::Null) => return Err(FieldError::new(place.field("worker"), "required")),
        Some(_) => {
            return Err(FieldError::new(
                place.field("worker"),
                "expected a non-empty string (the worker's phone number)",
            ));
        }
    };
    let at = match object.get("at") {
        Some(Value::String(text)) => DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| {
                FieldError::new(
                    place.field("at"),
                    format!("`{text}` is not an RFC 3339 time: {e}"),
                )
            })?,
        None | Some(Value::Null) => return Err(FieldError::new(place.field("at"), "required")),
        Some(other) => {
            return Err(FieldError::new(
                place.field("at"),
                format!("expected an RFC 3339 time string, got {other}"),
            ));
        }
    };
    if at > now + MAX_FUTURE {
        return Err(FieldError::new(
            place.field("at"),
            format!("{at} is more than a day ahead of the server's clock ({now})"),
        ));
    }
    let lon = number(object, "lon", place)?;
    let lat = number(object, "lat", place)?;
    let accuracy_m = match object.get("accuracy") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_f64() {
            Some(a) if a.is_finite() && a >= 0.0 => Some(a),
            _ => {
                return Err(FieldError::new(
                    place.field("accuracy"),
                    format!("{n} is not a non-negative number of metres"),
                ));
            }
        },
        Some(other) => {
            return Err(FieldError::new(
                place.field("accuracy"),
                format!("expected metres, got {other}"),
            ));
        }
    };
    let crs = match object.get("crs") {
        None | Some(Value::Null) => default_crs,
        Some(Value::String(s)) => s.parse().map_err(|_| {
            FieldError::new(
                place.field("crs"),
                format!("unknown crs `{s}`; expected wgs84, gcj02 or bd09"),
            )
        })?,
        Some(other) => {
            return Err(FieldError::new(
                place.field("crs"),
                format!("expected wgs84, gcj02 or bd09, got {other}"),
            ));
        }
    };
    let input = check_lon_lat(lon, lat, &place.field(""))?;
    Ok(StoredFix {
        worker,
        at,
        point: crs.to_wgs84(input),
        accuracy_m,
    })
}

fn too_many(n: usize, max: usize) -> ApiError {
    ApiError::PayloadTooLarge(format!("{n} fixes in one request; the limit is {max}"))
}

/// The batch's fixes, as JSON values with their places, and the batch's default CRS.
fn split_body(
    body: &[u8],
    ndjson: bool,
    max: usize,
) -> Result<(Vec<(Place, Value)>, Crs), ApiError> {
    if ndjson {
        let text = std::str::from_utf8(body).map_err(|e| ApiError::field("body", e.to_string()))?;
        let lines: Vec<(usize, &str)> = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .collect();
        if lines.len() > max {
            return Err(too_many(lines.len(), max));
        }
        let mut values = Vec::with_capacity(lines.len());
        for (k, line) in lines {
            let place = Place::Line(k + 1);
            let value: Value = serde_json::from_str(line)
                .map_err(|e| ApiError::field(place.field(""), format!("not JSON: {e}")))?;
            values.push((place, value));
        }
        return Ok((values, Crs::Wgs84));
    }
    let value: Value =
        serde_json::from_slice(body).map_err(|e| ApiError::field("body", e.to_string()))?;
    let Value::Object(mut object) = value else {
        return Err(ApiError::field(
            "body",
            "expected {\"fixes\": [...]} (or NDJSON with content-type application/x-ndjson)",
        ));
    };
    let crs = match object.get("crs") {
        None | Some(Value::Null) => Crs::Wgs84,
        Some(Value::String(s)) => parse_crs("crs", Some(s))?,
        Some(_) => return Err(ApiError::field("crs", "expected wgs84, gcj02 or bd09")),
    };
    let Some(Value::Array(fixes)) = object.remove("fixes") else {
        return Err(ApiError::field("fixes", "required: an array of fixes"));
    };
    if fixes.len() > max {
        return Err(too_many(fixes.len(), max));
    }
    Ok((
        fixes
            .into_iter()
            .enumerate()
            .map(|(i, v)| (Place::Index(i), v))
            .collect(),
        crs,
    ))
}

fn is_ndjson(headers: &HeaderMap) -> Result<bool, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/json" => Ok(false),
        NDJSON | "application/jsonl" | "application/x-jsonlines" => Ok(true),
        _ => Err(ApiError::Invalid {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            errors: vec![FieldError::new(
                "content-type",
                format!("`{content_type}`: expected application/json or {NDJSON}"),
            )],
        }),
    }
}

/// Stores a batch of GPS fixes.
#[utoipa::path(post, path = "/v1/patrols", tag = "patrols",
    request_body(content = Object, description = "`{\"crs\": \"gcj02\", \"fixes\": [{\"worker\": \"13800000001\", \"at\": \"2026-03-02T08:30:00+08:00\", \"lon\": 114.09, \"lat\": 33.57, \"accuracy\": 5, \"crs\": \"wgs84\"}]}`, or one fix object per line with content-type application/x-ndjson; up to 100,000 fixes"),
    responses((status = 200, body = IngestResponse),
        (status = 400, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "a fix is invalid; nothing was stored", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn ingest(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<IngestResponse>, ApiError> {
    let ndjson = is_ndjson(&headers)?;
    let body = body?;
    let max = state.config.max_batch_points;
    let now = state.now();
    // Parsing and checking 100,000 fixes is CPU work: off the async workers.
    let fixes = tokio::task::spawn_blocking(move || parse_batch(&body, ndjson, max, now)).await??;
    let accepted = state.store.insert_fixes(&fixes).await?;
    if accepted > 0 {
        state.coverage_cache.fixes_changed();
    }
    let received = fixes.len();
    let (cleaning, positions) = tokio::task::spawn_blocking(move || summarise(&fixes)).await?;
    state.positions.update(positions);
    Ok(Json(IngestResponse {
        received,
        accepted,
        duplicates: received as u64 - accepted,
        cleaning,
    }))
}

/// The fixes of a batch, every fault named (at most `MAX_ERRORS`).
fn parse_batch(
    body: &Bytes,
    ndjson: bool,
    max: usize,
    now: DateTime<Utc>,
) -> Result<Vec<StoredFix>, ApiError> {
    let (values, crs) = split_body(body, ndjson, max)?;
    if values.is_empty() {
        return Err(ApiError::field(
            if ndjson { "body" } else { "fixes" },
            "empty batch",
        ));
    }
    let mut fixes = Vec::with_capacity(values.len());
    let mut errors = Vec::new();
    for (place, value) in &values {
        match parse_fix(value, *place, crs, now) {
            Ok(fix) => fixes.push(fix),
            Err(e) if errors.len() < MAX_ERRORS => errors.push(e),
            Err(_) => {}
        }
    }
    if errors.is_empty() {
        Ok(fixes)
    } else {
        Err(ApiError::unprocessable(errors))
    }
}

/// What cleaning keeps and drops of a batch, and each worker's last position.
fn summarise(fixes: &[StoredFix]) -> (CleaningSummary, Vec<gridmap_core::WorkerPosition>) {
    let cleaned = clean(
        fixes.iter().map(StoredFix::to_fix).collect(),
        &CleaningPolicy::default(),
    );
    let mut rejected: BTreeMap<&'static str, usize> = [
        Reason::PoorAccuracy,
        Reason::Spike,
        Reason::TooFast,
        Reason::Invalid,
    ]
    .into_iter()
    .map(|r| (r.as_str(), 0))
    .collect();
    for (_, reason) in &cleaned.rejected {
        *rejected.entry(reason.as_str()).or_default() += 1;
    }
    let summary = CleaningSummary {
        kept: cleaned.tracks.iter().map(|t| t.fixes.len()).sum(),
        tracks: cleaned.tracks.len(),
        duplicates: cleaned.duplicates,
        rejected,
    };
    (summary, last_positions(&cleaned.tracks))
}
