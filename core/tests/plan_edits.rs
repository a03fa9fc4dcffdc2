//! Each plan edit on a two-community toy: what it changes, what it refuses. Geometry is unit squares in 0.01°.

use geo_types::{MultiPolygon, Rect, coord};
use gridmap_core::plan::{AreaDraft, Plan, PlanEdit, PlanError, apply};
use gridmap_core::{Area, GridKind, Level};

fn square(x: f64, y: f64, side: f64) -> MultiPolygon<f64> {
    let (x0, y0) = (114.0 + x * 0.01, 33.5 + y * 0.01);
    MultiPolygon(vec![
        Rect::new(
            coord! {x: x0, y: y0},
            coord! {x: x0 + side * 0.01, y: y0 + side * 0.01},
        )
        .to_polygon(),
    ])
}

fn area(code: &str, level: Level, parent: Option<&str>, g: MultiPolygon<f64>) -> Area {
    Area {
        code: code.into(),
        name: code.into(),
        level,
        kind: (level == Level::Grid).then_some(GridKind::Residential),
        parent: parent.map(Into::into),
        geometry: g,
        staff: Vec::new(),
    }
}

/// Communities C1 (x 0-2) and C2 (x 2-4); grids G1, G2 in C1, G3 in C2; micro-grid M1 in G1.
fn toy() -> Vec<Area> {
    vec![
        area(
            "C1",
            Level::Community,
            None,
            MultiPolygon(vec![
                Rect::new(coord! {x: 114.0, y: 33.5}, coord! {x: 114.02, y: 33.51}).to_polygon(),
            ]),
        ),
        area(
            "C2",
            Level::Community,
            None,
            MultiPolygon(vec![
                Rect::new(coord! {x: 114.02, y: 33.5}, coord! {x: 114.04, y: 33.51}).to_polygon(),
            ]),
        ),
        area("G1", Level::Grid, Some("C1"), square(0.0, 0.0, 1.0)),
        area("G2", Level::Grid, Some("C1"), square(1.0, 0.0, 1.0)),
        area("G3", Level::Grid, Some("C2"), square(2.0, 0.0, 1.0)),
        area("M1", Level::MicroGrid, Some("G1"), square(0.0, 0.0, 1.0)),
    ]
}

fn run(edits: Vec<PlanEdit>) -> Result<gridmap_core::PlanOutcome, PlanError> {
    apply(
        &toy(),
        &Plan {
            edits,
            ..Plan::default()
        },
    )
}

fn changed<'a>(out: &'a gridmap_core::PlanOutcome, code: &str) -> &'a Area {
    out.changed.iter().find(|a| a.code == code).expect(code)
}

#[test]
fn rename_and_reshape_change_only_their_area() {
    let out = run(vec![
        PlanEdit::Rename {
            code: "G2".into(),
            new_name: "Riverside".into(),
        },
        PlanEdit::Reshape {
            code: "G3".into(),
            geometry: square(2.0, 0.0, 0.5),
        },
    ])
    .expect("applies");
    assert_eq!(out.changed.len(), 2);
    assert_eq!(changed(&out, "G2").name, "Riverside");
    assert_eq!(changed(&out, "G3").geometry, square(2.0, 0.0, 0.5));
    assert!(out.retired.is_empty());
}

#[test]
fn recode_moves_children_along_and_is_recorded() {
    let out = run(vec![PlanEdit::Recode {
        code: "G1".into(),
        new_code: "G9".into(),
    }])
    .expect("applies");
    assert_eq!(out.retired, ["G1"]);
    assert_eq!(out.recoded, [("G1".to_owned(), "G9".to_owned())]);
    assert_eq!(changed(&out, "M1").parent.as_deref(), Some("G9"));
    let taken = run(vec![PlanEdit::Recode {
        code: "G1".into(),
        new_code: "G2".into(),
    }]);
    assert_eq!(
        taken,
        Err(PlanError::CodeTaken {
            edit: 0,
            code: "G2".into()
        })
    );
}

