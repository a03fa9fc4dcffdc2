//! Incident reports (事件) and their cases: what arrives, where it was routed, and the stages of its handling
//! (GB/T 30428: 立案 → 派遣 → 处置 → 核查 → 结案, plus 退回 and escalation).
//!
//! Times are UTC; working-time rules live in [`crate::calendar`]. Codes, not index ids, name areas here: a report
//! keeps the grid it was routed to even after the boundaries are redrawn.

use chrono::{DateTime, Utc};
use geo_types::Coord;
use serde::{Deserialize, Serialize};

use crate::{Crs, Level, StaffMember};

/// Where a report came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A grid worker on patrol (网格员巡查).
    Patrol,
    /// The 12345 government hotline.
    #[serde(rename = "hotline_12345")]
    Hotline12345,
    /// Video surveillance (视频监控).
    Video,
    /// Transferred from the 110 police line.
    #[serde(rename = "transfer_110")]
    Transfer110,
    /// A phone app (WeChat mini-program, Amap, Baidu, ...).
    App,
}

impl Channel {
    pub const ALL: [Channel; 5] = [
        Channel::Patrol,
        Channel::Hotline12345,
        Channel::Video,
        Channel::Transfer110,
        Channel::App,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Patrol => "patrol",
            Channel::Hotline12345 => "hotline_12345",
            Channel::Video => "video",
            Channel::Transfer110 => "transfer_110",
            Channel::App => "app",
        }
    }
}

/// Matter classes in the style of GB/T 47678.5: component faults 01-05, events 06-10, and emergencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Category {
    /// 01 公用设施 (public utilities: manholes, hydrants, street lamps).
    #[serde(rename = "01")]
    PublicFacilities,
    /// 02 道路交通 (road and traffic facilities).
    #[serde(rename = "02")]
    RoadTraffic,
    /// 03 市容环境设施 (bins, public toilets, kiosks).
    #[serde(rename = "03")]
    EnvironmentFacilities,
    /// 04 园林绿化 (trees, green space).
    #[serde(rename = "04")]
    Landscaping,
    /// 05 房屋土地 (buildings and land).
    #[serde(rename = "05")]
    HousingLand,
    /// 06 市容环境 (litter, garbage, dirty streets).
    #[serde(rename = "06")]
    CityAppearance,
    /// 07 宣传广告 (illegal posters and billboards).
    #[serde(rename = "07")]
    Advertising,
    /// 08 施工管理 (construction sites).
    #[serde(rename = "08")]
    Construction,
    /// 09 街面秩序 (street vending, parking, occupation of the road).
    #[serde(rename = "09")]
    StreetOrder,
    /// 10 其他 (other matters).
    #[serde(rename = "10")]
    Other,
    /// 突发事件 (emergencies: fire, flood, gas leak); handled round the clock.
    #[serde(rename = "emergency")]
    Emergency,
}

impl Category {
    pub const ALL: [Category; 11] = [
        Category::PublicFacilities,
        Category::RoadTraffic,
        Category::EnvironmentFacilities,
        Category::Landscaping,
        Category::HousingLand,
        Category::CityAppearance,
        Category::Advertising,
        Category::Construction,
        Category::StreetOrder,
        Category::Other,
        Category::Emergency,
    ];

    /// The code used in the API and the stores: `01`..`10` or `emergency`.
    pub fn code(self) -> &'static str {
        match self {
            Category::PublicFacilities => "01",
            Category::RoadTraffic => "02",
            Category::EnvironmentFacilities => "03",
            Category::Landscaping => "04",
            Category::HousingLand => "05",
            Category::CityAppearance => "06",
            Category::Advertising => "07",
            Category::Construction => "08",
            Category::StreetOrder => "09",
            Category::Other => "10",
            Category::Emergency => "emergency",
        }
    }

    /// The Chinese name shown to dispatchers.
    pub fn name_zh(self) -> &'static str {
        match self {
            Category::PublicFacilities => "公用设施",
            Category::RoadTraffic => "道路交通",
            Category::EnvironmentFacilities => "市容环境设施",
            Category::Landscaping => "园林绿化",
            Category::HousingLand => "房屋土地",
            Category::CityAppearance => "市容环境",
            Category::Advertising => "宣传广告",
            Category::Construction => "施工管理",
            Category::StreetOrder => "街面秩序",
            Category::Other => "其他",
            Category::Emergency => "突发事件",
        }
    }
}

/// A stage of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// 立案: accepted and routed, waiting to be dispatched.
    Registered,
    /// 派遣: sent to the responsible grid's staff, waiting for them to take it.
    Dispatched,
    /// 处置: being handled.
    Handling,
    /// 核查: handled, waiting for the dispatcher (or the reporter) to verify.
    Verification,
    /// 结案: closed.
    Closed,
    /// 退回: sent back by the assignee (not theirs, wrong place); the dispatcher re-dispatches it.
    Returned,
    /// 上报: moved one level up the tree, waiting to be dispatched there.
    Escalated,
}

