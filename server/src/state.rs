//! Shared state: the store and the in-memory snapshot the hot paths read.
pub struct AppState;
