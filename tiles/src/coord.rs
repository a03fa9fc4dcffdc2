//! Tile addressing (XYZ scheme, y = 0 at the north edge) and Web Mercator (EPSG:3857).

use std::ops::RangeInclusive;

use geo_types::{Rect, coord};

/// The highest zoom served. `MapLibre GL` renders up to 22 (and overzooms beyond the source maxzoom).
pub const MAX_ZOOM: u8 = 22;

/// WGS-84 semi-major axis, the sphere radius used by Web Mercator.
pub const EARTH_RADIUS_M: f64 = 6_378_137.0;

/// Half the width of the Web Mercator square, in metres (π·R).
pub const MERCATOR_HALF_WIDTH_M: f64 = std::f64::consts::PI * EARTH_RADIUS_M;

/// The latitude where Web Mercator's square ends: atan(sinh(π)).
pub const MAX_LATITUDE_DEG: f64 = 85.051_128_779_806_59;

/// Why a tile address is invalid. `field()` names the offending path parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TileError {
    #[error("z = {z} is out of range: zoom must be 0..={MAX_ZOOM}")]
    ZoomOutOfRange { z: u32 },
    #[error("x = {x} is out of range: at zoom {z} x must be 0..{limit}")]
    XOutOfRange { z: u8, x: u32, limit: u32 },
    #[error("y = {y} is out of range: at zoom {z} y must be 0..{limit}")]
    YOutOfRange { z: u8, y: u32, limit: u32 },
}

impl TileError {
    /// The name of the invalid field: `"z"`, `"x"` or `"y"`.
    pub fn field(&self) -> &'static str {
        match self {
            TileError::ZoomOutOfRange { .. } => "z",
            TileError::XOutOfRange { .. } => "x",
            TileError::YOutOfRange { .. } => "y",
        }
    }
}

/// A valid tile address: `z <= MAX_ZOOM`, `x, y < 2^z`. Fields are private so every value is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileCoord {
    z: u8,
    x: u32,
    y: u32,
}

impl TileCoord {
    pub fn new(z: u32, x: u32, y: u32) -> Result<Self, TileError> {
        let z = u8::try_from(z)
            .ok()
            .filter(|z| *z <= MAX_ZOOM)
            .ok_or(TileError::ZoomOutOfRange { z })?;
        let limit = 1u32 << z;
        if x >= limit {
            return Err(TileError::XOutOfRange { z, x, limit });
        }
        if y >= limit {
            return Err(TileError::YOutOfRange { z, y, limit });
        }
        Ok(Self { z, x, y })
    }

    pub fn z(self) -> u8 {
        self.z
    }
    pub fn x(self) -> u32 {
        self.x
    }
    pub fn y(self) -> u32 {
        self.y
    }

    /// The tile at zoom `z` containing a WGS-84 point (clamped to the Mercator square).
    pub fn containing(lon: f64, lat: f64, z: u8) -> Result<Self, TileError> {
        if z > MAX_ZOOM {
            return Err(TileError::ZoomOutOfRange { z: u32::from(z) });
        }
        let (fx, fy) = lonlat_to_world(lon, lat);
        let n = f64::from(1u32 << z);
        let max = (1u32 << z) - 1;
        let x = ((fx * n).floor().max(0.0) as u32).min(max);
        let y = ((fy * n).floor().max(0.0) as u32).min(max);
        Ok(Self { z, x, y })
    }

    /// Width (= height) of this tile in Web Mercator metres.
    pub fn size_m(self) -> f64 {
        2.0 * MERCATOR_HALF_WIDTH_M / f64::from(1u32 << self.z)
    }

    /// Bounds in Web Mercator metres (min = south-west).
    pub fn bounds_mercator(self) -> Rect<f64> {
        let size_m = self.size_m();
        let min_x = -MERCATOR_HALF_WIDTH_M + f64::from(self.x) * size_m;
        let max_y = MERCATOR_HALF_WIDTH_M - f64::from(self.y) * size_m;
        Rect::new(
            coord! { x: min_x, y: max_y - size_m },
            coord! { x: min_x + size_m, y: max_y },
        )
    }

    /// Bounds in WGS-84 degrees (x = lon, y = lat; min = south-west).
    pub fn bounds_lonlat(self) -> Rect<f64> {
        let merc = self.bounds_mercator();
        let (west, south) = mercator_to_lonlat(merc.min().x, merc.min().y);
        let (east, north) = mercator_to_lonlat(merc.max().x, merc.max().y);
        Rect::new(coord! { x: west, y: south }, coord! { x: east, y: north })
    }
}

impl std::fmt::Display for TileCoord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.z, self.x, self.y)
    }
}

