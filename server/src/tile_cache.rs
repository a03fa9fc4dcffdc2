//! The tile cache: encoded single-layer tiles keyed by (layer, z, x, y), bounded in bytes.
//!
//! Freshness: every entry records the snapshot generation it is valid for, and a lookup hits only when that is
//! the generation of the snapshot the request reads. When a new snapshot is swapped in, [`TileCache::carry_over`]
//! walks the entries once: an entry valid for the old snapshot whose buffered tile meets a changed area's old or
//! new bounding box is invalidated, every other one is marked valid for the new generation. So no change causes
//! a global flush, and between the swap and the end of that walk a request at worst misses (re-renders); it never
//! sees a tile of the old data once the new snapshot is visible, and a render that started on the old snapshot
//! can only store an entry of the old generation, which never hits again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use axum::body::Bytes;
use geo::BoundingRect;
use geo_types::Rect;
use gridmap_core::{Area, Road};
use gridmap_tiles::{LAYERS, TileCoord};
use rstar::RTree;
use rstar::primitives::Rectangle;

use crate::snapshot::Snapshot;
use crate::tile_index::{LayerId, buffered_bounds, encode_options, layer_id, layer_of, rectangle};

/// Cache key: one layer of one tile (`layer` = `LAYERS.len()` for the composite tile).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileKey {
    pub layer: LayerId,
    pub tile: TileCoord,
}

/// One encoded layer of one tile (possibly empty), with its strong validator.
#[derive(Debug)]
pub struct EncodedTile {
    /// Snapshot generation this entry is known to be valid for.
    generation: AtomicU64,
    /// Uncompressed MVT bytes; empty for a tile with no feature.
    pub bytes: Bytes,
    /// Hash of `bytes`, the `ETag` value.
    pub hash: u64,
    gzip: OnceLock<Bytes>,
}

impl EncodedTile {
    pub fn new(bytes: Vec<u8>, generation: u64) -> EncodedTile {
        EncodedTile {
            generation: AtomicU64::new(generation),
            hash: content_hash(&[&bytes]),
            bytes: Bytes::from(bytes),
            gzip: OnceLock::new(),
        }
    }

    /// The gzip of `bytes`, computed on first use and kept with the entry.
    pub fn gzip(&self) -> Bytes {
        self.gzip.get_or_init(|| gzip(&self.bytes)).clone()
    }
}

/// A strong hash over byte strings taken as one concatenation (FNV-1a 64).
pub fn content_hash(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in *part {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// Gzip at a fast level: tiles are small and compress well at level 1..6 alike.
pub fn gzip(bytes: &[u8]) -> Bytes {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 2 + 64),
        flate2::Compression::new(3),
    );
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    Bytes::from(encoder.finish().unwrap_or_default())
}

/// Hit and miss counts since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    /// Entries removed because a change touched their tile.
    pub invalidated: u64,
    /// Entries kept across a change.
    pub carried: u64,
}

/// Bounded tile cache; `None` inside when disabled (`--tile-cache-mb 0`).
pub struct TileCache {
    cache: Option<moka::sync::Cache<TileKey, Arc<EncodedTile>>>,
    hits: AtomicU64,
    misses: AtomicU64,
    invalidated: AtomicU64,
    carried: AtomicU64,
}

/// Bytes an entry costs beyond its tile bytes (key, Arc, moka's bookkeeping), for the weigher.
const ENTRY_OVERHEAD_BYTES: usize = 160;

/// The weight of an entry: its bytes, room for its gzip (made later, typically under half the size),
/// and bookkeeping.
fn weight(tile: &EncodedTile) -> u32 {
    let len = tile.bytes.len();
    u32::try_from(len + len / 2 + ENTRY_OVERHEAD_BYTES).unwrap_or(u32::MAX)
}

