//! `GET /v1/locate` (one point, the whole answer) and `POST /v1/locate` (many points, codes only).
//!
//! `responsible` is who a report of the given category at the point would be routed to: core's
//! [`route_located`] with the server's routing policy, as `POST /v1/reports` does, so a worker's lookup, a
//! dispatcher's and the routing agree.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use axum::routing::get;
use geo_types::Coord;
use gridmap_core::{
    AreaIndex, Category, Crs, ExcludedGround, Location, Responsibility, RouteRule, route_located,
};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::api::extract::{
    At, AtParam, CrsArg, CrsParam, Opt, check_lon_lat, parse_at, parse_category, parse_crs,
    unknown_category,
};
use crate::error::ApiError;
use crate::views::{AreaRef, ExcludedRef, NearestView, ResponsibleView};

pub fn router() -> Router<Arc<AppState>> {
    Router::new().route("/v1/locate", get(locate_one).post(locate_many))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct LocateParams {
    /// Longitude in degrees, -180..180.
    pub lon: Option<String>,
    /// Latitude in degrees, -90..90.
    pub lat: Option<String>,
    /// Route as a report of this category would be (`01`..`10` or `emergency`, as `POST /v1/reports`); default
    /// `10` (其他, the catch-all: reports have no default category).
    pub category: Option<String>,
}

/// The category a lookup routes for when none is given: 10 其他, the catch-all (a report must name one).
pub const DEFAULT_CATEGORY: Category = Category::Other;

/// The whole answer for one point.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LocateResponse {
    /// The point in WGS-84, after conversion from the request's CRS.
    pub wgs84: [f64; 2],
    /// District → street → community → grid → micro-grid, only the levels that exist at the point.
    pub chain: Vec<AreaRef>,
    /// Every exclusive grid (专属网格) containing the point, smallest first.
    pub exclusive: Vec<AreaRef>,
    /// Excluded ground (a river, a rail yard: ground no grid takes) under the point: why it may have no grid.
    pub excluded: Vec<ExcludedRef>,
    /// The category `responsible` was routed for: the one asked for, else `10` (其他).
    pub category: String,
    /// Who a report of `category` here is routed to (by `POST /v1/reports`' rules and policy), with its staff;
    /// null when no one is (outside every area and too far from every grid).
    pub responsible: Option<ResponsibleView>,
    /// The routing rule that chose `responsible`: `exclusive`, `grid`, `boundary`, `nearest` or `fallback`.
    #[schema(value_type = Option<String>)]
    pub rule: Option<RouteRule>,
    /// Metres; `nearest`: to the responsible grid's boundary; `fallback`: to the nearest grid's boundary (0 when
    /// there is no grid). Absent for the other rules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_m: Option<f64>,
    /// Set when the point is in no grid: the nearest grid and the distance to its boundary.
    pub nearest: Option<NearestView>,
}

/// Parses an optional `category`, naming `field` and listing the valid codes on failure.
fn parse_category_param(field: &str, text: Option<&str>) -> Result<Option<Category>, ApiError> {
    text.map(|text| {
        parse_category(text).ok_or_else(|| ApiError::field(field, unknown_category(text)))
    })
    .transpose()
}

fn parse_number(field: &str, value: Option<&String>) -> Result<f64, ApiError> {
    let text = value.ok_or_else(|| ApiError::field(field, "required"))?;
    text.trim()
        .parse::<f64>()
        .map_err(|_| ApiError::field(field, format!("`{text}` is not a number")))
}

