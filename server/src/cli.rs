//! The command line: `gridmap serve | import | export`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Default address of `gridmap serve`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Default embedded store.
pub const DEFAULT_GPKG: &str = "gridmap.gpkg";

#[derive(Debug, Parser)]
#[command(
    name = "gridmap",
    version,
    about = "GIS service for grid-based community governance"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API and the web map.
    Serve(ServeArgs),
    /// Import boundaries from GeoJSON or GeoPackage, all or nothing, with a validation report.
    Import(crate::commands::import::ImportArgs),
    /// Export boundaries as GeoJSON or a new GeoPackage.
    Export(crate::commands::export::ExportArgs),
}

/// Where the data lives: an embedded GeoPackage file (default) or PostGIS.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// GeoPackage file used when no database URL is given.
    #[arg(long, env = "GRIDMAP_GPKG", default_value = DEFAULT_GPKG)]
    pub gpkg: PathBuf,
    /// PostgreSQL/PostGIS URL, e.g. postgres://user@host/db; overrides --gpkg.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Address to listen on.
    #[arg(long, env = "GRIDMAP_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(_args) => todo!("serve"),
        Command::Import(args) => crate::commands::import::run(args).await,
        Command::Export(args) => crate::commands::export::run(args).await,
    }
}
