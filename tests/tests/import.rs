//! Importing real boundaries (Chicago police districts and beats) and rejecting bad input.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gridmap_core::import::{ImportOptions, prepare};
use gridmap_core::{Area, CodeScheme, Crs, Level};
use gridmap_server::sources::{SourceError, read_features, read_geojson_bytes};

fn chicago_dir() -> Option<PathBuf> {
    gridmap_tests::shared_dataset("chicago-police", "police_beats.geojson")
}

fn options(level: Level, code_field: &str, parent_field: Option<&str>) -> ImportOptions {
    ImportOptions {
        level,
        code_field: code_field.to_owned(),
        name_field: None,
        parent_field: parent_field.map(str::to_owned),
        kind: None,
        scheme: CodeScheme::Verbatim,
        crs: Crs::Wgs84,
    }
}

/// Beat → district as the file says (`DISTRICT` "01" names district "1"), read with `serde_json`
/// alone, independently of the importer.
fn beat_districts(path: &Path) -> BTreeMap<String, String> {
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).expect("read beats")).expect("json");
    json["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| {
            let p = &f["properties"];
            let district = p["DISTRICT"].as_str().expect("DISTRICT");
            let district = district.trim_start_matches('0').to_owned();
            (
                p["BEAT_NUM"].as_str().expect("BEAT_NUM").to_owned(),
                district,
            )
        })
        .collect()
}

async fn chicago_areas(dir: &Path) -> (Vec<Area>, Vec<Area>) {
    let districts = read_features(&dir.join("police_districts.geojson"), None)
        .await
        .expect("read districts");
    assert_eq!(districts.len(), 25);
    let (districts, report) = prepare(districts, &options(Level::District, "DIST_NUM", None), &[])
        .unwrap_or_else(|r| panic!("districts rejected: {r:?}"));
    // 22 districts plus district 31 (O'Hare airport), whose 3 features become one area.
    assert_eq!(districts.len(), 23);
    assert_eq!(report.multipart, vec!["31".to_owned()]);
    let d31 = districts
        .iter()
        .find(|a| a.code == "31")
        .expect("district 31");
    assert_eq!(
        d31.geometry.0.len(),
        3,
        "district 31 is one area of 3 parts"
    );
    assert!(districts.iter().all(|a| a.parent.is_none()));

    let beats = read_features(&dir.join("police_beats.geojson"), None)
        .await
        .expect("read beats");
    assert_eq!(beats.len(), 277);
    let (beats, report) = prepare(
        beats,
        &options(Level::Grid, "BEAT_NUM", Some("DISTRICT")),
        &districts,
    )
    .unwrap_or_else(|r| panic!("beats rejected: {:#?}", r.problems));
    // 277 features, beat 3100's three parts merged: 275 beats (SOURCE.md's "274 distinct" miscounts;
    // the file's distinct BEAT_NUM values are checked independently below).
    assert_eq!(beats.len(), 275);
    assert_eq!(report.multipart, vec!["3100".to_owned()]);
    (districts, beats)
}

#[tokio::test]
async fn chicago_districts_and_beats_import_with_their_parents() {
    let Some(dir) = chicago_dir() else { return };
    let (districts, beats) = chicago_areas(&dir).await;
    let expected = beat_districts(&dir.join("police_beats.geojson"));
    assert_eq!(expected.len(), beats.len());
    for beat in &beats {
        assert_eq!(
            beat.parent.as_deref(),
            Some(expected[&beat.code].as_str()),
            "beat {}",
            beat.code
        );
    }
    // Without the parent field, containment finds the same districts (simplified beats keep it fast).
    let simplified = read_features(&dir.join("police_beats_simplified.geojson"), None)
        .await
        .expect("read simplified beats");
    let (by_containment, report) = prepare(
        simplified,
        &options(Level::Grid, "BEAT_NUM", None),
        &districts,
    )
    .unwrap_or_else(|r| panic!("simplified beats rejected: {:#?}", r.problems));
    assert_eq!(report.parents_by_containment, by_containment.len());
    for beat in &by_containment {
        assert_eq!(
            beat.parent.as_deref(),
            Some(expected[&beat.code].as_str()),
            "beat {}",
            beat.code
        );
    }
}

