//! The tile layers gridmap serves and their zoom ranges, as data the server and `TileJSON` use.
//!
//! Zoom numbers are `MapLibre` zooms (512 px tiles). At latitude 34° one pixel is about 64 m at z10,
//! 16 m at z12, 4 m at z14, 1 m at z16. Below `min_zoom` a layer is absent (the area is a few
//! pixels wide); above `max_zoom` clients overzoom the `max_zoom` tile, which is already exact to a
//! fraction of a pixel, so the server need not encode deeper tiles.

/// One tile layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerSpec {
    /// MVT layer name and the `{layer}` in `/tiles/{layer}/{z}/{x}/{y}.mvt`.
    pub name: &'static str,
    pub min_zoom: u8,
    /// The `TileJSON` maxzoom: tiles deeper than this are not needed.
    pub max_zoom: u8,
    /// For polygon layers, the zoom from which their labels go into the `labels` layer.
    pub label_min_zoom: Option<u8>,
    pub description: &'static str,
    /// Attribute names and their `TileJSON` types ("String", "Number", "Boolean").
    pub fields: &'static [(&'static str, &'static str)],
}

/// Attributes of every polygon layer.
pub const AREA_FIELDS: &[(&str, &str)] = &[
    ("code", "String"),
    ("name", "String"),
    ("level", "String"),
    ("kind", "String"),
    ("parent_code", "String"),
];

/// Attributes of the `labels` layer (`kind` only on grids and micro-grids).
pub const LABEL_FIELDS: &[(&str, &str)] = &[
    ("code", "String"),
    ("name", "String"),
    ("level", "String"),
    ("kind", "String"),
];

/// Attributes of the `excluded` layer.
pub const EXCLUDED_FIELDS: &[(&str, &str)] = &[("name", "String"), ("kind", "String")];

/// Attributes of the `roads` layer.
pub const ROAD_FIELDS: &[(&str, &str)] = &[("name", "String"), ("class", "String")];

/// All layers, coarsest first; the composite tile holds them in this order (labels last, on top).
///
/// | layer | zooms | labels from |
/// |---|---|---|
/// | districts | 0–16 | 8 |
/// | streets | 8–16 | 11 |
/// | communities | 11–16 | 13 |
/// | grids | 10–18 | 15 |
/// | micro_grids | 15–18 | 17 |
/// | exclusive | 13–18 | 15 |
/// | excluded | 8–16 | – |
/// | roads | 10–18 | – |
/// | labels | 8–18 | – |
pub const LAYERS: [LayerSpec; 9] = [
    LayerSpec {
        name: "districts",
        min_zoom: 0,
        max_zoom: 16,
        label_min_zoom: Some(8),
        description: "Districts (区), the top of the tree",
        fields: AREA_FIELDS,
    },
    LayerSpec {
        name: "streets",
        min_zoom: 8,
        max_zoom: 16,
        label_min_zoom: Some(11),
        description: "Streets and towns (街道/乡镇)",
        fields: AREA_FIELDS,
    },
    LayerSpec {
        name: "communities",
        min_zoom: 11,
        max_zoom: 16,
        label_min_zoom: Some(13),
        description: "Communities and villages (社区/村)",
        fields: AREA_FIELDS,
    },
    LayerSpec {
        name: "grids",
        // From 10: a city's grids (a few hundred metres) are a few pixels there, and imported police beats or
        // rural grids are much larger.
        min_zoom: 10,
        max_zoom: 18,
        label_min_zoom: Some(15),
        description: "Ordinary grids (网格)",
        fields: AREA_FIELDS,
    },
    LayerSpec {
        name: "micro_grids",
        min_zoom: 15,
        max_zoom: 18,
        label_min_zoom: Some(17),
        description: "Micro-grids (微网格)",
        fields: AREA_FIELDS,
    },
    LayerSpec {
        name: "exclusive",
        min_zoom: 13,
        max_zoom: 18,
        label_min_zoom: Some(15),
        description: "Exclusive grids (专属网格) overlaying ordinary ones",
        fields: AREA_FIELDS,
    },
    LayerSpec {
        name: "excluded",
        // As streets: a river or a rail yard is hundreds of metres wide, a few pixels at z8.
        min_zoom: 8,
        max_zoom: 16,
        label_min_zoom: None,
        description: "Ground no grid takes (水域, 铁路, 军事用地, 其他): water, rail, military, other",
        fields: EXCLUDED_FIELDS,
    },
    LayerSpec {
        name: "roads",
        min_zoom: 10,
        max_zoom: 18,
        label_min_zoom: None,
        description: "Road centrelines (main and secondary), drawn when there is no basemap",
        fields: ROAD_FIELDS,
    },
    LayerSpec {
        name: "labels",
        min_zoom: 8,
        max_zoom: 18,
        label_min_zoom: None,
        description: "One point per area at its pole of inaccessibility",
        fields: LABEL_FIELDS,
    },
];

/// The layer named `name`, if it exists.
pub fn layer(name: &str) -> Option<&'static LayerSpec> {
    LAYERS.iter().find(|l| l.name == name)
}

/// The zoom range over all layers (for the composite tile's `TileJSON`).
pub fn composite_zoom_range() -> (u8, u8) {
    LAYERS.iter().fold((u8::MAX, 0), |(lo, hi), l| {
        (lo.min(l.min_zoom), hi.max(l.max_zoom))
    })
}

impl LayerSpec {
    /// Whether this layer has content at zoom `z`.
    pub fn shown_at(&self, z: u8) -> bool {
        (self.min_zoom..=self.max_zoom).contains(&z)
    }
}

/// Patrol coverage: each ordinary grid's parts farther than R from every cleaned track of a time window.
/// Served at `/tiles/coverage/{z}/{x}/{y}.mvt?from=&to=&radius_m=`, never in the composite tile (it depends on the
/// window).
pub const COVERAGE_LAYER: LayerSpec = LayerSpec {
    name: "coverage",
    min_zoom: 11,
    max_zoom: 18,
    label_min_zoom: None,
    description: "Uncovered parts of each grid (farther than R from the patrol tracks of a time window)",
    fields: &[
        ("code", "String"),
        ("name", "String"),
        ("area_coverage", "Number"),
    ],
};
