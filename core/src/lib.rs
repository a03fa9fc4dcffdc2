//! gridmap's grid domain: pure, no I/O. Everything hot runs here, in memory.
#![forbid(unsafe_code)]

pub mod address;
pub mod calendar;
pub mod code;
pub mod coverage;
pub mod crs;
mod error;
#[doc(hidden)]
pub mod fixture;
pub mod geodesy;
pub mod import;
pub mod index;
pub mod indicators;
pub mod model;
pub mod patrol;
pub mod pip;
pub mod plan;
pub mod plausible;
pub mod report;
pub mod routing;
pub mod staff;
pub mod time_limits;
pub mod validate;
pub mod workflow;

pub use address::{AddressIndex, AddressMatch};
pub use calendar::WorkCalendar;
pub use code::{CodeScheme, GridCode};
pub use coverage::{Coverage, CoverageParams, DutyPolicy, MicroGridVisit, WorkerTime, coverage};
pub use crs::Crs;
pub use error::Error;
pub use index::{AreaId, AreaIndex, Chain, Location, Nearest};
pub use indicators::{Indicators, indicators};
pub use model::{
    Address, Area, City, ExcludedGround, ExcludedKind, GridKind, Level, Road, StaffMember,
    StaffRole,
};
pub use patrol::{Cleaned, CleaningPolicy, Fix, PatrolTrack, Reason, clean, last_positions};
pub use plan::{
    AreaDraft, Impact, Plan, PlanEdit, PlanError, PlanOutcome, PlanRules, Problem, ProblemKind,
    ValidationRules,
};
pub use report::{Action, Category, Channel, Report, ReportEvent, RouteRecord, Stage};
pub use routing::{Responsibility, Route, RouteRule, RoutingPolicy, route, route_located};
pub use staff::{StaffChoice, WorkerPosition, choose_staff};
pub use time_limits::{CategoryLimits, StageLimits, TimeLimits};
pub use workflow::{
    Command, IllegalTransition, Intake, WorkflowError, apply, auto_escalate, due_escalations,
    escalation_target, new_report, next_stage, overdue,
};
