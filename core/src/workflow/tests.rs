//! Every transition against the table written out as data, and cases walked through on a hand-built tree with
//! deadlines known from the default calendar (UTC+8, 08:30-12:00 and 14:30-18:00, Monday to Friday).

use chrono::{Duration, TimeZone};
use geo_types::{Coord, MultiPolygon, Rect, coord};

use super::*;
use crate::routing::{RoutingPolicy, route};
use crate::{Area, GridKind, StaffMember, StaffRole};

/// The table of the issue 4 contract, one legal move a line.
const LEGAL: [(Stage, Action, Stage); 20] = {
    use Action as A;
    use Stage as S;
    [
        (S::Registered, A::Dispatch, S::Dispatched),
        (S::Registered, A::Reassign, S::Dispatched),
        (S::Registered, A::Escalate, S::Escalated),
        (S::Dispatched, A::Accept, S::Handling),
        (S::Dispatched, A::Return, S::Returned),
        (S::Dispatched, A::Escalate, S::Escalated),
        (S::Dispatched, A::Reassign, S::Dispatched),
        (S::Handling, A::Submit, S::Verification),
        (S::Handling, A::Return, S::Returned),
        (S::Handling, A::Escalate, S::Escalated),
        (S::Handling, A::Extend, S::Handling),
        (S::Handling, A::Reassign, S::Dispatched),
        (S::Verification, A::Close, S::Closed),
        (S::Verification, A::Rework, S::Handling),
        (S::Returned, A::Dispatch, S::Dispatched),
        (S::Returned, A::Reassign, S::Dispatched),
        (S::Returned, A::Escalate, S::Escalated),
        (S::Escalated, A::Dispatch, S::Dispatched),
        (S::Escalated, A::Reassign, S::Dispatched),
        (S::Escalated, A::Escalate, S::Escalated),
    ]
};

#[test]
fn every_stage_and_action_pair_follows_the_table() {
    let legal = &LEGAL;
    let mut illegal = 0;
    for from in Stage::ALL {
        for action in Action::ALL {
            let want = legal
                .iter()
                .find(|(s, a, _)| *s == from && *a == action)
                .map(|t| t.2);
            match (next_stage(from, action), want) {
                (Ok(to), Some(w)) => assert_eq!(to, w, "{from:?} {action:?}"),
                (Err(e), None) => {
                    illegal += 1;
                    assert_eq!(e, IllegalTransition { from, action });
                    let msg = e.to_string();
                    assert!(
                        msg.contains(action.as_str()) && msg.contains(from.as_str()),
                        "{msg}"
                    );
                    assert!(msg.contains(from.name_zh()), "{msg}");
                }
                (got, want) => panic!("{from:?} {action:?}: got {got:?}, table says {want:?}"),
            }
        }
    }
    assert_eq!(illegal, 7 * 10 - 20);
}

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon<f64> {
    let r = Rect::new(
        coord! { x: 114.0 + x0 * 1e-4, y: 33.5 + y0 * 1e-4 },
        coord! { x: 114.0 + x1 * 1e-4, y: 33.5 + y1 * 1e-4 },
    );
    MultiPolygon(vec![r.to_polygon()])
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
        name: code.into(),
        level,
        kind,
        parent: parent.map(Into::into),
        geometry: g,
        staff: Vec::new(),
    }
}

/// District D > street S > community C > grids G1 (west half) and G2 (east half); market X inside G1.
fn tree() -> AreaIndex {
    AreaIndex::build(vec![
        area("D", Level::District, None, None, rect(0.0, 0.0, 10.0, 10.0)),
        area(
            "S",
            Level::Street,
            None,
            Some("D"),
            rect(0.0, 0.0, 10.0, 10.0),
        ),
        area(
            "C",
            Level::Community,
            None,
            Some("S"),
            rect(0.0, 0.0, 10.0, 10.0),
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
            "X",
            Level::Grid,
            Some(GridKind::Market),
            Some("C"),
            rect(1.0, 1.0, 3.0, 3.0),
        ),
    ])
}

/// Beijing time on a day of March 2026 (the 9th is a Monday).
fn bj(day: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, h, m, 0)
        .single()
        .expect("a valid time")
        - Duration::hours(8)
}

fn worker(phone: &str) -> StaffMember {
    StaffMember {
        name: format!("worker {phone}"),
        phone: phone.into(),
        role: StaffRole::FullTime,
    }
}

