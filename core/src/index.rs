//! The in-memory spatial index: one rstar tree per level (plus one for exclusive grids), bulk-loaded.
//!
//! Boundary rule: see [`crate::pip`].

use geo_types::Coord;

use crate::{Area, Level};

/// Position of an area in [`AreaIndex::areas`].
pub type AreaId = u32;

/// The nearest grid to a point that lies in no grid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Nearest {
    pub area: AreaId,
    /// Geodesic distance from the point to the grid's boundary, in metres.
    pub distance_m: f64,
}

/// The answer to "which grid is this point in".
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Location {
    /// One area per level present at the point, coarsest first.
    pub chain: Vec<AreaId>,
    /// Every exclusive grid containing the point, smallest area first.
    pub exclusive: Vec<AreaId>,
    /// The first exclusive grid, else the chain's grid-level area, else the finest area of the chain.
    pub responsible: Option<AreaId>,
    /// Set only when the point is in no ordinary grid: the nearest one.
    pub nearest: Option<Nearest>,
}

/// All current areas, indexed for point lookups.
pub struct AreaIndex {
    areas: Vec<Area>,
}

impl AreaIndex {
    /// Builds the index (rstar `bulk_load` per level).
    pub fn build(areas: Vec<Area>) -> AreaIndex {
        todo!("helper A")
    }
    pub fn areas(&self) -> &[Area] {
        &self.areas
    }
    pub fn area(&self, id: AreaId) -> &Area {
        &self.areas[id as usize]
    }
    pub fn by_code(&self, code: &str) -> Option<AreaId> {
        todo!("helper A")
    }
    /// Children of an area (ordinary and exclusive), in code order.
    pub fn children(&self, id: AreaId) -> &[AreaId] {
        todo!("helper A")
    }
    /// Levels that have at least one ordinary area, coarsest first.
    pub fn levels(&self) -> Vec<Level> {
        todo!("helper A")
    }
    /// Locates a WGS-84 lon/lat.
    pub fn locate(&self, p: Coord<f64>) -> Location {
        todo!("helper A")
    }
}
