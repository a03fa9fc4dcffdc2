use thiserror::Error;

/// Errors of the grid domain. Each names the offending value so that callers can report it.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum Error {
    #[error("unknown level `{0}` (expected district, street, community, grid or micro_grid)")]
    UnknownLevel(String),
    #[error("unknown grid kind `{0}`")]
    UnknownKind(String),
    #[error("unknown excluded ground kind `{0}` (expected water, rail, military or other)")]
    UnknownExcludedKind(String),
    #[error("unknown staff role `{0}`")]
    UnknownRole(String),
    #[error("unknown crs `{0}` (expected wgs84, gcj02 or bd09)")]
    UnknownCrs(String),
    #[error("invalid code `{code}`: {reason}")]
    InvalidCode { code: String, reason: String },
    #[error("invalid coordinate: {0}")]
    InvalidCoordinate(String),
}
