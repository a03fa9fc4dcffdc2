//! The in-memory spatial index: per level a bucket grid for point location and an rstar tree (bulk-loaded) for
//! nearest-area searches; exclusive grids get a bucket grid of their own.
//!
//! Point location uses a uniform grid of buckets listing the areas whose bounding box meets each bucket: O(1)
//! candidates without pointer chasing, several times faster than an rstar point query on a 100,000-area level.
//! A lookup's cost on a big city is dominated by memory latency, so batches go through
//! [`AreaIndex::locate_batch`], which visits points in Morton order.
//!
//! Boundary rule: see [`crate::pip`]. Within a level, a point goes to the area that contains it by the half-open
//! rule; if none does (the point is on the outer edge of the level), to the area whose closed polygon covers it.
//! Should a level overlap itself (bad imported data), the smallest code wins, so the answer stays deterministic.
//! Exclusive grids follow the same rule, but all of them that take the point are reported.
//!
//! Ancestor shortcut: the half-open rule says `p` is in `A` iff `p + (ε, ε²)` is in `A`'s interior, so a child
//! that lies inside its parent hands every point it takes by that rule to the parent too. At build time each
//! area whose parent is on the next coarser level present gets its parent recorded in `up` if
//! [`crate::pip::covers_region`] proves the child inside (exact). A lookup locates at the finest level holding
//! the point, then walks up `up` without further point-in-polygon tests; where the link is missing (a child that
//! pokes out, a parent on a skipped level) or the point was taken only by the closed outer-edge fallback, the
//! next level does its own lookup. The answer equals the per-level lookups' wherever no level overlaps itself;
//! in self-overlapping data the walked-to parent wins instead of the smallest code.

// foldhash: the code map is rebuilt with every change; SipHash made it a fifth of a catch-up.
use foldhash::{HashMap, HashMapExt};

use geo_types::Coord;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, Envelope, RTree, RTreeObject};

use crate::pip::{PreparedPolygon, covers_region};
use crate::{Area, Level, geodesy};

/// Position of an area in [`AreaIndex::areas`].
pub type AreaId = u32;

/// The nearest grid to a point that lies in no grid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Nearest {
    pub area: AreaId,
    /// Geodesic distance from the point to the grid's boundary, in metres.
    pub distance_m: f64,
}

/// The answer to "which grid is this point in".
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Location {
    /// One area per level present at the point, coarsest first.
    pub chain: Chain,
    /// Every exclusive grid containing the point, smallest area first.
    pub exclusive: Vec<AreaId>,
    /// The first exclusive grid, else the chain's grid-level area, else the finest area of the chain.
    pub responsible: Option<AreaId>,
    /// Set only when the point is in no ordinary grid: the nearest one.
    pub nearest: Option<Nearest>,
}

/// One area per level, coarsest first, held inline: a batch of a million lookups allocates nothing for it.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Chain {
    ids: [AreaId; MAX_LEVELS],
    len: u8,
}

impl Chain {
    fn push(&mut self, id: AreaId) {
        self.ids[usize::from(self.len)] = id;
        self.len += 1;
    }
}

