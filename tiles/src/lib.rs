//! Tile math and Mapbox Vector Tile (MVT 2.1) encoding for gridmap (issue 3). Pure: no I/O.
//!
//! - [`TileCoord`]: a validated z/x/y address, its bounds, Web Mercator helpers, and
//!   [`tile_ranges`]/[`tiles_covering`] to find the tiles a changed bbox touches.
//! - [`LayerBuilder`]: adds WGS-84 features to one layer of one tile (projects, clips to the tile plus
//!   a buffer, simplifies, quantizes, orients rings, dedups keys and values); [`Tile`] joins layers.
//! - [`label_point`]: where to put an area's label.
//! - [`LAYERS`]: the served layers with their zoom ranges and fields.
#![forbid(unsafe_code)]

mod clip;
mod coord;
mod encode;
mod label;
mod layers;
pub mod proto;
mod simplify;

pub use coord::{
    EARTH_RADIUS_M, MAX_LATITUDE_DEG, MAX_ZOOM, MERCATOR_HALF_WIDTH_M, TileCoord, TileError,
    TileRange, lonlat_to_mercator, mercator_to_lonlat, tile_ranges, tiles_covering, to_world,
};
pub use encode::{EncodeError, EncodeOptions, LayerBuilder, Tile, Value};
pub use label::label_point;
pub use layers::{
    AREA_FIELDS, COVERAGE_LAYER, EXCLUDED_FIELDS, LABEL_FIELDS, LAYERS, LayerSpec, ROAD_FIELDS,
    composite_zoom_range, layer,
};
