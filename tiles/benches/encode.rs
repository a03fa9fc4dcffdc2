//! Encoding one z14 tile of a few hundred irregular grid polygons (about 40 vertices each).

use criterion::{Criterion, criterion_group, criterion_main};
use geo_types::{Geometry, LineString, MultiPolygon, Polygon};
use gridmap_tiles::{EncodeOptions, LayerBuilder, Tile, TileCoord, Value};

/// 18 × 18 = 324 wobbly cells covering the tile and a little beyond, so edge cells get clipped.
fn grid_cells(tile: TileCoord) -> Vec<(String, Geometry<f64>)> {
    let bounds = tile.bounds_lonlat();
    let cells_per_side = 18;
    let (w, h) = (
        bounds.width() * 1.1 / f64::from(cells_per_side),
        bounds.height() * 1.1 / f64::from(cells_per_side),
    );
    let (x0, y0) = (
        bounds.min().x - bounds.width() * 0.05,
        bounds.min().y - bounds.height() * 0.05,
    );
    let mut cells = Vec::new();
    for i in 0..cells_per_side {
        for j in 0..cells_per_side {
            let (cx, cy) = (x0 + (f64::from(i) + 0.5) * w, y0 + (f64::from(j) + 0.5) * h);
            let ring: LineString<f64> = (0..=40)
                .map(|k| {
                    let t = std::f64::consts::TAU * f64::from(k % 40) / 40.0;
                    let r = 0.45 + 0.04 * (7.0 * t + f64::from(i * j)).sin();
                    (cx + r * w * t.cos(), cy + r * h * t.sin())
                })
                .collect();
            let polygon = MultiPolygon(vec![Polygon::new(ring, vec![])]);
            cells.push((
                format!("4201000010{i:02}{j:02}"),
                Geometry::MultiPolygon(polygon),
            ));
        }
    }
    cells
}

fn encode(tile: TileCoord, cells: &[(String, Geometry<f64>)]) -> Vec<u8> {
    let mut layer = LayerBuilder::new("grids", tile, EncodeOptions::default());
    for (code, geometry) in cells {
        let attrs = [
            ("code", Value::String(code)),
            ("name", Value::String("东湖社区网格")),
            ("level", Value::String("grid")),
            ("kind", Value::String("residential")),
            ("parent_code", Value::String("420100001")),
        ];
        layer
            .add_feature(geometry, &attrs)
            .expect("polygons are supported");
    }
    Tile::from(layer.finish()).encode()
}

fn bench(c: &mut Criterion) {
    let tile = TileCoord::containing(114.09, 33.57, 14).expect("valid zoom");
    let cells = grid_cells(tile);
    let bytes = encode(tile, &cells);
    println!(
        "z14 tile: {} polygons in, {} bytes out",
        cells.len(),
        bytes.len()
    );
    c.bench_function("encode_z14_324_polygons", |b| {
        b.iter(|| encode(tile, &cells));
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
