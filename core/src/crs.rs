//! The coordinate systems phones report in China: WGS-84, GCJ-02 (Amap, Tencent, WeChat), BD-09 (Baidu).
//! Everything is stored in WGS-84; inputs are converted on arrival.

use geo_types::Coord;

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
        todo!("helper A")
    }
    /// Converts a WGS-84 lon/lat to this CRS.
    pub fn from_wgs84(self, c: Coord<f64>) -> Coord<f64> {
        todo!("helper A")
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
