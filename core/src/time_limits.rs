//! Time limits of the stages of a case (办理时限), by responsible level and category.
//!
//! Each stage that waits on someone has a limit: registered, returned and escalated wait for dispatch;
//! dispatched waits for the assignee to accept; handling for the result; verification for the check. Closed has
//! none. Limits are in working minutes of the [`WorkCalendar`], except for emergencies (突发事件), whose limits run
//! in natural minutes round the clock.
//!
//! Lookup: the first entry of `by_category` with the report's category and level (or no level), else the entry
//! of `by_level` for the level (micro-grids count as grids), else the grid's.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use gridmap_core::calendar::WorkCalendar;
//! use gridmap_core::time_limits::TimeLimits;
//! use gridmap_core::{Category, Level, Stage};
//! let (cal, limits) = (WorkCalendar::default(), TimeLimits::default());
//! // Monday 9 March 2026, 09:00 in Beijing.
//! let since = Utc.with_ymd_and_hms(2026, 3, 9, 1, 0, 0).unwrap();
//! // A grid handles in one working day (420 min): 3 h before lunch, 3.5 h after, 30 min on Tuesday → 09:00.
//! let d = limits.deadline(&cal, Category::CityAppearance, Level::Grid, Stage::Handling, since);
//! assert_eq!(d, Some(Utc.with_ymd_and_hms(2026, 3, 10, 1, 0, 0).unwrap()));
//! // Dispatch within 30 working minutes.
//! let d = limits.deadline(&cal, Category::CityAppearance, Level::Grid, Stage::Registered, since);
//! assert_eq!(d, Some(Utc.with_ymd_and_hms(2026, 3, 9, 1, 30, 0).unwrap()));
//! // Emergencies run round the clock: handled within 2 natural hours.
//! let d = limits.deadline(&cal, Category::Emergency, Level::Grid, Stage::Handling, since);
//! assert_eq!(d, Some(Utc.with_ymd_and_hms(2026, 3, 9, 3, 0, 0).unwrap()));
//! assert_eq!(limits.deadline(&cal, Category::Other, Level::Grid, Stage::Closed, since), None);
//! ```

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::calendar::WorkCalendar;
use crate::{Category, Level, Stage};

/// One working day of the default calendar (08:30-12:00 and 14:30-18:00), in minutes.
pub const WORKING_DAY_MIN: i64 = 420;

/// Limits of the waiting stages, in minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageLimits {
    /// Registered, returned or escalated → dispatched.
    pub dispatch: i64,
    /// Dispatched → handling (the assignee accepts).
    pub accept: i64,
    /// Handling → verification (the assignee submits).
    pub handle: i64,
    /// Verification → closed.
    pub verify: i64,
}

impl StageLimits {
    /// The limit of a stage; `None` for closed.
    pub fn minutes(&self, stage: Stage) -> Option<i64> {
        match stage {
            Stage::Registered | Stage::Returned | Stage::Escalated => Some(self.dispatch),
            Stage::Dispatched => Some(self.accept),
            Stage::Handling => Some(self.handle),
            Stage::Verification => Some(self.verify),
            Stage::Closed => None,
        }
    }
}

/// A category's own limits, for one level or (level `None`) all of them. Working minutes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryLimits {
    pub category: Category,
    pub level: Option<Level>,
    pub limits: StageLimits,
}

/// All time limits. Loaded by the server from JSON (`--time-limits`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeLimits {
    /// Per responsible level, working minutes.
    pub by_level: Vec<(Level, StageLimits)>,
    /// Overrides for categories, first match wins; working minutes (emergencies excepted, see `emergency`).
    pub by_category: Vec<CategoryLimits>,
    /// Emergencies at every level, natural minutes.
    pub emergency: StageLimits,
}

impl Default for TimeLimits {
    /// Dispatch 30, accept 60, verify 240 working minutes at every level; handle in 1 working day at a grid, 2 at
    /// a community, 3 at a street, 5 at the district ([`WORKING_DAY_MIN`] each). Emergencies: dispatch 5, accept
    /// 10, handle 120, verify 60 natural minutes. No category overrides.
    fn default() -> Self {
        let at = |handle| StageLimits {
            dispatch: 30,
            accept: 60,
            handle,
            verify: 240,
        };
        TimeLimits {
            by_level: vec![
                (Level::Grid, at(WORKING_DAY_MIN)),
                (Level::Community, at(2 * WORKING_DAY_MIN)),
                (Level::Street, at(3 * WORKING_DAY_MIN)),
                (Level::District, at(5 * WORKING_DAY_MIN)),
            ],
            by_category: Vec::new(),
            emergency: StageLimits {
                dispatch: 5,
                accept: 10,
                handle: 120,
                verify: 60,
            },
        }
    }
}