impl TileCache {
    /// A cache holding at most `max_bytes` of tiles; 0 disables it.
    pub fn new(max_bytes: u64) -> TileCache {
        let cache = (max_bytes > 0).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|_key: &TileKey, tile: &Arc<EncodedTile>| weight(tile))
                .build()
        });
        TileCache {
            cache,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            invalidated: AtomicU64::new(0),
            carried: AtomicU64::new(0),
        }
    }

    pub fn enabled(&self) -> bool {
        self.cache.is_some()
    }

    /// The tile for `key` as of `snapshot`, from the cache when valid for its generation, else rendered
    /// (and stored). The flag is true on a hit.
    pub fn get_or_render(
        &self,
        snapshot: &Snapshot,
        key: TileKey,
        render: impl FnOnce() -> Vec<u8>,
    ) -> (Arc<EncodedTile>, bool) {
        if let Some(cache) = &self.cache
            && let Some(tile) = cache.get(&key)
            && tile.generation.load(Ordering::Acquire) == snapshot.generation
        {
            self.hits.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("gridmap_tile_cache_hits_total").increment(1);
            return (tile, true);
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("gridmap_tile_cache_misses_total").increment(1);
        let tile = Arc::new(EncodedTile::new(render(), snapshot.generation));
        if let Some(cache) = &self.cache {
            cache.insert(key, tile.clone());
        }
        (tile, false)
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            invalidated: self.invalidated.load(Ordering::Relaxed),
            carried: self.carried.load(Ordering::Relaxed),
        }
    }

    /// Entries held and their weight in bytes (after pending maintenance).
    pub fn size(&self) -> (u64, u64) {
        self.cache.as_ref().map_or((0, 0), |c| {
            c.run_pending_tasks();
            (c.entry_count(), c.weighted_size())
        })
    }

    /// After `new` replaced `old`: drops the entries of `old` that `changes` touch, marks the rest valid for `new`.
    pub fn carry_over(&self, old: &Snapshot, new: &Snapshot, changes: &TileChanges) {
        let Some(cache) = &self.cache else { return };
        let buffer = encode_options().buffer_fraction();
        let (mut dropped, mut kept) = (0u64, 0u64);
        for (key, tile) in cache {
            if tile.generation.load(Ordering::Acquire) != old.generation {
                continue; // rendered from an older snapshot: never hits again; leave it to eviction
            }
            if changes.touches(*key, buffer) {
                cache.invalidate(&*key);
                dropped += 1;
            } else {
                tile.generation.store(new.generation, Ordering::Release);
                kept += 1;
            }
        }
        self.invalidated.fetch_add(dropped, Ordering::Relaxed);
        self.carried.fetch_add(kept, Ordering::Relaxed);
        metrics::counter!("gridmap_tile_cache_invalidated_total").increment(dropped);
        tracing::info!(
            invalidated = dropped,
            kept,
            changed_areas = changes.changed,
            "tile cache carried over to the new snapshot"
        );
    }
}

/// The bounding boxes of what changed between two snapshots, per tile layer.
pub struct TileChanges {
    per_layer: Vec<RTree<Rectangle<[f64; 2]>>>,
    /// Areas and roads that changed (old and new versions counted once each).
    pub changed: usize,
}

impl TileChanges {
    /// Diffs areas by code (geometry, name, level, kind and parent: what tiles show) and roads by value.
    /// A changed area contributes its old and new bounding boxes to its layer and to `labels`.
    pub fn between(old: &Snapshot, new: &Snapshot) -> TileChanges {
        let mut boxes = ChangeBoxes::default();
        let new_areas: HashMap<&str, &Area> = new
            .index
            .areas()
            .iter()
            .map(|a| (a.code.as_str(), a))
            .collect();
        let old_areas: HashMap<&str, &Area> = old
            .index
            .areas()
            .iter()
            .map(|a| (a.code.as_str(), a))
            .collect();
        for (areas, others) in [
            (old.index.areas(), &new_areas),
            (new.index.areas(), &old_areas),
        ] {
            for a in areas {
                if others
                    .get(a.code.as_str())
                    .is_none_or(|b| !same_in_tiles(a, b))
                {
                    boxes.add_area(a);
                }
            }
        }
        boxes.add_excluded(old, new);
        if let Some(roads_layer) = layer_id("roads") {
            for (road, others) in [(&old.roads, &new.roads), (&new.roads, &old.roads)] {
                let others: HashMap<RoadKey, usize> = road_counts(others);
                for r in road.iter() {
                    if !others.contains_key(&RoadKey::of(r))
                        && let Some(rect) = r.geometry.bounding_rect()
                    {
                        boxes.add(roads_layer, rect);
                    }
                }
            }
        }
        boxes.finish()
    }

