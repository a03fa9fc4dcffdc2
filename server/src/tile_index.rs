//! What a snapshot needs to cut vector tiles fast: per tile layer an rstar tree of area (or road, or excluded
//! ground) bounding boxes, and every area's label point, computed once when the snapshot is built.
//!
//! A tile is cut by querying the layer's tree with the tile's bounds plus the encoder's buffer, then
//! handing the borrowed geometries to [`LayerBuilder`], which projects, clips, simplifies and quantizes.

use std::sync::Arc;

use geo::BoundingRect;
use geo_types::{Geometry, MultiPolygon, Point, Rect};
use gridmap_core::geodesy::union_rect;
use gridmap_core::{Area, AreaId, AreaIndex, ExcludedGround, Level, Road};
use gridmap_tiles::{
    EncodeOptions, LAYERS, LayerBuilder, LayerSpec, Tile, TileCoord, Value, label_point,
    mercator_to_lonlat, to_world,
};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

/// Position of a layer in [`LAYERS`].
pub type LayerId = usize;

type BoxEntry = GeomWithData<Rectangle<[f64; 2]>, u32>;
type LabelEntry = GeomWithData<[f64; 2], AreaId>;

/// How the server encodes tiles (the crate's defaults: extent 4096, buffer 64, quarter-pixel simplify).
pub fn encode_options() -> EncodeOptions {
    EncodeOptions::default()
}

/// The layer an area is drawn in: exclusive grids in `exclusive`, others by level.
pub fn layer_of(area: &Area) -> LayerId {
    let name = if area.is_exclusive() {
        "exclusive"
    } else {
        match area.level {
            Level::District => "districts",
            Level::Street => "streets",
            Level::Community => "communities",
            Level::Grid => "grids",
            Level::MicroGrid => "micro_grids",
        }
    };
    layer_id(name).expect("every area layer is in the layer table")
}

/// The position of the layer called `name`.
pub fn layer_id(name: &str) -> Option<LayerId> {
    LAYERS.iter().position(|l| l.name == name)
}

/// Whether a layer has content at zoom `z`. Past its `max_zoom` a layer is still served (exact, just
/// not needed by clients that overzoom), so the composite tile keeps boundaries at every zoom.
pub fn has_content_at(spec: &LayerSpec, z: u8) -> bool {
    z >= spec.min_zoom
}

/// A stable MVT feature id from an area code (FNV-1a, cut to 53 bits so JavaScript numbers hold it):
/// the same area keeps its id across reloads and stores, for the map's hover state.
pub fn feature_id(code: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in code.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash & ((1 << 53) - 1)
}

/// A tile's WGS-84 bounds widened by `buffer_fraction` of its width on every side, as an rstar box.
pub fn buffered_bounds(tile: TileCoord, buffer_fraction: f64) -> AABB<[f64; 2]> {
    let m = tile.bounds_mercator();
    let pad_m = tile.size_m() * buffer_fraction;
    let (west, south) = mercator_to_lonlat(m.min().x - pad_m, m.min().y - pad_m);
    let (east, north) = mercator_to_lonlat(m.max().x + pad_m, m.max().y + pad_m);
    AABB::from_corners([west, south], [east, north])
}

fn rect_entry(rect: Rect<f64>, data: u32) -> BoxEntry {
    GeomWithData::new(rectangle(rect), data)
}

/// `rect` as an R-tree rectangle.
pub fn rectangle(r: Rect<f64>) -> Rectangle<[f64; 2]> {
    Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y])
}

/// Per snapshot: trees to select features per tile, and label points.
pub struct TileIndex {
    /// Per layer id: the areas (or, for `roads` and `excluded`, indexes in their lists) by bounding box;
    /// empty for `labels`.
    boxes: Vec<RTree<BoxEntry>>,
    /// Per area layer with labels: (zoom from which its labels show, label points).
    labels: Vec<(u8, RTree<LabelEntry>)>,
    roads_layer: Option<LayerId>,
    labels_layer: Option<LayerId>,
    excluded_layer: Option<LayerId>,
    /// The excluded ground drawn (the snapshot's list, shared) and each piece in world fractions, projected
    /// once; both carried over while the list is the same `Arc`.
    excluded: Arc<[ExcludedGround]>,
    excluded_world: Arc<Vec<MultiPolygon<f64>>>,
    /// Bounds of all areas, roads and excluded ground, WGS-84.
    bounds: Option<Rect<f64>>,
    /// Every area in Web Mercator world fractions, by area id: projected once, not once per tile, and
    /// shared with the next snapshot's index while the area is unchanged.
    world: Vec<Arc<MultiPolygon<f64>>>,
    /// Every area's label point, by area id (kept so that a change re-labels only the changed areas).
    points: Vec<Option<Point<f64>>>,
}

