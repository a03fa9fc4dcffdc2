//! Grid workers' GPS fixes → cleaned patrol tracks (每日巡查轨迹).
//!
//! Cleaning, per worker in time order:
//! 1. exact duplicates (same worker, same timestamp) keep their first copy; the others are dropped and counted;
//! 2. fixes with non-finite or out-of-range coordinates, or an accuracy worse than `max_accuracy_m`, are rejected;
//! 3. isolated jumps (the classic GPS spike): a fix more than `spike_m` from both neighbours while the neighbours
//!    are close to each other (less than half of either distance apart) is rejected;
//! 4. impossible speeds: a fix farther from the last kept fix than `max_speed_mps × Δt + speed_slack_m` is
//!    rejected (the slack absorbs GPS noise on short intervals);
//! 5. tracks split where two kept fixes are more than `max_gap_s` apart (the speed test does not span a gap).
//!
//! Distances use a local equirectangular frame (WGS-84 radii of curvature at the fixes' mean latitude): exact
//! to about 1e-3 at the distances that matter here.

// Re-exported so that crates without chrono (the data generator) can build fixes.
pub use chrono::{DateTime, TimeDelta, Utc};
use geo_types::Coord;
use serde::{Deserialize, Serialize};

use crate::geodesy;
use crate::staff::WorkerPosition;

/// One GPS fix as a phone reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fix {
    /// The worker's id: their phone number on the roster.
    pub worker: String,
    pub at: DateTime<Utc>,
    /// WGS-84 lon/lat.
    pub point: Coord<f64>,
    /// Reported horizontal accuracy (radius), in metres.
    pub accuracy_m: f64,
}

/// Thresholds of [`clean`]; see the module docs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CleaningPolicy {
    /// Fixes whose accuracy radius exceeds this are rejected.
    pub max_accuracy_m: f64,
    /// Faster than this from the last kept fix is impossible on foot (or by bicycle).
    pub max_speed_mps: f64,
    /// Added to the speed limit's distance, for GPS noise.
    pub speed_slack_m: f64,
    /// A spike is farther than this from both neighbours.
    pub spike_m: f64,
    /// Tracks split where kept fixes are more than this apart in time.
    pub max_gap_s: f64,
}

impl Default for CleaningPolicy {
    fn default() -> Self {
        CleaningPolicy {
            max_accuracy_m: 50.0,
            max_speed_mps: 15.0,
            speed_slack_m: 10.0,
            spike_m: 50.0,
            max_gap_s: 300.0,
        }
    }
}

/// Why a fix was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Non-finite or out-of-range coordinates or accuracy.
    Invalid,
    PoorAccuracy,
    /// An isolated jump away from a track that comes back.
    Spike,
    TooFast,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Invalid => "invalid",
            Reason::PoorAccuracy => "poor_accuracy",
            Reason::Spike => "spike",
            Reason::TooFast => "too_fast",
        }
    }
}

/// A worker's continuous walk: time-ordered fixes with no gap over `max_gap_s`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatrolTrack {
    pub worker: String,
    /// Strictly increasing times; WGS-84 lon/lat.
    pub fixes: Vec<(DateTime<Utc>, Coord<f64>)>,
}

/// The outcome of [`clean`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cleaned {
    /// By worker, then time.
    pub tracks: Vec<PatrolTrack>,
    pub rejected: Vec<(Fix, Reason)>,
    /// Exact duplicates dropped (same worker and timestamp as a kept copy).
    pub duplicates: usize,
}

/// Equirectangular distance in metres (see the module docs).
fn distance_m(a: Coord<f64>, b: Coord<f64>) -> f64 {
    let (mx, my) = geodesy::metres_per_degree(f64::midpoint(a.y, b.y));
    let (dx, dy) = ((a.x - b.x) * mx, (a.y - b.y) * my);
    // Not `hypot`: a libm call, and these values cannot overflow.
    (dx * dx + dy * dy).sqrt()
}

fn seconds(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_milliseconds() as f64 / 1000.0
}

