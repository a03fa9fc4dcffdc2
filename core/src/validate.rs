//! Polygon validity checks for imported and edited boundaries.
//!
//! A boundary must be a `Polygon` or `MultiPolygon` with finite lon/lat in range, rings of at least four
//! positions whose first and last are equal, valid per OGC Simple Features (no self-intersection, holes
//! inside their shell), and parts whose interiors do not overlap. Parts may touch, even along an edge:
//! the features of one area often share borders. Winding is not an error (RFC 7946 §3.1.6 asks parsers
//! to accept either): rings are rewound to exterior counter-clockwise, holes clockwise, and counted.

mod ring;

pub use ring::ring_self_intersects;

use geo::algorithm::validation::{InvalidPolygon, RingRole};
use geo::coordinate_position::CoordPos;
use geo::dimensions::Dimensions;
use geo::{BoundingRect, Intersects, Relate, Winding};
use geo_types::{Coord, Geometry, LineString, MultiPolygon, Polygon};

/// One reason a boundary is rejected, with where it is (`polygon 1, hole 0`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defect {
    /// Where in the geometry, e.g. `polygon 0, exterior ring`; empty for the whole geometry.
    pub location: String,
    pub reason: String,
}

impl std::fmt::Display for Defect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.location.is_empty() {
            f.write_str(&self.reason)
        } else {
            write!(f, "{}: {}", self.location, self.reason)
        }
    }
}

fn defect(location: impl Into<String>, reason: impl Into<String>) -> Defect {
    Defect {
        location: location.into(),
        reason: reason.into(),
    }
}

/// A boundary that passed every check, normalised to RFC 7946 winding.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidBoundary {
    pub geometry: MultiPolygon<f64>,
    /// Rings whose winding was reversed.
    pub rewound_rings: usize,
}

fn ring_name(polygon: usize, ring: usize) -> String {
    if ring == 0 {
        format!("polygon {polygon}, exterior ring")
    } else {
        format!("polygon {polygon}, hole {}", ring - 1)
    }
}

/// Checks a ring as a source wrote it, before any library closes it for us: `GeoJSON` (RFC 7946 §3.1.6)
/// and OGC both require at least four positions with the last equal to the first.
pub fn check_source_ring(positions: &[Coord<f64>]) -> Result<(), String> {
    if positions.len() < 4 {
        return Err(format!(
            "ring has {} positions; a closed ring needs at least 4",
            positions.len()
        ));
    }
    // NaN never equals itself; non-finite values are reported by the coordinate check instead.
    let (first, last) = (positions[0], positions[positions.len() - 1]);
    let finite = [first.x, first.y, last.x, last.y]
        .iter()
        .all(|v| v.is_finite());
    if finite && first != last {
        return Err(format!(
            "ring is not closed: first position ({}, {}) differs from last ({}, {})",
            first.x, first.y, last.x, last.y
        ));
    }
    Ok(())
}

/// Finite lon/lat within [-180, 180] × [-90, 90].
pub fn check_lon_lat(c: Coord<f64>) -> Result<(), String> {
    if !c.x.is_finite() || !c.y.is_finite() {
        return Err(format!(
            "coordinate ({}, {}) is not a finite number",
            c.x, c.y
        ));
    }
    if !(-180.0..=180.0).contains(&c.x) {
        return Err(format!("longitude {} is out of range [-180, 180]", c.x));
    }
    if !(-90.0..=90.0).contains(&c.y) {
        return Err(format!("latitude {} is out of range [-90, 90]", c.y));
    }
    Ok(())
}

/// The polygons of a boundary geometry; other geometry types are rejected.
fn polygons(geometry: &Geometry<f64>) -> Result<Vec<Polygon<f64>>, Defect> {
    match geometry {
        Geometry::Polygon(p) => Ok(vec![p.clone()]),
        Geometry::MultiPolygon(mp) => Ok(mp.0.clone()),
        Geometry::Rect(r) => Ok(vec![r.to_polygon()]),
        other => Err(defect(
            "",
            format!(
                "expected a Polygon or MultiPolygon, found a {}",
                type_name(other)
            ),
        )),
    }
}

fn type_name(g: &Geometry<f64>) -> &'static str {
    match g {
        Geometry::Point(_) => "Point",
        Geometry::Line(_) => "Line",
        Geometry::LineString(_) => "LineString",
        Geometry::Polygon(_) => "Polygon",
        Geometry::MultiPoint(_) => "MultiPoint",
        Geometry::MultiLineString(_) => "MultiLineString",
        Geometry::MultiPolygon(_) => "MultiPolygon",
        Geometry::GeometryCollection(_) => "GeometryCollection",
        Geometry::Rect(_) => "Rect",
        Geometry::Triangle(_) => "Triangle",
    }
}

