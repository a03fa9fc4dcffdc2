//! The seed case of issue 6: a community of 15 neighbourhood blocks and 3 estates (18 grids, a 6 × 3 lattice of
//! 0.005° cells, estates in the east column) re-divided into 22 grids: each estate split into three strips,
//! two pairs of blocks merged. Expected values come from the lattice itself (rectangles built here), never from
//! the code under test.

use geo_types::{Coord, LineString, MultiPolygon, Point, Rect, coord};
use gridmap_core::geodesy::area_m2;
use gridmap_core::plan::{
    Plan, PlanEdit, PlanOutcome, ProblemKind, ValidationRules, apply, impact, problems_geojson,
    renumber, renumber_edits, validate,
};
use gridmap_core::{Address, Area, AreaIndex, GridKind, Level, StaffMember, StaffRole};

const COMMUNITY: &str = "411104001001";
const W: f64 = 0.005;
const X0: f64 = 114.0;
const Y_TOP: f64 = 33.585;

fn code(n: u32) -> String {
    format!("{COMMUNITY}{n:03}")
}

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon<f64> {
    MultiPolygon(vec![
        Rect::new(coord! {x: x0, y: y0}, coord! {x: x1, y: y1}).to_polygon(),
    ])
}

/// West, south, east, north edges of lattice cell (row from the north, column from the west).
fn cell_box(row: u32, col: u32) -> (f64, f64, f64, f64) {
    let x = X0 + f64::from(col) * W;
    let y = Y_TOP - f64::from(row + 1) * W;
    (x, y, x + W, y + W)
}

fn cell(row: u32, col: u32) -> MultiPolygon<f64> {
    let (x0, y0, x1, y1) = cell_box(row, col);
    rect(x0, y0, x1, y1)
}

fn centre(row: u32, col: u32) -> Coord<f64> {
    let (x0, y0, x1, y1) = cell_box(row, col);
    coord! {x: f64::midpoint(x0, x1), y: f64::midpoint(y0, y1)}
}

fn area(
    code: String,
    level: Level,
    kind: Option<GridKind>,
    parent: Option<String>,
    g: MultiPolygon<f64>,
) -> Area {
    Area {
        name: code.clone(),
        code,
        level,
        kind,
        parent,
        geometry: g,
        staff: Vec::new(),
    }
}

fn worker(name: &str) -> StaffMember {
    StaffMember {
        name: name.into(),
        phone: "13800000000".into(),
        role: StaffRole::FullTime,
    }
}

/// Grid `n` (1-18) is cell `((n-1) / 6, (n-1) % 6)`; 006, 012, 018 are the estates.
fn seed() -> Vec<Area> {
    let mut areas = vec![area(
        COMMUNITY.into(),
        Level::Community,
        None,
        None,
        rect(X0, Y_TOP - 3.0 * W, X0 + 6.0 * W, Y_TOP),
    )];
    for n in 1..=18 {
        let mut g = area(
            code(n),
            Level::Grid,
            Some(GridKind::Residential),
            Some(COMMUNITY.into()),
            cell((n - 1) / 6, (n - 1) % 6),
        );
        g.name = if n % 6 == 0 {
            format!("Estate {}", n / 6)
        } else {
            format!("Block {n}")
        };
        if [2, 4, 12].contains(&n) {
            g.staff.push(worker(&format!("worker of {n}")));
        }
        areas.push(g);
    }
    // Micro-grids: 001 in west and east halves, 002 whole, estate 006 in three vertical thirds.
    let (x0, y0, x1, y1) = cell_box(0, 0);
    let mid = f64::midpoint(x0, x1);
    areas.push(area(
        format!("{}001", code(1)),
        Level::MicroGrid,
        None,
        Some(code(1)),
        rect(x0, y0, mid, y1),
    ));
    areas.push(area(
        format!("{}002", code(1)),
        Level::MicroGrid,
        None,
        Some(code(1)),
        rect(mid, y0, x1, y1),
    ));
    areas.push(area(
        format!("{}001", code(2)),
        Level::MicroGrid,
        None,
        Some(code(2)),
        cell(0, 1),
    ));
    for (k, strip) in estate_strips(0).into_iter().enumerate() {
        areas.push(area(
            format!("{}{:03}", code(6), k + 1),
            Level::MicroGrid,
            None,
            Some(code(6)),
            strip,
        ));
    }
    // A school (exclusive grid) in the estate 006, across its first and second thirds.
    let (ex, _, _, _) = cell_box(0, 5);
    areas.push(area(
        code(901),
        Level::Grid,
        Some(GridKind::School),
        Some(COMMUNITY.into()),
        rect(ex + 0.001, 33.581, ex + 0.002, 33.583),
    ));
    areas
}