fn invalid(f: &Fix) -> bool {
    !(f.point.x.is_finite()
        && f.point.y.is_finite()
        && (-180.0..=180.0).contains(&f.point.x)
        && (-90.0..=90.0).contains(&f.point.y)
        && f.accuracy_m.is_finite()
        && f.accuracy_m >= 0.0)
}

/// Cleans fixes into tracks (see the module docs). Input order does not matter.
pub fn clean(fixes: Vec<Fix>, policy: &CleaningPolicy) -> Cleaned {
    // Sort by (worker, time) through small keys: comparing strings 10^7 times is the slow part otherwise.
    let mut ids: std::collections::HashMap<&str, u32> = std::collections::HashMap::new();
    let mut names: Vec<&str> = Vec::new();
    let mut keys: Vec<(u32, i64, u32)> = Vec::with_capacity(fixes.len());
    // Batches come worker by worker: the previous fix's worker spares most hash lookups.
    let mut previous: Option<(&str, u32)> = None;
    for (k, f) in fixes.iter().enumerate() {
        let id = match previous {
            Some((name, id)) if name == f.worker => id,
            _ => {
                let next = names.len() as u32;
                let id = *ids.entry(f.worker.as_str()).or_insert_with(|| {
                    names.push(f.worker.as_str());
                    next
                });
                previous = Some((f.worker.as_str(), id));
                id
            }
        };
        keys.push((id, f.at.timestamp_micros(), k as u32));
    }
    // Worker ids in name order, so tracks come out sorted by worker.
    let mut rank: Vec<u32> = (0..names.len() as u32).collect();
    rank.sort_unstable_by_key(|&id| names[id as usize]);
    let mut rank_of = vec![0u32; names.len()];
    for (r, &id) in rank.iter().enumerate() {
        rank_of[id as usize] = r as u32;
    }
    drop(ids);
    // Counting sort by worker, then each worker's (nearly sorted) fixes by time; the input position breaks ties,
    // so the first copy of a duplicate is kept.
    let mut starts = vec![0usize; names.len() + 1];
    for key in &mut keys {
        key.0 = rank_of[key.0 as usize];
        starts[key.0 as usize + 1] += 1;
    }
    for w in 0..names.len() {
        starts[w + 1] += starts[w];
    }
    let mut fill = starts.clone();
    let mut order: Vec<(i64, u32)> = vec![(0, 0); keys.len()];
    for &(w, at, k) in &keys {
        order[fill[w as usize]] = (at, k);
        fill[w as usize] += 1;
    }
    drop(keys);
    // Workers are independent: split them into contiguous, about equal runs of fixes, one per core.
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .clamp(1, names.len().max(1));
    let mut chunks: Vec<Chunk<'_>> = Vec::with_capacity(threads);
    let (mut rest, mut w0) = (&mut order[..], 0);
    for t in 1..=threads {
        let goal = starts[names.len()] * t / threads;
        let w1 = if t == threads {
            names.len()
        } else {
            w0 + starts[w0..=names.len()]
                .partition_point(|&s| s < goal)
                .saturating_sub(1)
        };
        let w1 = w1.max(w0);
        let (mine, tail) = rest.split_at_mut(starts[w1] - starts[w0]);
        chunks.push((mine, &starts[w0..=w1]));
        rest = tail;
        w0 = w1;
    }
    let all = &fixes;
    let parts: Vec<Cleaned> = std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|(order, starts)| scope.spawn(move || clean_workers(all, order, starts, policy)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a cleaning worker does not panic"))
            .collect()
    });
    let mut out = Cleaned::default();
    for part in parts {
        out.tracks.extend(part.tracks);
        out.rejected.extend(part.rejected);
        out.duplicates += part.duplicates;
    }
    // Kept fixes live on in the tracks; the input (a string per fix) is freed here.
    drop(fixes);
    out
}

/// Some workers' `(time, input position)` runs, and the offsets of each worker's run (see [`clean_workers`]).
type Chunk<'a> = (&'a mut [(i64, u32)], &'a [usize]);

