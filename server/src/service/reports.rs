//! Report use cases: intake (routing, staff choice, the idempotent insert), actions on a case, and the list,
//! now or as the reports stood at a past time.

use std::collections::HashSet;

use chrono::{DateTime, Duration, FixedOffset, Utc};
use gridmap_core::workflow::WorkflowError;
use gridmap_core::{
    AreaIndex, Command, Indicators, Intake, Level, Report, apply, choose_staff, new_report,
    overdue, route,
};
use serde_json::{Value, json};

use crate::AppState;
use crate::clock::TimeArg;
use crate::error::{ApiError, FieldError};
use crate::state::ON_DUTY_WINDOW;
use crate::store::{InsertOutcome, ReportFilter};
use crate::views::{ReportSummary, report_feature};

/// The reports `filter` selects as GeoJSON features, newest first; `overdue_only`: past their deadline (now,
/// or at `at`).
pub async fn list(
    state: &AppState,
    mut filter: ReportFilter,
    overdue_only: bool,
    at: Option<DateTime<Utc>>,
) -> Result<Vec<Value>, ApiError> {
    if let Some(at) = at {
        return as_of(state, filter, overdue_only, at).await;
    }
    let now = state.now();
    filter.overdue_at = overdue_only.then_some(now);
    let reports = state.store.reports(&filter).await?;
    Ok(reports
        .iter()
        .map(|r| report_feature(r, ReportSummary::of(r, now), None))
        .collect())
}

/// The list as it stood at `at`: every report received by then, replayed to `at`, then filtered (stage, area,
/// overdue: of the case then) and cut to the limit; each with the area its point lay in by the boundaries then.
async fn as_of(
    state: &AppState,
    mut filter: ReportFilter,
    overdue_only: bool,
    at: DateTime<Utc>,
) -> Result<Vec<Value>, ApiError> {
    let stage = filter.stage.take();
    let prefix = filter.area_prefix.take();
    let limit = filter.limit.take().unwrap_or(usize::MAX);
    filter.received_by = Some(at);
    let reports = state.store.reports(&filter).await?;
    let city = state.city_at(Some(at)).await?;
    let now = state.snapshot();
    let index = city.index();
    // An area a case was moved to may have been retired since: its level from the city then, else now.
    let level_of = |code: &str| {
        index
            .by_code(code)
            .map(|id| index.area(id).level)
            .or_else(|| now.index.by_code(code).map(|id| now.index.area(id).level))
    };
    Ok(reports
        .iter()
        .filter_map(|r| gridmap_core::workflow::as_of(r, at, level_of).map(|then| (r, then)))
        .filter(|(_, then)| stage.is_none_or(|s| then.stage == s))
        .filter(|(_, then)| {
            prefix
                .as_deref()
                .is_none_or(|p| then.area_code.starts_with(p))
        })
        .filter(|(_, then)| !overdue_only || overdue(then, at))
        .take(limit)
        .map(|(r, then)| {
            let located = index.locate(r.point).responsible.map(|id| {
                let area = index.area(id);
                json!({"code": area.code, "name": area.name, "level": area.level.as_str()})
            });
            report_feature(
                r,
                ReportSummary::of(&then, at),
                Some(located.unwrap_or(Value::Null)),
            )
        })
        .collect())
}

/// A report taken in: new, or the one stored before under the same client id with the same content.
pub enum Intook {
    Created(Report),
    Existing(Report),
}

/// Routes the intake (422 when the point is in no area and too far from every grid), chooses the staff and
/// stores the report once per client id (409 when that id was stored with other content).
pub async fn intake(
    state: &AppState,
    intake: Intake,
    gave_reported_at: bool,
    now: DateTime<Utc>,
) -> Result<Intook, ApiError> {
    let settings = &state.config.reports;
    let snapshot = state.snapshot();
    let index = &snapshot.index;
    let routed =
        route(index, &settings.policy, intake.point, intake.category).ok_or_else(|| {
            let reason = format!(
                "the point is in no area and more than {} m from every grid",
                settings.policy.max_nearest_m
            );
            ApiError::unprocessable(vec![FieldError::new("location", reason)])
        })?;
    // Workers' latest patrol fixes pick the nearest one on duty; without any the roster decides.
    let area = index.area(routed.area);
    let positions = state.positions.for_staff(&area.staff);
    let staff = choose_staff(area, intake.point, &positions, now, ON_DUTY_WINDOW);
    let candidate = intake.clone();
    let (calendar, limits) = (&settings.calendar, &settings.limits);
    let mut report = new_report(intake, index, &routed, staff, now, calendar, limits);
    match state.store.insert_report(&report).await? {
        InsertOutcome::Created(id) => {
            report.id = id;
            state.feed.publish(&report, now);
            Ok(Intook::Created(report))
        }
        InsertOutcome::Existing(stored) if same_content(&stored, &candidate, gave_reported_at) => {
            Ok(Intook::Existing(*stored))
        }
        InsertOutcome::Existing(stored) => Err(ApiError::Conflict(format!(
            "client_id `{}` is report {} with other content",
            stored.client_id, stored.id
        ))),
    }
}

