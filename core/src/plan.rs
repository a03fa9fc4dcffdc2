//! Plans: drafts of boundary changes that planners check before they commit them.
//!
//! A [`Plan`] is a list of [`PlanEdit`]s applied in order to the current areas by [`apply`], which returns the
//! final state of every area the plan creates or modifies and the codes it retires. Nothing is checked there
//! beyond what an edit needs to be carried out (known codes, free codes, a split that yields as many pieces as
//! codes): a draft may be wrong, and [`validate`] says how, as problems the page draws ([`problems_geojson`]).
//! [`impact`] lists which addresses, micro-grids, staff, open reports and exclusive grids change grid, and
//! [`renumber`] orders a parent's grids west→east, north→south.
//!
//! Geometry crosses the wire as RFC 7946 `GeoJSON` geometry objects (see [`wire`]); coordinates are WGS-84
//! lon/lat. Areas, overlaps and gaps are in m² (geodesic), widths and tolerances in metres.
//!
//! ```
//! use gridmap_core::plan::{Plan, PlanEdit, apply};
//! use gridmap_core::{Area, Level};
//! use geo_types::{MultiPolygon, Rect, coord};
//!
//! let square = |x: f64| MultiPolygon(vec![Rect::new(coord! {x: x, y: 33.0}, coord! {x: x + 0.01, y: 33.01}).to_polygon()]);
//! let grid = |code: &str, x: f64| Area {
//!     code: code.into(), name: code.into(), level: Level::Grid, kind: None,
//!     parent: Some("411104001001".into()), geometry: square(x), staff: vec![],
//! };
//! let areas = [grid("411104001001001", 114.0), grid("411104001001002", 114.01)];
//! let plan: Plan = serde_json::from_str(r#"{"edits": [
//!     {"op": "merge", "codes": ["411104001001001", "411104001001002"],
//!      "into_code": "411104001001001", "into_name": "East and West"}
//! ]}"#).unwrap();
//! let outcome = apply(&areas, &plan).unwrap();
//! assert_eq!(outcome.retired, ["411104001001002"]);
//! assert_eq!(outcome.changed[0].name, "East and West");
//! assert_eq!(outcome.changed[0].geometry.0.len(), 1); // the two squares became one polygon
//! ```

use std::collections::BTreeMap;

use geo_types::{Coord, LineString, MultiPolygon};
use serde::{Deserialize, Serialize};

use crate::{Area, AreaIndex, GridKind, Level, StaffMember};

mod apply;
mod evaluate;
mod geometry;
mod impact;
mod renumber;
mod split;
mod validate;
mod vertex;
pub mod wire;

pub use apply::apply;
pub use evaluate::{Judged, affected_extent, check, existing_touched, judge, local_impact};
pub use geometry::pole;
pub use impact::{AddressMove, Impact, Move, ReportMove, StaffMove, impact};
pub use renumber::{renumber, renumber_edits};
pub use split::split_by_lines;
pub use validate::{
    DEFAULT_GAP_TOLERANCE_M2, DEFAULT_OVERLAP_TOLERANCE_M, PlanRules, Problem, ProblemKind,
    ValidationRules, problems_geojson, validate, validate_excluding,
};

/// A new area, as a plan creates it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AreaDraft {
    pub code: String,
    pub name: String,
    pub level: Level,
    #[serde(default)]
    pub kind: Option<GridKind>,
    #[serde(default)]
    pub parent: Option<String>,
    #[serde(with = "wire::multi_polygon")]
    pub geometry: MultiPolygon<f64>,
    #[serde(default)]
    pub staff: Vec<StaffMember>,
}

impl From<AreaDraft> for Area {
    fn from(d: AreaDraft) -> Area {
        Area {
            code: d.code,
            name: d.name,
            level: d.level,
            kind: d.kind,
            parent: d.parent,
            geometry: d.geometry,
            staff: d.staff,
        }
    }
}

