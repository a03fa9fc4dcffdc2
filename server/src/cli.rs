//! The command line: `gridmap serve | import | export`.

use clap::{Parser, Subcommand, ValueEnum};

pub use crate::commands::StoreArgs;
pub use crate::serve::{GenerateArgs, SampleCity, ServeArgs};

#[derive(Debug, Parser)]
#[command(
    name = "gridmap",
    version,
    about = "GIS service for grid-based community governance"
)]
pub struct Cli {
    /// Log format: `json` (structured, one object per line) or `text`.
    #[arg(
        long,
        env = "GRIDMAP_LOG_FORMAT",
        default_value = "json",
        global = true
    )]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Json,
    Text,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API and the web map.
    Serve(ServeArgs),
    /// Import boundaries from GeoJSON or GeoPackage, all or nothing, with a validation report.
    Import(crate::commands::import::ImportArgs),
    /// Export boundaries as GeoJSON or a new GeoPackage.
    Export(crate::commands::export::ExportArgs),
    /// Write a generated city (the sample's generator at any scale) into a store, e.g. for benchmarks.
    Generate(GenerateArgs),
}

/// The log filter when `GRIDMAP_LOG` is not set.
pub const DEFAULT_LOG_FILTER: &str = "info,sqlx=warn,tower_http=info";

/// The server's logging: `format` lines through `filter` to `writer` (stderr; a buffer in tests).
pub fn log_subscriber<W>(
    format: LogFormat,
    filter: tracing_subscriber::EnvFilter,
    writer: W,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match format {
        LogFormat::Json => Box::new(builder.json().finish()),
        LogFormat::Text => Box::new(builder.finish()),
    }
}

fn init_tracing(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = EnvFilter::try_from_env("GRIDMAP_LOG")
        .unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG_FILTER));
    // `try_init`: tests run several commands in one process.
    let _ = log_subscriber(format, filter, std::io::stderr).try_init();
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    init_tracing(cli.log_format);
    match cli.command {
        Command::Serve(args) => crate::serve::serve(args).await,
        Command::Generate(args) => crate::serve::generate(args).await,
        Command::Import(args) => crate::commands::import::run(args).await,
        Command::Export(args) => crate::commands::export::run(args).await,
    }
}
