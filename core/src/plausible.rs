//! Honest input: text a person could have typed, and times a device could have seen.
//!
//! A report's description, a worker's id or a plan's name is shown to dispatchers, written to logs and
//! exported to other systems: control characters (NUL, ESC, terminal sequences) and bidirectional overrides
//! (U+202E turns `gpj.exe` into `exe.jpg` on screen) have no place in any of them. Free text keeps line
//! breaks and tabs; names and codes keep neither.
//!
//! A fix or a report dated 1970 or next week is a broken clock or a forgery: [`TimeBounds`] says which
//! instants are believable, against the server's own clock.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use gridmap_core::plausible::{TimeBounds, free_text, name};
//! assert!(free_text("路灯不亮\n第二行").is_ok());
//! assert_eq!(free_text("a\u{1b}[2Jb").unwrap_err(), "control character U+001B at character 1");
//! assert!(name("和平社区\u{202e}").is_err());
//! let now = Utc.with_ymd_and_hms(2026, 12, 7, 8, 0, 0).unwrap();
//! let bounds = TimeBounds::default();
//! assert!(bounds.check(now, now).is_ok());
//! assert!(bounds.check(Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap(), now).is_err());
//! assert!(bounds.check(now + chrono::Duration::hours(1), now).is_err());
//! ```

use chrono::{DateTime, Duration, TimeZone, Utc};

/// Bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069): they reorder what a
/// reader sees without changing what is stored.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn refuse(i: usize, c: char, what: &str) -> String {
    format!("{what} U+{:04X} at character {i}", u32::from(c))
}

/// Text a person wrote (descriptions, reasons, notes): no control characters but line breaks (`\n`,
/// `\r\n`) and tabs, no bidirectional controls. The reason names the first offending character.
pub fn free_text(text: &str) -> Result<(), String> {
    let mut chars = text.chars().enumerate().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\n' | '\t' => {}
            '\r' if chars.peek().is_some_and(|&(_, next)| next == '\n') => {}
            c if c.is_control() => return Err(refuse(i, c, "control character")),
            c if is_bidi_control(c) => return Err(refuse(i, c, "bidirectional control")),
            _ => {}
        }
    }
    Ok(())
}

/// A name, code or id shown on one line (area names, worker ids, plan names): no control characters at
/// all, no bidirectional controls.
pub fn name(text: &str) -> Result<(), String> {
    for (i, c) in text.chars().enumerate() {
        if c.is_control() {
            return Err(refuse(i, c, "control character"));
        }
        if is_bidi_control(c) {
            return Err(refuse(i, c, "bidirectional control"));
        }
    }
    Ok(())
}

/// Default of [`TimeBounds::floor`]: 2000-01-01T00:00:00Z.
pub fn default_floor() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Default of [`TimeBounds::skew`]: five minutes, for phones whose clocks run ahead.
pub const DEFAULT_SKEW: Duration = Duration::minutes(5);

/// Instants a device could have seen: not before `floor`, not after the server's now plus `skew`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeBounds {
    pub floor: DateTime<Utc>,
    pub skew: Duration,
}

impl Default for TimeBounds {
    fn default() -> Self {
        TimeBounds {
            floor: default_floor(),
            skew: DEFAULT_SKEW,
        }
    }
}

impl TimeBounds {
    /// `Ok` when `at` lies in `[floor, now + skew]`; else the reason, naming the bound.
    pub fn check(&self, at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), String> {
        if at < self.floor {
            return Err(format!(
                "{} is before {}, the earliest time accepted",
                at.to_rfc3339(),
                self.floor.to_rfc3339()
            ));
        }
        let latest = now + self.skew;
        if at > latest {
            return Err(format!(
                "{} is in the future (the server's clock says {}; at most {} s ahead is accepted)",
                at.to_rfc3339(),
                now.to_rfc3339(),
                self.skew.num_seconds()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_text_keeps_line_breaks_tabs_and_every_script() {
        for ok in [
            "",
            "井盖缺失，请尽快处理",
            "line\r\nbreak\tand tab",
            "emoji 🚧 and Arabic مرحبا",
        ] {
            assert_eq!(free_text(ok), Ok(()), "{ok:?}");
        }
    }

    #[test]
    fn free_text_refuses_nul_esc_lone_cr_del_c1_and_bidi_controls() {
        for (bad, at) in [
            ("a\0b", "U+0000 at character 1"),
            ("\u{1b}[31m", "U+001B at character 0"),
            ("ab\rc", "U+000D at character 2"),
            ("x\u{7f}", "U+007F at character 1"),
            ("x\u{85}", "U+0085 at character 1"),
            ("名\u{202e}gpj.exe", "U+202E at character 1"),
            ("\u{2066}x", "U+2066 at character 0"),
        ] {
            let reason = free_text(bad).expect_err(bad);
            assert!(reason.ends_with(at), "{bad:?}: {reason}");
        }
    }

    #[test]
    fn names_refuse_line_breaks_too() {
        assert_eq!(name("和平社区 第一网格"), Ok(()));
        assert!(name("two\nlines").is_err());
        assert!(name("tab\there").is_err());
        assert!(name("\u{202d}123").is_err());
    }

    #[test]
    fn time_bounds_are_inclusive_at_both_ends() {
        let now = Utc.with_ymd_and_hms(2026, 12, 7, 8, 0, 0).unwrap();
        let bounds = TimeBounds::default();
        assert!(bounds.check(bounds.floor, now).is_ok());
        assert!(bounds.check(now + DEFAULT_SKEW, now).is_ok());
        let early = bounds.check(bounds.floor - Duration::seconds(1), now);
        assert!(
            early
                .expect_err("early")
                .contains("before 2000-01-01T00:00:00+00:00")
        );
        let late = bounds.check(now + DEFAULT_SKEW + Duration::seconds(1), now);
        assert!(late.expect_err("late").contains("at most 300 s ahead"));
    }
}
