//! The in-memory lookup against PostGIS `ST_Covers` on the same stored sample city: 10,000 random points
//! must get the same area at every level; every vertex of the micro-grids (shared edges) must get exactly one
//! area per level, one that PostGIS says covers the point.

use std::collections::{BTreeMap, BTreeSet};

use gridmap_core::{AreaIndex, Level};
use gridmap_tests::{Backend, each_store, note};
use rand::{Rng, SeedableRng};
use sqlx::Row;

/// Codes of every current area covering each point, per point, by PostGIS.
async fn st_covers(url: &str, points: &[(f64, f64)]) -> Vec<BTreeSet<String>> {
    let pool = sqlx::PgPool::connect(url).await.expect("connect");
    let xs: Vec<f64> = points.iter().map(|p| p.0).collect();
    let ys: Vec<f64> = points.iter().map(|p| p.1).collect();
    let rows = sqlx::query(
        "SELECT p.i, a.code FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS p(x, y, i)
         JOIN areas a ON a.valid_to IS NULL AND ST_Covers(a.geom, ST_SetSRID(ST_MakePoint(p.x, p.y), 4326))",
    )
    .bind(&xs)
    .bind(&ys)
    .fetch_all(&pool)
    .await
    .expect("ST_Covers query");
    let mut out = vec![BTreeSet::new(); points.len()];
    for row in rows {
        let i: i64 = row.get(0);
        out[usize::try_from(i - 1).expect("ordinality")].insert(row.get::<String, _>(1));
    }
    out
}

#[tokio::test]
async fn lookups_agree_with_postgis_st_covers() {
    each_store(|t| async move {
        if t.backend != Backend::Postgis {
            return;
        }
        let url = t.database_url.clone().expect("PostGIS test database");
        let city = gridmap_data::sample_city();
        t.store
            .write_city(&city, &note("test", 1))
            .await
            .expect("write");
        let index = AreaIndex::build(t.store.load_city().await.expect("load").areas);
        let level_of: BTreeMap<&str, (Level, bool)> = index
            .areas()
            .iter()
            .map(|a| (a.code.as_str(), (a.level, a.is_exclusive())))
            .collect();

        let bbox = city
            .areas
            .iter()
            .find(|a| a.level == Level::District)
            .and_then(|a| geo::BoundingRect::bounding_rect(&a.geometry))
            .expect("a district");
        let (x0, y0, x1, y1) = (bbox.min().x, bbox.min().y, bbox.max().x, bbox.max().y);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(20);
        let random: Vec<(f64, f64)> = (0..10_000)
            .map(|_| (rng.gen_range(x0..x1), rng.gen_range(y0..y1)))
            .collect();
        let covers = st_covers(&url, &random).await;
        let mut inside = 0;
        for (p, expected) in random.iter().zip(&covers) {
            let location = index.locate(geo_types::Coord { x: p.0, y: p.1 });
            let mut got: BTreeSet<String> = location
                .chain
                .iter()
                .map(|&id| index.area(id).code.clone())
                .collect();
            got.extend(
                location
                    .exclusive
                    .iter()
                    .map(|&id| index.area(id).code.clone()),
            );
            assert_eq!(&got, expected, "at {p:?}");
            inside += usize::from(!got.is_empty());
        }
        assert!(inside > 5_000, "{inside} of 10,000 points fell in the city");

        // Vertices: on shared edges PostGIS lists every neighbour; we must pick exactly one of them per level.
        let vertices: Vec<(f64, f64)> = city
            .areas
            .iter()
            .filter(|a| a.level == Level::MicroGrid)
            .flat_map(|a| {
                a.geometry.0.iter().flat_map(|poly| {
                    poly.exterior()
                        .0
                        .iter()
                        .map(|c| (c.x.to_bits(), c.y.to_bits()))
                })
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(|(x, y)| (f64::from_bits(x), f64::from_bits(y)))
            .collect();
        let covers = st_covers(&url, &vertices).await;
        for (p, covering) in vertices.iter().zip(&covers) {
            let location = index.locate(geo_types::Coord { x: p.0, y: p.1 });
            let levels_present: BTreeSet<Level> = covering
                .iter()
                .filter(|c| !level_of[c.as_str()].1)
                .map(|c| level_of[c.as_str()].0)
                .collect();
            let chain_levels: Vec<Level> = location
                .chain
                .iter()
                .map(|&id| index.area(id).level)
                .collect();
            assert_eq!(
                chain_levels,
                levels_present.iter().copied().collect::<Vec<_>>(),
                "one area per level at {p:?}"
            );
            for &id in &location.chain {
                assert!(
                    covering.contains(&index.area(id).code),
                    "{} does not cover {p:?}",
                    index.area(id).code
                );
            }
        }
    })
    .await;
}
