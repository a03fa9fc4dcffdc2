//! Grid workers' latest positions, for report routing's on-duty staff choice (`choose_staff`).
//!
//! Kept in memory: routing a report reads it in microseconds. `POST /v1/patrols` updates it from each batch's
//! cleaned tracks; at start it is loaded from the store's last fixes of each worker ([`Positions::load`]).
//! Each replica sees the fixes posted to it plus those stored before it started.

use std::collections::HashMap;
use std::sync::RwLock;

use chrono::{DateTime, TimeDelta, Utc};
use gridmap_core::{CleaningPolicy, StaffMember, WorkerPosition, clean, last_positions};

use crate::store::{GridStore, StoreError, StoredFix};

/// How far back [`Positions::load`] looks: an older position is no one's on-duty position.
pub const POSITION_HORIZON: TimeDelta = TimeDelta::hours(2);
/// Fixes per worker that [`Positions::load`] cleans: enough for the spike and speed tests to judge the last one.
const RECENT_FIXES: u32 = 20;

/// Each worker's latest cleaned position.
#[derive(Debug, Default)]
pub struct Positions {
    latest: RwLock<HashMap<String, WorkerPosition>>,
}

impl Positions {
    /// The latest positions stored since `now - POSITION_HORIZON`.
    pub async fn load(store: &dyn GridStore, now: DateTime<Utc>) -> Result<Positions, StoreError> {
        let fixes = store
            .recent_fixes(now - POSITION_HORIZON, RECENT_FIXES)
            .await?;
        let positions = Positions::default();
        positions.update_from(&fixes, &CleaningPolicy::default());
        Ok(positions)
    }

    /// Cleans `fixes` and keeps each worker's newer last position.
    pub fn update_from(&self, fixes: &[StoredFix], policy: &CleaningPolicy) {
        let cleaned = clean(fixes.iter().map(StoredFix::to_fix).collect(), policy);
        self.update(last_positions(&cleaned.tracks));
    }

    /// Keeps each worker's newest position.
    pub fn update(&self, positions: Vec<WorkerPosition>) {
        let Ok(mut latest) = self.latest.write() else {
            return;
        };
        for p in positions {
            match latest.get_mut(&p.worker) {
                Some(old) if old.at >= p.at => {}
                Some(old) => *old = p,
                None => {
                    latest.insert(p.worker.clone(), p);
                }
            }
        }
    }

    /// The latest positions of `staff` (by phone number), for `choose_staff`.
    pub fn for_staff(&self, staff: &[StaffMember]) -> Vec<WorkerPosition> {
        let Ok(latest) = self.latest.read() else {
            return Vec::new();
        };
        staff
            .iter()
            .filter_map(|m| latest.get(&m.phone).cloned())
            .collect()
    }

    /// One worker's latest position.
    pub fn of(&self, worker: &str) -> Option<WorkerPosition> {
        self.latest.read().ok()?.get(worker).cloned()
    }
}