/// What [`TileIndex::with_changes`] carries over from the index before the change.
struct Carried<'a> {
    old: &'a TileIndex,
    /// Per new area id: its id in `old` when the area is there with the same layer and geometry, so that its
    /// projection, label point and tree entries are the same.
    kept: &'a [Option<u32>],
    roads_changed: bool,
}

impl Carried<'_> {
    /// Per old area id: its new id, when kept; `None` when no id moved.
    fn renumbering(&self) -> Option<Vec<u32>> {
        if self.kept.len() == self.old.points.len()
            && self
                .kept
                .iter()
                .enumerate()
                .all(|(new, old)| *old == Some(new as u32))
        {
            return None;
        }
        let mut new_of_old = vec![u32::MAX; self.old.points.len()];
        for (new, old) in self.kept.iter().enumerate() {
            if let Some(old) = old {
                new_of_old[*old as usize] = new as u32;
            }
        }
        Some(new_of_old)
    }

    /// A copy of `old`, ids renumbered, when `entries` (new ids) are exactly its entries: as many, and every
    /// one a kept area (the same layer and geometry give the same box or label point). Building a tree of the
    /// 100,000 micro-grids again is most of a change's cost, and most changes leave that layer alone.
    fn same_tree<G>(
        &self,
        old: &RTree<GeomWithData<G, u32>>,
        entries: &[GeomWithData<G, u32>],
        renumber: Option<&Vec<u32>>,
    ) -> Option<RTree<GeomWithData<G, u32>>>
    where
        G: rstar::RTreeObject + Clone,
        GeomWithData<G, u32>: rstar::RTreeObject,
    {
        let unchanged = old.size() == entries.len()
            && entries.iter().all(|e| self.kept[e.data as usize].is_some());
        if !unchanged {
            return None;
        }
        let mut tree = old.clone();
        if let Some(new_of_old) = renumber {
            for e in &mut tree {
                e.data = new_of_old[e.data as usize];
            }
        }
        Some(tree)
    }
}

impl TileIndex {
    /// Indexes the areas of `index`, `roads` and `excluded`. Label points (polylabel) are the slow part, so
    /// they are computed on all cores.
    pub fn build(index: &AreaIndex, roads: &[Road], excluded: Arc<[ExcludedGround]>) -> TileIndex {
        let all: Vec<&Area> = index.areas().iter().collect();
        let (points, world): (Vec<_>, Vec<_>) = per_area(&all)
            .into_iter()
            .map(|(point, world)| (point, Arc::new(world)))
            .unzip();
        TileIndex::assemble(index, roads, excluded, points, world, None)
    }

    /// The tile index of `index` after a change, reusing this one's label points, projected geometries and
    /// tree entries of every area kept with the same layer and geometry (`changed`: the codes whose rows changed;
    /// `old`: the area index this one was built from; `roads_changed`: the roads are new; `excluded`: new
    /// unless the same `Arc` as before). Equal to [`TileIndex::build`] of `index`.
    #[must_use]
    pub fn with_changes(
        &self,
        old: &AreaIndex,
        index: &AreaIndex,
        roads: &[Road],
        roads_changed: bool,
        excluded: Arc<[ExcludedGround]>,
        changed: &std::collections::HashSet<&str>,
    ) -> TileIndex {
        let areas = index.areas();
        let kept: Vec<Option<u32>> = areas
            .iter()
            .map(|a| {
                let id = old.by_code(&a.code)?;
                let before = old.area(id);
                // A re-parented or renamed area keeps its geometry: only changed rows are compared.
                let same = layer_of(before) == layer_of(a)
                    && (!changed.contains(a.code.as_str()) || before.geometry == a.geometry);
                same.then_some(id)
            })
            .collect();
        let fresh: Vec<&Area> = areas
            .iter()
            .zip(&kept)
            .filter(|(_, o)| o.is_none())
            .map(|(a, _)| a)
            .collect();
        let mut fresh = per_area(&fresh).into_iter();
        let (points, world): (Vec<_>, Vec<_>) = kept
            .iter()
            .map(|o| match o {
                Some(id) => (self.points[*id as usize], self.world[*id as usize].clone()),
                None => fresh.next().map_or_else(
                    || (None, Arc::new(MultiPolygon(Vec::new()))),
                    |(p, w)| (p, Arc::new(w)),
                ),
            })
            .unzip();
        let carried = Carried {
            old: self,
            kept: &kept,
            roads_changed,
        };
        TileIndex::assemble(index, roads, excluded, points, world, Some(&carried))
    }

