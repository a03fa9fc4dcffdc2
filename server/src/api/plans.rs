//! Plans (规划): drafts of boundary changes, their validation and impact, and the atomic commit.
//!
//! `POST /v1/plans` stores a draft; its base versions (the versions of the areas it changes, as they are now)
//! are filled in unless given. `GET /v1/plans/{id}` applies the draft to the current city
//! ([`gridmap_core::plan::apply`]) and answers with the problems ([`gridmap_core::plan::validate`]) as
//! GeoJSON, the impact, and the areas after the plan. `POST /v1/plans/{id}/commit` writes the new versions in
//! one store transaction that re-checks the base versions (409 when one moved: nothing changes), then reloads
//! the snapshot, which drops exactly the tiles the changed areas touch.

mod input;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use geo::BoundingRect;
use geo_types::{Coord, Rect};
use gridmap_core::plan::{
    Impact, Judged, Plan, PlanEdit, PlanError, PlanOutcome, PlanRules, Problem, ValidationRules,
    apply, check, impact, problems_geojson,
};
use gridmap_core::{Area, AreaIndex, Stage};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::api::grids::area_feature;
use crate::error::{ApiError, FieldError, PROBLEM_JSON};
use crate::state::Snapshot;
use crate::store::{
    ChangeNote, CommitOutcome, MovedArea, PlanCommit, PlanStatus, ReportFilter, StoredPlan,
};

/// Longest plan name and author, in characters.
const MAX_SHORT_TEXT: usize = 200;
/// Longest reason, in characters.
const MAX_REASON_CHARS: usize = 2000;
/// Most edits in one plan.
const MAX_EDITS: usize = 10_000;
/// Attempts at reading versions consistent with the snapshot while other processes write.
const COMMIT_ATTEMPTS: usize = 3;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/plans", post(create_plan).get(list_plans))
        .route("/v1/plans/{id}", get(get_plan).put(replace_edits))
        .route("/v1/plans/{id}/commit", post(commit_plan))
        .route("/v1/plans/{id}/abandon", post(abandon_plan))
}

/// A plan as stored.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlanView {
    pub id: i64,
    pub name: String,
    /// Author of every version the commit writes.
    pub author: String,
    /// Reason recorded with every version the commit writes.
    pub reason: String,
    pub status: PlanStatus,
    /// Grows with every change of the plan; send it back as `If-Match`.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub committed_at: Option<DateTime<Utc>>,
    /// The edits, each tagged by `op` (`reshape`, `split`, `merge`, `create`, `retire`, `move_parent`,
    /// `rename`, `recode`, `move_vertex`, `renumber`); geometries are RFC 7946 GeoJSON.
    #[schema(value_type = Vec<Object>)]
    pub edits: Vec<PlanEdit>,
    /// The version of each area the plan changes, as it was when the plan was drawn.
    pub base_versions: BTreeMap<String, i64>,
    /// The plan's own validation thresholds, as sent (`overlap_tolerance_m`, `gap_tolerance_m2`,
    /// `min_grid_area_m2`, `max_grid_area_m2`, `check_numbering`); the server's `--plan-*` values fill in
    /// the rest.
    #[schema(value_type = Object)]
    pub rules: PlanRules,
}

impl PlanView {
    fn of(plan: &StoredPlan) -> PlanView {
        PlanView {
            id: plan.id,
            name: plan.name.clone(),
            author: plan.author.clone(),
            reason: plan.reason.clone(),
            status: plan.status,
            version: plan.version,
            created_at: plan.created_at,
            updated_at: plan.updated_at,
            committed_at: plan.committed_at,
            edits: plan.plan.edits.clone(),
            base_versions: plan.plan.base_versions.clone(),
            rules: plan.plan.rules,
        }
    }
}

/// What a draft does to the current city.
struct Evaluation {
    outcome: PlanOutcome,
    /// Problems the plan makes (`new`, blocking) and those it leaves as they were (`existing`).
    judged: Judged,
    impact: Impact,
    /// Areas after the plan (new and modified) and before it (retired), as GeoJSON features.
    changed: Value,
}

