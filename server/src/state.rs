//! Shared state: the store and the in-memory snapshot that every hot path reads.
//!
//! A snapshot is immutable; a change (import now, edits later) builds a new one and swaps it in atomically,
//! so a request sees either the old city or the new one, never a mix.

use std::sync::Arc;

use arc_swap::ArcSwap;
use gridmap_core::{Address, AddressIndex, AreaIndex, City, Road};
use tokio::sync::Mutex;

use crate::store::{GridStore, StoreError};

/// Limits of the API, with named defaults.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Most points in one `POST /v1/locate`.
    pub max_batch_points: usize,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// XYZ raster URL template of an optional background map for the web page.
    pub basemap_url: Option<String>,
    /// Attribution shown with that basemap.
    pub basemap_attribution: Option<String>,
}

/// Default for [`ApiConfig::max_batch_points`].
pub const DEFAULT_MAX_BATCH_POINTS: usize = 100_000;
/// Default for [`ApiConfig::max_body_bytes`]: room for 100,000 points as a GeoJSON FeatureCollection.
pub const DEFAULT_MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            max_batch_points: DEFAULT_MAX_BATCH_POINTS,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            basemap_url: None,
            basemap_attribution: None,
        }
    }
}

/// The city as the hot paths see it: indexed, immutable.
pub struct Snapshot {
    pub index: AreaIndex,
    pub addresses: Vec<Address>,
    pub address_index: AddressIndex,
    pub roads: Vec<Road>,
    /// The store's data version this snapshot was built from.
    pub data_version: i64,
}

impl Snapshot {
    pub fn build(city: City, data_version: i64) -> Snapshot {
        let address_index = AddressIndex::build(&city.addresses);
        Snapshot {
            index: AreaIndex::build(city.areas),
            addresses: city.addresses,
            address_index,
            roads: city.roads,
            data_version,
        }
    }
}

pub struct AppState {
    pub store: Arc<dyn GridStore>,
    pub config: ApiConfig,
    snapshot: ArcSwap<Snapshot>,
    /// Writers take turns so that two imports never interleave their reload.
    write_lock: Mutex<()>,
}

impl AppState {
    /// Loads the city from the store and indexes it.
    pub async fn load(
        store: Arc<dyn GridStore>,
        config: ApiConfig,
    ) -> Result<AppState, StoreError> {
        let snapshot = load_snapshot(store.as_ref()).await?;
        Ok(AppState {
            store,
            config,
            snapshot: ArcSwap::from_pointee(snapshot),
            write_lock: Mutex::new(()),
        })
    }

    /// The current snapshot; cheap, lock-free.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// Rebuilds the snapshot from the store and swaps it in.
    pub async fn reload(&self) -> Result<(), StoreError> {
        let snapshot = load_snapshot(self.store.as_ref()).await?;
        self.snapshot.store(Arc::new(snapshot));
        Ok(())
    }

    /// Serialises writers: hold the guard across write + reload.
    pub async fn write_guard(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.write_lock.lock().await
    }
}

async fn load_snapshot(store: &dyn GridStore) -> Result<Snapshot, StoreError> {
    let version = store.data_version().await?;
    let city = store.load_city().await?;
    // Indexing is CPU-bound; keep it off the async workers.
    tokio::task::spawn_blocking(move || Snapshot::build(city, version))
        .await
        .map_err(|e| StoreError::Invalid(format!("index build failed: {e}")))
}
