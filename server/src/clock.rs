//! Where the server gets the time: the system clock in service, a settable one in tests, so that a test can
//! move time past a deadline and watch the escalation task act.

use std::sync::Mutex;

use chrono::{DateTime, FixedOffset, NaiveDate, SubsecRound, Utc};

/// The calendar's offset from UTC (Beijing time): dates and the default window are local days.
pub const LOCAL_OFFSET_MINUTES: i32 = 480;
/// The fixed local zone of patrol days.
pub fn local() -> FixedOffset {
    FixedOffset::east_opt(LOCAL_OFFSET_MINUTES * 60)
        .expect("a constant offset within a day is valid")
}

/// The start of a local day, in UTC.
pub fn day_start(day: NaiveDate) -> DateTime<Utc> {
    TimeArg::Day(day)
        .resolve(local(), false)
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// A time given as an instant or as a local date, whose zone the use case knows.
#[derive(Debug, Clone, Copy)]
pub enum TimeArg {
    At(DateTime<Utc>),
    Day(NaiveDate),
}

impl TimeArg {
    /// The instant, or the start of the day in `zone`; `end` takes the next day's start (a date as an end
    /// includes that whole day). `None` when the date is out of range.
    pub fn resolve(self, zone: FixedOffset, end: bool) -> Option<DateTime<Utc>> {
        let day = match self {
            TimeArg::At(t) => return Some(t),
            TimeArg::Day(day) if end => day.succ_opt()?,
            TimeArg::Day(day) => day,
        };
        let start = day
            .and_hms_opt(0, 0, 0)?
            .and_local_timezone(zone)
            .single()?;
        Some(start.with_timezone(&Utc))
    }
}

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until it is set or advanced (tests).
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> ManualClock {
        ManualClock(Mutex::new(at))
    }

    pub fn set(&self, at: DateTime<Utc>) {
        if let Ok(mut now) = self.0.lock() {
            *now = at;
        }
    }

    pub fn advance(&self, by: chrono::Duration) {
        if let Ok(mut now) = self.0.lock() {
            *now += by;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
            .lock()
            .map_or_else(|poisoned| *poisoned.into_inner(), |now| *now)
    }
}

/// The time as the stores keep it (milliseconds), so a report reads back exactly as it was written.
pub fn stored_now(clock: &dyn Clock) -> DateTime<Utc> {
    clock.now().trunc_subsecs(3)
}
