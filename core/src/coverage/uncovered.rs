//! Uncovered parts: the mask cells not covered, traced to polygons (staircase outlines on the raster, at most
//! one cell off the area's boundary), in WGS-84.

use geo_types::{Coord, LineString, MultiPolygon, Polygon};

use super::frame::Frame;
use super::raster::Raster;
use super::trace;

/// Traces uncovered cells to WGS-84 polygons.
pub(super) fn uncovered(cells: &Raster, frame: Frame) -> MultiPolygon<f64> {
    let to_ring = |nodes: &[trace::Node]| {
        let mut coords: Vec<Coord<f64>> = nodes
            .iter()
            .map(|&(i, j)| {
                frame.to_lonlat([
                    cells.x0 + i as f64 * cells.cell_m,
                    cells.y0 + j as f64 * cells.cell_m,
                ])
            })
            .collect();
        if let Some(&first) = coords.first() {
            coords.push(first);
        }
        LineString(coords)
    };
    MultiPolygon(
        trace::trace(cells, trace::Nodes::Corners)
            .into_iter()
            .map(|p| {
                Polygon::new(
                    to_ring(&p.exterior),
                    p.holes.iter().map(|h| to_ring(h)).collect(),
                )
            })
            .collect(),
    )
}
