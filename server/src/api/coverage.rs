//! `GET /v1/coverage`: patrol coverage of a grid, or of a community or street and each of its grids.
//!
//! The window's fixes of every worker seen near the area are read from the store, cleaned and measured by
//! core's `coverage` (area within R of the tracks, roads, micro-grids visited, time per worker, duty).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, FixedOffset, NaiveDate, TimeDelta, Utc};
use geo::BoundingRect;
use geo_types::{Coord, Rect};
use gridmap_core::{
    AreaId, AreaIndex, CleaningPolicy, Coverage, CoverageParams, Level, clean, coverage, geodesy,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::AppState;
use crate::api::geojson_response;
use crate::error::ApiError;
use crate::store::{FixQuery, StoredFix};

pub fn router() -> Router<Arc<AppState>> {
    Router::new().route("/v1/coverage", get(get_coverage))
}

/// The calendar's offset from UTC (Beijing time): dates and the default window are local days.
pub const LOCAL_OFFSET_MINUTES: i32 = 480;
/// Default R, metres.
pub const DEFAULT_RADIUS_M: f64 = 30.0;
/// Allowed R, metres.
const RADIUS_RANGE_M: std::ops::RangeInclusive<f64> = 1.0..=500.0;
/// Longest window: a month of fixes is the most one request may read.
const MAX_WINDOW: TimeDelta = TimeDelta::days(31);

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct CoverageQuery {
    /// A grid's code.
    pub grid: Option<String>,
    /// A community's code: the community and each of its grids.
    pub community: Option<String>,
    /// A street's code: the street and each of its grids.
    pub street: Option<String>,
    /// Start: RFC 3339 time, or a date (`2026-03-02`, the day's start in Beijing time). Default: today's start.
    pub from: Option<String>,
    /// End, exclusive: RFC 3339 time, or a date (that whole day included). Default: `from` + 1 day.
    pub to: Option<String>,
    /// R in metres, 1..500 (default 30): a place counts as patrolled within R of a track.
    pub radius_m: Option<String>,
    /// `json` (default) or `geojson` (a FeatureCollection of the uncovered parts, one feature per grid).
    pub format: Option<String>,
}

/// Coverage of one area; `uncovered` is a GeoJSON MultiPolygon (RFC 7946).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CoverageResponse {
    #[schema(value_type = String, format = DateTime)]
    pub from: DateTime<Utc>,
    /// Exclusive.
    #[schema(value_type = String, format = DateTime)]
    pub to: DateTime<Utc>,
    pub radius_m: f64,
    /// Stored fixes read (every worker seen near the area in the window).
    pub fixes: usize,
    /// Rejected by cleaning.
    pub rejected: usize,
    /// The requested area: core's coverage fields.
    #[schema(value_type = Object)]
    pub coverage: Value,
    /// For a community or street: each of its (ordinary) grids, in code order.
    #[schema(value_type = Vec<Object>)]
    pub grids: Vec<Value>,
}

pub(crate) fn local() -> FixedOffset {
    FixedOffset::east_opt(LOCAL_OFFSET_MINUTES * 60)
        .expect("a constant offset within a day is valid")
}

pub(crate) fn day_start(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(local()).single())
        .map_or(DateTime::<Utc>::MIN_UTC, |t| t.with_timezone(&Utc))
}

/// `from`/`to`: an RFC 3339 time, or a local date (its start; for `to`, the next day's start).
fn parse_time(field: &str, text: &str, end_of_day: bool) -> Result<DateTime<Utc>, ApiError> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        ApiError::field(
            field,
            format!("`{text}` is neither an RFC 3339 time nor a date (YYYY-MM-DD)"),
        )
    })?;
    let day = if end_of_day {
        day.succ_opt()
            .ok_or_else(|| ApiError::field(field, format!("`{text}` is out of range")))?
    } else {
        day
    };
    Ok(day_start(day))
}

fn window(
    query: &CoverageQuery,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
    parse_window(query.from.as_deref(), query.to.as_deref(), now)
}

/// The window `[from, to)` of `from`/`to` parameters (see [`CoverageQuery`]); default: today, local time.
pub(crate) fn parse_window(
    from: Option<&str>,
    to: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
    let from = match from {
        Some(text) => parse_time("from", text, false)?,
        None => day_start(now.with_timezone(&local()).date_naive()),
    };
    let to = match to {
        Some(text) => parse_time("to", text, true)?,
        None => from + TimeDelta::days(1),
    };
    if to <= from {
        return Err(ApiError::field(
            "to",
            format!("{to} is not after from ({from})"),
        ));
    }
    if to - from > MAX_WINDOW {
        return Err(ApiError::field(
            "to",
            format!("the window is longer than {} days", MAX_WINDOW.num_days()),
        ));
    }
    Ok((from, to))
}

fn radius(query: &CoverageQuery) -> Result<f64, ApiError> {
    parse_radius(query.radius_m.as_deref())
}

/// R of a `radius_m` parameter: 1..500 m, default 30.
pub(crate) fn parse_radius(text: Option<&str>) -> Result<f64, ApiError> {
    let Some(text) = text else {
        return Ok(DEFAULT_RADIUS_M);
    };
    let r: f64 = text
        .trim()
        .parse()
        .map_err(|_| ApiError::field("radius_m", format!("`{text}` is not a number")))?;
    if !r.is_finite() || !RADIUS_RANGE_M.contains(&r) {
        return Err(ApiError::field(
            "radius_m",
            format!(
                "{text} is outside {}..{} m",
                RADIUS_RANGE_M.start(),
                RADIUS_RANGE_M.end()
            ),
        ));
    }
    Ok(r)
}

