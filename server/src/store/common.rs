//! What both backends share: row ↔ model conversions, ring orientation, time precision.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{DateTime, SubsecRound, Utc};
use geo::Winding;
use geo_types::{Geometry, LineString, MultiPolygon};
use geozero::wkb::{FromWkb, WkbDialect};
use gridmap_core::{Area, ExcludedGround, ExcludedKind, GridKind, Level, StaffMember, StaffRole};

use super::StoreError;

/// Stored times have millisecond precision (what a GeoPackage `DATETIME` holds); both backends
/// truncate the same way so that they return identical versions.
pub(crate) fn stored_time(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(3)
}

/// Exterior rings counter-clockwise, holes clockwise (RFC 7946), whatever an editor stored.
pub(crate) fn orient(geometry: &mut MultiPolygon<f64>) {
    for polygon in &mut geometry.0 {
        polygon.exterior_mut(Winding::make_ccw_winding);
        polygon.interiors_mut(|holes| {
            for hole in holes {
                hole.make_cw_winding();
            }
        });
    }
}

/// True when [`orient`] would change nothing, so writes only copy geometries that need it.
pub(crate) fn is_oriented(geometry: &MultiPolygon<f64>) -> bool {
    geometry.0.iter().all(|polygon| {
        !polygon.exterior().is_cw() && polygon.interiors().iter().all(|hole| !hole.is_ccw())
    })
}

/// The geometry as written: oriented, non-empty.
pub(crate) fn oriented_geometry(area: &Area) -> Result<Geometry<f64>, StoreError> {
    oriented_multipolygon(&format!("area `{}`", area.code), &area.geometry)
}

/// A multipolygon as written (`what` names it in errors): oriented, non-empty.
pub(crate) fn oriented_multipolygon(
    what: &str,
    geometry: &MultiPolygon<f64>,
) -> Result<Geometry<f64>, StoreError> {
    if geometry.0.is_empty() {
        return Err(StoreError::Invalid(format!("{what} has an empty geometry")));
    }
    let mut geometry = geometry.clone();
    if !is_oriented(&geometry) {
        orient(&mut geometry);
    }
    Ok(Geometry::MultiPolygon(geometry))
}

/// Decodes a stored multipolygon (`dialect` says how it is framed) and orients its rings.
pub(crate) fn decode_multipolygon(
    code: &str,
    bytes: &[u8],
    dialect: WkbDialect,
) -> Result<MultiPolygon<f64>, StoreError> {
    let geometry =
        Geometry::from_wkb(&mut &bytes[..], dialect).map_err(|e| geometry_error(code, &e))?;
    let mut multi = match geometry {
        Geometry::MultiPolygon(multi) => multi,
        // Editors may store a plain polygon in a MultiPolygon column of a GeoPackage.
        Geometry::Polygon(polygon) => MultiPolygon(vec![polygon]),
        other => {
            return Err(StoreError::Geometry {
                code: code.to_owned(),
                reason: format!("expected a multipolygon, found {}", geometry_name(&other)),
            });
        }
    };
    if !is_oriented(&multi) {
        orient(&mut multi);
    }
    Ok(multi)
}

pub(crate) fn decode_linestring(
    what: &str,
    bytes: &[u8],
    dialect: WkbDialect,
) -> Result<LineString<f64>, StoreError> {
    match Geometry::from_wkb(&mut &bytes[..], dialect).map_err(|e| geometry_error(what, &e))? {
        Geometry::LineString(line) => Ok(line),
        other => Err(StoreError::Geometry {
            code: what.to_owned(),
            reason: format!("expected a linestring, found {}", geometry_name(&other)),
        }),
    }
}

pub(crate) fn geometry_error(code: &str, error: &geozero::error::GeozeroError) -> StoreError {
    StoreError::Geometry {
        code: code.to_owned(),
        reason: error.to_string(),
    }
}

fn geometry_name(geometry: &Geometry<f64>) -> &'static str {
    match geometry {
        Geometry::Point(_) => "a point",
        Geometry::Line(_) | Geometry::LineString(_) => "a linestring",
        Geometry::Polygon(_) => "a polygon",
        Geometry::MultiPoint(_) => "a multipoint",
        Geometry::MultiLineString(_) => "a multilinestring",
        Geometry::MultiPolygon(_) => "a multipolygon",
        Geometry::GeometryCollection(_) => "a geometry collection",
        Geometry::Rect(_) => "a rectangle",
        Geometry::Triangle(_) => "a triangle",
    }
}

pub(crate) fn parse_level(code: &str, level: &str) -> Result<Level, StoreError> {
    Level::from_str(level)
        .map_err(|_| StoreError::Invalid(format!("area `{code}` has unknown level `{level}`")))
}

pub(crate) fn parse_kind(code: &str, kind: Option<&str>) -> Result<Option<GridKind>, StoreError> {
    kind.map(|kind| {
        GridKind::from_str(kind)
            .map_err(|_| StoreError::Invalid(format!("area `{code}` has unknown kind `{kind}`")))
    })
    .transpose()
}

