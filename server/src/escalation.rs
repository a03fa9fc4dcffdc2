//! Automatic escalation: every interval, cases past their stage's time limit go one level up (core's
//! [`gridmap_core::workflow::auto_escalate`]). Safe with several replicas on one database: each writes only
//! if the case still has the version it read, so a case is escalated once per passed limit, by one of them.

use std::sync::Arc;
use std::time::Duration;

use gridmap_core::due_escalations;
use gridmap_core::workflow::auto_escalate;

use crate::AppState;
use crate::store::{ReportFilter, StoreError};

/// Default of `--escalation-interval`, in seconds.
pub const DEFAULT_INTERVAL_S: u64 = 30;

/// Escalates every case due now; returns how many this process escalated.
pub async fn escalate_due(state: &AppState) -> Result<usize, StoreError> {
    let now = state.now();
    let candidates = state
        .store
        .reports(&ReportFilter {
            overdue_at: Some(now),
            ..ReportFilter::default()
        })
        .await?;
    let due = due_escalations(&candidates, now);
    if due.is_empty() {
        return Ok(0);
    }
    let snapshot = state.snapshot();
    let settings = &state.config.reports;
    let mut escalated = 0;
    for mut report in candidates.into_iter().filter(|r| due.contains(&r.id)) {
        let expected = report.version;
        if let Err(e) = auto_escalate(
            &mut report,
            &snapshot.index,
            &settings.calendar,
            &settings.limits,
            now,
        ) {
            tracing::warn!(id = report.id, error = %e, "cannot escalate an overdue report");
            continue;
        }
        // `false`: another replica (or a dispatcher) changed it first; its next deadline decides.
        if state.store.save_transition(&report, expected).await? {
            escalated += 1;
            tracing::info!(id = report.id, area = %report.area_code, "report escalated on time limit");
            state.feed.publish(&report, now);
        }
    }
    Ok(escalated)
}

/// Runs [`escalate_due`] every `interval` until the runtime stops.
pub fn spawn(state: Arc<AppState>, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(e) = escalate_due(&state).await {
                tracing::warn!(error = %e, "escalation pass failed");
            }
        }
    })
}
