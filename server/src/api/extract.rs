//! The query and body shapes several handlers share, each parsed once, each failure a problem document
//! naming the field and the reason. A query parameter is an extractor, `Opt<T>` (absent: `None`), and
//! listed in a route's OpenAPI `params` by its alias (`AtParam`, `BboxParam`, ...).

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use chrono::{DateTime, NaiveDate, Utc};
use geo_types::{Coord, Rect};
use gridmap_core::{Category, Crs};
use gridmap_tiles::TileCoord;
use serde_json::{Map, Value};
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::{ObjectBuilder, Required, Type};

use crate::clock::TimeArg;
use crate::error::{ApiError, FieldError};

/// One query parameter: its name, its documentation and how it reads.
pub trait QueryParam: Sized {
    const NAME: &'static str;
    const DOC: &'static str;
    fn parse(text: &str) -> Result<Self, ApiError>;
}

/// An optional query parameter `T`, parsed from the request's query string.
pub struct Opt<T>(pub Option<T>);

impl<S: Send + Sync, T: QueryParam> FromRequestParts<S> for Opt<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)?;
        let text = pairs
            .into_iter()
            .find(|(k, _)| k == T::NAME)
            .map(|(_, v)| v);
        text.as_deref().map(T::parse).transpose().map(Opt)
    }
}

impl<T: QueryParam> utoipa::IntoParams for Opt<T> {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![param(T::NAME, ParameterIn::Query, T::DOC, Type::String)]
    }
}

/// An OpenAPI parameter, required in the path, optional in the query.
fn param(name: &str, place: ParameterIn, doc: &str, kind: Type) -> Parameter {
    let required = match place {
        ParameterIn::Path => Required::True,
        _ => Required::False,
    };
    ParameterBuilder::new()
        .name(name)
        .parameter_in(place)
        .required(required)
        .description(Some(doc))
        .schema(Some(ObjectBuilder::new().schema_type(kind)))
        .build()
}

/// Declares a query parameter `$ty(pub $inner)` named `$name`, documented by `$doc`, its alias `$alias`.
macro_rules! query_param {
    ($ty:ident($inner:ty), $alias:ident, $name:literal, $doc:literal, $parse:expr) => {
        #[doc = $doc]
        pub struct $ty(pub $inner);
        pub type $alias = Opt<$ty>;

        impl QueryParam for $ty {
            const NAME: &'static str = $name;
            const DOC: &'static str = $doc;
            fn parse(text: &str) -> Result<$ty, ApiError> {
                let parse: fn(&str) -> Result<$inner, ApiError> = $parse;
                parse(text).map($ty)
            }
        }
    };
}

query_param! { At(DateTime<Utc>), AtParam, "at",
"The city as it was at this time (RFC 3339); default: now.", |text| parse_at("at", text) }
query_param! { Bbox([f64; 4]), BboxParam, "bbox",
"`west,south,east,north` in WGS-84 degrees: only what meets this box.", parse_bbox }
query_param! { FromTime(TimeArg), FromParam, "from",
"Start (included): an RFC 3339 time, or a date `YYYY-MM-DD` (its local start).",
|text| parse_time_arg("from", text) }
query_param! { ToTime(TimeArg), ToParam, "to",
"End (excluded): an RFC 3339 time, or a date `YYYY-MM-DD` (that whole day included).",
|text| parse_time_arg("to", text) }
query_param! { CrsArg(Crs), CrsParam, "crs",
"`wgs84` (default), `gcj02` or `bd09`: the coordinates' reference system.",
|text| parse_crs("crs", Some(text)) }
query_param! { Radius(f64), RadiusParam, "radius_m",
"R in metres, 1..500 (default 30): a place counts as patrolled within R of a track.", parse_radius }

impl Bbox {
    pub fn rect(&self) -> Rect<f64> {
        let [west, south, east, north] = self.0;
        Rect::new((west, south), (east, north))
    }
}

/// An instant, or a local date (`YYYY-MM-DD`).
pub fn parse_time_arg(field: &str, text: &str) -> Result<TimeArg, ApiError> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(TimeArg::At(t.with_timezone(&Utc)));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(TimeArg::Day)
        .map_err(|_| {
            let reason = format!("`{text}` is neither an RFC 3339 time nor a date (YYYY-MM-DD)");
            ApiError::field(field, reason)
        })
}

/// `from` and `to`: a time window whose zone and defaults the use case decides.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub from: Option<TimeArg>,
    pub to: Option<TimeArg>,
}

impl<S: Send + Sync> FromRequestParts<S> for Window {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Opt(from) = FromParam::from_request_parts(parts, state).await?;
        let Opt(to) = ToParam::from_request_parts(parts, state).await?;
        Ok(Window {
            from: from.map(|FromTime(t)| t),
            to: to.map(|ToTime(t)| t),
        })
    }
}

impl utoipa::IntoParams for Window {
    fn into_params(f: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        [FromParam::into_params(&f), ToParam::into_params(&f)].concat()
    }
}