/// A plan carried out on the snapshot, before it is checked.
struct Applied {
    outcome: PlanOutcome,
    /// Where anything changes grid (see [`affected_extent`]); `None` when the plan changes nothing.
    extent: Option<Rect<f64>>,
}

/// Applies `plan` to the snapshot. CPU-bound: call from a blocking task.
fn apply_on(snapshot: &Snapshot, plan: &Plan) -> Result<Applied, PlanError> {
    let outcome = apply(snapshot.index.areas(), plan)?;
    let extent = affected_extent(&snapshot.index, &outcome);
    Ok(Applied { outcome, extent })
}

/// Checks an applied plan with `rules` and compares where things fall before and after it; `open_reports`
/// are those in the extent. CPU-bound: call from a blocking task.
fn evaluate(
    snapshot: &Snapshot,
    applied: Applied,
    rules: &ValidationRules,
    open_reports: &[(i64, Coord<f64>)],
) -> Evaluation {
    let Applied { outcome, extent } = applied;
    let before = snapshot.index.areas();
    // Validation reads whole families around what the plan touches, before and after it, not the city.
    let judged = check(&snapshot.index, &outcome, rules, &snapshot.excluded);
    // Nothing outside the changed areas' old and new extent changes grid: impact on that part only.
    let local: Vec<Area> = extent.map_or_else(Vec::new, |r| areas_meeting(before, r));
    let local_after = outcome.areas_after(&local);
    let addresses: Vec<gridmap_core::Address> = extent.map_or_else(Vec::new, |r| {
        snapshot
            .addresses
            .iter()
            .filter(|a| inside(r, a.point.0))
            .cloned()
            .collect()
    });
    let reports: Vec<(i64, Coord<f64>)> = extent.map_or_else(Vec::new, |r| {
        open_reports
            .iter()
            .filter(|(_, p)| inside(r, *p))
            .copied()
            .collect()
    });
    let impact = impact(
        &AreaIndex::build(local),
        &AreaIndex::build(local_after),
        &addresses,
        &reports,
    );
    let changed = changed_features(&snapshot.index, &outcome);
    Evaluation {
        outcome,
        judged,
        impact,
        changed,
    }
}

fn inside(r: Rect<f64>, p: Coord<f64>) -> bool {
    p.x >= r.min().x && p.x <= r.max().x && p.y >= r.min().y && p.y <= r.max().y
}

fn meets(a: Rect<f64>, b: Rect<f64>) -> bool {
    a.min().x <= b.max().x
        && a.max().x >= b.min().x
        && a.min().y <= b.max().y
        && a.max().y >= b.min().y
}

fn union(a: Option<Rect<f64>>, b: Option<Rect<f64>>) -> Option<Rect<f64>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(Rect::new(
            (a.min().x.min(b.min().x), a.min().y.min(b.min().y)),
            (a.max().x.max(b.max().x), a.max().y.max(b.max().y)),
        )),
        (a, b) => a.or(b),
    }
}

/// The bounding box of the changed and retired areas, before and after, widened to the exclusive grids it
/// meets (whose ordinary grids the impact lists in full).
fn affected_extent(index: &AreaIndex, outcome: &PlanOutcome) -> Option<Rect<f64>> {
    let old = outcome
        .changed
        .iter()
        .map(|a| &a.code)
        .chain(&outcome.retired)
        .filter_map(|c| index.by_code(c))
        .map(|id| index.area(id).geometry.bounding_rect());
    let new = outcome.changed.iter().map(|a| a.geometry.bounding_rect());
    let extent = old.chain(new).fold(None, union)?;
    Some(
        index
            .areas()
            .iter()
            .filter(|a| a.is_exclusive())
            .filter_map(|a| a.geometry.bounding_rect())
            .filter(|r| meets(*r, extent))
            .fold(extent, |e, r| union(Some(e), Some(r)).unwrap_or(e)),
    )
}