fn fc(features: &[&str]) -> Vec<u8> {
    format!(
        r#"{{"type":"FeatureCollection","features":[{}]}}"#,
        features.join(",")
    )
    .into_bytes()
}

fn poly(id: &str, extra: &str, rings: &str) -> String {
    format!(
        r#"{{"type":"Feature","properties":{{"id":"{id}"{extra}}},"geometry":{{"type":"Polygon","coordinates":{rings}}}}}"#
    )
}

const SQUARE: &str = "[[[0,0],[1,0],[1,1],[0,1],[0,0]]]";

/// Every reason, one per line, from reading and validating `bytes` as districts.
fn rejection(bytes: &[u8], level: Level, parent_field: Option<&str>, existing: &[Area]) -> String {
    let reasons = match read_geojson_bytes(bytes) {
        Err(e) => e.problems(),
        Ok(features) => match prepare(features, &options(level, "id", parent_field), existing) {
            Ok(_) => panic!("accepted bad input"),
            Err(report) => report.problems,
        },
    };
    reasons
        .iter()
        .map(|p| format!("{} {}", p.field, p.reason))
        .collect::<Vec<_>>()
        .join("\n")
}

/// (case, file, level, parent field, expected reason)
type Case<'a> = (&'a str, Vec<u8>, Level, Option<&'a str>, &'a str);