/// Cleans the workers whose (time, input position) runs are `order[starts[k] - starts[0]..starts[k + 1] - starts[0]]`.
fn clean_workers(
    fixes: &[Fix],
    order: &mut [(i64, u32)],
    starts: &[usize],
    policy: &CleaningPolicy,
) -> Cleaned {
    let mut out = Cleaned::default();
    let mut run: Vec<&Fix> = Vec::new();
    for w in starts.windows(2) {
        let mine = &mut order[w[0] - starts[0]..w[1] - starts[0]];
        mine.sort_unstable();
        run.clear();
        let mut last_at = None;
        for &(at, k) in &*mine {
            let fix = &fixes[k as usize];
            if last_at == Some(at) {
                out.duplicates += 1;
                continue;
            }
            last_at = Some(at);
            if invalid(fix) {
                out.rejected.push((fix.clone(), Reason::Invalid));
            } else if fix.accuracy_m > policy.max_accuracy_m {
                out.rejected.push((fix.clone(), Reason::PoorAccuracy));
            } else {
                run.push(fix);
            }
        }
        clean_worker(&run, policy, &mut out);
    }
    out
}

/// Spikes, speeds and gaps for one worker's time-ordered, valid fixes.
fn clean_worker(run: &[&Fix], policy: &CleaningPolicy, out: &mut Cleaned) {
    let n = run.len();
    let spike = |i: usize| {
        if i == 0 || i + 1 == n {
            return false;
        }
        let (p, f, q) = (run[i - 1], run[i], run[i + 1]);
        if seconds(p.at, f.at) > policy.max_gap_s || seconds(f.at, q.at) > policy.max_gap_s {
            return false;
        }
        let (out_m, back_m) = (distance_m(p.point, f.point), distance_m(f.point, q.point));
        out_m > policy.spike_m
            && back_m > policy.spike_m
            && distance_m(p.point, q.point) < 0.5 * out_m.min(back_m)
    };
    let mut track: Option<PatrolTrack> = None;
    for (i, &fix) in run.iter().enumerate() {
        if spike(i) {
            out.rejected.push((fix.clone(), Reason::Spike));
            continue;
        }
        if let Some(t) = &mut track {
            let &(last_at, last_point) = t.fixes.last().expect("tracks start with a fix");
            let dt = seconds(last_at, fix.at);
            if dt <= policy.max_gap_s {
                if distance_m(last_point, fix.point)
                    > policy.max_speed_mps * dt + policy.speed_slack_m
                {
                    out.rejected.push((fix.clone(), Reason::TooFast));
                } else {
                    t.fixes.push((fix.at, fix.point));
                }
                continue;
            }
            out.tracks.extend(track.take());
        }
        track = Some(PatrolTrack {
            worker: fix.worker.clone(),
            fixes: vec![(fix.at, fix.point)],
        });
    }
    out.tracks.extend(track);
}

