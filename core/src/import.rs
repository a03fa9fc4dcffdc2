//! Turning source features into areas: code checks, multipart merging, parents by field or containment,
//! and the validation report. Pure: readers for GeoJSON, GeoPackage and shapefiles live in the server.

use std::collections::BTreeMap;

use crate::{Area, CodeScheme, Crs, GridKind, Level};

/// One feature as read from a file, before any check.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceFeature {
    /// 0-based position in the source, for the report.
    pub number: usize,
    /// Properties as text (numbers written as the source has them, e.g. `17`).
    pub properties: BTreeMap<String, String>,
    /// `None` when the feature has no geometry.
    pub geometry: Option<geo_types::Geometry<f64>>,
}

/// What the planner asked for on the command line (`gridmap import`) or the API.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportOptions {
    pub level: Level,
    pub code_field: String,
    pub name_field: Option<String>,
    /// Field holding the parent's code; without it parents are found by containment.
    pub parent_field: Option<String>,
    /// Kind for every imported area (grids only); exclusive kinds make exclusive grids.
    pub kind: Option<GridKind>,
    pub scheme: CodeScheme,
    /// CRS of the source coordinates; converted to WGS-84.
    pub crs: Crs,
}

/// What went wrong with one feature or code.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Problem {
    /// 0-based feature number in the source, when one feature is at fault.
    pub feature: Option<usize>,
    pub code: Option<String>,
    /// The field (property or `geometry`) at fault.
    pub field: String,
    pub reason: String,
}

/// The validation report: always produced, success or not.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct ImportReport {
    pub features_read: usize,
    pub areas: usize,
    /// Codes whose features were merged into one MultiPolygon (non-overlapping parts of one area).
    pub multipart: Vec<String>,
    /// Codes whose parent was found by containment.
    pub parents_by_containment: usize,
    /// Rings whose winding was corrected (not an error: RFC 7946 asks parsers to accept it).
    pub rewound_rings: usize,
    pub problems: Vec<Problem>,
}

impl ImportReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}