impl Stage {
    pub const ALL: [Stage; 7] = [
        Stage::Registered,
        Stage::Dispatched,
        Stage::Handling,
        Stage::Verification,
        Stage::Closed,
        Stage::Returned,
        Stage::Escalated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Registered => "registered",
            Stage::Dispatched => "dispatched",
            Stage::Handling => "handling",
            Stage::Verification => "verification",
            Stage::Closed => "closed",
            Stage::Returned => "returned",
            Stage::Escalated => "escalated",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Stage::Registered => "立案",
            Stage::Dispatched => "派遣",
            Stage::Handling => "处置",
            Stage::Verification => "核查",
            Stage::Closed => "结案",
            Stage::Returned => "退回",
            Stage::Escalated => "上报",
        }
    }
}

/// What someone does to a case. The legal moves are in [`crate::workflow`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The first event of every case: accepted and routed (立案).
    Register,
    /// Send to the responsible area's staff.
    Dispatch,
    /// The assignee takes it up.
    Accept,
    /// The assignee reports it handled.
    Submit,
    /// Verification passed.
    Close,
    /// Verification failed: back to handling (counts for 返工率).
    Rework,
    /// The assignee sends it back to the dispatcher.
    Return,
    /// One level up the tree, by hand (with a reason) or when a time limit passes.
    Escalate,
    /// The dispatcher sends it to another area or person.
    Reassign,
    /// More time granted for the current stage (counts for 延期率).
    Extend,
}

impl Action {
    pub const ALL: [Action; 10] = [
        Action::Register,
        Action::Dispatch,
        Action::Accept,
        Action::Submit,
        Action::Close,
        Action::Rework,
        Action::Return,
        Action::Escalate,
        Action::Reassign,
        Action::Extend,
    ];

    /// The name used in the API and the stores (as serde writes it).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Register => "register",
            Action::Dispatch => "dispatch",
            Action::Accept => "accept",
            Action::Submit => "submit",
            Action::Close => "close",
            Action::Rework => "rework",
            Action::Return => "return",
            Action::Escalate => "escalate",
            Action::Reassign => "reassign",
            Action::Extend => "extend",
        }
    }
}

/// Where a report was routed and by which rule. Codes are kept, so history survives redrawn boundaries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteRecord {
    /// The responsible area: a grid, an exclusive grid or, by the fallback rule, a community or street.
    pub area_code: String,
    pub level: Level,
    /// `exclusive`, `grid`, `boundary`, `nearest`, `fallback` (see [`crate::routing`]).
    pub rule: String,
    /// Geodesic distance from the report to the responsible area's boundary when it lies outside it, else 0.
    pub distance_m: f64,
    /// The micro-grid holding the report, if any.
    pub micro_grid_code: Option<String>,
    /// The ordinary chain at the report, coarsest first (district, street, community, grid).
    pub chain_codes: Vec<String>,
}

/// One recorded transition: who did what, when, from which stage to which, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportEvent {
    pub seq: u32,
    pub at: DateTime<Utc>,
    /// Who acted; `system` for automatic escalations.
    pub actor: String,
    pub action: Action,
    pub from: Stage,
    pub to: Stage,
    pub reason: Option<String>,
    /// The responsible area after the event (changes on escalate and reassign).
    pub area_code: String,
    /// The assignee after the event, if any.
    pub assignee: Option<String>,
    /// The stage's deadline after the event, if it has one.
    pub deadline: Option<DateTime<Utc>>,
}

/// An incident report and its case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Server-assigned id.
    pub id: i64,
    /// The client's id for the report; the same id twice is one report.
    pub client_id: String,
    pub channel: Channel,
    pub category: Category,
    pub description: String,
    pub reporter: Option<String>,
    /// When the reporter saw it (client clock).
    pub reported_at: DateTime<Utc>,
    /// When gridmap received it (server clock); time limits run from here.
    pub received_at: DateTime<Utc>,
    /// WGS-84 lon/lat.
    pub point: Coord<f64>,
    /// The coordinates as sent, and their system.
    pub input_crs: Crs,
    pub input_point: Coord<f64>,
    /// The routing at intake; never changed afterwards.
    pub route: RouteRecord,
    /// The grid's leader and the chosen handler at intake, with the reason for the choice.
    pub leader: Option<StaffMember>,
    pub handler: Option<StaffMember>,
    pub handler_reason: String,
    /// The case now.
    pub stage: Stage,
    pub area_code: String,
    pub level: Level,
    pub assignee: Option<String>,
    pub stage_since: DateTime<Utc>,
    pub deadline: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Incremented by every event; writers compare it (optimistic concurrency).
    pub version: i64,
    pub events: Vec<ReportEvent>,
}
