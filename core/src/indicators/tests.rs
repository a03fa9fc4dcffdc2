//! Indicators on a hand-built set of cases whose counts are known by construction.
#![allow(clippy::float_cmp)] // the rates here are exact small fractions

use chrono::{Duration, TimeZone};
use geo_types::{Coord, MultiPolygon, Rect, coord};

use super::*;
use crate::calendar::WorkCalendar;
use crate::routing::{RouteRule, RoutingPolicy, route};
use crate::staff::StaffChoice;
use crate::time_limits::TimeLimits;
use crate::workflow::{Command, Intake, apply, new_report};
use crate::{Area, Category, Channel, Crs, GridKind};

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon<f64> {
    let r = Rect::new(
        coord! { x: 114.0 + x0 * 1e-4, y: 33.5 + y0 * 1e-4 },
        coord! { x: 114.0 + x1 * 1e-4, y: 33.5 + y1 * 1e-4 },
    );
    MultiPolygon(vec![r.to_polygon()])
}

fn at(x: f64, y: f64) -> Coord<f64> {
    coord! { x: 114.0 + x * 1e-4, y: 33.5 + y * 1e-4 }
}

fn area(
    code: &str,
    level: Level,
    kind: Option<GridKind>,
    parent: Option<&str>,
    g: MultiPolygon<f64>,
) -> Area {
    Area {
        code: code.into(),
        name: format!("{code} name"),
        level,
        kind,
        parent: parent.map(Into::into),
        geometry: g,
        staff: Vec::new(),
    }
}

/// D > S > communities C (west) and C2 (east). Grids cover only the south quarter (y 0..10 of 0..40): G1, G2
/// and market X in C, G3 in C2. North of y = 10 is unassigned land of the communities.
fn tree() -> AreaIndex {
    AreaIndex::build(vec![
        area("D", Level::District, None, None, rect(0.0, 0.0, 20.0, 40.0)),
        area(
            "S",
            Level::Street,
            None,
            Some("D"),
            rect(0.0, 0.0, 20.0, 40.0),
        ),
        area(
            "C",
            Level::Community,
            None,
            Some("S"),
            rect(0.0, 0.0, 10.0, 40.0),
        ),
        area(
            "C2",
            Level::Community,
            None,
            Some("S"),
            rect(10.0, 0.0, 20.0, 40.0),
        ),
        area(
            "G1",
            Level::Grid,
            Some(GridKind::Residential),
            Some("C"),
            rect(0.0, 0.0, 5.0, 10.0),
        ),
        area(
            "G2",
            Level::Grid,
            Some(GridKind::Residential),
            Some("C"),
            rect(5.0, 0.0, 10.0, 10.0),
        ),
        area(
            "G3",
            Level::Grid,
            Some(GridKind::Village),
            Some("C2"),
            rect(10.0, 0.0, 20.0, 10.0),
        ),
        area(
            "X",
            Level::Grid,
            Some(GridKind::Market),
            Some("C"),
            rect(1.0, 1.0, 3.0, 3.0),
        ),
    ])
}

/// Beijing time, March 2026 (the 9th is a Monday).
fn bj(day: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, h, m, 0)
        .single()
        .expect("a valid time")
        - Duration::hours(8)
}

/// A case received at `received` at `p`, then the given actions at the given times (Monday 9 March).
fn case(
    index: &AreaIndex,
    category: Category,
    p: Coord<f64>,
    received: DateTime<Utc>,
    steps: &[(Action, u32, u32)],
) -> Report {
    let (cal, limits) = (WorkCalendar::default(), TimeLimits::default());
    let r = route(index, &RoutingPolicy::default(), p, category).expect("routed");
    let staff = StaffChoice {
        leader: None,
        handler: None,
        reason: "test".into(),
        distance_m: None,
    };
    let intake = Intake {
        client_id: format!("{received}"),
        channel: Channel::Patrol,
        category,
        description: String::new(),
        reporter: None,
        reported_at: received,
        point: p,
        input_crs: Crs::Wgs84,
        input_point: p,
    };
    let mut report = new_report(intake, index, &r, staff, received, &cal, &limits);
    for &(action, h, m) in steps {
        let cmd = Command::new(action, "d").reason("r");
        apply(&mut report, index, &cal, &limits, cmd, bj(9, h, m)).expect("legal");
    }
    report
}