/// Is a stored report the one this request describes? (`reported_at` only when the request gave it.)
fn same_content(stored: &Report, intake: &Intake, gave_reported_at: bool) -> bool {
    stored.channel == intake.channel
        && stored.category == intake.category
        && stored.description == intake.description
        && stored.reporter == intake.reporter
        && stored.input_crs == intake.input_crs
        && stored.input_point == intake.input_point
        && (!gave_reported_at || stored.reported_at == intake.reported_at)
}

/// Carries out `command` on report `id` (at `version` when given) and announces it.
pub async fn act(
    state: &AppState,
    id: i64,
    command: Command,
    version: Option<i64>,
) -> Result<Report, ApiError> {
    let mut report = state
        .store
        .report(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("report {id}")))?;
    let expected = report.version;
    if let Some(version) = version
        && version != expected
    {
        return Err(ApiError::Conflict(format!(
            "report {id} is at version {expected}, not {version}: reload it"
        )));
    }
    let now = state.now();
    let settings = &state.config.reports;
    let snapshot = state.snapshot();
    let (calendar, limits) = (&settings.calendar, &settings.limits);
    apply(&mut report, &snapshot.index, calendar, limits, command, now).map_err(|e| {
        let field = match e {
            WorkflowError::Illegal(_) | WorkflowError::NoHigherLevel(_) => {
                return ApiError::Conflict(e.to_string());
            }
            WorkflowError::MissingReason(_) => "reason",
            WorkflowError::UnknownArea(_) => "area_code",
        };
        ApiError::unprocessable(vec![FieldError::new(field, e.to_string())])
    })?;
    if !state.store.save_transition(&report, expected).await? {
        return Err(ApiError::Conflict(format!(
            "report {id} was changed by someone else meanwhile: reload it"
        )));
    }
    state.feed.publish(&report, now);
    Ok(report)
}

/// Default period of the indicators: the 30 days before `to`.
const DEFAULT_PERIOD_DAYS: i64 = 30;

/// Indicators per area over `[from, to)` in the calendar's zone (default: the 30 days up to now), at `level`
/// (default all) and for `area` and the areas under it (default all).
pub async fn indicators(
    state: &AppState,
    (from, to): (Option<TimeArg>, Option<TimeArg>),
    level: Option<Level>,
    area: Option<&str>,
) -> Result<((DateTime<Utc>, DateTime<Utc>), Vec<Indicators>), ApiError> {
    let offset_s = state.config.reports.calendar.utc_offset_minutes * 60;
    let zone = FixedOffset::east_opt(offset_s)
        .ok_or_else(|| ApiError::Internal(format!("calendar offset {offset_s} s")))?;
    let resolve = |t: TimeArg, field: &str| {
        t.resolve(zone, field == "to")
            .ok_or_else(|| ApiError::field(field, format!("{t:?} is out of range")))
    };
    let to = to.map_or_else(|| Ok(state.now()), |t| resolve(t, "to"))?;
    let from = match from {
        Some(t) => resolve(t, "from")?,
        None => to - Duration::days(DEFAULT_PERIOD_DAYS),
    };
    if from > to {
        return Err(ApiError::field("from", "must not be after `to`"));
    }
    let snapshot = state.snapshot();
    let keep = match area {
        Some(code) => Some(
            subtree(&snapshot.index, code)
                .ok_or_else(|| ApiError::NotFound(format!("area `{code}`")))?,
        ),
        None => None,
    };
    let reports = state.store.all_reports().await?;
    let areas = tokio::task::spawn_blocking(move || {
        let mut rows = gridmap_core::indicators(&snapshot.index, &reports, from, to, level);
        if let Some(keep) = keep {
            rows.retain(|row| keep.contains(&row.area_code));
        }
        rows
    })
    .await?;
    Ok(((from, to), areas))
}

/// Codes of `root` and everything under it.
fn subtree(index: &AreaIndex, root: &str) -> Option<HashSet<String>> {
    let mut stack = vec![index.by_code(root)?];
    let mut codes = HashSet::new();
    while let Some(id) = stack.pop() {
        codes.insert(index.area(id).code.clone());
        stack.extend_from_slice(index.children(id));
    }
    Some(codes)
}
