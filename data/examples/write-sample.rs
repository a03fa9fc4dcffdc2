//! Regenerates the committed sample: `cargo run -p gridmap-data --example write-sample`.
//! Writes areas, addresses, roads and water (the river).
//! With `-- N DIR`, writes a city of at least N micro-grids to DIR instead.

use std::path::PathBuf;

use gridmap_data::{CityParams, RIVER_NAME, city_to_geojson, generate, water, water_to_geojson};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let params = match args.next() {
        Some(n) => CityParams::with_micro_grids(n.parse().map_err(std::io::Error::other)?),
        None => CityParams::sample(),
    };
    let dir = args.next().map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("sample"),
        PathBuf::from,
    );
    let start = std::time::Instant::now();
    let city = generate(&params);
    let files = city_to_geojson(&city);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("areas.geojson"), &files.areas)?;
    std::fs::write(dir.join("addresses.geojson"), &files.addresses)?;
    std::fs::write(dir.join("roads.geojson"), &files.roads)?;
    std::fs::write(
        dir.join("water.geojson"),
        water_to_geojson(RIVER_NAME, &water(&params)),
    )?;
    println!(
        "{} areas, {} addresses, {} roads written to {} in {:.2?}",
        city.areas.len(),
        city.addresses.len(),
        city.roads.len(),
        dir.display(),
        start.elapsed()
    );
    Ok(())
}
