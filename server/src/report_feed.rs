//! Live report updates for `GET /v1/reports/stream`: every intake and transition, made by this process or, on
//! PostGIS, by any process serving the same database (`LISTEN gridmap_reports`).
//!
//! On PostGIS every change, this process's own included, arrives through the database's notification, so each
//! is sent once and only after it committed. On a GeoPackage only this process writes, and it announces its own
//! changes.

use std::sync::Arc;

use gridmap_core::Report;
use tokio::sync::broadcast;

use crate::clock::Clock;
use crate::store::{GridStore, StoreError};
use crate::views::ReportSummary;

/// Updates kept for a slow subscriber before it misses some.
const BACKLOG: usize = 1024;

pub struct ReportFeed {
    sender: broadcast::Sender<Arc<ReportSummary>>,
    /// True when the store announces changes itself (PostGIS).
    store_notifies: bool,
}

impl ReportFeed {
    /// Starts the feed; on PostGIS this opens the listening connection.
    pub async fn start(
        store: Arc<dyn GridStore>,
        clock: Arc<dyn Clock>,
    ) -> Result<ReportFeed, StoreError> {
        let (sender, _) = broadcast::channel(BACKLOG);
        let notifications = store.report_notifications().await?;
        let store_notifies = notifications.is_some();
        if let Some(mut ids) = notifications {
            let sender = sender.clone();
            tokio::spawn(async move {
                while let Some(id) = ids.recv().await {
                    match store.report(id).await {
                        Ok(Some(report)) => {
                            let summary = ReportSummary::of(&report, clock.now());
                            // No subscriber is fine.
                            let _ = sender.send(Arc::new(summary));
                        }
                        Ok(None) => {}
                        Err(e) => tracing::warn!(error = %e, id, "cannot read a notified report"),
                    }
                }
            });
        }
        Ok(ReportFeed {
            sender,
            store_notifies,
        })
    }

    /// Announces a change this process made (a no-op where the store announces it).
    pub fn publish(&self, report: &Report, now: chrono::DateTime<chrono::Utc>) {
        if !self.store_notifies {
            let _ = self.sender.send(Arc::new(ReportSummary::of(report, now)));
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<ReportSummary>> {
        self.sender.subscribe()
    }
}
