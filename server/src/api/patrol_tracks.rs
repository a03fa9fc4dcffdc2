//! Track playback: `GET /v1/patrols/tracks?worker=&date=` (a worker's cleaned tracks and dropped fixes as
//! GeoJSON) and `GET /v1/patrols/workers?date=` (who has fixes in the window, for a picker).
//!
//! The window is `date` (a local day), or `from`/`to` as in `/v1/coverage`; default today.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, SecondsFormat, Utc};
use gridmap_core::{AreaIndex, Cleaned, CleaningPolicy, Level, StaffRole, clean, geodesy};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::AppState;
use crate::api::extract::{Window, parse_time_arg};
use crate::api::geojson_response;
use crate::error::ApiError;
use crate::service::coverage;
use crate::store::StoredFix;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/patrols/tracks", get(get_tracks))
        .route("/v1/patrols/workers", get(get_workers))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct TracksQuery {
    /// The worker's id (phone number).
    pub worker: Option<String>,
    /// A local day (`2026-03-02`, Beijing time); instead of `from`/`to`.
    pub date: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct WorkersQuery {
    /// A local day (`2026-03-02`, Beijing time); instead of `from`/`to`.
    pub date: Option<String>,
}

/// A worker with fixes in the window.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WorkerDay {
    pub worker: String,
    /// From the roster, when the phone number is on it.
    pub name: Option<String>,
    /// The grid whose staff lists the worker (a full-time worker's own grid first).
    pub grid: Option<String>,
    pub grid_name: Option<String>,
    /// Stored fixes in the window (before cleaning).
    pub fixes: u64,
    #[schema(value_type = String, format = DateTime)]
    pub first: DateTime<Utc>,
    #[schema(value_type = String, format = DateTime)]
    pub last: DateTime<Utc>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WorkersResponse {
    #[schema(value_type = String, format = DateTime)]
    pub from: DateTime<Utc>,
    #[schema(value_type = String, format = DateTime)]
    pub to: DateTime<Utc>,
    pub workers: Vec<WorkerDay>,
}

fn window_of(
    date: Option<&str>,
    window: Window,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
    match date {
        Some(_) if window.from.is_some() || window.to.is_some() => Err(ApiError::field(
            "date",
            "give either date or from/to, not both",
        )),
        Some(day) => {
            let day = parse_time_arg("from", day)?;
            coverage::window(Some(day), Some(day), now)
        }
        None => coverage::window(window.from, window.to, now),
    }
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Roster entries by phone: (name, grid code, grid name); a full-time worker's own grid wins.
fn roster(index: &AreaIndex) -> HashMap<&str, (&str, &str, &str)> {
    let mut out: HashMap<&str, (&str, &str, &str, bool)> = HashMap::new();
    for area in index.areas() {
        if area.level != Level::Grid {
            continue;
        }
        for member in &area.staff {
            let full_time = member.role == StaffRole::FullTime;
            let entry = (
                member.name.as_str(),
                area.code.as_str(),
                area.name.as_str(),
                full_time,
            );
            out.entry(member.phone.as_str())
                .and_modify(|e| {
                    if full_time && !e.3 {
                        *e = entry;
                    }
                })
                .or_insert(entry);
        }
    }
    out.into_iter()
        .map(|(k, (n, c, g, _))| (k, (n, c, g)))
        .collect()
}

/// Workers with fixes in a window, for the track player.
#[utoipa::path(get, path = "/v1/patrols/workers", params(WorkersQuery, Window), tag = "patrols",
    responses((status = 200, body = WorkersResponse),
        (status = 400, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn get_workers(
    State(state): State<Arc<AppState>>,
    query: Result<Query<WorkersQuery>, QueryRejection>,
    window: Window,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    let (from, to) = window_of(query.date.as_deref(), window, state.now())?;
    let rows = state.store.patrol_workers(from, to).await?;
    let snapshot = state.snapshot();
    let roster = roster(&snapshot.index);
    let workers = rows
        .into_iter()
        .map(|r| {
            let known = roster.get(r.worker.as_str());
            WorkerDay {
                name: known.map(|k| k.0.to_owned()),
                grid: known.map(|k| k.1.to_owned()),
                grid_name: known.map(|k| k.2.to_owned()),
                worker: r.worker,
                fixes: r.fixes,
                first: r.first,
                last: r.last,
            }
        })
        .collect();
    Ok(axum::Json(WorkersResponse { from, to, workers }).into_response())
}

/// A worker's tracks as lines (a point for a track of one fix), then the dropped fixes as points, by time.
fn features(cleaned: &Cleaned) -> Vec<Value> {
    let tracks = cleaned.tracks.iter().enumerate().map(|(k, track)| {
        let coordinates: Vec<[f64; 2]> = track.fixes.iter().map(|(_, c)| [c.x, c.y]).collect();
        let times: Vec<String> = track.fixes.iter().map(|(t, _)| rfc3339(*t)).collect();
        let geometry = if coordinates.len() == 1 {
            json!({"type": "Point", "coordinates": coordinates[0]})
        } else {
            json!({"type": "LineString", "coordinates": coordinates})
        };
        json!({"type": "Feature", "geometry": geometry, "properties": {
            "kind": "track", "worker": track.worker, "track": k, "start": times.first(), "end": times.last(),
            "fixes": times.len(), "length_m": length_m(&track.fixes), "times": times,
        }})
    });
    let mut dropped: Vec<_> = cleaned.rejected.iter().collect();
    dropped.sort_by_key(|(f, _)| f.at);
    let dropped = dropped.into_iter().map(|(fix, reason)| {
        json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [fix.point.x, fix.point.y]},
            "properties": {"kind": "dropped", "worker": fix.worker, "at": rfc3339(fix.at),
                "reason": reason.as_str(), "accuracy_m": fix.accuracy_m}})
    });
    tracks.chain(dropped).collect()
}

/// Length of a lon/lat line in metres (equirectangular per segment; tracks are a few km).
fn length_m(points: &[(DateTime<Utc>, geo_types::Coord<f64>)]) -> f64 {
    points
        .windows(2)
        .map(|w| {
            let (a, b) = (w[0].1, w[1].1);
            let (mx, my) = geodesy::metres_per_degree(f64::midpoint(a.y, b.y));
            ((b.x - a.x) * mx).hypot((b.y - a.y) * my)
        })
        .sum()
}

/// A worker's cleaned tracks as GeoJSON: a `LineString` per track (`kind: "track"`, `times`: one RFC 3339 time
/// per vertex) and a `Point` per dropped fix (`kind: "dropped"`, `reason`).
#[utoipa::path(get, path = "/v1/patrols/tracks", params(TracksQuery, Window), tag = "patrols",
    responses((status = 200, description = "GeoJSON FeatureCollection", content_type = "application/geo+json"),
        (status = 400, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn get_tracks(
    State(state): State<Arc<AppState>>,
    query: Result<Query<TracksQuery>, QueryRejection>,
    window: Window,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    let worker = match query.worker.as_deref().map(str::trim) {
        Some(w) if !w.is_empty() => w.to_owned(),
        _ => return Err(ApiError::field("worker", "required: the worker's id")),
    };
    let (from, to) = window_of(query.date.as_deref(), window, state.now())?;
    let fixes = state.store.worker_fixes(&worker, from, to).await?;
    let cleaned = tokio::task::spawn_blocking(move || {
        clean(
            fixes.iter().map(StoredFix::to_fix).collect(),
            &CleaningPolicy::default(),
        )
    })
    .await?;
    let features = features(&cleaned);
    let snapshot = state.snapshot();
    let known = roster(&snapshot.index).get(worker.as_str()).copied();
    Ok(geojson_response(&json!({
        "type": "FeatureCollection",
        "worker": worker,
        "name": known.map(|k| k.0),
        "grid": known.map(|k| k.1),
        "from": rfc3339(from),
        "to": rfc3339(to),
        "duplicates": cleaned.duplicates,
        "features": features,
    })))
}