/// The requested area and its level.
fn target(query: &CoverageQuery) -> Result<(Level, &str), ApiError> {
    let given: Vec<(Level, &str)> = [
        (Level::Grid, &query.grid),
        (Level::Community, &query.community),
        (Level::Street, &query.street),
    ]
    .into_iter()
    .filter_map(|(level, code)| code.as_deref().map(|c| (level, c.trim())))
    .collect();
    match given.as_slice() {
        [one] => Ok(*one),
        [] => Err(ApiError::field(
            "grid",
            "required: one of grid, community or street",
        )),
        _ => Err(ApiError::field(
            "grid",
            "give only one of grid, community or street",
        )),
    }
}

/// The ordinary grids at or below `id`, in code order.
fn grids_below(index: &AreaIndex, id: AreaId) -> Vec<AreaId> {
    let mut out = Vec::new();
    let mut stack = vec![id];
    while let Some(a) = stack.pop() {
        let area = index.area(a);
        if area.level == Level::Grid {
            if !area.is_exclusive() {
                out.push(a);
            }
        } else if area.level < Level::Grid {
            stack.extend(index.children(a).iter().copied());
        }
    }
    out.sort_by(|&x, &y| index.area(x).code.cmp(&index.area(y).code));
    out.dedup();
    out
}

/// `bbox` grown by `margin_m` on every side.
pub(crate) fn grow(bbox: Rect<f64>, margin_m: f64) -> Rect<f64> {
    let lat = bbox.min().y.abs().max(bbox.max().y.abs()).min(89.0);
    let (mx, my) = geodesy::metres_per_degree(lat);
    let (dx, dy) = (margin_m / mx, margin_m / my);
    Rect::new(
        Coord {
            x: bbox.min().x - dx,
            y: bbox.min().y - dy,
        },
        Coord {
            x: bbox.max().x + dx,
            y: bbox.max().y + dy,
        },
    )
}

/// Core's coverage as JSON, with `uncovered` as a GeoJSON geometry.
fn coverage_json(c: &Coverage) -> Result<Value, ApiError> {
    let mut value = serde_json::to_value(c).map_err(|e| ApiError::Internal(e.to_string()))?;
    if let Value::Object(map) = &mut value {
        map.insert(
            "uncovered".to_owned(),
            serde_json::to_value(geojson::Geometry::from(&c.uncovered))
                .map_err(|e| ApiError::Internal(e.to_string()))?,
        );
    }
    Ok(value)
}

fn feature(c: &Coverage) -> Value {
    json!({
        "type": "Feature",
        "geometry": geojson::Geometry::from(&c.uncovered),
        "properties": {
            "code": c.code,
            "name": c.name,
            "level": c.level,
            "area_coverage": c.area_coverage,
            "road_coverage": c.road_coverage,
            "uncovered_m2": c.uncovered_m2,
            "patrol_minutes": c.patrol_minutes,
            "duty_met": c.duty_met,
        },
    })
}

/// How much of an area its grid workers patrolled.
#[utoipa::path(get, path = "/v1/coverage", params(CoverageQuery), tag = "patrols",
    responses((status = 200, body = CoverageResponse),
        (status = 400, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn get_coverage(
    State(state): State<Arc<AppState>>,
    query: Result<Query<CoverageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    let (level, code) = target(&query)?;
    let (from, to) = window(&query, state.now())?;
    let radius_m = radius(&query)?;
    let geojson = match query.format.as_deref() {
        None | Some("json") => false,
        Some("geojson") => true,
        Some(other) => {
            return Err(ApiError::field(
                "format",
                format!("unknown format `{other}`; expected json or geojson"),
            ));
        }
    };
    let snapshot = state.snapshot();
    let id = snapshot
        .index
        .by_code(code)
        .filter(|&id| snapshot.index.area(id).level == level)
        .ok_or_else(|| ApiError::NotFound(format!("{} `{code}`", level.as_str())))?;
    let bbox = snapshot
        .index
        .area(id)
        .geometry
        .bounding_rect()
        .ok_or_else(|| ApiError::Internal(format!("area `{code}` has no extent")))?;
    let fixes = state
        .store
        .patrol_fixes(&FixQuery {
            from,
            to,
            near: Some(grow(bbox, radius_m + 10.0)),
        })
        .await?;
    let read = fixes.len();
    let (reports, rejected) = tokio::task::spawn_blocking(move || {
        let index = &snapshot.index;
        let mut areas = vec![id];
        if level != Level::Grid {
            areas.extend(grids_below(index, id));
        }
        let cleaned = clean(
            fixes.iter().map(StoredFix::to_fix).collect(),
            &CleaningPolicy::default(),
        );
        let params = CoverageParams {
            radius_m,
            ..CoverageParams::new(from, to)
        };
        (
            coverage(index, &areas, &cleaned.tracks, &snapshot.roads, &params),
            cleaned.rejected.len(),
        )
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    let Some((first, grids)) = reports.split_first() else {
        return Err(ApiError::Internal("coverage returned nothing".into()));
    };
    if geojson {
        let shown: Vec<&Coverage> = if level == Level::Grid {
            vec![first]
        } else {
            grids.iter().collect()
        };
        let features: Vec<Value> = shown
            .into_iter()
            .filter(|c| !c.uncovered.0.is_empty())
            .map(feature)
            .collect();
        return Ok(geojson_response(&json!({
            "type": "FeatureCollection",
            "features": features,
        })));
    }
    let response = CoverageResponse {
        from,
        to,
        radius_m,
        fixes: read,
        rejected,
        coverage: coverage_json(first)?,
        grids: grids.iter().map(coverage_json).collect::<Result<_, _>>()?,
    };
    Ok(axum::Json(response).into_response())
}
