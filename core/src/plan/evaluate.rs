//! A plan judged by what it changes: the problems of the families it touches, before and after it.
//!
//! A real city has ground that no grid takes and that nobody declared yet, and old slivers nobody has fixed:
//! those problems are there before any plan, and a plan that leaves them as they were must still commit. So
//! [`check`] validates the touched families twice, as they are and as the plan leaves them, and sorts each
//! problem after the plan:
//! - a gap, an overlap or a part outside a parent is **new** for the ground it adds to the problems of its kind
//!   before the plan, beyond the rules' tolerances: a gap that grows blocks with the grown part alone, and a
//!   river that was a gap before and still is stays out of the way;
//! - a grid too small is new when the plan made it smaller, one too large when the plan made it larger; an
//!   invalid boundary when the plan drew it; a missing parent or a numbering out of order when no such
//!   problem named the same codes before;
//! - everything else is **existing**: listed apart so the planner still sees it, never blocking.

use std::collections::BTreeSet;

use geo::{BooleanOps, BoundingRect, Intersects, unary_union};
use geo_types::{Coord, Geometry, MultiPolygon, Polygon, Rect};

use super::geometry::{parts_wider_than, polygon_area_m2};
use super::impact::{Impact, impact};
use super::validate::{Problem, ProblemKind, ValidationRules, location, validate_excluding};
use super::{PlanOutcome, problems_geojson};
use crate::geodesy::union_rect;
use crate::{Address, Area, AreaIndex, ExcludedGround};

/// Strips of new gap narrower than this are dust of the boolean operations, not ground (metres).
const NOISE_WIDTH_M: f64 = 0.01;

/// A plan's problems, sorted by whether the plan caused them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Judged {
    /// Problems the plan creates or makes worse: they block the commit.
    pub new: Vec<Problem>,
    /// Problems that were there before the plan and that it leaves as they were (or smaller).
    pub existing: Vec<Problem>,
}

impl Judged {
    /// The existing problems as `GeoJSON`, as [`problems_geojson`] with `existing: true` on each feature.
    pub fn existing_geojson(&self) -> geojson::FeatureCollection {
        let mut fc = problems_geojson(&self.existing);
        for f in &mut fc.features {
            if let Some(p) = f.properties.as_mut() {
                p.insert("existing".into(), serde_json::Value::Bool(true));
            }
        }
        fc
    }
}

/// Checks `outcome`, applied to the areas of `index`, with `rules` and `excluded` ground; the problems of
/// the touched families are judged against the same families before the plan (see the module docs).
pub fn check(
    index: &AreaIndex,
    outcome: &PlanOutcome,
    rules: &ValidationRules,
    excluded: &[ExcludedGround],
) -> Judged {
    let touched = outcome.touched_in(index);
    let after = validate_excluding(
        &outcome.validation_scope(index, &touched),
        &touched,
        rules,
        excluded,
    );
    if after.is_empty() {
        return Judged::default();
    }
    let (scope, touched_before) = outcome.scope_before(index, &touched);
    let before = validate_excluding(&scope, &touched_before, rules, excluded);
    judge(&before, after, rules)
}