/// Default R, metres.
pub const DEFAULT_RADIUS_M: f64 = 30.0;
/// Allowed R, metres.
const RADIUS_RANGE_M: std::ops::RangeInclusive<f64> = 1.0..=500.0;

/// R of a `radius_m` parameter, within [`RADIUS_RANGE_M`].
fn parse_radius(text: &str) -> Result<f64, ApiError> {
    let r: f64 = text
        .trim()
        .parse()
        .map_err(|_| ApiError::field("radius_m", format!("`{text}` is not a number")))?;
    if !r.is_finite() || !RADIUS_RANGE_M.contains(&r) {
        let (lo, hi) = (RADIUS_RANGE_M.start(), RADIUS_RANGE_M.end());
        let reason = format!("{text} is outside {lo}..{hi} m");
        return Err(ApiError::field("radius_m", reason));
    }
    Ok(r)
}

impl Radius {
    /// R of the parameter, or the default.
    pub fn or_default(param: Option<Radius>) -> f64 {
        param.map_or(DEFAULT_RADIUS_M, |Radius(r)| r)
    }
}

/// `limit`: at most this many, a count in 1..=`MAX`.
pub struct Limit<const MAX: usize>(pub usize);

impl<const MAX: usize> QueryParam for Limit<MAX> {
    const NAME: &'static str = "limit";
    const DOC: &'static str = "At most this many.";
    fn parse(text: &str) -> Result<Self, ApiError> {
        match text.trim().parse::<usize>() {
            Ok(n) if (1..=MAX).contains(&n) => Ok(Limit(n)),
            _ => Err(ApiError::field(
                "limit",
                format!("expected 1..{MAX}, got `{text}`"),
            )),
        }
    }
}

/// Longest short text (a name, an id, an actor), in characters.
pub const MAX_SHORT_TEXT: usize = 200;

/// The fields of a JSON object, read one by one, every fault collected (`prefix` names nested ones).
/// Collects field errors while reading a JSON object.
pub struct Fields<'a> {
    object: &'a Map<String, Value>,
    prefix: &'static str,
    pub errors: Vec<FieldError>,
}

impl<'a> Fields<'a> {
    pub fn new(object: &'a Map<String, Value>, prefix: &'static str) -> Fields<'a> {
        Fields {
            object,
            prefix,
            errors: Vec::new(),
        }
    }

    pub fn name(&self, field: &str) -> String {
        format!("{}{field}", self.prefix)
    }

    pub fn fail(&mut self, field: &str, reason: impl Into<String>) {
        let name = self.name(field);
        self.errors.push(FieldError::new(name, reason));
    }

    /// A string of 1..=`max` characters (`None` when absent or null and not `required`, or invalid).
    pub fn text(&mut self, field: &str, required: bool, max: usize) -> Option<String> {
        match self.object.get(field) {
            None | Some(Value::Null) => {
                if required {
                    self.fail(field, "required");
                }
                None
            }
            Some(Value::String(s)) if s.trim().is_empty() => {
                self.fail(field, "must not be empty");
                None
            }
            Some(Value::String(s)) if s.chars().count() > max => {
                self.fail(
                    field,
                    format!("{} characters; at most {max}", s.chars().count()),
                );
                None
            }
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.fail(field, "must be a string");
                None
            }
        }
    }

    /// A required string of 1..=`max` characters, trimmed.
    pub fn trimmed(&mut self, field: &str, max: usize) -> Option<String> {
        self.text(field, true, max).map(|s| s.trim().to_owned())
    }

    /// A required number.
    pub fn number(&mut self, field: &str) -> Option<f64> {
        match self.object.get(field) {
            None | Some(Value::Null) => {
                self.fail(field, "required");
                None
            }
            Some(Value::Number(n)) => match n.as_f64() {
                Some(x) if x.is_finite() => Some(x),
                _ => {
                    self.fail(field, "must be a finite number");
                    None
                }
            },
            Some(_) => {
                self.fail(field, "must be a finite number");
                None
            }
        }
    }

    /// A required category code, read by [`parse_category`].
    pub fn category(&mut self, field: &str) -> Option<Category> {
        let text = self.text(field, true, MAX_SHORT_TEXT)?;
        let category = parse_category(&text);
        if category.is_none() {
            self.fail(field, unknown_category(&text));
        }
        category
    }

    /// One of a serde enum's names.
    pub fn choice<T: serde::de::DeserializeOwned>(
        &mut self,
        field: &str,
        required: bool,
        expected: &str,
    ) -> Option<T> {
        let text = self.text(field, required, MAX_SHORT_TEXT)?;
        let parsed = serde_json::from_value(Value::String(text.clone())).ok();
        if parsed.is_none() {
            self.fail(
                field,
                format!("unknown {field} `{text}`; expected {expected}"),
            );
        }
        parsed
    }
}

/// A body that must be one JSON object.
pub fn json_object(body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(ApiError::field("body", "expected a JSON object")),
        Err(e) => Err(ApiError::field("body", e.to_string())),
    }
}

