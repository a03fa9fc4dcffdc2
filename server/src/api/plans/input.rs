//! Checking a plan's edits as sent, field by field, so that a mistake is named `edits/INDEX/FIELD` (JSON
//! pointer without the leading slash, as the other endpoints name fields) before serde sees the edit.
//!
//! A plan's `rules` are checked the same way, named `rules/FIELD`.
//!
//! Geometries must be valid boundaries (`gridmap_core::validate`: closed rings of at least four positions,
//! finite lon/lat in range, no self-intersection); lines need two positions or more; positions are
//! `[lon, lat]`.

use geo_types::{Coord, Geometry};
use gridmap_core::plan::{PlanEdit, PlanRules, ValidationRules};
use gridmap_core::validate::{check_lon_lat, check_source_ring, validate_boundary};
use gridmap_core::{GridKind, Level, StaffMember};
use serde_json::{Map, Value};

use crate::error::FieldError;

/// Longest code or name in an edit, in characters.
const MAX_TEXT_CHARS: usize = 200;

/// What each operation needs, by field.
#[derive(Clone, Copy)]
enum Field {
    Text,
    OptionalText,
    Texts,
    OptionalTexts,
    Boundary,
    Lines,
    Position,
    Tolerance,
    Draft,
}

fn fields(op: &str) -> Option<&'static [(&'static str, Field)]> {
    use Field::{Boundary, Draft, Lines, Position, Text, Texts, Tolerance};
    Some(match op {
        "reshape" => &[("code", Text), ("geometry", Boundary)],
        "split" => &[
            ("code", Text),
            ("lines", Lines),
            ("new_codes", Texts),
            ("new_names", Field::OptionalTexts),
        ],
        "merge" => &[("codes", Texts), ("into_code", Text), ("into_name", Text)],
        "create" => &[("area", Draft)],
        "retire" => &[("code", Text)],
        "move_parent" => &[("code", Text), ("new_parent", Text)],
        "rename" => &[("code", Text), ("new_name", Text)],
        "recode" => &[("code", Text), ("new_code", Text)],
        "move_vertex" => &[
            ("from", Position),
            ("to", Position),
            ("tolerance_m", Tolerance),
        ],
        "renumber" => &[("parent", Text)],
        _ => return None,
    })
}

const OPS: &str =
    "reshape, split, merge, create, retire, move_parent, rename, recode, move_vertex, renumber";

const RULES: &str =
    "overlap_tolerance_m, gap_tolerance_m2, min_grid_area_m2, max_grid_area_m2, check_numbering";

