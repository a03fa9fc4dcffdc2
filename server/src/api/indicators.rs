//! `GET /v1/indicators`: received, closed, 结案率, 按期结案率, 返工率, 延期率 and median time to close per area
//! over a period (definitions in [`gridmap_core::indicators`]).

use std::collections::HashSet;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use gridmap_core::{AreaIndex, Indicators, Level, indicators};
use serde::Deserialize;

use crate::AppState;
use crate::error::ApiError;

/// Period when `from` is not given: the 30 days before `to`.
const DEFAULT_PERIOD_DAYS: i64 = 30;

pub fn router() -> Router<Arc<AppState>> {
    Router::new().route("/v1/indicators", get(get_indicators))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct IndicatorParams {
    /// `grid`, `community`, `street` or `district`; default: all four.
    pub level: Option<String>,
    /// Only this area and the areas under it.
    pub area: Option<String>,
    /// Start of the period (included): RFC 3339, or a date `YYYY-MM-DD` (midnight in the calendar's zone).
    /// Default: 30 days before `to`.
    pub from: Option<String>,
    /// End of the period (excluded), same forms; default now. A date means the end of that day.
    pub to: Option<String>,
}

/// One indicator row (see `gridmap_core::indicators` for the definitions).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct IndicatorsView {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    #[schema(value_type = Vec<Object>)]
    pub areas: Vec<Indicators>,
}

/// A time from RFC 3339 or a local date; `end_of_day` takes the next midnight for a date.
fn parse_time(
    field: &str,
    text: &str,
    zone: FixedOffset,
    end_of_day: bool,
) -> Result<DateTime<Utc>, ApiError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        ApiError::field(
            field,
            format!("`{text}` is neither an RFC 3339 time nor a date YYYY-MM-DD"),
        )
    })?;
    let date = if end_of_day {
        date.succ_opt().unwrap_or(date)
    } else {
        date
    };
    date.and_hms_opt(0, 0, 0)
        .and_then(|midnight| midnight.and_local_timezone(zone).single())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| ApiError::field(field, format!("`{text}` is out of range")))
}

/// Codes of `root` and everything under it.
fn subtree(index: &AreaIndex, root: &str) -> Option<HashSet<String>> {
    let mut stack = vec![index.by_code(root)?];
    let mut codes = HashSet::new();
    while let Some(id) = stack.pop() {
        codes.insert(index.area(id).code.clone());
        stack.extend_from_slice(index.children(id));
    }
    Some(codes)
}

/// Indicators per area over a period.
#[utoipa::path(get, path = "/v1/indicators", params(IndicatorParams), tag = "reports",
    responses((status = 200, body = IndicatorsView),
        (status = 400, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn get_indicators(
    State(state): State<Arc<AppState>>,
    query: Result<Query<IndicatorParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<IndicatorsView>, ApiError> {
    let Query(params) = query?;
    let level = params
        .level
        .as_deref()
        .map(|l| {
            l.parse::<Level>()
                .ok()
                .filter(|l| *l != Level::MicroGrid)
                .ok_or_else(|| {
                    ApiError::field(
                        "level",
                        format!(
                            "unknown level `{l}`; expected grid, community, street or district"
                        ),
                    )
                })
        })
        .transpose()?;
    let offset_s = state.config.reports.calendar.utc_offset_minutes * 60;
    let zone = FixedOffset::east_opt(offset_s)
        .ok_or_else(|| ApiError::Internal(format!("calendar offset {offset_s} s")))?;
    let to = match params.to.as_deref() {
        Some(text) => parse_time("to", text, zone, true)?,
        None => state.now(),
    };
    let from = match params.from.as_deref() {
        Some(text) => parse_time("from", text, zone, false)?,
        None => to - Duration::days(DEFAULT_PERIOD_DAYS),
    };
    if from > to {
        return Err(ApiError::field("from", "must not be after `to`"));
    }
    let snapshot = state.snapshot();
    let keep = match params.area.as_deref().filter(|a| !a.is_empty()) {
        Some(code) => Some(
            subtree(&snapshot.index, code)
                .ok_or_else(|| ApiError::NotFound(format!("area `{code}`")))?,
        ),
        None => None,
    };
    let reports = state.store.all_reports().await?;
    let areas = tokio::task::spawn_blocking(move || {
        let mut rows = indicators(&snapshot.index, &reports, from, to, level);
        if let Some(keep) = keep {
            rows.retain(|row| keep.contains(&row.area_code));
        }
        rows
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Json(IndicatorsView { from, to, areas }))
}
