//! A uniform grid of buckets over a lon/lat extent, and the box arithmetic of its queries.
//!
//! Segments and road samples are bucketed once per request, so that an area looks only at the buckets near its
//! bounding box rather than at every fix of the day.

use geo_types::{Coord, Rect};

use crate::geodesy;

/// Buckets of about this size, in metres.
pub(super) const BUCKET_M: f64 = 250.0;

/// A uniform grid over a lon/lat extent.
#[derive(Debug, Clone)]
pub(super) struct BucketGrid {
    pub min: Coord<f64>,
    pub size: Coord<f64>,
    pub nx: usize,
    pub ny: usize,
    /// Degrees per metre, upper bounds over the extent (for expanding boxes).
    pub deg_per_m: Coord<f64>,
}

impl BucketGrid {
    pub fn new(points: impl Iterator<Item = Coord<f64>>, bucket_m: f64) -> Option<BucketGrid> {
        let mut lo = Coord {
            x: f64::INFINITY,
            y: f64::INFINITY,
        };
        let mut hi = Coord {
            x: f64::NEG_INFINITY,
            y: f64::NEG_INFINITY,
        };
        for p in points {
            lo = Coord {
                x: lo.x.min(p.x),
                y: lo.y.min(p.y),
            };
            hi = Coord {
                x: hi.x.max(p.x),
                y: hi.y.max(p.y),
            };
        }
        if lo.x > hi.x {
            return None;
        }
        let far_lat = lo.y.abs().max(hi.y.abs()).min(89.0);
        let (mx, _) = geodesy::metres_per_degree(far_lat);
        let (_, my) = geodesy::metres_per_degree(0.0);
        // 2 % slack for the ellipsoid's meridional radius varying with latitude.
        let deg_per_m = Coord {
            x: 1.02 / mx,
            y: 1.02 / my,
        };
        let size = Coord {
            x: bucket_m * deg_per_m.x,
            y: bucket_m * deg_per_m.y,
        };
        let nx = (((hi.x - lo.x) / size.x).floor() as usize + 1).min(1 << 14);
        let ny = (((hi.y - lo.y) / size.y).floor() as usize + 1).min(1 << 14);
        Some(BucketGrid {
            min: lo,
            size,
            nx,
            ny,
            deg_per_m,
        })
    }
    pub fn col(&self, x: f64) -> usize {
        (((x - self.min.x) / self.size.x).max(0.0) as usize).min(self.nx - 1)
    }
    pub fn row(&self, y: f64) -> usize {
        (((y - self.min.y) / self.size.y).max(0.0) as usize).min(self.ny - 1)
    }
}

pub(super) fn bbox_of(a: Coord<f64>, b: Coord<f64>) -> Rect<f64> {
    Rect::new(a, b)
}

pub(super) fn expand(r: Rect<f64>, dx: f64, dy: f64) -> Rect<f64> {
    Rect::new(
        Coord {
            x: r.min().x - dx,
            y: r.min().y - dy,
        },
        Coord {
            x: r.max().x + dx,
            y: r.max().y + dy,
        },
    )
}

pub(super) fn contains_rect(outer: &Rect<f64>, inner: &Rect<f64>) -> bool {
    outer.min().x <= inner.min().x
        && outer.min().y <= inner.min().y
        && outer.max().x >= inner.max().x
        && outer.max().y >= inner.max().y
}

pub(super) fn overlaps(a: &Rect<f64>, b: &Rect<f64>) -> bool {
    a.min().x <= b.max().x
        && b.min().x <= a.max().x
        && a.min().y <= b.max().y
        && b.min().y <= a.max().y
}
