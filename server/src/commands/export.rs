//! `gridmap export --format geojson|gpkg --out PATH [--level L]`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use gridmap_core::City;

use crate::commands::StoreArgs;
use crate::commands::import::ImportLevel;
use crate::store::{AreaStore, ChangeNote, GpkgStore};

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
    /// Only this level (default: every level and, in a GeoPackage, everything else); `excluded`: the ground
    /// no grid takes.
    #[arg(long)]
    pub level: Option<ImportLevel>,
}

pub async fn run(args: ExportArgs) -> anyhow::Result<()> {
    if args.store.database_url.is_none() && !args.store.gpkg.exists() {
        anyhow::bail!("no store at {}", args.store.gpkg.display());
    }
    let store = args.store.open(false).await?;
    let mut city = store.load_city().await?;
    match args.level {
        Some(ImportLevel::Area(level)) => {
            city = City {
                areas: city
                    .areas
                    .into_iter()
                    .filter(|a| a.level == level)
                    .collect(),
                ..City::default()
            };
        }
        Some(ImportLevel::Excluded) => {
            city = City {
                excluded: city.excluded,
                ..City::default()
            };
        }
        None => {}
    }
    match args.format {
        Format::Geojson => {
            // One writer for the committed sample and exports: RFC 7946, one feature per line.
            let json = if args.level == Some(ImportLevel::Excluded) {
                gridmap_data::excluded_to_geojson(&city.excluded)
            } else {
                // One layer per GeoJSON file: the areas (excluded ground with `--level excluded`).
                city.excluded.clear();
                gridmap_data::city_to_geojson(&city).areas
            };
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
        "exported {} area(s) and {} piece(s) of excluded ground to {}",
        city.areas.len(),
        city.excluded.len(),
        args.out.display()
    );
    Ok(())
}