fn areas_meeting(areas: &[Area], extent: Rect<f64>) -> Vec<Area> {
    areas
        .iter()
        .filter(|a| a.geometry.bounding_rect().is_some_and(|r| meets(r, extent)))
        .cloned()
        .collect()
}

/// New and modified areas as they are after the plan, retired ones as they were; `change` says which.
fn changed_features(index: &AreaIndex, outcome: &PlanOutcome) -> Value {
    let mut features: Vec<Value> = outcome
        .changed
        .iter()
        .map(|a| {
            let mut f = area_feature(a, false);
            f["properties"]["change"] = json!(if index.by_code(&a.code).is_some() {
                "modified"
            } else {
                "new"
            });
            f
        })
        .collect();
    for code in &outcome.retired {
        if let Some(id) = index.by_code(code) {
            let mut f = area_feature(index.area(id), false);
            f["properties"]["change"] = json!("retired");
            features.push(f);
        }
    }
    json!({"type": "FeatureCollection", "features": features})
}

/// The error of an edit that cannot be carried out, naming the field where the code was given.
fn edit_error(error: &PlanError, sent: Option<&Value>) -> FieldError {
    let field = match error {
        PlanError::UnknownArea { edit, code } | PlanError::CodeTaken { edit, code } => {
            input::field_of_code(sent, *edit, code)
        }
        PlanError::Invalid { edit, .. } => format!("edits/{edit}"),
    };
    FieldError::new(field, error.to_string())
}

fn edits_json(edits: &[PlanEdit]) -> Value {
    serde_json::to_value(edits).unwrap_or(Value::Null)
}

/// Open reports' ids and points inside `extent` (impact lists those whose responsible grid changes).
async fn open_reports(
    state: &AppState,
    extent: Rect<f64>,
) -> Result<Vec<(i64, Coord<f64>)>, ApiError> {
    let filter = ReportFilter {
        bbox: Some([
            extent.min().x,
            extent.min().y,
            extent.max().x,
            extent.max().y,
        ]),
        ..ReportFilter::default()
    };
    let reports = state.store.reports(&filter).await?;
    Ok(reports
        .into_iter()
        .filter(|r| r.stage != Stage::Closed)
        .map(|r| (r.id, r.point))
        .collect())
}

/// The thresholds `plan` is checked with: the server's, with the plan's own over them.
fn rules_of(state: &AppState, plan: &Plan) -> ValidationRules {
    plan.rules.over(&state.config.plan_rules)
}

async fn evaluate_now(
    state: &AppState,
    snapshot: Arc<Snapshot>,
    plan: Plan,
) -> Result<Result<Evaluation, PlanError>, ApiError> {
    let rules = rules_of(state, &plan);
    let on = snapshot.clone();
    let applied = tokio::task::spawn_blocking(move || apply_on(&on, &plan))
        .await
        .map_err(|e| ApiError::Internal(format!("plan apply failed: {e}")))?;
    let applied = match applied {
        Ok(applied) => applied,
        Err(e) => return Ok(Err(e)),
    };
    let reports = match applied.extent {
        Some(extent) => open_reports(state, extent).await?,
        None => Vec::new(),
    };
    tokio::task::spawn_blocking(move || Ok(evaluate(&snapshot, applied, &rules, &reports)))
        .await
        .map_err(|e| ApiError::Internal(format!("plan evaluation failed: {e}")))
}

/// The snapshot, reloaded first when the store holds newer data (another process committed).
async fn fresh_snapshot(state: &AppState) -> Result<Arc<Snapshot>, ApiError> {
    let stored = state.store.data_version().await?;
    if stored != state.snapshot().data_version {
        state.reload().await?;
    }
    Ok(state.snapshot())
}

