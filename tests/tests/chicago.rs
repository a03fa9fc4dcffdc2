//! A planner's day on real data, end to end on both stores: `gridmap import` the Chicago police districts
//! and beats through the CLI code path, answer lookups over HTTP for recorded crimes (the police's own beat
//! on each record is the independent oracle), reject a bad file without touching the store, export.

use std::path::{Path, PathBuf};

use clap::Parser;
use gridmap_server::cli::Cli;
use gridmap_server::state::ApiConfig;
use gridmap_tests::{TestServer, TestStore, each_store};
use serde_json::json;

fn chicago_dir() -> Option<PathBuf> {
    gridmap_tests::shared_dataset("chicago-police", "police_beats.geojson")
}

/// `--gpkg PATH` or `--database-url URL` for the store under test.
fn store_flags(t: &TestStore) -> Vec<String> {
    match (&t.gpkg_path, &t.database_url) {
        (Some(path), _) => vec!["--gpkg".into(), path.display().to_string()],
        (None, Some(url)) => vec!["--database-url".into(), url.clone()],
        (None, None) => unreachable!("a test store is a file or a database"),
    }
}

async fn gridmap(args: &[String]) -> anyhow::Result<()> {
    let mut argv = vec!["gridmap".to_owned(), "--log-format".into(), "text".into()];
    argv.extend_from_slice(args);
    gridmap_server::cli::run(Cli::try_parse_from(argv)?).await
}

/// Minimal CSV splitting with quotes (the crime files quote their `Location` column).
fn split_csv(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(String::new()),
            _ => fields.last_mut().expect("one field").push(c),
        }
    }
    fields
}

/// (lon, lat, recorded beat, recorded district) of every 2014 crime with coordinates.
fn crimes_2014(dir: &Path) -> Vec<(f64, f64, String, String)> {
    let text = std::fs::read_to_string(dir.join("crimes_2014_sample.csv")).expect("crimes csv");
    let mut lines = text.lines();
    let header = split_csv(lines.next().expect("header"));
    let col = |name: &str| header.iter().position(|h| h == name).expect(name);
    let (beat, district, lat, lon) = (
        col("Beat"),
        col("District"),
        col("Latitude"),
        col("Longitude"),
    );
    lines
        .map(split_csv)
        .filter_map(|f| {
            let lat: f64 = f.get(lat)?.parse().ok()?;
            let lon: f64 = f.get(lon)?.parse().ok()?;
            Some((
                lon,
                lat,
                f[beat].clone(),
                f[district].trim_start_matches('0').to_owned(),
            ))
        })
        .collect()
}

#[tokio::test]
async fn chicago_imports_through_the_cli_and_answers_lookups() {
    let Some(dir) = chicago_dir() else { return };
    each_store(move |t| {
        let dir = dir.clone();
        async move {
            let flags = store_flags(&t);
            let file = |name: &str| dir.join(name).display().to_string();
            let mut args = vec!["import".into(), file("police_districts.geojson")];
            args.extend(["--level", "district", "--code-field", "DIST_NUM", "--codes", "verbatim"].map(String::from));
            args.extend(flags.clone());
            gridmap(&args).await.expect("districts import");
            let mut args = vec!["import".into(), file("police_beats.geojson")];
            args.extend(
                ["--level", "grid", "--code-field", "BEAT_NUM", "--parent-field", "DISTRICT", "--codes", "verbatim"]
                    .map(String::from),
            );
            args.extend(flags.clone());
            gridmap(&args).await.expect("beats import");

            let before = t.store.load_city().await.expect("load");
            let version_before = t.store.data_version().await.expect("version");
            assert_eq!(before.areas.len(), 23 + 275);

            // A bad file (one beat turned into a bow-tie) is rejected whole: nothing changes.
            let mut beats: serde_json::Value =
                serde_json::from_slice(&std::fs::read(dir.join("police_beats_simplified.geojson")).expect("read"))
                    .expect("json");
            beats["features"][5]["geometry"] = json!({"type": "Polygon", "coordinates": [[[-87.7, 41.9], [-87.6, 42.0], [-87.6, 41.9], [-87.7, 42.0], [-87.7, 41.9]]]});
            let bad = tempfile::NamedTempFile::with_suffix(".geojson").expect("temp file");
            std::fs::write(bad.path(), serde_json::to_vec(&beats).expect("json")).expect("write");
            let mut args = vec!["import".into(), bad.path().display().to_string()];
            args.extend(
                ["--level", "grid", "--code-field", "BEAT_NUM", "--parent-field", "DISTRICT", "--codes", "verbatim"]
                    .map(String::from),
            );
            args.extend(flags.clone());
            let err = gridmap(&args).await.expect_err("a self-intersecting beat must be rejected");
            assert!(err.to_string().contains("feature 5"), "{err}");
            assert_eq!(t.store.load_city().await.expect("load"), before, "store unchanged");
            assert_eq!(t.store.data_version().await.expect("version"), version_before);

            // Lookups over HTTP against the police's own records (SOURCE.md: 99.94 % strict agreement).
            let server = TestServer::start(t.store.clone(), ApiConfig::default()).await;
            let crimes = crimes_2014(&dir);
            assert!(crimes.len() > 6_000);
            let points: Vec<[f64; 2]> = crimes.iter().map(|c| [c.0, c.1]).collect();
            let (status, _, body) = server
                .post("/v1/locate", "application/json", serde_json::to_vec(&json!({"points": points})).expect("json"))
                .await;
            assert_eq!(status, 200);
            let results = body["results"].as_array().expect("results");
            let beat_hits = crimes.iter().zip(results).filter(|(c, r)| r["grid"] == c.2.as_str()).count();
            let district_hits = crimes.iter().zip(results).filter(|(c, r)| r["district"] == c.3.as_str()).count();
            let share = beat_hits as f64 / crimes.len() as f64;
            assert!(share >= 0.999, "beat agreement {share} ({beat_hits}/{})", crimes.len());
            assert!(district_hits as f64 / crimes.len() as f64 >= 0.999);
            // Each beat's responsible grid is itself, its chain district → beat.
            let (_, _, one) = server.get(&format!("/v1/locate?lon={}&lat={}", crimes[0].0, crimes[0].1)).await;
            assert_eq!(one["chain"].as_array().expect("chain").len(), 2);
            assert_eq!(one["responsible"]["level"], "grid");

            // Export: GeoJSON with every area, and a new GeoPackage that holds the same city.
            let out = tempfile::tempdir().expect("dir");
            let geojson = out.path().join("chicago.geojson");
            let mut args = vec!["export".into(), "--format".into(), "geojson".into(), "--out".into(), geojson.display().to_string()];
            args.extend(flags.clone());
            gridmap(&args).await.expect("export geojson");
            let exported: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&geojson).expect("read export")).expect("export is JSON");
            assert_eq!(exported["features"].as_array().expect("features").len(), before.areas.len());
            let gpkg = out.path().join("chicago.gpkg");
            let mut args = vec!["export".into(), "--format".into(), "gpkg".into(), "--out".into(), gpkg.display().to_string()];
            args.extend(flags);
            gridmap(&args).await.expect("export gpkg");
            let copy = gridmap_server::store::GpkgStore::open(&gpkg, false).await.expect("open export");
            let copied = gridmap_server::store::AreaStore::load_city(&copy).await.expect("load export");
            assert_eq!(copied.areas, before.areas);
        }
    })
    .await;
}