/// The three vertical thirds of the estate in `row`, west first.
fn estate_strips(row: u32) -> Vec<MultiPolygon<f64>> {
    let (x0, y0, x1, y1) = cell_box(row, 5);
    let t = (x1 - x0) / 3.0;
    vec![
        rect(x0, y0, x0 + t, y1),
        rect(x0 + t, y0, x0 + 2.0 * t, y1),
        rect(x0 + 2.0 * t, y0, x1, y1),
    ]
}

/// Vertical lines through an estate at its thirds, overshooting it.
fn thirds(row: u32) -> Vec<LineString<f64>> {
    let (x0, y0, x1, y1) = cell_box(row, 5);
    let t = (x1 - x0) / 3.0;
    [x0 + t, x0 + 2.0 * t]
        .into_iter()
        .map(|x| LineString::from(vec![(x, y1 + 0.0001), (x, y0 - 0.0001)]))
        .collect()
}

fn seed_plan() -> Plan {
    let mut edits = Vec::new();
    for (row, codes) in [(0, [6, 19, 20]), (1, [12, 21, 22]), (2, [18, 23, 24])] {
        edits.push(PlanEdit::Split {
            code: code(codes[0]),
            lines: thirds(row),
            new_codes: codes.iter().map(|&n| code(n)).collect(),
            new_names: Vec::new(),
        });
    }
    edits.push(PlanEdit::Merge {
        codes: vec![code(1), code(2)],
        into_code: code(1),
        into_name: "Blocks 1-2".into(),
    });
    edits.push(PlanEdit::Merge {
        codes: vec![code(3), code(4)],
        into_code: code(3),
        into_name: "Blocks 3-4".into(),
    });
    Plan {
        edits,
        ..Plan::default()
    }
}

fn rules() -> ValidationRules {
    ValidationRules {
        min_grid_area_m2: Some(50_000.0),
        max_grid_area_m2: Some(600_000.0),
        ..ValidationRules::default()
    }
}

fn grids(areas: &[Area]) -> Vec<&Area> {
    areas
        .iter()
        .filter(|a| a.level == Level::Grid && !a.is_exclusive())
        .collect()
}

fn find<'a>(areas: &'a [Area], c: &str) -> &'a Area {
    areas.iter().find(|a| a.code == c).expect(c)
}

fn close(got: f64, expected: f64) -> bool {
    (got / expected - 1.0).abs() < 1e-3
}

/// The seed plan plus `extra` edits, validated.
fn outcome_with(
    extra: Vec<PlanEdit>,
    rules: &ValidationRules,
) -> (Vec<Area>, PlanOutcome, Vec<gridmap_core::Problem>) {
    let base = seed();
    let mut plan = seed_plan();
    plan.edits.extend(extra);
    let out = apply(&base, &plan).expect("plan applies");
    let after = out.areas_after(&base);
    let problems = validate(&after, &out.touched(&base), rules);
    // The server validates only the families around what the plan touches: the same answer.
    let index = gridmap_core::AreaIndex::build(base.clone());
    let touched = out.touched_in(&index);
    assert_eq!(touched, out.touched(&base));
    let scope = out.validation_scope(&index, &touched);
    assert_eq!(
        validate(&scope, &touched, rules),
        problems,
        "narrowed validation"
    );
    (after, out, problems)
}

