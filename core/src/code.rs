//! Area codes. National scheme (GB/T 2260 county + GB/T 10114 street + community + grid):
//!
//! | level       | length | shape                                  |
//! |-------------|--------|----------------------------------------|
//! | district    | 6      | county code, e.g. `411104`             |
//! | street      | 9      | district + 3                           |
//! | community   | 12     | street + 3                             |
//! | grid        | 15     | community + `001`-`899` (ordinary)     |
//! | exclusive   | 15     | community + `900`-`999` (专属网格)      |
//! | micro-grid  | 18     | grid + 3                               |
//!
//! Imported data may keep its own ids verbatim ([`CodeScheme::Verbatim`]).
//!
//! ```
//! use gridmap_core::{GridCode, Level};
//! let code = GridCode::parse("411104001002003").unwrap();
//! assert_eq!(code.level(), Level::Grid);
//! assert_eq!(code.parent().unwrap().as_str(), "411104001002");
//! assert!(!code.is_exclusive());
//! assert!(GridCode::parse("41110400100200").is_err());
//! ```

use crate::{Error, Level};

/// Longest id kept verbatim.
pub const MAX_VERBATIM_LEN: usize = 64;

/// How codes of a dataset are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CodeScheme {
    /// The national 6/9/12/15/18-digit scheme; a child's code extends its parent's.
    #[default]
    National,
    /// Any non-empty id of up to [`MAX_VERBATIM_LEN`] characters, kept as the source has it.
    Verbatim,
}

/// A code checked against the national scheme.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GridCode(String);

fn invalid(code: &str, reason: &str) -> Error {
    Error::InvalidCode {
        code: code.to_owned(),
        reason: reason.to_owned(),
    }
}

/// Code length of each level in the national scheme.
fn national_len(level: Level) -> usize {
    match level {
        Level::District => 6,
        Level::Street => 9,
        Level::Community => 12,
        Level::Grid => 15,
        Level::MicroGrid => 18,
    }
}

impl GridCode {
    /// Parses a national code; the level follows from the length.
    pub fn parse(code: &str) -> Result<GridCode, Error> {
        if !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(code, "national codes are digits only"));
        }
        if !Level::ALL.iter().any(|&l| national_len(l) == code.len()) {
            return Err(invalid(
                code,
                "national codes have 6 (district), 9 (street), 12 (community), 15 (grid) or 18 (micro-grid) digits",
            ));
        }
        if code[code.len() - 3..] == *"000" && code.len() > 6 {
            return Err(invalid(code, "the last segment must not be 000"));
        }
        Ok(GridCode(code.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn level(&self) -> Level {
        Level::ALL
            .into_iter()
            .find(|&l| national_len(l) == self.0.len())
            .unwrap_or(Level::MicroGrid)
    }

    /// True for grid codes whose last three digits are in 900-999.
    pub fn is_exclusive(&self) -> bool {
        self.level() == Level::Grid && self.0.as_bytes()[12] == b'9'
    }

    /// The parent's code (the code minus its last segment); `None` for districts.
    pub fn parent(&self) -> Option<GridCode> {
        (self.0.len() > 6).then(|| GridCode(self.0[..self.0.len() - 3].to_owned()))
    }
}

impl std::fmt::Display for GridCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl CodeScheme {
    /// Checks `code` for an area at `level` whose parent has `parent` as code.
    ///
    /// In the national scheme the code's length must match the level and the code must extend its
    /// parent's (levels may be skipped: a grid directly under a district still starts with the
    /// district's six digits).
    pub fn check(self, code: &str, level: Level, parent: Option<&str>) -> Result<(), Error> {
        match self {
            CodeScheme::Verbatim => {
                if code.trim().is_empty() {
                    Err(invalid(code, "empty code"))
                } else if code.chars().count() > MAX_VERBATIM_LEN {
                    Err(invalid(code, "longer than 64 characters"))
                } else {
                    Ok(())
                }
            }
            CodeScheme::National => {
                let parsed = GridCode::parse(code)?;
                if parsed.level() != level {
                    return Err(invalid(
                        code,
                        &format!(
                            "a {level} code has {} digits, this one has {}",
                            national_len(level),
                            code.len()
                        ),
                    ));
                }
                if let Some(parent) = parent
                    && !code.starts_with(parent)
                {
                    return Err(invalid(
                        code,
                        &format!("does not extend its parent's code {parent}"),
                    ));
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_levels_follow_length() {
        for (code, level) in [
            ("411104", Level::District),
            ("411104001", Level::Street),
            ("411104001002", Level::Community),
            ("411104001002003", Level::Grid),
            ("411104001002003004", Level::MicroGrid),
        ] {
            assert_eq!(GridCode::parse(code).expect(code).level(), level);
        }
    }

    #[test]
    fn exclusive_grids_use_900_range() {
        assert!(
            GridCode::parse("411104001002901")
                .expect("valid")
                .is_exclusive()
        );
        assert!(
            !GridCode::parse("411104001002899")
                .expect("valid")
                .is_exclusive()
        );
        assert!(!GridCode::parse("411104001").expect("valid").is_exclusive());
    }

    #[test]
    fn rejects_malformed_codes() {
        for bad in [
            "",
            "41110",
            "4111040011",
            "41110400100A",
            "411104000",
            "４１１１０４",
        ] {
            assert!(GridCode::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn scheme_checks_level_and_parent() {
        let s = CodeScheme::National;
        assert!(
            s.check("411104001002003", Level::Grid, Some("411104001002"))
                .is_ok()
        );
        assert!(
            s.check("411104001002003", Level::Grid, Some("411104"))
                .is_ok()
        );
        assert!(
            s.check("411104001002003", Level::Grid, Some("411104002"))
                .is_err()
        );
        assert!(s.check("411104001002", Level::Grid, None).is_err());
        assert!(
            CodeScheme::Verbatim
                .check("1713", Level::Grid, Some("17"))
                .is_ok()
        );
        assert!(CodeScheme::Verbatim.check(" ", Level::Grid, None).is_err());
    }
}
