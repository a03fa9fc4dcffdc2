//! The window's fixes flattened into segments (consecutive fixes of a track, both in `[from, to)`; a lone fix
//! is a segment of one point), bucketed by start point on a ~250 m grid.
//!
//! A segment shorter than half a bucket lies within half a bucket of its start, so a box query visits only the
//! buckets near the box; longer segments sit in a list of their own that every query checks.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use geo_types::{Coord, Rect};

use super::buckets::{BUCKET_M, BucketGrid, bbox_of, expand, overlaps};
use crate::patrol::PatrolTrack;

/// Segment start index → `(start, end)` indices into the flattened fixes; `end == start` for a lone fix.
#[derive(Debug, Clone, Copy)]
pub(super) struct Seg {
    pub a: u32,
    pub b: u32,
}

/// The window's fixes flattened, their segments bucketed by start point.
pub(super) struct Segments<'t> {
    pub from: DateTime<Utc>,
    points: Vec<Coord<f64>>,
    /// Seconds since `from`.
    pub times: Vec<f64>,
    /// Worker id (index into `workers`) per point.
    pub worker: Vec<u32>,
    pub workers: Vec<&'t str>,
    pub grid: BucketGrid,
    /// `offsets[k]..offsets[k + 1]` indexes `segs` for bucket `k`.
    offsets: Vec<u32>,
    segs: Vec<Seg>,
    /// Segments longer than half a bucket, checked by every query.
    long: Vec<Seg>,
}

impl<'t> Segments<'t> {
    pub fn new(tracks: &'t [PatrolTrack], from: DateTime<Utc>, to: DateTime<Utc>) -> Segments<'t> {
        let mut ids: HashMap<&str, u32> = HashMap::new();
        let mut workers = Vec::new();
        let mut points = Vec::new();
        let mut times = Vec::new();
        let mut worker = Vec::new();
        let mut all: Vec<Seg> = Vec::new();
        for t in tracks {
            let next = workers.len() as u32;
            let id = *ids.entry(t.worker.as_str()).or_insert_with(|| {
                workers.push(t.worker.as_str());
                next
            });
            let start = points.len() as u32;
            for &(at, p) in &t.fixes {
                if at >= from && at < to && p.x.is_finite() && p.y.is_finite() {
                    points.push(p);
                    times.push((at - from).num_milliseconds() as f64 / 1000.0);
                    worker.push(id);
                }
            }
            let end = points.len() as u32;
            match end - start {
                0 => {}
                1 => all.push(Seg { a: start, b: start }),
                _ => all.extend((start..end - 1).map(|a| Seg { a, b: a + 1 })),
            }
        }
        let grid = BucketGrid::new(points.iter().copied(), BUCKET_M);
        let mut segments = Segments {
            from,
            points,
            times,
            worker,
            workers,
            grid: grid.clone().unwrap_or(BucketGrid {
                min: Coord { x: 0.0, y: 0.0 },
                size: Coord { x: 1.0, y: 1.0 },
                nx: 1,
                ny: 1,
                deg_per_m: Coord { x: 1.0, y: 1.0 },
            }),
            offsets: vec![0, 0],
            segs: Vec::new(),
            long: Vec::new(),
        };
        let Some(grid) = grid else {
            return segments;
        };
        let half = Coord {
            x: grid.size.x / 2.0,
            y: grid.size.y / 2.0,
        };
        let mut short = Vec::with_capacity(all.len());
        for s in all {
            let (a, b) = (segments.points[s.a as usize], segments.points[s.b as usize]);
            if (a.x - b.x).abs() > half.x || (a.y - b.y).abs() > half.y {
                segments.long.push(s);
            } else {
                short.push((grid.row(a.y) * grid.nx + grid.col(a.x), s));
            }
        }
        // Counting sort by bucket.
        let mut offsets = vec![0u32; grid.nx * grid.ny + 1];
        for &(k, _) in &short {
            offsets[k + 1] += 1;
        }
        for k in 0..grid.nx * grid.ny {
            offsets[k + 1] += offsets[k];
        }
        let mut fill = offsets.clone();
        let mut segs = vec![Seg { a: 0, b: 0 }; short.len()];
        for (k, s) in short {
            segs[fill[k] as usize] = s;
            fill[k] += 1;
        }
        segments.grid = grid;
        segments.offsets = offsets;
        segments.segs = segs;
        segments
    }

    pub fn ends(&self, s: Seg) -> (Coord<f64>, Coord<f64>) {
        (self.points[s.a as usize], self.points[s.b as usize])
    }

    /// Segments whose `radius_m`-buffer may meet `bbox`.
    pub fn near(&self, bbox: Rect<f64>, radius_m: f64, out: &mut Vec<Seg>) {
        out.clear();
        if self.points.is_empty() {
            return;
        }
        let g = &self.grid;
        let (rx, ry) = (radius_m * g.deg_per_m.x, radius_m * g.deg_per_m.y);
        let target = expand(bbox, rx, ry);
        // A short segment lies within half a bucket of its start point.
        let reach = expand(target, g.size.x / 2.0, g.size.y / 2.0);
        if reach.max().x < g.min.x
            || reach.max().y < g.min.y
            || reach.min().x > g.min.x + g.size.x * g.nx as f64
            || reach.min().y > g.min.y + g.size.y * g.ny as f64
        {
            out.extend(self.long_near(&target));
            return;
        }
        let (c0, c1) = (g.col(reach.min().x), g.col(reach.max().x));
        let (r0, r1) = (g.row(reach.min().y), g.row(reach.max().y));
        for r in r0..=r1 {
            let range =
                self.offsets[r * g.nx + c0] as usize..self.offsets[r * g.nx + c1 + 1] as usize;
            for &s in &self.segs[range] {
                let (a, b) = self.ends(s);
                if overlaps(&bbox_of(a, b), &target) {
                    out.push(s);
                }
            }
        }
        out.extend(self.long_near(&target));
    }

    /// The segments of `within` whose `radius_m`-buffer may meet `bbox`: [`Segments::near`] when `within`
    /// holds the answer of `near` for a box containing `bbox` (a grid's list, for its micro-grids).
    pub fn near_among(&self, within: &[Seg], bbox: Rect<f64>, radius_m: f64, out: &mut Vec<Seg>) {
        let g = &self.grid;
        let target = expand(bbox, radius_m * g.deg_per_m.x, radius_m * g.deg_per_m.y);
        out.clear();
        out.extend(within.iter().copied().filter(|&s| {
            let (a, b) = self.ends(s);
            overlaps(&bbox_of(a, b), &target)
        }));
    }

    fn long_near<'a>(&'a self, target: &'a Rect<f64>) -> impl Iterator<Item = Seg> + 'a {
        self.long.iter().copied().filter(move |&s| {
            let (a, b) = self.ends(s);
            overlaps(&bbox_of(a, b), target)
        })
    }
}
