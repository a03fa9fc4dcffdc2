//! Subcommands that move boundaries in and out of a store, and where every command finds its store.

pub mod export;
pub mod import;

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use crate::store::{GpkgStore, GridStore, PostgisStore};

/// Default embedded store.
pub const DEFAULT_GPKG: &str = "gridmap.gpkg";

/// Where the data lives: an embedded GeoPackage file (default) or PostGIS.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// GeoPackage file used when no database URL is given.
    #[arg(long, env = "GRIDMAP_GPKG", default_value = DEFAULT_GPKG)]
    pub gpkg: PathBuf,
    /// PostgreSQL/PostGIS URL, e.g. `postgres://user@host/db`; overrides --gpkg.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
}

impl StoreArgs {
    /// Opens the chosen store, applying migrations; `create` allows a new GeoPackage file.
    pub async fn open(&self, create: bool) -> anyhow::Result<Arc<dyn GridStore>> {
        Ok(match &self.database_url {
            Some(url) => Arc::new(PostgisStore::connect(url).await?),
            None => Arc::new(GpkgStore::open(&self.gpkg, create).await?),
        })
    }
}
