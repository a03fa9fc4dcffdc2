//! `GET /v1/coverage`: patrol coverage of a grid, or of a community or street and each of its grids.
//!
//! The window's fixes of every worker seen near the area are read from the store, cleaned and measured by
//! core's `coverage` (area within R of the tracks, roads, micro-grids visited, time per worker, duty).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use gridmap_core::{Coverage, Level};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::AppState;
use crate::api::extract::{Opt, Radius, RadiusParam, Window};
use crate::api::geojson_response;
use crate::error::ApiError;
use crate::service::coverage::{self, AreaCoverage};

pub fn router() -> Router<Arc<AppState>> {
    Router::new().route("/v1/coverage", get(get_coverage))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct CoverageQuery {
    /// A grid's code.
    pub grid: Option<String>,
    /// A community's code: the community and each of its grids.
    pub community: Option<String>,
    /// A street's code: the street and each of its grids.
    pub street: Option<String>,
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
#[utoipa::path(get, path = "/v1/coverage", params(CoverageQuery, Window, RadiusParam), tag = "patrols",
    responses((status = 200, body = CoverageResponse),
        (status = 400, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn get_coverage(
    State(state): State<Arc<AppState>>,
    query: Result<Query<CoverageQuery>, axum::extract::rejection::QueryRejection>,
    window: Window,
    Opt(radius): RadiusParam,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    let target = target(&query)?;
    let (from, to) = coverage::window(window.from, window.to, state.now())?;
    let radius_m = Radius::or_default(radius);
    let geojson = match query.format.as_deref() {
        None | Some("json") => false,
        Some("geojson") => true,
        Some(other) => {
            let reason = format!("unknown format `{other}`; expected json or geojson");
            return Err(ApiError::field("format", reason));
        }
    };
    let found = coverage::of_area(&state, target, (from, to), radius_m).await?;
    if geojson {
        return Ok(uncovered(target.0, &found));
    }
    let response = CoverageResponse {
        from,
        to,
        radius_m,
        fixes: found.fixes,
        rejected: found.rejected,
        coverage: coverage_json(&found.area)?,
        grids: found
            .grids
            .iter()
            .map(coverage_json)
            .collect::<Result<_, _>>()?,
    };
    Ok(axum::Json(response).into_response())
}

/// The uncovered parts as a FeatureCollection: the grid's, or each grid's of a community or street.
fn uncovered(level: Level, found: &AreaCoverage) -> Response {
    let shown = if level == Level::Grid {
        std::slice::from_ref(&found.area)
    } else {
        &found.grids[..]
    };
    let features: Vec<Value> = shown
        .iter()
        .filter(|c| !c.uncovered.0.is_empty())
        .map(feature)
        .collect();
    geojson_response(&json!({"type": "FeatureCollection", "features": features}))
}