/// Sorts the problems `after` a plan into new and existing ones against those `before` it, over the same
/// families (see the module docs).
///
/// ```
/// use geo_types::{Geometry, Rect, coord};
/// use gridmap_core::plan::{Problem, ProblemKind, ValidationRules, judge};
/// let rect = |x0: f64, x1: f64| Rect::new(coord! {x: x0, y: 33.0}, coord! {x: x1, y: 33.001}).to_polygon();
/// let gap = |x0, x1| Problem { kind: ProblemKind::Gap, codes: vec!["c".into()], message: "gap".into(),
///     area_m2: None, geometry: Some(Geometry::Polygon(rect(x0, x1))), location: None };
/// let rules = ValidationRules::default();
/// // The same river before and after: existing.
/// let same = judge(&[gap(114.0, 114.01)], vec![gap(114.0, 114.01)], &rules);
/// assert_eq!((same.new.len(), same.existing.len()), (0, 1));
/// // The river grew by a strip 0.001° wide (about 93 m × 111 m): new, and only the strip is drawn.
/// let grown = judge(&[gap(114.0, 114.01)], vec![gap(114.0, 114.011)], &rules);
/// assert_eq!((grown.new.len(), grown.existing.len()), (1, 1));
/// let strip = grown.new[0].area_m2.unwrap();
/// assert!((strip - 10_300.0).abs() < 300.0, "{strip}");
/// ```
pub fn judge(before: &[Problem], after: Vec<Problem>, rules: &ValidationRules) -> Judged {
    let mut judged = Judged::default();
    let mut prior: Vec<(ProblemKind, MultiPolygon<f64>)> = Vec::new();
    for problem in after {
        let kind = problem.kind;
        let verdict = match kind {
            ProblemKind::Gap | ProblemKind::Overlap | ProblemKind::OutsideParent => {
                let i = prior
                    .iter()
                    .position(|(k, _)| *k == kind)
                    .unwrap_or_else(|| {
                        prior.push((kind, ground_of(before, kind)));
                        prior.len() - 1
                    });
                grown(problem, &prior[i].1, rules)
            }
            _ => {
                if was_there(before, &problem) {
                    Verdict::Existing(problem)
                } else {
                    Verdict::New(problem)
                }
            }
        };
        match verdict {
            Verdict::New(p) => judged.new.push(p),
            Verdict::Existing(p) => judged.existing.push(p),
            Verdict::Grown { new, existing } => {
                judged.new.push(new);
                judged.existing.push(existing);
            }
        }
    }
    judged
}

enum Verdict {
    New(Problem),
    Existing(Problem),
    /// A problem that was there before and grew: the added ground (new) and the rest (existing).
    Grown {
        new: Problem,
        existing: Problem,
    },
}

/// The union of the ground of every problem of `kind`.
fn ground_of(problems: &[Problem], kind: ProblemKind) -> MultiPolygon<f64> {
    let polygons: Vec<&Polygon<f64>> = problems
        .iter()
        .filter(|p| p.kind == kind)
        .flat_map(|p| match &p.geometry {
            Some(Geometry::Polygon(p)) => std::slice::from_ref(p),
            Some(Geometry::MultiPolygon(mp)) => mp.0.as_slice(),
            _ => &[],
        })
        .collect();
    if polygons.is_empty() {
        MultiPolygon(Vec::new())
    } else {
        unary_union(polygons)
    }
}

/// A geometric problem against the ground of its kind before the plan: existing when it adds none beyond
/// the tolerances, new when all of it is new ground, else grown: the added ground new, the rest existing.
fn grown(problem: Problem, before: &MultiPolygon<f64>, rules: &ValidationRules) -> Verdict {
    let ground = match &problem.geometry {
        Some(Geometry::Polygon(p)) => MultiPolygon(vec![p.clone()]),
        Some(Geometry::MultiPolygon(mp)) => mp.clone(),
        _ => return Verdict::New(problem),
    };
    if before.0.is_empty() {
        return Verdict::New(problem);
    }
    let added = ground.difference(before);
    let (parts, area) = if problem.kind == ProblemKind::Gap {
        let (wide, _) = parts_wider_than(&added, NOISE_WIDTH_M);
        let parts: Vec<Polygon<f64>> = wide
            .0
            .into_iter()
            .filter(|p| polygon_area_m2(p) > rules.gap_tolerance_m2)
            .collect();
        let area = parts.iter().map(polygon_area_m2).sum();
        (MultiPolygon(parts), area)
    } else {
        parts_wider_than(&added, rules.overlap_tolerance_m)
    };
    if parts.0.is_empty() {
        return Verdict::Existing(problem);
    }
    let whole = problem
        .area_m2
        .unwrap_or_else(|| ground.0.iter().map(polygon_area_m2).sum());
    if area >= whole * 0.999 {
        // All of it is new ground: the problem as found.
        return Verdict::New(problem);
    }
    let kept = MultiPolygon(ground.intersection(before).0);
    Verdict::Grown {
        new: Problem {
            message: format!(
                "the plan adds {area:.1} m² to a problem that was there before: {}",
                problem.message
            ),
            area_m2: Some(area),
            location: location(&parts),
            geometry: Some(Geometry::MultiPolygon(parts)),
            ..problem.clone()
        },
        existing: Problem {
            message: format!(
                "{:.1} m² of it were there before the plan: {}",
                whole - area,
                problem.message
            ),
            area_m2: Some(whole - area),
            location: location(&kept).or(problem.location),
            geometry: Some(Geometry::MultiPolygon(kept)),
            ..problem
        },
    }
}

