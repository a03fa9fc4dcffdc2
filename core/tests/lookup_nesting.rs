//! The ancestor shortcut must not change answers where a child pokes outside its parent: a hand-made city whose
//! community straddles two streets gets, at every level, the area that per-level geometry gives.
#![allow(clippy::float_cmp)]

use geo::Contains;
use geo_types::{Coord, MultiPolygon, Point, coord, polygon};
use gridmap_core::{Area, AreaIndex, GridKind, Level};

/// A rectangle in units of 0.01° from (114.0°, 33.5°).
fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon<f64> {
    let lon = |x: f64| 114.0 + x * 0.01;
    let lat = |y: f64| 33.5 + y * 0.01;
    MultiPolygon(vec![polygon![
        (x: lon(x0), y: lat(y0)), (x: lon(x1), y: lat(y0)), (x: lon(x1), y: lat(y1)), (x: lon(x0), y: lat(y1)),
    ]])
}

fn area(code: &str, level: Level, parent: Option<&str>, geometry: MultiPolygon<f64>) -> Area {
    Area {
        code: code.to_owned(),
        name: code.to_owned(),
        level,
        kind: (level >= Level::Grid).then_some(GridKind::Residential),
        parent: parent.map(str::to_owned),
        geometry,
        staff: Vec::new(),
    }
}

/// District D = [0, 2] x [0, 1]; streets S1 (west half), S2 (east half). Community C1 (parent S1) reaches
/// 0.2 into S2; C2 (parent S2) takes the rest of the south half; C3, C4 the north halves (nested properly).
/// Each community has one grid equal to it, each grid one micro-grid.
fn city() -> Vec<Area> {
    let mut areas = vec![
        area("D", Level::District, None, rect(0.0, 0.0, 2.0, 1.0)),
        area("S1", Level::Street, Some("D"), rect(0.0, 0.0, 1.0, 1.0)),
        area("S2", Level::Street, Some("D"), rect(1.0, 0.0, 2.0, 1.0)),
    ];
    for (c, parent, g) in [
        ("C1", "S1", rect(0.0, 0.0, 1.2, 0.5)),
        ("C2", "S2", rect(1.2, 0.0, 2.0, 0.5)),
        ("C3", "S1", rect(0.0, 0.5, 1.0, 1.0)),
        ("C4", "S2", rect(1.0, 0.5, 2.0, 1.0)),
    ] {
        areas.push(area(c, Level::Community, Some(parent), g.clone()));
        areas.push(area(&format!("G{c}"), Level::Grid, Some(c), g.clone()));
        areas.push(area(
            &format!("M{c}"),
            Level::MicroGrid,
            Some(&format!("G{c}")),
            g,
        ));
    }
    areas
}

fn codes(index: &AreaIndex, p: Coord<f64>) -> Vec<String> {
    index
        .locate(p)
        .chain
        .iter()
        .map(|&id| index.area(id).code.clone())
        .collect()
}

#[test]
fn a_community_poking_into_the_next_street_reports_the_street_that_holds_the_point() {
    let index = AreaIndex::build(city());
    let at = |x: f64, y: f64| coord! { x: 114.0 + x * 0.01, y: 33.5 + y * 0.01 };
    // Inside C1's part that lies in S2: the street is S2, not C1's parent S1.
    assert_eq!(
        codes(&index, at(1.1, 0.25)),
        ["D", "S2", "C1", "GC1", "MC1"]
    );
    // On the S1 | S2 edge inside C1: the rule (east) gives S2.
    assert_eq!(
        codes(&index, at(1.0, 0.25)),
        ["D", "S2", "C1", "GC1", "MC1"]
    );
    // Inside C1's part in S1, and in the properly nested north half.
    assert_eq!(
        codes(&index, at(0.5, 0.25)),
        ["D", "S1", "C1", "GC1", "MC1"]
    );
    assert_eq!(
        codes(&index, at(1.5, 0.75)),
        ["D", "S2", "C4", "GC4", "MC4"]
    );
    // A sweep, including every boundary line: each level's area is the one whose interior holds the point
    // moved a hair east and north (geo's predicate, independent of the index).
    let areas = city();
    for i in 0..=40 {
        for j in 0..=20 {
            let p = at(f64::from(i) * 0.05, f64::from(j) * 0.05);
            let moved = coord! { x: p.x + 1e-9, y: p.y + 1e-14 };
            let expected: Vec<&str> = Level::ALL
                .iter()
                .filter_map(|&level| {
                    areas
                        .iter()
                        .find(|a| a.level == level && a.geometry.contains(&Point(moved)))
                        .map(|a| a.code.as_str())
                })
                .collect();
            if expected.len() == Level::ALL.len() {
                assert_eq!(codes(&index, p), expected, "at {p:?}");
            }
        }
    }
}
