//! Use cases: what a request asks of the city, between the API's parsing and rendering and the state and
//! store below. Nothing here knows HTTP beyond the one `ApiError`.

pub mod coverage;
pub mod history;
pub mod plans;
pub mod reports;