/// Coordinates: finite and in range. Reports the first bad coordinate of each ring.
fn check_coordinates(polys: &[Polygon<f64>], defects: &mut Vec<Defect>) {
    for (i, p) in polys.iter().enumerate() {
        let rings = std::iter::once(p.exterior()).chain(p.interiors());
        for (r, ring) in rings.enumerate() {
            if let Some((k, reason)) = ring
                .0
                .iter()
                .enumerate()
                .find_map(|(k, c)| check_lon_lat(*c).err().map(|e| (k, e)))
            {
                defects.push(defect(format!("{}, position {k}", ring_name(i, r)), reason));
            }
        }
    }
}

/// OGC validity of each polygon, as geo's `Validation` judges it.
fn check_polygons(polys: &[Polygon<f64>], defects: &mut Vec<Defect>) {
    for (i, p) in polys.iter().enumerate() {
        let rings = std::iter::once(p.exterior()).chain(p.interiors());
        let mut ring_defect = false;
        for (r, ring) in rings.enumerate() {
            // geo counts points of the closed ring; say it in the source's terms.
            if ring.0.len() < 4 {
                defects.push(defect(
                    ring_name(i, r),
                    format!(
                        "ring has {} positions; a closed ring needs at least 4",
                        ring.0.len()
                    ),
                ));
                ring_defect = true;
            }
        }
        if ring_defect {
            continue;
        }
        for problem in polygon_problems(p) {
            defects.push(defect(format!("polygon {i}"), polygon_reason(&problem)));
        }
        let rings = std::iter::once(p.exterior()).chain(p.interiors());
        for (r, ring) in rings.enumerate() {
            if is_flat(ring) {
                defects.push(defect(
                    ring_name(i, r),
                    "ring encloses no area (its positions lie on one line)",
                ));
            }
        }
    }
}

/// True when a ring encloses no area: its area is rounding noise against the square of its length. geo's
/// rule lets such a ring pass, since its segments meet only end to start; OGC (and `ST_IsValid`) does not.
/// Real boundaries keep tiny but true slivers (NYC's precincts have parts of 0.01 m²): those pass.
fn is_flat(ring: &LineString<f64>) -> bool {
    use geo::{Area, Euclidean, Length};
    let area = Polygon::new(ring.clone(), vec![]).unsigned_area();
    let length = Euclidean.length(ring);
    area <= 1e-12 * length * length
}

/// geo's `Validation` of a polygon whose coordinates are finite and rings long enough, in its words, with
/// the ring test in O(n log n) (see [`ring_self_intersects`]).
fn polygon_problems(p: &Polygon<f64>) -> Vec<InvalidPolygon> {
    use geo::{PreparedGeometry, RemoveRepeatedPoints};
    let mut problems = Vec::new();
    let rings = std::iter::once(p.exterior()).chain(p.interiors());
    let roles = std::iter::once(RingRole::Exterior).chain((0..).map(RingRole::Interior));
    for (ring, role) in rings.zip(roles) {
        if ring.remove_repeated_points().0.len() < 4 {
            problems.push(InvalidPolygon::TooFewPointsInRing(role));
        }
        if ring_self_intersects(ring) {
            problems.push(InvalidPolygon::SelfIntersection(role));
        }
    }
    if p.interiors().is_empty() {
        return problems;
    }
    let exterior = Polygon::new(p.exterior().clone(), vec![]);
    let exterior = PreparedGeometry::from(&exterior);
    let holes: Vec<Polygon<f64>> = p
        .interiors()
        .iter()
        .map(|ring| Polygon::new(ring.clone(), vec![]))
        .collect();
    for (i, hole) in holes.iter().enumerate() {
        let prepared = PreparedGeometry::from(hole);
        let outer = exterior.relate(&prepared);
        if !outer.is_contains() {
            problems.push(InvalidPolygon::InteriorRingNotContainedInExteriorRing(
                RingRole::Interior(i),
            ));
        }
        if outer.get(CoordPos::OnBoundary, CoordPos::OnBoundary) == Dimensions::OneDimensional {
            problems.push(InvalidPolygon::IntersectingRingsOnALine(
                RingRole::Exterior,
                RingRole::Interior(i),
            ));
        }
        for (j, other) in holes.iter().enumerate().skip(i + 1) {
            let between = prepared.relate(other);
            if between.get(CoordPos::Inside, CoordPos::Inside) == Dimensions::TwoDimensional {
                problems.push(InvalidPolygon::IntersectingRingsOnAnArea(
                    RingRole::Interior(i),
                    RingRole::Interior(j),
                ));
            }
            if between.get(CoordPos::OnBoundary, CoordPos::OnBoundary) == Dimensions::OneDimensional
            {
                problems.push(InvalidPolygon::IntersectingRingsOnALine(
                    RingRole::Interior(i),
                    RingRole::Interior(j),
                ));
            }
        }
    }
    problems
}

