//! GeoJSON (RFC 7946) `FeatureCollection` or `Feature`.

use std::collections::BTreeMap;

use geo_types::Coord;
use gridmap_core::import::{Problem, SourceFeature};
use gridmap_core::validate::check_source_ring;
use serde_json::{Map, Value};

use super::SourceError;

fn malformed(field: impl Into<String>, reason: impl Into<String>) -> SourceError {
    SourceError::Malformed {
        what: "GeoJSON",
        field: field.into(),
        reason: reason.into(),
    }
}

/// Parses GeoJSON bytes (a file or an HTTP body) into features.
pub fn read_geojson_bytes(bytes: &[u8]) -> Result<Vec<SourceFeature>, SourceError> {
    let json: Value = serde_json::from_slice(bytes).map_err(|e| SourceError::Malformed {
        what: "JSON",
        field: format!("line {} column {}", e.line(), e.column()),
        reason: e.to_string(),
    })?;
    let Value::Object(root) = json else {
        return Err(malformed("$", "expected a GeoJSON object"));
    };
    let features: Vec<(String, &Map<String, Value>)> = match type_of(&root, "$")? {
        "FeatureCollection" => {
            let Some(Value::Array(items)) = root.get("features") else {
                return Err(malformed(
                    "features",
                    "a FeatureCollection needs a `features` array",
                ));
            };
            items
                .iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::Object(o) => Ok((format!("features[{i}]"), o)),
                    _ => Err(malformed(
                        format!("features[{i}]"),
                        "expected a Feature object",
                    )),
                })
                .collect::<Result<_, _>>()?
        }
        "Feature" => vec![("$".to_owned(), &root)],
        other => {
            return Err(malformed(
                "type",
                format!("expected a FeatureCollection or Feature, found `{other}`"),
            ));
        }
    };
    let mut out = Vec::with_capacity(features.len());
    let mut problems = Vec::new();
    for (number, (path, feature)) in features.into_iter().enumerate() {
        if type_of(feature, &path)? != "Feature" {
            return Err(malformed(format!("{path}.type"), "expected `Feature`"));
        }
        let properties = match feature.get("properties") {
            None | Some(Value::Null) => BTreeMap::new(),
            Some(Value::Object(props)) => props
                .iter()
                .filter_map(|(k, v)| property_text(v).map(|t| (k.clone(), t)))
                .collect(),
            Some(_) => {
                return Err(malformed(
                    format!("{path}.properties"),
                    "expected an object or null",
                ));
            }
        };
        let geometry = match feature.get("geometry") {
            None | Some(Value::Null) => None,
            Some(g) => match geometry(g, &format!("{path}.geometry")) {
                Ok(g) => Some(g),
                Err(reason) => {
                    problems.push(Problem {
                        feature: Some(number),
                        code: None,
                        field: "geometry".to_owned(),
                        reason,
                    });
                    continue;
                }
            },
        };
        out.push(SourceFeature {
            number,
            properties,
            geometry,
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(SourceError::Features(problems))
    }
}

fn type_of<'a>(object: &'a Map<String, Value>, path: &str) -> Result<&'a str, SourceError> {
    match object.get("type") {
        Some(Value::String(t)) => Ok(t),
        _ => Err(malformed(
            if path == "$" {
                "type".to_owned()
            } else {
                format!("{path}.type")
            },
            "missing or non-string `type` member",
        )),
    }
}

/// Properties as text: strings as they are, numbers as written, booleans as `true`/`false`, nested
/// values as JSON; null means absent.
fn property_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        other => Some(other.to_string()),
    }
}

/// Converts a geometry, first checking every ring as written (conversion would silently close it).
fn geometry(value: &Value, path: &str) -> Result<geo_types::Geometry<f64>, String> {
    let g = geojson::Geometry::from_json_value(value.clone())
        .map_err(|e| format!("{path}: not a GeoJSON geometry: {e}"))?;
    let rings: Vec<&Vec<Vec<f64>>> = match &g.value {
        geojson::Value::Polygon(rings) => rings.iter().collect(),
        geojson::Value::MultiPolygon(polys) => polys.iter().flatten().collect(),
        _ => Vec::new(),
    };
    for (r, ring) in rings.iter().enumerate() {
        let mut coords = Vec::with_capacity(ring.len());
        for (k, p) in ring.iter().enumerate() {
            if p.len() < 2 {
                return Err(format!(
                    "{path}: ring {r}, position {k} has fewer than 2 numbers"
                ));
            }
            coords.push(Coord { x: p[0], y: p[1] });
        }
        check_source_ring(&coords).map_err(|e| format!("{path}: ring {r}: {e}"))?;
    }
    geo_types::Geometry::<f64>::try_from(g).map_err(|e| format!("{path}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_properties_as_text_and_geometry() {
        let text = br#"{"type":"FeatureCollection","features":[
            {"type":"Feature","properties":{"DIST_NUM":"17","n":17,"f":1.5,"b":true,"z":null},
             "geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}},
            {"type":"Feature","properties":null,"geometry":null}]}"#;
        let features = read_geojson_bytes(text).expect("valid");
        assert_eq!(features.len(), 2);
        let p = &features[0].properties;
        assert_eq!(p["DIST_NUM"], "17");
        assert_eq!(p["n"], "17");
        assert_eq!(p["f"], "1.5");
        assert_eq!(p["b"], "true");
        assert!(!p.contains_key("z"));
        assert!(features[1].geometry.is_none());
    }

    #[test]
    fn rejects_malformed_json_and_non_geojson_naming_the_place() {
        let e = read_geojson_bytes(b"{\"type\": \"FeatureCollection\",\n \"features\": [}")
            .expect_err("bad");
        assert!(e.to_string().contains("line 2"), "{e}");
        let e = read_geojson_bytes(br#"{"hello": 1}"#).expect_err("no type");
        assert!(e.to_string().contains("type"), "{e}");
        let e = read_geojson_bytes(br#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":"x"}}]}"#)
            .expect_err("bad geometry");
        assert!(e.to_string().contains("features[0].geometry"), "{e}");
    }

    #[test]
    fn reports_unclosed_and_short_rings_per_feature() {
        let text = br#"{"type":"FeatureCollection","features":[
            {"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}},
            {"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[0,0]]]}}]}"#;
        let SourceError::Features(problems) = read_geojson_bytes(text).expect_err("bad rings")
        else {
            panic!("expected feature problems");
        };
        assert_eq!(problems[0].feature, Some(0));
        assert!(problems[0].reason.contains("not closed"));
        assert_eq!(problems[1].feature, Some(1));
        assert!(problems[1].reason.contains("at least 4"));
    }
}
