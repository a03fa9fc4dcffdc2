//! `GET /v1/grids/{code}/history` (every stored version: who, when, why) and
//! `GET /v1/grids/{code}/diff?from=&to=` (what changed between two versions: the added and removed parts as
//! GeoJSON, the area change in m², attribute changes).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use geo::BooleanOps;
use geo_types::MultiPolygon;
use gridmap_core::geodesy::area_m2;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::api::geojson_response;
use crate::error::ApiError;
use crate::service::history;
use crate::store::AreaVersion;
use crate::views::area_feature;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/grids/{code}/history", get(grid_history))
        .route("/v1/grids/{code}/diff", get(grid_diff))
}

/// The version's who, when and why.
fn version_properties(v: &AreaVersion) -> Value {
    json!({
        "version": v.version,
        "valid_from": v.valid_from.to_rfc3339(),
        "valid_to": v.valid_to.map(|t| t.to_rfc3339()),
        "author": v.author,
        "reason": v.reason,
    })
}

/// Every stored version of an area's boundary, oldest first.
#[utoipa::path(get, path = "/v1/grids/{code}/history", params(("code" = String, Path, description = "area code")), tag = "grids",
    responses((status = 200, description = "GeoJSON FeatureCollection of versions: `version`, `valid_from`, `valid_to` (null while current), `author`, `reason`, `area_m2`", content_type = "application/geo+json"),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn grid_history(
    State(state): State<Arc<AppState>>,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let versions = state.store.area_history(&code).await?;
    if versions.is_empty() {
        return Err(ApiError::NotFound(format!("area `{code}`")));
    }
    let features: Vec<Value> = versions
        .iter()
        .map(|v| {
            let mut f = area_feature(&v.area, false);
            if let (Some(properties), Value::Object(extra)) =
                (f["properties"].as_object_mut(), version_properties(v))
            {
                properties.extend(extra);
                properties.insert("area_m2".into(), json!(area_m2(&v.area.geometry)));
            }
            f
        })
        .collect();
    Ok(geojson_response(
        &json!({"type": "FeatureCollection", "features": features}),
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct DiffParams {
    /// The older version; default the one before `to`.
    pub from: Option<String>,
    /// The newer version; default the current (latest) one.
    pub to: Option<String>,
}

fn parse_version(field: &str, text: &str) -> Result<i64, ApiError> {
    text.trim()
        .parse::<i64>()
        .ok()
        .filter(|v| *v >= 1)
        .ok_or_else(|| ApiError::field(field, format!("`{text}` is not a version (1, 2, ...)")))
}

/// What changed between two versions of an area.
#[utoipa::path(get, path = "/v1/grids/{code}/diff", params(("code" = String, Path, description = "area code"), DiffParams), tag = "grids",
    responses((status = 200, description = "GeoJSON FeatureCollection: an `added` and a `removed` feature (MultiPolygon, possibly empty, with `area_m2`); \
        foreign members `code`, `from` and `to` (version, valid_from, valid_to, author, reason, area_m2), `area_change_m2`, \
        and `changes` (`field`, `from`, `to` for name, level, kind and parent)", content_type = "application/geo+json"),
        (status = 400, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn grid_diff(
    State(state): State<Arc<AppState>>,
    Path(code): Path<String>,
    query: Result<Query<DiffParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = query?;
    let to = params
        .to
        .as_deref()
        .map(|t| parse_version("to", t))
        .transpose()?;
    let from = params
        .from
        .as_deref()
        .map(|f| parse_version("from", f))
        .transpose()?;
    let versions = history::pair(&state, &code, from, to).await?;
    // Boolean operations on large boundaries are CPU work.
    let body = tokio::task::spawn_blocking(move || diff(&versions.0, &versions.1)).await?;
    Ok(geojson_response(&body))
}

/// The diff document of two versions (see [`grid_diff`]).
fn diff(from: &AreaVersion, to: &AreaVersion) -> Value {
    let (old, new) = (&from.area.geometry, &to.area.geometry);
    let added = new.difference(old);
    let removed = old.difference(new);
    let part = |change: &str, geometry: &MultiPolygon<f64>| {
        json!({
            "type": "Feature",
            "geometry": geojson::Geometry::from(geometry),
            "properties": {"change": change, "area_m2": area_m2(geometry)},
        })
    };
    let (old_m2, new_m2) = (area_m2(old), area_m2(new));
    let side = |v: &AreaVersion, m2: f64| {
        let mut properties = version_properties(v);
        properties["area_m2"] = json!(m2);
        properties
    };
    let (a, b) = (&from.area, &to.area);
    let changes: Vec<Value> = [
        ("name", json!(a.name), json!(b.name)),
        ("level", json!(a.level.as_str()), json!(b.level.as_str())),
        (
            "kind",
            json!(a.kind.map(gridmap_core::GridKind::as_str)),
            json!(b.kind.map(gridmap_core::GridKind::as_str)),
        ),
        ("parent", json!(a.parent), json!(b.parent)),
    ]
    .into_iter()
    .filter(|(_, x, y)| x != y)
    .map(|(field, x, y)| json!({"field": field, "from": x, "to": y}))
    .collect();
    json!({
        "type": "FeatureCollection",
        "code": b.code,
        "from": side(from, old_m2),
        "to": side(to, new_m2),
        "area_change_m2": new_m2 - old_m2,
        "changes": changes,
        "features": [part("added", &added), part("removed", &removed)],
    })
}
