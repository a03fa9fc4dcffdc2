//! An MVT decoder for the tests, independent of the encoder (copied from `tiles/tests/support`): it parses
//! protobuf wire format by hand and replays geometry commands. Also an independent Web Mercator projection
//! and the reference clip (geo `BooleanOps`) tiles are compared against.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use std::fmt::Write as _;

use geo::{Area, BooleanOps, Coord, LineString, MultiPolygon, Polygon};

// ---------- protobuf wire format ----------

enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed64(u64),
    Fixed32(u32),
}

fn varint(buf: &[u8], pos: &mut usize) -> u64 {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = buf[*pos];
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return value;
        }
    }
    panic!("varint longer than 10 bytes");
}

fn fields(buf: &[u8]) -> Vec<(u64, Field<'_>)> {
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < buf.len() {
        let key = varint(buf, &mut pos);
        let (number, wire) = (key >> 3, key & 7);
        let field = match wire {
            0 => Field::Varint(varint(buf, &mut pos)),
            1 => {
                let v = u64::from_le_bytes(buf[pos..pos + 8].try_into().unwrap());
                pos += 8;
                Field::Fixed64(v)
            }
            2 => {
                let len = usize::try_from(varint(buf, &mut pos)).unwrap();
                let bytes = &buf[pos..pos + len];
                pos += len;
                Field::Bytes(bytes)
            }
            5 => {
                let v = u32::from_le_bytes(buf[pos..pos + 4].try_into().unwrap());
                pos += 4;
                Field::Fixed32(v)
            }
            other => panic!("unexpected wire type {other}"),
        };
        out.push((number, field));
    }
    out
}

fn packed_u32(field: &Field<'_>, into: &mut Vec<u32>) {
    match field {
        Field::Bytes(b) => {
            let mut pos = 0;
            while pos < b.len() {
                into.push(u32::try_from(varint(b, &mut pos)).unwrap());
            }
        }
        Field::Varint(v) => into.push(u32::try_from(*v).unwrap()),
        _ => panic!("bad wire type for a repeated uint32"),
    }
}

// ---------- MVT messages ----------

#[derive(Debug, Clone, PartialEq)]
pub enum DValue {
    Str(String),
    Float(f32),
    Double(f64),
    Int(i64),
    UInt(u64),
    SInt(i64),
    Bool(bool),
}

#[derive(Debug, Clone)]
pub struct DFeature {
    pub id: Option<u64>,
    pub tags: Vec<u32>,
    pub geom_type: u64,
    pub commands: Vec<u32>,
}

#[derive(Debug, Clone)]
pub struct DLayer {
    pub version: u64,
    pub name: String,
    pub extent: u64,
    pub keys: Vec<String>,
    pub values: Vec<DValue>,
    pub features: Vec<DFeature>,
}

pub fn decode_tile(buf: &[u8]) -> Vec<DLayer> {
    fields(buf)
        .into_iter()
        .map(|(n, f)| match (n, f) {
            (3, Field::Bytes(b)) => decode_layer(b),
            (n, _) => panic!("unexpected tile field {n}"),
        })
        .collect()
}

fn decode_layer(buf: &[u8]) -> DLayer {
    let mut layer = DLayer {
        version: 1,
        name: String::new(),
        extent: 4096,
        keys: vec![],
        values: vec![],
        features: vec![],
    };
    for (n, f) in fields(buf) {
        match (n, f) {
            (15, Field::Varint(v)) => layer.version = v,
            (1, Field::Bytes(b)) => layer.name = String::from_utf8(b.to_vec()).unwrap(),
            (2, Field::Bytes(b)) => layer.features.push(decode_feature(b)),
            (3, Field::Bytes(b)) => layer.keys.push(String::from_utf8(b.to_vec()).unwrap()),
            (4, Field::Bytes(b)) => layer.values.push(decode_value(b)),
            (5, Field::Varint(v)) => layer.extent = v,
            (n, _) => panic!("unexpected layer field {n}"),
        }
    }
    layer
}

fn decode_value(buf: &[u8]) -> DValue {
    let fs = fields(buf);
    assert_eq!(fs.len(), 1, "a Value must have exactly one field");
    match &fs[0] {
        (1, Field::Bytes(b)) => DValue::Str(String::from_utf8(b.to_vec()).unwrap()),
        (2, Field::Fixed32(v)) => DValue::Float(f32::from_bits(*v)),
        (3, Field::Fixed64(v)) => DValue::Double(f64::from_bits(*v)),
        (4, Field::Varint(v)) => DValue::Int(*v as i64),
        (5, Field::Varint(v)) => DValue::UInt(*v),
        (6, Field::Varint(v)) => DValue::SInt(((v >> 1) as i64) ^ -((v & 1) as i64)),
        (7, Field::Varint(v)) => DValue::Bool(*v != 0),
        (n, _) => panic!("unexpected value field {n}"),
    }
}

