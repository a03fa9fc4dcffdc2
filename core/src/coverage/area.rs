//! One area's report: its cells marked, then area and road coverage, micro-grid visits, worker time, duty and
//! the uncovered parts, each from its own module.

use geo_types::MultiPolygon;

use super::marking::AreaCells;
use super::roads::RoadSamples;
use super::segments::{Seg, Segments};
use super::tiles::{CoveredTiles, Lattice, Window};
use super::{Coverage, CoverageParams, duty, uncovered, visits};
use crate::geodesy;
use crate::index::{AreaId, AreaIndex};

/// The report of area `id`; `shared` is its window of the request's tiles (`None`: a raster of its own),
/// `scratch` a buffer for the segments near it.
pub(super) fn area_coverage(
    index: &AreaIndex,
    id: AreaId,
    segments: &Segments<'_>,
    roads: &RoadSamples,
    params: &CoverageParams,
    shared: Option<(&Lattice, &CoveredTiles, Window)>,
    scratch: &mut Vec<Seg>,
) -> Coverage {
    let area = index.area(id);
    let prepared = index.prepared(id);
    let r = params.radius_m.max(0.0);
    let area_m2 = geodesy::area_m2(&area.geometry);
    let mut report = Coverage {
        code: area.code.clone(),
        name: area.name.clone(),
        level: area.level,
        from: params.from,
        to: params.to,
        radius_m: r,
        cell_m: params.cell_size_m(),
        area_m2,
        covered_m2: 0.0,
        uncovered_m2: area_m2,
        area_coverage: 0.0,
        road_length_m: 0.0,
        road_covered_m: 0.0,
        road_coverage: None,
        micro_grids: Vec::new(),
        workers: Vec::new(),
        patrol_minutes: 0.0,
        duty_met: false,
        uncovered: MultiPolygon(Vec::new()),
    };
    let Some(bbox) = prepared.bbox() else {
        return report;
    };
    segments.near(bbox, r, scratch);
    let cells = match shared {
        Some((lattice, tiles, window)) => AreaCells::shared(lattice, tiles, window, &area.geometry),
        None => AreaCells::own(&area.geometry, bbox, area_m2, segments, scratch, params),
    };
    report.cell_m = cells.mask.cell_m;
    let inside = cells.mask.count();
    let hit = cells.covered.count_and(&cells.mask);
    if inside > 0 {
        report.area_coverage = hit as f64 / inside as f64;
    }
    report.covered_m2 = report.area_coverage * area_m2;
    report.uncovered_m2 = area_m2 - report.covered_m2;
    (report.road_length_m, report.road_covered_m) = roads.on_area(
        prepared,
        bbox,
        params.road_margin_m,
        segments.grid.deg_per_m,
        &cells.covered,
        cells.frame,
    );
    if report.road_length_m > 0.0 {
        report.road_coverage = Some(report.road_covered_m / report.road_length_m);
    }
    report.micro_grids = visits::visits(index, id, bbox, segments, r, scratch);
    report.workers = duty::worker_times(prepared, segments, scratch);
    report.patrol_minutes = report.workers.iter().map(|w| w.minutes).sum();
    report.duty_met = params.duty.met(report.area_coverage, report.patrol_minutes);
    if params.uncovered_polygons {
        report.uncovered = uncovered::uncovered(&cells.mask.and_not(&cells.covered), cells.frame);
    }
    report
}
