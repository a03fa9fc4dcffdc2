//! Times patrol cleaning and area coverage on a generated city and day, and optionally writes the same input for
//! PostGIS (bench/coverage.sh).
//!
//! ```text
//! cargo run --release -p gridmap-core --example coverage-bench -- \
//!     [--micro-grids 100000] [--workers 3000] [--hours 8] [--radius 30] [--repeat 1] [--cell M] [--polygons] [--out DIR]
//! ```
//! Prints one JSON line: sizes and seconds (best of `--repeat`). With `--out DIR` it also writes, tab-separated
//! for `\copy`: `DIR/grids.tsv` (code, WKT multipolygon, lon/lat), `DIR/tracks.tsv` (worker, WKT linestring of
//! a cleaned track, or a point for a lone fix) and `DIR/gridmap.json` (grid code → area coverage, 0..1).

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Instant;

use gridmap_core::patrol::{CleaningPolicy, clean};
use gridmap_core::{AreaIndex, CoverageParams, Level, coverage};
use gridmap_data::{CityParams, TrackParams, generate, generate_tracks};

struct Args {
    micro_grids: usize,
    workers: usize,
    hours: f64,
    radius_m: f64,
    repeat: usize,
    cell_m: Option<f64>,
    polygons: bool,
    out: Option<std::path::PathBuf>,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        micro_grids: 100_000,
        workers: 3_000,
        hours: 8.0,
        radius_m: 30.0,
        repeat: 1,
        cell_m: None,
        polygons: false,
        out: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--polygons" {
            a.polygons = true;
            continue;
        }
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {value}: {e}");
        match flag.as_str() {
            "--micro-grids" => a.micro_grids = value.parse().map_err(|e| bad(&e))?,
            "--workers" => a.workers = value.parse().map_err(|e| bad(&e))?,
            "--hours" => a.hours = value.parse().map_err(|e| bad(&e))?,
            "--radius" => a.radius_m = value.parse().map_err(|e| bad(&e))?,
            "--repeat" => a.repeat = value.parse::<usize>().map_err(|e| bad(&e))?.max(1),
            "--cell" => a.cell_m = Some(value.parse().map_err(|e| bad(&e))?),
            "--out" => a.out = Some(value.into()),
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(a)
}

/// CPU seconds of this process so far (all threads; Linux), to read timings on a machine shared with others.
fn cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, in clock ticks (100 per second on Linux).
    let tick = |k: usize| {
        fields
            .get(k)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (tick(11) + tick(12)) / 100.0
}

fn wkt_ring(out: &mut String, ring: &geo_types::LineString<f64>) {
    out.push('(');
    for (k, c) in ring.0.iter().enumerate() {
        if k > 0 {
            out.push(',');
        }
        let _ = write!(out, "{} {}", c.x, c.y);
    }
    out.push(')');
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a = args()?;
    let t = Instant::now();
    let city = generate(&CityParams::with_micro_grids(a.micro_grids));
    let params = TrackParams {
        hours: a.hours,
        ..TrackParams::day(2026, a.workers)
    };
    let fixes = generate_tracks(&city, &params);
    let index = AreaIndex::build(city.areas.clone());
    let grids: Vec<u32> = (0..index.areas().len() as u32)
        .filter(|&id| index.area(id).level == Level::Grid && !index.area(id).is_exclusive())
        .collect();
    let prepare_s = t.elapsed().as_secs_f64();
    let window = CoverageParams {
        radius_m: a.radius_m,
        cell_m: a.cell_m,
        uncovered_polygons: a.polygons,
        ..CoverageParams::new(params.start, params.start + chrono::TimeDelta::hours(24))
    };
    let (mut clean_s, mut cover_s) = (f64::INFINITY, f64::INFINITY);
    let (mut clean_cpu_s, mut cover_cpu_s) = (f64::INFINITY, f64::INFINITY);
    let mut last = None;
    for _ in 0..a.repeat {
        let input = fixes.clone();
        let (t, c) = (Instant::now(), cpu_s());
        let cleaned = clean(input, &CleaningPolicy::default());
        clean_s = clean_s.min(t.elapsed().as_secs_f64());
        clean_cpu_s = clean_cpu_s.min(cpu_s() - c);
        let (t, c) = (Instant::now(), cpu_s());
        let reports = coverage(&index, &grids, &cleaned.tracks, &city.roads, &window);
        cover_s = cover_s.min(t.elapsed().as_secs_f64());
        cover_cpu_s = cover_cpu_s.min(cpu_s() - c);
        last = Some((cleaned, reports));
    }
    let (cleaned, reports) = last.ok_or("no run")?;
    let mean = reports.iter().map(|r| r.area_coverage).sum::<f64>() / reports.len().max(1) as f64;
    println!(
        "{{\"micro_grids\":{},\"grids\":{},\"workers\":{},\"fixes\":{},\"tracks\":{},\"kept_fixes\":{},\
         \"radius_m\":{},\"cell_m\":{},\"prepare_s\":{prepare_s:.3},\"clean_s\":{clean_s:.3},\
         \"coverage_s\":{cover_s:.3},\"total_s\":{:.3},\"clean_cpu_s\":{clean_cpu_s:.2},\
         \"coverage_cpu_s\":{cover_cpu_s:.2},\"mean_area_coverage\":{mean:.5},\"duty_met\":{}}}",
        a.micro_grids,
        grids.len(),
        a.workers,
        fixes.len(),
        cleaned.tracks.len(),
        cleaned.tracks.iter().map(|t| t.fixes.len()).sum::<usize>(),
        a.radius_m,
        window.cell_size_m(),
        clean_s + cover_s,
        reports.iter().filter(|r| r.duty_met).count(),
    );
    if let Some(dir) = a.out {
        std::fs::create_dir_all(&dir)?;
        let mut g = std::io::BufWriter::new(std::fs::File::create(dir.join("grids.tsv"))?);
        for &id in &grids {
            let area = index.area(id);
            let mut wkt = String::from("MULTIPOLYGON(");
            for (k, p) in area.geometry.0.iter().enumerate() {
                if k > 0 {
                    wkt.push(',');
                }
                wkt.push('(');
                wkt_ring(&mut wkt, p.exterior());
                for hole in p.interiors() {
                    wkt.push(',');
                    wkt_ring(&mut wkt, hole);
                }
                wkt.push(')');
            }
            wkt.push(')');
            writeln!(g, "{}\t{wkt}", area.code)?;
        }
        g.flush()?;
        let mut t = std::io::BufWriter::new(std::fs::File::create(dir.join("tracks.tsv"))?);
        for track in &cleaned.tracks {
            let wkt = if let [(_, c)] = track.fixes[..] {
                format!("POINT({} {})", c.x, c.y)
            } else {
                let line = geo_types::LineString(track.fixes.iter().map(|f| f.1).collect());
                let mut s = String::from("LINESTRING");
                wkt_ring(&mut s, &line);
                s
            };
            writeln!(t, "{}\t{wkt}", track.worker)?;
        }
        t.flush()?;
        let json: serde_json::Map<String, serde_json::Value> = reports
            .iter()
            .map(|r| (r.code.clone(), serde_json::json!(r.area_coverage)))
            .collect();
        std::fs::write(dir.join("gridmap.json"), serde_json::to_string(&json)?)?;
    }
    Ok(())
}