/// One change of a plan. On the wire: `{"op": "reshape", "code": ..., "geometry": {GeoJSON}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum PlanEdit {
    /// Replaces an area's boundary.
    Reshape {
        code: String,
        #[serde(with = "wire::multi_polygon")]
        geometry: MultiPolygon<f64>,
    },
    /// Cuts an area along lines into `new_codes.len()` pieces, which get the codes (and names) in
    /// west→east, north→south order. A piece may keep the old code (and its staff); otherwise the old area is
    /// retired. Its children go to the piece holding their pole of inaccessibility. Empty `new_names`: the
    /// old name with a number.
    Split {
        code: String,
        #[serde(with = "wire::line_strings")]
        lines: Vec<LineString<f64>>,
        new_codes: Vec<String>,
        #[serde(default)]
        new_names: Vec<String>,
    },
    /// Unions areas of one parent and level into one. `into_code` may be one of `codes` (it keeps its
    /// attributes and staff) or a new code (attributes of the first). Children follow.
    Merge {
        codes: Vec<String>,
        into_code: String,
        into_name: String,
    },
    Create {
        area: AreaDraft,
    },
    /// Removes an area. Its children go, at the end of the plan, to the area of its level holding their pole
    /// of inaccessibility (if none does, [`validate`] reports them).
    Retire {
        code: String,
    },
    MoveParent {
        code: String,
        new_parent: String,
    },
    Rename {
        code: String,
        new_name: String,
    },
    /// Changes a code; children's `parent` follows.
    Recode {
        code: String,
        new_code: String,
    },
    /// Renumbers the ordinary children of `parent` west→east, north→south ([`renumber`], carried out as
    /// [`renumber_edits`]): codes change, children's `parent` follows as with `Recode`.
    Renumber {
        parent: String,
    },
    /// Moves every vertex within `tolerance_m` of `from` to `to`, in every current area, and bends edges that
    /// pass that close without a vertex there: a shared vertex or edge moves for all neighbours.
    MoveVertex {
        #[serde(with = "wire::position")]
        from: Coord<f64>,
        #[serde(with = "wire::position")]
        to: Coord<f64>,
        tolerance_m: f64,
    },
}

/// A draft of changes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub edits: Vec<PlanEdit>,
    /// Versions of the areas the plan was drawn against (filled and checked by the server; carried here).
    #[serde(default)]
    pub base_versions: BTreeMap<String, i64>,
    /// The plan's own validation thresholds over the server's (see [`PlanRules::over`]).
    #[serde(default)]
    pub rules: PlanRules,
}

/// What a plan does to the areas.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlanOutcome {
    /// Areas new or modified by the plan, in their final state, by code.
    pub changed: Vec<Area>,
    /// Codes of areas that existed before and do not after (retired, merged away, split, recoded away).
    pub retired: Vec<String>,
    /// `(old, new)` for every area recoded by the plan (the old code is also in `retired`, the new one in
    /// `changed`), so that history can link the versions.
    pub recoded: Vec<(String, String)>,
}

impl PlanOutcome {
    /// The areas after the plan: `before` without the retired ones, changed ones replaced or added.
    pub fn areas_after(&self, before: &[Area]) -> Vec<Area> {
        let changed: BTreeMap<&str, &Area> =
            self.changed.iter().map(|a| (a.code.as_str(), a)).collect();
        let retired: std::collections::BTreeSet<&str> =
            self.retired.iter().map(String::as_str).collect();
        let mut out: Vec<Area> = before
            .iter()
            .filter(|a| {
                !retired.contains(a.code.as_str()) && !changed.contains_key(a.code.as_str())
            })
            .cloned()
            .collect();
        out.extend(self.changed.iter().cloned());
        out
    }

    /// Codes to hand to [`validate`]: changed and retired ones, and the parents of retired ones (whose
    /// coverage a removal breaks). `before` are the areas the plan was applied to.
    pub fn touched(&self, before: &[Area]) -> Vec<String> {
        let retired: std::collections::BTreeSet<&str> =
            self.retired.iter().map(String::as_str).collect();
        let parents = before
            .iter()
            .filter(|a| retired.contains(a.code.as_str()))
            .filter_map(|a| a.parent.clone());
        self.touched_with(parents)
    }

    /// The changed and retired codes with `parents` (of the retired ones), sorted, once each.
    fn touched_with(&self, parents: impl Iterator<Item = String>) -> Vec<String> {
        let mut codes: Vec<String> = self
            .changed
            .iter()
            .map(|a| a.code.clone())
            .chain(self.retired.iter().cloned())
            .chain(parents)
            .collect();
        codes.sort();
        codes.dedup();
        codes
    }
}

