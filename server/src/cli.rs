//! The command line: `gridmap serve | import | export`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand, ValueEnum};
use gridmap_core::plan::{DEFAULT_GAP_TOLERANCE_M2, DEFAULT_OVERLAP_TOLERANCE_M, ValidationRules};

use crate::state::{DEFAULT_MAX_BATCH_POINTS, DEFAULT_MAX_BODY_BYTES, DEFAULT_TILE_CACHE_MB};
use crate::store::{GpkgStore, GridStore, PostgisStore};

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

#[derive(Debug, Clone, Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Number of micro-grids (the scale knob); the committed sample has about 4,000.
    #[arg(long, default_value_t = 100_000)]
    pub micro_grids: usize,
    /// Generator seed.
    #[arg(long, default_value_t = gridmap_data::CityParams::sample().seed)]
    pub seed: u64,
}

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

/// Whether `serve` fills an empty store with the sample city.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SampleCity {
    /// Fill a new or empty store.
    Auto,
    /// Never; serve whatever is there.
    Never,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Address to listen on.
    #[arg(long, env = "GRIDMAP_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Fill a new or empty store with the sample city.
    #[arg(long, env = "GRIDMAP_SAMPLE_CITY", default_value = "auto")]
    pub sample_city: SampleCity,
    /// Most points in one `POST /v1/locate`.
    #[arg(long, env = "GRIDMAP_MAX_BATCH_POINTS", default_value_t = DEFAULT_MAX_BATCH_POINTS)]
    pub max_batch_points: usize,
    /// Largest request body in bytes.
    #[arg(long, env = "GRIDMAP_MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,
    /// Vector tile cache size in MiB; 0 disables the cache (every tile rendered per request).
    #[arg(long, env = "GRIDMAP_TILE_CACHE_MB", default_value_t = DEFAULT_TILE_CACHE_MB)]
    pub tile_cache_mb: u64,
    /// Public base URL for tile URLs in `TileJSON` (e.g. `https://maps.example.org`); default: from the
    /// request's Host header.
    #[arg(long, env = "GRIDMAP_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Background map for the web page: an XYZ raster URL template such as
    /// `https://tiles.example.gov.cn/{z}/{x}/{y}.png`. Without it the page draws our own roads.
    #[arg(long, env = "GRIDMAP_BASEMAP_URL")]
    pub basemap_url: Option<String>,
    /// Attribution shown with the basemap.
    #[arg(long, env = "GRIDMAP_BASEMAP_ATTRIBUTION")]
    pub basemap_attribution: Option<String>,
    /// JSON file with the routing policy (which exclusive grid kinds take which categories; see
    /// `gridmap_core::routing::RoutingPolicy`); default: the documented built-in table.
    #[arg(long, env = "GRIDMAP_ROUTING_POLICY")]
    pub routing_policy: Option<PathBuf>,
    /// JSON file with the working calendar (periods, weekdays, holidays, 调休 workdays; see
    /// `gridmap_core::calendar::WorkCalendar`); default: Mon-Fri 08:30-12:00 and 14:30-18:00, UTC+8.
    #[arg(long, env = "GRIDMAP_CALENDAR")]
    pub calendar: Option<PathBuf>,
    /// JSON file with the stage time limits per level and category (`gridmap_core::time_limits::TimeLimits`);
    /// default: the built-in limits.
    #[arg(long, env = "GRIDMAP_TIME_LIMITS")]
    pub time_limits: Option<PathBuf>,
    /// A report outside every grid goes to the nearest grid within this many metres, else to the enclosing
    /// community or street; overrides the routing policy's value (200 by default).
    #[arg(long, env = "GRIDMAP_MAX_NEAREST_M")]
    pub max_nearest_m: Option<f64>,
    /// Seconds between passes of automatic escalation of overdue cases; 0 turns it off.
    #[arg(long, env = "GRIDMAP_ESCALATION_INTERVAL", default_value_t = crate::escalation::DEFAULT_INTERVAL_S)]
    pub escalation_interval: u64,
    /// Milliseconds between polls of the store's data version, to notice changes made by other replicas,
    /// imports or editors such as QGIS (on PostGIS `LISTEN gridmap_changes` also answers at once; the poll
    /// covers read replicas, where no notification arrives); 0 turns the watcher off.
    #[arg(long, env = "GRIDMAP_WATCH_INTERVAL_MS", default_value_t = crate::watcher::DEFAULT_INTERVAL.as_millis() as u64)]
    pub watch_interval_ms: u64,
    /// Also `LISTEN gridmap_changes` (PostGIS) to hear of changes at once; `false` relies on the poll alone, as
    /// on a read replica, where no notification arrives.
    #[arg(long, env = "GRIDMAP_WATCH_LISTEN", default_value_t = true, action = clap::ArgAction::Set)]
    pub watch_listen: bool,
    /// Plans: overlaps and parts outside the parent narrower than this on average (metres) are tolerated
    /// (digitising slivers along shared borders).
    #[arg(long, env = "GRIDMAP_PLAN_OVERLAP_TOLERANCE_M", default_value_t = DEFAULT_OVERLAP_TOLERANCE_M)]
    pub plan_overlap_tolerance_m: f64,
    /// Plans: gaps smaller than this (m²) are tolerated.
    #[arg(long, env = "GRIDMAP_PLAN_GAP_TOLERANCE_M2", default_value_t = DEFAULT_GAP_TOLERANCE_M2)]
    pub plan_gap_tolerance_m2: f64,
    /// Plans: ordinary grids smaller than this (m²) are refused (`too_small`); default: no minimum.
    #[arg(long, env = "GRIDMAP_PLAN_MIN_GRID_AREA_M2")]
    pub plan_min_grid_area_m2: Option<f64>,
    /// Plans: ordinary grids larger than this (m²) are refused (`too_large`); default: no maximum.
    #[arg(long, env = "GRIDMAP_PLAN_MAX_GRID_AREA_M2")]
    pub plan_max_grid_area_m2: Option<f64>,
    /// Plans: refuse codes that do not run west→east, north→south inside their parent (`order`).
    #[arg(long, env = "GRIDMAP_PLAN_CHECK_NUMBERING")]
    pub plan_check_numbering: bool,
}

impl ServeArgs {
    /// The `--plan-*` thresholds, or which flag is wrong.
    pub fn plan_rules(&self) -> anyhow::Result<ValidationRules> {
        let rules = ValidationRules {
            overlap_tolerance_m: self.plan_overlap_tolerance_m,
            gap_tolerance_m2: self.plan_gap_tolerance_m2,
            min_grid_area_m2: self.plan_min_grid_area_m2,
            max_grid_area_m2: self.plan_max_grid_area_m2,
            check_numbering: self.plan_check_numbering,
        };
        match rules.defects().first() {
            Some((field, reason)) => {
                anyhow::bail!("--plan-{}: {reason}", field.replace('_', "-"))
            }
            None => Ok(rules),
        }
    }
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
