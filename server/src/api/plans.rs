//! Plans (规划): drafts of boundary changes, their validation and impact, and the atomic commit.
//!
//! `POST /v1/plans` stores a draft; its base versions (the versions of the areas it changes, as they are now)
//! are filled in unless given. `GET /v1/plans/{id}` applies the draft to the current city
//! ([`gridmap_core::plan::apply`]) and answers with the problems ([`gridmap_core::plan::validate`]) as
//! GeoJSON, the impact, and the areas after the plan. `POST /v1/plans/{id}/commit` writes the new versions in
//! one store transaction that re-checks the base versions (409 when one moved: nothing changes), then reloads
//! the snapshot, which drops exactly the tiles the changed areas touch.

mod input;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use gridmap_core::plan::{Plan, PlanEdit, PlanRules};
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::api::extract::{Fields, MAX_SHORT_TEXT, json_object};
use crate::error::{ApiError, FieldError};
use crate::service::plans::{self, Drawing};
use crate::store::{PlanStatus, StoredPlan};
use crate::views::PlanView;

/// Longest reason, in characters.
const MAX_REASON_CHARS: usize = 2000;
/// Most edits in one plan.
const MAX_EDITS: usize = 10_000;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/plans", post(create_plan).get(list_plans))
        .route("/v1/plans/{id}", get(get_plan).put(replace_edits))
        .route("/v1/plans/{id}/commit", post(commit_plan))
        .route("/v1/plans/{id}/abandon", post(abandon_plan))
}

fn with_etag(status: StatusCode, version: i64, body: &Value) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    if let Ok(tag) = HeaderValue::from_str(&format!("\"{version}\"")) {
        response.headers_mut().insert(header::ETAG, tag);
    }
    response
}

/// `{code: version}` as sent; versions are integers ≥ 1.
fn base_versions(
    object: &Map<String, Value>,
    errors: &mut Vec<FieldError>,
) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    match object.get("base_versions") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (code, v) in map {
                match v.as_i64() {
                    Some(v) if v >= 1 => {
                        out.insert(code.clone(), v);
                    }
                    _ => errors.push(FieldError::new(
                        format!("base_versions/{code}"),
                        "must be a version number ≥ 1",
                    )),
                }
            }
        }
        Some(_) => errors.push(FieldError::new(
            "base_versions",
            "must be an object {code: version}",
        )),
    }
    out
}

/// The plan's `rules` as sent: `None` when left out, the empty set (the server's) for `null`.
fn rules(
    state: &AppState,
    object: &Map<String, Value>,
    errors: &mut Vec<FieldError>,
) -> Option<PlanRules> {
    match object.get("rules") {
        None => None,
        Some(Value::Null) => Some(PlanRules::default()),
        Some(sent) => match input::parse_rules(sent, &state.config.plan_rules) {
            Ok(rules) => Some(rules),
            Err(mut e) => {
                errors.append(&mut e);
                None
            }
        },
    }
}

fn edits(object: &Map<String, Value>, errors: &mut Vec<FieldError>) -> Vec<PlanEdit> {
    let sent = object.get("edits");
    if sent
        .and_then(Value::as_array)
        .is_some_and(|a| a.len() > MAX_EDITS)
    {
        errors.push(FieldError::new(
            "edits",
            format!("more than {MAX_EDITS} edits"),
        ));
        return Vec::new();
    }
    input::parse_edits(sent).unwrap_or_else(|mut e| {
        errors.append(&mut e);
        Vec::new()
    })
}

/// `If-Match: "3"` (or `3`, `W/"3"`); `*` and no header match any version.
fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| ApiError::field("If-Match", "not readable text"))?
        .trim();
    if text == "*" {
        return Ok(None);
    }
    text.trim_start_matches("W/")
        .trim_matches('"')
        .parse::<i64>()
        .map(Some)
        .map_err(|_| ApiError::field("If-Match", "expected the plan's version, e.g. \"3\""))
}

/// Stores a draft. `base_versions` defaults to the current version of every area the edits change.
#[utoipa::path(post, path = "/v1/plans", tag = "plans",
    request_body(content = Object, description = "`{name, author, reason, edits: [...], base_versions?: {code: version}, rules?: {overlap_tolerance_m?, gap_tolerance_m2?, min_grid_area_m2?, max_grid_area_m2?, check_numbering?}}`; edits tagged by `op`: `reshape`, `split`, `merge`, `create`, `retire`, `move_parent`, `rename`, `recode`, `move_vertex`, `renumber` (`{op, parent}`: the parent's ordinary children west→east, north→south)"),
    responses(
        (status = 201, description = "the stored draft with `problems` (GeoJSON, new ones), `existing_problems`, `impact`, `changed` (GeoJSON), `retired`, `stale`; `ETag` is its version", body = PlanView),
        (status = 400, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "a field at fault, e.g. `edits/3/geometry`, `edits/0/code` (unknown area) or `rules/min_grid_area_m2`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn create_plan(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let object = json_object(&body?)?;
    let mut f = Fields::new(&object, "");
    let name = f.trimmed("name", MAX_SHORT_TEXT);
    let author = f.trimmed("author", MAX_SHORT_TEXT);
    let reason = f.trimmed("reason", MAX_REASON_CHARS);
    let given = base_versions(&object, &mut f.errors);
    let edits = edits(&object, &mut f.errors);
    let rules = rules(&state, &object, &mut f.errors).unwrap_or_default();
    let (Some(name), Some(author), Some(reason), true) =
        (name, author, reason, f.errors.is_empty())
    else {
        return Err(ApiError::unprocessable(f.errors));
    };
    let now = state.now();
    let plan = StoredPlan {
        id: 0,
        name,
        author,
        reason,
        status: PlanStatus::Draft,
        plan: Plan {
            rules,
            ..Plan::default()
        },
        version: 1,
        created_at: now,
        updated_at: now,
        committed_at: None,
    };
    let drawing = Drawing {
        edits,
        base_versions: given,
        sent: object.get("edits"),
    };
    let (plan, body) = plans::create(&state, plan, drawing).await?;
    Ok(with_etag(StatusCode::CREATED, plan.version, &body))
}

/// Every plan, newest first (without evaluation).
#[utoipa::path(get, path = "/v1/plans", tag = "plans",
    responses((status = 200, description = "`{plans: [...]}`", body = Vec<PlanView>)))]