    fn assemble(
        index: &AreaIndex,
        roads: &[Road],
        excluded: Arc<[ExcludedGround]>,
        points: Vec<Option<Point<f64>>>,
        world: Vec<Arc<MultiPolygon<f64>>>,
        carried: Option<&Carried<'_>>,
    ) -> TileIndex {
        let areas = index.areas();
        let roads_layer = layer_id("roads");
        let labels_layer = layer_id("labels");
        let excluded_layer = layer_id("excluded");
        let excluded_kept = carried.filter(|c| Arc::ptr_eq(&c.old.excluded, &excluded));
        let mut per_layer: Vec<Vec<BoxEntry>> = vec![Vec::new(); LAYERS.len()];
        let mut bounds: Option<Rect<f64>> = None;
        let mut grow = |r: Rect<f64>| bounds = Some(bounds.map_or(r, |b| union_rect(b, r)));
        for (id, area) in areas.iter().enumerate() {
            if let Some(rect) = area.geometry.bounding_rect() {
                grow(rect);
                per_layer[layer_of(area)].push(rect_entry(rect, id as u32));
            }
        }
        if let Some(roads_layer) = roads_layer {
            for (i, road) in roads.iter().enumerate() {
                if let Some(rect) = road.geometry.bounding_rect() {
                    grow(rect);
                    per_layer[roads_layer].push(rect_entry(rect, i as u32));
                }
            }
        }
        if let Some(excluded_layer) = excluded_layer {
            for (i, piece) in excluded.iter().enumerate() {
                if let Some(rect) = piece.geometry.bounding_rect() {
                    grow(rect);
                    per_layer[excluded_layer].push(rect_entry(rect, i as u32));
                }
            }
        }
        let excluded_world = match excluded_kept {
            Some(c) => c.old.excluded_world.clone(),
            None => Arc::new(excluded.iter().map(|g| to_world(&g.geometry)).collect()),
        };
        let renumber = carried.and_then(Carried::renumbering);
        let boxes = per_layer
            .into_iter()
            .enumerate()
            .map(|(layer, entries)| {
                let same = carried.and_then(|c| {
                    if Some(layer) == roads_layer {
                        let old = &c.old.boxes[layer];
                        (!c.roads_changed && old.size() == entries.len()).then(|| old.clone())
                    } else if Some(layer) == excluded_layer {
                        excluded_kept.map(|c| c.old.boxes[layer].clone())
                    } else {
                        c.same_tree(&c.old.boxes[layer], &entries, renumber.as_ref())
                    }
                });
                same.unwrap_or_else(|| RTree::bulk_load(entries))
            })
            .collect();

        let mut labels: Vec<(u8, Vec<LabelEntry>)> = Vec::new();
        for (id, (area, point)) in areas.iter().zip(points.iter().copied()).enumerate() {
            let (Some(point), Some(min_zoom)) = (point, LAYERS[layer_of(area)].label_min_zoom)
            else {
                continue;
            };
            let entry = GeomWithData::new([point.x(), point.y()], id as AreaId);
            match labels.iter_mut().find(|(z, _)| *z == min_zoom) {
                Some((_, list)) => list.push(entry),
                None => labels.push((min_zoom, vec![entry])),
            }
        }
        let labels = labels
            .into_iter()
            .map(|(z, list)| {
                let same = carried.and_then(|c| {
                    let (_, old) = c.old.labels.iter().find(|(old_z, _)| *old_z == z)?;
                    c.same_tree(old, &list, renumber.as_ref())
                });
                (z, same.unwrap_or_else(|| RTree::bulk_load(list)))
            })
            .collect();
        TileIndex {
            boxes,
            labels,
            roads_layer,
            labels_layer,
            excluded_layer,
            excluded,
            excluded_world,
            bounds,
            world,
            points,
        }
    }