fn decode_feature(buf: &[u8]) -> DFeature {
    let mut feature = DFeature {
        id: None,
        tags: vec![],
        geom_type: 0,
        commands: vec![],
    };
    for (n, f) in fields(buf) {
        match n {
            1 => {
                let Field::Varint(v) = f else { panic!("id") };
                feature.id = Some(v);
            }
            2 => packed_u32(&f, &mut feature.tags),
            3 => {
                let Field::Varint(v) = f else { panic!("type") };
                feature.geom_type = v;
            }
            4 => packed_u32(&f, &mut feature.commands),
            n => panic!("unexpected feature field {n}"),
        }
    }
    feature
}

impl DLayer {
    /// A feature's attributes as (key, value) pairs.
    pub fn attributes(&self, f: &DFeature) -> Vec<(String, DValue)> {
        assert_eq!(f.tags.len() % 2, 0, "odd tag count");
        f.tags
            .chunks(2)
            .map(|kv| {
                (
                    self.keys[kv[0] as usize].clone(),
                    self.values[kv[1] as usize].clone(),
                )
            })
            .collect()
    }
}

// ---------- geometry commands ----------

/// The parts of a feature: points (each part one point), lines, or open rings (polygon rings,
/// without the closing point). Panics on any command sequence the spec forbids.
pub fn replay(f: &DFeature) -> Vec<Vec<(i64, i64)>> {
    let (mut x, mut y) = (0i64, 0i64);
    let mut parts: Vec<Vec<(i64, i64)>> = Vec::new();
    let mut i = 0;
    let cmds = &f.commands;
    let param = |v: u32| i64::from((v >> 1) as i32 ^ -((v & 1) as i32));
    while i < cmds.len() {
        let (id, count) = (cmds[i] & 7, cmds[i] >> 3);
        i += 1;
        match id {
            1 => {
                assert!(count >= 1, "MoveTo with count 0");
                if f.geom_type != 1 {
                    assert_eq!(count, 1, "MoveTo count must be 1 for lines and polygons");
                }
                for _ in 0..count {
                    x += param(cmds[i]);
                    y += param(cmds[i + 1]);
                    i += 2;
                    parts.push(vec![(x, y)]);
                }
            }
            2 => {
                assert!(
                    f.geom_type == 2 || f.geom_type == 3,
                    "LineTo in a point feature"
                );
                assert!(count >= 1, "LineTo with count 0");
                let part = parts.last_mut().expect("LineTo before MoveTo");
                for _ in 0..count {
                    let (dx, dy) = (param(cmds[i]), param(cmds[i + 1]));
                    assert!(
                        dx != 0 || dy != 0,
                        "LineTo to the same point (repeated point)"
                    );
                    x += dx;
                    y += dy;
                    i += 2;
                    part.push((x, y));
                }
            }
            7 => {
                assert_eq!(f.geom_type, 3, "ClosePath outside a polygon");
                assert_eq!(count, 1);
            }
            other => panic!("unknown command {other}"),
        }
    }
    parts
}

/// Twice the signed area by the spec's surveyor's formula (tile coords, y down).
pub fn area2(ring: &[(i64, i64)]) -> i64 {
    let n = ring.len();
    (0..n)
        .map(|k| {
            let (a, b) = (ring[k], ring[(k + 1) % n]);
            a.0 * b.1 - b.0 * a.1
        })
        .sum()
}

/// Groups rings into polygons by the spec (4.3.4.4): a positive-area ring starts a polygon, negative
/// rings are its holes. Panics when a polygon feature starts with a hole or has a zero-area ring.
pub fn polygons(rings: &[Vec<(i64, i64)>]) -> MultiPolygon<f64> {
    let mut out: Vec<(Vec<(i64, i64)>, Vec<Vec<(i64, i64)>>)> = Vec::new();
    for ring in rings {
        let a = area2(ring);
        assert!(a != 0, "zero-area ring {ring:?}");
        if a > 0 {
            out.push((ring.clone(), vec![]));
        } else {
            out.last_mut()
                .expect("polygon starts with a hole")
                .1
                .push(ring.clone());
        }
    }
    let ls = |r: &Vec<(i64, i64)>| -> LineString<f64> {
        r.iter()
            .map(|&(x, y)| Coord {
                x: x as f64,
                y: y as f64,
            })
            .collect()
    };
    MultiPolygon(
        out.iter()
            .map(|(e, holes)| Polygon::new(ls(e), holes.iter().map(ls).collect()))
            .collect(),
    )
}