impl std::ops::Deref for Chain {
    type Target = [AreaId];
    fn deref(&self) -> &[AreaId] {
        &self.ids[..usize::from(self.len)]
    }
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for &'a Chain {
    type Item = &'a AreaId;
    type IntoIter = std::slice::Iter<'a, AreaId>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

type Entry = GeomWithData<Rectangle<[f64; 2]>, AreaId>;

/// No parent link in [`AreaIndex::up`], no area in a chain slot.
const NONE: AreaId = AreaId::MAX;
/// At most one chain slot per level.
const MAX_LEVELS: usize = Level::ALL.len();

#[derive(Clone)]
struct LevelTree {
    level: Level,
    /// For nearest-area searches.
    tree: RTree<Entry>,
    /// For point location: O(1) candidates, and the levels' lookups do not chase pointers, so they overlap.
    buckets: Buckets,
}

/// Interleaves the bits of `x` and `y` (Z-order), so that nearby buckets get nearby keys.
fn morton(x: u32, y: u32) -> u64 {
    fn spread(v: u32) -> u64 {
        let mut v = u64::from(v);
        v = (v | (v << 16)) & 0x0000_FFFF_0000_FFFF;
        v = (v | (v << 8)) & 0x00FF_00FF_00FF_00FF;
        v = (v | (v << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
        v = (v | (v << 2)) & 0x3333_3333_3333_3333;
        v = (v | (v << 1)) & 0x5555_5555_5555_5555;
        v
    }
    spread(x) | (spread(y) << 1)
}

/// A uniform grid of buckets over a level's extent, each listing the areas whose bounding box meets it.
///
/// Bucket coordinates are computed by a monotone formula, so a point inside an area's bounding box falls in one
/// of the buckets that list the area.
#[derive(Clone)]
struct Buckets {
    min: [f64; 2],
    inv_size: [f64; 2],
    nx: usize,
    ny: usize,
    /// `offsets[k]..offsets[k + 1]` indexes `slots` for bucket `k = j * nx + i`.
    offsets: Vec<u32>,
    slots: Vec<Slot>,
}

/// An area listed in a bucket, with its bounding box inline so that most candidates are rejected without
/// touching their polygon (one cache miss fewer each).
#[derive(Debug, Clone, Copy)]
struct Slot {
    /// `[min_x, min_y, max_x, max_y]`, rounded outwards to `f32`.
    bbox: [f32; 4],
    id: AreaId,
}

impl Slot {
    fn new(id: AreaId, lower: [f64; 2], upper: [f64; 2]) -> Slot {
        // Round outwards so that the box never loses a point of the f64 box.
        let down = |v: f64| {
            let r = v as f32;
            if f64::from(r) > v { r.next_down() } else { r }
        };
        let up = |v: f64| {
            let r = v as f32;
            if f64::from(r) < v { r.next_up() } else { r }
        };
        Slot {
            bbox: [down(lower[0]), down(lower[1]), up(upper[0]), up(upper[1])],
            id,
        }
    }
    #[inline]
    fn holds(&self, p: Coord<f64>) -> bool {
        let [x0, y0, x1, y1] = self.bbox;
        p.x >= f64::from(x0) && p.x <= f64::from(x1) && p.y >= f64::from(y0) && p.y <= f64::from(y1)
    }
}

impl Buckets {
    /// Bucket lists keep the order of `entries`. About `per_area` buckets per entry.
    fn build(entries: &[Entry], per_area: usize) -> Buckets {
        let env = entries
            .iter()
            .map(|e| e.geom().envelope())
            .reduce(|a, b| a.merged(&b))
            .unwrap_or_else(|| AABB::from_point([0.0, 0.0]));
        let (lo, hi) = (env.lower(), env.upper());
        let (width, height) = ((hi[0] - lo[0]).max(1e-12), (hi[1] - lo[1]).max(1e-12));
        // Shaped like the extent.
        let target = (entries.len() * per_area).clamp(1, 1 << 22) as f64;
        let nx = ((target * width / height).sqrt().ceil() as usize).clamp(1, 1 << 12);
        let ny = ((target / nx as f64).ceil() as usize).clamp(1, 1 << 12);
        let mut buckets = Buckets {
            min: lo,
            inv_size: [nx as f64 / width, ny as f64 / height],
            nx,
            ny,
            offsets: vec![0; nx * ny + 1],
            slots: Vec::new(),
        };
        let spans: Vec<(Slot, [usize; 4])> = entries
            .iter()
            .map(|e| {
                let env = e.geom().envelope();
                let (lower, upper) = (env.lower(), env.upper());
                (
                    Slot::new(e.data, lower, upper),
                    [
                        buckets.col(lower[0]),
                        buckets.row(lower[1]),
                        buckets.col(upper[0]),
                        buckets.row(upper[1]),
                    ],
                )
            })
            .collect();
        for (_, [i0, j0, i1, j1]) in &spans {
            for j in *j0..=*j1 {
                for i in *i0..=*i1 {
                    buckets.offsets[j * nx + i + 1] += 1;
                }
            }
        }
        for k in 0..nx * ny {
            buckets.offsets[k + 1] += buckets.offsets[k];
        }
        let mut fill = buckets.offsets.clone();
        let empty = Slot {
            bbox: [0.0; 4],
            id: NONE,
        };
        let mut slots = vec![empty; buckets.offsets[nx * ny] as usize];
        for (slot, [i0, j0, i1, j1]) in spans {
            for j in j0..=j1 {
                for i in i0..=i1 {
                    let next = &mut fill[j * nx + i];
                    slots[*next as usize] = slot;
                    *next += 1;
                }
            }
        }
        buckets.slots = slots;
        buckets
    }
    #[inline]
    fn col(&self, x: f64) -> usize {
        let k = (x - self.min[0]) * self.inv_size[0];
        if k <= 0.0 {
            0
        } else {
            (k as usize).min(self.nx - 1)
        }
    }
    #[inline]
    fn row(&self, y: f64) -> usize {
        let k = (y - self.min[1]) * self.inv_size[1];
        if k <= 0.0 {
            0
        } else {
            (k as usize).min(self.ny - 1)
        }
    }
    /// Areas whose bounding box holds `p` (give or take `f32` rounding), in entry order.
    #[inline]
    fn at(&self, p: Coord<f64>) -> impl Iterator<Item = AreaId> + Clone + '_ {
        let k = self.row(p.y) * self.nx + self.col(p.x);
        self.slots[self.offsets[k] as usize..self.offsets[k + 1] as usize]
            .iter()
            .filter(move |s| s.holds(p))
            .map(|s| s.id)
    }
}

/// All current areas, indexed for point lookups.
pub struct AreaIndex {
    /// Sorted by level, then code: within a level a smaller id means a smaller code.
    areas: Vec<Area>,
    prepared: Vec<PreparedPolygon>,
    by_code: HashMap<String, AreaId>,
    children: Vec<Vec<AreaId>>,
    /// Levels with at least one ordinary area, coarsest first (at most [`MAX_LEVELS`]).
    levels: Vec<LevelTree>,
    /// Per area: its parent if that is on the next coarser level in `levels` and provably holds the whole area,
    /// else [`NONE`] (see the module docs).
    up: Vec<AreaId>,
    /// Exclusive grids, each bucket listing them smallest (area in m², then code) first; `None` if there are none.
    exclusive: Option<Buckets>,
    /// Index into `levels` of the grid level.
    grid_level: Option<usize>,
    /// Index into `levels` of the level whose absence triggers `nearest` (grid, else the finest).
    nearest_level: Option<usize>,
}

fn entry(id: AreaId, prepared: &PreparedPolygon) -> Option<Entry> {
    let r = prepared.bbox()?;
    Some(GeomWithData::new(
        Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
        id,
    ))
}

impl AreaIndex {
    /// Builds the index (rstar `bulk_load` per level). Areas are reordered by level, then code.
    pub fn build(mut areas: Vec<Area>) -> AreaIndex {
        areas.sort_by(|a, b| (a.level, &a.code).cmp(&(b.level, &b.code)));
        let origins = vec![None; areas.len()];
        AreaIndex::assemble(areas, &origins, None)
    }

    /// The index after a change: the areas of `upserts` replace those of the same code (or are added),
    /// `removed` codes go. What unchanged areas cost to prepare (flattened rings, edge bands, the exact
    /// containment proofs behind parent links) is reused, so a plan's commit on a 100,000-area city is indexed
    /// in a fraction of a full build. The result equals `AreaIndex::build` of the same areas.
    ///
    /// ```
    /// use gridmap_core::{Area, AreaIndex, Level};
    /// use geo_types::{MultiPolygon, Rect, coord};
    /// let square = |x: f64| MultiPolygon(vec![Rect::new(coord! {x: x, y: 0.0}, coord! {x: x + 1.0, y: 1.0}).to_polygon()]);
    /// let grid = |code: &str, x: f64| Area { code: code.into(), name: code.into(), level: Level::Grid,
    ///     kind: None, parent: None, geometry: square(x), staff: vec![] };
    /// let before = AreaIndex::build(vec![grid("a", 0.0), grid("b", 1.0)]);
    /// // `b` moves east, `c` is new, `a` is retired.
    /// let after = before.with_changes(vec![grid("b", 5.0), grid("c", 1.0)], &["a".to_owned()]);
    /// let code_at = |x: f64| after.locate(coord! {x: x, y: 0.5}).responsible.map(|id| after.area(id).code.clone());
    /// assert_eq!(code_at(0.5), None);
    /// assert_eq!(code_at(1.5).as_deref(), Some("c"));
    /// assert_eq!(code_at(5.5).as_deref(), Some("b"));
    /// ```
    #[must_use]
    pub fn with_changes(&self, upserts: Vec<Area>, removed: &[String]) -> AreaIndex {
        let replaced: std::collections::HashSet<String> = upserts
            .iter()
            .map(|a| a.code.clone())
            .chain(removed.iter().cloned())
            .collect();
        let kept = self
            .areas
            .iter()
            .enumerate()
            .filter(|(_, a)| !replaced.contains(&a.code))
            .map(|(id, a)| (a.clone(), Some(id as AreaId)));
        let before = |a: &Area, b: &Area| (a.level, &a.code) < (b.level, &b.code);
        let mut added: Vec<(Area, Option<AreaId>)> =
            upserts.into_iter().map(|a| (a, None)).collect();
        added.sort_by(|a, b| (a.0.level, &a.0.code).cmp(&(b.0.level, &b.0.code)));
        // A code given twice in `upserts`: the last one wins, as a later write would.
        added.dedup_by(|later, earlier| {
            if later.0.code == earlier.0.code {
                std::mem::swap(later, earlier);
                true
            } else {
                false
            }
        });
        // The kept areas are in order already: merge rather than sort the whole city again.
        let mut pairs: Vec<(Area, Option<AreaId>)> =
            Vec::with_capacity(self.areas.len() + added.len());
        let mut added = added.into_iter().peekable();
        for old in kept {
            while let Some(new) = added.next_if(|new| before(&new.0, &old.0)) {
                pairs.push(new);
            }
            pairs.push(old);
        }
        pairs.extend(added);
        let (areas, origins): (Vec<Area>, Vec<Option<AreaId>>) = pairs.into_iter().unzip();
        AreaIndex::assemble(areas, &origins, Some(self))
    }

    /// The index of `areas` (sorted by level, then code); `origins[i]` is the id area `i` had, unchanged, in
    /// `old`, whose prepared geometry and parent link are then reused.
    fn assemble(
        areas: Vec<Area>,
        origins: &[Option<AreaId>],
        old: Option<&AreaIndex>,
    ) -> AreaIndex {
        let reused = |i: usize| old.zip(origins[i]);
        let prepared: Vec<PreparedPolygon> = areas
            .iter()
            .enumerate()
            .map(|(i, a)| match reused(i) {
                Some((old, id)) => old.prepared[id as usize].clone(),
                None => PreparedPolygon::new(&a.geometry),
            })
            .collect();
        let mut by_code = HashMap::with_capacity(areas.len());
        for (id, a) in areas.iter().enumerate() {
            by_code.entry(a.code.clone()).or_insert(id as AreaId);
        }
        let mut children = vec![Vec::new(); areas.len()];
        for (id, a) in areas.iter().enumerate() {
            if let Some(parent) = a.parent.as_deref().and_then(|c| by_code.get(c)) {
                children[*parent as usize].push(id as AreaId);
            }
        }
        for list in &mut children {
            list.sort_by(|&x, &y| areas[x as usize].code.cmp(&areas[y as usize].code));
        }
        let mut per_level: Vec<(Level, Vec<Entry>)> = Vec::new();
        let mut exclusive_entries = Vec::new();
        for (id, a) in areas.iter().enumerate() {
            let Some(e) = entry(id as AreaId, &prepared[id]) else {
                continue;
            };
            if a.is_exclusive() {
                exclusive_entries.push(e);
            } else {
                match per_level.last_mut() {
                    Some((level, list)) if *level == a.level => list.push(e),
                    _ => per_level.push((a.level, vec![e])),
                }
            }
        }
        let levels: Vec<LevelTree> = per_level
            .into_iter()
            .map(|(level, entries)| {
                if let Some(tree) = old.and_then(|old| {
                    old.same_level_tree(old_level(old, level)?, &areas, level, &prepared)
                }) {
                    return tree;
                }
                LevelTree {
                    level,
                    // Entries come in id order, so every bucket lists ids ascending.
                    buckets: Buckets::build(&entries, 2),
                    tree: RTree::bulk_load(entries),
                }
            })
            .collect();
        let mut ranked: Vec<(f64, Entry)> = exclusive_entries
            .into_iter()
            .map(|e| (geodesy::area_m2(&areas[e.data as usize].geometry), e))
            .collect();
        ranked.sort_by(|a, b| {
            a.0.total_cmp(&b.0).then(
                areas[a.1.data as usize]
                    .code
                    .cmp(&areas[b.1.data as usize].code),
            )
        });
        let ranked: Vec<Entry> = ranked.into_iter().map(|(_, e)| e).collect();
        // Exclusive grids are few and small: finer buckets keep most lookups from touching any of them.
        let exclusive = (!ranked.is_empty()).then(|| Buckets::build(&ranked, 16));
        let same_levels = old.is_some_and(|old| {
            old.levels
                .iter()
                .map(|l| l.level)
                .eq(levels.iter().map(|l| l.level))
        });
        let known_links: Vec<Option<bool>> = (0..areas.len())
            .map(|i| {
                let (old, id) = reused(i).filter(|_| same_levels)?;
                let parent = areas[i].parent.as_deref().and_then(|c| by_code.get(c))?;
                // The parent unchanged too: the old proof (or its failure) still holds.
                reused(*parent as usize)?;
                Some(old.up[id as usize] != NONE)
            })
            .collect();
        let up = parent_links(&areas, &prepared, &by_code, &levels, &known_links);
        let grid_level = levels.iter().position(|l| l.level == Level::Grid);
        let nearest_level = grid_level.or(levels.len().checked_sub(1));
        AreaIndex {
            areas,
            prepared,
            by_code,
            children,
            levels,
            up,
            exclusive,
            grid_level,
            nearest_level,
        }
    }
    /// This index's tree of `level` for the new `areas`, when no area of that level was added, removed or
    /// moved its bounding box (a rename, new staff, a new parent): a copy with the ids shifted by where the level
    /// now starts, instead of a rebuild (the micro-grid level is most of a city).
    fn same_level_tree(
        &self,
        old_tree: &LevelTree,
        areas: &[Area],
        level: Level,
        prepared: &[PreparedPolygon],
    ) -> Option<LevelTree> {
        let old = level_span(&self.areas, level);
        let new = level_span(areas, level);
        if old.len() != new.len() {
            return None;
        }
        let unchanged = old.clone().zip(new.clone()).all(|(o, n)| {
            let (a, b) = (&self.areas[o], &areas[n]);
            a.code == b.code
                && a.is_exclusive() == b.is_exclusive()
                && self.prepared[o].bbox() == prepared[n].bbox()
        });
        if !unchanged {
            return None;
        }
        let shift = |id: &mut AreaId| *id = (*id as usize - old.start + new.start) as AreaId;
        let mut tree = old_tree.clone();
        for e in &mut tree.tree {
            shift(&mut e.data);
        }
        for slot in &mut tree.buckets.slots {
            shift(&mut slot.id);
        }
        Some(tree)
    }

    pub fn areas(&self) -> &[Area] {
        &self.areas
    }
    pub fn area(&self, id: AreaId) -> &Area {
        &self.areas[id as usize]
    }
    /// The prepared geometry of an area (for covers / distance queries).
    pub fn prepared(&self, id: AreaId) -> &PreparedPolygon {
        &self.prepared[id as usize]
    }
    pub fn by_code(&self, code: &str) -> Option<AreaId> {
        self.by_code.get(code).copied()
    }
    /// Children of an area (ordinary and exclusive), in code order.
    pub fn children(&self, id: AreaId) -> &[AreaId] {
        &self.children[id as usize]
    }
    /// Levels that have at least one ordinary area, coarsest first.
    pub fn levels(&self) -> Vec<Level> {
        self.levels.iter().map(|l| l.level).collect()
    }

    /// The ordinary area of one level holding `p` (see the module docs for the rule), and whether it takes `p`
    /// by the half-open rule (`false`: only by the closed outer-edge fallback).
    #[inline]
    fn locate_in(&self, level: &LevelTree, p: Coord<f64>) -> Option<(AreaId, bool)> {
        // Bucket lists are ascending, so the first area that takes the point has the smallest code.
        let mut candidates = level.buckets.at(p);
        let prepared = |id: AreaId| &self.prepared[id as usize];
        if let Some(id) = candidates.clone().find(|&id| prepared(id).contains(p)) {
            return Some((id, true));
        }
        candidates
            .find(|&id| prepared(id).on_boundary(p))
            .map(|id| (id, false))
    }

    /// Locates a WGS-84 lon/lat.
    pub fn locate(&self, p: Coord<f64>) -> Location {
        let mut loc = Location::default();
        if !(p.x.is_finite() && p.y.is_finite()) {
            return loc;
        }
        // Slot `i` holds the area of `levels[i]`. The finest level holding the point first, then up the tree.
        let mut slots = [NONE; MAX_LEVELS];
        let mut below: Option<(AreaId, bool)> = None;
        for i in (0..self.levels.len()).rev() {
            let up = match below {
                Some((child, true)) => self.up[child as usize],
                _ => NONE,
            };
            let hit = if up == NONE {
                self.locate_in(&self.levels[i], p)
            } else {
                Some((up, true))
            };
            if let Some((id, _)) = hit {
                slots[i] = id;
            }
            below = hit;
        }
        let slots = &slots[..self.levels.len()];
        for &id in slots.iter().filter(|&&id| id != NONE) {
            loc.chain.push(id);
        }
        if let Some(exclusive) = &self.exclusive {
            self.locate_exclusive(exclusive, p, &mut loc.exclusive);
        }
        let grid = self.grid_level.map(|i| slots[i]).filter(|&id| id != NONE);
        loc.responsible = loc
            .exclusive
            .first()
            .copied()
            .or(grid)
            .or(loc.chain.last().copied());
        if let Some(i) = self.nearest_level
            && slots[i] == NONE
        {
            loc.nearest = self.nearest_in(&self.levels[i].tree, p);
        }
        loc
    }

    /// Locates many points; results in input order. Points are visited in a space-filling (Morton) order so that
    /// consecutive lookups touch the same polygons and buckets: on big cities this is several times faster than
    /// locating them in arbitrary order, because a lookup's cost is dominated by memory latency.
    pub fn locate_batch(&self, points: &[Coord<f64>]) -> Vec<Location> {
        let Some(finest) = self.levels.last() else {
            return points.iter().map(|p| self.locate(*p)).collect();
        };
        let b = &finest.buckets;
        let key = |p: &Coord<f64>| {
            let col = if p.x.is_finite() { b.col(p.x) } else { 0 };
            let row = if p.y.is_finite() { b.row(p.y) } else { 0 };
            morton(col as u32, row as u32)
        };
        let mut order: Vec<(u64, u32)> = points
            .iter()
            .enumerate()
            .map(|(i, p)| (key(p), i as u32))
            .collect();
        order.sort_unstable();
        let mut out = vec![Location::default(); points.len()];
        for (_, i) in order {
            out[i as usize] = self.locate(points[i as usize]);
        }
        out
    }

    /// Every exclusive grid taking `p`, smallest first (bucket lists are in that order).
    fn locate_exclusive(&self, exclusive: &Buckets, p: Coord<f64>, out: &mut Vec<AreaId>) {
        let mut candidates = exclusive.at(p).peekable();
        if candidates.peek().is_none() {
            return;
        }
        let prepared = |id: AreaId| &self.prepared[id as usize];
        out.extend(candidates.clone().filter(|&id| prepared(id).contains(p)));
        if out.is_empty() {
            out.extend(candidates.filter(|&id| prepared(id).on_boundary(p)));
        }
    }

    /// The area of a level nearest to `p` by distance to its boundary, in metres.
    ///
    /// Candidates come in order of bounding-box distance in degrees; that distance times the smaller of the
    /// metres-per-degree scales (with 5 % slack for latitude change across the search) bounds the true distance
    /// from below, so we stop once it exceeds the best found.
    fn nearest_in(&self, tree: &RTree<Entry>, p: Coord<f64>) -> Option<Nearest> {
        let (mx, my) = geodesy::metres_per_degree(p.y);
        let scale = mx.min(my) * 0.95;
        let mut best: Option<Nearest> = None;
        for (e, d2) in tree.nearest_neighbor_iter_with_distance_2(&[p.x, p.y]) {
            if best.is_some_and(|b| d2.sqrt() * scale > b.distance_m) {
                break;
            }
            let d = self.prepared[e.data as usize].distance_to_boundary_m(p);
            if best.is_none_or(|b| d.total_cmp(&b.distance_m).then(e.data.cmp(&b.area)).is_lt()) {
                best = Some(Nearest {
                    area: e.data,
                    distance_m: d,
                });
            }
        }
        best
    }

    /// Ids of the ordinary areas of `level` whose bounding box holds `p` (for diagnostics and tests).
    pub fn candidates(&self, level: Level, p: Coord<f64>) -> Vec<AreaId> {
        let at = AABB::from_point([p.x, p.y]);
        self.levels
            .iter()
            .filter(|l| l.level == level)
            .flat_map(|l| l.tree.locate_in_envelope_intersecting(&at).map(|e| e.data))
            .collect()
    }
}

/// The ids of `level`'s areas (ordinary and exclusive): one run, since areas are sorted by level.
fn level_span(areas: &[Area], level: Level) -> std::ops::Range<usize> {
    let start = areas.partition_point(|a| a.level < level);
    start..areas.partition_point(|a| a.level <= level)
}

fn old_level(old: &AreaIndex, level: Level) -> Option<&LevelTree> {
    old.levels.iter().find(|l| l.level == level)
}

/// For every area, its parent if the parent is on the next coarser level of `levels` and holds the whole area.
fn parent_links(
    areas: &[Area],
    prepared: &[PreparedPolygon],
    by_code: &HashMap<String, AreaId>,
    levels: &[LevelTree],
    known: &[Option<bool>],
) -> Vec<AreaId> {
    let coarser: HashMap<Level, Level> = levels
        .windows(2)
        .map(|w| (w[1].level, w[0].level))
        .collect();
    areas
        .iter()
        .enumerate()
        .map(|(id, a)| {
            let Some(&want) = coarser.get(&a.level) else {
                return NONE;
            };
            let Some(&parent) = a.parent.as_deref().and_then(|c| by_code.get(c)) else {
                return NONE;
            };
            if let Some(linked) = known[id] {
                return if linked { parent } else { NONE };
            }
            let pa = &areas[parent as usize];
            let linked = !a.is_exclusive()
                && !pa.is_exclusive()
                && pa.level == want
                && covers_region(&prepared[parent as usize], &a.geometry, &prepared[id]);
            if linked { parent } else { NONE }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::{Lattice, city};

    /// The lattice city nests exactly, so every non-root ordinary area must get its parent link, or the shortcut
    /// would silently never run.
    #[test]
    fn a_nested_city_links_every_ordinary_child_to_its_parent() {
        let index = AreaIndex::build(city(&Lattice::new(30, 20, 3), [24, 12, 6, 3, 1]));
        let mut linked = 0;
        for (id, a) in index.areas().iter().enumerate() {
            let expected = match (&a.parent, a.is_exclusive()) {
                (Some(code), false) => index.by_code(code).expect("parent"),
                _ => NONE,
            };
            assert_eq!(index.up[id], expected, "{}", a.code);
            linked += usize::from(expected != NONE);
        }
        assert!(linked > 600, "{linked}");
    }
}

#[cfg(test)]
mod change_tests {
    use super::*;
    use crate::fixture::{Lattice, city};
    use geo::{AffineOps, AffineTransform, BoundingRect};

    /// A change applied to a built index answers exactly as an index built afresh from the changed areas:
    /// same areas in the same order, same parent links, same lookups everywhere (including on every vertex).
    #[test]
    fn an_index_with_changes_equals_a_fresh_build() {
        let lattice = Lattice::new(30, 20, 7);
        let mut areas = city(&lattice, [24, 12, 6, 3, 1]);
        let before = AreaIndex::build(areas.clone());
        let grids: Vec<usize> = (0..areas.len())
            .filter(|&i| areas[i].level == Level::Grid)
            .collect();
        let micro: Vec<usize> = (0..areas.len())
            .filter(|&i| areas[i].level == Level::MicroGrid)
            .collect();
        // A grid shrunk about its centre (its micro-grids now poke out: their links must go), a micro-grid
        // renamed, one retired, a new one on top of another (self-overlap: the smaller code wins).
        let shrunk = grids[3];
        let centre = areas[shrunk]
            .geometry
            .bounding_rect()
            .expect("bounds")
            .center();
        areas[shrunk].geometry = areas[shrunk]
            .geometry
            .affine_transform(&AffineTransform::scale(0.8, 0.8, centre));
        areas[micro[10]].name = "renamed".into();
        let retired = areas[micro[20]].code.clone();
        let mut added = areas[micro[30]].clone();
        added.code = format!("{}x", added.code);
        let upserts = vec![
            areas[shrunk].clone(),
            areas[micro[10]].clone(),
            added.clone(),
        ];
        areas.retain(|a| a.code != retired);
        areas.push(added);

        let patched = before.with_changes(upserts, std::slice::from_ref(&retired));
        let fresh = AreaIndex::build(areas);
        let codes = |index: &AreaIndex| -> Vec<String> {
            index.areas().iter().map(|a| a.code.clone()).collect()
        };
        assert_eq!(codes(&patched), codes(&fresh));
        assert_eq!(patched.areas(), fresh.areas());
        assert_eq!(patched.up, fresh.up);
        let links = |index: &AreaIndex| index.up.iter().filter(|&&u| u != NONE).count();
        assert!(
            links(&patched) < links(&before),
            "the shrunk grid's children lost their links"
        );
        let mut points = lattice.random_points(5_000, 11);
        points.extend(fresh.areas().iter().flat_map(|a| {
            a.geometry
                .0
                .iter()
                .flat_map(|p| p.exterior().0.iter().copied())
                .collect::<Vec<_>>()
        }));
        for p in points {
            assert_eq!(patched.locate(p), fresh.locate(p), "at {p:?}");
        }
    }

    /// A grid added and one renamed leave the micro-grid level as it was but one id further on: its tree is
    /// reused with the ids shifted, and answers as a fresh build does.
    #[test]
    fn an_unchanged_level_after_a_new_code_is_reused_shifted() {
        let lattice = Lattice::new(30, 20, 5);
        let mut areas = city(&lattice, [24, 12, 6, 3, 1]);
        let before = AreaIndex::build(areas.clone());
        let first_grid = areas
            .iter()
            .position(|a| a.level == Level::Grid)
            .expect("a grid");
        let mut added = areas[first_grid].clone();
        added.code = format!("{}0", added.code);
        areas[first_grid].name = "renamed".into();
        let upserts = vec![added.clone(), areas[first_grid].clone()];
        areas.push(added);
        let patched = before.with_changes(upserts, &[]);
        let fresh = AreaIndex::build(areas);
        assert_eq!(patched.areas(), fresh.areas());
        assert_eq!(patched.up, fresh.up);
        let micro_start = level_span(fresh.areas(), Level::MicroGrid).start;
        assert_eq!(
            micro_start,
            level_span(before.areas(), Level::MicroGrid).start + 1
        );
        for p in lattice.random_points(5_000, 3) {
            assert_eq!(patched.locate(p), fresh.locate(p), "at {p:?}");
        }
    }
}
