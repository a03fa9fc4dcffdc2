//! The coordinate systems phones report in China: WGS-84, GCJ-02 (Amap, Tencent, `WeChat`), BD-09 (Baidu).
//! Everything is stored in WGS-84; inputs are converted on arrival.
//!
//! GCJ-02 is the published "Krasovsky" obfuscation formula (a = 6,378,245 m, e² of f = 1/298.3), applied only
//! inside the usual China bounding box (lon 72.004..=137.8347, lat 0.8293..=55.8271); outside it every system
//! is plain WGS-84. BD-09 is Baidu's rotation of GCJ-02.
//!
//! ```
//! use geo_types::coord;
//! use gridmap_core::Crs;
//! // Luohe, checked against the PyPI package coord-convert 0.2.1.
//! let wgs = coord! { x: 114.02114165654483, y: 33.65770671846577 };
//! let gcj = Crs::Gcj02.from_wgs84(wgs);
//! assert!((gcj.x - 114.02708644399793).abs() < 1e-9 && (gcj.y - 33.65625994050373).abs() < 1e-9);
//! let back = Crs::Gcj02.to_wgs84(gcj);
//! assert!((back.x - wgs.x).abs() < 1e-9 && (back.y - wgs.y).abs() < 1e-9);
//! // Outside China nothing changes.
//! let chicago = coord! { x: -87.6298, y: 41.8781 };
//! assert_eq!(Crs::Bd09.from_wgs84(chicago), chicago);
//! ```

use std::f64::consts::PI;

use geo_types::{Coord, coord};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Crs {
    #[default]
    Wgs84,
    Gcj02,
    Bd09,
}

impl Crs {
    /// Converts a lon/lat in this CRS to WGS-84 (GCJ-02 inverse by iteration, error < 0.5 m).
    pub fn to_wgs84(self, c: Coord<f64>) -> Coord<f64> {
        match self {
            Crs::Wgs84 => c,
            Crs::Gcj02 => gcj02_to_wgs84(c),
            Crs::Bd09 => gcj02_to_wgs84(bd09_to_gcj02(c)),
        }
    }
    /// Converts a WGS-84 lon/lat to this CRS.
    pub fn from_wgs84(self, c: Coord<f64>) -> Coord<f64> {
        match self {
            Crs::Wgs84 => c,
            Crs::Gcj02 => wgs84_to_gcj02(c),
            Crs::Bd09 => gcj02_to_bd09(wgs84_to_gcj02(c)),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Crs::Wgs84 => "wgs84",
            Crs::Gcj02 => "gcj02",
            Crs::Bd09 => "bd09",
        }
    }
}

impl std::str::FromStr for Crs {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "wgs84" | "epsg:4326" => Ok(Crs::Wgs84),
            "gcj02" => Ok(Crs::Gcj02),
            "bd09" => Ok(Crs::Bd09),
            _ => Err(crate::Error::UnknownCrs(s.to_owned())),
        }
    }
}

/// Krasovsky 1940 semi-major axis, metres.
const KRASOVSKY_A: f64 = 6_378_245.0;
/// Krasovsky 1940 first eccentricity squared (f = 1/298.3).
const KRASOVSKY_EE: f64 = 0.006_693_421_622_965_943;
/// Baidu's rotation constant.
const X_PI: f64 = PI * 3000.0 / 180.0;

/// True where GCJ-02 applies (the rough China bounding box every implementation uses).
pub fn in_china(c: Coord<f64>) -> bool {
    (72.004..=137.8347).contains(&c.x) && (0.8293..=55.8271).contains(&c.y)
}

/// The GCJ-02 offset (degrees) at a WGS-84 point inside China.
fn gcj02_offset(c: Coord<f64>) -> Coord<f64> {
    let x = c.x - 105.0;
    let y = c.y - 35.0;
    let periodic = (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    let mut d_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    d_lat += periodic;
    d_lat += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    d_lat += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    let mut d_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    d_lon += periodic;
    d_lon += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    d_lon += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    let rad_lat = c.y.to_radians();
    let magic = 1.0 - KRASOVSKY_EE * rad_lat.sin() * rad_lat.sin();
    let sqrt_magic = magic.sqrt();
    coord! {
        x: (d_lon * 180.0) / (KRASOVSKY_A / sqrt_magic * rad_lat.cos() * PI),
        y: (d_lat * 180.0) / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * PI),
    }
}

/// WGS-84 → GCJ-02 (identity outside China).
pub fn wgs84_to_gcj02(c: Coord<f64>) -> Coord<f64> {
    if in_china(c) { c + gcj02_offset(c) } else { c }
}

/// GCJ-02 → WGS-84 by fixed-point iteration on the forward formula: the offset varies slowly (its derivative
/// is ~1e-5), so each step gains about five digits; we stop below 1e-10 degrees (~1e-5 m).
pub fn gcj02_to_wgs84(g: Coord<f64>) -> Coord<f64> {
    if !in_china(g) {
        return g;
    }
    let mut w = g - gcj02_offset(g);
    for _ in 0..10 {
        let err = wgs84_to_gcj02(w) - g;
        w = w - err;
        if err.x.abs() < 1e-10 && err.y.abs() < 1e-10 {
            break;
        }
    }
    w
}

/// GCJ-02 → BD-09.
pub fn gcj02_to_bd09(g: Coord<f64>) -> Coord<f64> {
    if !in_china(g) {
        return g;
    }
    let z = g.x.hypot(g.y) + 0.00002 * (g.y * X_PI).sin();
    let theta = g.y.atan2(g.x) + 0.000_003 * (g.x * X_PI).cos();
    coord! { x: z * theta.cos() + 0.0065, y: z * theta.sin() + 0.006 }
}

/// BD-09 → GCJ-02 (the usual closed-form approximate inverse, then refined by iteration to < 1e-10 degrees).
pub fn bd09_to_gcj02(b: Coord<f64>) -> Coord<f64> {
    if !in_china(b) {
        return b;
    }
    let approx = |b: Coord<f64>| {
        let x = b.x - 0.0065;
        let y = b.y - 0.006;
        let z = x.hypot(y) - 0.00002 * (y * X_PI).sin();
        let theta = y.atan2(x) - 0.000_003 * (x * X_PI).cos();
        coord! { x: z * theta.cos(), y: z * theta.sin() }
    };
    let mut g = approx(b);
    for _ in 0..10 {
        let err = gcj02_to_bd09(g) - b;
        g = g - err;
        if err.x.abs() < 1e-10 && err.y.abs() < 1e-10 {
            break;
        }
    }
    g
}
