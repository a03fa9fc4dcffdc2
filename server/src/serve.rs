//! `gridmap serve`: open the store (filling a new one with the sample city), index it, serve HTTP.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, ValueEnum};
use gridmap_core::City;
use gridmap_core::plan::{DEFAULT_GAP_TOLERANCE_M2, DEFAULT_OVERLAP_TOLERANCE_M, ValidationRules};

use crate::commands::StoreArgs;
use crate::state::{
    ApiConfig, AppState, DEFAULT_MAX_BATCH_POINTS, DEFAULT_MAX_BODY_BYTES, DEFAULT_TILE_CACHE_MB,
    ReportSettings,
};
use crate::store::{ChangeNote, GridStore};

/// Default address of `gridmap serve`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
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

pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let store = args.store.open(true).await?;
    if args.sample_city == SampleCity::Auto && store.is_empty().await? {
        fill_with_sample(store.as_ref()).await?;
    }
    let reports = report_settings(&args)?;
    let plan_rules = args.plan_rules()?;
    let config = ApiConfig {
        max_batch_points: args.max_batch_points,
        max_body_bytes: args.max_body_bytes,
        tile_cache_bytes: args.tile_cache_mb * 1024 * 1024,
        public_url: args.public_url,
        basemap_url: args.basemap_url,
        basemap_attribution: args.basemap_attribution,
        reports,
        plan_rules,
    };
    let state = Arc::new(AppState::load(store.clone(), config).await?);
    if args.escalation_interval > 0 {
        crate::escalation::spawn(
            state.clone(),
            std::time::Duration::from_secs(args.escalation_interval),
        );
    }
    if args.watch_interval_ms > 0 {
        crate::watcher::spawn(
            state.clone(),
            crate::watcher::WatchOptions {
                interval: std::time::Duration::from_millis(args.watch_interval_ms),
                listen: args.watch_listen,
            },
        );
    }
    let snapshot = state.snapshot();
    tracing::info!(
        backend = store.backend(),
        areas = snapshot.index.areas().len(),
        addresses = snapshot.addresses.len(),
        "index loaded"
    );
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    tracing::info!(url = %format!("http://{}", listener.local_addr()?), "gridmap serving");
    axum::serve(listener, crate::app(state))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}

/// Routing policy, calendar and time limits: the built-in defaults, or the given JSON files.
fn report_settings(args: &ServeArgs) -> anyhow::Result<ReportSettings> {
    fn read<T: serde::de::DeserializeOwned + Default>(
        path: Option<&std::path::Path>,
    ) -> anyhow::Result<T> {
        let Some(path) = path else {
            return Ok(T::default());
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("invalid {}", path.display()))
    }
    let mut settings = ReportSettings {
        policy: read(args.routing_policy.as_deref())?,
        calendar: read(args.calendar.as_deref())?,
        limits: read(args.time_limits.as_deref())?,
    };
    if let Some(max) = args.max_nearest_m {
        anyhow::ensure!(
            max.is_finite() && max >= 0.0,
            "--max-nearest-m must be a distance in metres, not {max}"
        );
        settings.policy.max_nearest_m = max;
    }
    Ok(settings)
}

/// Writes the committed sample city (a district modeled on Zhaoling, Luohe) into an empty store, with sample
/// patrol tracks of the last days (see [`crate::sample_tracks`]).
pub async fn fill_with_sample(store: &dyn GridStore) -> anyhow::Result<()> {
    let city: City = tokio::task::spawn_blocking(gridmap_data::sample_city).await?;
    let note = ChangeNote {
        author: "gridmap".into(),
        reason: "sample city".into(),
        at: chrono::Utc::now(),
    };
    let outcome = store.write_city(&city, &note).await?;
    tracing::info!(
        areas = outcome.inserted,
        backend = store.backend(),
        "filled an empty store with the sample city"
    );
    let started = std::time::Instant::now();
    let now = note.at;
    let fixes =
        tokio::task::spawn_blocking(move || crate::sample_tracks::sample_fixes(&city, now)).await?;
    let stored = store.insert_fixes(&fixes).await?;
    tracing::info!(
        fixes = stored,
        days = crate::sample_tracks::SAMPLE_DAYS,
        street = crate::sample_tracks::SAMPLE_STREET,
        seconds = started.elapsed().as_secs_f64(),
        "stored sample patrol tracks"
    );
    Ok(())
}

/// `gridmap generate`: writes a generated city of the requested scale into the store.
pub async fn generate(args: GenerateArgs) -> anyhow::Result<()> {
    let store = args.store.open(true).await?;
    let mut params = gridmap_data::CityParams::with_micro_grids(args.micro_grids);
    params.seed = args.seed;
    let started = std::time::Instant::now();
    let city = tokio::task::spawn_blocking(move || gridmap_data::generate(&params)).await?;
    tracing::info!(
        areas = city.areas.len(),
        addresses = city.addresses.len(),
        seconds = started.elapsed().as_secs_f64(),
        "city generated"
    );
    let note = ChangeNote {
        author: "gridmap generate".into(),
        reason: format!("generated city, {} micro-grids", args.micro_grids),
        at: chrono::Utc::now(),
    };
    let started = std::time::Instant::now();
    let outcome = store.write_city(&city, &note).await?;
    tracing::info!(
        inserted = outcome.inserted,
        superseded = outcome.superseded,
        seconds = started.elapsed().as_secs_f64(),
        backend = store.backend(),
        "city written"
    );
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
