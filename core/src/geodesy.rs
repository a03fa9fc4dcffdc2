//! Lengths and areas in metres on WGS-84 lon/lat.
//!
//! Distances to segments use a local metric frame centred on the query point (the WGS-84 ellipsoid's radii of
//! curvature there): exact enough at city scale (relative error below 1e-3 within 5 km), and cheap.

use geo::{Distance, Geodesic, GeodesicArea};
use geo_types::{Coord, MultiPolygon, Point, Rect};

/// WGS-84 semi-major axis, metres.
const WGS84_A: f64 = 6_378_137.0;
/// WGS-84 first eccentricity squared.
const WGS84_E2: f64 = 0.006_694_379_990_141_317;

/// Metres per degree of longitude and of latitude at a latitude (degrees).
pub fn metres_per_degree(lat: f64) -> (f64, f64) {
    let phi = lat.to_radians();
    let s2 = phi.sin() * phi.sin();
    let w = (1.0 - WGS84_E2 * s2).sqrt();
    // Prime-vertical (N) and meridional (M) radii of curvature.
    let n = WGS84_A / w;
    let m = WGS84_A * (1.0 - WGS84_E2) / (w * w * w);
    let rad = std::f64::consts::PI / 180.0;
    (n * phi.cos() * rad, m * rad)
}

/// Geodesic distance between two lon/lat points, in metres.
pub fn distance_m(a: Coord<f64>, b: Coord<f64>) -> f64 {
    Geodesic.distance(Point(a), Point(b))
}

/// Distance from `p` to the segment `a`–`b`, in metres, in a local metric frame centred on `p`.
pub fn point_segment_distance_m(p: Coord<f64>, a: Coord<f64>, b: Coord<f64>) -> f64 {
    let (mx, my) = metres_per_degree(p.y);
    point_segment_distance_scaled(p, a, b, mx, my)
}

/// Same as [`point_segment_distance_m`] with the frame's scale already known (for loops over many edges).
pub(crate) fn point_segment_distance_scaled(
    p: Coord<f64>,
    a: Coord<f64>,
    b: Coord<f64>,
    mx: f64,
    my: f64,
) -> f64 {
    let (ax, ay) = ((a.x - p.x) * mx, (a.y - p.y) * my);
    let (bx, by) = ((b.x - p.x) * mx, (b.y - p.y) * my);
    let (dx, dy) = (bx - ax, by - ay);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (-(ax * dx + ay * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (cx, cy) = (ax + t * dx, ay + t * dy);
    cx.hypot(cy)
}

/// Distance from `p` to the nearest edge of any ring of `mp`, in metres (zero on the boundary, positive both
/// inside and outside). `f64::INFINITY` for an empty geometry.
pub fn distance_to_boundary_m(mp: &MultiPolygon<f64>, p: Coord<f64>) -> f64 {
    let (mx, my) = metres_per_degree(p.y);
    mp.0.iter()
        .flat_map(|poly| std::iter::once(poly.exterior()).chain(poly.interiors()))
        .flat_map(geo_types::LineString::lines)
        .map(|l| point_segment_distance_scaled(p, l.start, l.end, mx, my))
        .fold(f64::INFINITY, f64::min)
}

/// Geodesic area of a `MultiPolygon` (holes subtracted), in square metres, whatever the winding.
///
/// geo's `geodesic_area_unsigned` measures a clockwise ring as the rest of the earth (5.1e14 m²), and
/// boolean operations return degenerate slivers of either winding; every area here is far below half the
/// earth, so the absolute signed area of each polygon is right for both windings.
pub fn area_m2(mp: &MultiPolygon<f64>) -> f64 {
    mp.0.iter().map(|p| p.geodesic_area_signed().abs()).sum()
}

/// The smallest box holding both.
pub fn union_rect(a: Rect<f64>, b: Rect<f64>) -> Rect<f64> {
    Rect::new(
        (a.min().x.min(b.min().x), a.min().y.min(b.min().y)),
        (a.max().x.max(b.max().x), a.max().y.max(b.max().y)),
    )
}

/// `rect` (degrees) grown by `margin_m` metres on every side, measured at its latitude farthest from the
/// equator.
pub fn grow_rect(rect: Rect<f64>, margin_m: f64) -> Rect<f64> {
    let lat = rect.min().y.abs().max(rect.max().y.abs()).min(89.0);
    let (mx, my) = metres_per_degree(lat);
    let (dx, dy) = (margin_m / mx, margin_m / my);
    Rect::new(
        (rect.min().x - dx, rect.min().y - dy),
        (rect.max().x + dx, rect.max().y + dy),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{coord, polygon};

    #[test]
    fn area_does_not_depend_on_winding() {
        let ccw = polygon![(x: 114.0, y: 33.0), (x: 114.01, y: 33.0), (x: 114.01, y: 33.01), (x: 114.0, y: 33.01)];
        let mut reversed = ccw.exterior().clone();
        reversed.0.reverse();
        let cw = geo_types::Polygon::new(reversed, vec![]);
        let a = area_m2(&MultiPolygon(vec![ccw]));
        // 0.01° × 0.01° at 33° N: about 1110 m × 932 m.
        assert!((a / 1.035e6 - 1.0).abs() < 0.01, "{a}");
        assert!((area_m2(&MultiPolygon(vec![cw])) - a).abs() < 1e-6);
        // A zero-width sliver, as boolean operations leave along shared borders, has no area.
        let sliver = polygon![(x: 114.053_090_2, y: 33.591_179_8), (x: 114.053_049, y: 33.590_771_7), (x: 114.053_090_2, y: 33.591_179_799_999_03)];
        assert!(area_m2(&MultiPolygon(vec![sliver])) < 1.0);
    }

    #[test]
    fn segment_distance_matches_geodesic_distance_to_the_foot() {
        // A meridian segment 0.01 deg east of p: the distance is the geodesic along the parallel.
        let p = coord! { x: 114.09, y: 33.57 };
        let a = coord! { x: 114.10, y: 33.56 };
        let b = coord! { x: 114.10, y: 33.58 };
        let local = point_segment_distance_m(p, a, b);
        let geodesic = distance_m(p, coord! { x: 114.10, y: 33.57 });
        assert!((local - geodesic).abs() < 0.05, "{local} vs {geodesic}");
        // Beyond the segment's end the distance is to the endpoint.
        let far = coord! { x: 114.10, y: 33.60 };
        let to_end = point_segment_distance_m(far, a, b);
        assert!((to_end - distance_m(far, b)).abs() < 0.05);
    }

    #[test]
    fn area_of_a_small_square_near_luohe() {
        // 0.01 x 0.01 deg at 33.57N: about 1112 m (lat) x 928 m (lon).
        let sq = MultiPolygon(vec![polygon![
            (x: 114.0, y: 33.57), (x: 114.01, y: 33.57), (x: 114.01, y: 33.58), (x: 114.0, y: 33.58)
        ]]);
        let (mx, my) = metres_per_degree(33.575);
        let expected = 0.01 * mx * 0.01 * my;
        let got = area_m2(&sq);
        assert!((got / expected - 1.0).abs() < 1e-3, "{got} vs {expected}");
        assert!(
            (distance_to_boundary_m(&sq, coord! { x: 114.005, y: 33.571 }) - 0.001 * my).abs()
                < 0.01
        );
    }
}
