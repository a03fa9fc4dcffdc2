//! The API's one error type, rendered as RFC 9457 `application/problem+json`.
pub struct ApiError;
