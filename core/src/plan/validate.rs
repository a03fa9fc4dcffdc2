//! Checks of a plan's result: the rules a redrawing must keep so that every point has exactly one grid.
//!
//! Rules, for the touched areas, their siblings and parents (and the touched areas' own children):
//! valid geometry ([`crate::validate`]); every child inside its parent; no overlap between ordinary siblings;
//! the parent covered by its ordinary children; minimum and maximum areas of ordinary grids (touched ones and
//! their siblings); optionally codes in west→east, north→south order; and no child left with a parent that is gone.
//!
//! Tolerances: an overlap or a part outside the parent counts when its mean width (2·area / perimeter: the
//! width of a strip) exceeds `overlap_tolerance_m`, so digitising slivers along a shared border pass however
//! long they are; a gap counts when its area exceeds `gap_tolerance_m2`. Exclusive grids (专属网格) overlay the
//! ordinary ones by design: they are exempt from overlap, coverage and area rules, not from staying inside
//! their parent.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use geo::{BooleanOps, BoundingRect, InteriorPoint, Intersects, unary_union};
use geo_types::{Coord, Geometry, MultiPolygon, Polygon};
use serde::{Deserialize, Serialize};

use super::geometry::{parts_wider_than, polygon_area_m2};
use super::renumber::spatial_order;
use super::wire;
use crate::{Area, ExcludedGround, Level, geodesy};

/// What rule a problem breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// Not a valid polygon (self-intersection, bad ring, ...): the other geometric rules skip this area.
    InvalidGeometry,
    /// Part of a child lies outside its parent. `codes`: child, parent.
    OutsideParent,
    /// Two ordinary siblings overlap. `codes`: the two.
    Overlap,
    /// Part of a parent that none of its ordinary children covers. `codes`: the parent.
    Gap,
    TooSmall,
    TooLarge,
    /// Codes are not in west→east, north→south order. `codes`: the children in the expected order.
    Order,
    /// A child whose parent no longer exists. `codes`: child, missing parent.
    MissingParent,
}

/// One broken rule, located.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    pub kind: ProblemKind,
    pub codes: Vec<String>,
    pub message: String,
    /// The area concerned in m²: of the overlap, gap, outside part, or of the grid for size rules.
    pub area_m2: Option<f64>,
    /// Where to draw it: the overlap, gap or outside part, or the area itself.
    #[serde(with = "wire::geometry_opt")]
    pub geometry: Option<Geometry<f64>>,
    /// A point inside the problem, for a marker (slivers can be too thin to see).
    #[serde(with = "wire::position_opt")]
    pub location: Option<Coord<f64>>,
}

/// Default of [`ValidationRules::overlap_tolerance_m`].
pub const DEFAULT_OVERLAP_TOLERANCE_M: f64 = 1.0;
/// Default of [`ValidationRules::gap_tolerance_m2`].
pub const DEFAULT_GAP_TOLERANCE_M2: f64 = 1.0;

/// Thresholds of the rules. The field names are the ones of the server's `--plan-*` flags and of a plan's
/// `rules` object.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ValidationRules {
    /// Overlaps and parts outside the parent narrower than this on average are tolerated, in metres.
    pub overlap_tolerance_m: f64,
    /// Gaps smaller than this are tolerated, in m².
    pub gap_tolerance_m2: f64,
    /// Ordinary grids smaller than this are reported (`too_small`), in m².
    pub min_grid_area_m2: Option<f64>,
    /// Ordinary grids larger than this are reported (`too_large`), in m².
    pub max_grid_area_m2: Option<f64>,
    /// Check that codes run west→east, north→south inside each parent (`order`).
    pub check_numbering: bool,
}

impl Default for ValidationRules {
    fn default() -> Self {
        ValidationRules {
            overlap_tolerance_m: DEFAULT_OVERLAP_TOLERANCE_M,
            gap_tolerance_m2: DEFAULT_GAP_TOLERANCE_M2,
            min_grid_area_m2: None,
            max_grid_area_m2: None,
            check_numbering: false,
        }
    }
}

