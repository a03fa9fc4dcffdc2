//! In-process point lookups on the 100,000-micro-grid generated city (the sample city's generator at benchmark
//! scale), random points over its bounding box.
//! Run: `cargo bench -p gridmap-core --bench locate`; the throughput line is locates per second on one core.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use geo::BoundingRect;
use geo_types::{Coord, Rect};
use gridmap_core::{Address, AddressIndex, AreaIndex};
use rand::{Rng, SeedableRng};

fn locate(c: &mut Criterion) {
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
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let mut random_points = |n: usize| -> Vec<Coord<f64>> {
        (0..n)
            .map(|_| Coord {
                x: rng.gen_range(bbox.min().x..bbox.max().x),
                y: rng.gen_range(bbox.min().y..bbox.max().y),
            })
            .collect()
    };
    let points = random_points(10_000);
    let mut group = c.benchmark_group("locate");
    group.throughput(Throughput::Elements(points.len() as u64));
    group.bench_function("100k_micro_grids", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for p in &points {
                n += black_box(index.locate(*p)).chain.len();
            }
            n
        });
    });
    group.finish();
    // A dispatcher's batch: a million points, located in Morton order (`locate_batch`).
    let batch = random_points(1_000_000);
    let mut group = c.benchmark_group("locate_batch");
    group.sample_size(10);
    group.throughput(Throughput::Elements(batch.len() as u64));
    group.bench_function("100k_micro_grids_1m_points", |b| {
        b.iter(|| black_box(index.locate_batch(&batch)).len());
    });
    group.finish();
}

fn address_search(c: &mut Criterion) {
    let roads = [
        "黄河路",
        "嵩山路",
        "交通路",
        "人民路",
        "太行山路",
        "漓江路",
        "湘江路",
        "长江路",
        "珠江路",
        "淮河路",
    ];
    let mut addresses = Vec::new();
    for (r, road) in roads.iter().enumerate() {
        for number in 1..=400 {
            for building in 1..=5 {
                addresses.push(Address {
                    full: format!("漯河市召陵区{road}{number}号{building}号楼"),
                    road: (*road).to_owned(),
                    number: number.to_string(),
                    building: format!("{building}号楼"),
                    point: geo_types::Point::new(
                        114.0 + r as f64 * 0.01,
                        33.5 + f64::from(number) * 1e-4,
                    ),
                });
            }
        }
    }
    let index = AddressIndex::build(&addresses);
    let mut group = c.benchmark_group("address_search");
    group.throughput(Throughput::Elements(1));
    for q in [
        "黄河路128号",
        "黄河路１２８",
        "漯河市召陵区黄河路128号3号楼",
        "太行山路",
    ] {
        group.bench_function(format!("20k_{q}"), |b| {
            b.iter(|| black_box(index.search(q, 10)));
        });
    }
    group.finish();
}

criterion_group!(benches, locate, address_search);
criterion_main!(benches);