#[test]
fn the_seed_plan_gives_22_clean_grids() {
    let base = seed();
    assert_eq!(grids(&base).len(), 18);
    let (after, out, problems) = outcome_with(Vec::new(), &rules());
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(grids(&after).len(), 22);
    let mut retired = out.retired.clone();
    retired.sort();
    assert_eq!(retired, [code(2), code(4)]);
    // Strips are thirds of an estate, merged blocks two cells.
    for (row, codes) in [(0, [6, 19, 20]), (1, [12, 21, 22]), (2, [18, 23, 24])] {
        for (strip, n) in estate_strips(row).iter().zip(codes) {
            assert!(
                close(area_m2(&find(&after, &code(n)).geometry), area_m2(strip)),
                "{n}"
            );
        }
    }
    let merged = find(&after, &code(1));
    assert_eq!(merged.geometry.0.len(), 1);
    let (x0, y0, _, y1) = cell_box(0, 0);
    assert!(close(
        area_m2(&merged.geometry),
        area_m2(&rect(x0, y0, x0 + 2.0 * W, y1))
    ));
    // Staff: the piece keeping 012 keeps its worker; the merge into 001 has none of 002's.
    assert_eq!(find(&after, &code(12)).staff.len(), 1);
    assert!(find(&after, &code(21)).staff.is_empty());
    // Micro-grids follow: 002's into 001, the estate's thirds to the strips holding them.
    let parent_of = |c: String| find(&after, &c).parent.clone().expect("parent");
    assert_eq!(parent_of(format!("{}001", code(2))), code(1));
    assert_eq!(parent_of(format!("{}001", code(6))), code(6));
    assert_eq!(parent_of(format!("{}002", code(6))), code(19));
    assert_eq!(parent_of(format!("{}003", code(6))), code(20));
}

#[test]
fn a_gap_is_reported_with_its_area_and_place() {
    // Block 7 (row 1, column 0) gives up its eastern 0.001°: nobody takes it.
    let (x0, y0, x1, y1) = cell_box(1, 0);
    let shrink = PlanEdit::Reshape {
        code: code(7),
        geometry: rect(x0, y0, x1 - 0.001, y1),
    };
    let (_, _, problems) = outcome_with(vec![shrink], &rules());
    assert_eq!(problems.len(), 1, "{problems:#?}");
    let p = &problems[0];
    assert_eq!(p.kind, ProblemKind::Gap);
    assert_eq!(p.codes, [COMMUNITY]);
    assert!(close(
        p.area_m2.expect("area"),
        area_m2(&rect(x1 - 0.001, y0, x1, y1))
    ));
    let at = p.location.expect("location");
    assert!(
        at.x > x1 - 0.001 && at.x < x1 && at.y > y0 && at.y < y1,
        "{at:?}"
    );
    let fc = problems_geojson(&problems);
    assert_eq!(fc.features.len(), 1);
    let props = fc.features[0].properties.as_ref().expect("properties");
    assert_eq!(props["kind"], "gap");
}

#[test]
fn an_overlap_is_reported_with_its_area() {
    // Block 8 reaches 0.001° west into block 7.
    let (x0, y0, x1, y1) = cell_box(1, 1);
    let grow = PlanEdit::Reshape {
        code: code(8),
        geometry: rect(x0 - 0.001, y0, x1, y1),
    };
    let (_, _, problems) = outcome_with(vec![grow], &rules());
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].kind, ProblemKind::Overlap);
    assert_eq!(problems[0].codes, [code(7), code(8)]);
    assert!(close(
        problems[0].area_m2.expect("area"),
        area_m2(&rect(x0 - 0.001, y0, x0, y1))
    ));
}