impl ValidationRules {
    /// What is wrong with these thresholds, as `(field, reason)`: tolerances and areas must be finite and
    /// ≥ 0, and the minimum area not above the maximum (reported on the minimum).
    pub fn defects(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let mut check = |field: &'static str, value: f64| {
            if !(value.is_finite() && value >= 0.0) {
                out.push((field, format!("must be a finite number ≥ 0, not {value}")));
            }
        };
        check("overlap_tolerance_m", self.overlap_tolerance_m);
        check("gap_tolerance_m2", self.gap_tolerance_m2);
        if let Some(min) = self.min_grid_area_m2 {
            check("min_grid_area_m2", min);
        }
        if let Some(max) = self.max_grid_area_m2 {
            check("max_grid_area_m2", max);
        }
        if let (Some(min), Some(max)) = (self.min_grid_area_m2, self.max_grid_area_m2)
            && min > max
        {
            out.push((
                "min_grid_area_m2",
                format!("the minimum {min} m² is above the maximum {max} m²"),
            ));
        }
        out
    }
}

/// A plan's own thresholds over the server's: each field given replaces the server's value. On the wire an
/// object with the fields of [`ValidationRules`], any of them left out; `null` for an area limit means no
/// limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[allow(
    clippy::option_option,
    reason = "an area limit is left out (the server's), null (none) or a number"
)]
pub struct PlanRules {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overlap_tolerance_m: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gap_tolerance_m2: Option<f64>,
    /// `Some(None)`: no minimum, whatever the server's.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "given"
    )]
    pub min_grid_area_m2: Option<Option<f64>>,
    /// `Some(None)`: no maximum, whatever the server's.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "given"
    )]
    pub max_grid_area_m2: Option<Option<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_numbering: Option<bool>,
}

/// A field present on the wire (even as `null`) is `Some`; serde's `default` makes an absent one `None`.
#[allow(clippy::option_option, reason = "see PlanRules")]
fn given<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<f64>>, D::Error> {
    Option::<f64>::deserialize(d).map(Some)
}

impl PlanRules {
    /// The thresholds a plan is checked with: `defaults` (the server's) with this plan's fields over them.
    pub fn over(&self, defaults: &ValidationRules) -> ValidationRules {
        ValidationRules {
            overlap_tolerance_m: self
                .overlap_tolerance_m
                .unwrap_or(defaults.overlap_tolerance_m),
            gap_tolerance_m2: self.gap_tolerance_m2.unwrap_or(defaults.gap_tolerance_m2),
            min_grid_area_m2: self.min_grid_area_m2.unwrap_or(defaults.min_grid_area_m2),
            max_grid_area_m2: self.max_grid_area_m2.unwrap_or(defaults.max_grid_area_m2),
            check_numbering: self.check_numbering.unwrap_or(defaults.check_numbering),
        }
    }
}

/// Checks the areas after a plan around the `touched` codes (created, modified or retired ones).
///
/// ```
/// use geo_types::{MultiPolygon, Rect, coord};
/// use gridmap_core::plan::{ProblemKind, ValidationRules, validate};
/// use gridmap_core::{Area, Level, geodesy::area_m2};
/// let rect = |x0: f64, x1: f64| MultiPolygon(vec![Rect::new(coord! {x: x0, y: 33.0}, coord! {x: x1, y: 33.01}).to_polygon()]);
/// let area = |code: &str, level, parent: Option<&str>, g| Area { code: code.into(), name: code.into(), level,
///     kind: None, parent: parent.map(Into::into), geometry: g, staff: vec![] };
/// // The community spans 114.00-114.02; its two grids leave 114.01-114.011 uncovered.
/// let areas = [
///     area("c", Level::Community, None, rect(114.0, 114.02)),
///     area("g1", Level::Grid, Some("c"), rect(114.0, 114.01)),
///     area("g2", Level::Grid, Some("c"), rect(114.011, 114.02)),
/// ];
/// let problems = validate(&areas, &["g1".into()], &ValidationRules::default());
/// assert_eq!(problems.len(), 1);
/// assert_eq!(problems[0].kind, ProblemKind::Gap);
/// let expected = area_m2(&rect(114.01, 114.011));
/// assert!((problems[0].area_m2.unwrap() / expected - 1.0).abs() < 1e-6);
/// ```
pub fn validate(areas_after: &[Area], touched: &[String], rules: &ValidationRules) -> Vec<Problem> {
    validate_excluding(areas_after, touched, rules, &[])
}