fn intake(category: Category, p: Coord<f64>) -> Intake {
    Intake {
        client_id: "c-1".into(),
        channel: Channel::Hotline12345,
        category,
        description: "litter by the gate".into(),
        reporter: None,
        reported_at: bj(9, 8, 55),
        point: p,
        input_crs: Crs::Wgs84,
        input_point: p,
    }
}

fn report_at(index: &AreaIndex, category: Category, p: Coord<f64>, now: DateTime<Utc>) -> Report {
    let r = route(index, &RoutingPolicy::default(), p, category).expect("inside the tree");
    let staff = StaffChoice {
        leader: None,
        handler: Some(worker("13800000001")),
        reason: "roster: no on-duty position".into(),
        distance_m: None,
    };
    new_report(
        intake(category, p),
        index,
        &r,
        staff,
        now,
        &WorkCalendar::default(),
        &TimeLimits::default(),
    )
}

fn in_market() -> Coord<f64> {
    coord! { x: 114.0002, y: 33.5002 }
}

#[test]
fn a_case_walks_from_intake_to_closure_with_every_event_recorded() {
    let (index, cal, limits) = (tree(), WorkCalendar::default(), TimeLimits::default());
    let mut r = report_at(&index, Category::CityAppearance, in_market(), bj(9, 9, 0));
    assert_eq!(
        (r.area_code.as_str(), r.level, r.stage),
        ("X", Level::Grid, Stage::Registered)
    );
    assert_eq!(r.route.rule, "exclusive");
    assert_eq!(r.assignee.as_deref(), Some("13800000001"));
    // Dispatch within 30 working minutes.
    assert_eq!(r.deadline, Some(bj(9, 9, 30)));
    assert_eq!((r.version, r.events.len()), (1, 1));
    assert_eq!(r.events[0].action, Action::Register);
    assert_eq!(r.events[0].actor, "hotline_12345");
    let mut step = |action, reason: Option<&str>, at| {
        let mut cmd = Command::new(action, "dispatcher-7");
        cmd.reason = reason.map(Into::into);
        apply(&mut r, &index, &cal, &limits, cmd, at).expect("legal")
    };
    let e = step(Action::Dispatch, None, bj(9, 9, 10));
    assert_eq!(
        (e.seq, e.from, e.to),
        (2, Stage::Registered, Stage::Dispatched)
    );
    assert_eq!(
        e.deadline,
        Some(bj(9, 10, 10)),
        "accept within 60 working minutes"
    );
    // Accepted at 11:30: one working day (420 min) = 30 before lunch, 210 after, 180 on Tuesday → 11:30.
    let e = step(Action::Accept, None, bj(9, 11, 30));
    assert_eq!(e.deadline, Some(bj(10, 11, 30)));
    // Extended: the deadline moves one more working day from the old deadline → Wednesday 11:30.
    let e = step(Action::Extend, Some("waiting for a crane"), bj(10, 9, 0));
    assert_eq!(
        (e.from, e.to, e.deadline),
        (Stage::Handling, Stage::Handling, Some(bj(11, 11, 30)))
    );
    assert_eq!(e.reason.as_deref(), Some("waiting for a crane"));
    step(Action::Submit, None, bj(10, 16, 0));
    let e = step(Action::Rework, Some("still dirty"), bj(10, 17, 0));
    assert_eq!(e.to, Stage::Handling);
    step(Action::Submit, None, bj(11, 9, 0));
    let e = step(Action::Close, None, bj(11, 10, 0));
    assert_eq!((e.to, e.deadline), (Stage::Closed, None));
    assert_eq!(r.closed_at, Some(bj(11, 10, 0)));
    assert_eq!(r.stage_since, bj(11, 10, 0));
    assert_eq!(r.version, 8);
    let seqs: Vec<u32> = r.events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=8).collect::<Vec<_>>());
    // Each event starts where the previous ended.
    assert!(r.events.windows(2).all(|w| w[0].to == w[1].from));
    // Nothing more after closure, and the report does not change.
    let before = r.clone();
    let err = apply(
        &mut r,
        &index,
        &cal,
        &limits,
        Command::new(Action::Reassign, "d"),
        bj(11, 11, 0),
    );
    assert_eq!(
        err,
        Err(WorkflowError::Illegal(IllegalTransition {
            from: Stage::Closed,
            action: Action::Reassign
        }))
    );
    assert_eq!(r, before);
}