#[test]
fn a_sliver_narrower_than_the_tolerance_is_not_an_overlap() {
    // Half a metre into the neighbour along the whole 555 m edge: digitising noise, under the 1 m tolerance.
    let (x0, y0, x1, y1) = cell_box(1, 1);
    let half_metre = 0.5 / gridmap_core::geodesy::metres_per_degree(y0).0;
    let grow = PlanEdit::Reshape {
        code: code(8),
        geometry: rect(x0 - half_metre, y0, x1, y1),
    };
    let (_, _, problems) = outcome_with(vec![grow], &rules());
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn a_grid_reaching_outside_its_community_is_reported() {
    // Block 13 (south-west corner) reaches 0.001° south of the community.
    let (x0, y0, x1, y1) = cell_box(2, 0);
    let grow = PlanEdit::Reshape {
        code: code(13),
        geometry: rect(x0, y0 - 0.001, x1, y1),
    };
    let (_, _, problems) = outcome_with(vec![grow], &rules());
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].kind, ProblemKind::OutsideParent);
    assert_eq!(problems[0].codes, [code(13), COMMUNITY.to_owned()]);
    assert!(close(
        problems[0].area_m2.expect("area"),
        area_m2(&rect(x0, y0 - 0.001, x1, y0))
    ));
}

#[test]
fn a_tiny_grid_is_reported() {
    // Block 14 loses a 0.0002° strip on its west side as a grid of its own (about 18 m x 555 m).
    let (x0, y0, _, y1) = cell_box(2, 1);
    let x = x0 + 0.0002;
    let split = PlanEdit::Split {
        code: code(14),
        lines: vec![LineString::from(vec![(x, y1 + 0.001), (x, y0 - 0.001)])],
        new_codes: vec![code(25), code(14)],
        new_names: vec!["Sliver".into(), "Block 14".into()],
    };
    let (after, _, problems) = outcome_with(vec![split], &rules());
    assert_eq!(
        find(&after, &code(25)).name,
        "Sliver",
        "the west piece takes the first code"
    );
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].kind, ProblemKind::TooSmall);
    assert_eq!(problems[0].codes, [code(25)]);
    assert!(close(
        problems[0].area_m2.expect("area"),
        area_m2(&rect(x0, y0, x, y1))
    ));
}

#[test]
fn an_invalid_boundary_is_reported_alone() {
    let (x0, y0, x1, y1) = cell_box(1, 2);
    let bow_tie = MultiPolygon(vec![geo_types::Polygon::new(
        LineString::from(vec![(x0, y0), (x1, y1), (x1, y0), (x0, y1), (x0, y0)]),
        vec![],
    )]);
    let (_, _, problems) = outcome_with(
        vec![PlanEdit::Reshape {
            code: code(9),
            geometry: bow_tie,
        }],
        &rules(),
    );
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].kind, ProblemKind::InvalidGeometry);
}

#[test]
fn a_retired_grid_whose_micro_grids_nobody_holds_is_reported() {
    // Retiring 001 (before the merge) leaves its micro-grids over ground no grid covers.
    let base = seed();
    let plan = Plan {
        edits: vec![PlanEdit::Retire { code: code(1) }],
        ..Plan::default()
    };
    let out = apply(&base, &plan).expect("applies");
    let after = out.areas_after(&base);
    let problems = validate(&after, &out.touched(&base), &ValidationRules::default());
    let kinds: Vec<ProblemKind> = problems.iter().map(|p| p.kind).collect();
    assert_eq!(
        kinds,
        [
            ProblemKind::MissingParent,
            ProblemKind::MissingParent,
            ProblemKind::Gap
        ]
    );
    assert!(close(
        problems[2].area_m2.expect("area"),
        area_m2(&cell(0, 0))
    ));
}