/// WGS-84 degrees → Web Mercator metres. Latitude is clamped to ±`MAX_LATITUDE_DEG`.
pub fn lonlat_to_mercator(lon: f64, lat: f64) -> (f64, f64) {
    let lat = lat.clamp(-MAX_LATITUDE_DEG, MAX_LATITUDE_DEG).to_radians();
    let x_m = EARTH_RADIUS_M * lon.to_radians();
    let y_m = EARTH_RADIUS_M * lat.tan().asinh();
    (x_m, y_m)
}

/// Web Mercator metres → WGS-84 degrees.
pub fn mercator_to_lonlat(x_m: f64, y_m: f64) -> (f64, f64) {
    let lon = (x_m / EARTH_RADIUS_M).to_degrees();
    let lat = (y_m / EARTH_RADIUS_M).sinh().atan().to_degrees();
    (lon, lat)
}

/// A WGS-84 multipolygon in fractions of the Web Mercator world square (x east, y south, both 0..1),
/// for [`crate::LayerBuilder::add_world_multi_polygon`].
pub fn to_world(polygons: &geo_types::MultiPolygon<f64>) -> geo_types::MultiPolygon<f64> {
    use geo::MapCoords;
    polygons.map_coords(|c| {
        let (x, y) = lonlat_to_world(c.x, c.y);
        geo_types::Coord { x, y }
    })
}

/// WGS-84 degrees → fraction of the world square, x east and y south, both 0..1.
pub(crate) fn lonlat_to_world(lon: f64, lat: f64) -> (f64, f64) {
    let (x_m, y_m) = lonlat_to_mercator(lon, lat);
    let size = 2.0 * MERCATOR_HALF_WIDTH_M;
    (
        (x_m + MERCATOR_HALF_WIDTH_M) / size,
        (MERCATOR_HALF_WIDTH_M - y_m) / size,
    )
}

/// A rectangle of tiles at one zoom, inclusive on both ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileRange {
    pub z: u8,
    pub x_min: u32,
    pub x_max: u32,
    pub y_min: u32,
    pub y_max: u32,
}

impl TileRange {
    pub fn contains(&self, tile: TileCoord) -> bool {
        tile.z == self.z
            && (self.x_min..=self.x_max).contains(&tile.x)
            && (self.y_min..=self.y_max).contains(&tile.y)
    }

    /// Number of tiles in the range.
    pub fn len(&self) -> u64 {
        u64::from(self.x_max - self.x_min + 1) * u64::from(self.y_max - self.y_min + 1)
    }

    /// Never true: a range holds at least one tile.
    pub fn is_empty(&self) -> bool {
        false
    }

    pub fn iter(&self) -> impl Iterator<Item = TileCoord> + use<> {
        let Self {
            z,
            x_min,
            x_max,
            y_min,
            y_max,
        } = *self;
        (y_min..=y_max).flat_map(move |y| (x_min..=x_max).map(move |x| TileCoord { z, x, y }))
    }
}

/// The tile ranges touched by a WGS-84 bbox (x = lon, y = lat), one per zoom in `zooms`
/// (zooms above `MAX_ZOOM` are skipped). A bbox edge lying exactly on a tile edge touches both tiles.
///
/// `buffer_fraction` widens each tile by that fraction of its width on every side before testing, as
/// encoded tiles carry a buffer (`EncodeOptions::buffer_fraction`); pass it when invalidating a cache,
/// with the union of the old and new bboxes of the changed features.
pub fn tile_ranges(
    bbox_lonlat: Rect<f64>,
    zooms: RangeInclusive<u8>,
    buffer_fraction: f64,
) -> Vec<TileRange> {
    let (x0, y0) = lonlat_to_world(bbox_lonlat.min().x, bbox_lonlat.max().y);
    let (x1, y1) = lonlat_to_world(bbox_lonlat.max().x, bbox_lonlat.min().y);
    let buffer_fraction = buffer_fraction.max(0.0);
    zooms
        .filter(|z| *z <= MAX_ZOOM)
        .map(|z| {
            let n = f64::from(1u32 << z);
            let max = (1u32 << z) - 1;
            // A tile i covers [i - b, i + 1 + b] in tile units, so it is touched when
            // i <= v + b and i + 1 + b >= v.
            let lo = |v: f64| ((v * n - 1.0 - buffer_fraction).ceil().max(0.0) as u32).min(max);
            let hi = |v: f64| ((v * n + buffer_fraction).floor().max(0.0) as u32).min(max);
            TileRange {
                z,
                x_min: lo(x0),
                x_max: hi(x1),
                y_min: lo(y0),
                y_max: hi(y1),
            }
        })
        .collect()
}

/// Every tile at zooms `zooms` touched by a WGS-84 bbox (no buffer). See [`tile_ranges`].
pub fn tiles_covering(
    bbox_lonlat: Rect<f64>,
    zooms: RangeInclusive<u8>,
) -> impl Iterator<Item = TileCoord> {
    tile_ranges(bbox_lonlat, zooms, 0.0)
        .into_iter()
        .flat_map(|r| r.iter())
}
