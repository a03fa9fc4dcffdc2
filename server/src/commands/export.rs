//! `gridmap export --format geojson|gpkg --out PATH [--level L]`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use gridmap_core::{Area, City, GridKind, Level};

use super::import::open_store;
use crate::cli::StoreArgs;
use crate::store::{ChangeNote, GpkgStore, GridStore};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// RFC 7946 `FeatureCollection` of `MultiPolygon`s, WGS-84.
    Geojson,
    /// A new GeoPackage file with gridmap's schema (QGIS and GDAL open it).
    Gpkg,
}

#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[arg(long, value_enum)]
    pub format: Format,
    /// File to write; a GeoPackage must not exist yet.
    #[arg(long)]
    pub out: PathBuf,
    /// Only this level (default: every level).
    #[arg(long)]
    pub level: Option<Level>,
}

pub async fn run(args: ExportArgs) -> anyhow::Result<()> {
    if args.store.database_url.is_none() && !args.store.gpkg.exists() {
        anyhow::bail!("no store at {}", args.store.gpkg.display());
    }
    let store = open_store(&args.store).await?;
    let mut city = store.load_city().await?;
    if let Some(level) = args.level {
        city = City {
            areas: city
                .areas
                .into_iter()
                .filter(|a| a.level == level)
                .collect(),
            ..City::default()
        };
    }
    match args.format {
        Format::Geojson => {
            let json = serde_json::to_vec(&areas_to_geojson(&city.areas))?;
            tokio::fs::write(&args.out, json).await?;
        }
        Format::Gpkg => {
            if args.out.exists() {
                anyhow::bail!(
                    "{} exists; export writes a new GeoPackage",
                    args.out.display()
                );
            }
            let out = GpkgStore::open(&args.out, true).await?;
            let note = ChangeNote {
                author: "gridmap export".to_owned(),
                reason: format!("export from {}", store.backend()),
                at: chrono::Utc::now(),
            };
            out.write_city(&city, &note).await?;
        }
    }
    println!(
        "exported {} area(s) to {}",
        city.areas.len(),
        args.out.display()
    );
    Ok(())
}

/// A `FeatureCollection` with one `MultiPolygon` feature per area; properties code, name, level, kind, parent.
pub fn areas_to_geojson(areas: &[Area]) -> geojson::FeatureCollection {
    let features = areas
        .iter()
        .map(|a| {
            let mut props = serde_json::Map::new();
            props.insert("code".into(), a.code.clone().into());
            props.insert("name".into(), a.name.clone().into());
            props.insert("level".into(), a.level.as_str().into());
            props.insert("kind".into(), a.kind.map(GridKind::as_str).into());
            props.insert("parent".into(), a.parent.clone().into());
            geojson::Feature {
                bbox: None,
                geometry: Some(geojson::Geometry::from(&a.geometry)),
                id: Some(geojson::feature::Id::String(a.code.clone())),
                properties: Some(props),
                foreign_members: None,
            }
        })
        .collect();
    geojson::FeatureCollection {
        bbox: None,
        features,
        foreign_members: None,
    }
}
