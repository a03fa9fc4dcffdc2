//! What a snapshot needs to cut vector tiles fast: per tile layer an rstar tree of area (or road) bounding
//! boxes, and every area's label point, computed once when the snapshot is built.
//!
//! A tile is cut by querying the layer's tree with the tile's bounds plus the encoder's buffer, then
//! handing the borrowed geometries to [`LayerBuilder`], which projects, clips, simplifies and quantizes.

use geo::BoundingRect;
use geo_types::{Geometry, MultiPolygon, Point, Rect};
use gridmap_core::{Area, AreaId, AreaIndex, Level, Road};
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
    GeomWithData::new(
        Rectangle::from_corners([rect.min().x, rect.min().y], [rect.max().x, rect.max().y]),
        data,
    )
}

/// Per snapshot: trees to select features per tile, and label points.
pub struct TileIndex {
    /// Per layer id: the areas (or, for `roads`, road indexes) by bounding box; empty for `labels`.
    boxes: Vec<RTree<BoxEntry>>,
    /// Per area layer with labels: (zoom from which its labels show, label points).
    labels: Vec<(u8, RTree<LabelEntry>)>,
    roads_layer: Option<LayerId>,
    labels_layer: Option<LayerId>,
    /// Bounds of all areas and roads, WGS-84.
    bounds: Option<Rect<f64>>,
    /// Every area in Web Mercator world fractions, by area id: projected once, not once per tile.
    world: Vec<MultiPolygon<f64>>,
    /// Every area's label point, by area id (kept so that a change re-labels only the changed areas).
    points: Vec<Option<Point<f64>>>,
}

impl TileIndex {
    /// Indexes the areas of `index` and `roads`. Label points (polylabel) are the slow part, so they are
    /// computed on all cores.
    pub fn build(index: &AreaIndex, roads: &[Road]) -> TileIndex {
        let all: Vec<&Area> = index.areas().iter().collect();
        let (points, world): (Vec<_>, Vec<_>) = per_area(&all).into_iter().unzip();
        TileIndex::assemble(index, roads, points, world)
    }

    /// The tile index of `index` after a change, reusing this one's label points and projected geometries of
    /// every area whose code is not in `changed` (`old` is the area index this one was built from).
    #[must_use]
    pub fn with_changes(
        &self,
        old: &AreaIndex,
        index: &AreaIndex,
        roads: &[Road],
        changed: &std::collections::HashSet<&str>,
    ) -> TileIndex {
        let areas = index.areas();
        let origin: Vec<Option<usize>> = areas
            .iter()
            .map(|a| {
                (!changed.contains(a.code.as_str()))
                    .then(|| old.by_code(&a.code))
                    .flatten()
                    .map(|id| id as usize)
            })
            .collect();
        let fresh: Vec<&Area> = areas
            .iter()
            .zip(&origin)
            .filter(|(_, o)| o.is_none())
            .map(|(a, _)| a)
            .collect();
        let mut fresh = per_area(&fresh).into_iter();
        let (points, world): (Vec<_>, Vec<_>) = origin
            .iter()
            .map(|o| match o {
                Some(id) => (self.points[*id], self.world[*id].clone()),
                None => fresh.next().unwrap_or((None, MultiPolygon(Vec::new()))),
            })
            .unzip();
        TileIndex::assemble(index, roads, points, world)
    }

    fn assemble(
        index: &AreaIndex,
        roads: &[Road],
        points: Vec<Option<Point<f64>>>,
        world: Vec<MultiPolygon<f64>>,
    ) -> TileIndex {
        let areas = index.areas();
        let roads_layer = layer_id("roads");
        let labels_layer = layer_id("labels");
        let mut per_layer: Vec<Vec<BoxEntry>> = vec![Vec::new(); LAYERS.len()];
        let mut bounds: Option<Rect<f64>> = None;
        let mut grow = |r: Rect<f64>| {
            bounds = Some(bounds.map_or(r, |b| {
                Rect::new(
                    geo_types::coord! { x: b.min().x.min(r.min().x), y: b.min().y.min(r.min().y) },
                    geo_types::coord! { x: b.max().x.max(r.max().x), y: b.max().y.max(r.max().y) },
                )
            }));
        };
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
        let boxes = per_layer.into_iter().map(RTree::bulk_load).collect();

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
        TileIndex {
            boxes,
            labels: labels
                .into_iter()
                .map(|(z, list)| (z, RTree::bulk_load(list)))
                .collect(),
            roads_layer,
            labels_layer,
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
