//! Turning source features into areas: code checks, multipart merging, parents by field or containment,
//! and the validation report. Pure: readers for `GeoJSON`, `GeoPackage` and shapefiles live in the server.

use std::collections::BTreeMap;

use crate::{Area, CodeScheme, Crs, GridKind, Level};

/// One feature as read from a file, before any check.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceFeature {
    /// 0-based position in the source, for the report.
    pub number: usize,
    /// Properties as text (numbers written as the source has them, e.g. `17`).
    pub properties: BTreeMap<String, String>,
    /// `None` when the feature has no geometry.
    pub geometry: Option<geo_types::Geometry<f64>>,
}

/// What the planner asked for on the command line (`gridmap import`) or the API.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportOptions {
    pub level: Level,
    pub code_field: String,
    pub name_field: Option<String>,
    /// Field holding the parent's code; without it parents are found by containment.
    pub parent_field: Option<String>,
    /// Kind for every imported area (grids only); exclusive kinds make exclusive grids.
    pub kind: Option<GridKind>,
    pub scheme: CodeScheme,
    /// CRS of the source coordinates; converted to WGS-84.
    pub crs: Crs,
}

/// What went wrong with one feature or code.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Problem {
    /// 0-based feature number in the source, when one feature is at fault.
    pub feature: Option<usize>,
    pub code: Option<String>,
    /// The field (property or `geometry`) at fault.
    pub field: String,
    pub reason: String,
}

/// The validation report: always produced, success or not.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct ImportReport {
    pub features_read: usize,
    pub areas: usize,
    /// Codes whose features were merged into one `MultiPolygon` (non-overlapping parts of one area).
    pub multipart: Vec<String>,
    /// Codes whose parent was found by containment.
    pub parents_by_containment: usize,
    /// Rings whose winding was corrected (not an error: RFC 7946 asks parsers to accept it).
    pub rewound_rings: usize,
    pub problems: Vec<Problem>,
}

impl ImportReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

mod excluded;
mod parent_shape;

pub use excluded::{ExcludedOptions, prepare_excluded};

use std::collections::HashMap;

use geo::InteriorPoint;
use geo::MapCoords;
use geo_types::{MultiPolygon, Polygon};

use crate::validate::{interiors_overlap, validate_boundary};
use parent_shape::ParentShape;

/// How far a child's vertices may lie outside its parent. Borders digitised twice differ a little:
/// of Chicago's 274 beats, 273 lie within 1 cm of their district and beat 0624 reaches 2.1 m beyond
/// district 6; a child filed under the wrong parent is off by hundreds of metres.
pub const OUTSIDE_PARENT_TOLERANCE_M: f64 = 5.0;

/// A feature that passed the per-feature checks.
struct Parsed {
    number: usize,
    code: String,
    name: String,
    parent_value: Option<String>,
    polygons: Vec<Polygon<f64>>,
}

/// One code's features, merged.
struct Merged {
    code: String,
    name: String,
    parent_value: Option<String>,
    numbers: Vec<usize>,
    polygons: Vec<Polygon<f64>>,
}

fn problem(feature: Option<usize>, code: Option<&str>, field: &str, reason: String) -> Problem {
    Problem {
        feature,
        code: code.map(str::to_owned),
        field: field.to_owned(),
        reason,
    }
}

/// Turns source features into areas of `options.level`, checking everything the report lists.
///
/// Pure and all-or-nothing: any problem returns `Err` with the full report, and nothing is written.
/// `existing` is the store's current tree; parents are looked up there.
pub fn prepare(
    features: Vec<SourceFeature>,
    options: &ImportOptions,
    existing: &[Area],
) -> Result<(Vec<Area>, ImportReport), ImportReport> {
    prepare_with_progress(features, options, existing, &mut |_, _, _| {})
}

