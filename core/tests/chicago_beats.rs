//! Lookup correctness on real boundaries: the Chicago police beats (grids) and districts, against geo's
//! predicates (an independent code path) and against the beat recorded on each 2014 crime report.
//! Data: ../shared/data/external/chicago-police (see its SOURCE.md).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use geo::{BoundingRect, Contains};
use geo_types::{Coord, LineString, MultiPolygon, Point, Polygon, Rect, coord};
use gridmap_core::fixture::SplitMix;
use gridmap_core::{Area, AreaId, AreaIndex, Level};
use serde_json::Value;

#[path = "../../tests/src/skip.rs"]
mod skip;

fn data_dir() -> Option<PathBuf> {
    let dir = skip::shared_external("chicago-police");
    if dir.join("police_beats.geojson").exists() {
        return Some(dir);
    }
    skip::skip(skip::NO_SHARED_DATA, &format!("{} absent", dir.display()));
    None
}

fn ring(v: &Value) -> LineString<f64> {
    v.as_array()
        .expect("ring")
        .iter()
        .map(|c| coord! { x: c[0].as_f64().expect("lon"), y: c[1].as_f64().expect("lat") })
        .collect::<Vec<Coord<f64>>>()
        .into()
}

fn polygon(v: &Value) -> Polygon<f64> {
    let rings = v.as_array().expect("rings");
    Polygon::new(ring(&rings[0]), rings[1..].iter().map(ring).collect())
}

/// Features grouped by `key` into one `MultiPolygon` each (beat 3100 has three parts).
fn load(path: &Path, key: &str) -> BTreeMap<String, (MultiPolygon<f64>, Value)> {
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("geojson");
    let mut out: BTreeMap<String, (MultiPolygon<f64>, Value)> = BTreeMap::new();
    for f in json["features"].as_array().expect("features") {
        let id = f["properties"][key].as_str().expect("key").to_owned();
        let g = &f["geometry"];
        let parts: Vec<Polygon<f64>> = match g["type"].as_str() {
            Some("Polygon") => vec![polygon(&g["coordinates"])],
            Some("MultiPolygon") => g["coordinates"]
                .as_array()
                .expect("parts")
                .iter()
                .map(polygon)
                .collect(),
            other => panic!("unexpected geometry {other:?}"),
        };
        out.entry(id)
            .or_insert_with(|| (MultiPolygon(vec![]), f["properties"].clone()))
            .0
            .0
            .extend(parts);
    }
    out
}

fn build(dir: &Path) -> AreaIndex {
    let area = |code: String, level, parent, geometry| Area {
        name: code.clone(),
        code,
        level,
        kind: (level == Level::Grid).then_some(gridmap_core::GridKind::Residential),
        parent,
        geometry,
        staff: vec![],
    };
    let beats = load(&dir.join("police_beats.geojson"), "BEAT_NUM");
    // 277 features; beat 3100 has three of them (SOURCE.md says 274 distinct, but the file holds 275).
    assert_eq!(beats.len(), 275);
    assert_eq!(beats["3100"].0.0.len(), 3);
    let districts = load(&dir.join("police_districts.geojson"), "DIST_NUM");
    let mut areas: Vec<Area> = districts
        .into_iter()
        .map(|(code, (g, _))| area(format!("D{code:0>3}"), Level::District, None, g))
        .collect();
    for (code, (g, props)) in beats {
        let parent = format!("D{:0>3}", props["DISTRICT"].as_str().expect("district"));
        areas.push(area(code, Level::Grid, Some(parent), g));
    }
    AreaIndex::build(areas)
}

/// The beat (or district) whose interior holds `p`, by geo's `Contains`, brute force.
fn oracle(index: &AreaIndex, bboxes: &[Rect<f64>], level: Level, p: Coord<f64>) -> Vec<AreaId> {
    (0..index.areas().len() as AreaId)
        .filter(|&id| {
            let r = bboxes[id as usize];
            index.area(id).level == level
                && p.x >= r.min().x
                && p.x <= r.max().x
                && p.y >= r.min().y
                && p.y <= r.max().y
                && index.area(id).geometry.contains(&Point(p))
        })
        .collect()
}

