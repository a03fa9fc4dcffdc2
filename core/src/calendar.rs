//! Working time: the office hours in which time limits run (工作时间), with public holidays and the make-up working
//! days that move them (调休).
//!
//! A day is a working day if it is listed in `extra_workdays`, else if it is not in `holidays` and its weekday is
//! in `weekdays`. Working time on a working day is the union of `periods`, in local time (`utc_offset_minutes`
//! east of UTC; China has no daylight saving). `periods` must be in order and must not overlap.
//!
//! The default calendar has no holidays: the State Council publishes each year's list in November, so the server
//! loads it from a JSON file (`--calendar`).
//!
//! ```
//! use chrono::{NaiveDate, TimeZone, Utc};
//! use gridmap_core::calendar::WorkCalendar;
//! let cal = WorkCalendar::default();
//! // Friday 6 March 2026, 17:30 in Beijing (09:30 UTC): 30 minutes left that day, the rest on Monday.
//! let friday = Utc.with_ymd_and_hms(2026, 3, 6, 9, 30, 0).unwrap();
//! let monday_9 = Utc.with_ymd_and_hms(2026, 3, 9, 1, 0, 0).unwrap();
//! assert_eq!(cal.add_working(friday, 60), monday_9);
//! assert_eq!(cal.working_minutes_between(friday, monday_9), 60);
//! // Lunch (12:00-14:30) does not count: Monday 11:30 + 60 working minutes = 15:00.
//! let monday_1130 = Utc.with_ymd_and_hms(2026, 3, 9, 3, 30, 0).unwrap();
//! assert_eq!(cal.add_working(monday_1130, 60), Utc.with_ymd_and_hms(2026, 3, 9, 7, 0, 0).unwrap());
//! // A holiday on Monday is skipped: Tuesday 09:00.
//! let holiday = WorkCalendar { holidays: vec![NaiveDate::from_ymd_opt(2026, 3, 9).unwrap()], ..cal.clone() };
//! assert_eq!(holiday.add_working(friday, 60), Utc.with_ymd_and_hms(2026, 3, 10, 1, 0, 0).unwrap());
//! // A make-up working Saturday (调休) counts: Saturday 09:00.
//! let makeup = WorkCalendar { extra_workdays: vec![NaiveDate::from_ymd_opt(2026, 3, 7).unwrap()], ..cal };
//! assert_eq!(makeup.add_working(friday, 60), Utc.with_ymd_and_hms(2026, 3, 7, 1, 0, 0).unwrap());
//! ```

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};

/// Office hours, holidays and make-up working days. Loaded by the server from JSON (`--calendar`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkCalendar {
    /// Local time = UTC + this many minutes (480 for China Standard Time).
    pub utc_offset_minutes: i32,
    /// Working periods of a working day, local time, in order, not overlapping.
    pub periods: Vec<(NaiveTime, NaiveTime)>,
    /// Weekdays that are working days unless a holiday.
    pub weekdays: Vec<Weekday>,
    /// Days off (法定节假日), local dates.
    pub holidays: Vec<NaiveDate>,
    /// Days worked though their weekday is off (调休), local dates.
    pub extra_workdays: Vec<NaiveDate>,
}

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN)
}

impl Default for WorkCalendar {
    /// UTC+8, 08:30-12:00 and 14:30-18:00, Monday to Friday, no holidays.
    fn default() -> Self {
        WorkCalendar {
            utc_offset_minutes: 480,
            periods: vec![(hm(8, 30), hm(12, 0)), (hm(14, 30), hm(18, 0))],
            weekdays: vec![
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ],
            holidays: Vec::new(),
            extra_workdays: Vec::new(),
        }
    }
}

/// Beyond this many days without working time, the calendar is taken to have none and time runs naturally.
const MAX_DAYS: i64 = 3660;

impl WorkCalendar {
    /// Is the local date a working day?
    pub fn is_workday(&self, day: NaiveDate) -> bool {
        self.extra_workdays.contains(&day)
            || (!self.holidays.contains(&day) && self.weekdays.contains(&day.weekday()))
    }

    fn offset(&self) -> Duration {
        Duration::minutes(i64::from(self.utc_offset_minutes))
    }

    fn local(&self, t: DateTime<Utc>) -> NaiveDateTime {
        t.naive_utc() + self.offset()
    }

    fn utc(&self, local: NaiveDateTime) -> DateTime<Utc> {
        DateTime::from_naive_utc_and_offset(local - self.offset(), Utc)
    }

