//! Serde of `geo_types` as RFC 7946 `GeoJSON`, for `#[serde(with = ...)]` on the plan's wire types.
//!
//! geo-types' own serde writes `{"x": .., "y": ..}` structs, which no map library reads; these modules write and
//! read `GeoJSON` geometry objects through the `geojson` crate's conversions instead. A `MultiPolygon` field
//! also accepts a `Polygon`; a list of lines accepts `LineString`s and `MultiLineString`s (flattened); a
//! position is `[lon, lat]`.

use geo_types::{Coord, Geometry, LineString, MultiPolygon};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

fn to_geojson(g: &Geometry<f64>) -> geojson::Geometry {
    geojson::Geometry::new(geojson::Value::from(g))
}

fn from_geojson<E: serde::de::Error>(g: geojson::Geometry) -> Result<Geometry<f64>, E> {
    Geometry::<f64>::try_from(g).map_err(E::custom)
}

/// A `MultiPolygon` as a `GeoJSON` `MultiPolygon` (a `Polygon` is accepted on input).
pub mod multi_polygon {
    use super::{Deserialize, Deserializer, Geometry, MultiPolygon, Serialize, Serializer};

    pub fn serialize<S: Serializer>(mp: &MultiPolygon<f64>, s: S) -> Result<S::Ok, S::Error> {
        super::to_geojson(&Geometry::MultiPolygon(mp.clone())).serialize(s)
    }

    /// Rings are rewound to RFC 7946's order (exteriors counter-clockwise, holes clockwise): GEOS, PostGIS and
    /// older clients send clockwise exteriors, which the boolean operations of validation would read as holes.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<MultiPolygon<f64>, D::Error> {
        let mut mp = match super::from_geojson(geojson::Geometry::deserialize(d)?)? {
            Geometry::MultiPolygon(mp) => mp,
            Geometry::Polygon(p) => MultiPolygon(vec![p]),
            _ => {
                return Err(serde::de::Error::custom(
                    "expected a Polygon or MultiPolygon",
                ));
            }
        };
        crate::validate::normalise_winding(&mut mp.0);
        Ok(mp)
    }
}

/// A list of lines as an array of `GeoJSON` `LineString`s.
pub mod line_strings {
    use super::{Deserialize, Deserializer, Geometry, LineString, Serialize, Serializer};

    pub fn serialize<S: Serializer>(lines: &[LineString<f64>], s: S) -> Result<S::Ok, S::Error> {
        lines
            .iter()
            .map(|l| super::to_geojson(&Geometry::LineString(l.clone())))
            .collect::<Vec<_>>()
            .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<LineString<f64>>, D::Error> {
        let mut out = Vec::new();
        for g in Vec::<geojson::Geometry>::deserialize(d)? {
            match super::from_geojson(g)? {
                Geometry::LineString(l) => out.push(l),
                Geometry::MultiLineString(ml) => out.extend(ml.0),
                _ => return Err(serde::de::Error::custom("expected LineString geometries")),
            }
        }
        Ok(out)
    }
}

/// A position as `[lon, lat]`.
pub mod position {
    use super::{Coord, Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(c: &Coord<f64>, s: S) -> Result<S::Ok, S::Error> {
        [c.x, c.y].serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Coord<f64>, D::Error> {
        let [x, y] = <[f64; 2]>::deserialize(d)?;
        Ok(Coord { x, y })
    }
}

/// An optional position as `[lon, lat]` or `null`.
pub mod position_opt {
    use super::{Coord, Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(c: &Option<Coord<f64>>, s: S) -> Result<S::Ok, S::Error> {
        c.map(|c| [c.x, c.y]).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Coord<f64>>, D::Error> {
        Ok(Option::<[f64; 2]>::deserialize(d)?.map(|[x, y]| Coord { x, y }))
    }
}

/// An optional geometry as a `GeoJSON` geometry object or `null`.
pub mod geometry_opt {
    use super::{Deserialize, Deserializer, Geometry, Serialize, Serializer};

    pub fn serialize<S: Serializer>(g: &Option<Geometry<f64>>, s: S) -> Result<S::Ok, S::Error> {
        g.as_ref().map(super::to_geojson).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Geometry<f64>>, D::Error> {
        Option::<geojson::Geometry>::deserialize(d)?
            .map(super::from_geojson)
            .transpose()
    }
}

/// A geometry as a `GeoJSON` geometry object (for callers outside serde, e.g. the server's responses).
pub fn geometry_to_geojson(g: &Geometry<f64>) -> geojson::Geometry {
    to_geojson(g)
}

#[cfg(test)]
mod tests {
    use crate::plan::{Plan, PlanEdit};
    use geo_types::{coord, line_string};

    #[test]
    fn edits_round_trip_as_geojson() {
        let plan = Plan {
            edits: vec![
                PlanEdit::Split {
                    code: "g".into(),
                    lines: vec![line_string![(x: 0.0, y: 0.5), (x: 1.0, y: 0.5)]],
                    new_codes: vec!["a".into(), "b".into()],
                    new_names: vec![],
                },
                PlanEdit::MoveVertex {
                    from: coord! {x: 1.0, y: 2.0},
                    to: coord! {x: 1.5, y: 2.0},
                    tolerance_m: 0.5,
                },
            ],
            base_versions: [("g".to_owned(), 3)].into(),
            ..Plan::default()
        };
        let json = serde_json::to_value(&plan).expect("serialise");
        assert_eq!(json["edits"][0]["op"], "split");
        assert_eq!(json["edits"][0]["lines"][0]["type"], "LineString");
        assert_eq!(
            json["edits"][0]["lines"][0]["coordinates"],
            serde_json::json!([[0.0, 0.5], [1.0, 0.5]])
        );
        assert_eq!(json["edits"][1]["op"], "move_vertex");
        assert_eq!(json["edits"][1]["from"], serde_json::json!([1.0, 2.0]));
        let back: Plan = serde_json::from_value(json).expect("deserialise");
        assert_eq!(back, plan);
    }

    #[test]
    fn a_polygon_is_accepted_where_a_multipolygon_is_expected() {
        let edit: PlanEdit = serde_json::from_str(
            r#"{"op":"reshape","code":"g","geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}"#,
        )
        .expect("polygon");
        let PlanEdit::Reshape { geometry, .. } = edit else {
            panic!("reshape expected");
        };
        assert_eq!(geometry.0.len(), 1);
        let bad = serde_json::from_str::<PlanEdit>(
            r#"{"op":"reshape","code":"g","geometry":{"type":"Point","coordinates":[0,0]}}"#,
        );
        assert!(bad.is_err());
    }

    /// A clockwise exterior (as GEOS and PostGIS write them) comes back counter-clockwise, its hole clockwise,
    /// so validation's unions read it as ground, not as a hole.
    #[test]
    fn rings_are_rewound_to_rfc_7946_order() {
        use geo::Winding;
        let edit: PlanEdit = serde_json::from_str(
            r#"{"op":"reshape","code":"g","geometry":{"type":"Polygon","coordinates":[
                [[0,0],[0,4],[4,4],[4,0],[0,0]],
                [[1,1],[2,1],[2,2],[1,2],[1,1]]]}}"#,
        )
        .expect("polygon");
        let PlanEdit::Reshape { geometry, .. } = edit else {
            panic!("reshape expected");
        };
        assert!(geometry.0[0].exterior().is_ccw());
        assert!(geometry.0[0].interiors()[0].is_cw());
        assert!((geo::Area::signed_area(&geometry) - 15.0).abs() < 1e-12);
    }
}
