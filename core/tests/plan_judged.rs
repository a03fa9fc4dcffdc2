//! A plan is judged by what it changes: a gap that was there before (an undeclared river) never blocks a
//! plan that leaves it as it was; a gap the plan opens or widens blocks with the new ground alone; declared
//! excluded ground is no gap at all.

use geo::GeodesicArea;
use geo_types::{MultiPolygon, Rect, coord};
use gridmap_core::plan::{Plan, PlanEdit, ProblemKind, ValidationRules, apply, check};
use gridmap_core::{Area, AreaIndex, ExcludedGround, ExcludedKind, GridKind, Level};

fn rect(x0: f64, x1: f64) -> MultiPolygon<f64> {
    MultiPolygon(vec![
        Rect::new(coord! {x: x0, y: 33.0}, coord! {x: x1, y: 33.01}).to_polygon(),
    ])
}

fn area(code: &str, level: Level, parent: Option<&str>, geometry: MultiPolygon<f64>) -> Area {
    Area {
        code: code.into(),
        name: code.into(),
        level,
        kind: (level == Level::Grid).then_some(GridKind::Residential),
        parent: parent.map(Into::into),
        geometry,
        staff: vec![],
    }
}

/// A community 114.00-114.03 with two grids and a river 114.01-114.02 between them that no grid takes.
fn riverside() -> AreaIndex {
    AreaIndex::build(vec![
        area("c", Level::Community, None, rect(114.0, 114.03)),
        area("g1", Level::Grid, Some("c"), rect(114.0, 114.01)),
        area("g2", Level::Grid, Some("c"), rect(114.02, 114.03)),
    ])
}

fn river() -> ExcludedGround {
    ExcludedGround {
        name: "沙河".into(),
        kind: ExcludedKind::Water,
        geometry: rect(114.01, 114.02),
    }
}

fn plan(edit: PlanEdit) -> Plan {
    Plan {
        edits: vec![edit],
        ..Plan::default()
    }
}

#[test]
fn a_rename_beside_an_undeclared_river_is_valid_and_the_river_is_listed_as_existing() {
    let index = riverside();
    let rename = plan(PlanEdit::Rename {
        code: "g1".into(),
        new_name: "东岸".into(),
    });
    let outcome = apply(index.areas(), &rename).expect("applies");
    let judged = check(&index, &outcome, &ValidationRules::default(), &[]);
    assert!(judged.new.is_empty(), "{:?}", judged.new);
    assert_eq!(judged.existing.len(), 1, "{:?}", judged.existing);
    assert_eq!(judged.existing[0].kind, ProblemKind::Gap);
    let river_m2 = rect(114.01, 114.02).geodesic_area_unsigned();
    let got = judged.existing[0].area_m2.expect("area");
    assert!((got / river_m2 - 1.0).abs() < 1e-6, "{got} vs {river_m2}");
    let fc = judged.existing_geojson();
    assert_eq!(fc.features.len(), 1);
    let props = fc.features[0].properties.as_ref().expect("properties");
    assert_eq!(props["existing"], true);
    assert_eq!(props["kind"], "gap");
}

#[test]
fn a_reshape_that_widens_the_river_gap_blocks_with_the_strip_alone() {
    let index = riverside();
    // g1 pulls its eastern edge back from the river by 0.001°: the gap grows by a strip of ~93 m × 1.1 km.
    let reshape = plan(PlanEdit::Reshape {
        code: "g1".into(),
        geometry: rect(114.0, 114.009),
    });
    let outcome = apply(index.areas(), &reshape).expect("applies");
    let strip = rect(114.009, 114.01).geodesic_area_unsigned();
    for excluded in [vec![], vec![river()]] {
        let judged = check(&index, &outcome, &ValidationRules::default(), &excluded);
        assert_eq!(judged.new.len(), 1, "{:?}", judged.new);
        let gap = &judged.new[0];
        assert_eq!(gap.kind, ProblemKind::Gap);
        assert_eq!(gap.codes, ["c"]);
        let got = gap.area_m2.expect("area");
        assert!(
            (got / strip - 1.0).abs() < 1e-3,
            "{got} m² vs the strip's {strip} m²"
        );
        // The undeclared river is still there, unchanged by the plan: listed apart.
        assert_eq!(judged.existing.len(), usize::from(excluded.is_empty()));
    }
}

#[test]
fn declared_river_ground_is_no_gap_before_or_after() {
    let index = riverside();
    let rename = plan(PlanEdit::Rename {
        code: "g2".into(),
        new_name: "西岸".into(),
    });
    let outcome = apply(index.areas(), &rename).expect("applies");
    let judged = check(&index, &outcome, &ValidationRules::default(), &[river()]);
    assert_eq!(judged, gridmap_core::plan::Judged::default());
}

#[test]
fn a_new_overlap_blocks_and_an_unchanged_one_does_not() {
    // g1 and g2 already overlap by 0.001° (a digitising error nobody fixed).
    let index = AreaIndex::build(vec![
        area("c", Level::Community, None, rect(114.0, 114.02)),
        area("g1", Level::Grid, Some("c"), rect(114.0, 114.011)),
        area("g2", Level::Grid, Some("c"), rect(114.01, 114.02)),
    ]);
    let rules = ValidationRules::default();
    let rename = plan(PlanEdit::Rename {
        code: "g1".into(),
        new_name: "一".into(),
    });
    let judged = check(
        &index,
        &apply(index.areas(), &rename).expect("applies"),
        &rules,
        &[],
    );
    assert!(judged.new.is_empty(), "{:?}", judged.new);
    assert_eq!(judged.existing[0].kind, ProblemKind::Overlap);
    // Growing g1 further over g2 makes the overlap worse: new, drawn as the added strip.
    let grow = plan(PlanEdit::Reshape {
        code: "g1".into(),
        geometry: rect(114.0, 114.012),
    });
    let judged = check(
        &index,
        &apply(index.areas(), &grow).expect("applies"),
        &rules,
        &[],
    );
    assert_eq!(judged.new.len(), 1, "{:?}", judged.new);
    assert_eq!(judged.new[0].kind, ProblemKind::Overlap);
    let strip = rect(114.011, 114.012).geodesic_area_unsigned();
    let got = judged.new[0].area_m2.expect("area");
    assert!((got / strip - 1.0).abs() < 1e-3, "{got} vs {strip}");
}
