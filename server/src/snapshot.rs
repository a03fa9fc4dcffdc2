//! The city as the hot paths see it: indexed and immutable. Built once at start-up, then patched from the
//! store's change log (`Snapshot::with_delta`); the state swaps snapshots in whole.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use gridmap_core::{Address, AddressIndex, AreaIndex, City, ExcludedGround, Road};

use crate::store::{CityDelta, GridStore, StoreError};
use crate::tile_index::TileIndex;

/// The city as the hot paths see it: indexed, immutable. Addresses, roads and excluded ground are shared
/// between snapshots until they change (a boundary edit leaves them alone).
pub struct Snapshot {
    pub index: AreaIndex,
    pub addresses: Arc<Vec<Address>>,
    pub address_index: Arc<AddressIndex>,
    pub roads: Arc<Vec<Road>>,
    /// Ground no grid takes by design (rivers, rail yards, military ground), in stored order: not a gap of
    /// its community's grids. Not versioned, like roads.
    pub excluded: Arc<[ExcludedGround]>,
    /// The store's data version this snapshot was built from.
    pub data_version: i64,
    /// Per-layer trees and label points for vector tiles.
    pub tiles: TileIndex,
    /// Unique per snapshot built in this process, increasing; the tile cache's validity mark.
    pub generation: u64,
}

/// Source of [`Snapshot::generation`].
static GENERATION: AtomicU64 = AtomicU64::new(1);

impl Snapshot {
    pub fn build(city: City, data_version: i64) -> Snapshot {
        let address_index = AddressIndex::build(&city.addresses);
        let index = AreaIndex::build(city.areas);
        let excluded: Arc<[ExcludedGround]> = city.excluded.into();
        let tiles = TileIndex::build(&index, &city.roads, excluded.clone());
        Snapshot {
            index,
            addresses: Arc::new(city.addresses),
            address_index: Arc::new(address_index),
            roads: Arc::new(city.roads),
            excluded,
            data_version,
            tiles,
            generation: GENERATION.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// This snapshot with `delta` applied: only the changed areas are prepared, indexed for tiles and
    /// labelled again; addresses, roads and excluded ground are shared unless they changed. Equal to [`Snapshot::build`] of
    /// the store at `delta.data_version`.
    #[must_use]
    pub fn with_delta(&self, delta: CityDelta) -> Snapshot {
        let changed_codes = delta.codes();
        let started = std::time::Instant::now();
        let index = self.index.with_changes(delta.areas, &delta.removed);
        let index_ms = started.elapsed().as_millis() as u64;
        let (addresses, address_index) = match delta.addresses {
            Some(list) => {
                let search = AddressIndex::build(&list);
                (Arc::new(list), Arc::new(search))
            }
            None => (self.addresses.clone(), self.address_index.clone()),
        };
        let roads_changed = delta.roads.is_some();
        let roads = delta.roads.map_or_else(|| self.roads.clone(), Arc::new);
        let excluded = delta
            .excluded
            .map_or_else(|| self.excluded.clone(), Arc::from);
        let changed: HashSet<&str> = changed_codes.iter().map(String::as_str).collect();
        let tiles = self.tiles.with_changes(
            &self.index,
            &index,
            &roads,
            roads_changed,
            excluded.clone(),
            &changed,
        );
        tracing::debug!(
            index_ms,
            tiles_ms = started.elapsed().as_millis() as u64 - index_ms,
            "patched the snapshot"
        );
        Snapshot {
            index,
            addresses,
            address_index,
            roads,
            excluded,
            data_version: delta.data_version,
            tiles,
            generation: GENERATION.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// The store's city at its current data version, indexed.
    pub async fn load(store: &dyn GridStore) -> Result<Snapshot, StoreError> {
        let version = store.data_version().await?;
        let city = store.load_city().await?;
        // Indexing is CPU-bound; keep it off the async workers.
        tokio::task::spawn_blocking(move || Snapshot::build(city, version))
            .await
            .map_err(|e| StoreError::Invalid(format!("index build failed: {e}")))
    }
}