/// Codes of existing areas the outcome changes or retires.
fn existing_touched(index: &AreaIndex, outcome: &PlanOutcome) -> Vec<String> {
    let codes: BTreeSet<&String> = outcome
        .changed
        .iter()
        .map(|a| &a.code)
        .chain(&outcome.retired)
        .filter(|c| index.by_code(c).is_some())
        .collect();
    codes.into_iter().cloned().collect()
}

/// The plan with a view of what it does now (drafts only).
fn detail(
    plan: &StoredPlan,
    evaluation: Option<(Result<Evaluation, FieldError>, ValidationRules)>,
    stale: &[MovedArea],
) -> Value {
    let mut out = serde_json::to_value(PlanView::of(plan)).unwrap_or_else(|_| json!({}));
    let Some((evaluation, rules)) = evaluation else {
        return out;
    };
    out["stale"] = json!(stale);
    out["effective_rules"] = json!(rules);
    match evaluation {
        Ok(e) => {
            out["valid"] = json!(e.judged.new.is_empty());
            out["problems"] =
                serde_json::to_value(problems_geojson(&e.judged.new)).unwrap_or(Value::Null);
            out["existing_problems"] =
                serde_json::to_value(e.judged.existing_geojson()).unwrap_or(Value::Null);
            out["impact"] = serde_json::to_value(&e.impact).unwrap_or(Value::Null);
            out["changed"] = e.changed;
            out["retired"] = json!(e.outcome.retired);
            out["error"] = Value::Null;
        }
        Err(error) => {
            out["valid"] = json!(false);
            out["error"] = json!(error);
        }
    }
    out
}

fn with_etag(status: StatusCode, version: i64, body: &Value) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    if let Ok(tag) = HeaderValue::from_str(&format!("\"{version}\"")) {
        response.headers_mut().insert(header::ETAG, tag);
    }
    response
}

/// An RFC 9457 body with extension members (`moved`, `problems`).
fn problem(
    status: StatusCode,
    slug: &str,
    title: &str,
    detail: &str,
    extra: Map<String, Value>,
) -> Response {
    let mut body = json!({
        "type": format!("/problems/{slug}"),
        "title": title,
        "status": status.as_u16(),
        "detail": detail,
    });
    if let Value::Object(map) = &mut body {
        map.extend(extra);
    }
    (
        status,
        [(header::CONTENT_TYPE, PROBLEM_JSON)],
        serde_json::to_vec(&body).unwrap_or_default(),
    )
        .into_response()
}

fn moved_response(moved: &[MovedArea]) -> Response {
    let list = moved
        .iter()
        .map(|m| match m.current {
            Some(v) => format!(
                "`{}` is at version {v}, the plan was drawn on {}",
                m.code, m.expected
            ),
            None => format!(
                "`{}` no longer exists (the plan was drawn on version {})",
                m.code, m.expected
            ),
        })
        .collect::<Vec<_>>()
        .join("; ");
    let mut extra = Map::new();
    extra.insert("moved".into(), json!(moved));
    problem(
        StatusCode::CONFLICT,
        "base-version-moved",
        "Areas changed since the plan was drawn",
        &format!("nothing was changed: {list}"),
        extra,
    )
}

fn json_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(ApiError::field("body", "expected a JSON object")),
        Err(e) => Err(ApiError::field("body", e.to_string())),
    }
}

