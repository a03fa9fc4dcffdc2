//! Free-text search over doorplate addresses (Chinese: partial matches, missing or extra characters,
//! full-width digits).
//!
//! Text is normalised (full-width ASCII to half-width, lowercase, spaces and punctuation dropped), then cut into
//! tokens: every run of digits is one token (the doorplate number matters most, and `12` must not match `128`),
//! every other run gives its character bigrams (or the single character of a one-character run). A query's
//! candidates come from the postings of its rarer tokens; each candidate is scored by weighted coverage of the
//! query's tokens (numbers weigh most), Dice similarity (prefers addresses without extra parts), and bonuses when
//! the address's road is in the query and the query's first number is the doorplate number.

use std::collections::HashMap;

use crate::Address;

/// How many candidates, ranked by their rarer tokens, get a full score.
const SHORTLIST: usize = 256;

/// One ranked match.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AddressMatch {
    /// Position in the slice given to [`AddressIndex::build`].
    pub address: usize,
    /// 0..=1, higher is better.
    pub score: f32,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Token {
    Number(String),
    Bigram(char, char),
    Single(char),
}

impl Token {
    fn weight(&self) -> f32 {
        match self {
            Token::Number(_) => 3.0,
            Token::Bigram(..) => 1.0,
            Token::Single(_) => 0.5,
        }
    }
}

/// Full-width to half-width, lowercase, only letters, digits and CJK characters kept.
pub fn normalise(s: &str) -> String {
    s.chars()
        .filter_map(|c| {
            let c = match u32::from(c) {
                // Full-width ASCII block maps onto ASCII by a fixed offset.
                code @ 0xFF01..=0xFF5E => char::from_u32(code - 0xFEE0).unwrap_or(c),
                _ => c,
            };
            c.is_alphanumeric()
                .then(|| c.to_lowercase())
                .map(Iterator::collect::<String>)
        })
        .collect()
}

/// Tokens of normalised text, deduplicated, in first-seen order.
fn tokens(normalised: &str) -> Vec<Token> {
    let chars: Vec<char> = normalised.chars().collect();
    let mut out: Vec<Token> = Vec::new();
    let mut push = |t: Token| {
        if !out.contains(&t) {
            out.push(t);
        }
    };
    let mut i = 0;
    while i < chars.len() {
        let digit = chars[i].is_ascii_digit();
        let start = i;
        while i < chars.len() && chars[i].is_ascii_digit() == digit {
            i += 1;
        }
        let run = &chars[start..i];
        if digit {
            // Leading zeros do not change a doorplate number.
            let s: String = run.iter().collect();
            let trimmed = s.trim_start_matches('0');
            push(Token::Number(if trimmed.is_empty() {
                "0".to_owned()
            } else {
                trimmed.to_owned()
            }));
        } else if run.len() == 1 {
            push(Token::Single(run[0]));
        } else {
            for w in run.windows(2) {
                push(Token::Bigram(w[0], w[1]));
            }
        }
    }
    out
}

/// An inverted index over normalised character n-grams.
pub struct AddressIndex {
    ids: HashMap<Token, u32>,
    /// Addresses holding each token, ascending.
    postings: Vec<Vec<u32>>,
    /// Token ids of each address, ascending.
    doc_tokens: Vec<Vec<u32>>,
    roads: Vec<String>,
    numbers: Vec<Option<String>>,
}

impl AddressIndex {
    pub fn build(addresses: &[Address]) -> AddressIndex {
        let mut ids: HashMap<Token, u32> = HashMap::new();
        let mut postings: Vec<Vec<u32>> = Vec::new();
        let mut doc_tokens = Vec::with_capacity(addresses.len());
        for (doc, a) in addresses.iter().enumerate() {
            let mut mine: Vec<u32> = tokens(&normalise(&a.full))
                .into_iter()
                .map(|t| {
                    let next = ids.len() as u32;
                    let id = *ids.entry(t).or_insert(next);
                    if id == next {
                        postings.push(Vec::new());
                    }
                    postings[id as usize].push(doc as u32);
                    id
                })
                .collect();
            mine.sort_unstable();
            doc_tokens.push(mine);
        }
        AddressIndex {
            ids,
            postings,
            doc_tokens,
            roads: addresses.iter().map(|a| normalise(&a.road)).collect(),
            numbers: addresses
                .iter()
                .map(|a| tokens(&normalise(&a.number)))
                .map(first_number)
                .collect(),
        }
    }

