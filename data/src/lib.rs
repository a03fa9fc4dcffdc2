//! The sample city and its deterministic generator.
//!
//! A district modeled on Zhaoling district, Luohe (召陵区, code 411104): streets, communities and
//! villages, grids, micro-grids and exclusive grids traced from one jittered lattice, so that
//! neighbours share bit-identical vertices. See `data/README.md` for the construction and the
//! numbering rule.
#![forbid(unsafe_code)]

mod city;
pub mod geojson;
mod lattice;
mod names;
pub mod order;
mod river;
mod trace;
pub mod tracks;

pub use city::{CityParams, generate, water};
use geo_types::MultiPolygon;
pub use geojson::{
    CityGeoJson, GeoJsonError, city_from_geojson, city_to_geojson, excluded_to_geojson,
    water_from_geojson, water_to_geojson,
};
use gridmap_core::{City, ExcludedGround, ExcludedKind};
pub use river::{RIVER_NAME, RIVER_WIDTH_CELLS};
pub use tracks::{TrackParams, generate_tracks};

/// The committed sample files, embedded in the crate.
pub const SAMPLE_AREAS: &str = include_str!("../sample/areas.geojson");
pub const SAMPLE_ADDRESSES: &str = include_str!("../sample/addresses.geojson");
pub const SAMPLE_ROADS: &str = include_str!("../sample/roads.geojson");
/// The sample's river (沙河): one feature, `water(&CityParams::sample())`.
pub const SAMPLE_WATER: &str = include_str!("../sample/water.geojson");

/// The committed sample city (`generate(&CityParams::sample())`, read back from `data/sample/`), the river
/// (`water.geojson`) as its excluded ground.
pub fn sample_city() -> City {
    let mut city = city_from_geojson(SAMPLE_AREAS, SAMPLE_ADDRESSES, SAMPLE_ROADS)
        .expect("the committed sample parses (checked by the crate's tests)");
    let (name, geometry) = water_from_geojson(SAMPLE_WATER)
        .expect("the committed water file parses (checked by the crate's tests)");
    city.excluded = vec![ExcludedGround {
        name,
        kind: ExcludedKind::Water,
        geometry,
    }];
    city
}

/// The committed sample's river outline (`water(&CityParams::sample())`, read back from `data/sample/water.geojson`).
pub fn sample_water() -> MultiPolygon<f64> {
    water_from_geojson(SAMPLE_WATER)
        .expect("the committed water file parses (checked by the crate's tests)")
        .1
}