fn at(index: &AreaIndex, chain: &[AreaId], level: Level) -> Option<AreaId> {
    chain
        .iter()
        .copied()
        .find(|&id| index.area(id).level == level)
}

/// Splits one CSV line, honouring double quotes.
fn fields(line: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted) = (Vec::new(), String::new(), false);
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

#[test]
fn random_points_agree_with_geo() {
    let Some(dir) = data_dir() else { return };
    let index = build(&dir);
    let bboxes: Vec<Rect<f64>> = index
        .areas()
        .iter()
        .map(|a| a.geometry.bounding_rect().expect("bbox"))
        .collect();
    let mut rng = SplitMix::new(7);
    let (mut inside, mut outside) = (0, 0);
    for _ in 0..3_000 {
        let p = coord! { x: -87.94 + rng.unit() * 0.42, y: 41.64 + rng.unit() * 0.39 };
        let loc = index.locate(p);
        for level in [Level::District, Level::Grid] {
            let expected = oracle(&index, &bboxes, level, p);
            assert!(expected.len() <= 1, "overlap at {p:?}");
            assert_eq!(
                at(&index, &loc.chain, level),
                expected.first().copied(),
                "{level} at {p:?}"
            );
        }
        if at(&index, &loc.chain, Level::Grid).is_some() {
            inside += 1;
        } else {
            outside += 1;
            let nearest = loc.nearest.expect("nearest beat outside the city");
            assert!(nearest.distance_m > 0.0);
            assert_eq!(index.area(nearest.area).level, Level::Grid);
        }
    }
    assert!(inside > 1_000 && outside > 100, "{inside} / {outside}");
}

#[test]
fn crimes_2014_land_in_their_recorded_beat() {
    let Some(dir) = data_dir() else { return };
    let index = build(&dir);
    let bboxes: Vec<Rect<f64>> = index
        .areas()
        .iter()
        .map(|a| a.geometry.bounding_rect().expect("bbox"))
        .collect();
    let text = std::fs::read_to_string(dir.join("crimes_2014_sample.csv")).expect("csv");
    let mut lines = text.lines();
    let header = fields(lines.next().expect("header"));
    let col = |name: &str| header.iter().position(|h| h == name).expect("column");
    let (beat_col, district_col, lat_col, lon_col) = (
        col("Beat"),
        col("District"),
        col("Latitude"),
        col("Longitude"),
    );
    let (mut total, mut beat_ok, mut district_ok, mut district_total) = (0u32, 0u32, 0u32, 0u32);
    for line in lines {
        let f = fields(line);
        let (Ok(lat), Ok(lon)) = (f[lat_col].parse::<f64>(), f[lon_col].parse::<f64>()) else {
            continue;
        };
        let p = coord! { x: lon, y: lat };
        let loc = index.locate(p);
        let ours = at(&index, &loc.chain, Level::Grid);
        let expected = oracle(&index, &bboxes, Level::Grid, p);
        if expected.len() == 1 {
            assert_eq!(
                ours,
                Some(expected[0]),
                "engine disagrees with geo at {p:?}"
            );
        }
        total += 1;
        beat_ok += u32::from(ours.is_some_and(|id| index.area(id).code == f[beat_col]));
        if !f[district_col].is_empty() {
            district_total += 1;
            let recorded = format!("D{:0>3}", f[district_col].trim_start_matches('0'));
            district_ok += u32::from(
                at(&index, &loc.chain, Level::District)
                    .is_some_and(|id| index.area(id).code == recorded),
            );
        }
    }
    assert_eq!(total, 6_884, "rows with coordinates (SOURCE.md)");
    let beat_rate = f64::from(beat_ok) / f64::from(total);
    println!("beat agreement {beat_ok}/{total}, district {district_ok}/{district_total}");
    // SOURCE.md: a strict point-in-polygon engine agrees on 99.94 % (4 mismatches).
    assert!(beat_rate >= 0.999, "beat agreement {beat_rate}");
    assert!(
        f64::from(district_ok) / f64::from(district_total) >= 0.999,
        "district {district_ok}/{district_total}"
    );
}
