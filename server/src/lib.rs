//! gridmap's server: CLI, HTTP API, stores.
#![forbid(unsafe_code)]

pub mod api;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod coverage_cache;
pub mod error;
pub mod escalation;
pub mod positions;
pub mod report_feed;
pub mod sample_tracks;
pub mod serve;
pub mod service;
pub mod snapshot;
pub mod sources;
pub mod state;
pub mod store;
pub mod tile_cache;
pub mod tile_index;
pub mod time_travel;
pub mod views;
pub mod watcher;

pub use api::app;
pub use error::ApiError;
pub use state::AppState;
