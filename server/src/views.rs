//! JSON views of domain types shared by several endpoints and by the report feed (below the API, so the
//! feed need not import a handler module).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use gridmap_core::plan::{PlanEdit, PlanRules};
use gridmap_core::{Area, Report, ReportEvent, RouteRecord, StaffMember, overdue};
use serde::Serialize;
use serde_json::{Value, json};

use crate::snapshot::Snapshot;
use crate::store::{PlanStatus, StoredPlan};

/// An area named in an answer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AreaRef {
    /// `district`, `street`, `community`, `grid` or `micro_grid`.
    pub level: String,
    pub code: String,
    pub name: String,
    /// Grid kind (`residential`, `market`, ...); absent above the grid level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// Ground no grid takes (a river, a rail yard) named in an answer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ExcludedRef {
    pub name: String,
    /// `water`, `rail`, `military` or `other`.
    pub kind: String,
}

impl ExcludedRef {
    pub fn of(ground: &gridmap_core::ExcludedGround) -> ExcludedRef {
        ExcludedRef {
            name: ground.name.clone(),
            kind: ground.kind.as_str().to_owned(),
        }
    }
}

impl AreaRef {
    pub fn of(area: &Area) -> AreaRef {
        AreaRef {
            level: area.level.as_str().to_owned(),
            code: area.code.clone(),
            name: area.name.clone(),
            kind: area.kind.map(|k| k.as_str().to_owned()),
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StaffView {
    pub name: String,
    pub phone: String,
    /// `leader`, `full_time`, `part_time`, `police` or `doctor`.
    pub role: String,
}

impl StaffView {
    pub fn of(member: &StaffMember) -> StaffView {
        StaffView {
            name: member.name.clone(),
            phone: member.phone.clone(),
            role: member.role.as_str().to_owned(),
        }
    }
}

/// The grid that handles incidents at a point.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ResponsibleView {
    #[serde(flatten)]
    pub area: AreaRef,
    pub exclusive: bool,
    pub staff: Vec<StaffView>,
}

impl ResponsibleView {
    pub fn of(area: &Area) -> ResponsibleView {
        ResponsibleView {
            area: AreaRef::of(area),
            exclusive: area.is_exclusive(),
            staff: area.staff.iter().map(StaffView::of).collect(),
        }
    }
}

/// The nearest grid to a point outside every grid.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NearestView {
    #[serde(flatten)]
    pub area: AreaRef,
    /// Geodesic distance from the point to the grid's boundary, in metres.
    pub distance_m: f64,
}

impl NearestView {
    pub fn of(area: &Area, distance_m: f64) -> NearestView {
        NearestView {
            area: AreaRef::of(area),
            distance_m,
        }
    }
}

/// A report as lists and the live stream show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReportSummary {
    pub id: i64,
    pub client_id: String,
    /// `01`..`10` or `emergency`.
    pub category: String,
    pub category_name: String,
    pub stage: String,
    pub stage_name: String,
    /// The responsible area now.
    pub area_code: String,
    pub level: String,
    /// The routing rule at intake: `exclusive`, `grid`, `boundary`, `nearest` or `fallback`.
    pub rule: String,
    /// Past its stage's deadline and not closed.
    pub overdue: bool,
    pub deadline: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
    pub description: String,
    pub assignee: Option<String>,
    pub version: i64,
    /// WGS-84.
    pub lon: f64,
    pub lat: f64,
}

impl ReportSummary {
    pub fn of(report: &Report, now: DateTime<Utc>) -> ReportSummary {
        ReportSummary {
            id: report.id,
            client_id: report.client_id.clone(),
            category: report.category.code().to_owned(),
            category_name: report.category.name_zh().to_owned(),
            stage: report.stage.as_str().to_owned(),
            stage_name: report.stage.name_zh().to_owned(),
            area_code: report.area_code.clone(),
            level: report.level.as_str().to_owned(),
            rule: report.route.rule.clone(),
            overdue: overdue(report, now),
            deadline: report.deadline,
            received_at: report.received_at,
            description: report.description.clone(),
            assignee: report.assignee.clone(),
            version: report.version,
            lon: report.point.x,
            lat: report.point.y,
        }
    }
}

