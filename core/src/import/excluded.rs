//! Excluded ground (rivers, rail yards, military ground) from source features: the same geometry checks as
//! areas, no codes and no parents.

use super::{ImportReport, SourceFeature, boundary, problem};
use crate::{Crs, ExcludedGround, ExcludedKind};

/// What `gridmap import --level excluded` asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct ExcludedOptions {
    /// Kind of every imported piece of ground.
    pub kind: ExcludedKind,
    /// Property holding the name; without it, the `name` property when there is one, else empty.
    pub name_field: Option<String>,
    /// CRS of the source coordinates; converted to WGS-84.
    pub crs: Crs,
}

/// Turns source features into excluded ground of `options.kind`, one piece per feature.
///
/// All or nothing like [`super::prepare`]: missing or invalid geometries (bad rings, self-intersections,
/// NaN or out-of-range coordinates, overlapping parts), a missing name field or a file without features
/// return `Err` with the full report.
pub fn prepare_excluded(
    features: Vec<SourceFeature>,
    options: &ExcludedOptions,
) -> Result<(Vec<ExcludedGround>, ImportReport), ImportReport> {
    let mut report = ImportReport {
        features_read: features.len(),
        ..ImportReport::default()
    };
    if features.is_empty() {
        // Re-importing a kind replaces it: an empty file would silently delete it all.
        report.problems.push(problem(
            None,
            None,
            "file",
            "no features: nothing to import".to_owned(),
        ));
    }
    let mut ground = Vec::with_capacity(features.len());
    for f in features {
        let n = Some(f.number);
        let name = match &options.name_field {
            Some(field) => {
                let name = f.properties.get(field).map(|name| name.trim().to_owned());
                if name.is_none() {
                    report.problems.push(problem(
                        n,
                        None,
                        field,
                        format!("missing name field `{field}`"),
                    ));
                }
                name
            }
            None => Some(
                f.properties
                    .get("name")
                    .map(|s| s.trim().to_owned())
                    .unwrap_or_default(),
            ),
        };
        let Some(geometry) = boundary(f.geometry, options.crs, n, None, &mut report) else {
            continue;
        };
        if let Some(name) = name {
            ground.push(ExcludedGround {
                name,
                kind: options.kind,
                geometry,
            });
        }
    }
    report.areas = ground.len();
    if report.is_ok() {
        Ok((ground, report))
    } else {
        Err(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{Geometry, polygon};

    fn feature(
        number: usize,
        name: Option<&str>,
        geometry: Option<Geometry<f64>>,
    ) -> SourceFeature {
        SourceFeature {
            number,
            properties: name
                .map(|n| ("NAME".to_owned(), n.to_owned()))
                .into_iter()
                .collect(),
            geometry,
        }
    }

    fn options(crs: Crs) -> ExcludedOptions {
        ExcludedOptions {
            kind: ExcludedKind::Rail,
            name_field: Some("NAME".to_owned()),
            crs,
        }
    }

    #[test]
    fn features_become_ground_of_the_kind_converted_to_wgs84() {
        // Clockwise: rewound, counted.
        let cw = polygon![(x: 114.0, y: 33.5), (x: 114.0, y: 33.51), (x: 114.01, y: 33.51), (x: 114.01, y: 33.5)];
        let (ground, report) = prepare_excluded(
            vec![feature(
                0,
                Some(" 货场 "),
                Some(Geometry::Polygon(cw.clone())),
            )],
            &options(Crs::Gcj02),
        )
        .expect("valid");
        assert_eq!(report.rewound_rings, 1);
        assert_eq!(ground.len(), 1);
        assert_eq!(ground[0].name, "货场");
        assert_eq!(ground[0].kind, ExcludedKind::Rail);
        let first = ground[0].geometry.0[0].exterior().0[0];
        let expected = Crs::Gcj02.to_wgs84(cw.exterior().0[0]);
        assert!((first.x - expected.x).abs() < 1e-12 && (first.y - expected.y).abs() < 1e-12);
        // GCJ-02 is a few hundred metres off WGS-84 here.
        assert!((first.x - 114.0).abs() > 1e-3);
    }

    #[test]
    fn bad_features_are_all_reported_and_nothing_returned() {
        let bowtie =
            polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 1.0), (x: 1.0, y: 0.0), (x: 0.0, y: 1.0)];
        let good = polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0), (x: 0.0, y: 1.0)];
        let report = prepare_excluded(
            vec![
                feature(0, Some("a"), Some(Geometry::Polygon(bowtie))),
                feature(1, None, Some(Geometry::Polygon(good.clone()))),
                feature(2, Some("c"), None),
                feature(3, Some("d"), Some(Geometry::Polygon(good))),
            ],
            &options(Crs::Wgs84),
        )
        .expect_err("rejected");
        let at: Vec<(Option<usize>, &str)> = report
            .problems
            .iter()
            .map(|p| (p.feature, p.field.as_str()))
            .collect();
        assert!(at.contains(&(Some(0), "geometry")), "{at:?}");
        assert!(at.contains(&(Some(1), "NAME")), "{at:?}");
        assert!(at.contains(&(Some(2), "geometry")), "{at:?}");
        assert!(!at.iter().any(|(f, _)| *f == Some(3)), "{at:?}");
        let empty = prepare_excluded(Vec::new(), &options(Crs::Wgs84)).expect_err("empty");
        assert_eq!(empty.problems[0].field, "file");
    }
}
