//! The legal moves of a case, and applying them: pure; the server persists the result.
//!
//! | stage | action → stage |
//! |---|---|
//! | registered | dispatch, reassign → dispatched; escalate → escalated |
//! | dispatched | accept → handling; return → returned; escalate → escalated; reassign → dispatched |
//! | handling | submit → verification; return → returned; escalate → escalated; extend → handling; reassign → dispatched |
//! | verification | close → closed; rework → handling |
//! | returned | dispatch, reassign → dispatched; escalate → escalated |
//! | escalated | dispatch, reassign → dispatched; escalate → escalated |
//! | closed | nothing |
//!
//! `register` is only the first event of a case ([`new_report`]). Escalation moves the case one level up the tree
//! (grid or exclusive grid → community → street → district), by hand with a reason or, when a stage's time limit
//! passes, automatically ([`due_escalations`], [`auto_escalate`]).
//!
//! ```
//! use gridmap_core::workflow::next_stage;
//! use gridmap_core::{Action, Stage};
//! assert_eq!(next_stage(Stage::Handling, Action::Submit), Ok(Stage::Verification));
//! let err = next_stage(Stage::Dispatched, Action::Close).unwrap_err();
//! assert_eq!(err.to_string(), "cannot close a report in stage dispatched (派遣)");
//! ```

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::calendar::WorkCalendar;
use crate::routing::Route;
use crate::staff::StaffChoice;
use crate::time_limits::TimeLimits;
use crate::{Action, AreaIndex, Category, Channel, Crs, Level, Report, ReportEvent, Stage};