    /// Number of addresses indexed.
    pub fn len(&self) -> usize {
        self.doc_tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.doc_tokens.is_empty()
    }

    /// Best matches first, at most `limit`.
    pub fn search(&self, query: &str, limit: usize) -> Vec<AddressMatch> {
        let q = normalise(query);
        let q_tokens = tokens(&q);
        if q_tokens.is_empty() || limit == 0 {
            return Vec::new();
        }
        let total_weight: f32 = q_tokens.iter().map(Token::weight).sum();
        let known: Vec<(u32, f32)> = q_tokens
            .iter()
            .filter_map(|t| self.ids.get(t).map(|&id| (id, t.weight())))
            .collect();
        // Candidates: postings of the rarer tokens (a token held by over a quarter of all addresses, like the city
        // name, narrows nothing), or of the rarest token when all are common. Their summed weights rank the
        // candidates roughly; only the best `SHORTLIST` are scored in full.
        let common = self.len() / 4;
        let mut partial = vec![0.0f32; self.len()];
        let mut touched: Vec<u32> = Vec::new();
        let mut seed = |id: u32, w: f32| {
            for &doc in &self.postings[id as usize] {
                if partial[doc as usize] == 0.0 {
                    touched.push(doc);
                }
                partial[doc as usize] += w;
            }
        };
        let mut seeded = false;
        for &(id, w) in &known {
            if self.postings[id as usize].len() <= common {
                seed(id, w);
                seeded = true;
            }
        }
        if !seeded
            && let Some(&(rarest, w)) = known
                .iter()
                .min_by_key(|(id, _)| self.postings[*id as usize].len())
        {
            seed(rarest, w);
        }
        if touched.len() > SHORTLIST {
            touched.select_nth_unstable_by(SHORTLIST - 1, |a, b| {
                partial[*b as usize]
                    .total_cmp(&partial[*a as usize])
                    .then(a.cmp(b))
            });
            touched.truncate(SHORTLIST);
        }
        let q_number = first_number(q_tokens.clone());
        let mut matches: Vec<AddressMatch> = touched
            .into_iter()
            .map(|doc| {
                let mine = &self.doc_tokens[doc as usize];
                let (mut weight, mut count) = (0.0f32, 0usize);
                for &(id, w) in &known {
                    if mine.binary_search(&id).is_ok() {
                        weight += w;
                        count += 1;
                    }
                }
                let coverage = weight / total_weight;
                let dice = 2.0 * count as f32 / (q_tokens.len() + mine.len()) as f32;
                let road = &self.roads[doc as usize];
                let road_bonus = if !road.is_empty() && q.contains(road.as_str()) {
                    1.0
                } else {
                    0.0
                };
                let number_bonus = if q_number.is_some() && q_number == self.numbers[doc as usize] {
                    1.0
                } else {
                    0.0
                };
                AddressMatch {
                    address: doc as usize,
                    score: 0.55 * coverage + 0.25 * dice + 0.1 * road_bonus + 0.1 * number_bonus,
                }
            })
            .collect();
        let by_rank = |a: &AddressMatch, b: &AddressMatch| {
            b.score.total_cmp(&a.score).then(a.address.cmp(&b.address))
        };
        if matches.len() > limit {
            matches.select_nth_unstable_by(limit - 1, by_rank);
            matches.truncate(limit);
        }
        matches.sort_by(by_rank);
        matches
    }
}

fn first_number(tokens: Vec<Token>) -> Option<String> {
    tokens.into_iter().find_map(|t| match t {
        Token::Number(n) => Some(n),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_folds_width_case_and_punctuation() {
        assert_eq!(normalise("黄河路１２８号 Ａ座，3-2"), "黄河路128号a座32");
    }

    #[test]
    fn digit_runs_are_whole_tokens() {
        let t = tokens("黄河路128号");
        assert!(t.contains(&Token::Number("128".into())));
        assert!(!t.contains(&Token::Number("12".into())));
        assert!(t.contains(&Token::Bigram('黄', '河')) && t.contains(&Token::Single('号')));
    }
}