/// Which grid is this point in, and who is responsible for a report of `category` here?
#[utoipa::path(get, path = "/v1/locate", params(LocateParams, CrsParam, AtParam), tag = "lookup",
    responses((status = 200, body = LocateResponse), (status = 400, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn locate_one(
    State(state): State<Arc<AppState>>,
    query: Result<Query<LocateParams>, axum::extract::rejection::QueryRejection>,
    Opt(crs): CrsParam,
    Opt(at): AtParam,
) -> Result<Json<LocateResponse>, ApiError> {
    let Query(params) = query?;
    let lon = parse_number("lon", params.lon.as_ref())?;
    let lat = parse_number("lat", params.lat.as_ref())?;
    let crs = crs.map_or(Crs::Wgs84, |CrsArg(c)| c);
    let category =
        parse_category_param("category", params.category.as_deref())?.unwrap_or(DEFAULT_CATEGORY);
    let input = check_lon_lat(lon, lat, "").map_err(|e| ApiError::Invalid {
        status: axum::http::StatusCode::BAD_REQUEST,
        errors: vec![e],
    })?;
    let p = crs.to_wgs84(input);
    let city = state.city_at(at.map(|At(t)| t)).await?;
    let index = city.index();
    let location = index.locate(p);
    let routed = route_located(index, &state.config.reports.policy, p, &location, category);
    Ok(Json(describe(
        index,
        city.excluded(),
        p,
        &location,
        category,
        routed,
    )))
}

/// Renders a [`Location`], the `excluded` ground under it and who is responsible there for `category`, for
/// people.
pub fn describe(
    index: &AreaIndex,
    excluded: &[ExcludedGround],
    p: Coord<f64>,
    location: &Location,
    category: Category,
    routed: Option<Responsibility>,
) -> LocateResponse {
    LocateResponse {
        wgs84: [p.x, p.y],
        chain: location
            .chain
            .iter()
            .map(|&id| AreaRef::of(index.area(id)))
            .collect(),
        exclusive: location
            .exclusive
            .iter()
            .map(|&id| AreaRef::of(index.area(id)))
            .collect(),
        excluded: excluded
            .iter()
            .filter(|g| g.holds(p))
            .map(ExcludedRef::of)
            .collect(),
        category: category.code().to_owned(),
        responsible: routed.map(|r| ResponsibleView::of(index.area(r.area))),
        rule: routed.map(|r| r.rule),
        distance_m: routed
            .filter(|r| matches!(r.rule, RouteRule::Nearest | RouteRule::Fallback))
            .map(|r| r.distance_m),
        nearest: location
            .nearest
            .map(|n| NearestView::of(index.area(n.area), n.distance_m)),
    }
}

/// `POST /v1/locate` body: plain points or a GeoJSON FeatureCollection of points.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct BatchRequest {
    /// `FeatureCollection` for GeoJSON input; absent for plain points.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// `wgs84` (default), `gcj02` or `bd09`, for either form.
    pub crs: Option<String>,
    /// `[[lon, lat], ...]`.
    pub points: Option<Vec<[f64; 2]>>,
    /// GeoJSON features with Point geometries.
    #[schema(value_type = Option<Vec<Object>>)]
    pub features: Option<Vec<BatchFeature>>,
    /// Answer as the boundaries were at this time (RFC 3339); may also be given as the `at` query parameter.
    pub at: Option<String>,
    /// Route every point as a report of this category (`01`..`10` or `emergency`; default `10` 其他); may also
    /// be given as the `category` query parameter. A feature's `properties.category` overrides it.
    pub category: Option<String>,
}

/// Query of `POST /v1/locate`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct BatchParams {
    /// Answer as the boundaries were at this time (RFC 3339), as the body's `at`.
    pub at: Option<String>,
    /// The batch's category, as the body's `category`.
    pub category: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct BatchFeature {
    pub geometry: Option<BatchGeometry>,
    pub properties: Option<BatchProperties>,
}

#[derive(Debug, Deserialize)]
pub struct BatchProperties {
    /// This point's category, over the batch's.
    pub category: Option<FeatureCategory>,
}

/// A feature's `properties.category`, read straight into a [`Category`]: a 100,000-feature batch allocates
/// nothing for it (the text is kept only when it is not a category, for the error).
#[derive(Debug)]
pub enum FeatureCategory {
    Known(Category),
    Unknown(String),
}

impl<'de> Deserialize<'de> for FeatureCategory {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Code;
        impl serde::de::Visitor<'_> for Code {
            type Value = FeatureCategory;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a category code (01..10 or emergency)")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<FeatureCategory, E> {
                Ok(parse_category(text).map_or_else(
                    || FeatureCategory::Unknown(text.to_owned()),
                    FeatureCategory::Known,
                ))
            }
        }
        deserializer.deserialize_str(Code)
    }
}

