//! Readers for boundary files: GeoJSON and GeoPackage. Each returns the features as read, with
//! properties as text, for [`gridmap_core::import::prepare`] to check.

mod geojson;
mod gpkg;

use std::path::Path;

use gridmap_core::import::{Problem, SourceFeature};

pub use self::geojson::read_geojson_bytes;

/// Why a file could not be read. Per-feature problems found while reading (an unclosed ring cannot
/// survive conversion to a polygon) come back all together, like the import report's.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("unsupported file type `{0}` (expected .geojson, .json or .gpkg)")]
    UnsupportedFormat(String),
    /// Not JSON, or JSON that is not GeoJSON; `field` is a JSON path such as `features[3].geometry`.
    #[error("malformed {what} at {field}: {reason}")]
    Malformed {
        what: &'static str,
        field: String,
        reason: String,
    },
    #[error("{} feature problem(s), first: {}", .0.len(), .0.first().map_or(String::new(), |p| p.reason.clone()))]
    Features(Vec<Problem>),
    #[error("GeoPackage {path}: {reason}")]
    GeoPackage { path: String, reason: String },
}

impl SourceError {
    /// The problems to show in a validation report.
    pub fn problems(&self) -> Vec<Problem> {
        match self {
            SourceError::Features(problems) => problems.clone(),
            SourceError::Malformed { field, reason, .. } => vec![Problem {
                feature: None,
                code: None,
                field: field.clone(),
                reason: reason.clone(),
            }],
            other => vec![Problem {
                feature: None,
                code: None,
                field: "file".to_owned(),
                reason: other.to_string(),
            }],
        }
    }
}

/// Reads every feature of a GeoJSON (`.geojson`, `.json`) or GeoPackage (`.gpkg`) file. `layer`
/// chooses a GeoPackage table when the file has several.
pub async fn read_features(
    path: &Path,
    layer: Option<&str>,
) -> Result<Vec<SourceFeature>, SourceError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "geojson" | "json" => {
            let bytes = tokio::fs::read(path)
                .await
                .map_err(|source| SourceError::Io {
                    path: path.display().to_string(),
                    source,
                })?;
            read_geojson_bytes(&bytes)
        }
        "gpkg" => gpkg::read_gpkg(path, layer).await,
        _ => Err(SourceError::UnsupportedFormat(ext)),
    }
}
