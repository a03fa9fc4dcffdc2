//! Tile math and MVT encoding (issue 3).
#![forbid(unsafe_code)]
