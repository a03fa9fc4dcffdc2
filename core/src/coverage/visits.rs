//! Micro-grids visited: a micro-grid is visited when some segment comes within R of its polygon (an exact
//! segment–edge distance, or a segment end inside it); its last visit is the latest end time of such a segment.

use geo_types::Rect;

use super::MicroGridVisit;
use super::buckets::contains_rect;
use super::frame::Frame;
use super::raster;
use super::segments::{Seg, Segments};
use crate::Level;
use crate::index::{AreaId, AreaIndex};

/// The visits of every micro-grid at or below area `id` (box `bbox`), in code order; `near` are the segments
/// near the area (within `r` of `bbox`).
pub(super) fn visits(
    index: &AreaIndex,
    id: AreaId,
    bbox: Rect<f64>,
    segments: &Segments<'_>,
    r: f64,
    near: &[Seg],
) -> Vec<MicroGridVisit> {
    let mut mine = Vec::new();
    micro_grids(index, id)
        .into_iter()
        .map(|m| {
            // A micro-grid inside the area's box takes its segments from the area's list, not the buckets.
            match index.prepared(m).bbox() {
                Some(b) if contains_rect(&bbox, &b) => {
                    segments.near_among(near, b, r, &mut mine);
                }
                Some(b) => segments.near(b, r, &mut mine),
                None => mine.clear(),
            }
            visit(index, m, segments, r, &mine)
        })
        .collect()
}

/// The micro-grids at or below `id`, in code order.
fn micro_grids(index: &AreaIndex, id: AreaId) -> Vec<AreaId> {
    let mut out = Vec::new();
    let mut stack = vec![id];
    while let Some(a) = stack.pop() {
        if index.area(a).level == Level::MicroGrid {
            out.push(a);
        } else {
            stack.extend(index.children(a).iter().copied());
        }
    }
    out.sort_by(|&x, &y| index.area(x).code.cmp(&index.area(y).code));
    out.dedup();
    out
}

#[expect(clippy::many_single_char_names, reason = "geometry notation")]
/// Was micro-grid `m` visited (a segment within `r`), and when last; `near` are the segments near it.
fn visit(
    index: &AreaIndex,
    m: AreaId,
    segments: &Segments<'_>,
    r: f64,
    near: &[Seg],
) -> MicroGridVisit {
    let area = index.area(m);
    let prepared = index.prepared(m);
    let mut last: Option<f64> = None;
    if let Some(bbox) = prepared.bbox() {
        let frame = Frame::centred(bbox);
        let rings = frame.rings(&area.geometry);
        // Buckets list segments in track order, so walking backwards meets late ones first; anything not later
        // than the best hit is skipped without the exact test.
        for &s in near.iter().rev() {
            let t = segments.times[s.b as usize];
            if last.is_some_and(|best| t <= best) {
                continue;
            }
            let (a, b) = segments.ends(s);
            let (pa, pb) = (frame.to_xy(a), frame.to_xy(b));
            let near = prepared.covers(a)
                || rings.iter().any(|ring| {
                    ring.windows(2)
                        .any(|e| raster::segment_segment(pa, pb, e[0], e[1]) <= r)
                });
            if near {
                last = Some(t);
            }
        }
    }
    MicroGridVisit {
        code: area.code.clone(),
        visited: last.is_some(),
        last_visit: last
            .map(|s| segments.from + chrono::TimeDelta::milliseconds((s * 1000.0).round() as i64)),
    }
}