fn text(
    object: &Map<String, Value>,
    name: &str,
    max_chars: usize,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    match object.get(name) {
        Some(Value::String(s)) if s.trim().is_empty() => {
            errors.push(FieldError::new(name, "must not be empty"));
            None
        }
        Some(Value::String(s)) if s.chars().count() > max_chars => {
            errors.push(FieldError::new(
                name,
                format!("longer than {max_chars} characters"),
            ));
            None
        }
        Some(Value::String(s)) => Some(s.trim().to_owned()),
        None | Some(Value::Null) => {
            errors.push(FieldError::new(name, "required"));
            None
        }
        Some(_) => {
            errors.push(FieldError::new(name, "must be a string"));
            None
        }
    }
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

/// Applies the edits to the current city (422 naming the edit when one cannot be carried out) and returns
/// the base versions: `given` ones, then `kept` ones (a draft's earlier base), then the current version of
/// every other existing area the plan changes.
async fn checked_base(
    state: &AppState,
    sent: Option<&Value>,
    edits: &[PlanEdit],
    given: BTreeMap<String, i64>,
    kept: &BTreeMap<String, i64>,
) -> Result<BTreeMap<String, i64>, ApiError> {
    let snapshot = fresh_snapshot(state).await?;
    let plan = Plan {
        edits: edits.to_vec(),
        ..Plan::default()
    };
    let index_snapshot = snapshot.clone();
    let touched = tokio::task::spawn_blocking(move || {
        apply(index_snapshot.index.areas(), &plan)
            .map(|outcome| existing_touched(&index_snapshot.index, &outcome))
    })
    .await
    .map_err(|e| ApiError::Internal(format!("plan apply failed: {e}")))?
    .map_err(|e| ApiError::unprocessable(vec![edit_error(&e, sent)]))?;
    let unknown: Vec<FieldError> = given
        .keys()
        .filter(|c| snapshot.index.by_code(c).is_none())
        .map(|c| {
            FieldError::new(
                format!("base_versions/{c}"),
                format!("no current area has code `{c}`"),
            )
        })
        .collect();
    if !unknown.is_empty() {
        return Err(ApiError::unprocessable(unknown));
    }
    let missing: Vec<String> = touched
        .iter()
        .filter(|c| !given.contains_key(*c) && !kept.contains_key(*c))
        .cloned()
        .collect();
    let current = state.store.current_versions(&missing).await?;
    let mut base = given;
    for code in touched {
        if let Some(v) = kept.get(&code).or_else(|| current.get(&code)) {
            base.entry(code).or_insert(*v);
        }
    }
    Ok(base)
}

/// Where the plan's base stands now: areas whose version moved.
async fn stale(state: &AppState, plan: &Plan) -> Result<Vec<MovedArea>, ApiError> {
    let codes: Vec<String> = plan.base_versions.keys().cloned().collect();
    let current = state.store.current_versions(&codes).await?;
    Ok(moved_areas(&plan.base_versions, &current))
}

fn moved_areas(base: &BTreeMap<String, i64>, current: &BTreeMap<String, i64>) -> Vec<MovedArea> {
    base.iter()
        .filter(|(c, v)| current.get(*c) != Some(v))
        .map(|(c, v)| MovedArea {
            code: c.clone(),
            expected: *v,
            current: current.get(c).copied(),
        })
        .collect()
}

async fn load(state: &AppState, id: i64) -> Result<StoredPlan, ApiError> {
    state
        .store
        .plan(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("plan {id}")))
}