    /// Working periods of a local date, as local date-times (none on days off).
    fn periods_of(
        &self,
        day: NaiveDate,
    ) -> impl Iterator<Item = (NaiveDateTime, NaiveDateTime)> + '_ {
        let work = self.is_workday(day);
        self.periods
            .iter()
            .filter(move |_| work)
            .map(move |&(a, b)| (day.and_time(a), day.and_time(b)))
    }

    /// `from` plus `minutes` of working time. The answer lies in working time (the end of a period when the
    /// minutes run out exactly there). `minutes <= 0` gives `from`. A calendar without any working time (no
    /// periods, or no working day in ten years) counts natural minutes.
    pub fn add_working(&self, from: DateTime<Utc>, minutes: i64) -> DateTime<Utc> {
        if minutes <= 0 {
            return from;
        }
        let start = self.local(from);
        let mut left = Duration::minutes(minutes);
        let mut day = start.date();
        for _ in 0..MAX_DAYS {
            for (a, b) in self.periods_of(day) {
                let a = a.max(start);
                if b <= a {
                    continue;
                }
                if b - a >= left {
                    return self.utc(a + left);
                }
                left -= b - a;
            }
            let Some(next) = day.succ_opt() else { break };
            day = next;
        }
        from + Duration::minutes(minutes)
    }

    /// Working minutes from `a` to `b` (whole minutes, rounded down; negative when `b` is before `a`).
    pub fn working_minutes_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> i64 {
        if b < a {
            return -self.working_minutes_between(b, a);
        }
        let (a, b) = (self.local(a), self.local(b));
        let mut total = Duration::zero();
        let mut day = a.date();
        while day <= b.date() {
            for (p, q) in self.periods_of(day) {
                let (p, q) = (p.max(a), q.min(b));
                if q > p {
                    total += q - p;
                }
            }
            let Some(next) = day.succ_opt() else { break };
            day = next;
        }
        total.num_minutes()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn beijing(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        // Beijing time is UTC+8 all year.
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
            .single()
            .expect("a valid time")
            - Duration::hours(8)
    }

    #[test]
    fn adding_and_measuring_working_time_agree_across_weeks_holidays_and_makeup_days() {
        let cal = WorkCalendar {
            // 2025 National Day and Mid-Autumn: 1-8 October off, Sunday 28 September and Saturday 11 October
            // worked (State Council notice of November 2024).
            holidays: (1..=8)
                .map(|d| NaiveDate::from_ymd_opt(2025, 10, d).expect("a date"))
                .collect(),
            extra_workdays: vec![
                NaiveDate::from_ymd_opt(2025, 9, 28).expect("a date"),
                NaiveDate::from_ymd_opt(2025, 10, 11).expect("a date"),
            ],
            ..WorkCalendar::default()
        };
        // Friday 26 September 16:00: 2 h left that day (120 min); Sunday 28th worked (420 min); Monday 29 and
        // Tuesday 30 (840); then nothing until Thursday 9 October. 120 + 420 + 840 = 1380 minutes.
        let from = beijing(2025, 9, 26, 16, 0);
        assert_eq!(cal.add_working(from, 1380), beijing(2025, 9, 30, 18, 0));
        assert_eq!(cal.add_working(from, 1381), beijing(2025, 10, 9, 8, 31));
        assert_eq!(
            cal.working_minutes_between(from, beijing(2025, 10, 9, 8, 31)),
            1381
        );
        // Thursday 9 and Friday 10 (840) then Saturday 11 worked.
        assert_eq!(
            cal.add_working(beijing(2025, 10, 9, 8, 30), 840 + 30),
            beijing(2025, 10, 11, 9, 0)
        );
        // Outside hours counts nothing; reversed arguments give the negative.
        assert_eq!(
            cal.working_minutes_between(beijing(2025, 10, 3, 9, 0), beijing(2025, 10, 5, 17, 0)),
            0
        );
        assert_eq!(
            cal.working_minutes_between(beijing(2025, 9, 30, 18, 0), beijing(2025, 9, 26, 16, 0)),
            -1380
        );
    }

    #[test]
    fn a_calendar_without_working_time_counts_natural_minutes() {
        let cal = WorkCalendar {
            periods: Vec::new(),
            ..WorkCalendar::default()
        };
        let t = beijing(2026, 3, 6, 17, 30);
        assert_eq!(cal.add_working(t, 90), t + Duration::minutes(90));
    }

    #[test]
    fn the_calendar_reads_from_json() {
        let json = r#"{"utc_offset_minutes": 480, "periods": [["09:00:00", "17:00:00"]],
            "weekdays": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat"], "holidays": ["2026-03-09"],
            "extra_workdays": []}"#;
        let cal: WorkCalendar = serde_json::from_str(json).expect("valid JSON");
        // Friday 16:30 + 60: 30 min Friday, Saturday 09:30 (a working weekday here).
        assert_eq!(
            cal.add_working(beijing(2026, 3, 6, 16, 30), 60),
            beijing(2026, 3, 7, 9, 30)
        );
        let back: WorkCalendar = serde_json::from_str(
            &serde_json::to_string(&WorkCalendar::default()).expect("serialises"),
        )
        .expect("round trip");
        assert_eq!(back, WorkCalendar::default());
    }
}
