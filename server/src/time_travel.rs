//! Time travel: the city as it was at a given instant (`at=` on `/v1/locate` and on tiles).
//!
//! The areas valid at `t` are the versions with `valid_from <= t < valid_to` (see
//! [`HistoryStore::areas_at`](crate::store::HistoryStore::areas_at)). They only change at the instants where some
//! version begins or ends, so two times between the same two instants see the same city: a historical index
//! is keyed by the data version and that *epoch* (how many instants are at or before `t`), built on demand
//! and kept in a small LRU. A time at or after the last instant is the current city: the live snapshot (and
//! its tile cache) answers. Before the first instant there is no area: answers are empty (a locate with an
//! empty chain, 204 tiles), not an error.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use gridmap_core::AreaIndex;

use crate::snapshot::Snapshot;
use crate::store::{GridStore, StoreError};
use crate::tile_index::TileIndex;

/// Historical indexes kept (a history slider moves through a handful of epochs).
pub const HISTORY_CACHE_ENTRIES: usize = 8;

/// The areas valid in one epoch, indexed; tiles are indexed on first use.
pub struct PastCity {
    pub index: AreaIndex,
    /// The live snapshot this was built next to: roads, addresses and excluded ground are not versioned and
    /// come from it.
    pub base: Arc<Snapshot>,
    tiles: OnceLock<TileIndex>,
}

impl PastCity {
    /// Per-layer trees and label points, built on first use (a locate does not need them).
    pub fn tiles(&self) -> &TileIndex {
        self.tiles.get_or_init(|| {
            TileIndex::build(&self.index, &self.base.roads, self.base.excluded.clone())
        })
    }
}

/// The city a request reads: the live snapshot or a past one.
#[derive(Clone)]
pub enum CityAt {
    Current(Arc<Snapshot>),
    Past(Arc<PastCity>),
}

impl CityAt {
    pub fn index(&self) -> &AreaIndex {
        match self {
            CityAt::Current(s) => &s.index,
            CityAt::Past(p) => &p.index,
        }
    }

    /// Ground no grid takes (not versioned: the live snapshot's, also for a past city).
    pub fn excluded(&self) -> &[gridmap_core::ExcludedGround] {
        match self {
            CityAt::Current(s) => &s.excluded,
            CityAt::Past(p) => &p.base.excluded,
        }
    }
}

/// (data version, epoch)
type Key = (i64, usize);
/// Change instants, ascending, for the data version they were read at.
type Instants = (i64, Arc<Vec<DateTime<Utc>>>);

/// The historical index LRU, shared by every request of the process.
#[derive(Default)]
pub struct TimeTravel {
    /// The change instants, for the data version they were read at.
    instants: tokio::sync::Mutex<Option<Instants>>,
    /// Most recently used first.
    entries: std::sync::Mutex<VecDeque<(Key, Arc<PastCity>)>>,
    /// One build at a time: concurrent requests for one epoch wait for the first one's result.
    building: tokio::sync::Mutex<()>,
    builds: AtomicU64,
}

impl TimeTravel {
    /// The city valid at `at`, next to the live `snapshot`.
    pub async fn at(
        &self,
        store: &dyn GridStore,
        snapshot: Arc<Snapshot>,
        at: DateTime<Utc>,
    ) -> Result<CityAt, StoreError> {
        let version = snapshot.data_version;
        let instants = self.instants(store, version).await?;
        let epoch = instants.partition_point(|i| *i <= at);
        if epoch == instants.len() {
            return Ok(CityAt::Current(snapshot));
        }
        let key = (version, epoch);
        if let Some(past) = self.cached(key) {
            return Ok(CityAt::Past(past));
        }
        let _turn = self.building.lock().await;
        if let Some(past) = self.cached(key) {
            return Ok(CityAt::Past(past));
        }
        let areas = store.areas_at(at).await?;
        // Indexing is CPU-bound; keep it off the async workers.
        let index = tokio::task::spawn_blocking(move || AreaIndex::build(areas))
            .await
            .map_err(|e| StoreError::Invalid(format!("historical index build failed: {e}")))?;
        self.builds.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("gridmap_history_index_builds_total").increment(1);
        let past = Arc::new(PastCity {
            index,
            base: snapshot,
            tiles: OnceLock::new(),
        });
        if let Ok(mut entries) = self.entries.lock() {
            // Entries of older data versions never hit again.
            entries.retain(|((v, _), _)| *v == version);
            entries.push_front((key, past.clone()));
            entries.truncate(HISTORY_CACHE_ENTRIES);
        }
        Ok(CityAt::Past(past))
    }

    /// Historical indexes built since start (each LRU miss builds one).
    pub fn builds(&self) -> u64 {
        self.builds.load(Ordering::Relaxed)
    }

    fn cached(&self, key: Key) -> Option<Arc<PastCity>> {
        let mut entries = self.entries.lock().ok()?;
        let i = entries.iter().position(|(k, _)| *k == key)?;
        let entry = entries.remove(i)?;
        let past = entry.1.clone();
        entries.push_front(entry);
        Some(past)
    }

    async fn instants(
        &self,
        store: &dyn GridStore,
        version: i64,
    ) -> Result<Arc<Vec<DateTime<Utc>>>, StoreError> {
        let mut held = self.instants.lock().await;
        if let Some((v, instants)) = held.as_ref()
            && *v == version
        {
            return Ok(instants.clone());
        }
        let instants = Arc::new(store.change_instants().await?);
        *held = Some((version, instants.clone()));
        Ok(instants)
    }
}