fn polygon_reason(problem: &InvalidPolygon) -> String {
    match problem {
        InvalidPolygon::SelfIntersection(ring) => {
            format!("{ring} is self-intersecting (invalid per OGC)")
        }
        other => format!("{other} (invalid per OGC)"),
    }
}

/// True when the interiors of `a` and `b` share area.
pub fn interiors_overlap(a: &Polygon<f64>, b: &Polygon<f64>) -> bool {
    let (Some(ra), Some(rb)) = (a.bounding_rect(), b.bounding_rect()) else {
        return false;
    };
    if !ra.intersects(&rb) {
        return false;
    }
    a.relate(b).get(CoordPos::Inside, CoordPos::Inside) == Dimensions::TwoDimensional
}

/// Pairs of parts `(i, j)` whose interiors overlap.
pub fn overlapping_parts(parts: &[Polygon<f64>]) -> Vec<(usize, usize)> {
    let mut pairs = Vec::new();
    for i in 0..parts.len() {
        for j in i + 1..parts.len() {
            if interiors_overlap(&parts[i], &parts[j]) {
                pairs.push((i, j));
            }
        }
    }
    pairs
}

/// Rewinds rings to exterior CCW, holes CW; returns how many were reversed.
pub fn normalise_winding(polys: &mut [Polygon<f64>]) -> usize {
    let mut rewound = 0;
    for p in polys.iter_mut() {
        p.exterior_mut(|ring: &mut LineString<f64>| {
            if ring.is_cw() {
                ring.make_ccw_winding();
                rewound += 1;
            }
        });
        p.interiors_mut(|holes: &mut [LineString<f64>]| {
            for ring in holes {
                if ring.is_ccw() {
                    ring.make_cw_winding();
                    rewound += 1;
                }
            }
        });
    }
    rewound
}

