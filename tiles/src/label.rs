//! Label anchors: the pole of inaccessibility of an area's largest part.

use geo::{Area, BoundingRect, InteriorPoint, MapCoords};
use geo_types::{Coord, MultiPolygon, Point, Polygon};

/// Relative precision of the label search: a thousandth of the part's larger side.
const PRECISION: f64 = 1e-3;

/// The point of the largest part of `area` (WGS-84 degrees) farthest from its boundary, found by
/// `polylabel` in a local frame where a degree of longitude is shrunk by cos(latitude) so that
/// distances are not stretched east-west. `None` for an empty multipolygon.
pub fn label_point(area: &MultiPolygon<f64>) -> Option<Point<f64>> {
    let largest = area
        .iter()
        .max_by(|a, b| a.unsigned_area().total_cmp(&b.unsigned_area()))?;
    let rect = largest.bounding_rect()?;
    let cos_lat = rect.center().y.to_radians().cos().max(1e-6);
    let local: Polygon<f64> = largest.map_coords(|c| Coord {
        x: c.x * cos_lat,
        y: c.y,
    });
    let size = (rect.width() * cos_lat).max(rect.height());
    let tolerance = (size * PRECISION).max(f64::EPSILON);
    match polylabel::polylabel(&local, &tolerance) {
        Ok(p) => Some(Point::new(p.x() / cos_lat, p.y())),
        // Degenerate input (e.g. a zero-area ring): fall back to any interior point.
        Err(_) => largest.interior_point(),
    }
}
