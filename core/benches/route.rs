//! Routing reports in-process on the 100,000-micro-grid generated city (the city of `locate.rs`): random points
//! over its bounding box, categories in turn, so exclusive precedence, boundaries, nearest grids and fallbacks all
//! occur as they fall.
//! Run: `cargo bench -p gridmap-core --bench route`; the throughput line is routings per second on one core.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use geo::BoundingRect;
use geo_types::{Coord, Rect};
use gridmap_core::routing::{RoutingPolicy, route};
use gridmap_core::{AreaIndex, Category};
use rand::{Rng, SeedableRng};

fn routing(c: &mut Criterion) {
    let city = gridmap_data::generate(&gridmap_data::CityParams::with_micro_grids(100_000));
    let bbox = city
        .areas
        .iter()
        .filter_map(|a| a.geometry.bounding_rect())
        .reduce(|a, b| {
            Rect::new(
                Coord {
                    x: a.min().x.min(b.min().x),
                    y: a.min().y.min(b.min().y),
                },
                Coord {
                    x: a.max().x.max(b.max().x),
                    y: a.max().y.max(b.max().y),
                },
            )
        })
        .expect("a non-empty city");
    let index = AreaIndex::build(city.areas);
    let policy = RoutingPolicy::default();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let reports: Vec<(Coord<f64>, Category)> = (0..10_000)
        .map(|k| {
            let p = Coord {
                x: rng.gen_range(bbox.min().x..bbox.max().x),
                y: rng.gen_range(bbox.min().y..bbox.max().y),
            };
            (p, Category::ALL[k % Category::ALL.len()])
        })
        .collect();
    let mut group = c.benchmark_group("route");
    group.throughput(Throughput::Elements(reports.len() as u64));
    group.bench_function("100k_micro_grids", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for &(p, category) in &reports {
                n += black_box(route(&index, &policy, p, category)).map_or(0, |r| r.area as usize);
            }
            n
        });
    });
    group.finish();
}

criterion_group!(benches, routing);
criterion_main!(benches);
