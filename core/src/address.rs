//! Free-text search over doorplate addresses (Chinese: partial matches, missing or extra characters,
//! full-width digits).

use crate::Address;

/// One ranked match.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AddressMatch {
    /// Position in the slice given to [`AddressIndex::build`].
    pub address: usize,
    /// 0..=1, higher is better.
    pub score: f32,
}

/// An inverted index over normalised character n-grams.
pub struct AddressIndex {}

impl AddressIndex {
    pub fn build(addresses: &[Address]) -> AddressIndex {
        todo!("helper A")
    }
    /// Best matches first, at most `limit`.
    pub fn search(&self, query: &str, limit: usize) -> Vec<AddressMatch> {
        todo!("helper A")
    }
}
