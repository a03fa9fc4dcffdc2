//! End-to-end checks of [`coverage`](super::coverage) on a small grid walked in a straight line.

use chrono::{DateTime, Utc};
use geo_types::{Coord, LineString, MultiPolygon, polygon};

use super::{CoverageParams, coverage};
use crate::index::AreaIndex;
use crate::patrol::PatrolTrack;
use crate::{Area, GridKind, Level, Road, geodesy};

const LON: f64 = 114.09;
const LAT: f64 = 33.57;

/// A point `east_m`, `north_m` from the reference corner.
fn at(east_m: f64, north_m: f64) -> Coord<f64> {
    let (mx, my) = geodesy::metres_per_degree(LAT);
    Coord {
        x: LON + east_m / mx,
        y: LAT + north_m / my,
    }
}

fn square(code: &str, level: Level, parent: Option<&str>, x0: f64, y0: f64, s: f64) -> Area {
    let ring = [
        at(x0, y0),
        at(x0 + s, y0),
        at(x0 + s, y0 + s),
        at(x0, y0 + s),
    ];
    Area {
        code: code.into(),
        name: code.into(),
        level,
        kind: (level >= Level::Grid).then_some(GridKind::Residential),
        parent: parent.map(Into::into),
        geometry: MultiPolygon(vec![polygon![ring[0], ring[1], ring[2], ring[3]]]),
        staff: Vec::new(),
    }
}

fn t(s: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_400_000 + s, 0).expect("a valid time")
}

/// A 200 m grid of four 100 m micro-grids; a worker walks along y = 50 m from x = -50 to 250 at 1.2 m/s.
fn setup() -> (AreaIndex, Vec<PatrolTrack>) {
    let areas = vec![
        square("G", Level::Grid, None, 0.0, 0.0, 200.0),
        square("M1", Level::MicroGrid, Some("G"), 0.0, 0.0, 100.0),
        square("M2", Level::MicroGrid, Some("G"), 100.0, 0.0, 100.0),
        square("M3", Level::MicroGrid, Some("G"), 0.0, 100.0, 100.0),
        square("M4", Level::MicroGrid, Some("G"), 100.0, 100.0, 100.0),
    ];
    let fixes = (0..=25)
        .map(|k| (t(10 * k), at(-50.0 + 12.0 * k as f64, 50.0)))
        .collect();
    let track = PatrolTrack {
        worker: "13800000000".into(),
        fixes,
    };
    (AreaIndex::build(areas), vec![track])
}

#[test]
fn a_straight_walk_covers_a_band_of_two_r_and_the_micro_grids_it_passes() {
    let (index, tracks) = setup();
    let grid = index.by_code("G").expect("grid");
    // The band y in [20, 80] across the whole 200 m width: 12,000 of 40,000 m².
    let road = Road {
        name: "north road".into(),
        class: "main".into(),
        geometry: LineString(vec![at(0.0, 200.0), at(200.0, 200.0)]),
    };
    let inner = Road {
        name: "walked lane".into(),
        class: "secondary".into(),
        geometry: LineString(vec![at(0.0, 60.0), at(200.0, 60.0)]),
    };
    let params = CoverageParams::new(t(0), t(3600));
    let report = &coverage(&index, &[grid], &tracks, &[road, inner], &params)[0];
    assert!((report.area_coverage - 0.3).abs() < 0.005, "{report:?}");
    assert!((report.area_m2 - 40_000.0).abs() < 40.0);
    // Half the road length (the lane) is walked; the boundary road is 150 m from the track.
    assert_eq!(
        report.road_coverage.map(|c| (c * 100.0).round()),
        Some(50.0)
    );
    let visited: Vec<(&str, bool)> = report
        .micro_grids
        .iter()
        .map(|m| (m.code.as_str(), m.visited))
        .collect();
    // M3/M4 start at y = 100, 50 m from the track: more than R = 30.
    assert_eq!(
        visited,
        [("M1", true), ("M2", true), ("M3", false), ("M4", false)]
    );
    // M2 last seen by the segment whose end is the first fix past x = 230 (R beyond its east edge).
    let m2 = report.micro_grids[1].last_visit.expect("visited");
    assert_eq!(m2, t(240));
    // Inside the grid from x = 0 to 200: 200 m at 1.2 m/s, counted by segment midpoints (whole 10 s steps).
    assert_eq!(report.workers.len(), 1);
    assert!(
        (report.patrol_minutes - 170.0 / 60.0).abs() < 1e-9,
        "{}",
        report.patrol_minutes
    );
    assert!(!report.duty_met);
    // The uncovered parts: the strips north and south of the band.
    let uncovered_m2 = geodesy::area_m2(&report.uncovered);
    assert!(
        (uncovered_m2 - 28_000.0).abs() < 28_000.0 * 0.02,
        "{uncovered_m2}"
    );
    assert_eq!(report.uncovered.0.len(), 2);
}

#[test]
fn fixes_outside_the_window_do_not_count() {
    let (index, tracks) = setup();
    let grid = index.by_code("G").expect("grid");
    let params = CoverageParams::new(t(4000), t(8000));
    let report = &coverage(&index, &[grid], &tracks, &[], &params)[0];
    assert!(report.area_coverage.abs() < f64::EPSILON);
    assert!(report.micro_grids.iter().all(|m| !m.visited));
    assert!(report.road_coverage.is_none());
    assert_eq!(report.uncovered.0.len(), 1);
}
