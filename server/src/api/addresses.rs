//! `GET /v1/addresses?q=` — free-text doorplate search, answered as a GeoJSON FeatureCollection.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::api::extract::{Limit, Opt};
use crate::api::geojson_response;
use crate::error::ApiError;
use crate::snapshot::Snapshot;
use crate::views::AreaRef;

/// Default number of matches.
pub const DEFAULT_LIMIT: usize = 10;
/// Most matches one request may ask for.
pub const MAX_LIMIT: usize = 100;
/// Longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 200;

pub fn router() -> Router<Arc<AppState>> {
    Router::new().route("/v1/addresses", get(search_addresses))
}

/// `limit`: 1..=100, default 10.
type AddressLimit = Opt<Limit<MAX_LIMIT>>;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AddressParams {
    /// Free text, e.g. `黄河路128号`; full-width digits and partial addresses are fine.
    pub q: Option<String>,
}

/// Ranked address matches, each a Point feature with its full address, score and grid chain.
#[utoipa::path(get, path = "/v1/addresses", params(AddressParams, AddressLimit), tag = "lookup",
    responses((status = 200, description = "GeoJSON FeatureCollection of matches, best first", content_type = "application/geo+json"),
        (status = 400, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn search_addresses(
    State(state): State<Arc<AppState>>,
    query: Result<Query<AddressParams>, axum::extract::rejection::QueryRejection>,
    Opt(limit): Opt<Limit<MAX_LIMIT>>,
) -> Result<Response, ApiError> {
    let Query(params) = query?;
    let q = params.q.as_deref().map(str::trim).unwrap_or_default();
    if q.is_empty() {
        return Err(ApiError::field("q", "required: the address to look for"));
    }
    if q.chars().count() > MAX_QUERY_CHARS {
        let reason = format!("longer than {MAX_QUERY_CHARS} characters");
        return Err(ApiError::field("q", reason));
    }
    let limit = limit.map_or(DEFAULT_LIMIT, |Limit(n)| n);
    let snapshot = state.snapshot();
    let features: Vec<Value> = snapshot
        .address_index
        .search(q, limit)
        .into_iter()
        .map(|m| feature(&snapshot, m.address, m.score))
        .collect();
    Ok(geojson_response(
        &json!({"type": "FeatureCollection", "features": features}),
    ))
}

/// One match as a Point feature with its full address, score and grid chain.
fn feature(snapshot: &Snapshot, address: usize, score: f32) -> Value {
    let address = &snapshot.addresses[address];
    let location = snapshot.index.locate(address.point.0);
    let area = |id| snapshot.index.area(id);
    let chain: Vec<AreaRef> = location
        .chain
        .iter()
        .map(|&id| AreaRef::of(area(id)))
        .collect();
    let responsible = location.responsible.map(|id| &area(id).code);
    json!({
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [address.point.x(), address.point.y()]},
        "properties": {
            "full": address.full,
            "road": address.road,
            "number": address.number,
            "building": address.building,
            "score": score,
            "chain": chain,
            "responsible": responsible,
        }
    })
}