impl PlanOutcome {
    /// [`PlanOutcome::touched`] with `index` holding the areas the plan was applied to.
    pub fn touched_in(&self, index: &AreaIndex) -> Vec<String> {
        let parents = self
            .retired
            .iter()
            .filter_map(|c| index.by_code(c))
            .filter_map(|id| index.area(id).parent.clone());
        self.touched_with(parents)
    }

    /// The areas after the plan that [`validate`] reads for `touched`: each touched area with its children,
    /// and its parent with all of the parent's children (for a retired code, the children left under it).
    /// Whole families, so the problems are those found over the whole city after the plan, at the cost of
    /// what the plan touches rather than of the city. `index` holds the areas the plan was applied to.
    pub fn validation_scope(&self, index: &AreaIndex, touched: &[String]) -> Vec<Area> {
        use std::collections::{HashMap, HashSet};
        let changed: HashMap<&str, &Area> =
            self.changed.iter().map(|a| (a.code.as_str(), a)).collect();
        let retired: HashSet<&str> = self.retired.iter().map(String::as_str).collect();
        let mut placed: HashMap<&str, Vec<&Area>> = HashMap::new();
        for a in &self.changed {
            if let Some(p) = &a.parent {
                placed.entry(p.as_str()).or_default().push(a);
            }
        }
        let after = |code: &str| -> Option<&Area> {
            changed.get(code).copied().or_else(|| {
                (!retired.contains(code))
                    .then(|| index.by_code(code).map(|id| index.area(id)))
                    .flatten()
            })
        };
        let mut scope: BTreeMap<&str, &Area> = BTreeMap::new();
        let mut add_family = |code: &str| {
            if let Some(a) = after(code) {
                scope.insert(a.code.as_str(), a);
            }
            // Children the plan left alone, then those it put (or kept) under `code`.
            let kept = index
                .by_code(code)
                .into_iter()
                .flat_map(|id| index.children(id))
                .map(|&c| index.area(c))
                .filter(|c| {
                    !retired.contains(c.code.as_str()) && !changed.contains_key(c.code.as_str())
                });
            for child in kept.chain(placed.get(code).into_iter().flatten().copied()) {
                scope.insert(child.code.as_str(), child);
            }
        };
        for code in touched {
            let parent = after(code).and_then(|a| a.parent.as_deref());
            add_family(code);
            if let Some(parent) = parent {
                add_family(parent);
            }
        }
        scope.into_values().cloned().collect()
    }
}

impl PlanOutcome {
    /// The families [`PlanOutcome::validation_scope`] reads, as they are before the plan, and the codes to
    /// hand [`validate`] for them: the existing touched codes and the parents (old and new) of the changed
    /// areas. Validating them gives the problems the plan found rather than made (see [`check`]).
    pub fn scope_before(&self, index: &AreaIndex, touched: &[String]) -> (Vec<Area>, Vec<String>) {
        let exists = |c: &String| index.by_code(c).is_some();
        let codes: std::collections::BTreeSet<String> = touched
            .iter()
            .chain(self.changed.iter().filter_map(|a| a.parent.as_ref()))
            .filter(|c| exists(c))
            .cloned()
            .collect();
        let mut scope: BTreeMap<&str, &Area> = BTreeMap::new();
        let mut add_family = |id: crate::AreaId| {
            let a = index.area(id);
            scope.insert(a.code.as_str(), a);
            for &c in index.children(id) {
                let child = index.area(c);
                scope.insert(child.code.as_str(), child);
            }
        };
        for code in &codes {
            if let Some(id) = index.by_code(code) {
                add_family(id);
                if let Some(parent) = index
                    .area(id)
                    .parent
                    .as_deref()
                    .and_then(|p| index.by_code(p))
                {
                    add_family(parent);
                }
            }
        }
        (
            scope.into_values().cloned().collect(),
            codes.into_iter().collect(),
        )
    }
}

/// Why a plan cannot be carried out. `edit` is the index of the offending edit.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error("edit {edit}: no current area has code `{code}`")]
    UnknownArea { edit: usize, code: String },
    #[error("edit {edit}: code `{code}` is already in use")]
    CodeTaken { edit: usize, code: String },
    #[error("edit {edit}: {reason}")]
    Invalid { edit: usize, reason: String },
}
