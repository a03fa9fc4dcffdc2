//! JSON views of domain types shared by several endpoints.

use gridmap_core::{Area, StaffMember};
use serde::Serialize;

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
