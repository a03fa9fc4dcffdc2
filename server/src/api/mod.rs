//! HTTP API: one router per module, merged here.
use axum::Router;
use std::sync::Arc;

pub fn app(_state: Arc<crate::AppState>) -> Router {
    Router::new()
}