/// Eight cases: six in the period of Monday 9 March, two outside it.
fn cases(index: &AreaIndex) -> Vec<Report> {
    use Action::{Accept, Close, Dispatch, Extend, Rework, Submit};
    let mon = bj(9, 9, 0);
    vec![
        // G1, on time all along: 90 minutes to close.
        case(
            index,
            Category::Construction,
            at(4.0, 5.0),
            mon,
            &[
                (Dispatch, 9, 5),
                (Accept, 9, 10),
                (Submit, 10, 0),
                (Close, 10, 30),
            ],
        ),
        // G1, accepted after the accept limit (10:05), reworked once: 180 minutes.
        case(
            index,
            Category::Construction,
            at(4.0, 5.0),
            mon,
            &[
                (Dispatch, 9, 5),
                (Accept, 11, 0),
                (Submit, 11, 10),
                (Rework, 11, 20),
                (Submit, 11, 30),
                (Close, 12, 0),
            ],
        ),
        // X (the market takes 06), extended, still being handled.
        case(
            index,
            Category::CityAppearance,
            at(2.0, 2.0),
            mon,
            &[(Dispatch, 9, 5), (Accept, 9, 10), (Extend, 9, 20)],
        ),
        // G2, only registered.
        case(index, Category::Other, at(7.0, 5.0), mon, &[]),
        // Unassigned land of C, about 277 m from the nearest grid: C by the fallback rule, closed in 40 minutes.
        case(
            index,
            Category::Other,
            at(5.0, 35.0),
            mon,
            &[
                (Dispatch, 9, 5),
                (Accept, 9, 10),
                (Submit, 9, 20),
                (Close, 9, 40),
            ],
        ),
        // G3 in C2, closed on time in 50 minutes.
        case(
            index,
            Category::Other,
            at(15.0, 5.0),
            mon,
            &[
                (Dispatch, 9, 5),
                (Accept, 9, 10),
                (Submit, 9, 20),
                (Close, 9, 50),
            ],
        ),
        // Outside the period: the day before, and exactly at its end.
        case(index, Category::Other, at(4.0, 5.0), bj(8, 9, 0), &[]),
        case(index, Category::Other, at(7.0, 5.0), bj(10, 0, 0), &[]),
    ]
}

#[test]
fn counts_and_rates_follow_the_definitions_and_add_up_the_tree() {
    let index = tree();
    let reports = cases(&index);
    assert_eq!(reports[2].route.area_code, "X");
    assert_eq!(reports[4].route.rule, RouteRule::Fallback.as_str());
    assert_eq!(reports[4].route.area_code, "C");
    let all = indicators(&index, &reports, bj(9, 0, 0), bj(10, 0, 0), None);
    let get = |code: &str| all.iter().find(|i| i.area_code == code).expect("listed");
    let counts = |code: &str| {
        let i = get(code);
        (
            i.received,
            i.closed,
            i.closed_on_time,
            i.reworked,
            i.extended,
        )
    };
    assert_eq!(counts("G1"), (2, 2, 1, 1, 0));
    assert_eq!(counts("G2"), (1, 0, 0, 0, 0));
    assert_eq!(counts("X"), (1, 0, 0, 0, 1));
    assert_eq!(counts("G3"), (1, 1, 1, 0, 0));
    assert_eq!(counts("C"), (5, 3, 2, 1, 1));
    assert_eq!(counts("C2"), (1, 1, 1, 0, 0));
    assert_eq!(counts("S"), (6, 4, 3, 1, 1));
    assert_eq!(counts("D"), (6, 4, 3, 1, 1));
    let g1 = get("G1");
    assert_eq!(
        (
            g1.closure_rate,
            g1.on_time_closure_rate,
            g1.rework_rate,
            g1.extension_rate
        ),
        (1.0, 0.5, 0.5, 0.0)
    );
    assert_eq!(g1.median_close_minutes, Some(135.0));
    assert_eq!(get("X").extension_rate, 1.0);
    let g2 = get("G2");
    assert_eq!(
        (g2.closure_rate, g2.rework_rate, g2.median_close_minutes),
        (0.0, 0.0, None)
    );
    assert_eq!(get("C").median_close_minutes, Some(90.0));
    assert_eq!(get("S").median_close_minutes, Some(70.0));
    assert_eq!(
        (get("C").closure_rate, get("C").name.as_str()),
        (0.6, "C name")
    );
    // Sums add up: each community = its grids + the reports routed to it by fallback; the street = its
    // communities; the district = its streets.
    for parent in ["C", "C2", "S", "D"] {
        let children: u64 = all
            .iter()
            .filter(|i| {
                index
                    .area(index.by_code(&i.area_code).expect("known"))
                    .parent
                    .as_deref()
                    == Some(parent)
            })
            .map(|i| i.received)
            .sum();
        let own = reports[..6]
            .iter()
            .filter(|r| r.route.area_code == parent)
            .count() as u64;
        assert_eq!(get(parent).received, children + own, "{parent}");
    }
    // Levels filter; order is level then code.
    let grids: Vec<String> = indicators(
        &index,
        &reports,
        bj(9, 0, 0),
        bj(10, 0, 0),
        Some(Level::Grid),
    )
    .into_iter()
    .map(|i| i.area_code)
    .collect();
    assert_eq!(grids, ["G1", "G2", "G3", "X"]);
    let codes: Vec<&str> = all.iter().map(|i| i.area_code.as_str()).collect();
    assert_eq!(codes, ["D", "S", "C", "C2", "G1", "G2", "G3", "X"]);
    // An empty period: everything 0, nothing divided by zero.
    let empty = indicators(
        &index,
        &reports,
        bj(20, 0, 0),
        bj(21, 0, 0),
        Some(Level::District),
    );
    assert_eq!(
        (
            empty[0].received,
            empty[0].closure_rate,
            empty[0].median_close_minutes
        ),
        (0, 0.0, None)
    );
}