/// A plan's `rules` object: any of the fields of [`ValidationRules`]; numbers ≥ 0, `null` for no area limit,
/// `check_numbering` a boolean. Checked again over the server's `defaults` (a minimum above the maximum,
/// named on the field the plan gave).
pub fn parse_rules(
    value: &Value,
    defaults: &ValidationRules,
) -> Result<PlanRules, Vec<FieldError>> {
    let Some(object) = value.as_object() else {
        return Err(vec![FieldError::new(
            "rules",
            format!("must be an object with any of {RULES}"),
        )]);
    };
    let mut errors = Vec::new();
    let mut rules = PlanRules::default();
    for (name, v) in object {
        let path = format!("rules/{name}");
        let amount = || v.as_f64().filter(|x| x.is_finite() && *x >= 0.0);
        let bad_amount = || FieldError::new(&path, "must be a number ≥ 0");
        match name.as_str() {
            "overlap_tolerance_m" => match amount() {
                Some(x) => rules.overlap_tolerance_m = Some(x),
                None => errors.push(bad_amount()),
            },
            "gap_tolerance_m2" => match amount() {
                Some(x) => rules.gap_tolerance_m2 = Some(x),
                None => errors.push(bad_amount()),
            },
            "min_grid_area_m2" | "max_grid_area_m2" => {
                let limit = match v {
                    Value::Null => Some(None),
                    _ => amount().map(Some),
                };
                match (limit, name.as_str()) {
                    (Some(l), "min_grid_area_m2") => rules.min_grid_area_m2 = Some(l),
                    (Some(l), _) => rules.max_grid_area_m2 = Some(l),
                    (None, _) => errors.push(FieldError::new(
                        &path,
                        "must be a number of m² ≥ 0, or null for no limit",
                    )),
                }
            }
            "check_numbering" => match v.as_bool() {
                Some(b) => rules.check_numbering = Some(b),
                None => errors.push(FieldError::new(&path, "must be true or false")),
            },
            _ => errors.push(FieldError::new(
                &path,
                format!("unknown rule; expected one of {RULES}"),
            )),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let defects = rules.over(defaults).defects();
    if defects.is_empty() {
        return Ok(rules);
    }
    Err(defects
        .into_iter()
        .map(|(field, reason)| {
            // The minimum above the maximum: name the limit the plan set (the server's are checked at start).
            let field = if field == "min_grid_area_m2" && rules.min_grid_area_m2.is_none() {
                "max_grid_area_m2"
            } else {
                field
            };
            FieldError::new(format!("rules/{field}"), reason)
        })
        .collect())
}

/// The edits of `value` (a JSON array), or every field at fault.
pub fn parse_edits(value: Option<&Value>) -> Result<Vec<PlanEdit>, Vec<FieldError>> {
    let Some(value) = value else {
        return Err(vec![FieldError::new(
            "edits",
            "required: an array of edits",
        )]);
    };
    let Some(items) = value.as_array() else {
        return Err(vec![FieldError::new("edits", "must be an array of edits")]);
    };
    let mut errors = Vec::new();
    let mut edits = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match parse_edit(&format!("edits/{i}"), item) {
            Ok(edit) => edits.push(edit),
            Err(mut e) => errors.append(&mut e),
        }
    }
    if errors.is_empty() {
        Ok(edits)
    } else {
        Err(errors)
    }
}

fn parse_edit(at: &str, item: &Value) -> Result<PlanEdit, Vec<FieldError>> {
    let Some(object) = item.as_object() else {
        return Err(vec![FieldError::new(at, "an edit is a JSON object")]);
    };
    let op = match object.get("op") {
        Some(Value::String(op)) => op.as_str(),
        Some(_) => {
            return Err(vec![FieldError::new(
                format!("{at}/op"),
                "must be a string",
            )]);
        }
        None => {
            return Err(vec![FieldError::new(
                format!("{at}/op"),
                format!("required: one of {OPS}"),
            )]);
        }
    };
    let Some(spec) = fields(op) else {
        return Err(vec![FieldError::new(
            format!("{at}/op"),
            format!("unknown operation `{op}`; expected one of {OPS}"),
        )]);
    };
    let mut errors = Vec::new();
    check_fields(at, object, spec, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    serde_json::from_value(item.clone()).map_err(|e| vec![FieldError::new(at, e.to_string())])
}

fn check_fields(
    at: &str,
    object: &Map<String, Value>,
    spec: &[(&str, Field)],
    errors: &mut Vec<FieldError>,
) {
    for &(name, kind) in spec {
        let path = format!("{at}/{name}");
        let optional = matches!(kind, Field::OptionalText | Field::OptionalTexts);
        match object.get(name) {
            None | Some(Value::Null) if optional => {}
            None | Some(Value::Null) => errors.push(FieldError::new(path, "required")),
            Some(value) => check_field(&path, value, kind, errors),
        }
    }
}

fn check_field(path: &str, value: &Value, kind: Field, errors: &mut Vec<FieldError>) {
    match kind {
        Field::Text | Field::OptionalText => check_text(path, value, errors),
        Field::Texts | Field::OptionalTexts => match value.as_array() {
            Some(items) => {
                for (k, item) in items.iter().enumerate() {
                    check_text(&format!("{path}/{k}"), item, errors);
                }
            }
            None => errors.push(FieldError::new(path, "must be an array of strings")),
        },
        Field::Boundary => {
            if let Err(reason) = boundary(value) {
                errors.push(FieldError::new(path, reason));
            }
        }
        Field::Lines => check_lines(path, value, errors),
        Field::Position => {
            if let Err(reason) = position(value) {
                errors.push(FieldError::new(path, reason));
            }
        }
        Field::Tolerance => match value.as_f64() {
            Some(m) if m.is_finite() && m >= 0.0 => {}
            _ => errors.push(FieldError::new(path, "must be a number of metres ≥ 0")),
        },
        Field::Draft => check_draft(path, value, errors),
    }
}

fn check_text(path: &str, value: &Value, errors: &mut Vec<FieldError>) {
    match value.as_str() {
        Some(text) if text.trim().is_empty() => {
            errors.push(FieldError::new(path, "must not be empty"));
        }
        Some(text) if text.chars().count() > MAX_TEXT_CHARS => errors.push(FieldError::new(
            path,
            format!("longer than {MAX_TEXT_CHARS} characters"),
        )),
        Some(_) => {}
        None => errors.push(FieldError::new(path, "must be a string")),
    }
}

/// `[lon, lat]` (a third number, an altitude, is ignored as RFC 7946 allows).
fn position(value: &Value) -> Result<Coord<f64>, String> {
    let numbers: Option<Vec<f64>> = value
        .as_array()
        .map(|items| items.iter().map(Value::as_f64).collect())
        .and_then(|v: Option<Vec<f64>>| v);
    match numbers.as_deref() {
        Some([x, y] | [x, y, _]) => {
            let c = Coord { x: *x, y: *y };
            check_lon_lat(c).map(|()| c)
        }
        _ => Err("a position is [lon, lat]: two numbers".to_owned()),
    }
}

/// Positions of a ring or line, each checked.
fn positions(value: &Value) -> Result<Vec<Coord<f64>>, String> {
    let items = value
        .as_array()
        .ok_or_else(|| "expected an array of positions".to_owned())?;
    items
        .iter()
        .enumerate()
        .map(|(k, p)| position(p).map_err(|e| format!("position {k}: {e}")))
        .collect()
}

fn geometry_type(value: &Value) -> Option<&str> {
    value.get("type").and_then(Value::as_str)
}

/// A Polygon or MultiPolygon that is a valid boundary.
fn boundary(value: &Value) -> Result<(), String> {
    let polygons: Vec<&Value> = match (geometry_type(value), value.get("coordinates")) {
        (Some("Polygon"), Some(c)) => vec![c],
        (Some("MultiPolygon"), Some(Value::Array(ps))) => ps.iter().collect(),
        (Some("Polygon" | "MultiPolygon"), _) => {
            return Err("`coordinates` missing or not an array".to_owned());
        }
        _ => return Err("expected a GeoJSON Polygon or MultiPolygon".to_owned()),
    };
    for (i, polygon) in polygons.iter().enumerate() {
        let rings = polygon
            .as_array()
            .ok_or_else(|| format!("polygon {i}: expected an array of rings"))?;
        for (r, ring) in rings.iter().enumerate() {
            let coords = positions(ring).map_err(|e| format!("polygon {i}, ring {r}: {e}"))?;
            check_source_ring(&coords).map_err(|e| format!("polygon {i}, ring {r}: {e}"))?;
        }
    }
    let geometry: geojson::Geometry =
        serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
    let geometry = Geometry::<f64>::try_from(geometry).map_err(|e| e.to_string())?;
    validate_boundary(&geometry).map(|_| ()).map_err(|defects| {
        defects
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// An array of `LineString`s (or `MultiLineString`s) of two positions or more.
fn check_lines(path: &str, value: &Value, errors: &mut Vec<FieldError>) {
    let Some(items) = value.as_array().filter(|items| !items.is_empty()) else {
        errors.push(FieldError::new(
            path,
            "must be a non-empty array of GeoJSON LineStrings",
        ));
        return;
    };
    for (k, line) in items.iter().enumerate() {
        let parts: Vec<&Value> = match (geometry_type(line), line.get("coordinates")) {
            (Some("LineString"), Some(c)) => vec![c],
            (Some("MultiLineString"), Some(Value::Array(ls))) => ls.iter().collect(),
            _ => {
                errors.push(FieldError::new(
                    format!("{path}/{k}"),
                    "expected a GeoJSON LineString",
                ));
                continue;
            }
        };
        for part in parts {
            match positions(part) {
                Ok(coords) if coords.len() >= 2 => {}
                Ok(_) => errors.push(FieldError::new(
                    format!("{path}/{k}"),
                    "a line needs at least two positions",
                )),
                Err(e) => errors.push(FieldError::new(format!("{path}/{k}"), e)),
            }
        }
    }
}

/// A new area: code, name, level, optional kind, parent and staff, and its boundary.
fn check_draft(path: &str, value: &Value, errors: &mut Vec<FieldError>) {
    let Some(object) = value.as_object() else {
        errors.push(FieldError::new(path, "must be an object (a new area)"));
        return;
    };
    check_fields(
        path,
        object,
        &[
            ("code", Field::Text),
            ("name", Field::Text),
            ("level", Field::Text),
            ("kind", Field::OptionalText),
            ("parent", Field::OptionalText),
            ("geometry", Field::Boundary),
        ],
        errors,
    );
    if let Some(level) = object.get("level").and_then(Value::as_str)
        && level.parse::<Level>().is_err()
    {
        errors.push(FieldError::new(
            format!("{path}/level"),
            format!("unknown level `{level}`"),
        ));
    }
    if let Some(kind) = object.get("kind").and_then(Value::as_str)
        && kind.parse::<GridKind>().is_err()
    {
        errors.push(FieldError::new(
            format!("{path}/kind"),
            format!("unknown kind `{kind}`"),
        ));
    }
    if let Some(staff) = object.get("staff").filter(|s| !s.is_null())
        && let Err(e) = serde_json::from_value::<Vec<StaffMember>>(staff.clone())
    {
        errors.push(FieldError::new(format!("{path}/staff"), e.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields_of(value: &Value) -> Vec<String> {
        parse_edits(Some(value))
            .expect_err("should be rejected")
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn names_the_field_at_fault() {
        let square =
            json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]});
        let bowtie =
            json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]});
        let edits = json!([
            {"op": "reshape", "code": "a", "geometry": square},
            {"op": "reshape", "code": "a", "geometry": bowtie},
            {"op": "explode", "code": "a"},
            {"op": "split", "code": "a", "lines": [{"type": "LineString", "coordinates": [[0, 0], [200, 1]]}], "new_codes": ["x", "y"]},
            {"op": "move_vertex", "from": [0, 0], "to": [1, "north"], "tolerance_m": 1},
            {"op": "rename", "code": "a"},
            {"op": "merge", "codes": ["a", 7], "into_code": "a", "into_name": "A"},
        ]);
        assert_eq!(
            fields_of(&edits),
            [
                "edits/1/geometry",
                "edits/2/op",
                "edits/3/lines/0",
                "edits/4/to",
                "edits/5/new_name",
                "edits/6/codes/1"
            ]
        );
        assert!(
            parse_edits(Some(
                &json!([{"op": "reshape", "code": "a", "geometry": square}])
            ))
            .is_ok()
        );
    }

    #[test]
    fn names_the_rule_at_fault() {
        let defaults = ValidationRules {
            max_grid_area_m2: Some(1000.0),
            ..ValidationRules::default()
        };
        let fields = |value: Value| -> Vec<String> {
            parse_rules(&value, &defaults)
                .expect_err("should be rejected")
                .into_iter()
                .map(|e| e.field)
                .collect()
        };
        assert_eq!(fields(json!(3)), ["rules"]);
        assert_eq!(
            fields(
                json!({"overlap_tolerance_m": -1, "gap_tolerance_m2": "NaN", "check_numbering": 1, "colour": "red"})
            ),
            [
                "rules/check_numbering",
                "rules/colour",
                "rules/gap_tolerance_m2",
                "rules/overlap_tolerance_m"
            ]
        );
        // Above the server's maximum, and above the plan's own.
        assert_eq!(
            fields(json!({"min_grid_area_m2": 2000})),
            ["rules/min_grid_area_m2"]
        );
        assert_eq!(
            fields(json!({"min_grid_area_m2": 10, "max_grid_area_m2": 5})),
            ["rules/min_grid_area_m2"]
        );
        let min = ValidationRules {
            min_grid_area_m2: Some(500.0),
            ..ValidationRules::default()
        };
        assert_eq!(
            parse_rules(&json!({"max_grid_area_m2": 100}), &min)
                .expect_err("below the server's minimum")[0]
                .field,
            "rules/max_grid_area_m2"
        );
        let rules = parse_rules(
            &json!({"max_grid_area_m2": null, "check_numbering": true}),
            &defaults,
        )
        .expect("valid rules");
        assert_eq!(
            rules.over(&defaults),
            ValidationRules {
                max_grid_area_m2: None,
                check_numbering: true,
                ..defaults
            }
        );
    }
}