impl TimeLimits {
    /// The limits for a category at a level (see the module docs); `true` when they are natural minutes.
    pub fn limits(&self, category: Category, level: Level) -> (StageLimits, bool) {
        if category == Category::Emergency {
            return (self.emergency, true);
        }
        let level = level.min(Level::Grid);
        if let Some(c) = self
            .by_category
            .iter()
            .find(|c| c.category == category && c.level.is_none_or(|l| l == level))
        {
            return (c.limits, false);
        }
        let by_level = |l: Level| self.by_level.iter().find(|(x, _)| *x == l).map(|(_, s)| *s);
        let limits = by_level(level)
            .or_else(|| by_level(Level::Grid))
            .unwrap_or(StageLimits {
                dispatch: 30,
                accept: 60,
                handle: WORKING_DAY_MIN,
                verify: 240,
            });
        (limits, false)
    }

    /// When a stage entered at `since` runs out; `None` for closed.
    pub fn deadline(
        &self,
        cal: &WorkCalendar,
        category: Category,
        level: Level,
        stage: Stage,
        since: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let (limits, natural) = self.limits(category, level);
        let minutes = limits.minutes(stage)?;
        Some(if natural {
            since + Duration::minutes(minutes)
        } else {
            cal.add_working(since, minutes)
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn beijing(d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, d, h, mi, 0)
            .single()
            .expect("a valid time")
            - Duration::hours(8)
    }

    #[test]
    fn handling_limits_grow_with_the_level_in_working_days() {
        let (cal, limits) = (WorkCalendar::default(), TimeLimits::default());
        // From Monday 9 March 08:30, n working days end at 18:00 of the n-th working day.
        let since = beijing(9, 8, 30);
        let due = |level| limits.deadline(&cal, Category::Other, level, Stage::Handling, since);
        assert_eq!(due(Level::Grid), Some(beijing(9, 18, 0)));
        assert_eq!(due(Level::MicroGrid), Some(beijing(9, 18, 0)));
        assert_eq!(due(Level::Community), Some(beijing(10, 18, 0)));
        assert_eq!(due(Level::Street), Some(beijing(11, 18, 0)));
        // Five working days from Monday: Friday evening.
        assert_eq!(due(Level::District), Some(beijing(13, 18, 0)));
        // Accept within an hour, verify within 240 working minutes (08:30 + 210 = 12:00, + 30 = 15:00).
        let at = |stage| limits.deadline(&cal, Category::Other, Level::Street, stage, since);
        assert_eq!(at(Stage::Dispatched), Some(beijing(9, 9, 30)));
        assert_eq!(at(Stage::Verification), Some(beijing(9, 15, 0)));
        assert_eq!(at(Stage::Returned), Some(beijing(9, 9, 0)));
        assert_eq!(at(Stage::Escalated), Some(beijing(9, 9, 0)));
    }

    #[test]
    fn emergencies_run_at_night_and_category_overrides_win() {
        let cal = WorkCalendar::default();
        let mut limits = TimeLimits::default();
        // Saturday 14 March, 23:00.
        let night = beijing(14, 23, 0);
        assert_eq!(
            limits.deadline(
                &cal,
                Category::Emergency,
                Level::Street,
                Stage::Registered,
                night
            ),
            Some(beijing(14, 23, 5))
        );
        limits.by_category.push(CategoryLimits {
            category: Category::Construction,
            level: Some(Level::Grid),
            limits: StageLimits {
                dispatch: 60,
                accept: 60,
                handle: 960,
                verify: 60,
            },
        });
        // Saturday night + 60 working minutes: Monday 09:30; the community keeps the level's 30.
        assert_eq!(
            limits.deadline(
                &cal,
                Category::Construction,
                Level::Grid,
                Stage::Registered,
                night
            ),
            Some(beijing(16, 9, 30))
        );
        assert_eq!(
            limits.deadline(
                &cal,
                Category::Construction,
                Level::Community,
                Stage::Registered,
                night
            ),
            Some(beijing(16, 9, 0))
        );
    }
}