/// The plan with its evaluation when it is a draft.
async fn full_detail(state: &AppState, plan: &StoredPlan) -> Result<Value, ApiError> {
    if plan.status != PlanStatus::Draft {
        return Ok(detail(plan, None, &[]));
    }
    let snapshot = fresh_snapshot(state).await?;
    let stale = stale(state, &plan.plan).await?;
    let sent = edits_json(&plan.plan.edits);
    let evaluation = evaluate_now(state, snapshot, plan.plan.clone())
        .await?
        .map_err(|e| edit_error(&e, Some(&sent)));
    let rules = rules_of(state, &plan.plan);
    Ok(detail(plan, Some((evaluation, rules)), &stale))
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

fn precondition_failed(plan: &StoredPlan, expected: i64) -> Response {
    problem(
        StatusCode::PRECONDITION_FAILED,
        "plan-version",
        "The plan changed",
        &format!(
            "plan {} is at version {}, not {expected}: reload it and apply your change again",
            plan.id, plan.version
        ),
        Map::new(),
    )
}

fn not_draft(plan: &StoredPlan) -> ApiError {
    ApiError::Conflict(format!(
        "plan {} is {}: only drafts change",
        plan.id,
        plan.status.as_str()
    ))
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
    let mut errors = Vec::new();
    let name = text(&object, "name", MAX_SHORT_TEXT, &mut errors);
    let author = text(&object, "author", MAX_SHORT_TEXT, &mut errors);
    let reason = text(&object, "reason", MAX_REASON_CHARS, &mut errors);
    let given = base_versions(&object, &mut errors);
    let edits = edits(&object, &mut errors);
    let rules = rules(&state, &object, &mut errors).unwrap_or_default();
    let (Some(name), Some(author), Some(reason)) = (name, author, reason) else {
        return Err(ApiError::unprocessable(errors));
    };
    if !errors.is_empty() {
        return Err(ApiError::unprocessable(errors));
    }
    let base = checked_base(&state, object.get("edits"), &edits, given, &BTreeMap::new()).await?;
    let now = state.now();
    let mut plan = StoredPlan {
        id: 0,
        name,
        author,
        reason,
        status: PlanStatus::Draft,
        plan: Plan {
            edits,
            base_versions: base,
            rules,
        },
        version: 1,
        created_at: now,
        updated_at: now,
        committed_at: None,
    };
    plan.id = state.store.insert_plan(&plan).await?;
    let body = full_detail(&state, &plan).await?;
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
    let plan = load(&state, id).await?;
    let body = full_detail(&state, &plan).await?;
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
    let mut plan = load(&state, id).await?;
    if let Some(expected) = expected.filter(|v| *v != plan.version) {
        return Ok(precondition_failed(&plan, expected));
    }
    if plan.status != PlanStatus::Draft {
        return Err(not_draft(&plan));
    }
    let mut errors = Vec::new();
    let name = match object.get("name") {
        None | Some(Value::Null) => None,
        Some(_) => text(&object, "name", MAX_SHORT_TEXT, &mut errors),
    };
    let given = base_versions(&object, &mut errors);
    let edits = edits(&object, &mut errors);
    // Left out: the plan keeps its rules; `null`: the server's.
    let rules = rules(&state, &object, &mut errors).unwrap_or(plan.plan.rules);
    if !errors.is_empty() {
        return Err(ApiError::unprocessable(errors));
    }
    let base = checked_base(
        &state,
        object.get("edits"),
        &edits,
        given,
        &plan.plan.base_versions,
    )
    .await?;
    let read_version = plan.version;
    if let Some(name) = name {
        plan.name = name;
    }
    plan.plan = Plan {
        edits,
        base_versions: base,
        rules,
    };
    plan.version = read_version + 1;
    plan.updated_at = state.now();
    if !state.store.update_plan(&plan, read_version).await? {
        return Err(ApiError::Conflict(format!(
            "plan {id} was changed by another request meanwhile: reload it"
        )));
    }
    let body = full_detail(&state, &plan).await?;
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
    let mut plan = load(&state, id).await?;
    if let Some(expected) = expected.filter(|v| *v != plan.version) {
        return Ok(precondition_failed(&plan, expected));
    }
    if plan.status != PlanStatus::Draft {
        return Err(not_draft(&plan));
    }
    let read_version = plan.version;
    plan.status = PlanStatus::Abandoned;
    plan.version += 1;
    plan.updated_at = state.now();
    if !state.store.update_plan(&plan, read_version).await? {
        return Err(ApiError::Conflict(format!(
            "plan {id} was changed by another request meanwhile: reload it"
        )));
    }
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
    let expected_version = if_match(&headers)?;
    // One commit at a time in this process; other processes are held off by the store's transaction.
    let _turn = state.write_guard().await;
    let plan = load(&state, id).await?;
    if let Some(expected) = expected_version.filter(|v| *v != plan.version) {
        return Ok(precondition_failed(&plan, expected));
    }
    if plan.status != PlanStatus::Draft {
        return Err(not_draft(&plan));
    }
    for attempt in 1..=COMMIT_ATTEMPTS {
        let snapshot = fresh_snapshot(&state).await?;
        let moved = stale(&state, &plan.plan).await?;
        if !moved.is_empty() {
            return Ok(moved_response(&moved));
        }
        let sent = edits_json(&plan.plan.edits);
        let evaluation = match evaluate_now(&state, snapshot.clone(), plan.plan.clone()).await? {
            Ok(e) => e,
            Err(e) => return Err(ApiError::unprocessable(vec![edit_error(&e, Some(&sent))])),
        };
        if !evaluation.judged.new.is_empty() {
            return Ok(problems_response(&evaluation.judged.new));
        }
        // Areas the plan changes without naming them (children that follow, neighbours of a moved vertex)
        // must still be at the versions this snapshot holds.
        let touched = existing_touched(&snapshot.index, &evaluation.outcome);
        let mut expected = plan.plan.base_versions.clone();
        let others: Vec<String> = touched
            .into_iter()
            .filter(|c| !expected.contains_key(c))
            .collect();
        // The base versions the store re-checks in its transaction; only versions read now can be newer than
        // the snapshot. So a commit that closes nothing beyond its base never waits for other writers.
        if !others.is_empty() {
            expected.extend(state.store.current_versions(&others).await?);
            if state.store.data_version().await? != snapshot.data_version {
                // Another process wrote meanwhile: the versions just read may be newer than the snapshot.
                if attempt == COMMIT_ATTEMPTS {
                    break;
                }
                continue;
            }
        }
        let note = ChangeNote {
            author: plan.author.clone(),
            reason: plan.reason.clone(),
            at: state.now(),
        };
        let commit = PlanCommit {
            plan_id: plan.id,
            plan_version: plan.version,
            expected: &expected,
            changed: &evaluation.outcome.changed,
            retired: &evaluation.outcome.retired,
            note: &note,
        };
        let versions = match state.store.commit_plan(&commit).await {
            Ok(CommitOutcome::Committed(versions)) => versions,
            Ok(CommitOutcome::Moved(moved)) => return Ok(moved_response(&moved)),
            Ok(CommitOutcome::PlanChanged) => {
                return Err(ApiError::Conflict(format!(
                    "plan {id} was changed by another request meanwhile: reload it"
                )));
            }
            Err(e) if e.is_conflict() => {
                return Err(ApiError::Conflict(format!(
                    "a code the plan creates was taken meanwhile: {e}"
                )));
            }
            Err(e) => return Err(e.into()),
        };
        // The import path: a new snapshot, and exactly the tiles the changed areas touch dropped.
        state.reload().await?;
        let committed = load(&state, id).await?;
        let mut body = serde_json::to_value(PlanView::of(&committed)).unwrap_or(Value::Null);
        body["versions"] = json!(versions);
        body["retired"] = json!(evaluation.outcome.retired);
        return Ok(with_etag(StatusCode::OK, committed.version, &body));
    }
    Err(ApiError::Conflict(
        "the city kept changing while committing: try again".into(),
    ))
}

fn problems_response(problems: &[Problem]) -> Response {
    let errors: Vec<FieldError> = problems
        .iter()
        .enumerate()
        .map(|(k, p)| FieldError::new(format!("problems/{k}"), p.message.clone()))
        .collect();
    let mut extra = Map::new();
    extra.insert("field".into(), json!("problems"));
    extra.insert("errors".into(), json!(errors));
    extra.insert(
        "problems".into(),
        serde_json::to_value(problems_geojson(problems)).unwrap_or(Value::Null),
    );
    problem(
        StatusCode::UNPROCESSABLE_ENTITY,
        "plan-invalid",
        "The plan breaks boundary rules",
        &format!(
            "{} problem(s), nothing was changed: {}",
            problems.len(),
            problems
                .iter()
                .map(|p| p.message.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        ),
        extra,
    )
}