/// Parses an `at` parameter: an RFC 3339 time (`2024-05-01T08:00:00+08:00`).
pub fn parse_at(field: &str, text: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            ApiError::field(
                field,
                format!("`{text}` is not an RFC 3339 time such as 2024-05-01T08:00:00+08:00: {e}"),
            )
        })
}

/// `west,south,east,north` in WGS-84 degrees.
pub fn parse_bbox(text: &str) -> Result<[f64; 4], ApiError> {
    let parts: Vec<f64> = text
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| ApiError::field("bbox", "expected four numbers: west,south,east,north"))?;
    let [west, south, east, north] = parts[..] else {
        return Err(ApiError::field(
            "bbox",
            "expected four numbers: west,south,east,north",
        ));
    };
    for (lon, lat) in [(west, south), (east, north)] {
        check_lon_lat(lon, lat, "").map_err(|e| ApiError::field("bbox", e.reason))?;
    }
    if west > east || south > north {
        let reason = "west must not exceed east, south must not exceed north";
        return Err(ApiError::field("bbox", reason));
    }
    Ok([west, south, east, north])
}

/// Reads a category code (`01`..`10`, `emergency`): the one parser of categories for the intake and for
/// `/v1/locate`, so both take the same values. Allocates nothing (a batch reads one per point).
pub fn parse_category(text: &str) -> Option<Category> {
    Category::ALL.into_iter().find(|c| c.code() == text)
}

/// Why `text` is not a category, listing the valid codes.
pub fn unknown_category(text: &str) -> String {
    let codes: Vec<&str> = Category::ALL.iter().map(|c| c.code()).collect();
    format!(
        "unknown category `{text}`; expected one of {}",
        codes.join(", ")
    )
}

/// Parses `crs`, naming the field on failure.
pub fn parse_crs(field: &str, crs: Option<&str>) -> Result<Crs, ApiError> {
    match crs {
        None => Ok(Crs::Wgs84),
        Some(s) => s.parse().map_err(|_| {
            ApiError::field(
                field,
                format!("unknown crs `{s}`; expected wgs84, gcj02 or bd09"),
            )
        }),
    }
}

/// Checks a lon/lat pair; `field` prefixes the reported field names.
pub fn check_lon_lat(lon: f64, lat: f64, field: &str) -> Result<Coord<f64>, FieldError> {
    let axes = [
        ("lon", "longitude", lon, 180.0),
        ("lat", "latitude", lat, 90.0),
    ];
    let name = |axis: &str| match field {
        "" => axis.to_owned(),
        _ => format!("{field}/{axis}"),
    };
    if let Some((axis, word, ..)) = axes.iter().find(|a| !a.2.is_finite()) {
        return Err(FieldError::new(
            name(axis),
            format!("{word} must be a finite number"),
        ));
    }
    if let Some((axis, word, v, max)) = axes.iter().find(|a| a.2.abs() > a.3) {
        let reason = format!("{word} {v} is outside -{max}..{max}");
        return Err(FieldError::new(name(axis), reason));
    }
    Ok(Coord { x: lon, y: lat })
}

/// `{z}/{x}/{y}.mvt`: the last three segments of a tile's path.
pub struct TileZxy(pub TileCoord);

impl<S: Send + Sync> FromRequestParts<S> for TileZxy {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(segments) = Path::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::field("path", e.body_text()))?;
        let [.., (_, z), (_, x), (_, y)] = &segments[..] else {
            return Err(ApiError::field("path", "expected z/x/y"));
        };
        parse_tile(z, x, y).map(TileZxy)
    }
}

impl utoipa::IntoParams for TileZxy {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let param = |name: &str, doc: &str, kind: Type| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(Some(doc))
                .schema(Some(ObjectBuilder::new().schema_type(kind)))
                .build()
        };
        vec![
            param("z", "Zoom, 0..=22", Type::Integer),
            param("x", "Column, 0..2^z", Type::Integer),
            param(
                "y",
                "Row 0..2^z (y = 0 north) with `.mvt` or `.pbf`",
                Type::String,
            ),
        ]
    }
}

fn parse_tile(z: &str, x: &str, y_file: &str) -> Result<TileCoord, ApiError> {
    let number = |field: &str, text: &str| {
        text.parse::<u32>().map_err(|_| {
            ApiError::field(
                field,
                format!("`{text}` is not a tile {field}: expected a whole number ≥ 0"),
            )
        })
    };
    let y = y_file
        .strip_suffix(".mvt")
        .or_else(|| y_file.strip_suffix(".pbf"))
        .ok_or_else(|| {
            ApiError::field(
                "y",
                format!("`{y_file}`: expected the row followed by .mvt (or .pbf)"),
            )
        })?;
    let (z, x, y) = (number("z", z)?, number("x", x)?, number("y", y)?);
    TileCoord::new(z, x, y).map_err(|e| ApiError::field(e.field(), e.to_string()))
}
