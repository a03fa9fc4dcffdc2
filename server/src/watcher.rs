//! Propagation: every serving process notices changes made by any other (another replica, `gridmap import`,
//! an editor such as QGIS writing the tables) and swaps in a fresh snapshot.
//!
//! Two signals, either enough: on PostGIS `LISTEN gridmap_changes` (the triggers of
//! `migrations/postgis/0007_change_log.sql` notify at commit), and a poll of the store's data version every
//! `interval` (250 ms by default: a one-row read, and it keeps a read replica well within the second), which
//! also works on a read replica (where no notification arrives) and on a GeoPackage that another process
//! writes. When the version moved, the snapshot catches up through [`AppState::reload_if_stale`]: from the
//! store's change log when it can, invalidating exactly the tiles the changed areas touch.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::Receiver;
use tokio::task::JoinHandle;

use crate::state::AppState;

/// Default of `--watch-interval-ms`.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(250);

/// How a process watches for changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchOptions {
    /// Time between polls of the data version.
    pub interval: Duration,
    /// Also listen for the store's change notifications (PostGIS). Off, the poll alone is used, as on a read
    /// replica.
    pub listen: bool,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            interval: DEFAULT_INTERVAL,
            listen: true,
        }
    }
}

/// Starts the watcher task of this process; it runs until aborted.
pub fn spawn(state: Arc<AppState>, options: WatchOptions) -> JoinHandle<()> {
    tokio::spawn(run(state, options))
}

async fn run(state: Arc<AppState>, options: WatchOptions) {
    let mut notifications = if options.listen {
        match state.store.change_notifications().await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for changes; polling only");
                None
            }
        }
    } else {
        None
    };
    let mut tick = tokio::time::interval(options.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            note = next(&mut notifications) => {
                if note.is_none() {
                    // The listening connection is gone for good: the poll carries on alone.
                    notifications = None;
                }
                // Several statements of one write notify together: one reload serves them all.
                if let Some(rx) = notifications.as_mut() {
                    while rx.try_recv().is_ok() {}
                }
            }
        }
        match state.reload_if_stale().await {
            Ok(true) => {
                let snapshot = state.snapshot();
                tracing::info!(
                    data_version = snapshot.data_version,
                    areas = snapshot.index.areas().len(),
                    "reloaded a changed store"
                );
            }
            Ok(false) => {}
            // The store may be briefly away (failover, restart): try again at the next tick.
            Err(e) => tracing::warn!(error = %e, "cannot check the store for changes"),
        }
    }
}

/// The next notification, or never when there is no listener.
async fn next(notifications: &mut Option<Receiver<i64>>) -> Option<i64> {
    match notifications {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}