/// An action that the case's stage does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot {} a report in stage {} ({})", action.as_str(), from.as_str(), from.name_zh())]
pub struct IllegalTransition {
    pub from: Stage,
    pub action: Action,
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkflowError {
    #[error(transparent)]
    Illegal(#[from] IllegalTransition),
    /// Escalate, return, rework and extend must say why.
    #[error("{} needs a reason", .0.as_str())]
    MissingReason(Action),
    /// The case is already at the district.
    #[error("no level above {0} to escalate to")]
    NoHigherLevel(String),
    #[error("unknown area {0}")]
    UnknownArea(String),
}

/// The stage an action leads to from `from` (see the module docs for the table).
pub fn next_stage(from: Stage, action: Action) -> Result<Stage, IllegalTransition> {
    use Action as A;
    use Stage as S;
    let to = match (from, action) {
        (S::Registered | S::Returned | S::Escalated, A::Dispatch | A::Reassign)
        | (S::Dispatched | S::Handling, A::Reassign) => S::Dispatched,
        (S::Registered | S::Dispatched | S::Handling | S::Returned | S::Escalated, A::Escalate) => {
            S::Escalated
        }
        (S::Dispatched, A::Accept) | (S::Handling, A::Extend) | (S::Verification, A::Rework) => {
            S::Handling
        }
        (S::Dispatched | S::Handling, A::Return) => S::Returned,
        (S::Handling, A::Submit) => S::Verification,
        (S::Verification, A::Close) => S::Closed,
        _ => return Err(IllegalTransition { from, action }),
    };
    Ok(to)
}

/// The code of the area one level up: a grid (ordinary or exclusive) or micro-grid → its community, a community
/// → its street, a street → its district; `None` for a district, an unknown code or a missing parent.
pub fn escalation_target(index: &AreaIndex, area_code: &str) -> Option<String> {
    let area = index.area(index.by_code(area_code)?);
    // Grids escalate to the community even when an exclusive grid hangs under an ordinary grid.
    let want = match area.level {
        Level::District => return None,
        Level::Street => Level::District,
        Level::Community => Level::Street,
        Level::Grid | Level::MicroGrid => Level::Community,
    };
    let mut parent = area.parent.as_deref();
    while let Some(code) = parent {
        let p = index.area(index.by_code(code)?);
        if p.level <= want {
            return Some(p.code.clone());
        }
        parent = p.parent.as_deref();
    }
    None
}

/// What someone asks of a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    pub action: Action,
    /// Who acts (a dispatcher's or worker's id; `system` for automatic escalations).
    pub actor: String,
    /// Required for escalate, return, rework and extend.
    pub reason: Option<String>,
    /// Reassign: the area to send the case to (else it stays in its area, for another person).
    pub area_code: Option<String>,
    /// The new assignee, if one is named.
    pub assignee: Option<String>,
}

impl Command {
    pub fn new(action: Action, actor: impl Into<String>) -> Command {
        Command {
            action,
            actor: actor.into(),
            reason: None,
            area_code: None,
            assignee: None,
        }
    }
    #[must_use]
    pub fn reason(mut self, reason: impl Into<String>) -> Command {
        self.reason = Some(reason.into());
        self
    }
}

fn needs_reason(action: Action) -> bool {
    matches!(
        action,
        Action::Escalate | Action::Return | Action::Rework | Action::Extend
    )
}

/// Applies a command to a case: checks it, moves the stage, the responsible area (escalate: one level up;
/// reassign: the given area) and the assignee (the named one; cleared when the area changes without one), starts
/// the new stage's clock at `now` (extend: the deadline moves by the stage's limit again), sets `closed_at`,
/// bumps `version` and records the event, which it returns. On error the report is unchanged.
pub fn apply(
    report: &mut Report,
    index: &AreaIndex,
    cal: &WorkCalendar,
    limits: &TimeLimits,
    cmd: Command,
    now: DateTime<Utc>,
) -> Result<ReportEvent, WorkflowError> {
    let to = next_stage(report.stage, cmd.action)?;
    let reason = cmd.reason.filter(|r| !r.trim().is_empty());
    if needs_reason(cmd.action) && reason.is_none() {
        return Err(WorkflowError::MissingReason(cmd.action));
    }
    let target = match (cmd.action, cmd.area_code) {
        (Action::Escalate, _) => {
            if index.by_code(&report.area_code).is_none() {
                return Err(WorkflowError::UnknownArea(report.area_code.clone()));
            }
            Some(
                escalation_target(index, &report.area_code)
                    .ok_or_else(|| WorkflowError::NoHigherLevel(report.area_code.clone()))?,
            )
        }
        (Action::Reassign, Some(code)) => {
            if index.by_code(&code).is_none() {
                return Err(WorkflowError::UnknownArea(code));
            }
            Some(code)
        }
        _ => None,
    };
    let moved = target.as_ref().is_some_and(|c| *c != report.area_code);
    if let Some(code) = target {
        let id = index
            .by_code(&code)
            .ok_or_else(|| WorkflowError::UnknownArea(code.clone()))?;
        report.level = index.area(id).level;
        report.area_code = code;
    }
    if cmd.assignee.is_some() || moved {
        report.assignee = cmd.assignee;
    }
    let from = report.stage;
    report.deadline = if cmd.action == Action::Extend {
        let since = report.deadline.unwrap_or(now);
        limits.deadline(cal, report.category, report.level, to, since)
    } else {
        limits.deadline(cal, report.category, report.level, to, now)
    };
    report.stage = to;
    report.stage_since = now;
    if to == Stage::Closed {
        report.closed_at = Some(now);
    }
    report.version += 1;
    let event = ReportEvent {
        seq: report.events.len() as u32 + 1,
        at: now,
        actor: cmd.actor,
        action: cmd.action,
        from,
        to,
        reason,
        area_code: report.area_code.clone(),
        assignee: report.assignee.clone(),
        deadline: report.deadline,
    };
    report.events.push(event.clone());
    Ok(event)
}

/// What arrives at intake, already validated; `point` is WGS-84.
#[derive(Debug, Clone, PartialEq)]
pub struct Intake {
    pub client_id: String,
    pub channel: Channel,
    pub category: Category,
    pub description: String,
    pub reporter: Option<String>,
    pub reported_at: DateTime<Utc>,
    pub point: geo_types::Coord<f64>,
    pub input_crs: Crs,
    pub input_point: geo_types::Coord<f64>,
}

/// A new case at intake: registered (立案) in the routed area, assigned to the chosen handler, with one
/// `register` event (seq 1, actor the reporter or else the channel, reason naming the rule and the staff
/// choice), version 1 and id 0 (the store assigns it).
pub fn new_report(
    intake: Intake,
    index: &AreaIndex,
    route: &Route,
    staff: StaffChoice,
    now: DateTime<Utc>,
    cal: &WorkCalendar,
    limits: &TimeLimits,
) -> Report {
    let record = route.record(index);
    let deadline = limits.deadline(cal, intake.category, record.level, Stage::Registered, now);
    let assignee = staff.handler.as_ref().map(|h| h.phone.clone());
    let actor = intake
        .reporter
        .clone()
        .unwrap_or_else(|| intake.channel.as_str().to_owned());
    let reason = format!(
        "rule {} → {} ({:.0} m); handler: {}",
        record.rule, record.area_code, record.distance_m, staff.reason
    );
    let event = ReportEvent {
        seq: 1,
        at: now,
        actor,
        action: Action::Register,
        from: Stage::Registered,
        to: Stage::Registered,
        reason: Some(reason),
        area_code: record.area_code.clone(),
        assignee: assignee.clone(),
        deadline,
    };
    Report {
        id: 0,
        client_id: intake.client_id,
        channel: intake.channel,
        category: intake.category,
        description: intake.description,
        reporter: intake.reporter,
        reported_at: intake.reported_at,
        received_at: now,
        point: intake.point,
        input_crs: intake.input_crs,
        input_point: intake.input_point,
        area_code: record.area_code.clone(),
        level: record.level,
        route: record,
        leader: staff.leader,
        handler: staff.handler,
        handler_reason: staff.reason,
        stage: Stage::Registered,
        assignee,
        stage_since: now,
        deadline,
        closed_at: None,
        version: 1,
        events: vec![event],
    }
}

/// Is the case past its stage's deadline (and not closed)?
pub fn overdue(report: &Report, now: DateTime<Utc>) -> bool {
    report.stage != Stage::Closed && report.deadline.is_some_and(|d| now > d)
}

/// The case as it stood at `at`, replayed from its events: stage, responsible area, assignee and deadline
/// after the last event at or before `at`, and only those events; `None` before the report was received. The
/// routing at intake (`route`) is kept as recorded: redrawing boundaries later never re-routes a report.
/// `level_of` names the level of an area the case was moved to (escalation, reassignment).
///
pub fn as_of(
    report: &Report,
    at: DateTime<Utc>,
    level_of: impl Fn(&str) -> Option<Level>,
) -> Option<Report> {
    if report.received_at > at {
        return None;
    }
    let seen = report.events.partition_point(|e| e.at <= at);
    let mut then = report.clone();
    then.events.truncate(seen);
    let Some(last) = then.events.last() else {
        return Some(then); // received, no event recorded yet
    };
    if last.area_code != report.area_code {
        then.level = if last.area_code == report.route.area_code {
            report.route.level
        } else {
            level_of(&last.area_code).unwrap_or(report.level)
        };
    }
    then.stage = last.to;
    then.area_code.clone_from(&last.area_code);
    then.assignee.clone_from(&last.assignee);
    then.deadline = last.deadline;
    then.stage_since = last.at;
    then.closed_at = (last.to == Stage::Closed).then_some(last.at);
    then.version = seen as i64;
    Some(then)
}

/// Stages whose passed time limit sends the case up a level. Verification waits on the dispatcher, not the
/// area, so it only shows as overdue.
fn escalates_when_late(stage: Stage) -> bool {
    matches!(
        stage,
        Stage::Registered
            | Stage::Dispatched
            | Stage::Handling
            | Stage::Returned
            | Stage::Escalated
    )
}

/// Ids of the cases to escalate automatically at `now`: overdue, in a stage that escalates when late, and below
/// the district.
pub fn due_escalations(reports: &[Report], now: DateTime<Utc>) -> Vec<i64> {
    reports
        .iter()
        .filter(|r| overdue(r, now) && escalates_when_late(r.stage) && r.level != Level::District)
        .map(|r| r.id)
        .collect()
}

/// The automatic escalation of a due case: `escalate` by `system`, with the reason naming the stage and when
/// its limit passed. Callers check [`due_escalations`] first (and the version, when several processes run).
pub fn auto_escalate(
    report: &mut Report,
    index: &AreaIndex,
    cal: &WorkCalendar,
    limits: &TimeLimits,
    now: DateTime<Utc>,
) -> Result<ReportEvent, WorkflowError> {
    let passed = report
        .deadline
        .map_or_else(|| "-".to_owned(), |d| d.to_rfc3339());
    let reason = format!(
        "time limit of stage {} passed at {passed}",
        report.stage.as_str()
    );
    apply(
        report,
        index,
        cal,
        limits,
        Command::new(Action::Escalate, "system").reason(reason),
        now,
    )
}

#[cfg(test)]
mod tests;
