//! Sample patrol tracks for a new store filled with the sample city, so that the coverage mode has
//! something to show: the grid workers of one street ([`SAMPLE_STREET`]) walking their grids on the last
//! [`SAMPLE_DAYS`] local days up to now (relative to the server's clock), from `gridmap_data::generate_tracks`.
//! Each day has its own seed, so the walks and who patrols differ from day to day (some grids are missed some
//! days: "not visited for N days" needs that), and each worker's round lasts 40 minutes to 4 hours (cut from a
//! 4-hour walk), so that coverage and duty vary from grid to grid. Fixes after now are left out.

use chrono::{DateTime, Days, TimeDelta, Utc};
use gridmap_core::{City, Level};
use gridmap_data::{TrackParams, generate_tracks};

use crate::clock::{day_start, local};
use crate::store::StoredFix;

/// 嵩山街道, in the middle of the sample district (the web map's default view).
pub const SAMPLE_STREET: &str = "411104004";
/// Today and the days before it.
pub const SAMPLE_DAYS: u64 = 4;
/// Workers out on a given day (of the street's 46 full-time workers).
const WORKERS_PER_DAY: usize = 24;
/// A fix every 20 s (phones in the field report every 5-30 s); keeps start-up short.
const INTERVAL_S: u32 = 20;
/// First day's seed; day k uses `SEED + k`.
const SEED: u64 = 20_260_302;

/// The sample fixes (see the module docs), worker by worker, day by day.
pub fn sample_fixes(city: &City, now: DateTime<Utc>) -> Vec<StoredFix> {
    let street = City {
        areas: city
            .areas
            .iter()
            .filter(|a| a.level >= Level::Grid && a.code.starts_with(SAMPLE_STREET))
            .cloned()
            .collect(),
        ..City::default()
    };
    let today = now.with_timezone(&local()).date_naive();
    let mut out = Vec::new();
    for k in 0..SAMPLE_DAYS {
        let Some(day) = today.checked_sub_days(Days::new(k)) else {
            continue;
        };
        let params = TrackParams {
            seed: SEED + k,
            workers: WORKERS_PER_DAY,
            hours: 4.0,
            interval_s: INTERVAL_S,
            // 08:30 local.
            start: day_start(day) + TimeDelta::minutes(510),
        };
        let start = params.start;
        out.extend(
            generate_tracks(&street, &params)
                .into_iter()
                .filter(|f| f.at <= now && f.at - start <= round_length(&f.worker, k))
                .map(|f| StoredFix {
                    worker: f.worker,
                    at: f.at,
                    point: f.point,
                    accuracy_m: Some(f.accuracy_m),
                }),
        );
    }
    out
}

/// How long a worker's round lasts on day `k`: 40 to 240 minutes, from a hash of both (FNV-1a).
fn round_length(worker: &str, k: u64) -> TimeDelta {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in worker.bytes().chain(k.to_le_bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    TimeDelta::minutes(40 + i64::try_from(hash % 201).unwrap_or(0))
}
