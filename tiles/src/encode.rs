//! Encoding features into an MVT 2.1 layer: project to tile units, clip to the tile plus a buffer,
//! simplify, quantize, fix winding, and write command integers (spec section 4.3).

use foldhash::HashMap;
use geo::BoundingRect;
use geo_types::{Coord, Geometry, LineString, MultiPolygon, Polygon};
use prost::Message;

use crate::clip::{self, ClipBox, Pt};
use crate::coord::{TileCoord, lonlat_to_world};
use crate::proto;
use crate::simplify::{self, Scratch};

/// How a tile is encoded. "Pixel" means one screen pixel of a tile drawn `pixels_per_tile` wide.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EncodeOptions {
    /// Tile units per tile side (MVT `extent`).
    pub extent: u32,
    /// Units kept outside each tile edge so that strokes and labels do not show seams.
    pub buffer: u32,
    /// Screen pixels per tile side. `MapLibre GL` draws vector tiles 512 px wide.
    pub pixels_per_tile: u32,
    /// Douglas–Peucker tolerance in pixels.
    pub simplify_px: f64,
    /// Rings (and whole polygons) with less area than this, in square pixels, are dropped.
    pub min_area_px2: f64,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        Self {
            extent: 4096,
            buffer: 64,
            pixels_per_tile: 512,
            simplify_px: 0.25,
            min_area_px2: 1.0,
        }
    }
}

impl EncodeOptions {
    /// Tile units per screen pixel (8 with the defaults).
    pub fn units_per_px(&self) -> f64 {
        f64::from(self.extent) / f64::from(self.pixels_per_tile)
    }

    /// The buffer as a fraction of the tile width, for [`crate::tile_ranges`].
    pub fn buffer_fraction(&self) -> f64 {
        f64::from(self.buffer) / f64::from(self.extent)
    }
}

/// An attribute value. Integers ≥ 0 are written as `uint_value`, negatives as `sint_value`,
/// floats as `double_value`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    String(&'a str),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(v: &'a str) -> Self {
        Value::String(v)
    }
}
impl From<i64> for Value<'_> {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<f64> for Value<'_> {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}
impl From<bool> for Value<'_> {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("a {0} cannot be one MVT feature; add its members as separate features")]
    UnsupportedGeometry(&'static str),
}

/// Builds one layer of one tile. Features are given in WGS-84 degrees.
#[derive(Debug)]
pub struct LayerBuilder {
    name: String,
    options: EncodeOptions,
    /// World fraction → tile units: `world * scale - origin`.
    scale: f64,
    origin: [f64; 2],
    clip: ClipBox,
    tolerance: f64,
    /// Twice the minimum ring area, in units², to compare with the shoelace sum.
    min_area2: f64,
    keys: Vec<String>,
    key_index: HashMap<String, u32>,
    values: Vec<proto::Value>,
    /// String values by the hash of their text, which is kept once, in `values` (a tile has a few
    /// thousand distinct codes and names).
    string_index: HashMap<u64, u32>,
    string_hasher: foldhash::fast::FixedState,
    int_index: HashMap<i64, u32>,
    float_index: HashMap<u64, u32>,
    bool_index: [Option<u32>; 2],
    features: Vec<proto::Feature>,
    scratch: Scratch,
    ring_open: Vec<Pt>,
    ring_quantized: Vec<[i32; 2]>,
}