#[test]
fn move_parent_and_create_check_their_codes() {
    let out = run(vec![PlanEdit::MoveParent {
        code: "G2".into(),
        new_parent: "C2".into(),
    }])
    .expect("applies");
    assert_eq!(changed(&out, "G2").parent.as_deref(), Some("C2"));
    let draft = AreaDraft {
        code: "G4".into(),
        name: "New".into(),
        level: Level::Grid,
        kind: Some(GridKind::Commercial),
        parent: Some("C9".into()),
        geometry: square(3.0, 0.0, 1.0),
        staff: Vec::new(),
    };
    let unknown = run(vec![PlanEdit::Create {
        area: draft.clone(),
    }]);
    assert_eq!(
        unknown,
        Err(PlanError::UnknownArea {
            edit: 0,
            code: "C9".into()
        })
    );
    let ok = run(vec![PlanEdit::Create {
        area: AreaDraft {
            parent: Some("C2".into()),
            ..draft
        },
    }])
    .expect("creates");
    assert_eq!(changed(&ok, "G4").kind, Some(GridKind::Commercial));
    let missing = run(vec![PlanEdit::Retire { code: "G7".into() }]);
    assert_eq!(
        missing,
        Err(PlanError::UnknownArea {
            edit: 0,
            code: "G7".into()
        })
    );
}

#[test]
fn retiring_a_grid_hands_its_micro_grids_to_the_grid_now_covering_them() {
    // G2 grows over G1's ground, G1 goes: M1 follows to G2.
    let out = run(vec![
        PlanEdit::Reshape {
            code: "G2".into(),
            geometry: MultiPolygon(vec![
                Rect::new(coord! {x: 114.0, y: 33.5}, coord! {x: 114.02, y: 33.51}).to_polygon(),
            ]),
        },
        PlanEdit::Retire { code: "G1".into() },
    ])
    .expect("applies");
    assert_eq!(out.retired, ["G1"]);
    assert_eq!(changed(&out, "M1").parent.as_deref(), Some("G2"));
}

#[test]
fn merge_refuses_areas_of_different_parents() {
    let err = run(vec![PlanEdit::Merge {
        codes: vec!["G2".into(), "G3".into()],
        into_code: "G2".into(),
        into_name: "x".into(),
    }]);
    assert!(
        matches!(err, Err(PlanError::Invalid { edit: 0, .. })),
        "{err:?}"
    );
}

#[test]
fn a_split_needs_as_many_pieces_as_codes() {
    let line = geo_types::LineString::from(vec![(114.005, 33.49), (114.005, 33.52)]);
    let err = run(vec![PlanEdit::Split {
        code: "G1".into(),
        lines: vec![line.clone()],
        new_codes: vec!["A".into(), "B".into(), "C".into()],
        new_names: Vec::new(),
    }]);
    assert!(
        matches!(&err, Err(PlanError::Invalid { reason, .. }) if reason.contains("2 pieces")),
        "{err:?}"
    );
    let out = run(vec![PlanEdit::Split {
        code: "G1".into(),
        lines: vec![line],
        new_codes: vec!["A".into(), "B".into()],
        new_names: Vec::new(),
    }])
    .expect("splits");
    // West piece first; the split grid's micro-grid (the whole old grid) goes by its pole: a tie on the cut is
    // resolved to one of the two, never lost.
    assert_eq!(out.retired, ["G1"]);
    assert_eq!(changed(&out, "A").name, "G1 1");
    assert!(
        changed(&out, "A").geometry.0[0]
            .exterior()
            .0
            .iter()
            .all(|c| c.x <= 114.005 + 1e-9)
    );
    let m1 = changed(&out, "M1").parent.clone();
    assert!(
        m1.as_deref() == Some("A") || m1.as_deref() == Some("B"),
        "{m1:?}"
    );
}

#[test]
fn a_plan_reads_from_json_with_geojson_geometry() {
    let plan: Plan = serde_json::from_str(
        r#"{"edits": [{"op": "retire", "code": "G3"}, {"op": "rename", "code": "G1", "new_name": "A"}],
            "base_versions": {"G3": 4, "G1": 2}}"#,
    )
    .expect("json");
    assert_eq!(plan.base_versions["G3"], 4);
    let out = apply(&toy(), &plan).expect("applies");
    assert_eq!(out.retired, ["G3"]);
}
