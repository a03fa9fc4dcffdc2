//! Subcommands that move boundaries in and out of a store.

pub mod export;
pub mod import;