/// [`validate`] with ground that no grid takes by design (rivers, rail yards, see [`ExcludedGround`]): a part
/// of a parent under `excluded` ground is no gap.
pub fn validate_excluding(
    areas_after: &[Area],
    touched: &[String],
    rules: &ValidationRules,
    excluded: &[ExcludedGround],
) -> Vec<Problem> {
    let by_code: HashMap<&str, &Area> = areas_after.iter().map(|a| (a.code.as_str(), a)).collect();
    let mut children: HashMap<&str, Vec<&Area>> = HashMap::new();
    for a in areas_after {
        if let Some(p) = &a.parent {
            children.entry(p.as_str()).or_default().push(a);
        }
    }
    for list in children.values_mut() {
        list.sort_by(|a, b| a.code.cmp(&b.code));
    }
    // Families to check, by parent code: the touched areas' parents, and the touched areas themselves.
    let mut families: BTreeSet<&str> = BTreeSet::new();
    let mut sized: BTreeSet<&str> = BTreeSet::new();
    let mut problems = Vec::new();
    for code in touched {
        match by_code.get(code.as_str()) {
            Some(a) => {
                families.insert(a.code.as_str());
                match a.parent.as_deref() {
                    Some(p) => {
                        families.insert(p);
                        sized.extend(
                            children
                                .get(p)
                                .into_iter()
                                .flatten()
                                .map(|s| s.code.as_str()),
                        );
                    }
                    None => {
                        sized.insert(a.code.as_str());
                    }
                }
            }
            None => {
                for orphan in children.get(code.as_str()).into_iter().flatten() {
                    problems.push(missing_parent(orphan, code));
                }
            }
        }
    }
    // Geometry first: the other rules run only on valid areas.
    let mut checked: BTreeMap<String, bool> = BTreeMap::new();
    let mut valid = |a: &Area, problems: &mut Vec<Problem>| -> bool {
        *checked.entry(a.code.clone()).or_insert_with(|| {
            let result =
                crate::validate::validate_boundary(&Geometry::MultiPolygon(a.geometry.clone()));
            if let Err(defects) = &result {
                problems.push(invalid_geometry(a, defects));
            }
            result.is_ok()
        })
    };
    for parent_code in &families {
        let family = children.get(parent_code).map_or(&[][..], Vec::as_slice);
        let parent = by_code.get(parent_code).copied();
        let parent_ok = parent.is_some_and(|p| valid(p, &mut problems));
        let ok: Vec<&Area> = family
            .iter()
            .copied()
            .filter(|c| valid(c, &mut problems))
            .collect();
        if let Some(parent) = parent.filter(|_| parent_ok) {
            for child in &ok {
                problems.extend(outside_parent(child, parent, rules));
            }
            let ordinary: Vec<&Area> = ok.iter().copied().filter(|c| !c.is_exclusive()).collect();
            if !ordinary.is_empty()
                && ordinary.len() == family.iter().filter(|c| !c.is_exclusive()).count()
            {
                problems.extend(gaps(parent, &ordinary, rules, excluded));
            }
        }
        problems.extend(overlaps(&ok, rules));
        if rules.check_numbering {
            problems.extend(order(parent_code, family));
        }
    }
    for code in &sized {
        if let Some(a) = by_code.get(code).copied()
            && a.level == Level::Grid
            && !a.is_exclusive()
            && valid(a, &mut problems)
        {
            problems.extend(size(a, rules));
        }
    }
    problems
}