#[test]
fn escalation_climbs_one_level_at_a_time_up_to_the_district() {
    let (index, cal, limits) = (tree(), WorkCalendar::default(), TimeLimits::default());
    assert_eq!(escalation_target(&index, "X").as_deref(), Some("C"));
    assert_eq!(escalation_target(&index, "G2").as_deref(), Some("C"));
    assert_eq!(escalation_target(&index, "C").as_deref(), Some("S"));
    assert_eq!(escalation_target(&index, "S").as_deref(), Some("D"));
    assert_eq!(escalation_target(&index, "D"), None);
    assert_eq!(escalation_target(&index, "nowhere"), None);
    let mut r = report_at(&index, Category::CityAppearance, in_market(), bj(9, 9, 0));
    let mut climbed = Vec::new();
    for _ in 0..3 {
        let cmd =
            Command::new(Action::Escalate, "dispatcher").reason("beyond the grid's capability");
        let e = apply(&mut r, &index, &cal, &limits, cmd, bj(9, 9, 5)).expect("a level above");
        climbed.push((e.area_code.clone(), r.level, e.assignee.clone()));
    }
    assert_eq!(
        climbed,
        [
            ("C".to_owned(), Level::Community, None),
            ("S".to_owned(), Level::Street, None),
            ("D".to_owned(), Level::District, None),
        ]
    );
    let cmd = Command::new(Action::Escalate, "dispatcher").reason("again");
    let before = r.clone();
    assert_eq!(
        apply(&mut r, &index, &cal, &limits, cmd, bj(9, 9, 6)),
        Err(WorkflowError::NoHigherLevel("D".into()))
    );
    assert_eq!(r, before);
    // The district dispatches, and handles within five working days (2100 min): Monday 09:10 → Monday 16th 09:10.
    let mut cmd = Command::new(Action::Dispatch, "district");
    cmd.assignee = Some("13900000009".into());
    apply(&mut r, &index, &cal, &limits, cmd, bj(9, 9, 10)).expect("legal");
    apply(
        &mut r,
        &index,
        &cal,
        &limits,
        Command::new(Action::Accept, "13900000009"),
        bj(9, 9, 10),
    )
    .expect("legal");
    assert_eq!(r.deadline, Some(bj(16, 9, 10)));
    assert_eq!(r.assignee.as_deref(), Some("13900000009"));
}

#[test]
fn escalate_return_rework_and_extend_need_a_reason() {
    let (index, cal, limits) = (tree(), WorkCalendar::default(), TimeLimits::default());
    let mut r = report_at(&index, Category::Other, in_market(), bj(9, 9, 0));
    for (action, setup) in [
        (Action::Escalate, &[][..]),
        (Action::Return, &[Action::Dispatch][..]),
        (Action::Extend, &[Action::Dispatch, Action::Accept][..]),
        (
            Action::Rework,
            &[Action::Dispatch, Action::Accept, Action::Submit][..],
        ),
    ] {
        let mut r = r.clone();
        for &a in setup {
            apply(
                &mut r,
                &index,
                &cal,
                &limits,
                Command::new(a, "d"),
                bj(9, 9, 1),
            )
            .expect("legal");
        }
        let before = r.clone();
        for reason in [None, Some("  ".to_owned())] {
            let mut cmd = Command::new(action, "d");
            cmd.reason = reason;
            assert_eq!(
                apply(&mut r, &index, &cal, &limits, cmd, bj(9, 9, 2)),
                Err(WorkflowError::MissingReason(action))
            );
            assert_eq!(r, before);
        }
        let cmd = Command::new(action, "d").reason("because");
        apply(&mut r, &index, &cal, &limits, cmd, bj(9, 9, 2)).expect("with a reason");
    }
    // Reassign to an unknown area is refused; to a known one it moves the case and its level.
    let mut cmd = Command::new(Action::Reassign, "d");
    cmd.area_code = Some("G9".into());
    assert_eq!(
        apply(&mut r, &index, &cal, &limits, cmd.clone(), bj(9, 9, 3)),
        Err(WorkflowError::UnknownArea("G9".into()))
    );
    cmd.area_code = Some("G2".into());
    let e = apply(&mut r, &index, &cal, &limits, cmd, bj(9, 9, 3)).expect("known area");
    assert_eq!(
        (e.area_code.as_str(), e.to, e.assignee),
        ("G2", Stage::Dispatched, None)
    );
    // Reassign within the area to a named person keeps the area.
    let mut cmd = Command::new(Action::Reassign, "d");
    cmd.assignee = Some("13700000000".into());
    let e = apply(&mut r, &index, &cal, &limits, cmd, bj(9, 9, 4)).expect("legal");
    assert_eq!(
        (e.area_code.as_str(), e.assignee.as_deref()),
        ("G2", Some("13700000000"))
    );
}