#[test]
fn impact_of_the_seed_plan() {
    let base = seed();
    let out = apply(&base, &seed_plan()).expect("applies");
    let after = out.areas_after(&base);
    let (before_index, after_index) = (AreaIndex::build(base.clone()), AreaIndex::build(after));
    // One address at the centre of every cell, one in the west third of estate 006.
    let mut points: Vec<Coord<f64>> = (0..3)
        .flat_map(|r| (0..6).map(move |c| centre(r, c)))
        .collect();
    let (ex, _, _, _) = cell_box(0, 5);
    points.push(coord! {x: ex + 0.0005, y: centre(0, 5).y});
    let addresses: Vec<Address> = points
        .iter()
        .enumerate()
        .map(|(i, p)| Address {
            full: format!("address {i}"),
            road: String::new(),
            number: String::new(),
            building: String::new(),
            point: Point(*p),
        })
        .collect();
    // Centres of cells 002 and 004 go to the merged 001 and 003; estate centres lie in the middle thirds.
    let expected = [(1, 2, 1), (3, 4, 3), (5, 6, 19), (11, 12, 21), (17, 18, 23)];
    let reports = [
        (1, centre(1, 5)),
        (2, centre(1, 0)),
        (3, coord! {x: ex + 0.0015, y: 33.582}),
    ];
    let imp = impact(&before_index, &after_index, &addresses, &reports);
    let got: Vec<(String, Option<String>, Option<String>)> = imp
        .addresses
        .iter()
        .map(|m| (m.what.clone(), m.from_grid.clone(), m.to_grid.clone()))
        .collect();
    let want: Vec<(String, Option<String>, Option<String>)> = expected
        .iter()
        .map(|&(i, from, to)| (format!("address {i}"), Some(code(from)), Some(code(to))))
        .collect();
    assert_eq!(got, want);
    // Report 1 (estate 012's centre) moves to 021; report 3 stays with the school.
    assert_eq!(imp.reports.len(), 1);
    assert_eq!(
        (imp.reports[0].what.as_str(), imp.reports[0].to_grid.clone()),
        ("1", Some(code(21)))
    );
    // Micro-grids: 002's one to 001, the estate's second and third to 019 and 020.
    let micro: Vec<(String, String)> = imp
        .micro_grids
        .iter()
        .map(|m| (m.what.clone(), m.to_grid.clone().expect("to")))
        .collect();
    assert_eq!(
        micro,
        [
            (format!("{}001", code(2)), code(1)),
            (format!("{}002", code(6)), code(19)),
            (format!("{}003", code(6)), code(20)),
        ]
    );
    // The workers of the merged-away 002 and 004 need a grid; 012's keeps hers.
    let staff: Vec<(Option<String>, Option<String>)> = imp
        .staff
        .iter()
        .map(|m| (m.from_grid.clone(), m.to_grid.clone()))
        .collect();
    assert_eq!(
        staff,
        [
            (Some(code(2)), Some(code(1))),
            (Some(code(4)), Some(code(3)))
        ]
    );
    // The school sat in estate 006 only; now it straddles 006 and 019.
    assert_eq!(imp.exclusive.len(), 1);
    assert_eq!(imp.exclusive[0].from_grid, Some(code(6)));
    assert_eq!(
        imp.exclusive[0].to_grid,
        Some(format!("{},{}", code(6), code(19)))
    );
}

#[test]
fn moving_a_shared_corner_moves_it_for_all_four_grids() {
    // The corner shared by blocks 7, 8, 13, 14 moves 0.0005° north-east.
    let (x, y, _, _) = cell_box(1, 1);
    let edit = PlanEdit::MoveVertex {
        from: coord! {x: x, y: y},
        to: coord! {x: x + 0.0005, y: y + 0.0005},
        tolerance_m: 0.5,
    };
    let (after, out, problems) = outcome_with(vec![edit], &rules());
    assert!(problems.is_empty(), "{problems:#?}");
    for n in [7, 8, 13, 14] {
        assert!(out.changed.iter().any(|a| a.code == code(n)), "{n} moved");
    }
    // Block 8 lost the triangle (x, y) (x + d, y + d) (x + d, y)... and its neighbours gained it; the sum stays.
    let total: f64 = [7, 8, 13, 14]
        .iter()
        .map(|&n| area_m2(&find(&after, &code(n)).geometry))
        .sum();
    assert!(close(total, area_m2(&rect(x - W, y - W, x + W, y + W))));
}