fn missing_parent(orphan: &Area, parent: &str) -> Problem {
    Problem {
        kind: ProblemKind::MissingParent,
        codes: vec![orphan.code.clone(), parent.to_owned()],
        message: format!(
            "{} ({}) belongs to {parent}, which the plan removes, and no new area holds it",
            orphan.name, orphan.code
        ),
        area_m2: None,
        geometry: Some(Geometry::MultiPolygon(orphan.geometry.clone())),
        location: super::pole(&orphan.geometry),
    }
}

fn invalid_geometry(a: &Area, defects: &[crate::validate::Defect]) -> Problem {
    let reasons: Vec<String> = defects.iter().map(ToString::to_string).collect();
    Problem {
        kind: ProblemKind::InvalidGeometry,
        codes: vec![a.code.clone()],
        message: format!(
            "{} ({}) has an invalid boundary: {}",
            a.name,
            a.code,
            reasons.join("; ")
        ),
        area_m2: None,
        geometry: Some(Geometry::MultiPolygon(a.geometry.clone())),
        location: a.geometry.interior_point().map(|p| p.0),
    }
}

/// A point inside the largest part of `mp`.
pub(super) fn location(mp: &MultiPolygon<f64>) -> Option<Coord<f64>> {
    mp.0.iter()
        .max_by(|a, b| polygon_area_m2(a).total_cmp(&polygon_area_m2(b)))
        .and_then(InteriorPoint::interior_point)
        .map(|p| p.0)
}

fn outside_parent(child: &Area, parent: &Area, rules: &ValidationRules) -> Option<Problem> {
    let outside = child.geometry.difference(&parent.geometry);
    let (parts, area) = parts_wider_than(&outside, rules.overlap_tolerance_m);
    (!parts.0.is_empty()).then(|| Problem {
        kind: ProblemKind::OutsideParent,
        codes: vec![child.code.clone(), parent.code.clone()],
        message: format!(
            "{} ({}) reaches {area:.1} m² outside its parent {} ({})",
            child.name, child.code, parent.name, parent.code
        ),
        area_m2: Some(area),
        location: location(&parts),
        geometry: Some(Geometry::MultiPolygon(parts)),
    })
}

fn overlaps(siblings: &[&Area], rules: &ValidationRules) -> Vec<Problem> {
    let ordinary: Vec<(&Area, geo_types::Rect<f64>)> = siblings
        .iter()
        .filter(|a| !a.is_exclusive())
        .filter_map(|a| Some((*a, a.geometry.bounding_rect()?)))
        .collect();
    let mut problems = Vec::new();
    for (i, (a, ra)) in ordinary.iter().enumerate() {
        for (b, rb) in &ordinary[i + 1..] {
            if a.level != b.level || !ra.intersects(rb) {
                continue;
            }
            let shared = a.geometry.intersection(&b.geometry);
            let (parts, area) = parts_wider_than(&shared, rules.overlap_tolerance_m);
            if parts.0.is_empty() {
                continue;
            }
            problems.push(Problem {
                kind: ProblemKind::Overlap,
                codes: vec![a.code.clone(), b.code.clone()],
                message: format!(
                    "{} ({}) and {} ({}) both claim {area:.1} m²",
                    a.name, a.code, b.name, b.code
                ),
                area_m2: Some(area),
                location: location(&parts),
                geometry: Some(Geometry::MultiPolygon(parts)),
            });
        }
    }
    problems
}

