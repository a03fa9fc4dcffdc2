//! `gridmap serve`: open the store (filling a new one with the sample city), index it, serve HTTP.

use std::sync::Arc;

use anyhow::Context;
use gridmap_core::City;

use crate::cli::{GenerateArgs, SampleCity, ServeArgs};
use crate::state::{ApiConfig, AppState, ReportSettings};
use crate::store::{ChangeNote, GridStore};

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
