//! `GET /v1/indicators`: received, closed, 结案率, 按期结案率, 返工率, 延期率 and median time to close per area
//! over a period (definitions in [`gridmap_core::indicators`]).

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use chrono::{DateTime, Utc};
use gridmap_core::{Indicators, Level};
use serde::Deserialize;

use crate::AppState;
use crate::api::extract::Window;
use crate::error::ApiError;
use crate::service::reports;

pub fn router() -> Router<Arc<AppState>> {
    Router::new().route("/v1/indicators", get(get_indicators))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct IndicatorParams {
    /// `grid`, `community`, `street` or `district`; default: all four.
    pub level: Option<String>,
    /// Only this area and the areas under it.
    pub area: Option<String>,
}

/// One indicator row (see `gridmap_core::indicators` for the definitions).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct IndicatorsView {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    #[schema(value_type = Vec<Object>)]
    pub areas: Vec<Indicators>,
}

/// Indicators per area over a period.
#[utoipa::path(get, path = "/v1/indicators", params(IndicatorParams, Window), tag = "reports",
    responses((status = 200, body = IndicatorsView),
        (status = 400, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn get_indicators(
    State(state): State<Arc<AppState>>,
    query: Result<Query<IndicatorParams>, axum::extract::rejection::QueryRejection>,
    window: Window,
) -> Result<Json<IndicatorsView>, ApiError> {
    let Query(params) = query?;
    let level = params.level.as_deref().map(parse_level).transpose()?;
    let area = params.area.as_deref().filter(|a| !a.is_empty());
    let window = (window.from, window.to);
    let ((from, to), areas) = reports::indicators(&state, window, level, area).await?;
    Ok(Json(IndicatorsView { from, to, areas }))
}

/// A level indicators are counted at: any but the micro-grid.
fn parse_level(text: &str) -> Result<Level, ApiError> {
    let level = text
        .parse::<Level>()
        .ok()
        .filter(|l| *l != Level::MicroGrid);
    let reason = format!("unknown level `{text}`; expected grid, community, street or district");
    level.ok_or_else(|| ApiError::field("level", reason))
}