/// Each worker's latest position (the last fix of their latest track), for report routing's on-duty choice.
pub fn last_positions(tracks: &[PatrolTrack]) -> Vec<WorkerPosition> {
    let mut latest: std::collections::BTreeMap<&str, (DateTime<Utc>, Coord<f64>)> =
        std::collections::BTreeMap::new();
    for t in tracks {
        if let Some(&(at, point)) = t.fixes.last() {
            let slot = latest.entry(t.worker.as_str()).or_insert((at, point));
            if at > slot.0 {
                *slot = (at, point);
            }
        }
    }
    latest
        .into_iter()
        .map(|(worker, (at, point))| WorkerPosition {
            worker: worker.to_owned(),
            point,
            at,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LON: f64 = 114.09;
    const LAT: f64 = 33.57;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_772_400_000, 0).expect("a valid time")
    }

    /// A fix `east_m`, `north_m` from the reference point, `s` seconds after `t0`.
    fn fix(worker: &str, s: i64, east_m: f64, north_m: f64, accuracy_m: f64) -> Fix {
        let (mx, my) = geodesy::metres_per_degree(LAT);
        Fix {
            worker: worker.into(),
            at: t0() + TimeDelta::seconds(s),
            point: Coord {
                x: LON + east_m / mx,
                y: LAT + north_m / my,
            },
            accuracy_m,
        }
    }

    /// Walks east at 1.2 m/s, a fix every 10 s.
    fn walk(worker: &str, from_s: i64, n: i64) -> Vec<Fix> {
        (0..n)
            .map(|k| fix(worker, from_s + 10 * k, 12.0 * k as f64, 0.0, 5.0))
            .collect()
    }

    #[test]
    fn a_clean_walk_given_shuffled_and_duplicated_comes_back_whole_and_in_order() {
        let mut fixes = walk("13800000001", 0, 30);
        fixes.extend(walk("13800000000", 0, 20));
        fixes.reverse();
        fixes.push(fixes[3].clone());
        fixes.push(fixes[10].clone());
        let cleaned = clean(fixes, &CleaningPolicy::default());
        assert_eq!(cleaned.duplicates, 2);
        assert!(cleaned.rejected.is_empty(), "{:?}", cleaned.rejected);
        let shape: Vec<(&str, usize)> = cleaned
            .tracks
            .iter()
            .map(|t| (t.worker.as_str(), t.fixes.len()))
            .collect();
        assert_eq!(shape, [("13800000000", 20), ("13800000001", 30)]);
        for t in &cleaned.tracks {
            assert!(t.fixes.windows(2).all(|w| w[0].0 < w[1].0));
        }
    }

    #[test]
    fn bad_fixes_are_rejected_with_their_reason() {
        let mut fixes = walk("w", 0, 20);
        // Poor accuracy and nonsense.
        fixes[3].accuracy_m = 120.0;
        fixes[4].point.x = f64::NAN;
        // A spike: 300 m north for one fix, then back on the line.
        fixes[10].point.y += 300.0 / geodesy::metres_per_degree(LAT).1;
        // A teleport 2 km away 10 s after the last fix, then the walk resumes where it was.
        let mut teleport = fix("w", 195, 2000.0, 2000.0, 5.0);
        teleport.accuracy_m = 8.0;
        fixes.push(teleport);
        let cleaned = clean(fixes, &CleaningPolicy::default());
        let mut reasons: Vec<(i64, Reason)> = cleaned
            .rejected
            .iter()
            .map(|(f, r)| ((f.at - t0()).num_seconds(), *r))
            .collect();
        reasons.sort_by_key(|r| r.0);
        assert_eq!(
            reasons,
            [
                (30, Reason::PoorAccuracy),
                (40, Reason::Invalid),
                (100, Reason::Spike),
                (195, Reason::TooFast)
            ]
        );
        assert_eq!(cleaned.tracks.len(), 1);
        assert_eq!(cleaned.tracks[0].fixes.len(), 17);
    }

    #[test]
    fn a_long_gap_splits_the_track_and_the_far_restart_is_kept() {
        // Lunch: 40 minutes without fixes, then the walk restarts 1 km away (15 m/s would allow it anyway).
        let mut fixes = walk("w", 0, 10);
        fixes.extend((0..10).map(|k| fix("w", 2490 + 10 * k, 1000.0 + 12.0 * k as f64, 0.0, 5.0)));
        let cleaned = clean(fixes, &CleaningPolicy::default());
        assert!(cleaned.rejected.is_empty());
        let lens: Vec<usize> = cleaned.tracks.iter().map(|t| t.fixes.len()).collect();
        assert_eq!(lens, [10, 10]);
        let last = last_positions(&cleaned.tracks);
        assert_eq!(last.len(), 1);
        assert_eq!(last[0].at, t0() + TimeDelta::seconds(2580));
        assert!((last[0].point.x - cleaned.tracks[1].fixes[9].1.x).abs() < 1e-12);
    }

    #[test]
    fn the_policy_reads_partial_json_with_defaults() {
        let p: CleaningPolicy =
            serde_json::from_str(r#"{"max_speed_mps": 8}"#).expect("valid policy JSON");
        assert!((p.max_speed_mps - 8.0).abs() < f64::EPSILON);
        assert!((p.max_accuracy_m - 50.0).abs() < f64::EPSILON);
    }
}