/// One problem per uncovered part of the parent above the tolerance; excluded ground is covered by design.
fn gaps(
    parent: &Area,
    ordinary: &[&Area],
    rules: &ValidationRules,
    excluded: &[ExcludedGround],
) -> Vec<Problem> {
    let extent = parent.geometry.bounding_rect();
    let near = |g: &&ExcludedGround| {
        g.geometry
            .bounding_rect()
            .zip(extent)
            .is_some_and(|(a, b)| a.intersects(&b))
    };
    let polygons: Vec<&Polygon<f64>> = ordinary
        .iter()
        .flat_map(|c| &c.geometry.0)
        .chain(excluded.iter().filter(near).flat_map(|g| &g.geometry.0))
        .collect();
    let covered = unary_union(polygons);
    let uncovered = parent.geometry.difference(&covered);
    uncovered
        .0
        .into_iter()
        .filter_map(|part| {
            let area = polygon_area_m2(&part);
            let at = part.interior_point().map(|p| p.0);
            (area > rules.gap_tolerance_m2).then(|| Problem {
                kind: ProblemKind::Gap,
                codes: vec![parent.code.clone()],
                message: format!(
                    "{area:.1} m² of {} ({}) is in none of its grids, around ({:.6}, {:.6})",
                    parent.name,
                    parent.code,
                    at.map_or(f64::NAN, |c| c.x),
                    at.map_or(f64::NAN, |c| c.y)
                ),
                area_m2: Some(area),
                location: at,
                geometry: Some(Geometry::Polygon(part)),
            })
        })
        .collect()
}

fn size(a: &Area, rules: &ValidationRules) -> Option<Problem> {
    let area = geodesy::area_m2(&a.geometry);
    let (kind, limit, word) = match (rules.min_grid_area_m2, rules.max_grid_area_m2) {
        (Some(min), _) if area < min => (ProblemKind::TooSmall, min, "below the minimum"),
        (_, Some(max)) if area > max => (ProblemKind::TooLarge, max, "above the maximum"),
        _ => return None,
    };
    Some(Problem {
        kind,
        codes: vec![a.code.clone()],
        message: format!(
            "{} ({}) has {area:.0} m², {word} of {limit:.0} m²",
            a.name, a.code
        ),
        area_m2: Some(area),
        geometry: Some(Geometry::MultiPolygon(a.geometry.clone())),
        location: super::pole(&a.geometry),
    })
}

fn order(parent: &str, family: &[&Area]) -> Option<Problem> {
    let expected = spatial_order(family);
    let mut by_code = expected.clone();
    by_code.sort();
    (expected != by_code).then(|| Problem {
        kind: ProblemKind::Order,
        message: format!(
            "the grids of {parent} do not run west→east, north→south; expected order: {}",
            expected.join(", ")
        ),
        codes: expected,
        area_m2: None,
        geometry: None,
        location: None,
    })
}

/// Problems as `GeoJSON` features for the page: one feature per problem, its geometry (or its location) and
/// the properties `kind`, `codes`, `message`, `area_m2`, `location`.
pub fn problems_geojson(problems: &[Problem]) -> geojson::FeatureCollection {
    let features = problems
        .iter()
        .map(|p| {
            let geometry = p
                .geometry
                .clone()
                .or_else(|| p.location.map(|c| Geometry::Point(c.into())));
            let mut properties = geojson::JsonObject::new();
            properties.insert("kind".into(), serde_json::json!(p.kind));
            properties.insert("codes".into(), serde_json::json!(p.codes));
            properties.insert("message".into(), serde_json::json!(p.message));
            properties.insert("area_m2".into(), serde_json::json!(p.area_m2));
            properties.insert(
                "location".into(),
                serde_json::json!(p.location.map(|c| [c.x, c.y])),
            );
            geojson::Feature {
                bbox: None,
                geometry: geometry.as_ref().map(wire::geometry_to_geojson),
                id: None,
                properties: Some(properties),
                foreign_members: None,
            }
        })
        .collect();
    geojson::FeatureCollection {
        bbox: None,
        features,
        foreign_members: None,
    }
}