pub async fn list_plans(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let plans: Vec<PlanView> = state
        .store
        .plans()
        .await?
        .iter()
        .map(PlanView::of)
        .collect();
    Ok(axum::Json(json!({ "plans": plans })).into_response())
}

/// One plan; a draft comes with what it does to the city now: `valid` (no new problem), `problems` (GeoJSON
/// FeatureCollection: `kind`, `codes`, `message`, `area_m2`: the problems the plan creates or makes worse,
/// which block the commit), `existing_problems` (the same form with `existing: true`: problems of the
/// touched families that were there before the plan and that it leaves as they were), `impact` (addresses, micro-grids, staff,
/// reports, exclusive grids that change grid), `changed` (GeoJSON of the areas after the plan, `change`:
/// `new`, `modified`, `retired`), `retired`, `stale` (areas whose version moved since the plan was drawn), and
/// `effective_rules` (the thresholds it is checked with: the server's `--plan-*` values under the plan's
/// own `rules`), and `error` when an edit no longer applies.
#[utoipa::path(get, path = "/v1/plans/{id}", tag = "plans",
    params(("id" = i64, Path, description = "plan id")),
    responses((status = 200, description = "the plan (ETag: its version)", body = PlanView),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn get_plan(
    State(state): State<Arc<AppState>>,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let plan = plans::load(&state, id).await?;
    let body = plans::full_detail(&state, &plan).await?;
    Ok(with_etag(StatusCode::OK, plan.version, &body))
}

/// Replaces a draft's edits (and optionally name, base versions and rules). Base versions of areas the plan
/// already had are kept; areas it newly changes are based on their current version.
#[utoipa::path(put, path = "/v1/plans/{id}", tag = "plans",
    params(("id" = i64, Path, description = "plan id"),
        ("If-Match" = Option<String>, Header, description = "the plan's version as read")),
    request_body(content = Object, description = "`{edits: [...], name?, base_versions?, rules?}`; `rules` left out keeps the plan's, `null` clears them"),
    responses((status = 200, description = "the plan with its evaluation", body = PlanView),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "not a draft, or changed by another request meanwhile", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match is not the plan's version", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn replace_edits(
    State(state): State<Arc<AppState>>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let expected = if_match(&headers)?;
    let object = json_object(&body?)?;
    let mut plan = plans::draft(&state, id, expected).await?;
    let mut f = Fields::new(&object, "");
    let name = match object.get("name") {
        None | Some(Value::Null) => None,
        Some(_) => f.trimmed("name", MAX_SHORT_TEXT),
    };
    let given = base_versions(&object, &mut f.errors);
    let edits = edits(&object, &mut f.errors);
    // Left out: the plan keeps its rules; `null`: the server's.
    let rules = rules(&state, &object, &mut f.errors).unwrap_or(plan.plan.rules);
    if !f.errors.is_empty() {
        return Err(ApiError::unprocessable(f.errors));
    }
    if let Some(name) = name {
        plan.name = name;
    }
    plan.plan.rules = rules;
    let drawing = Drawing {
        edits,
        base_versions: given,
        sent: object.get("edits"),
    };
    let (plan, body) = plans::redraw(&state, plan, drawing).await?;
    Ok(with_etag(StatusCode::OK, plan.version, &body))
}

/// Gives up a draft (kept for the record).
#[utoipa::path(post, path = "/v1/plans/{id}/abandon", tag = "plans",
    params(("id" = i64, Path, description = "plan id"),
        ("If-Match" = Option<String>, Header, description = "the plan's version as read")),
    responses((status = 200, body = PlanView),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 412, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn abandon_plan(
    State(state): State<Arc<AppState>>,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let expected = if_match(&headers)?;
    let mut plan = plans::draft(&state, id, expected).await?;
    plan.status = PlanStatus::Abandoned;
    plans::save(&state, &mut plan).await?;
    let body = serde_json::to_value(PlanView::of(&plan)).unwrap_or(Value::Null);
    Ok(with_etag(StatusCode::OK, plan.version, &body))
}

/// Commits a draft: 422 when the plan creates or worsens problems (listed, as GeoJSON in `problems`; problems
/// that were there before and stay as they were do not block), 409 when an area
/// it changes moved since it was drawn (`moved`; nothing changes), 200 with the new `versions` by code
/// and the `retired` codes. Lookups and tiles answer from the new boundaries when this returns.
#[utoipa::path(post, path = "/v1/plans/{id}/commit", tag = "plans",
    params(("id" = i64, Path, description = "plan id"),
        ("If-Match" = Option<String>, Header, description = "the plan's version as read")),
    responses((status = 200, description = "committed: the plan, `versions` {code: new version}, `retired`", body = PlanView),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "a base version moved (`moved`), or the plan is not a draft", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 412, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation problems (`problems`: GeoJSON) or an edit that no longer applies", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn commit_plan(
    State(state): State<Arc<AppState>>,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (version, body) = plans::commit(&state, id, if_match(&headers)?).await?;
    Ok(with_etag(StatusCode::OK, version, &body))
}
