//! Time per worker and the daily duty: a segment's duration counts for the area that contains its midpoint
//! (half-open rule, so neighbouring grids never both count it); the duty is met when the area coverage and the
//! workers' summed minutes both reach the policy's minimums.

use std::collections::HashMap;

use geo_types::Coord;

use super::segments::{Seg, Segments};
use super::{DutyPolicy, WorkerTime};
use crate::pip::PreparedPolygon;

/// Minutes per worker in `area` over the segments `near` it, by worker id.
pub(super) fn worker_times(
    area: &PreparedPolygon,
    segments: &Segments<'_>,
    near: &[Seg],
) -> Vec<WorkerTime> {
    let mut seconds: HashMap<u32, f64> = HashMap::new();
    for &s in near {
        if s.a != s.b {
            let (a, b) = segments.ends(s);
            let mid = Coord {
                x: f64::midpoint(a.x, b.x),
                y: f64::midpoint(a.y, b.y),
            };
            if area.contains(mid) {
                let dt = segments.times[s.b as usize] - segments.times[s.a as usize];
                *seconds.entry(segments.worker[s.a as usize]).or_default() += dt;
            }
        }
    }
    let mut workers: Vec<WorkerTime> = seconds
        .into_iter()
        .map(|(w, s)| WorkerTime {
            worker: segments.workers[w as usize].to_owned(),
            minutes: s / 60.0,
        })
        .collect();
    workers.sort_by(|a, b| a.worker.cmp(&b.worker));
    workers
}

impl DutyPolicy {
    /// Is the duty met at this area coverage (0..1) and these minutes of patrol?
    pub(super) fn met(&self, area_coverage: f64, patrol_minutes: f64) -> bool {
        area_coverage >= self.min_area_coverage && patrol_minutes >= self.min_minutes
    }
}
