//! An equirectangular frame: metres east and north of an origin, with the WGS-84 radii of curvature there.
//!
//! At city scale (tens of km) its scale error is below 3e-3; [`super::tiles`] bounds the extent one frame serves.

use geo_types::{Coord, MultiPolygon, Rect};

use super::raster::Xy;
use crate::geodesy;

/// An equirectangular frame: metres east/north of `origin`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Frame {
    origin: Coord<f64>,
    mx: f64,
    my: f64,
}

impl Frame {
    pub fn centred(bbox: Rect<f64>) -> Frame {
        let origin = bbox.center();
        let (mx, my) = geodesy::metres_per_degree(origin.y);
        Frame { origin, mx, my }
    }
    pub fn to_xy(self, p: Coord<f64>) -> Xy {
        [
            (p.x - self.origin.x) * self.mx,
            (p.y - self.origin.y) * self.my,
        ]
    }
    pub fn to_lonlat(self, [x, y]: Xy) -> Coord<f64> {
        Coord {
            x: self.origin.x + x / self.mx,
            y: self.origin.y + y / self.my,
        }
    }
    pub fn rings(self, mp: &MultiPolygon<f64>) -> Vec<Vec<Xy>> {
        mp.0.iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            .map(|ring| ring.0.iter().map(|&c| self.to_xy(c)).collect())
            .collect()
    }
}
