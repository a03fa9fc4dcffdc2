//! GeoPackage layers: the table and geometry column come from `gpkg_geometry_columns`, geometries are
//! GeoPackage blobs (header + WKB) decoded with geozero.

use std::collections::BTreeMap;
use std::path::Path;

use geozero::ToGeo;
use geozero::wkb::GpkgWkb;
use gridmap_core::import::SourceFeature;
use sqlx::sqlite::{SqliteConnectOptions, SqliteRow};
use sqlx::{Column, ConnectOptions, Row, TypeInfo, ValueRef};

use super::SourceError;

fn gpkg_error(path: &Path, reason: impl std::fmt::Display) -> SourceError {
    SourceError::GeoPackage {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// Reads one feature table; `layer` is required only when the file has several.
pub(super) async fn read_gpkg(
    path: &Path,
    layer: Option<&str>,
) -> Result<Vec<SourceFeature>, SourceError> {
    if !path.exists() {
        return Err(SourceError::Io {
            path: path.display().to_string(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        });
    }
    let mut conn = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .connect()
        .await
        .map_err(|e| gpkg_error(path, e))?;
    let layers: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT table_name, column_name, srs_id FROM gpkg_geometry_columns ORDER BY table_name",
    )
    .fetch_all(&mut conn)
    .await
    .map_err(|e| gpkg_error(path, format!("not a GeoPackage with features ({e})")))?;
    let names = || {
        layers
            .iter()
            .map(|l| l.0.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (table, column, srs_id) = match layer {
        Some(name) => layers
            .iter()
            .find(|l| l.0 == name)
            .ok_or_else(|| gpkg_error(path, format!("no layer `{name}` (layers: {})", names())))?,
        None => match layers.as_slice() {
            [one] => one,
            [] => return Err(gpkg_error(path, "no feature layer")),
            _ => {
                return Err(gpkg_error(
                    path,
                    format!("several layers, choose one with --layer: {}", names()),
                ));
            }
        },
    };
    // Lon/lat only: 4326, or the GeoPackage "undefined geographic" ids.
    if ![4326, 0, -1].contains(srs_id) {
        return Err(gpkg_error(
            path,
            format!("layer `{table}` uses srs_id {srs_id}; only EPSG:4326 lon/lat is supported"),
        ));
    }
    let sql = format!("SELECT * FROM \"{}\"", table.replace('"', "\"\""));
    let rows = sqlx::query(&sql)
        .fetch_all(&mut conn)
        .await
        .map_err(|e| gpkg_error(path, e))?;
    rows.iter()
        .enumerate()
        .map(|(number, row)| feature(number, row, column).map_err(|e| gpkg_error(path, e)))
        .collect()
}

fn feature(number: usize, row: &SqliteRow, geometry_column: &str) -> Result<SourceFeature, String> {
    let mut properties = BTreeMap::new();
    let mut geometry = None;
    for (i, col) in row.columns().iter().enumerate() {
        let raw = row.try_get_raw(i).map_err(|e| e.to_string())?;
        if raw.is_null() {
            continue;
        }
        let storage = raw.type_info().name().to_owned();
        if col.name() == geometry_column {
            let blob: Vec<u8> = row.try_get_unchecked(i).map_err(|e| e.to_string())?;
            if !blob.is_empty() {
                let g = GpkgWkb(blob)
                    .to_geo()
                    .map_err(|e| format!("feature {number}: geometry: {e}"))?;
                geometry = Some(g);
            }
            continue;
        }
        let text = match storage.as_str() {
            "INTEGER" => row.try_get_unchecked::<i64, _>(i).map(|v| v.to_string()),
            "REAL" => row.try_get_unchecked::<f64, _>(i).map(|v| v.to_string()),
            "BLOB" => continue,
            _ => row.try_get_unchecked::<String, _>(i),
        }
        .map_err(|e| format!("feature {number}: {}: {e}", col.name()))?;
        properties.insert(col.name().to_owned(), text);
    }
    Ok(SourceFeature {
        number,
        properties,
        geometry,
    })
}