// ---------- independent projection and reference clipping ----------

/// WGS-84 → tile units via the textbook ln(tan(π/4 + φ/2)) form (the crate uses asinh(tan φ)).
pub fn to_tile_units(lon: f64, lat: f64, z: u8, x: u32, y: u32, extent: f64) -> (f64, f64) {
    let n = 2f64.powi(i32::from(z));
    let wx = (lon + 180.0) / 360.0;
    let phi = lat.to_radians();
    let wy =
        0.5 - (std::f64::consts::FRAC_PI_4 + phi / 2.0).tan().ln() / (2.0 * std::f64::consts::PI);
    (
        (wx * n - f64::from(x)) * extent,
        (wy * n - f64::from(y)) * extent,
    )
}

/// The source projected to the tile and intersected (geo BooleanOps) with the buffered tile box.
pub fn reference_clip(
    source: &MultiPolygon<f64>,
    z: u8,
    x: u32,
    y: u32,
    extent: f64,
    buffer: f64,
) -> MultiPolygon<f64> {
    let projected = MultiPolygon(
        source
            .iter()
            .map(|p| {
                let ring = |ls: &LineString<f64>| -> LineString<f64> {
                    ls.coords()
                        .map(|c| {
                            let (tx, ty) = to_tile_units(c.x, c.y, z, x, y, extent);
                            Coord { x: tx, y: ty }
                        })
                        .collect()
                };
                Polygon::new(ring(p.exterior()), p.interiors().iter().map(ring).collect())
            })
            .collect(),
    );
    let (lo, hi) = (-buffer, extent + buffer);
    let clip_box = Polygon::new(
        LineString::from(vec![(lo, lo), (hi, lo), (hi, hi), (lo, hi), (lo, lo)]),
        vec![],
    );
    projected.intersection(&MultiPolygon(vec![clip_box]))
}

/// Largest distance from any vertex of `a` to the boundary of `b`, skipping vertices for which
/// `skip` is true.
pub fn max_vertex_distance(
    a: &MultiPolygon<f64>,
    b: &MultiPolygon<f64>,
    skip: impl Fn(Coord<f64>) -> bool,
) -> f64 {
    let segments: Vec<(Coord<f64>, Coord<f64>)> = b
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .flat_map(|r| r.lines().map(|l| (l.start, l.end)))
        .collect();
    let mut worst: f64 = 0.0;
    for p in a
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
    {
        for c in p.coords().filter(|c| !skip(**c)) {
            let d = segments
                .iter()
                .map(|&(s, e)| point_segment_distance(*c, s, e))
                .fold(f64::INFINITY, f64::min);
            worst = worst.max(d);
        }
    }
    worst
}

fn point_segment_distance(p: Coord<f64>, a: Coord<f64>, b: Coord<f64>) -> f64 {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let len2 = dx * dx + dy * dy;
    let t = if len2 == 0.0 {
        0.0
    } else {
        (((p.x - a.x) * dx + (p.y - a.y) * dy) / len2).clamp(0.0, 1.0)
    };
    ((p.x - a.x - t * dx).powi(2) + (p.y - a.y - t * dy).powi(2)).sqrt()
}

/// Area of the symmetric difference.
pub fn xor_area(a: &MultiPolygon<f64>, b: &MultiPolygon<f64>) -> f64 {
    a.xor(b).unsigned_area()
}

/// A readable dump of a decoded tile for snapshots.
pub fn dump(layers: &[DLayer]) -> String {
    let mut s = String::new();
    for layer in layers {
        writeln!(
            s,
            "layer {} v{} extent {}",
            layer.name, layer.version, layer.extent
        )
        .unwrap();
        for f in &layer.features {
            let kind = ["unknown", "point", "line", "polygon"][f.geom_type as usize];
            writeln!(s, "  feature id={:?} {kind}", f.id).unwrap();
            for (k, v) in layer.attributes(f) {
                writeln!(s, "    {k} = {v:?}").unwrap();
            }
            for part in replay(f) {
                let tag = if f.geom_type == 3 {
                    if area2(&part) > 0 { "exterior" } else { "hole" }
                } else {
                    "part"
                };
                let pts: Vec<String> = part.iter().map(|(x, y)| format!("{x},{y}")).collect();
                writeln!(s, "    {tag}: {}", pts.join(" ")).unwrap();
            }
        }
    }
    s
}