/// Was the same non-geometric problem there before, no worse?
fn was_there(before: &[Problem], problem: &Problem) -> bool {
    let codes: BTreeSet<&String> = problem.codes.iter().collect();
    before.iter().any(|b| {
        b.kind == problem.kind
            && b.codes.iter().collect::<BTreeSet<_>>() == codes
            && match problem.kind {
                // The plan left that boundary as it was.
                ProblemKind::InvalidGeometry => b.geometry == problem.geometry,
                ProblemKind::TooSmall => problem.area_m2 >= b.area_m2.map(|a| a - 1.0),
                ProblemKind::TooLarge => problem.area_m2 <= b.area_m2.map(|a| a + 1.0),
                _ => true,
            }
    })
}

/// The bounding box of the changed and retired areas, before and after, widened to the exclusive grids it
/// meets (whose ordinary grids the impact lists in full); `None` when the plan changes nothing.
pub fn affected_extent(index: &AreaIndex, outcome: &PlanOutcome) -> Option<Rect<f64>> {
    let old = outcome
        .changed
        .iter()
        .map(|a| &a.code)
        .chain(&outcome.retired)
        .filter_map(|c| index.by_code(c))
        .map(|id| index.area(id).geometry.bounding_rect());
    let new = outcome.changed.iter().map(|a| a.geometry.bounding_rect());
    let extent = old.chain(new).flatten().reduce(union_rect)?;
    Some(
        index
            .areas()
            .iter()
            .filter(|a| a.is_exclusive())
            .filter_map(|a| a.geometry.bounding_rect())
            .filter(|r| r.intersects(&extent))
            .fold(extent, union_rect),
    )
}

/// Codes of existing areas the outcome changes or retires, sorted.
pub fn existing_touched(index: &AreaIndex, outcome: &PlanOutcome) -> Vec<String> {
    let codes: BTreeSet<&String> = outcome
        .changed
        .iter()
        .map(|a| &a.code)
        .chain(&outcome.retired)
        .filter(|c| index.by_code(c).is_some())
        .collect();
    codes.into_iter().cloned().collect()
}

/// The impact of `outcome` measured inside `extent` only: nothing outside the changed areas' old and new
/// extent changes grid, so the areas, addresses and open reports there are all it needs.
pub fn local_impact(
    areas: &[Area],
    outcome: &PlanOutcome,
    extent: Option<Rect<f64>>,
    addresses: &[Address],
    open_reports: &[(i64, Coord<f64>)],
) -> Impact {
    let inside = |r: Rect<f64>| extent.is_some_and(|e| e.intersects(&r));
    let local: Vec<Area> = areas
        .iter()
        .filter(|a| a.geometry.bounding_rect().is_some_and(inside))
        .cloned()
        .collect();
    let after = outcome.areas_after(&local);
    let addresses: Vec<Address> = addresses
        .iter()
        .filter(|a| inside(Rect::new(a.point.0, a.point.0)))
        .cloned()
        .collect();
    let reports: Vec<(i64, Coord<f64>)> = open_reports
        .iter()
        .filter(|(_, p)| inside(Rect::new(*p, *p)))
        .copied()
        .collect();
    impact(
        &AreaIndex::build(local),
        &AreaIndex::build(after),
        &addresses,
        &reports,
    )
}
