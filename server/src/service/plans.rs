//! Plan use cases: a draft evaluated against the current city, its base versions checked, and the commit
//! with its retry while other processes write. Handlers in `api/plans.rs` parse and render around these.

use std::collections::BTreeMap;
use std::sync::Arc;

use geo_types::{Coord, Rect};
use gridmap_core::plan::{
    Impact, Judged, Plan, PlanEdit, PlanError, PlanOutcome, ValidationRules, affected_extent,
    apply, check, existing_touched, local_impact, problems_geojson,
};
use gridmap_core::{AreaIndex, Stage};
use serde_json::{Value, json};

use crate::AppState;
use crate::error::{ApiError, FieldError};
use crate::snapshot::Snapshot;
use crate::store::{
    ChangeNote, CommitOutcome, MovedArea, PlanCommit, PlanStatus, ReportFilter, StoredPlan,
};
use crate::views::{PlanView, area_feature};

/// Attempts at reading versions consistent with the snapshot while other processes write.
const COMMIT_ATTEMPTS: usize = 3;

/// What a draft does to the current city.
struct Evaluation {
    outcome: PlanOutcome,
    /// Problems the plan makes (`new`, blocking) and those it leaves as they were (`existing`).
    judged: Judged,
    impact: Impact,
    /// Areas after the plan (new and modified) and before it (retired), as GeoJSON features.
    changed: Value,
}

/// Applies `plan` to the snapshot, checks it with `rules` and measures its impact; the open reports are read
/// for its extent only.
async fn evaluate(
    state: &AppState,
    snapshot: Arc<Snapshot>,
    plan: Plan,
) -> Result<Result<Evaluation, PlanError>, ApiError> {
    let rules = plan.rules.over(&state.config.plan_rules);
    let on = snapshot.clone();
    let applied = tokio::task::spawn_blocking(move || {
        apply(on.index.areas(), &plan).map(|o| (affected_extent(&on.index, &o), o))
    })
    .await
    .map_err(|e| ApiError::Internal(format!("plan apply failed: {e}")))?;
    let (extent, outcome) = match applied {
        Ok(applied) => applied,
        Err(e) => return Ok(Err(e)),
    };
    let reports = match extent {
        Some(extent) => open_reports(state, extent).await?,
        None => Vec::new(),
    };
    // CPU-bound: validation reads whole families around what the plan touches, before and after it.
    tokio::task::spawn_blocking(move || {
        let s = &snapshot;
        let judged = check(&s.index, &outcome, &rules, &s.excluded);
        let impact = local_impact(s.index.areas(), &outcome, extent, &s.addresses, &reports);
        let changed = changed_features(&s.index, &outcome);
        Ok(Evaluation {
            outcome,
            judged,
            impact,
            changed,
        })
    })
    .await
    .map_err(|e| ApiError::Internal(format!("plan evaluation failed: {e}")))
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
            field_of_code(sent, *edit, code)
        }
        PlanError::Invalid { edit, .. } => format!("edits/{edit}"),
    };
    FieldError::new(field, error.to_string())
}

/// Where in edit `index` (sent as `items`) the code `code` appears, as a field path; the edit itself when
/// it does not (e.g. a code the plan's earlier edits removed).
pub fn field_of_code(items: Option<&Value>, index: usize, code: &str) -> String {
    let at = format!("edits/{index}");
    let Some(edit) = items.and_then(|v| v.get(index)) else {
        return at;
    };
    find_string(edit, code).map_or(at.clone(), |path| format!("{at}/{path}"))
}

fn find_string(value: &Value, needle: &str) -> Option<String> {
    match value {
        Value::String(s) if s == needle => Some(String::new()),
        Value::Object(map) => map
            .iter()
            .find_map(|(k, v)| find_string(v, needle).map(|rest| join(k, &rest))),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| find_string(v, needle).map(|rest| join(&i.to_string(), &rest))),
        _ => None,
    }
}

