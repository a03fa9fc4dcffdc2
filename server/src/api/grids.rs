//! `GET /v1/grids` and `GET /v1/grids/{code}`: areas of every level as GeoJSON (RFC 7946).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use geo::{BoundingRect, Intersects};
use gridmap_core::Level;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::api::extract::{BboxParam, Opt};
use crate::api::geojson_response;
use crate::error::ApiError;
use crate::views::area_feature;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/grids", get(list_grids))
        .route("/v1/grids/{code}", get(get_grid))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct GridListParams {
    /// Only this level (`district`, `street`, `community`, `grid`, `micro_grid`).
    pub level: Option<String>,
    /// Only children of this code.
    pub parent: Option<String>,
}

/// Areas as a FeatureCollection, filtered by level, parent and bbox.
#[utoipa::path(get, path = "/v1/grids", params(GridListParams, BboxParam), tag = "grids",
    responses((status = 200, description = "GeoJSON FeatureCollection", content_type = "application/geo+json"),
        (status = 400, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn list_grids(
    State(state): State<Arc<AppState>>,
    query: Result<Query<GridListParams>, axum::extract::rejection::QueryRejection>,
    Opt(bbox): BboxParam,
) -> Result<Response, ApiError> {
    let Query(params) = query?;
    let level: Option<Level> = params.level.as_deref().map(str::parse).transpose()?;
    let bbox = bbox.map(|b| b.rect());
    let snapshot = state.snapshot();
    let features: Vec<Value> = snapshot
        .index
        .areas()
        .iter()
        .filter(|a| level.is_none_or(|l| a.level == l))
        .filter(|a| {
            params
                .parent
                .as_deref()
                .is_none_or(|p| a.parent.as_deref() == Some(p))
        })
        .filter(|a| {
            bbox.is_none_or(|b| a.geometry.bounding_rect().is_some_and(|r| r.intersects(&b)))
        })
        .map(|a| area_feature(a, false))
        .collect();
    Ok(geojson_response(
        &json!({"type": "FeatureCollection", "features": features}),
    ))
}

/// One area with its staff and children.
#[utoipa::path(get, path = "/v1/grids/{code}", params(("code" = String, Path, description = "area code")), tag = "grids",
    responses((status = 200, description = "GeoJSON Feature", content_type = "application/geo+json"),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn get_grid(
    State(state): State<Arc<AppState>>,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let snapshot = state.snapshot();
    let id = snapshot
        .index
        .by_code(&code)
        .ok_or_else(|| ApiError::NotFound(format!("area `{code}`")))?;
    let mut feature = area_feature(snapshot.index.area(id), true);
    feature["properties"]["children"] = json!(
        snapshot
            .index
            .children(id)
            .iter()
            .map(|&c| &snapshot.index.area(c).code)
            .collect::<Vec<_>>()
    );
    Ok(geojson_response(&feature))
}
