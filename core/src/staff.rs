//! Who handles a report: the responsible area's leader (网格长), and the on-duty grid worker nearest to the incident
//! by last known position, else the roster's first full-time worker.
//!
//! A worker is on duty when their latest position is at most `on_duty_window` away from `now` (either side, so
//! a phone clock slightly ahead still counts). Only full-time and part-time workers (专职/兼职网格员) handle
//! reports; police and doctors on the grid's staff are not dispatched by this choice. Distances are geodesic
//! (WGS-84, geo's `Geodesic`).

use chrono::{DateTime, Duration, Utc};
use geo::line_measures::{Distance, Geodesic};
use geo_types::{Coord, Point};

use crate::{Area, StaffMember, StaffRole};

/// A worker's last known position, from patrol tracks.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerPosition {
    /// The worker's id: their phone number on the roster.
    pub worker: String,
    /// WGS-84 lon/lat.
    pub point: Coord<f64>,
    pub at: DateTime<Utc>,
}

/// The people chosen for a report, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct StaffChoice {
    pub leader: Option<StaffMember>,
    pub handler: Option<StaffMember>,
    /// Why this handler, e.g. `nearest on-duty worker, 120 m, position 06:02 UTC`.
    pub reason: String,
    /// From the incident to the handler's position, when chosen by position.
    pub distance_m: Option<f64>,
}

fn is_worker(m: &StaffMember) -> bool {
    matches!(m.role, StaffRole::FullTime | StaffRole::PartTime)
}

/// Chooses the leader and handler for a report at `p` in `area` (see the module docs).
pub fn choose_staff(
    area: &Area,
    p: Coord<f64>,
    positions: &[WorkerPosition],
    now: DateTime<Utc>,
    on_duty_window: Duration,
) -> StaffChoice {
    let leader = area
        .staff
        .iter()
        .find(|m| m.role == StaffRole::Leader)
        .cloned();
    if !area.staff.iter().any(is_worker) {
        return StaffChoice {
            leader,
            handler: None,
            reason: format!(
                "no grid worker on the roster of {} {} ({})",
                area.level, area.code, area.name
            ),
            distance_m: None,
        };
    }
    let mut best: Option<(&StaffMember, f64, DateTime<Utc>)> = None;
    for member in area.staff.iter().filter(|m| is_worker(m)) {
        let latest = positions
            .iter()
            .filter(|w| w.worker == member.phone)
            .max_by_key(|w| w.at);
        let Some(pos) = latest else { continue };
        if (now - pos.at).abs() > on_duty_window {
            continue;
        }
        let d = Geodesic.distance(Point(p), Point(pos.point));
        if best.is_none_or(|(_, bd, _)| d < bd) {
            best = Some((member, d, pos.at));
        }
    }
    if let Some((member, d, at)) = best {
        return StaffChoice {
            leader,
            handler: Some(member.clone()),
            reason: format!(
                "nearest on-duty worker, {d:.0} m, position {} UTC",
                at.format("%H:%M")
            ),
            distance_m: Some(d),
        };
    }
    let handler = area
        .staff
        .iter()
        .find(|m| m.role == StaffRole::FullTime)
        .or_else(|| area.staff.iter().find(|m| m.role == StaffRole::PartTime))
        .cloned();
    StaffChoice {
        leader,
        handler,
        reason: "roster: no on-duty position".to_owned(),
        distance_m: None,
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use geo_types::{MultiPolygon, coord};

    use super::*;
    use crate::Level;

    fn member(name: &str, phone: &str, role: StaffRole) -> StaffMember {
        StaffMember {
            name: name.into(),
            phone: phone.into(),
            role,
        }
    }

    fn grid(staff: Vec<StaffMember>) -> Area {
        Area {
            code: "G1".into(),
            name: "grid one".into(),
            level: Level::Grid,
            kind: None,
            parent: None,
            geometry: MultiPolygon(vec![]),
            staff,
        }
    }

    fn roster() -> Vec<StaffMember> {
        vec![
            member("police", "110", StaffRole::Police),
            member("part", "200", StaffRole::PartTime),
            member("boss", "100", StaffRole::Leader),
            member("full a", "300", StaffRole::FullTime),
            member("full b", "400", StaffRole::FullTime),
        ]
    }

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, h, m, 0)
            .single()
            .expect("a valid UTC time")
    }

    #[test]
    fn the_nearest_on_duty_worker_handles_and_stale_or_foreign_positions_do_not_count() {
        let incident = coord! { x: 114.0, y: 33.5 };
        // 0.001° of latitude is about 110.9 m there; 0.0005° about 55.4 m.
        let positions = vec![
            WorkerPosition {
                worker: "300".into(),
                point: coord! { x: 114.0, y: 33.501 },
                at: at(6, 0),
            },
            // Older position of 300, nearer: superseded by the later one.
            WorkerPosition {
                worker: "300".into(),
                point: coord! { x: 114.0, y: 33.5001 },
                at: at(5, 50),
            },
            WorkerPosition {
                worker: "200".into(),
                point: coord! { x: 114.0, y: 33.5005 },
                at: at(6, 2),
            },
            // Nearest of all but off duty (two hours old).
            WorkerPosition {
                worker: "400".into(),
                point: coord! { x: 114.0, y: 33.50001 },
                at: at(4, 0),
            },
            // Police are not dispatched by this choice.
            WorkerPosition {
                worker: "110".into(),
                point: incident,
                at: at(6, 0),
            },
        ];
        let c = choose_staff(
            &grid(roster()),
            incident,
            &positions,
            at(6, 10),
            Duration::minutes(30),
        );
        assert_eq!(c.leader.expect("known in this test").phone, "100");
        assert_eq!(c.handler.expect("known in this test").phone, "200");
        let d = c.distance_m.expect("known in this test");
        assert!((d - 55.4).abs() < 0.5, "{d}");
        assert_eq!(c.reason, "nearest on-duty worker, 55 m, position 06:02 UTC");
        // Without 200's position, 300's latest (110.9 m) wins over its older, nearer one.
        let c = choose_staff(
            &grid(roster()),
            incident,
            &positions[..2],
            at(6, 10),
            Duration::minutes(30),
        );
        assert_eq!(c.handler.expect("known in this test").phone, "300");
        assert!((c.distance_m.expect("known in this test") - 110.9).abs() < 0.5);
    }

    #[test]
    fn without_positions_the_first_full_time_worker_on_the_roster_handles() {
        let c = choose_staff(
            &grid(roster()),
            coord! { x: 114.0, y: 33.5 },
            &[],
            at(6, 0),
            Duration::minutes(30),
        );
        assert_eq!(c.handler.expect("known in this test").phone, "300");
        assert_eq!(c.reason, "roster: no on-duty position");
        assert_eq!(c.distance_m, None);
    }

    #[test]
    fn an_area_without_staff_says_so() {
        let c = choose_staff(
            &grid(vec![]),
            coord! { x: 114.0, y: 33.5 },
            &[],
            at(6, 0),
            Duration::minutes(30),
        );
        assert_eq!((c.leader, c.handler), (None, None));
        assert!(c.reason.contains("no grid worker") && c.reason.contains("G1"));
    }
}