#[test]
fn bad_geojson_is_rejected_with_field_and_reason() {
    let district = read_geojson_bytes(&fc(&[&poly("1", "", "[[[0,0],[2,0],[2,2],[0,2],[0,0]]]")]))
        .expect("district");
    let (districts, _) =
        prepare(district, &options(Level::District, "id", None), &[]).expect("valid district");
    let cases: Vec<Case> = vec![
        (
            "self-intersection",
            fc(&[&poly("a", "", "[[[0,0],[1,1],[1,0],[0,1],[0,0]]]")]),
            Level::District,
            None,
            "self-intersecting",
        ),
        (
            "unclosed ring",
            fc(&[&poly("a", "", "[[[0,0],[1,0],[1,1],[0,1]]]")]),
            Level::District,
            None,
            "not closed",
        ),
        (
            "ring of 3 positions",
            fc(&[&poly("a", "", "[[[0,0],[1,0],[0,0]]]")]),
            Level::District,
            None,
            "needs at least 4",
        ),
        (
            "out-of-range latitude",
            fc(&[&poly("a", "", "[[[0,0],[1,0],[1,91],[0,0]]]")]),
            Level::District,
            None,
            "latitude 91 is out of range",
        ),
        (
            "duplicate codes that overlap",
            fc(&[
                &poly("a", "", SQUARE),
                &poly("a", "", "[[[0.5,0],[1.5,0],[1.5,1],[0.5,1],[0.5,0]]]"),
            ]),
            Level::District,
            None,
            "share code `a` and overlap",
        ),
        (
            "missing parent",
            fc(&[&poly("g", r#","d":"9""#, SQUARE)]),
            Level::Grid,
            Some("d"),
            "missing parent",
        ),
        (
            "child outside parent",
            fc(&[&poly(
                "g",
                r#","d":"1""#,
                "[[[1.5,1.5],[2.5,1.5],[2.5,2.5],[1.5,2.5],[1.5,1.5]]]",
            )]),
            Level::Grid,
            Some("d"),
            "lies outside its parent district `1` by up to",
        ),
        (
            "missing code field",
            fc(&[
                r#"{"type":"Feature","properties":{"name":"x"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}"#,
            ]),
            Level::District,
            None,
            "id missing code field `id`",
        ),
        (
            "malformed JSON",
            b"{\"type\": \"FeatureCollection\", \"features\": [".to_vec(),
            Level::District,
            None,
            "EOF",
        ),
        (
            "not GeoJSON",
            br#"{"type":"Topology"}"#.to_vec(),
            Level::District,
            None,
            "type expected a FeatureCollection or Feature",
        ),
    ];
    for (name, bytes, level, parent, reason) in cases {
        let got = rejection(&bytes, level, parent, &districts);
        assert!(
            got.contains(reason),
            "{name}: expected `{reason}` in\n{got}"
        );
    }
}

#[test]
fn clockwise_exterior_is_accepted_and_rewound() {
    let cw = fc(&[&poly("a", "", "[[[0,0],[0,1],[1,1],[1,0],[0,0]]]")]);
    let features = read_geojson_bytes(&cw).expect("parses");
    let (areas, report) = prepare(features, &options(Level::District, "id", None), &[])
        .expect("winding is not an error");
    assert_eq!(report.rewound_rings, 1);
    let ring = &areas[0].geometry.0[0].exterior().0;
    // Shoelace: positive for counter-clockwise.
    let twice_area: f64 = ring
        .windows(2)
        .map(|w| w[0].x * w[1].y - w[1].x * w[0].y)
        .sum();
    assert!(twice_area > 0.0, "exterior must be counter-clockwise");
}

#[test]
fn unsupported_files_are_named() {
    let err = tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(read_features(Path::new("boundaries.kml"), None))
        .expect_err("kml");
    assert!(matches!(err, SourceError::UnsupportedFormat(ref e) if e == "kml"));
}

/// Shenzhen's districts come in GCJ-02 (SOURCE.md): `--crs gcj02` stores WGS-84, i.e. every stored vertex maps
/// back to the file's vertex under the forward GCJ-02 formula, a few hundred metres away.
#[tokio::test]
async fn gcj02_boundaries_are_stored_in_wgs84() {
    let Some(dir) =
        gridmap_tests::shared_dataset("china-admin", "shenzhen_440300_districts_gcj02.geojson")
    else {
        return;
    };
    let path = dir.join("shenzhen_440300_districts_gcj02.geojson");
    let source = read_features(&path, None).await.expect("read Shenzhen");
    let raw = source.clone();
    let mut opts = options(Level::District, "adcode", None);
    opts.crs = Crs::Gcj02;
    opts.scheme = CodeScheme::National;
    let (areas, _) =
        prepare(source, &opts, &[]).unwrap_or_else(|r| panic!("rejected: {:#?}", r.problems));
    assert_eq!(areas.len(), 9);
    let raw_first = raw[0].geometry.as_ref().expect("geometry");
    let geo_types::Geometry::MultiPolygon(raw_first) = raw_first else {
        panic!("MultiPolygon expected")
    };
    let stored = &areas
        .iter()
        .find(|a| a.code == raw[0].properties["adcode"])
        .expect("same code")
        .geometry;
    let raw_ring = &raw_first.0[0].exterior().0;
    let stored_ring = &stored.0[0].exterior().0;
    let mut max_back = 0.0_f64;
    let mut shifts = Vec::new();
    for c in stored_ring {
        let back = Crs::Gcj02.from_wgs84(*c);
        let nearest = raw_ring
            .iter()
            .map(|r| ((r.x - back.x).powi(2) + (r.y - back.y).powi(2)).sqrt())
            .fold(f64::INFINITY, f64::min);
        max_back = max_back.max(nearest);
        shifts.push(((back.x - c.x) * 102_000.0).hypot((back.y - c.y) * 111_000.0));
    }
    assert!(
        max_back < 1e-7,
        "stored vertices map back onto the GCJ-02 file within 1 cm (off by {max_back}°)"
    );
    assert!(
        shifts.iter().all(|s| (200.0..800.0).contains(s)),
        "GCJ-02 offsets in Shenzhen are a few hundred metres"
    );
}