#[derive(Debug, Deserialize)]
pub struct BatchGeometry {
    #[serde(rename = "type")]
    pub kind: String,
    pub coordinates: serde_json::Value,
}

/// One point's codes, in input order.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BatchResult {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub district: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub community: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub micro_grid: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exclusive: Vec<String>,
    /// Code of the area a report of the point's category is routed to; `null` when no one is responsible.
    pub responsible: Option<String>,
    /// The routing rule that chose it: `exclusive`, `grid`, `boundary`, `nearest` or `fallback`.
    #[schema(value_type = Option<String>)]
    pub rule: Option<RouteRule>,
    /// The nearest grid, set only when the point is in no grid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nearest: Option<String>,
    /// Distance in metres to the nearest grid's boundary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nearest_m: Option<f64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BatchResponse {
    pub results: Vec<BatchResult>,
}

/// A batch's points in WGS-84 and, for a FeatureCollection, each point's category (the feature's, else
/// `category`, the batch's).
struct Batch {
    points: Vec<Coord<f64>>,
    categories: Option<Vec<Category>>,
}

fn batch_points(request: BatchRequest, category: Category, max: usize) -> Result<Batch, ApiError> {
    let crs = parse_crs("crs", request.crs.as_deref())?;
    let mut categories = None;
    let raw: Vec<[f64; 2]> = match (request.points, request.features) {
        (Some(points), None) => points,
        (None, Some(features)) => {
            if request.kind.as_deref() != Some("FeatureCollection") {
                let reason = "features need \"type\": \"FeatureCollection\"";
                return Err(ApiError::field("type", reason));
            }
            let mut points = Vec::with_capacity(features.len());
            let mut each = Vec::with_capacity(features.len());
            for (i, feature) in features.into_iter().enumerate() {
                each.push(
                    match feature
                        .properties
                        .and_then(|properties| properties.category)
                    {
                        None => category,
                        Some(FeatureCategory::Known(own)) => own,
                        Some(FeatureCategory::Unknown(text)) => {
                            return Err(ApiError::field(
                                format!("features/{i}/properties/category"),
                                unknown_category(&text),
                            ));
                        }
                    },
                );
                let field = format!("features/{i}/geometry");
                let geometry = feature
                    .geometry
                    .ok_or_else(|| ApiError::field(&field, "a Point geometry is required"))?;
                if geometry.kind != "Point" {
                    return Err(ApiError::field(
                        &field,
                        format!("expected a Point, got {}", geometry.kind),
                    ));
                }
                let pair: [f64; 2] =
                    serde_json::from_value(geometry.coordinates).map_err(|_| {
                        ApiError::field(format!("{field}/coordinates"), "expected [lon, lat]")
                    })?;
                points.push(pair);
            }
            categories = Some(each);
            points
        }
        (Some(_), Some(_)) => {
            return Err(ApiError::field(
                "body",
                "give either `points` or `features`, not both",
            ));
        }
        (None, None) => {
            let reason = "required: `points` ([[lon, lat], ...]) or a GeoJSON FeatureCollection";
            return Err(ApiError::field("points", reason));
        }
    };
    if raw.is_empty() {
        return Err(ApiError::field("points", "empty batch"));
    }
    if raw.len() > max {
        return Err(ApiError::PayloadTooLarge(format!(
            "{} points in one batch; the limit is {max}",
            raw.len()
        )));
    }
    let mut coords = Vec::with_capacity(raw.len());
    let mut errors = Vec::new();
    for (i, [lon, lat]) in raw.into_iter().enumerate() {
        match check_lon_lat(lon, lat, &format!("points/{i}")) {
            Ok(c) => coords.push(crs.to_wgs84(c)),
            Err(e) if errors.len() < 20 => errors.push(e),
            Err(_) => {}
        }
    }
    if errors.is_empty() {
        Ok(Batch {
            points: coords,
            categories,
        })
    } else {
        Err(ApiError::unprocessable(errors))
    }
}

