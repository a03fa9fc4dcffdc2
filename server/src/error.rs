//! The API's one error type, rendered as RFC 9457 `application/problem+json`.
//!
//! Client errors name the field and the reason. Internal errors are logged with their cause and answered
//! with a generic 500 that leaks nothing.

use axum::extract::rejection::{BytesRejection, JsonRejection, QueryRejection};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use gridmap_core::plan::{Problem as PlanProblem, problems_geojson};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::store::{MovedArea, StoreError};

/// Media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One field at fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// Query parameter, JSON pointer (`/points/3/0`) or property name.
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// The RFC 9457 body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// First field at fault, repeated from `errors` for quick reading.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Input that breaks a rule; 400 (syntax) or 422 (well-formed but invalid).
    #[error("invalid input: {}", .errors.first().map_or("", |e| e.reason.as_str()))]
    Invalid {
        status: StatusCode,
        errors: Vec<FieldError>,
    },
    #[error("{0} not found")]
    NotFound(String),
    #[error("payload too large: {0}")]
    PayloadTooLarge(String),
    #[error("conflict: {0}")]
    Conflict(String),
    /// 412: `If-Match` names another version than the resource's.
    #[error("precondition failed: {0}")]
    PreconditionFailed(String),
    /// 409 listing the areas whose version moved since the plan was drawn (`moved`); nothing was written.
    #[error("base versions moved")]
    Moved(Vec<MovedArea>),
    /// 422 listing the problems a plan creates or worsens (`problems`: GeoJSON); nothing was written.
    #[error("the plan breaks boundary rules")]
    PlanInvalid(Vec<PlanProblem>),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal: {0}")]
    Internal(String),
}

impl ApiError {
    /// 400 naming one field.
    pub fn field(field: impl Into<String>, reason: impl Into<String>) -> ApiError {
        ApiError::Invalid {
            status: StatusCode::BAD_REQUEST,
            errors: vec![FieldError::new(field, reason)],
        }
    }

    /// 422 with every field at fault.
    pub fn unprocessable(errors: Vec<FieldError>) -> ApiError {
        ApiError::Invalid {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            errors,
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::Invalid { status, .. } => *status,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Conflict(_) | ApiError::Moved(_) => StatusCode::CONFLICT,
            ApiError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::PlanInvalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Store(_) | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut extra = Map::new();
        let (slug, title, detail, errors) = match self {
            ApiError::Invalid { errors, .. } => {
                let detail = errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.reason))
                    .collect::<Vec<_>>()
                    .join("; ");
                ("invalid-input", "Invalid input", detail, errors)
            }
            ApiError::NotFound(what) => (
                "not-found",
                "Not found",
                format!("{what} not found"),
                vec![],
            ),
            ApiError::PayloadTooLarge(detail) => {
                ("payload-too-large", "Payload too large", detail, vec![])
            }
            ApiError::Conflict(detail) => ("conflict", "Conflict", detail, vec![]),
            ApiError::PreconditionFailed(detail) => {
                ("plan-version", "The plan changed", detail, vec![])
            }
            ApiError::Moved(moved) => {
                extra.insert("moved".into(), json!(moved));
                let detail = format!("nothing was changed: {}", moved_list(&moved));
                let title = "Areas changed since the plan was drawn";
                ("base-version-moved", title, detail, vec![])
            }
            ApiError::PlanInvalid(problems) => {
                let errors = problems
                    .iter()
                    .enumerate()
                    .map(|(k, p)| FieldError::new(format!("problems/{k}"), p.message.clone()))
                    .collect();
                let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
                let detail = format!(
                    "{} problem(s), nothing was changed: {}",
                    problems.len(),
                    messages.join("; ")
                );
                extra.insert("field".into(), json!("problems"));
                let geojson = serde_json::to_value(problems_geojson(&problems));
                extra.insert("problems".into(), geojson.unwrap_or(Value::Null));
                let title = "The plan breaks boundary rules";
                ("plan-invalid", title, detail, errors)
            }
            ApiError::Store(err) => {
                tracing::error!(error = %err, "store error");
                internal()
            }
            ApiError::Internal(err) => {
                tracing::error!(error = %err, "internal error");
                internal()
            }
        };
        let problem = Problem {
            type_uri: format!("/problems/{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail,
            field: errors.first().map(|e| e.field.clone()),
            errors,
        };
        let mut body = serde_json::to_value(&problem).unwrap_or_default();
        if let Value::Object(map) = &mut body {
            map.extend(extra);
        }
        let body = serde_json::to_vec(&body).unwrap_or_default();
        (status, [(header::CONTENT_TYPE, PROBLEM_JSON)], body).into_response()
    }
}

/// The answer to a failure whose cause only the log may see.
fn internal() -> (&'static str, &'static str, String, Vec<FieldError>) {
    let detail = "the request could not be completed".into();
    ("internal", "Internal error", detail, vec![])
}

fn moved_list(moved: &[MovedArea]) -> String {
    let each = moved.iter().map(|m| match m.current {
        Some(v) => format!(
            "`{}` is at version {v}, the plan was drawn on {}",
            m.code, m.expected
        ),
        None => format!(
            "`{}` no longer exists (the plan was drawn on version {})",
            m.code, m.expected
        ),
    });
    each.collect::<Vec<_>>().join("; ")
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        match rejection {
            JsonRejection::BytesRejection(b) if b.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::PayloadTooLarge(b.body_text())
            }
            JsonRejection::MissingJsonContentType(_) => ApiError::Invalid {
                status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
                errors: vec![FieldError::new(
                    "content-type",
                    "expected application/json or application/geo+json",
                )],
            },
            JsonRejection::JsonSyntaxError(e) => ApiError::field("body", e.body_text()),
            JsonRejection::JsonDataError(e) => ApiError::Invalid {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                errors: vec![FieldError::new("body", e.body_text())],
            },
            other => ApiError::field("body", other.body_text()),
        }
    }
}

/// A blocking task that panicked or was cancelled.
impl From<tokio::task::JoinError> for ApiError {
    fn from(err: tokio::task::JoinError) -> ApiError {
        ApiError::Internal(err.to_string())
    }
}

impl From<BytesRejection> for ApiError {
    fn from(rejection: BytesRejection) -> ApiError {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(rejection.body_text())
        } else {
            ApiError::field("body", rejection.body_text())
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> ApiError {
        ApiError::field("query", rejection.body_text())
    }
}

impl From<gridmap_core::Error> for ApiError {
    fn from(err: gridmap_core::Error) -> ApiError {
        let field = match &err {
            gridmap_core::Error::UnknownLevel(_) => "level",
            gridmap_core::Error::UnknownKind(_) | gridmap_core::Error::UnknownExcludedKind(_) => {
                "kind"
            }
            gridmap_core::Error::UnknownRole(_) => "role",
            gridmap_core::Error::UnknownCrs(_) => "crs",
            gridmap_core::Error::InvalidCode { .. } => "code",
            gridmap_core::Error::InvalidCoordinate(_) => "coordinates",
        };
        ApiError::field(field, err.to_string())
    }
}