fn join(head: &str, rest: &str) -> String {
    if rest.is_empty() {
        head.to_owned()
    } else {
        format!("{head}/{rest}")
    }
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

/// The snapshot, reloaded first when the store holds newer data (another process committed).
async fn fresh_snapshot(state: &AppState) -> Result<Arc<Snapshot>, ApiError> {
    let stored = state.store.data_version().await?;
    if stored != state.snapshot().data_version {
        state.reload().await?;
    }
    Ok(state.snapshot())
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

/// Applies the edits to the current city (422 naming the edit when one cannot be carried out) and returns
/// the base versions: `given` ones, then `kept` ones (a draft's earlier base), then the current version of
/// every other existing area the plan changes.
async fn checked_base(
    state: &AppState,
    drawing: &Drawing<'_>,
    kept: &BTreeMap<String, i64>,
) -> Result<BTreeMap<String, i64>, ApiError> {
    let given = drawing.base_versions.clone();
    let snapshot = fresh_snapshot(state).await?;
    let plan = Plan {
        edits: drawing.edits.clone(),
        ..Plan::default()
    };
    let index_snapshot = snapshot.clone();
    let touched = tokio::task::spawn_blocking(move || {
        apply(index_snapshot.index.areas(), &plan)
            .map(|outcome| existing_touched(&index_snapshot.index, &outcome))
    })
    .await
    .map_err(|e| ApiError::Internal(format!("plan apply failed: {e}")))?
    .map_err(|e| ApiError::unprocessable(vec![edit_error(&e, drawing.sent)]))?;
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
    let moved = plan
        .base_versions
        .iter()
        .filter(|(c, v)| current.get(*c) != Some(v));
    Ok(moved
        .map(|(c, v)| MovedArea {
            code: c.clone(),
            expected: *v,
            current: current.get(c).copied(),
        })
        .collect())
}

pub async fn load(state: &AppState, id: i64) -> Result<StoredPlan, ApiError> {
    state
        .store
        .plan(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("plan {id}")))
}

/// The plan with its evaluation when it is a draft.
pub async fn full_detail(state: &AppState, plan: &StoredPlan) -> Result<Value, ApiError> {
    if plan.status != PlanStatus::Draft {
        return Ok(detail(plan, None, &[]));
    }
    let snapshot = fresh_snapshot(state).await?;
    let stale = stale(state, &plan.plan).await?;
    let sent = serde_json::to_value(&plan.plan.edits).ok();
    let evaluation = evaluate(state, snapshot, plan.plan.clone())
        .await?
        .map_err(|e| edit_error(&e, sent.as_ref()));
    let rules = plan.plan.rules.over(&state.config.plan_rules);
    Ok(detail(plan, Some((evaluation, rules)), &stale))
}

/// The draft `id`, when `expected` (from `If-Match`) is its version: 412 otherwise, 409 when it is no draft.
pub async fn draft(
    state: &AppState,
    id: i64,
    expected: Option<i64>,
) -> Result<StoredPlan, ApiError> {
    let plan = load(state, id).await?;
    if let Some(expected) = expected.filter(|v| *v != plan.version) {
        return Err(ApiError::PreconditionFailed(format!(
            "plan {} is at version {}, not {expected}: reload it and apply your change again",
            plan.id, plan.version
        )));
    }
    if plan.status != PlanStatus::Draft {
        return Err(ApiError::Conflict(format!(
            "plan {} is {}: only drafts change",
            plan.id,
            plan.status.as_str()
        )));
    }
    Ok(plan)
}

/// What a request sends to draw or redraw a plan; `sent` is the `edits` JSON as sent, to name fields.
pub struct Drawing<'a> {
    pub edits: Vec<PlanEdit>,
    pub base_versions: BTreeMap<String, i64>,
    pub sent: Option<&'a Value>,
}

/// Stores a new draft; its base versions default to the current ones. Returns it with its evaluation.
pub async fn create(
    state: &AppState,
    mut plan: StoredPlan,
    drawing: Drawing<'_>,
) -> Result<(StoredPlan, Value), ApiError> {
    let base = checked_base(state, &drawing, &BTreeMap::new()).await?;
    plan.plan.edits = drawing.edits;
    plan.plan.base_versions = base;
    plan.id = state.store.insert_plan(&plan).await?;
    let body = full_detail(state, &plan).await?;
    Ok((plan, body))
}

/// Replaces a draft's edits: base versions it already had are kept, new ones are read now.
pub async fn redraw(
    state: &AppState,
    mut plan: StoredPlan,
    drawing: Drawing<'_>,
) -> Result<(StoredPlan, Value), ApiError> {
    let base = checked_base(state, &drawing, &plan.plan.base_versions).await?;
    plan.plan.edits = drawing.edits;
    plan.plan.base_versions = base;
    save(state, &mut plan).await?;
    let body = full_detail(state, &plan).await?;
    Ok((plan, body))
}

