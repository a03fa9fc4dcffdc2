//! Performance indicators per area over a period (考核指标).
//!
//! Definitions, for the reports received in `[from, to)` (by `received_at`):
//! - A report counts for its intake area (the routed `route.area_code`: a grid, an exclusive grid or, by the
//!   fallback rule, a community or street) and for every ancestor of it (by `parent` codes in the index). So a
//!   community's `received` is the sum over its grids (ordinary and exclusive) plus the reports routed to the
//!   community itself, and each report counts once per level. A report whose intake area is no longer in the
//!   index counts for the areas of its recorded ordinary chain (`route.chain_codes`) that are.
//!   Escalation does not move a report between areas here: indicators judge where it arose.
//! - `received`: those reports. `closed`: those of them closed by now.
//! - 结案率 `closure_rate` = closed / received.
//! - 按期结案率 `on_time_closure_rate` = closed on time / received, where on time means no event of the case
//!   happened after the deadline then in force (the previous event's deadline): never overdue.
//! - 返工率 `rework_rate` = closed reports with at least one rework / closed.
//! - 延期率 `extension_rate` = reports with at least one extension / received.
//! - `median_close_minutes`: median of `closed_at - received_at` over the closed reports, natural minutes; `None`
//!   when none closed.
//!
//! A rate whose denominator is 0 is 0 (not null), so that the page and the stores need no special case.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Action, AreaId, AreaIndex, Level, Report, Stage};

/// The indicators of one area.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Indicators {
    pub area_code: String,
    pub level: Level,
    pub name: String,
    pub received: u64,
    pub closed: u64,
    /// Closed, and never overdue.
    pub closed_on_time: u64,
    /// Closed, with at least one rework.
    pub reworked: u64,
    /// With at least one extension.
    pub extended: u64,
    pub closure_rate: f64,
    pub on_time_closure_rate: f64,
    pub rework_rate: f64,
    pub extension_rate: f64,
    pub median_close_minutes: Option<f64>,
}

#[derive(Default)]
struct Tally {
    received: u64,
    closed: u64,
    closed_on_time: u64,
    reworked: u64,
    extended: u64,
    close_minutes: Vec<f64>,
}

/// Was the case never overdue: every event at or before the deadline in force when it happened?
fn never_overdue(report: &Report) -> bool {
    report
        .events
        .windows(2)
        .all(|w| w[0].deadline.is_none_or(|d| w[1].at <= d))
}

fn ratio(n: u64, d: u64) -> f64 {
    if d == 0 { 0.0 } else { n as f64 / d as f64 }
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[m]
    } else {
        f64::midpoint(v[m - 1], v[m])
    })
}

/// The areas a report counts for: its intake area and its ancestors.
fn counted_areas(index: &AreaIndex, report: &Report, out: &mut Vec<AreaId>) {
    out.clear();
    let Some(mut id) = index.by_code(&report.route.area_code) else {
        out.extend(
            report
                .route
                .chain_codes
                .iter()
                .filter_map(|c| index.by_code(c)),
        );
        return;
    };
    // A parent cycle in bad data must not loop forever: the tree is at most this deep.
    for _ in 0..2 * Level::ALL.len() {
        if out.contains(&id) {
            break;
        }
        out.push(id);
        match index
            .area(id)
            .parent
            .as_deref()
            .and_then(|c| index.by_code(c))
        {
            Some(parent) => id = parent,
            None => break,
        }
    }
}

/// Indicators of every area of `level` (all levels but micro-grids when `None`), in level then code order, for
/// the reports received in `[from, to)` (see the module docs).
pub fn indicators(
    index: &AreaIndex,
    reports: &[Report],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    level: Option<Level>,
) -> Vec<Indicators> {
    let mut tallies: Vec<Tally> = std::iter::repeat_with(Tally::default)
        .take(index.areas().len())
        .collect();
    let mut areas = Vec::new();
    for r in reports
        .iter()
        .filter(|r| r.received_at >= from && r.received_at < to)
    {
        let closed = r.stage == Stage::Closed;
        let on_time = closed && never_overdue(r);
        let reworked = closed && r.events.iter().any(|e| e.action == Action::Rework);
        let extended = r.events.iter().any(|e| e.action == Action::Extend);
        let minutes = r
            .closed_at
            .filter(|_| closed)
            .map(|c| (c - r.received_at).num_seconds() as f64 / 60.0);
        counted_areas(index, r, &mut areas);
        for &id in &areas {
            let t = &mut tallies[id as usize];
            t.received += 1;
            t.closed += u64::from(closed);
            t.closed_on_time += u64::from(on_time);
            t.reworked += u64::from(reworked);
            t.extended += u64::from(extended);
            t.close_minutes.extend(minutes);
        }
    }
    index
        .areas()
        .iter()
        .zip(tallies)
        .filter(|(a, _)| level.map_or(a.level != Level::MicroGrid, |l| a.level == l))
        .map(|(a, mut t)| Indicators {
            area_code: a.code.clone(),
            level: a.level,
            name: a.name.clone(),
            received: t.received,
            closed: t.closed,
            closed_on_time: t.closed_on_time,
            reworked: t.reworked,
            extended: t.extended,
            closure_rate: ratio(t.closed, t.received),
            on_time_closure_rate: ratio(t.closed_on_time, t.received),
            rework_rate: ratio(t.reworked, t.closed),
            extension_rate: ratio(t.extended, t.received),
            median_close_minutes: median(&mut t.close_minutes),
        })
        .collect()
}

#[cfg(test)]
mod tests;