/// Locates many points; results in input order.
#[utoipa::path(post, path = "/v1/locate", params(BatchParams), request_body = BatchRequest, tag = "lookup",
    responses((status = 200, body = BatchResponse), (status = 400, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn locate_many(
    State(state): State<Arc<AppState>>,
    query: Result<Query<BatchParams>, axum::extract::rejection::QueryRejection>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<axum::response::Response, ApiError> {
    let Query(params) = query?;
    let body = body?;
    let mut request: BatchRequest =
        serde_json::from_slice(&body).map_err(|e| ApiError::field("body", e.to_string()))?;
    let at = one_of("at", params.at, request.at.take())?;
    let at = at.map(|t| parse_at("at", &t)).transpose()?;
    let category = one_of("category", params.category, request.category.take())?;
    let category =
        parse_category_param("category", category.as_deref())?.unwrap_or(DEFAULT_CATEGORY);
    let batch = batch_points(request, category, state.config.max_batch_points)?;
    let city = state.city_at(at).await?;
    // Locating, routing and serialising a big batch is CPU work: keep it off the async workers.
    let body = tokio::task::spawn_blocking(move || {
        let index = city.index();
        let policy = &state.config.reports.policy;
        let category_of = |i: usize| batch.categories.as_ref().map_or(category, |c| c[i]);
        let results: Vec<BatchResult> = index
            .locate_batch(&batch.points)
            .iter()
            .zip(&batch.points)
            .enumerate()
            .map(|(i, (location, &p))| {
                let routed = route_located(index, policy, p, location, category_of(i));
                batch_result(index, location, routed)
            })
            .collect();
        serde_json::to_vec(&BatchResponse { results })
    })
    .await?
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response())
}

/// A parameter given in the query or in the body, not both.
fn one_of(
    field: &str,
    query: Option<String>,
    body: Option<String>,
) -> Result<Option<String>, ApiError> {
    match (query, body) {
        (Some(_), Some(_)) => Err(ApiError::field(
            field,
            format!("give `{field}` in the query or in the body, not both"),
        )),
        (one, other) => Ok(one.or(other)),
    }
}

fn batch_result(
    index: &AreaIndex,
    location: &Location,
    routed: Option<Responsibility>,
) -> BatchResult {
    let mut result = BatchResult {
        district: None,
        street: None,
        community: None,
        grid: None,
        micro_grid: None,
        exclusive: location
            .exclusive
            .iter()
            .map(|&id| index.area(id).code.clone())
            .collect(),
        responsible: routed.map(|r| index.area(r.area).code.clone()),
        rule: routed.map(|r| r.rule),
        nearest: None,
        nearest_m: None,
    };
    for &id in &location.chain {
        let area = index.area(id);
        let slot = match area.level {
            gridmap_core::Level::District => &mut result.district,
            gridmap_core::Level::Street => &mut result.street,
            gridmap_core::Level::Community => &mut result.community,
            gridmap_core::Level::Grid => &mut result.grid,
            gridmap_core::Level::MicroGrid => &mut result.micro_grid,
        };
        *slot = Some(area.code.clone());
    }
    if let Some(nearest) = location.nearest {
        result.nearest = Some(index.area(nearest.area).code.clone());
        result.nearest_m = Some(nearest.distance_m);
    }
    result
}