/// Writes `plan` as its next version, unless another request changed it since it was read.
pub async fn save(state: &AppState, plan: &mut StoredPlan) -> Result<(), ApiError> {
    let read_version = plan.version;
    plan.version = read_version + 1;
    plan.updated_at = state.now();
    if state.store.update_plan(plan, read_version).await? {
        Ok(())
    } else {
        Err(ApiError::Conflict(format!(
            "plan {} was changed by another request meanwhile: reload it",
            plan.id
        )))
    }
}

/// Commits the draft `id`: 422 when it creates or worsens problems, 409 when a base version moved; then the
/// snapshot reloads. Returns the committed plan with the new `versions` and the `retired` codes.
pub async fn commit(
    state: &AppState,
    id: i64,
    expected: Option<i64>,
) -> Result<(i64, Value), ApiError> {
    // One commit at a time in this process; other processes are held off by the store's transaction.
    let _turn = state.write_guard().await;
    let plan = draft(state, id, expected).await?;
    for attempt in 1..=COMMIT_ATTEMPTS {
        let snapshot = fresh_snapshot(state).await?;
        let moved = stale(state, &plan.plan).await?;
        if !moved.is_empty() {
            return Err(ApiError::Moved(moved));
        }
        let sent = serde_json::to_value(&plan.plan.edits).ok();
        let evaluation = evaluate(state, snapshot.clone(), plan.plan.clone())
            .await?
            .map_err(|e| ApiError::unprocessable(vec![edit_error(&e, sent.as_ref())]))?;
        if !evaluation.judged.new.is_empty() {
            return Err(ApiError::PlanInvalid(evaluation.judged.new));
        }
        // Areas the plan changes without naming them (children that follow, neighbours of a moved vertex)
        // must still be at the versions this snapshot holds.
        let mut expected = plan.plan.base_versions.clone();
        let others: Vec<String> = existing_touched(&snapshot.index, &evaluation.outcome)
            .into_iter()
            .filter(|c| !expected.contains_key(c))
            .collect();
        // Only versions read now can be newer than the snapshot: a commit that closes nothing beyond its base
        // never waits for other writers.
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
        let versions = write(state, &plan, &expected, &evaluation.outcome).await?;
        // The import path: a new snapshot, and exactly the tiles the changed areas touch dropped.
        state.reload().await?;
        let committed = load(state, id).await?;
        let mut body = serde_json::to_value(PlanView::of(&committed)).unwrap_or(Value::Null);
        body["versions"] = json!(versions);
        body["retired"] = json!(evaluation.outcome.retired);
        return Ok((committed.version, body));
    }
    Err(ApiError::Conflict(
        "the city kept changing while committing: try again".into(),
    ))
}

/// The store's commit of `outcome` against the `expected` versions.
async fn write(
    state: &AppState,
    plan: &StoredPlan,
    expected: &BTreeMap<String, i64>,
    outcome: &PlanOutcome,
) -> Result<BTreeMap<String, i64>, ApiError> {
    let note = ChangeNote {
        author: plan.author.clone(),
        reason: plan.reason.clone(),
        at: state.now(),
    };
    let commit = PlanCommit {
        plan_id: plan.id,
        plan_version: plan.version,
        expected,
        changed: &outcome.changed,
        retired: &outcome.retired,
        note: &note,
    };
    match state.store.commit_plan(&commit).await {
        Ok(CommitOutcome::Committed(versions)) => Ok(versions),
        Ok(CommitOutcome::Moved(moved)) => Err(ApiError::Moved(moved)),
        Ok(CommitOutcome::PlanChanged) => Err(ApiError::Conflict(format!(
            "plan {} was changed by another request meanwhile: reload it",
            plan.id
        ))),
        Err(e) if e.is_conflict() => Err(ApiError::Conflict(format!(
            "a code the plan creates was taken meanwhile: {e}"
        ))),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_where_a_code_was_named() {
        let edits =
            json!([{"op": "merge", "codes": ["a", "b"], "into_code": "c", "into_name": "C"}]);
        assert_eq!(field_of_code(Some(&edits), 0, "b"), "edits/0/codes/1");
        assert_eq!(field_of_code(Some(&edits), 0, "c"), "edits/0/into_code");
        assert_eq!(field_of_code(Some(&edits), 0, "zzz"), "edits/0");
    }
}