/// Checks a boundary and returns it as a normalised `MultiPolygon`, or every defect found.
pub fn validate_boundary(geometry: &Geometry<f64>) -> Result<ValidBoundary, Vec<Defect>> {
    let mut polys = polygons(geometry).map_err(|d| vec![d])?;
    // An empty exterior is an empty polygon (GeoJSON `"coordinates": []`).
    if polys.is_empty() || polys.iter().all(|p| p.exterior().0.is_empty()) {
        return Err(vec![defect("", "empty geometry")]);
    }
    let mut defects = Vec::new();
    for (i, p) in polys.iter().enumerate() {
        if p.exterior().0.is_empty() {
            defects.push(defect(format!("polygon {i}"), "empty polygon"));
        }
    }
    check_coordinates(&polys, &mut defects);
    // Geometric checks on NaN or wild coordinates say nothing useful.
    if !defects.is_empty() {
        return Err(defects);
    }
    check_polygons(&polys, &mut defects);
    if !defects.is_empty() {
        return Err(defects);
    }
    for (i, j) in overlapping_parts(&polys) {
        defects.push(defect(
            format!("polygons {i} and {j}"),
            "parts overlap (their interiors share area)",
        ));
    }
    if !defects.is_empty() {
        return Err(defects);
    }
    let rewound_rings = normalise_winding(&mut polys);
    Ok(ValidBoundary {
        geometry: MultiPolygon(polys),
        rewound_rings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{coord, polygon};

    fn square(x0: f64, y0: f64, side: f64) -> Polygon<f64> {
        polygon![
            (x: x0, y: y0),
            (x: x0 + side, y: y0),
            (x: x0 + side, y: y0 + side),
            (x: x0, y: y0 + side),
            (x: x0, y: y0),
        ]
    }

    fn reasons(g: &Geometry<f64>) -> String {
        validate_boundary(g)
            .expect_err("should be rejected")
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }

    #[test]
    fn accepts_a_square() {
        let ok = validate_boundary(&Geometry::Polygon(square(114.0, 33.0, 0.01))).expect("valid");
        assert_eq!(ok.rewound_rings, 0);
        assert_eq!(ok.geometry.0.len(), 1);
    }

    #[test]
    fn rewinds_clockwise_exterior_and_counter_clockwise_hole() {
        let outer = square(0.0, 0.0, 10.0).exterior().clone();
        let hole = square(2.0, 2.0, 2.0).exterior().clone(); // CCW: wrong for a hole
        let cw_outer: LineString<f64> = outer.0.iter().rev().copied().collect();
        let p = Polygon::new(cw_outer, vec![hole]);
        let ok = validate_boundary(&Geometry::Polygon(p)).expect("winding is not an error");
        assert_eq!(ok.rewound_rings, 2);
        assert!(ok.geometry.0[0].exterior().is_ccw());
        assert!(ok.geometry.0[0].interiors()[0].is_cw());
    }

    #[test]
    fn rejects_bow_tie() {
        let bow = polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 1.0), (x: 1.0, y: 0.0), (x: 0.0, y: 1.0), (x: 0.0, y: 0.0)];
        assert!(reasons(&Geometry::Polygon(bow)).contains("self-intersecting"));
    }

    #[test]
    fn rejects_a_flat_ring_and_a_flat_hole() {
        let flat = polygon![(x: 114.0, y: 33.0), (x: 114.01, y: 33.0), (x: 114.02, y: 33.0), (x: 114.0, y: 33.0)];
        assert!(
            reasons(&Geometry::Polygon(flat))
                .contains("polygon 0, exterior ring: ring encloses no area")
        );
        let hole = LineString::from(vec![(2.0, 2.0), (3.0, 3.0), (4.0, 4.0), (2.0, 2.0)]);
        let holed = Polygon::new(square(0.0, 0.0, 10.0).exterior().clone(), vec![hole]);
        assert!(
            reasons(&Geometry::Polygon(holed)).contains("polygon 0, hole 0: ring encloses no area")
        );
        // A sliver of a metre is an area.
        let thin = square(114.0, 33.0, 0.01);
        let mut thin = thin;
        thin.exterior_mut(|r| {
            r.0[2].y = 33.000_01;
            r.0[3].y = 33.000_01;
        });
        assert!(validate_boundary(&Geometry::Polygon(thin)).is_ok());
    }

    #[test]
    fn rejects_nan_infinite_and_out_of_range() {
        let mut nan = square(0.0, 0.0, 1.0);
        nan.exterior_mut(|r| r.0[1].x = f64::NAN);
        assert!(reasons(&Geometry::Polygon(nan)).contains("not a finite number"));
        let mut inf = square(0.0, 0.0, 1.0);
        inf.exterior_mut(|r| r.0[2].y = f64::INFINITY);
        assert!(reasons(&Geometry::Polygon(inf)).contains("not a finite number"));
        let lon = square(179.5, 0.0, 1.0);
        assert!(reasons(&Geometry::Polygon(lon)).contains("longitude 180.5 is out of range"));
        let lat = square(0.0, 89.5, 1.0);
        assert!(reasons(&Geometry::Polygon(lat)).contains("latitude 90.5 is out of range"));
    }

    #[test]
    fn rejects_short_ring_empty_and_wrong_type() {
        let short = Polygon::new(
            LineString::from(vec![(0.0, 0.0), (1.0, 1.0), (0.0, 0.0)]),
            vec![],
        );
        assert!(reasons(&Geometry::Polygon(short)).contains("at least 4"));
        assert!(reasons(&Geometry::MultiPolygon(MultiPolygon(vec![]))).contains("empty geometry"));
        let line = Geometry::LineString(LineString::from(vec![(0.0, 0.0), (1.0, 1.0)]));
        assert!(reasons(&line).contains("found a LineString"));
    }

    #[test]
    fn source_rings_must_be_closed_with_four_positions() {
        let open = [
            coord! {x: 0.0, y: 0.0},
            coord! {x: 1.0, y: 0.0},
            coord! {x: 1.0, y: 1.0},
            coord! {x: 0.0, y: 1.0},
        ];
        assert!(
            check_source_ring(&open)
                .expect_err("open")
                .contains("not closed")
        );
        assert!(
            check_source_ring(&open[..3])
                .expect_err("short")
                .contains("3 positions")
        );
        let mut closed = open.to_vec();
        closed.push(open[0]);
        assert!(check_source_ring(&closed).is_ok());
    }

    #[test]
    fn overlapping_parts_are_rejected_touching_parts_accepted() {
        let touching = MultiPolygon(vec![square(0.0, 0.0, 1.0), square(1.0, 0.0, 1.0)]);
        assert!(validate_boundary(&Geometry::MultiPolygon(touching)).is_ok());
        let overlapping = MultiPolygon(vec![square(0.0, 0.0, 1.0), square(0.5, 0.5, 1.0)]);
        assert!(reasons(&Geometry::MultiPolygon(overlapping)).contains("parts overlap"));
    }

    #[test]
    fn hole_outside_shell_is_invalid() {
        let p = Polygon::new(
            square(0.0, 0.0, 1.0).exterior().clone(),
            vec![square(5.0, 5.0, 1.0).exterior().clone()],
        );
        assert!(reasons(&Geometry::Polygon(p)).contains("invalid per OGC"));
    }
}