#[test]
fn overdue_cases_below_the_district_are_due_for_automatic_escalation() {
    let (index, cal, limits) = (tree(), WorkCalendar::default(), TimeLimits::default());
    let base = report_at(&index, Category::Other, in_market(), bj(9, 9, 0));
    // Registered at 09:00, dispatch limit 09:30.
    let mut late = base.clone();
    late.id = 1;
    let mut on_time = base.clone();
    on_time.id = 2;
    on_time.deadline = Some(bj(9, 12, 0));
    let mut at_district = base.clone();
    at_district.id = 3;
    at_district.level = Level::District;
    at_district.area_code = "D".into();
    let mut verifying = base.clone();
    verifying.id = 4;
    verifying.stage = Stage::Verification;
    let mut closed = base.clone();
    closed.id = 5;
    closed.stage = Stage::Closed;
    let reports = [late, on_time, at_district, verifying, closed];
    let now = bj(9, 9, 31);
    assert_eq!(due_escalations(&reports, now), [1]);
    assert!(overdue(&reports[3], now), "verification shows as overdue");
    assert!(!overdue(&reports[4], now), "a closed case is never overdue");
    // Exactly at the deadline is not yet late.
    assert!(due_escalations(&reports, bj(9, 9, 30)).is_empty());
    let mut r = reports[0].clone();
    let e = auto_escalate(&mut r, &index, &cal, &limits, now).expect("a level above");
    assert_eq!(
        (e.actor.as_str(), e.action, e.area_code.as_str()),
        ("system", Action::Escalate, "C")
    );
    assert_eq!(
        e.reason.as_deref(),
        Some("time limit of stage registered passed at 2026-03-09T01:30:00+00:00")
    );
    // Escalated at 09:31: the community must dispatch by 10:01.
    assert_eq!(r.deadline, Some(bj(9, 10, 1)));
}

/// Replaying a case to a past instant gives, at every instant, the state the case had then: before intake
/// nothing, then each stage in turn with its area (escalated to the community: its level too), and at the end
/// the case as it is now.
#[test]
fn a_case_replayed_to_an_instant_is_the_case_as_it_stood_then() {
    let (index, cal, limits) = (tree(), WorkCalendar::default(), TimeLimits::default());
    let mut r = report_at(&index, Category::CityAppearance, in_market(), bj(9, 9, 0));
    let mut step = |action, reason: Option<&str>, at| {
        let mut cmd = Command::new(action, "dispatcher-7");
        cmd.reason = reason.map(Into::into);
        apply(&mut r, &index, &cal, &limits, cmd, at).expect("legal")
    };
    step(Action::Dispatch, None, bj(9, 9, 10));
    step(Action::Escalate, Some("needs the community"), bj(9, 9, 20));
    let level_of = |code: &str| index.by_code(code).map(|id| index.area(id).level);
    assert!(
        as_of(&r, bj(9, 8, 59), level_of).is_none(),
        "not received yet"
    );
    let at = |h, m| as_of(&r, bj(9, h, m), level_of).expect("received");
    let registered = at(9, 5);
    assert_eq!(
        (
            registered.stage,
            registered.area_code.as_str(),
            registered.level
        ),
        (Stage::Registered, "X", Level::Grid)
    );
    assert_eq!((registered.version, registered.events.len()), (1, 1));
    assert_eq!(registered.deadline, Some(bj(9, 9, 30)));
    let dispatched = at(9, 15);
    assert_eq!(
        (dispatched.stage, dispatched.stage_since),
        (Stage::Dispatched, bj(9, 9, 10))
    );
    assert_eq!(dispatched.deadline, Some(bj(9, 10, 10)));
    let escalated = at(9, 25);
    assert_eq!(
        (
            escalated.stage,
            escalated.area_code.as_str(),
            escalated.level
        ),
        (Stage::Escalated, "C", Level::Community)
    );
    assert_eq!(escalated.route, r.route, "the intake routing is kept");
    assert_eq!(escalated, r, "after the last event: the case as it is");
}