#[test]
fn moving_a_split_point_on_the_community_edge_bends_the_community_too() {
    // Where the first cut meets the north edge: the strips and micro-grids have a vertex, the community not.
    let (ex, _, _, _) = cell_box(0, 5);
    let from = coord! {x: ex + W / 3.0, y: Y_TOP};
    let edit = PlanEdit::MoveVertex {
        from,
        to: coord! {x: from.x + 0.0003, y: Y_TOP + 0.0003},
        tolerance_m: 0.5,
    };
    let (_, out, problems) = outcome_with(vec![edit], &rules());
    assert!(problems.is_empty(), "{problems:#?}");
    let changed: Vec<&str> = out.changed.iter().map(|a| a.code.as_str()).collect();
    for c in [
        COMMUNITY.to_owned(),
        code(6),
        code(19),
        format!("{}001", code(6)),
        format!("{}002", code(6)),
    ] {
        assert!(changed.contains(&c.as_str()), "{c} in {changed:?}");
    }
}

#[test]
fn renumbering_orders_codes_west_to_east_north_to_south() {
    let (after, _, problems) = outcome_with(
        Vec::new(),
        &ValidationRules {
            check_numbering: true,
            ..rules()
        },
    );
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].kind, ProblemKind::Order);
    // Reading order of the lattice after the plan, by rows.
    let rows = [
        vec![1, 3, 5, 6, 19, 20],
        vec![7, 8, 9, 10, 11, 12, 21, 22],
        vec![13, 14, 15, 16, 17, 18, 23, 24],
    ];
    let reading: Vec<String> = rows.concat().into_iter().map(code).collect();
    assert_eq!(problems[0].codes, reading);
    let mapping = renumber(&after, COMMUNITY);
    let want: Vec<(String, String)> = reading
        .iter()
        .enumerate()
        .map(|(k, old)| (old.clone(), code(u32::try_from(k).expect("small") + 1)))
        .filter(|(old, new)| old != new)
        .collect();
    assert_eq!(mapping, want);
    let plan = Plan {
        edits: renumber_edits(&mapping),
        ..Plan::default()
    };
    let out = apply(&after, &plan).expect("renumbering applies");
    let renumbered = out.areas_after(&after);
    let problems = validate(
        &renumbered,
        &out.touched(&after),
        &ValidationRules {
            check_numbering: true,
            ..rules()
        },
    );
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(out.recoded.len(), mapping.len());
    // Micro-grids follow their grid's new code: 019 became 005.
    assert_eq!(
        find(&renumbered, &format!("{}002", code(6)))
            .parent
            .as_deref(),
        Some(code(5).as_str())
    );
}

#[test]
fn a_renumber_edit_is_the_recodes_renumber_gives() {
    let (after, _, _) = outcome_with(Vec::new(), &rules());
    let by_recodes = apply(
        &after,
        &Plan {
            edits: renumber_edits(&renumber(&after, COMMUNITY)),
            ..Plan::default()
        },
    )
    .expect("recodes apply");
    let by_op = apply(
        &after,
        &Plan {
            edits: vec![PlanEdit::Renumber {
                parent: COMMUNITY.to_owned(),
            }],
            ..Plan::default()
        },
    )
    .expect("renumber applies");
    assert!(!by_op.recoded.is_empty());
    assert_eq!(by_op, by_recodes);
    assert_eq!(
        apply(
            &after,
            &Plan {
                edits: vec![PlanEdit::Renumber {
                    parent: "nowhere".into()
                }],
                ..Plan::default()
            }
        ),
        Err(gridmap_core::PlanError::UnknownArea {
            edit: 0,
            code: "nowhere".into()
        })
    );
}
