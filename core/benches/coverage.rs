//! Patrol cleaning and coverage of every grid for a city-day.
//! `coverage/sample_day`: the sample city (~4,000 micro-grids), 300 workers × 8 h, a fix every 10 s.
//! `coverage/city_day`: the 100,000-micro-grid city, 3,000 workers × 8 h, a fix every 10 s (7.5 M fixes).
//! Run: `cargo bench -p gridmap-core --bench coverage` (`-- sample_day` for the quick one). Each iteration cleans
//! the day's fixes and computes area/road coverage, micro-grid visits, worker time and duty for every ordinary
//! grid (uncovered polygons off; `with_polygons` variants on).

use std::time::Instant;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use gridmap_core::patrol::{CleaningPolicy, clean};
use gridmap_core::{AreaIndex, City, CoverageParams, Level, coverage};
use gridmap_data::{TrackParams, generate_tracks};

fn day(c: &mut Criterion, name: &str, city: &City, workers: usize) {
    let t = Instant::now();
    let params = TrackParams::day(2026, workers);
    let fixes = generate_tracks(city, &params);
    eprintln!(
        "{name}: {} fixes generated in {:.1?}",
        fixes.len(),
        t.elapsed()
    );
    let index = AreaIndex::build(city.areas.clone());
    let grids: Vec<u32> = (0..index.areas().len() as u32)
        .filter(|&id| index.area(id).level == Level::Grid && !index.area(id).is_exclusive())
        .collect();
    let window = CoverageParams::new(params.start, params.start + chrono::TimeDelta::hours(24));
    for polygons in [false, true] {
        let p = CoverageParams {
            uncovered_polygons: polygons,
            ..window.clone()
        };
        // One timed run outside criterion, split into its parts, for the report.
        let t = Instant::now();
        let cleaned = clean(fixes.clone(), &CleaningPolicy::default());
        let clean_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let reports = coverage(&index, &grids, &cleaned.tracks, &city.roads, &p);
        let cover_s = t.elapsed().as_secs_f64();
        let met = reports.iter().filter(|r| r.duty_met).count();
        eprintln!(
            "{name} (polygons {polygons}): clean {clean_s:.2} s ({} tracks, {} rejected, {} duplicates), \
             coverage of {} grids {cover_s:.2} s, duty met {met}",
            cleaned.tracks.len(),
            cleaned.rejected.len(),
            cleaned.duplicates,
            grids.len()
        );
        let mut group = c.benchmark_group("coverage");
        group.sample_size(10);
        let id = if polygons {
            format!("{name}_with_polygons")
        } else {
            name.to_owned()
        };
        group.bench_function(id, |b| {
            b.iter_batched(
                || fixes.clone(),
                |f| {
                    let cleaned = clean(f, &CleaningPolicy::default());
                    coverage(&index, &grids, &cleaned.tracks, &city.roads, &p).len()
                },
                BatchSize::PerIteration,
            );
        });
        group.finish();
    }
}

fn coverage_bench(c: &mut Criterion) {
    let sample = gridmap_data::sample_city();
    day(c, "sample_day", &sample, 300);
    let big = gridmap_data::generate(&gridmap_data::CityParams::with_micro_grids(100_000));
    day(c, "city_day", &big, 3_000);
}

criterion_group!(benches, coverage_bench);
criterion_main!(benches);