pub(crate) fn parse_role(code: &str, role: &str) -> Result<StaffRole, StoreError> {
    StaffRole::from_str(role)
        .map_err(|_| StoreError::Invalid(format!("staff of `{code}` has unknown role `{role}`")))
}

/// Staff rows (area code, member), in stored order, grouped by area code.
pub(crate) fn group_staff(
    rows: impl IntoIterator<Item = (String, StaffMember)>,
) -> HashMap<String, Vec<StaffMember>> {
    let mut by_code: HashMap<String, Vec<StaffMember>> = HashMap::new();
    for (code, member) in rows {
        by_code.entry(code).or_default().push(member);
    }
    by_code
}

/// Rows per statement for batch inserts: large enough to amortise a round trip, small enough
/// for SQLite's bound-parameter limit.
pub(crate) const SQLITE_BATCH_ROWS: usize = 500;
pub(crate) const POSTGRES_BATCH_ROWS: usize = 5_000;

/// `(code, name, level, kind, parent_code, geometry)` as both stores select them.
pub(crate) type AreaRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Vec<u8>,
);

/// An area from its stored row; staff is attached by the caller.
pub(crate) fn area_from_row(dialect: WkbDialect, row: AreaRow) -> Result<Area, StoreError> {
    let (code, name, level, kind, parent, geom) = row;
    Ok(Area {
        level: parse_level(&code, &level)?,
        kind: parse_kind(&code, kind.as_deref())?,
        geometry: decode_multipolygon(&code, &geom, dialect)?,
        code,
        name,
        parent,
        staff: Vec::new(),
    })
}

/// `(name, class or kind, geometry)` as both stores select roads and excluded ground.
pub(crate) type NamedRow = (String, String, Vec<u8>);

/// Excluded ground from its stored row.
pub(crate) fn excluded_from_row(
    dialect: WkbDialect,
    (name, kind, geom): NamedRow,
) -> Result<ExcludedGround, StoreError> {
    let what = format!("excluded ground `{name}`");
    Ok(ExcludedGround {
        kind: ExcludedKind::from_str(&kind)
            .map_err(|_| StoreError::Invalid(format!("{what} has unknown kind `{kind}`")))?,
        geometry: decode_multipolygon(&what, &geom, dialect)?,
        name,
    })
}

/// Excluded ground's geometries as written: oriented, non-empty.
pub(crate) fn oriented_excluded(
    ground: &[ExcludedGround],
) -> Result<Vec<Geometry<f64>>, StoreError> {
    ground
        .iter()
        .map(|g| oriented_multipolygon(&format!("excluded ground `{}`", g.name), &g.geometry))
        .collect()
}

/// Ground handed to [`AreaStore::replace_excluded`](super::AreaStore::replace_excluded) must all be of the
/// kind replaced, else a later replacement of its own kind would leave it behind.
pub(crate) fn check_excluded_kind(
    kind: ExcludedKind,
    ground: &[ExcludedGround],
) -> Result<(), StoreError> {
    match ground.iter().find(|g| g.kind != kind) {
        Some(g) => Err(StoreError::Invalid(format!(
            "excluded ground `{}` is {}, not {kind}",
            g.name, g.kind
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{Polygon, polygon};

    fn signed_area(ring: &LineString<f64>) -> f64 {
        ring.0
            .windows(2)
            .map(|w| w[0].x * w[1].y - w[1].x * w[0].y)
            .sum::<f64>()
            / 2.0
    }

    #[test]
    fn orient_makes_exteriors_ccw_and_holes_cw() {
        // Exterior clockwise, hole counter-clockwise: both wrong.
        let exterior = LineString::from(vec![
            (0.0, 0.0),
            (0.0, 4.0),
            (4.0, 4.0),
            (4.0, 0.0),
            (0.0, 0.0),
        ]);
        let hole = LineString::from(vec![
            (1.0, 1.0),
            (2.0, 1.0),
            (2.0, 2.0),
            (1.0, 2.0),
            (1.0, 1.0),
        ]);
        let mut multi = MultiPolygon(vec![Polygon::new(exterior, vec![hole])]);
        assert!(!is_oriented(&multi));
        orient(&mut multi);
        assert!(is_oriented(&multi));
        assert!(signed_area(multi.0[0].exterior()) > 0.0);
        assert!(signed_area(&multi.0[0].interiors()[0]) < 0.0);
        // Already oriented input is left exactly as is.
        let good = MultiPolygon(vec![
            polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0)],
        ]);
        let mut same = good.clone();
        orient(&mut same);
        assert_eq!(same, good);
    }

    #[test]
    fn stored_time_keeps_milliseconds() {
        let at = DateTime::from_timestamp(1_700_000_000, 123_456_789).expect("valid time");
        assert_eq!(stored_time(at).timestamp_subsec_nanos(), 123_000_000);
    }
}
