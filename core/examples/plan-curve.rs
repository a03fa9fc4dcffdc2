//! How plan evaluation grows with the vertices of one reshaped grid (issue 14; bench/RESULTS.md).
//!
//! A grid of the sample city is reshaped to its own boundary with every edge cut into more vertices, so
//! the plan is valid and only the vertex count changes. Prints `vertices  validate_boundary_s  plan_s`.
//!
//!     cargo run --release -p gridmap-core --example plan-curve [VERTICES...]

use std::time::Instant;

use geo_types::{Coord, Geometry, LineString, MultiPolygon, Polygon};
use gridmap_core::plan::{Plan, PlanEdit, ValidationRules, apply, check};
use gridmap_core::{AreaIndex, Level};

/// `ring` with each edge cut into `per_edge` pieces.
fn densify(ring: &LineString<f64>, per_edge: usize) -> LineString<f64> {
    let mut out = Vec::with_capacity(ring.0.len() * per_edge);
    for line in ring.lines() {
        for k in 0..per_edge {
            #[allow(clippy::cast_precision_loss)]
            let t = k as f64 / per_edge as f64;
            out.push(Coord {
                x: line.start.x + t * (line.end.x - line.start.x),
                y: line.start.y + t * (line.end.y - line.start.y),
            });
        }
    }
    out.push(ring.0[0]);
    LineString(out)
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("a vertex count"))
        .collect();
    let sizes = if sizes.is_empty() {
        vec![5_000, 10_000, 20_000, 100_000]
    } else {
        sizes
    };
    let city = gridmap_data::sample_city();
    let index = AreaIndex::build(city.areas.clone());
    let grid = city
        .areas
        .iter()
        .find(|a| a.level == Level::Grid && a.geometry.0.len() == 1)
        .expect("a one-part grid");
    let exterior = grid.geometry.0[0].exterior();
    let edges = exterior.0.len() - 1;
    println!(
        "vertices\tvalidate_boundary_s\tplan_s\t(grid {}, {edges} edges)",
        grid.code
    );
    for n in sizes {
        let ring = densify(exterior, n.div_ceil(edges));
        let vertices = ring.0.len();
        let geometry = MultiPolygon(vec![Polygon::new(ring, vec![])]);
        let t = Instant::now();
        let valid =
            gridmap_core::validate::validate_boundary(&Geometry::MultiPolygon(geometry.clone()));
        let validate_s = t.elapsed().as_secs_f64();
        assert!(valid.is_ok(), "{valid:?}");
        let plan = Plan {
            edits: vec![PlanEdit::Reshape {
                code: grid.code.clone(),
                geometry,
            }],
            ..Plan::default()
        };
        let t = Instant::now();
        let outcome = apply(index.areas(), &plan).expect("applies");
        let judged = check(
            &index,
            &outcome,
            &ValidationRules::default(),
            &city.excluded,
        );
        let plan_s = t.elapsed().as_secs_f64();
        println!(
            "{vertices}\t{validate_s:.3}\t{plan_s:.3}\t({} new problems)",
            judged.new.len()
        );
    }
}
