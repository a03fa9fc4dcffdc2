//! The city as RFC 7946 `GeoJSON`: three `FeatureCollections` (areas, addresses, roads), one feature per
//! line so that diffs stay readable.
//!
//! Written coordinates are lon/lat rounded to 7 decimals (≈ 1 cm); exterior rings are written
//! counter-clockwise and holes clockwise whatever the input's winding.
//!
//! Area properties: `code`, `name`, `level`, `kind` (null above the grid level), `parent` (null for
//! roots), `staff` (array of `{name, phone, role}`). Address properties: `full`, `road`, `number`,
//! `building`. Road properties: `name`, `class`.

use std::fmt::Write as _;

use geo_types::{Coord, LineString, MultiPolygon, Point, Polygon};
use gridmap_core::{Address, Area, City, ExcludedGround, Road, StaffMember};
use serde_json::Value;

/// The three files of a city.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CityGeoJson {
    pub areas: String,
    pub addresses: String,
    pub roads: String,
}

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum GeoJsonError {
    #[error("{file}: invalid JSON: {source}")]
    Json {
        file: &'static str,
        source: serde_json::Error,
    },
    #[error("{file}: not a FeatureCollection")]
    NotACollection { file: &'static str },
    #[error("{file}, feature {feature}: {field}: {reason}")]
    Feature {
        file: &'static str,
        feature: usize,
        field: String,
        reason: String,
    },
}

/// Writes a number rounded to 7 decimals, without trailing zeros.
fn push_number(out: &mut String, v: f64) {
    let mut s = format!("{v:.7}");
    while s.ends_with('0') {
        s.pop();
    }
    if s.ends_with('.') {
        s.pop();
    }
    if s == "-0" {
        s.clear();
        s.push('0');
    }
    out.push_str(&s);
}

fn push_str(out: &mut String, s: &str) {
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn push_opt_str(out: &mut String, s: Option<&str>) {
    match s {
        Some(s) => push_str(out, s),
        None => out.push_str("null"),
    }
}

fn push_coord(out: &mut String, c: Coord<f64>) {
    out.push('[');
    push_number(out, c.x);
    out.push(',');
    push_number(out, c.y);
    out.push(']');
}

/// Twice the signed planar area; positive for counter-clockwise rings.
fn signed_area2(ring: &LineString<f64>) -> f64 {
    ring.0
        .windows(2)
        .map(|w| w[0].x * w[1].y - w[1].x * w[0].y)
        .sum()
}

fn push_ring(out: &mut String, ring: &LineString<f64>, ccw: bool) {
    let mut coords: Vec<Coord<f64>> = ring.0.clone();
    if coords.first() != coords.last()
        && let Some(&first) = coords.first()
    {
        coords.push(first);
    }
    if (signed_area2(ring) > 0.0) != ccw {
        coords.reverse();
    }
    out.push('[');
    for (k, c) in coords.iter().enumerate() {
        if k > 0 {
            out.push(',');
        }
        push_coord(out, *c);
    }
    out.push(']');
}

fn push_multipolygon(out: &mut String, mp: &MultiPolygon<f64>) {
    out.push_str(r#"{"type":"MultiPolygon","coordinates":["#);
    for (k, poly) in mp.iter().enumerate() {
        if k > 0 {
            out.push(',');
        }
        out.push('[');
        push_ring(out, poly.exterior(), true);
        for hole in poly.interiors() {
            out.push(',');
            push_ring(out, hole, false);
        }
        out.push(']');
    }
    out.push_str("]}");
}

fn collection<T>(items: &[T], mut feature: impl FnMut(&mut String, &T)) -> String {
    let mut out = String::from("{\"type\":\"FeatureCollection\",\"features\":[\n");
    for (k, item) in items.iter().enumerate() {
        feature(&mut out, item);
        out.push_str(if k + 1 < items.len() { ",\n" } else { "\n" });
    }
    out.push_str("]}\n");
    out
}

fn push_area(out: &mut String, area: &Area) {
    out.push_str(r#"{"type":"Feature","properties":{"code":"#);
    push_str(out, &area.code);
    out.push_str(r#","name":"#);
    push_str(out, &area.name);
    out.push_str(r#","level":"#);
    push_str(out, area.level.as_str());
    out.push_str(r#","kind":"#);
    push_opt_str(out, area.kind.map(gridmap_core::GridKind::as_str));
    out.push_str(r#","parent":"#);
    push_opt_str(out, area.parent.as_deref());
    out.push_str(r#","staff":["#);
    for (k, member) in area.staff.iter().enumerate() {
        if k > 0 {
            out.push(',');
        }
        out.push_str(r#"{"name":"#);
        push_str(out, &member.name);
        out.push_str(r#","phone":"#);
        push_str(out, &member.phone);
        out.push_str(r#","role":"#);
        push_str(out, member.role.as_str());
        out.push('}');
    }
    out.push_str(r#"]},"geometry":"#);
    push_multipolygon(out, &area.geometry);
    out.push('}');
}

fn push_address(out: &mut String, address: &Address) {
    out.push_str(r#"{"type":"Feature","properties":{"full":"#);
    push_str(out, &address.full);
    out.push_str(r#","road":"#);
    push_str(out, &address.road);
    out.push_str(r#","number":"#);
    push_str(out, &address.number);
    out.push_str(r#","building":"#);
    push_str(out, &address.building);
    out.push_str(r#"},"geometry":{"type":"Point","coordinates":"#);
    push_coord(out, address.point.0);
    out.push_str("}}");
}

fn push_road(out: &mut String, road: &Road) {
    out.push_str(r#"{"type":"Feature","properties":{"name":"#);
    push_str(out, &road.name);
    out.push_str(r#","class":"#);
    push_str(out, &road.class);
    out.push_str(r#"},"geometry":{"type":"LineString","coordinates":["#);
    for (k, c) in road.geometry.0.iter().enumerate() {
        if k > 0 {
            out.push(',');
        }
        push_coord(out, *c);
    }
    out.push_str("]}}");
}

/// Serialises a city into its three `GeoJSON` files.
pub fn city_to_geojson(city: &City) -> CityGeoJson {
    CityGeoJson {
        areas: collection(&city.areas, push_area),
        addresses: collection(&city.addresses, push_address),
        roads: collection(&city.roads, push_road),
    }
}

/// Serialises water (the river) as a `FeatureCollection` of one feature with a `name` property.
pub fn water_to_geojson(name: &str, water: &MultiPolygon<f64>) -> String {
    collection(&[water], |out, water| {
        out.push_str(r#"{"type":"Feature","properties":{"name":"#);
        push_str(out, name);
        out.push_str(r#","kind":"river"},"geometry":"#);
        push_multipolygon(out, water);
        out.push('}');
    })
}

/// Serialises excluded ground as a `FeatureCollection`, one feature per piece with properties `name` and
/// `kind` (`water`, `rail`, `military`, `other`), one per line.
pub fn excluded_to_geojson(ground: &[ExcludedGround]) -> String {
    collection(ground, |out, g| {
        out.push_str(r#"{"type":"Feature","properties":{"name":"#);
        push_str(out, &g.name);
        out.push_str(r#","kind":"#);
        push_str(out, g.kind.as_str());
        out.push_str(r#"},"geometry":"#);
        push_multipolygon(out, &g.geometry);
        out.push('}');
    })
}

/// Reads the first feature of a water file (as written by [`water_to_geojson`]): its name and outline.
pub fn water_from_geojson(text: &str) -> Result<(String, MultiPolygon<f64>), GeoJsonError> {
    let json = parse("water", text)?;
    let features = features("water", &json)?;
    let f = features
        .first()
        .ok_or(GeoJsonError::NotACollection { file: "water" })?;
    Ok((f.string("name")?, read_multipolygon(f)?))
}

/// Reads one feature's parts, naming the file and feature in errors.
struct FeatureReader<'a> {
    file: &'static str,
    feature: usize,
    value: &'a Value,
}

impl<'a> FeatureReader<'a> {
    fn error(&self, field: &str, reason: impl Into<String>) -> GeoJsonError {
        GeoJsonError::Feature {
            file: self.file,
            feature: self.feature,
            field: field.to_owned(),
            reason: reason.into(),
        }
    }

    fn property(&self, name: &str) -> Option<&'a Value> {
        self.value
            .get("properties")
            .and_then(|p| p.get(name))
            .filter(|v| !v.is_null())
    }

    fn string(&self, name: &str) -> Result<String, GeoJsonError> {
        self.opt_string(name)?
            .ok_or_else(|| self.error(name, "missing"))
    }

    fn opt_string(&self, name: &str) -> Result<Option<String>, GeoJsonError> {
        match self.property(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(self.error(name, "expected a string")),
        }
    }

    fn geometry(&self, expected: &[&str]) -> Result<(&'a str, &'a Value), GeoJsonError> {
        let geometry = self
            .value
            .get("geometry")
            .filter(|g| !g.is_null())
            .ok_or_else(|| self.error("geometry", "missing"))?;
        let kind = geometry
            .get("type")
            .and_then(Value::as_str)
            .filter(|t| expected.contains(t))
            .ok_or_else(|| self.error("geometry", format!("expected {}", expected.join(" or "))))?;
        let coords = geometry
            .get("coordinates")
            .ok_or_else(|| self.error("geometry", "missing coordinates"))?;
        Ok((kind, coords))
    }

    fn coord(&self, v: &Value) -> Result<Coord<f64>, GeoJsonError> {
        let pair = v
            .as_array()
            .filter(|a| a.len() >= 2)
            .ok_or_else(|| self.error("geometry", "a position needs two numbers"))?;
        match (pair[0].as_f64(), pair[1].as_f64()) {
            (Some(x), Some(y)) if x.is_finite() && y.is_finite() => Ok(Coord { x, y }),
            _ => Err(self.error("geometry", "a position needs two finite numbers")),
        }
    }

    fn line(&self, v: &Value) -> Result<LineString<f64>, GeoJsonError> {
        v.as_array()
            .ok_or_else(|| self.error("geometry", "expected an array of positions"))?
            .iter()
            .map(|c| self.coord(c))
            .collect::<Result<Vec<_>, _>>()
            .map(LineString)
    }

    fn polygon(&self, v: &Value) -> Result<Polygon<f64>, GeoJsonError> {
        let rings = v
            .as_array()
            .filter(|r| !r.is_empty())
            .ok_or_else(|| self.error("geometry", "a polygon needs at least one ring"))?;
        let mut rings = rings.iter().map(|r| self.line(r));
        let exterior = rings
            .next()
            .ok_or_else(|| self.error("geometry", "a polygon needs at least one ring"))??;
        let holes = rings.collect::<Result<Vec<_>, _>>()?;
        Ok(Polygon::new(exterior, holes))
    }
}

fn features<'a>(
    file: &'static str,
    root: &'a Value,
) -> Result<Vec<FeatureReader<'a>>, GeoJsonError> {
    if root.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
        return Err(GeoJsonError::NotACollection { file });
    }
    let features = root
        .get("features")
        .and_then(Value::as_array)
        .ok_or(GeoJsonError::NotACollection { file })?;
    Ok(features
        .iter()
        .enumerate()
        .map(|(feature, value)| FeatureReader {
            file,
            feature,
            value,
        })
        .collect())
}

fn parse(file: &'static str, text: &str) -> Result<Value, GeoJsonError> {
    serde_json::from_str(text).map_err(|source| GeoJsonError::Json { file, source })
}

fn read_multipolygon(f: &FeatureReader<'_>) -> Result<MultiPolygon<f64>, GeoJsonError> {
    Ok(match f.geometry(&["MultiPolygon", "Polygon"])? {
        ("Polygon", coords) => MultiPolygon(vec![f.polygon(coords)?]),
        (_, coords) => MultiPolygon(
            coords
                .as_array()
                .ok_or_else(|| f.error("geometry", "expected an array of polygons"))?
                .iter()
                .map(|p| f.polygon(p))
                .collect::<Result<Vec<_>, _>>()?,
        ),
    })
}

fn read_area(f: &FeatureReader<'_>) -> Result<Area, GeoJsonError> {
    let level = f
        .string("level")?
        .parse()
        .map_err(|e: gridmap_core::Error| f.error("level", e.to_string()))?;
    let kind = f
        .opt_string("kind")?
        .map(|k| k.parse())
        .transpose()
        .map_err(|e: gridmap_core::Error| f.error("kind", e.to_string()))?;
    let staff = match f.property("staff") {
        None => Vec::new(),
        Some(Value::Array(members)) => members
            .iter()
            .map(|m| {
                let text = |key: &str| {
                    m.get(key)
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .ok_or_else(|| f.error("staff", format!("member without {key}")))
                };
                Ok(StaffMember {
                    name: text("name")?,
                    phone: text("phone")?,
                    role: text("role")?
                        .parse()
                        .map_err(|e: gridmap_core::Error| f.error("staff", e.to_string()))?,
                })
            })
            .collect::<Result<Vec<_>, GeoJsonError>>()?,
        Some(_) => return Err(f.error("staff", "expected an array")),
    };
    let geometry = read_multipolygon(f)?;
    Ok(Area {
        code: f.string("code")?,
        name: f.opt_string("name")?.unwrap_or_default(),
        level,
        kind,
        parent: f.opt_string("parent")?,
        geometry,
        staff,
    })
}

fn read_address(f: &FeatureReader<'_>) -> Result<Address, GeoJsonError> {
    let (_, coords) = f.geometry(&["Point"])?;
    Ok(Address {
        full: f.string("full")?,
        road: f.opt_string("road")?.unwrap_or_default(),
        number: f.opt_string("number")?.unwrap_or_default(),
        building: f.opt_string("building")?.unwrap_or_default(),
        point: Point(f.coord(coords)?),
    })
}

fn read_road(f: &FeatureReader<'_>) -> Result<Road, GeoJsonError> {
    let (_, coords) = f.geometry(&["LineString"])?;
    Ok(Road {
        name: f.string("name")?,
        class: f.opt_string("class")?.unwrap_or_default(),
        geometry: f.line(coords)?,
    })
}

/// Reads a city from its three `GeoJSON` files (as written by [`city_to_geojson`]).
pub fn city_from_geojson(areas: &str, addresses: &str, roads: &str) -> Result<City, GeoJsonError> {
    let areas_json = parse("areas", areas)?;
    let addresses_json = parse("addresses", addresses)?;
    let roads_json = parse("roads", roads)?;
    Ok(City {
        excluded: Vec::new(),
        areas: features("areas", &areas_json)?
            .iter()
            .map(read_area)
            .collect::<Result<_, _>>()?,
        addresses: features("addresses", &addresses_json)?
            .iter()
            .map(read_address)
            .collect::<Result<_, _>>()?,
        roads: features("roads", &roads_json)?
            .iter()
            .map(read_road)
            .collect::<Result<_, _>>()?,
    })
}
