//! Road coverage: roads sampled every cell, a sample counted for an area when the closed area holds it or it is
//! within the road margin of the area's boundary (the sample city's roads run along boundaries, so a road counts
//! for the areas on both sides), and covered when its raster cell is.

use geo_types::{Coord, Rect};

use super::buckets::{BUCKET_M, BucketGrid, expand};
use super::frame::Frame;
use super::raster::Raster;
use crate::pip::PreparedPolygon;
use crate::{Road, geodesy};

/// Road samples (every `step_m`), bucketed like segments.
pub(super) struct RoadSamples {
    /// Sample point and the road length it stands for, in metres.
    samples: Vec<(Coord<f64>, f64)>,
    grid: Option<BucketGrid>,
    offsets: Vec<u32>,
}

impl RoadSamples {
    pub fn new(roads: &[Road], step_m: f64) -> RoadSamples {
        let mut raw = Vec::new();
        for road in roads {
            for line in road.geometry.lines() {
                let (mx, my) = geodesy::metres_per_degree(f64::midpoint(line.start.y, line.end.y));
                let len =
                    ((line.end.x - line.start.x) * mx).hypot((line.end.y - line.start.y) * my);
                if !len.is_finite() || len <= 0.0 {
                    continue;
                }
                let n = (len / step_m).ceil().max(1.0);
                for k in 0..n as usize {
                    let t = (k as f64 + 0.5) / n;
                    raw.push((
                        Coord {
                            x: line.start.x + t * (line.end.x - line.start.x),
                            y: line.start.y + t * (line.end.y - line.start.y),
                        },
                        len / n,
                    ));
                }
            }
        }
        let grid = BucketGrid::new(raw.iter().map(|s| s.0), BUCKET_M);
        let Some(g) = &grid else {
            return RoadSamples {
                samples: raw,
                grid,
                offsets: vec![0, 0],
            };
        };
        let key = |p: Coord<f64>| g.row(p.y) * g.nx + g.col(p.x);
        raw.sort_by_key(|s| key(s.0));
        let mut offsets = vec![0u32; g.nx * g.ny + 1];
        for s in &raw {
            offsets[key(s.0) + 1] += 1;
        }
        for k in 0..g.nx * g.ny {
            offsets[k + 1] += offsets[k];
        }
        RoadSamples {
            samples: raw,
            grid,
            offsets,
        }
    }

    /// The road length of an area and the part of it on `covered` cells, in metres: the samples that the
    /// closed area holds or that lie within `margin_m` of its boundary. `deg_per_m` grows `bbox` by the margin.
    pub fn on_area(
        &self,
        area: &PreparedPolygon,
        bbox: Rect<f64>,
        margin_m: f64,
        deg_per_m: Coord<f64>,
        covered: &Raster,
        frame: Frame,
    ) -> (f64, f64) {
        let near = expand(
            bbox,
            margin_m * deg_per_m.x.max(1.1e-5),
            margin_m * deg_per_m.y.max(1e-5),
        );
        let (mut length_m, mut covered_m) = (0.0, 0.0);
        for (p, len_m) in self.near(near) {
            if area.covers(p) || area.distance_to_boundary_m(p) <= margin_m {
                length_m += len_m;
                if covered
                    .cell_of(frame.to_xy(p))
                    .is_some_and(|(i, j)| covered.get(i, j))
                {
                    covered_m += len_m;
                }
            }
        }
        (length_m, covered_m)
    }

    fn near(&self, bbox: Rect<f64>) -> impl Iterator<Item = (Coord<f64>, f64)> + '_ {
        let ranges: Vec<std::ops::Range<usize>> = match &self.grid {
            Some(g) => {
                let (c0, c1) = (g.col(bbox.min().x), g.col(bbox.max().x));
                let (r0, r1) = (g.row(bbox.min().y), g.row(bbox.max().y));
                (r0..=r1)
                    .map(|r| {
                        self.offsets[r * g.nx + c0] as usize
                            ..self.offsets[r * g.nx + c1 + 1] as usize
                    })
                    .collect()
            }
            None => Vec::new(),
        };
        ranges
            .into_iter()
            .flat_map(move |r| self.samples[r].iter().copied())
            .filter(move |(p, _)| {
                p.x >= bbox.min().x
                    && p.x <= bbox.max().x
                    && p.y >= bbox.min().y
                    && p.y <= bbox.max().y
            })
    }
}
