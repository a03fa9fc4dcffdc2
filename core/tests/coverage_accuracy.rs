//! Area coverage against an exact computation: geo's `Buffer` of the cleaned tracks, unioned, intersected with
//! the grid polygon (`BooleanOps`), areas in the same local frame. Sample city, generated tracks, several grids
//! and radii; the issue asks for agreement within 1 percentage point.

use geo::{Area as _, BooleanOps, BoundingRect, Buffer};
use geo_types::{Coord, LineString, MultiLineString, MultiPolygon, Rect};
use gridmap_core::patrol::{CleaningPolicy, clean};
use gridmap_core::{AreaIndex, CoverageParams, Level, coverage, geodesy};
use gridmap_data::{TrackParams, generate_tracks, sample_city};

fn project(mp: &MultiPolygon<f64>, origin: Coord<f64>) -> MultiPolygon<f64> {
    let (mx, my) = geodesy::metres_per_degree(origin.y);
    geo::MapCoords::map_coords(mp, |c| Coord {
        x: (c.x - origin.x) * mx,
        y: (c.y - origin.y) * my,
    })
}

#[test]
fn area_coverage_is_within_one_point_of_the_exact_buffer_union() {
    let city = sample_city();
    let params = TrackParams {
        hours: 1.0,
        ..TrackParams::day(5, 40)
    };
    let fixes = generate_tracks(&city, &params);
    let cleaned = clean(fixes, &CleaningPolicy::default());
    let index = AreaIndex::build(city.areas.clone());
    // The walked grids: those holding a track's first fix.
    let mut grids: Vec<u32> = cleaned
        .tracks
        .iter()
        .filter_map(|t| {
            let loc = index.locate(t.fixes[0].1);
            loc.chain
                .iter()
                .copied()
                .find(|&id| index.area(id).level == Level::Grid)
        })
        .collect();
    grids.sort_unstable();
    grids.dedup();
    grids.truncate(6);
    assert!(grids.len() >= 4, "{grids:?}");
    assert!(
        cleaned.tracks.iter().all(|t| t.fixes.len() >= 2),
        "lone fixes would need discs in the oracle"
    );
    let window = CoverageParams::new(params.start, params.start + chrono::TimeDelta::hours(2));
    let mut max_error = 0.0_f64;
    let mut seen = Vec::new();
    for radius_m in [20.0, 30.0, 50.0] {
        let p = CoverageParams {
            radius_m,
            uncovered_polygons: false,
            ..window.clone()
        };
        let reports = coverage(&index, &grids, &cleaned.tracks, &city.roads, &p);
        for (&id, report) in grids.iter().zip(&reports) {
            let area = index.area(id);
            let bbox: Rect<f64> = area.geometry.bounding_rect().expect("a grid has a shape");
            let origin = bbox.center();
            let (mx, my) = geodesy::metres_per_degree(origin.y);
            let lines = MultiLineString(
                cleaned
                    .tracks
                    .iter()
                    .map(|t| {
                        LineString(
                            t.fixes
                                .iter()
                                .map(|&(_, c)| Coord {
                                    x: (c.x - origin.x) * mx,
                                    y: (c.y - origin.y) * my,
                                })
                                .collect(),
                        )
                    })
                    .filter(|l| {
                        l.0.len() >= 2
                            && l.0.iter().any(|c| {
                                c.x.abs() < 600.0 + radius_m && c.y.abs() < 600.0 + radius_m
                            })
                    })
                    .collect(),
            );
            let polygon = project(&area.geometry, origin);
            let exact = if lines.0.is_empty() {
                0.0
            } else {
                let buffered = lines.buffer(radius_m);
                buffered.intersection(&polygon).unsigned_area() / polygon.unsigned_area()
            };
            let error = (report.area_coverage - exact).abs();
            max_error = max_error.max(error);
            seen.push((area.code.clone(), radius_m, exact, report.area_coverage));
            // The projected area agrees with the geodesic one.
            assert!((polygon.unsigned_area() / report.area_m2 - 1.0).abs() < 1e-3);
        }
    }
    println!("coverage vs exact (code, R, exact, raster): {seen:#?}\nmax error {max_error:.5}");
    assert!(
        seen.iter().any(|s| s.2 > 0.2),
        "the tracks must cover something: {seen:?}"
    );
    assert!(max_error < 0.01, "max error {max_error} over {seen:#?}");
}

/// The smallest grids (cut by the river, ~1 ha) are where a raster errs most: perimeter × cell / area. A straight
/// walk across each, off-centre so that the band's edge crosses the grid, against the exact buffer.
#[test]
fn small_grids_are_within_one_point_too() {
    use gridmap_core::PatrolTrack;
    let city = sample_city();
    let index = AreaIndex::build(city.areas.clone());
    let mut grids: Vec<(f64, u32)> = (0..index.areas().len() as u32)
        .filter(|&id| {
            let a = index.area(id);
            a.level == Level::Grid && !a.is_exclusive()
        })
        .map(|id| (geodesy::area_m2(&index.area(id).geometry), id))
        .collect();
    grids.sort_by(|a, b| a.0.total_cmp(&b.0));
    grids.truncate(12);
    assert!(
        grids[0].0 < 15_000.0,
        "the sample has small grids: {grids:?}"
    );
    let start = chrono::DateTime::parse_from_rfc3339("2026-03-02T08:00:00+08:00")
        .expect("a valid time")
        .to_utc();
    let mut max_error = 0.0_f64;
    let mut seen = Vec::new();
    for &(_, id) in &grids {
        let area = index.area(id);
        let bbox: Rect<f64> = area.geometry.bounding_rect().expect("a grid has a shape");
        let origin = bbox.center();
        let (mx, my) = geodesy::metres_per_degree(origin.y);
        // West to east, a third of the way up the box, 1 m a second.
        let y = bbox.min().y + bbox.height() / 3.0;
        let steps = ((bbox.width() * mx) as i64 + 200).max(2);
        let fixes: Vec<_> = (0..=steps)
            .map(|k| {
                let x = bbox.min().x + (k as f64 - 100.0) / mx;
                (start + chrono::TimeDelta::seconds(k), Coord { x, y })
            })
            .collect();
        let local = LineString(
            fixes
                .iter()
                .map(|&(_, c)| Coord {
                    x: (c.x - origin.x) * mx,
                    y: (c.y - origin.y) * my,
                })
                .collect(),
        );
        let tracks = vec![PatrolTrack {
            worker: "13800000001".into(),
            fixes,
        }];
        let polygon = project(&area.geometry, origin);
        for radius_m in [20.0, 50.0] {
            let p = CoverageParams {
                radius_m,
                uncovered_polygons: false,
                ..CoverageParams::new(start, start + chrono::TimeDelta::hours(1))
            };
            let report = &coverage(&index, &[id], &tracks, &city.roads, &p)[0];
            let exact = MultiLineString(vec![local.clone()])
                .buffer(radius_m)
                .intersection(&polygon)
                .unsigned_area()
                / polygon.unsigned_area();
            let error = (report.area_coverage - exact).abs();
            max_error = max_error.max(error);
            seen.push((
                area.code.clone(),
                report.area_m2.round(),
                radius_m,
                exact,
                report.area_coverage,
            ));
        }
    }
    println!("small grids (code, m², R, exact, raster): {seen:#?}\nmax error {max_error:.5}");
    assert!(seen.iter().any(|s| s.3 > 0.2 && s.3 < 0.9), "{seen:?}");
    assert!(max_error < 0.01, "max error {max_error} over {seen:#?}");
}