/// [`prepare`], telling `progress(stage, done, total)` how far it got (for a progress bar on long imports).
pub fn prepare_with_progress(
    features: Vec<SourceFeature>,
    options: &ImportOptions,
    existing: &[Area],
    progress: &mut dyn FnMut(&'static str, usize, usize),
) -> Result<(Vec<Area>, ImportReport), ImportReport> {
    let total = features.len();
    let mut report = ImportReport {
        features_read: features.len(),
        ..ImportReport::default()
    };
    check_kind(options, &mut report);
    let parsed: Vec<Parsed> = features
        .into_iter()
        .enumerate()
        .filter_map(|(i, f)| {
            progress("checking geometries", i + 1, total);
            parse_feature(f, options, &mut report)
        })
        .collect();
    let merged = merge_by_code(parsed, options, &mut report);
    let merged_total = merged.len();
    let parents = Parents::new(existing, options.level);
    let mut shapes: HashMap<String, ParentShape> = HashMap::new();
    let mut areas = Vec::with_capacity(merged.len());
    for (i, m) in merged.into_iter().enumerate() {
        progress("placing in the tree", i + 1, merged_total);
        let geometry = MultiPolygon(m.polygons);
        let first = m.numbers.first().copied();
        let parent = match (&options.parent_field, &m.parent_value) {
            (Some(field), Some(value)) => match parents.by_code(value, options.scheme) {
                Ok(p) => Some(p),
                Err(reason) => {
                    report
                        .problems
                        .push(problem(first, Some(&m.code), field, reason));
                    continue;
                }
            },
            _ => match parents.by_containment(&geometry, &mut shapes) {
                Ok(p) => {
                    report.parents_by_containment += usize::from(p.is_some());
                    p
                }
                Err(reason) => {
                    report
                        .problems
                        .push(problem(first, Some(&m.code), "geometry", reason));
                    continue;
                }
            },
        };
        if let Err(e) = options.scheme.check(
            &m.code,
            options.level,
            parent.as_ref().map(|p| p.code.as_str()),
        ) {
            report.problems.push(problem(
                first,
                Some(&m.code),
                &options.code_field,
                e.to_string(),
            ));
        }
        if let Some(p) = parent {
            let shape = shapes
                .entry(p.code.clone())
                .or_insert_with(|| ParentShape::new(&p.geometry));
            let outside_m = shape.max_outside_m(&geometry);
            if outside_m > OUTSIDE_PARENT_TOLERANCE_M {
                report.problems.push(problem(
                    first,
                    Some(&m.code),
                    "geometry",
                    format!(
                        "{} `{}` lies outside its parent {} `{}` by up to {outside_m:.1} m (tolerance {OUTSIDE_PARENT_TOLERANCE_M} m)",
                        options.level, m.code, p.level, p.code
                    ),
                ));
            }
        }
        areas.push(Area {
            code: m.code,
            name: m.name,
            level: options.level,
            kind: options.kind,
            parent: parent.map(|p| p.code.clone()),
            geometry,
            staff: Vec::new(),
        });
    }
    report.areas = areas.len();
    if report.is_ok() {
        Ok((areas, report))
    } else {
        Err(report)
    }
}

fn check_kind(options: &ImportOptions, report: &mut ImportReport) {
    let Some(kind) = options.kind else { return };
    let reason = if kind.is_exclusive() && options.level != Level::Grid {
        format!(
            "exclusive kind `{kind}` is only for the grid level, not {}",
            options.level
        )
    } else if options.level < Level::Grid {
        format!("kinds are for grids and micro-grids, not {}", options.level)
    } else {
        return;
    };
    report.problems.push(problem(None, None, "kind", reason));
}

/// Per-feature checks: code, name, parent field, geometry; converts coordinates to WGS-84.
fn parse_feature(
    f: SourceFeature,
    options: &ImportOptions,
    report: &mut ImportReport,
) -> Option<Parsed> {
    let n = Some(f.number);
    let code = match f.properties.get(&options.code_field).map(|c| c.trim()) {
        None => {
            report.problems.push(problem(
                n,
                None,
                &options.code_field,
                format!("missing code field `{}`", options.code_field),
            ));
            None
        }
        Some("") => {
            report.problems.push(problem(
                n,
                None,
                &options.code_field,
                format!("empty code in field `{}`", options.code_field),
            ));
            None
        }
        Some(c) => Some(c.to_owned()),
    };
    let code_ref = code.as_deref();
    let mut ok = code.is_some();
    let name = match &options.name_field {
        None => code.clone().unwrap_or_default(),
        Some(field) => {
            if let Some(name) = f.properties.get(field) {
                name.trim().to_owned()
            } else {
                report.problems.push(problem(
                    n,
                    code_ref,
                    field,
                    format!("missing name field `{field}`"),
                ));
                ok = false;
                String::new()
            }
        }
    };
    let parent_value = match &options.parent_field {
        None => None,
        Some(field) => match f.properties.get(field).map(|v| v.trim()) {
            Some(v) if !v.is_empty() => Some(v.to_owned()),
            _ => {
                report.problems.push(problem(
                    n,
                    code_ref,
                    field,
                    format!("missing parent field `{field}`"),
                ));
                ok = false;
                None
            }
        },
    };
    let polygons = boundary(f.geometry, options.crs, n, code_ref, report)?;
    Some(Parsed {
        number: f.number,
        code: code?,
        name,
        parent_value,
        polygons: polygons.0,
    })
    .filter(|_| ok)
}

/// A feature's boundary checked ([`validate_boundary`], rings rewound and counted) and converted from `crs`
/// to WGS-84; `None` with the problems reported when it is missing or invalid.
fn boundary(
    geometry: Option<geo_types::Geometry<f64>>,
    crs: crate::Crs,
    n: Option<usize>,
    code: Option<&str>,
    report: &mut ImportReport,
) -> Option<MultiPolygon<f64>> {
    let Some(geometry) = geometry else {
        report
            .problems
            .push(problem(n, code, "geometry", "missing geometry".to_owned()));
        return None;
    };
    match validate_boundary(&geometry) {
        Ok(valid) => {
            report.rewound_rings += valid.rewound_rings;
            Some(if crs == crate::Crs::Wgs84 {
                valid.geometry
            } else {
                valid.geometry.map_coords(|c| crs.to_wgs84(c))
            })
        }
        Err(defects) => {
            for d in defects {
                report
                    .problems
                    .push(problem(n, code, "geometry", d.to_string()));
            }
            None
        }
    }
}

/// Groups features by code: non-overlapping features with the same attributes are parts of one area.
fn merge_by_code(
    parsed: Vec<Parsed>,
    options: &ImportOptions,
    report: &mut ImportReport,
) -> Vec<Merged> {
    let mut merged: Vec<Merged> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    // Which feature each polygon of a merged area came from, for the overlap check.
    let mut owners: Vec<Vec<usize>> = Vec::new();
    for p in parsed {
        let Some(&i) = index.get(&p.code) else {
            index.insert(p.code.clone(), merged.len());
            owners.push(vec![p.number; p.polygons.len()]);
            merged.push(Merged {
                code: p.code,
                name: p.name,
                parent_value: p.parent_value,
                numbers: vec![p.number],
                polygons: p.polygons,
            });
            continue;
        };
        let m = &mut merged[i];
        let first = m.numbers[0];
        if m.name != p.name {
            let field = options.name_field.as_deref().unwrap_or("name");
            report.problems.push(problem(
                Some(p.number),
                Some(&p.code),
                field,
                format!(
                    "features {first} and {} share code `{}` but differ in name (`{}` vs `{}`)",
                    p.number, p.code, m.name, p.name
                ),
            ));
        }
        if m.parent_value != p.parent_value {
            let field = options.parent_field.as_deref().unwrap_or("parent");
            report.problems.push(problem(
                Some(p.number),
                Some(&p.code),
                field,
                format!(
                    "features {first} and {} share code `{}` but differ in parent (`{}` vs `{}`)",
                    p.number,
                    p.code,
                    m.parent_value.as_deref().unwrap_or(""),
                    p.parent_value.as_deref().unwrap_or("")
                ),
            ));
        }
        for new in &p.polygons {
            for (old, &owner) in m.polygons.iter().zip(&owners[i]) {
                if interiors_overlap(old, new) {
                    report.problems.push(problem(
                        Some(p.number),
                        Some(&p.code),
                        "geometry",
                        format!(
                            "features {owner} and {} share code `{}` and overlap; parts of one area must not overlap",
                            p.number, p.code
                        ),
                    ));
                }
            }
        }
        owners[i].extend(std::iter::repeat_n(p.number, p.polygons.len()));
        m.numbers.push(p.number);
        m.polygons.extend(p.polygons);
    }
    report.multipart = merged
        .iter()
        .filter(|m| m.numbers.len() > 1)
        .map(|m| m.code.clone())
        .collect();
    merged
}

/// The existing areas that may be parents: those of levels coarser than the imported one.
struct Parents<'a> {
    /// Coarser levels present, finest first, with their areas.
    levels: Vec<(Level, Vec<&'a Area>)>,
    by_code: HashMap<&'a str, &'a Area>,
    level: Level,
    all: HashMap<&'a str, &'a Area>,
}

impl<'a> Parents<'a> {
    fn new(existing: &'a [Area], level: Level) -> Parents<'a> {
        let mut levels: Vec<(Level, Vec<&Area>)> = Vec::new();
        for l in Level::ALL.into_iter().filter(|&l| l < level).rev() {
            let at: Vec<&Area> = existing.iter().filter(|a| a.level == l).collect();
            if !at.is_empty() {
                levels.push((l, at));
            }
        }
        let by_code = levels
            .iter()
            .flat_map(|(_, areas)| areas.iter().map(|a| (a.code.as_str(), *a)))
            .collect();
        let all = existing.iter().map(|a| (a.code.as_str(), a)).collect();
        Parents {
            levels,
            by_code,
            level,
            all,
        }
    }

    /// The parent named by a field. Verbatim ids that are all digits also match by value, so a beat's
    /// `DISTRICT` of `01` finds district `1`; an exact match always wins.
    fn by_code(&self, value: &str, scheme: CodeScheme) -> Result<&'a Area, String> {
        if let Some(a) = self.by_code.get(value) {
            return Ok(a);
        }
        if scheme == CodeScheme::Verbatim && value.bytes().all(|b| b.is_ascii_digit()) {
            let trimmed = value.trim_start_matches('0');
            let mut same: Vec<&&Area> = self
                .by_code
                .iter()
                .filter(|(c, _)| {
                    c.bytes().all(|b| b.is_ascii_digit()) && c.trim_start_matches('0') == trimmed
                })
                .map(|(_, a)| a)
                .collect();
            if same.len() == 1
                && let Some(a) = same.pop()
            {
                return Ok(a);
            }
        }
        Err(match self.all.get(value) {
            Some(a) => format!(
                "missing parent: `{value}` is a {}, not a level coarser than {}",
                a.level, self.level
            ),
            None => format!(
                "missing parent: no area coarser than {} has code `{value}`",
                self.level
            ),
        })
    }

    /// The area of the finest coarser level whose boundary contains the child's interior point;
    /// `None` when the store has no coarser level at all.
    fn by_containment(
        &self,
        child: &MultiPolygon<f64>,
        shapes: &mut HashMap<String, ParentShape>,
    ) -> Result<Option<&'a Area>, String> {
        if self.levels.is_empty() {
            return Ok(None);
        }
        let Some(point) = child.interior_point() else {
            return Err("has no interior point".to_owned());
        };
        for (_, areas) in &self.levels {
            for a in areas {
                let Some(rect) = geo::BoundingRect::bounding_rect(&a.geometry) else {
                    continue;
                };
                let c = point.0;
                if c.x < rect.min().x
                    || c.x > rect.max().x
                    || c.y < rect.min().y
                    || c.y > rect.max().y
                {
                    continue;
                }
                let shape = shapes
                    .entry(a.code.clone())
                    .or_insert_with(|| ParentShape::new(&a.geometry));
                if shape.contains(c) {
                    return Ok(Some(a));
                }
            }
        }
        let names: Vec<&str> = self.levels.iter().map(|(l, _)| l.as_str()).collect();
        Err(format!(
            "missing parent: lies outside every existing {} (interior point {:.6}, {:.6})",
            names.join(" and "),
            point.x(),
            point.y()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{Geometry, LineString, polygon};

    fn square(x0: f64, y0: f64, side: f64) -> Polygon<f64> {
        polygon![
            (x: x0, y: y0), (x: x0 + side, y: y0), (x: x0 + side, y: y0 + side), (x: x0, y: y0 + side), (x: x0, y: y0),
        ]
    }

    fn feature(
        number: usize,
        props: &[(&str, &str)],
        geometry: Option<Polygon<f64>>,
    ) -> SourceFeature {
        SourceFeature {
            number,
            properties: props
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            geometry: geometry.map(Geometry::Polygon),
        }
    }

    fn options(level: Level, parent_field: Option<&str>) -> ImportOptions {
        ImportOptions {
            level,
            code_field: "id".to_owned(),
            name_field: None,
            parent_field: parent_field.map(str::to_owned),
            kind: None,
            scheme: CodeScheme::Verbatim,
            crs: Crs::Wgs84,
        }
    }

    fn district(code: &str, shape: Polygon<f64>) -> Area {
        Area {
            code: code.to_owned(),
            name: code.to_owned(),
            level: Level::District,
            kind: None,
            parent: None,
            geometry: MultiPolygon(vec![shape]),
            staff: Vec::new(),
        }
    }

    fn reasons(report: &ImportReport) -> String {
        report
            .problems
            .iter()
            .map(|p| format!("[{:?} {} {}]", p.feature, p.field, p.reason))
            .collect::<Vec<_>>()
            .concat()
    }

    /// Two districts side by side: `1` over x 0..1, `2` over x 1..2 (degrees near the equator).
    fn two_districts() -> Vec<Area> {
        vec![
            district("1", square(0.0, 0.0, 1.0)),
            district("2", square(1.0, 0.0, 1.0)),
        ]
    }

    #[test]
    fn parents_by_containment_skip_missing_levels() {
        let features = vec![
            feature(0, &[("id", "a")], Some(square(0.2, 0.2, 0.1))),
            feature(1, &[("id", "b")], Some(square(1.2, 0.2, 0.1))),
        ];
        let (areas, report) =
            prepare(features, &options(Level::Grid, None), &two_districts()).expect("valid");
        assert_eq!(areas[0].parent.as_deref(), Some("1"));
        assert_eq!(areas[1].parent.as_deref(), Some("2"));
        assert_eq!(report.parents_by_containment, 2);
        // No coarser level at all: roots.
        let (areas, _) = prepare(
            vec![feature(0, &[("id", "a")], Some(square(0.2, 0.2, 0.1)))],
            &options(Level::Grid, None),
            &[],
        )
        .expect("valid");
        assert_eq!(areas[0].parent, None);
    }

    #[test]
    fn parent_field_matches_digits_by_value_and_reports_missing_parents() {
        let features = vec![feature(
            0,
            &[("id", "0101"), ("d", "01")],
            Some(square(0.2, 0.2, 0.1)),
        )];
        let (areas, report) =
            prepare(features, &options(Level::Grid, Some("d")), &two_districts()).expect("valid");
        assert_eq!(areas[0].parent.as_deref(), Some("1"));
        assert_eq!(report.parents_by_containment, 0);
        let features = vec![feature(
            0,
            &[("id", "0901"), ("d", "9")],
            Some(square(0.2, 0.2, 0.1)),
        )];
        let report = prepare(features, &options(Level::Grid, Some("d")), &two_districts())
            .expect_err("no district 9");
        assert!(
            reasons(&report).contains("missing parent"),
            "{}",
            reasons(&report)
        );
        assert_eq!(report.problems[0].field, "d");
    }

    #[test]
    fn child_outside_parent_is_reported_with_distance() {
        // Named parent 1 but the grid sits in district 2, 0.2° (~22 km) beyond the shared edge.
        let features = vec![feature(
            0,
            &[("id", "x"), ("d", "1")],
            Some(square(1.1, 0.2, 0.1)),
        )];
        let report = prepare(features, &options(Level::Grid, Some("d")), &two_districts())
            .expect_err("outside");
        let text = reasons(&report);
        assert!(
            text.contains("lies outside its parent district `1` by up to 22"),
            "{text}"
        );
    }

    #[test]
    fn shared_codes_merge_unless_they_overlap_or_disagree() {
        let features = vec![
            feature(0, &[("id", "31")], Some(square(0.0, 0.0, 1.0))),
            feature(1, &[("id", "31")], Some(square(1.0, 0.0, 1.0))),
            feature(2, &[("id", "32")], Some(square(3.0, 0.0, 1.0))),
        ];
        let (areas, report) = prepare(features, &options(Level::District, None), &[]).expect("ok");
        assert_eq!(areas.len(), 2);
        assert_eq!(areas[0].geometry.0.len(), 2);
        assert_eq!(report.multipart, vec!["31".to_owned()]);

        let features = vec![
            feature(0, &[("id", "31")], Some(square(0.0, 0.0, 1.0))),
            feature(1, &[("id", "31")], Some(square(0.5, 0.0, 1.0))),
        ];
        let report = prepare(features, &options(Level::District, None), &[]).expect_err("overlap");
        assert!(reasons(&report).contains("share code `31` and overlap"));

        let mut opts = options(Level::District, None);
        opts.name_field = Some("name".to_owned());
        let features = vec![
            feature(
                0,
                &[("id", "31"), ("name", "A")],
                Some(square(0.0, 0.0, 1.0)),
            ),
            feature(
                1,
                &[("id", "31"), ("name", "B")],
                Some(square(1.0, 0.0, 1.0)),
            ),
        ];
        let report = prepare(features, &opts, &[]).expect_err("names differ");
        assert!(reasons(&report).contains("differ in name"));
    }

    #[test]
    fn feature_problems_name_number_and_field() {
        let bow = polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 1.0), (x: 1.0, y: 0.0), (x: 0.0, y: 1.0), (x: 0.0, y: 0.0)];
        let mut nan = square(0.0, 0.0, 1.0);
        nan.exterior_mut(|r| r.0[1].y = f64::NAN);
        let short = Polygon::new(
            LineString::from(vec![(0.0, 0.0), (1.0, 0.0), (0.0, 0.0)]),
            vec![],
        );
        let features = vec![
            feature(0, &[("other", "1")], Some(square(0.0, 0.0, 1.0))),
            feature(1, &[("id", " ")], Some(square(0.0, 0.0, 1.0))),
            feature(2, &[("id", "c")], None),
            feature(3, &[("id", "d")], Some(bow)),
            feature(4, &[("id", "e")], Some(nan)),
            feature(5, &[("id", "f")], Some(short)),
            feature(6, &[("id", "g")], Some(square(200.0, 0.0, 1.0))),
        ];
        let report = prepare(features, &options(Level::District, None), &[]).expect_err("bad");
        let by_feature = |n: usize| {
            report
                .problems
                .iter()
                .find(|p| p.feature == Some(n))
                .map(|p| (p.field.as_str(), p.reason.as_str()))
                .expect("a problem per bad feature")
        };
        assert_eq!(by_feature(0), ("id", "missing code field `id`"));
        assert_eq!(by_feature(1), ("id", "empty code in field `id`"));
        assert_eq!(by_feature(2), ("geometry", "missing geometry"));
        assert!(by_feature(3).1.contains("self-intersecting"));
        assert!(by_feature(4).1.contains("not a finite number"));
        assert!(by_feature(5).1.contains("at least 4"));
        assert!(by_feature(6).1.contains("longitude 200 is out of range"));
        assert_eq!(report.features_read, 7);
    }

    #[test]
    fn national_codes_must_extend_the_parent() {
        let mut opts = options(Level::Street, None);
        opts.scheme = CodeScheme::National;
        let existing = vec![district("411104", square(0.0, 0.0, 1.0))];
        let ok = vec![feature(
            0,
            &[("id", "411104001")],
            Some(square(0.1, 0.1, 0.1)),
        )];
        assert!(prepare(ok, &opts, &existing).is_ok());
        let bad = vec![feature(
            0,
            &[("id", "411105001")],
            Some(square(0.1, 0.1, 0.1)),
        )];
        let report = prepare(bad, &opts, &existing).expect_err("wrong prefix");
        assert!(reasons(&report).contains("does not extend its parent's code 411104"));
    }

    #[test]
    fn exclusive_kinds_only_at_grid_level() {
        let mut opts = options(Level::Community, None);
        opts.kind = Some(GridKind::School);
        let f = vec![feature(0, &[("id", "a")], Some(square(0.1, 0.1, 0.1)))];
        let report = prepare(f.clone(), &opts, &[]).expect_err("school community");
        assert_eq!(report.problems[0].field, "kind");
        opts.level = Level::Grid;
        let (areas, _) = prepare(f, &opts, &[]).expect("school grid");
        assert!(areas[0].is_exclusive());
    }
}