    /// Ids of the areas (or roads) of `layer` whose bounding box meets `query`, ascending.
    pub fn ids_in(&self, layer: LayerId, query: &AABB<[f64; 2]>) -> Vec<u32> {
        let mut ids: Vec<u32> = self.boxes[layer]
            .locate_in_envelope_intersecting(query)
            .map(|e| e.data)
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Bounds of the data (WGS-84), `None` for an empty city.
    pub fn bounds(&self) -> Option<Rect<f64>> {
        self.bounds
    }

    /// The MVT bytes of one layer of one tile; empty when the tile has no feature of that layer.
    pub fn render(
        &self,
        index: &AreaIndex,
        roads: &[Road],
        layer: LayerId,
        tile: TileCoord,
    ) -> Vec<u8> {
        let spec = &LAYERS[layer];
        if !has_content_at(spec, tile.z()) {
            return Vec::new();
        }
        let options = encode_options();
        let query = buffered_bounds(tile, options.buffer_fraction());
        let mut builder = LayerBuilder::new(spec.name, tile, options);
        if Some(layer) == self.labels_layer {
            self.add_labels(index, tile.z(), &query, &mut builder);
        } else if Some(layer) == self.excluded_layer {
            for i in self.ids_in(layer, &query) {
                let (piece, world) = (&self.excluded[i as usize], &self.excluded_world[i as usize]);
                builder.add_world_multi_polygon(
                    None,
                    world,
                    &[
                        ("name", piece.name.as_str().into()),
                        ("kind", piece.kind.as_str().into()),
                    ],
                );
            }
        } else if Some(layer) == self.roads_layer {
            let mut ids: Vec<u32> = self.boxes[layer]
                .locate_in_envelope_intersecting(&query)
                .map(|e| e.data)
                .collect();
            ids.sort_unstable();
            for i in ids {
                let road = &roads[i as usize];
                builder.add_line_string(
                    None,
                    &road.geometry,
                    &[
                        ("name", road.name.as_str().into()),
                        ("class", road.class.as_str().into()),
                    ],
                );
            }
        } else {
            let mut ids: Vec<u32> = self.boxes[layer]
                .locate_in_envelope_intersecting(&query)
                .map(|e| e.data)
                .collect();
            // Ids follow (level, code): features come in code order, the same in every tile.
            ids.sort_unstable();
            for id in ids {
                let area = index.area(id);
                with_area_attributes(area, |attrs| {
                    builder.add_world_multi_polygon(
                        Some(feature_id(&area.code)),
                        &self.world[id as usize],
                        attrs,
                    );
                });
            }
        }
        Tile::from(builder.finish()).encode()
    }

    fn add_labels(
        &self,
        index: &AreaIndex,
        z: u8,
        query: &AABB<[f64; 2]>,
        builder: &mut LayerBuilder,
    ) {
        let mut found: Vec<(AreaId, [f64; 2])> = self
            .labels
            .iter()
            .filter(|(min_zoom, _)| *min_zoom <= z)
            .flat_map(|(_, tree)| tree.locate_in_envelope(query))
            .map(|e| (e.data, *e.geom()))
            .collect();
        found.sort_unstable_by_key(|(id, _)| *id);
        for (id, [x, y]) in found {
            let area = index.area(id);
            let point = Geometry::Point(Point::new(x, y));
            let mut attrs = [
                ("code", Value::String(&area.code)),
                ("name", Value::String(&area.name)),
                ("level", Value::String(area.level.as_str())),
                ("kind", Value::String("")),
            ];
            let n = match area.kind {
                Some(kind) => {
                    attrs[3].1 = Value::String(kind.as_str());
                    4
                }
                None => 3,
            };
            // A point never fails to encode.
            let _ = builder.add_feature_with_id(feature_id(&area.code), &point, &attrs[..n]);
        }
    }
}

/// Calls `f` with an area's tile attributes: code, name, level, and kind and `parent_code` when set.
fn with_area_attributes(area: &Area, f: impl FnOnce(&[(&str, Value<'_>)])) {
    let mut attrs = [
        ("code", Value::String(&area.code)),
        ("name", Value::String(&area.name)),
        ("level", Value::String(area.level.as_str())),
        ("kind", Value::String("")),
        ("parent_code", Value::String("")),
    ];
    let mut n = 3;
    if let Some(kind) = area.kind {
        attrs[n] = ("kind", Value::String(kind.as_str()));
        n += 1;
    }
    if let Some(parent) = &area.parent {
        attrs[n] = ("parent_code", Value::String(parent));
        n += 1;
    }
    f(&attrs[..n]);
}

/// Label points and world-fraction geometries of all areas, in parallel chunks.
fn per_area(areas: &[&Area]) -> Vec<(Option<Point<f64>>, MultiPolygon<f64>)> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let chunk = areas.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = areas
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|a| (label_point(&a.geometry), to_world(&a.geometry)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("label point computation does not panic"))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// Every id of every layer and label group over the whole city, with its box or point.
    fn contents(tiles: &TileIndex, index: &AreaIndex) -> Vec<Vec<(String, [f64; 4])>> {
        let everything = AABB::from_corners([-180.0, -90.0], [180.0, 90.0]);
        let code = |id: u32, layer: usize| {
            if Some(layer) == tiles.roads_layer || Some(layer) == tiles.excluded_layer {
                id.to_string()
            } else {
                index.area(id).code.clone()
            }
        };
        let mut out: Vec<Vec<(String, [f64; 4])>> = tiles
            .boxes
            .iter()
            .enumerate()
            .map(|(layer, tree)| {
                let mut v: Vec<_> = tree
                    .locate_in_envelope_intersecting(&everything)
                    .map(|e| {
                        let env = rstar::RTreeObject::envelope(e.geom());
                        let (lo, hi) = (env.lower(), env.upper());
                        (code(e.data, layer), [lo[0], lo[1], hi[0], hi[1]])
                    })
                    .collect();
                v.sort_by(|a, b| a.0.cmp(&b.0));
                v
            })
            .collect();
        for (_, tree) in &tiles.labels {
            let mut v: Vec<_> = tree
                .iter()
                .map(|e| {
                    (
                        index.area(e.data).code.clone(),
                        [e.geom()[0], e.geom()[1], 0.0, 0.0],
                    )
                })
                .collect();
            v.sort_by(|a, b| a.0.cmp(&b.0));
            out.push(v);
        }
        out
    }

    /// Changes that keep every id (a micro-grid re-parented; two grids swapping layers), one that shifts them
    /// (a grid added before the others) and a retirement: the patched tile index holds exactly what a fresh
    /// build holds, trees carried over or not.
    #[test]
    fn a_patched_index_equals_a_fresh_build() {
        let city = gridmap_data::sample_city();
        let index = AreaIndex::build(city.areas.clone());
        let excluded: Arc<[ExcludedGround]> = city.excluded.clone().into();
        let tiles = TileIndex::build(&index, &city.roads, excluded.clone());
        let micro = city
            .areas
            .iter()
            .find(|a| a.level == Level::MicroGrid)
            .expect("a micro-grid");
        let grid = city
            .areas
            .iter()
            .find(|a| Some(&a.code) == micro.parent.as_ref())
            .expect("its grid");
        let other = city
            .areas
            .iter()
            .find(|a| a.level == Level::Grid && a.parent == grid.parent && a.code != grid.code)
            .expect("a sibling grid");

        let mut moved = micro.clone();
        moved.parent = Some(other.code.clone());
        let mut renamed = grid.clone();
        renamed.name = "改名".to_owned();
        // A grid numbered before every other: the ids of every later area move by one.
        let mut added = other.clone();
        added.code = format!("{}000", &other.code[..12]);
        // Same codes and geometries, layers swapped (as many grids and exclusive grids as before): an
        // ordinary grid made a market (专属网格), an exclusive grid made ordinary.
        let mut market = other.clone();
        market.kind = Some(gridmap_core::GridKind::Market);
        let mut ordinary = city
            .areas
            .iter()
            .find(|a| a.is_exclusive() && a.level == Level::Grid)
            .expect("an exclusive grid")
            .clone();
        ordinary.kind = Some(gridmap_core::GridKind::Residential);
        let cases: Vec<(Vec<Area>, Vec<String>)> = vec![
            (vec![moved, renamed], Vec::new()),
            (vec![market, ordinary], Vec::new()),
            (vec![added], Vec::new()),
            (Vec::new(), vec![other.code.clone()]),
        ];
        for (upserts, removed) in cases {
            let changed_codes: Vec<String> = upserts
                .iter()
                .map(|a| a.code.clone())
                .chain(removed.iter().cloned())
                .collect();
            let changed: HashSet<&str> = changed_codes.iter().map(String::as_str).collect();
            let patched_index = index.with_changes(upserts, &removed);
            let patched = tiles.with_changes(
                &index,
                &patched_index,
                &city.roads,
                false,
                excluded.clone(),
                &changed,
            );
            let fresh = TileIndex::build(&patched_index, &city.roads, excluded.clone());
            assert_eq!(
                contents(&patched, &patched_index),
                contents(&fresh, &patched_index),
                "after changing {changed_codes:?}"
            );
            assert_eq!(patched.bounds(), fresh.bounds());
        }
    }
}