    /// [`TileChanges::between`] when only the areas of `codes` may differ (roads unchanged; excluded ground
    /// is diffed, it is a handful of pieces): a lookup per code instead of a diff of the whole city.
    pub fn of_areas(old: &Snapshot, new: &Snapshot, codes: &[String]) -> TileChanges {
        let mut boxes = ChangeBoxes::default();
        boxes.add_excluded(old, new);
        for code in codes {
            let before = old.index.by_code(code).map(|id| old.index.area(id));
            let after = new.index.by_code(code).map(|id| new.index.area(id));
            if let (Some(a), Some(b)) = (before, after)
                && same_in_tiles(a, b)
            {
                continue; // staff only: tiles do not show it
            }
            for area in before.into_iter().chain(after) {
                boxes.add_area(area);
            }
        }
        boxes.finish()
    }

    /// Whether a changed box meets the tile of `key` widened by `buffer_fraction` (touching counts). A layer id
    /// past the layer table (the composite tile) is touched by a change in any layer.
    pub fn touches(&self, key: TileKey, buffer_fraction: f64) -> bool {
        let trees = match self.per_layer.get(key.layer) {
            Some(tree) => std::slice::from_ref(tree),
            None => &self.per_layer[..],
        };
        let bounds = buffered_bounds(key.tile, buffer_fraction);
        trees.iter().any(|tree| {
            tree.size() > 0
                && tree
                    .locate_in_envelope_intersecting(&bounds)
                    .next()
                    .is_some()
        })
    }
}

/// Changed bounding boxes per layer, as they are found.
struct ChangeBoxes {
    boxes: Vec<Vec<Rectangle<[f64; 2]>>>,
    changed: usize,
}

impl Default for ChangeBoxes {
    fn default() -> Self {
        ChangeBoxes {
            boxes: vec![Vec::new(); LAYERS.len()],
            changed: 0,
        }
    }
}

impl ChangeBoxes {
    fn add(&mut self, layer: LayerId, r: Rect<f64>) {
        self.boxes[layer].push(rectangle(r));
        self.changed += 1;
    }

    /// An area's box, in its layer and in `labels`.
    fn add_area(&mut self, area: &Area) {
        if let Some(r) = area.geometry.bounding_rect() {
            self.add(layer_of(area), r);
            if let Some(labels) = layer_id("labels") {
                self.boxes[labels].push(rectangle(r));
            }
        }
    }

    /// The boxes of excluded ground in one snapshot and not the other (by value), in the `excluded` layer.
    fn add_excluded(&mut self, old: &Snapshot, new: &Snapshot) {
        let Some(layer) = layer_id("excluded") else {
            return;
        };
        if Arc::ptr_eq(&old.excluded, &new.excluded) {
            return;
        }
        for (these, others) in [
            (&old.excluded, &new.excluded),
            (&new.excluded, &old.excluded),
        ] {
            for piece in these.iter() {
                if !others.contains(piece)
                    && let Some(r) = piece.geometry.bounding_rect()
                {
                    self.add(layer, r);
                }
            }
        }
    }

    fn finish(self) -> TileChanges {
        TileChanges {
            per_layer: self.boxes.into_iter().map(RTree::bulk_load).collect(),
            changed: self.changed,
        }
    }
}

fn same_in_tiles(a: &Area, b: &Area) -> bool {
    a.name == b.name
        && a.level == b.level
        && a.kind == b.kind
        && a.parent == b.parent
        && a.geometry == b.geometry
}

/// A road by value (coordinates by bits), for diffing.
#[derive(PartialEq, Eq, Hash)]
struct RoadKey<'a> {
    name: &'a str,
    class: &'a str,
    coords: Vec<(u64, u64)>,
}

impl RoadKey<'_> {
    fn of(road: &Road) -> RoadKey<'_> {
        RoadKey {
            name: &road.name,
            class: &road.class,
            coords: road
                .geometry
                .coords()
                .map(|c| (c.x.to_bits(), c.y.to_bits()))
                .collect(),
        }
    }
}

fn road_counts(roads: &[Road]) -> HashMap<RoadKey<'_>, usize> {
    let mut counts = HashMap::with_capacity(roads.len());
    for r in roads {
        *counts.entry(RoadKey::of(r)).or_insert(0) += 1;
    }
    counts
}