/// A report with its route, staff and every event.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReportView {
    #[serde(flatten)]
    pub summary: ReportSummary,
    pub channel: String,
    pub reporter: Option<String>,
    pub reported_at: DateTime<Utc>,
    /// The coordinates as sent.
    pub input: InputPoint,
    /// Where the report was routed at intake and why (never changes).
    #[schema(value_type = Object)]
    pub route: RouteRecord,
    /// The routed area's leader and the handler chosen at intake, with the reason.
    pub leader: Option<StaffView>,
    pub handler: Option<StaffView>,
    pub handler_reason: String,
    /// Name of the responsible area now.
    pub area_name: Option<String>,
    /// The responsible area's staff now.
    pub staff: Vec<StaffView>,
    pub stage_since: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Every transition, oldest first.
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<ReportEvent>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InputPoint {
    pub lon: f64,
    pub lat: f64,
    pub crs: String,
}

impl ReportView {
    /// `report` with the responsible area's name and staff as `snapshot` has them.
    pub fn of(snapshot: &Snapshot, report: &Report, now: DateTime<Utc>) -> ReportView {
        let area = snapshot
            .index
            .by_code(&report.area_code)
            .map(|id| snapshot.index.area(id));
        ReportView {
            summary: ReportSummary::of(report, now),
            channel: report.channel.as_str().to_owned(),
            reporter: report.reporter.clone(),
            reported_at: report.reported_at,
            input: InputPoint {
                lon: report.input_point.x,
                lat: report.input_point.y,
                crs: report.input_crs.as_str().to_owned(),
            },
            route: report.route.clone(),
            leader: report.leader.as_ref().map(StaffView::of),
            handler: report.handler.as_ref().map(StaffView::of),
            handler_reason: report.handler_reason.clone(),
            area_name: area.map(|a| a.name.clone()),
            staff: area
                .map(|a| a.staff.iter().map(StaffView::of).collect())
                .unwrap_or_default(),
            stage_since: report.stage_since,
            closed_at: report.closed_at,
            events: report.events.clone(),
        }
    }
}

/// One area as a GeoJSON Feature; `with_staff` adds the staff list.
pub fn area_feature(area: &Area, with_staff: bool) -> Value {
    let mut properties = json!({
        "code": area.code,
        "name": area.name,
        "level": area.level.as_str(),
        "kind": area.kind.map(gridmap_core::GridKind::as_str),
        "parent": area.parent,
        "exclusive": area.is_exclusive(),
    });
    if with_staff {
        properties["staff"] = json!(area.staff.iter().map(StaffView::of).collect::<Vec<_>>());
    }
    json!({
        "type": "Feature",
        "id": area.code,
        "geometry": geojson::Geometry::from(&area.geometry),
        "properties": properties,
    })
}

/// A plan as stored.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlanView {
    pub id: i64,
    pub name: String,
    /// Author of every version the commit writes.
    pub author: String,
    /// Reason recorded with every version the commit writes.
    pub reason: String,
    pub status: PlanStatus,
    /// Grows with every change of the plan; send it back as `If-Match`.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub committed_at: Option<DateTime<Utc>>,
    /// The edits, each tagged by `op` (`reshape`, `split`, `merge`, `create`, `retire`, `move_parent`,
    /// `rename`, `recode`, `move_vertex`, `renumber`); geometries are RFC 7946 GeoJSON.
    #[schema(value_type = Vec<Object>)]
    pub edits: Vec<PlanEdit>,
    /// The version of each area the plan changes, as it was when the plan was drawn.
    pub base_versions: BTreeMap<String, i64>,
    /// The plan's own validation thresholds, as sent (`overlap_tolerance_m`, `gap_tolerance_m2`,
    /// `min_grid_area_m2`, `max_grid_area_m2`, `check_numbering`); the server's `--plan-*` values fill in
    /// the rest.
    #[schema(value_type = Object)]
    pub rules: PlanRules,
}

impl PlanView {
    pub fn of(plan: &StoredPlan) -> PlanView {
        PlanView {
            id: plan.id,
            name: plan.name.clone(),
            author: plan.author.clone(),
            reason: plan.reason.clone(),
            status: plan.status,
            version: plan.version,
            created_at: plan.created_at,
            updated_at: plan.updated_at,
            committed_at: plan.committed_at,
            edits: plan.plan.edits.clone(),
            base_versions: plan.plan.base_versions.clone(),
            rules: plan.plan.rules,
        }
    }
}

/// A report as a GeoJSON point feature; `located`: the area responsible for its point at a past time.
pub fn report_feature(report: &Report, summary: ReportSummary, located: Option<Value>) -> Value {
    let mut properties = serde_json::to_value(summary).unwrap_or_else(|_| json!({}));
    if let Some(located) = located {
        properties["located"] = located;
    }
    json!({
        "type": "Feature",
        "id": report.id,
        "geometry": {"type": "Point", "coordinates": [report.point.x, report.point.y]},
        "properties": properties,
    })
}
