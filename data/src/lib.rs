//! The sample city and its deterministic generator.
#![forbid(unsafe_code)]