impl LayerBuilder {
    pub fn new(name: impl Into<String>, tile: TileCoord, options: EncodeOptions) -> Self {
        let extent = f64::from(options.extent);
        let px = options.units_per_px();
        Self {
            name: name.into(),
            options,
            scale: f64::from(1u32 << tile.z()) * extent,
            origin: [f64::from(tile.x()) * extent, f64::from(tile.y()) * extent],
            clip: ClipBox {
                min: -f64::from(options.buffer),
                max: extent + f64::from(options.buffer),
            },
            tolerance: options.simplify_px * px,
            min_area2: 2.0 * options.min_area_px2 * px * px,
            keys: Vec::new(),
            key_index: HashMap::default(),
            values: Vec::new(),
            string_index: HashMap::default(),
            string_hasher: foldhash::fast::FixedState::default(),
            int_index: HashMap::default(),
            float_index: HashMap::default(),
            bool_index: [None, None],
            features: Vec::new(),
            scratch: Scratch::default(),
            ring_open: Vec::new(),
            ring_quantized: Vec::new(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn options(&self) -> &EncodeOptions {
        &self.options
    }

    /// Features added so far that have something in this tile.
    pub fn len(&self) -> usize {
        self.features.len()
    }
    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    /// Adds a feature without an id. Returns `Ok(false)` when nothing of it is left in the tile
    /// (outside the buffered tile, or smaller than a pixel).
    pub fn add_feature(
        &mut self,
        geometry: &Geometry<f64>,
        attributes: &[(&str, Value<'_>)],
    ) -> Result<bool, EncodeError> {
        self.add(None, geometry, attributes)
    }

    /// As [`Self::add_feature`], with an MVT feature id (`MapLibre` uses it for hover state).
    pub fn add_feature_with_id(
        &mut self,
        id: u64,
        geometry: &Geometry<f64>,
        attributes: &[(&str, Value<'_>)],
    ) -> Result<bool, EncodeError> {
        self.add(Some(id), geometry, attributes)
    }

    fn add(
        &mut self,
        id: Option<u64>,
        geometry: &Geometry<f64>,
        attributes: &[(&str, Value<'_>)],
    ) -> Result<bool, EncodeError> {
        if !self.bbox_may_touch(geometry) {
            return Ok(false);
        }
        let mut writer = CommandWriter::default();
        let kind = match geometry {
            Geometry::Point(p) => {
                self.write_points(&mut writer, std::iter::once(p.0));
                proto::GeomType::Point
            }
            Geometry::MultiPoint(mp) => {
                self.write_points(&mut writer, mp.iter().map(|p| p.0));
                proto::GeomType::Point
            }
            Geometry::Line(l) => {
                self.write_line(&mut writer, &[l.start, l.end]);
                proto::GeomType::Linestring
            }
            Geometry::LineString(ls) => {
                self.write_line(&mut writer, &ls.0);
                proto::GeomType::Linestring
            }
            Geometry::MultiLineString(mls) => {
                for ls in mls {
                    self.write_line(&mut writer, &ls.0);
                }
                proto::GeomType::Linestring
            }
            Geometry::Polygon(p) => {
                self.write_polygon(&mut writer, p);
                proto::GeomType::Polygon
            }
            Geometry::MultiPolygon(mp) => {
                for p in mp {
                    self.write_polygon(&mut writer, p);
                }
                proto::GeomType::Polygon
            }
            Geometry::Rect(r) => {
                self.write_polygon(&mut writer, &r.to_polygon());
                proto::GeomType::Polygon
            }
            Geometry::Triangle(t) => {
                self.write_polygon(&mut writer, &t.to_polygon());
                proto::GeomType::Polygon
            }
            Geometry::GeometryCollection(_) => {
                return Err(EncodeError::UnsupportedGeometry("GeometryCollection"));
            }
        };
        Ok(self.push_feature(id, kind, writer, attributes))
    }

    /// Adds a borrowed multipolygon (no [`Geometry`] to build, for servers that keep areas as
    /// multipolygons). The caller has already selected it by bbox, so there is no bbox test here.
    /// Returns false when nothing of it is left in the tile.
    pub fn add_multi_polygon(
        &mut self,
        id: Option<u64>,
        polygons: &MultiPolygon<f64>,
        attributes: &[(&str, Value<'_>)],
    ) -> bool {
        let mut writer = CommandWriter::default();
        for p in polygons {
            self.write_polygon(&mut writer, p);
        }
        self.push_feature(id, proto::GeomType::Polygon, writer, attributes)
    }

    /// As [`Self::add_multi_polygon`], for a multipolygon already in world fractions (see
    /// [`crate::to_world`]): servers that cut many tiles from the same areas project them once.
    pub fn add_world_multi_polygon(
        &mut self,
        id: Option<u64>,
        polygons: &MultiPolygon<f64>,
        attributes: &[(&str, Value<'_>)],
    ) -> bool {
        let mut writer = CommandWriter::default();
        for p in polygons {
            self.write_polygon_in(&mut writer, p, Frame::World);
        }
        self.push_feature(id, proto::GeomType::Polygon, writer, attributes)
    }

    /// Adds a borrowed line, as [`Self::add_multi_polygon`].
    pub fn add_line_string(
        &mut self,
        id: Option<u64>,
        line: &LineString<f64>,
        attributes: &[(&str, Value<'_>)],
    ) -> bool {
        let mut writer = CommandWriter::default();
        self.write_line(&mut writer, &line.0);
        self.push_feature(id, proto::GeomType::Linestring, writer, attributes)
    }

    fn push_feature(
        &mut self,
        id: Option<u64>,
        kind: proto::GeomType,
        writer: CommandWriter,
        attributes: &[(&str, Value<'_>)],
    ) -> bool {
        if writer.out.is_empty() {
            return false;
        }
        let mut tags = Vec::with_capacity(attributes.len() * 2);
        for (key, value) in attributes {
            tags.push(self.key(key));
            tags.push(self.value(*value));
        }
        self.features.push(proto::Feature {
            id,
            tags,
            r#type: Some(kind as i32),
            geometry: writer.out,
        });
        true
    }

    /// Finishes the layer (MVT version 2).
    pub fn finish(self) -> proto::Layer {
        proto::Layer {
            version: 2,
            name: self.name,
            features: self.features,
            keys: self.keys,
            values: self.values,
            extent: Some(self.options.extent),
        }
    }

    fn key(&mut self, key: &str) -> u32 {
        if let Some(i) = self.key_index.get(key) {
            return *i;
        }
        let i = self.keys.len() as u32;
        self.keys.push(key.to_owned());
        self.key_index.insert(key.to_owned(), i);
        i
    }

    /// The index of string value `s`, registering its hash when new (the first string keeps a hash;
    /// on the rare collision the value is found, or added, by a scan).
    fn find_string(&mut self, s: &str) -> Option<u32> {
        use std::hash::BuildHasher;
        let hash = self.string_hasher.hash_one(s);
        let is = |v: &proto::Value| v.string_value.as_deref() == Some(s);
        match self.string_index.get(&hash) {
            Some(&i) if is(&self.values[i as usize]) => Some(i),
            Some(_) => self.values.iter().position(is).map(|i| i as u32),
            None => {
                self.string_index.insert(hash, self.values.len() as u32);
                None
            }
        }
    }

    fn value(&mut self, value: Value<'_>) -> u32 {
        let next = self.values.len() as u32;
        let (index, message) = match value {
            Value::String(s) => {
                if let Some(i) = self.find_string(s) {
                    return i;
                }
                (
                    next,
                    proto::Value {
                        string_value: Some(s.to_owned()),
                        ..Default::default()
                    },
                )
            }
            Value::Int(v) => {
                let i = *self.int_index.entry(v).or_insert(next);
                let message = if v >= 0 {
                    proto::Value {
                        uint_value: Some(v.unsigned_abs()),
                        ..Default::default()
                    }
                } else {
                    proto::Value {
                        sint_value: Some(v),
                        ..Default::default()
                    }
                };
                (i, message)
            }
            Value::Float(v) => {
                // Keyed by bits: 0.0 and -0.0 are distinct values here, which is harmless.
                let i = *self.float_index.entry(v.to_bits()).or_insert(next);
                let message = proto::Value {
                    double_value: Some(v),
                    ..Default::default()
                };
                (i, message)
            }
            Value::Bool(v) => {
                let slot = &mut self.bool_index[usize::from(v)];
                let i = *slot.get_or_insert(next);
                let message = proto::Value {
                    bool_value: Some(v),
                    ..Default::default()
                };
                (i, message)
            }
        };
        if index == next {
            self.values.push(message);
        }
        index
    }

    fn project(&self, c: Coord<f64>) -> Pt {
        let (wx, wy) = lonlat_to_world(c.x, c.y);
        self.scale_world(Coord { x: wx, y: wy })
    }

    /// World fractions → tile units.
    fn scale_world(&self, c: Coord<f64>) -> Pt {
        [
            c.x * self.scale - self.origin[0],
            c.y * self.scale - self.origin[1],
        ]
    }

    /// Cheap rejection of geometries whose bbox misses the buffered tile.
    fn bbox_may_touch(&self, geometry: &Geometry<f64>) -> bool {
        let Some(rect) = geometry.bounding_rect() else {
            return false;
        };
        // North-west and south-east corners: tile y grows southwards.
        let nw = self.project(Coord {
            x: rect.min().x,
            y: rect.max().y,
        });
        let se = self.project(Coord {
            x: rect.max().x,
            y: rect.min().y,
        });
        !(se[0] < self.clip.min
            || nw[0] > self.clip.max
            || se[1] < self.clip.min
            || nw[1] > self.clip.max)
    }

    fn write_points(&self, writer: &mut CommandWriter, points: impl Iterator<Item = Coord<f64>>) {
        let kept: Vec<[i32; 2]> = points
            .map(|c| self.project(c))
            .filter(|p| {
                (self.clip.min..=self.clip.max).contains(&p[0])
                    && (self.clip.min..=self.clip.max).contains(&p[1])
            })
            .map(quantize)
            .collect();
        if !kept.is_empty() {
            writer.move_to_many(&kept);
        }
    }

    fn write_line(&mut self, writer: &mut CommandWriter, coords: &[Coord<f64>]) {
        let projected: Vec<Pt> = coords.iter().map(|c| self.project(*c)).collect();
        for mut part in clip::clip_line(&projected, self.clip) {
            self.simplify(&mut part);
            let pts = dedup_quantized(&part);
            if pts.len() >= 2 {
                writer.move_to(pts[0]);
                writer.line_to(&pts[1..]);
            }
        }
    }

    fn write_polygon(&mut self, writer: &mut CommandWriter, polygon: &Polygon<f64>) {
        self.write_polygon_in(writer, polygon, Frame::LonLat);
    }

    fn write_polygon_in(
        &mut self,
        writer: &mut CommandWriter,
        polygon: &Polygon<f64>,
        frame: Frame,
    ) {
        if !self.write_ring(writer, polygon.exterior(), true, frame) {
            return; // holes of a dropped exterior go with it
        }
        for hole in polygon.interiors() {
            self.write_ring(writer, hole, false, frame);
        }
    }

    /// Project, clip, simplify, quantize and orient one ring, then write it open (no closing
    /// point); false when nothing was left. Exteriors get positive area by the spec's surveyor's
    /// formula in tile coordinates (y down), holes negative. Works in reused buffers: a tile cuts
    /// thousands of rings.
    fn write_ring(
        &mut self,
        writer: &mut CommandWriter,
        ring: &LineString<f64>,
        exterior: bool,
        frame: Frame,
    ) -> bool {
        let mut open = std::mem::take(&mut self.ring_open);
        open.clear();
        match frame {
            Frame::LonLat => open.extend(ring.0.iter().map(|c| self.project(*c))),
            Frame::World => open.extend(ring.0.iter().map(|c| self.scale_world(*c))),
        }
        if open.len() >= 2 && open.first() == open.last() {
            open.pop();
        }
        let written = if self.clip.contains_all(&open) {
            self.finish_ring(writer, &mut open, exterior)
        } else {
            let mut clipped = clip::clip_ring(&open, self.clip);
            self.finish_ring(writer, &mut clipped, exterior)
        };
        self.ring_open = open;
        written
    }

    /// The rest of [`Self::write_ring`] on a clipped open ring.
    fn finish_ring(
        &mut self,
        writer: &mut CommandWriter,
        ring: &mut Vec<Pt>,
        exterior: bool,
    ) -> bool {
        if ring.len() < 3 {
            return false;
        }
        ring.push(ring[0]);
        self.simplify(ring);
        let pts = &mut self.ring_quantized;
        pts.clear();
        pts.extend(ring.iter().map(|p| quantize(*p)));
        pts.dedup();
        if pts.len() >= 2 && pts.first() == pts.last() {
            pts.pop();
        }
        if pts.len() < 3 {
            return false;
        }
        let area2 = shoelace2(pts);
        if (area2.abs() as f64) < self.min_area2 {
            return false;
        }
        if (area2 > 0) != exterior {
            pts.reverse();
        }
        writer.ring(pts);
        true
    }

    fn simplify(&mut self, pts: &mut Vec<Pt>) {
        if pts.len() > 3 {
            simplify::douglas_peucker(pts, self.tolerance, &mut self.scratch);
        }
    }
}

/// The coordinates a geometry is given in.
#[derive(Debug, Clone, Copy)]
enum Frame {
    /// WGS-84 degrees.
    LonLat,
    /// Fractions of the Web Mercator world square, x east and y south (see [`crate::to_world`]).
    World,
}

fn quantize(p: Pt) -> [i32; 2] {
    [p[0].round() as i32, p[1].round() as i32]
}

/// Quantize and drop consecutive repeats.
fn dedup_quantized(pts: &[Pt]) -> Vec<[i32; 2]> {
    let mut out: Vec<[i32; 2]> = pts.iter().map(|p| quantize(*p)).collect();
    out.dedup();
    out
}

/// Twice the signed area by the surveyor's formula, over an open ring.
fn shoelace2(pts: &[[i32; 2]]) -> i64 {
    let n = pts.len();
    (0..n)
        .map(|i| {
            let (a, b) = (pts[i], pts[(i + 1) % n]);
            i64::from(a[0]) * i64::from(b[1]) - i64::from(b[0]) * i64::from(a[1])
        })
        .sum()
}

const MOVE_TO: u32 = 1;
const LINE_TO: u32 = 2;
const CLOSE_PATH: u32 = 7;

/// Writes command integers with a cursor carried across parts (spec 4.3.1–4.3.3).
#[derive(Default)]
struct CommandWriter {
    out: Vec<u32>,
    cursor: [i32; 2],
}

impl CommandWriter {
    fn command(&mut self, id: u32, count: usize) {
        self.out.push((id & 0x7) | ((count as u32) << 3));
    }

    fn delta(&mut self, p: [i32; 2]) {
        self.out.push(zigzag(p[0] - self.cursor[0]));
        self.out.push(zigzag(p[1] - self.cursor[1]));
        self.cursor = p;
    }

    fn move_to(&mut self, p: [i32; 2]) {
        self.command(MOVE_TO, 1);
        self.delta(p);
    }

    fn move_to_many(&mut self, pts: &[[i32; 2]]) {
        self.command(MOVE_TO, pts.len());
        for p in pts {
            self.delta(*p);
        }
    }

    fn line_to(&mut self, pts: &[[i32; 2]]) {
        self.command(LINE_TO, pts.len());
        for p in pts {
            self.delta(*p);
        }
    }

    /// An open ring: `MoveTo`, `LineTo` the rest, `ClosePath`.
    fn ring(&mut self, pts: &[[i32; 2]]) {
        self.move_to(pts[0]);
        self.line_to(&pts[1..]);
        self.command(CLOSE_PATH, 1);
    }
}

fn zigzag(n: i32) -> u32 {
    ((n << 1) ^ (n >> 31)) as u32
}

/// A whole tile: several layers. Empty layers are left out, so a tile with no features encodes to
/// zero bytes (the server answers 204).
///
/// Protobuf concatenation merges repeated fields, so the bytes of several single-layer tiles
/// concatenated are the composite tile: the server may cache per-layer bytes and join them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tile {
    inner: proto::Tile,
}

impl Tile {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a finished layer; a layer with no features is skipped.
    pub fn push(&mut self, layer: proto::Layer) {
        if !layer.features.is_empty() {
            self.inner.layers.push(layer);
        }
    }

    pub fn layers(&self) -> &[proto::Layer] {
        &self.inner.layers
    }

    /// True when no layer has a feature.
    pub fn is_empty(&self) -> bool {
        self.inner.layers.is_empty()
    }

    /// The MVT bytes (uncompressed).
    pub fn encode(&self) -> Vec<u8> {
        self.inner.encode_to_vec()
    }
}

impl From<proto::Layer> for Tile {
    fn from(layer: proto::Layer) -> Self {
        let mut tile = Tile::new();
        tile.push(layer);
        tile
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zigzag_matches_the_spec_table() {
        // Spec 4.3.2: 0→0, -1→1, 1→2, -2→3, 2→4.
        let got: Vec<u32> = [0, -1, 1, -2, 2].into_iter().map(zigzag).collect();
        assert_eq!(got, vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn command_integers_match_the_spec_examples() {
        // Spec 4.3.5.1: a point at (25, 17) is [9, 50, 34].
        let mut w = CommandWriter::default();
        w.move_to_many(&[[25, 17]]);
        assert_eq!(w.out, vec![9, 50, 34]);
        // Spec 4.3.5.3 (linestring): MoveTo(2,2) LineTo(2,10) LineTo(10,10).
        let mut w = CommandWriter::default();
        w.move_to([2, 2]);
        w.line_to(&[[2, 10], [10, 10]]);
        assert_eq!(w.out, vec![9, 4, 4, 18, 0, 16, 16, 0]);
        // Spec 4.3.5.5 (polygon): MoveTo(3,6) LineTo(8,12) LineTo(20,34) ClosePath.
        let mut w = CommandWriter::default();
        w.ring(&[[3, 6], [8, 12], [20, 34]]);
        assert_eq!(w.out, vec![9, 6, 12, 18, 10, 12, 24, 44, 15]);
    }
}
