//! The sample city: determinism against the committed files, counts, codes, tiling, addresses,
//! staff. Every geometric check uses `geo` (a different code path from the generator's lattice).
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::OnceLock;

use geo::{
    Area as _, BooleanOps, BoundingRect, Centroid, Closest, Contains, Covers, Distance, Geodesic,
    HaversineClosestPoint, Intersects, Line, Validation, Winding,
};
use geo_types::{Coord, MultiPolygon, Point, Rect};
use gridmap_core::{Area, City, CodeScheme, GridKind, Level, StaffRole};
use gridmap_data::{
    CityParams, RIVER_NAME, SAMPLE_ADDRESSES, SAMPLE_AREAS, SAMPLE_ROADS, SAMPLE_WATER,
    city_to_geojson, generate, order, sample_city, sample_water, water, water_to_geojson,
};

fn city() -> &'static City {
    static CITY: OnceLock<City> = OnceLock::new();
    CITY.get_or_init(sample_city)
}

fn river() -> &'static MultiPolygon<f64> {
    static RIVER: OnceLock<MultiPolygon<f64>> = OnceLock::new();
    RIVER.get_or_init(sample_water)
}

fn by_code(city: &City) -> BTreeMap<&str, &Area> {
    city.areas.iter().map(|a| (a.code.as_str(), a)).collect()
}

fn children(city: &City) -> BTreeMap<&str, Vec<&Area>> {
    let mut out: BTreeMap<&str, Vec<&Area>> = BTreeMap::new();
    for a in &city.areas {
        if let Some(p) = &a.parent {
            out.entry(p.as_str()).or_default().push(a);
        }
    }
    out
}

fn bbox(mp: &MultiPolygon<f64>) -> Rect<f64> {
    mp.bounding_rect().unwrap()
}

fn vertex_key(c: Coord<f64>) -> (u64, u64) {
    (c.x.to_bits(), c.y.to_bits())
}

fn vertices(mp: &MultiPolygon<f64>) -> impl Iterator<Item = Coord<f64>> + '_ {
    mp.iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .flat_map(|r| r.0.iter().copied())
}

fn segments(mp: &MultiPolygon<f64>) -> impl Iterator<Item = Line<f64>> + '_ {
    mp.iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .flat_map(geo::LineString::lines)
}

#[test]
fn committed_sample_is_the_generated_city() {
    let generated = generate(&CityParams::sample());
    let files = city_to_geojson(&generated);
    // Byte for byte: regenerate with `cargo run -p gridmap-data --example write-sample`.
    assert!(files.areas == SAMPLE_AREAS, "areas.geojson is stale");
    assert!(
        files.addresses == SAMPLE_ADDRESSES,
        "addresses.geojson is stale"
    );
    assert!(files.roads == SAMPLE_ROADS, "roads.geojson is stale");
    let water_file = water_to_geojson(RIVER_NAME, &water(&CityParams::sample()));
    assert!(water_file == SAMPLE_WATER, "water.geojson is stale");
    assert_eq!(
        gridmap_data::water_from_geojson(SAMPLE_WATER).unwrap(),
        (RIVER_NAME.to_owned(), water(&CityParams::sample()))
    );
    // The river is the city's excluded ground.
    assert_eq!(
        generated.excluded,
        vec![gridmap_core::ExcludedGround {
            name: RIVER_NAME.to_owned(),
            kind: gridmap_core::ExcludedKind::Water,
            geometry: water(&CityParams::sample()),
        }]
    );
    // Reading the files back gives the generated city exactly (coordinates are 7-decimal already).
    assert!(*city() == generated, "GeoJSON round trip changed the city");
    let total = SAMPLE_AREAS.len() + SAMPLE_ADDRESSES.len() + SAMPLE_ROADS.len();
    assert!(total < 10_000_000, "sample is {total} bytes");
    // One feature per line.
    assert_eq!(SAMPLE_AREAS.lines().count(), city().areas.len() + 2);
}

#[test]
fn counts_are_in_range() {
    let city = city();
    let count = |pred: &dyn Fn(&Area) -> bool| city.areas.iter().filter(|a| pred(a)).count();
    let district = count(&|a| a.level == Level::District);
    let streets = count(&|a| a.level == Level::Street);
    let communities = count(&|a| a.level == Level::Community);
    let grids = count(&|a| a.level == Level::Grid && !a.is_exclusive());
    let exclusive = count(&|a| a.is_exclusive());
    let micro = count(&|a| a.level == Level::MicroGrid);
    let villages = count(&|a| a.level == Level::Community && a.name.ends_with('村'));
    println!(
        "{streets} streets, {communities} communities ({villages} villages), {grids} grids, \
         {exclusive} exclusive, {micro} micro-grids, {} addresses, {} roads",
        city.addresses.len(),
        city.roads.len()
    );
    assert_eq!(district, 1);
    assert!((5..=8).contains(&streets));
    assert!((32..=50).contains(&communities));
    assert!((5..communities).contains(&villages));
    assert!((300..=500).contains(&grids));
    assert!((15..=25).contains(&exclusive));
    // The lattice has 3,800-4,400 cells; the river (8 cells wide) takes about 600 of them.
    assert!((3_300..=4_400).contains(&micro));
    assert!(city.addresses.len() >= 20_000);
    assert!(city.roads.len() >= 8);
    let kinds: BTreeSet<&str> = city
        .areas
        .iter()
        .filter_map(|a| a.kind)
        .map(GridKind::as_str)
        .collect();
    for k in [
        "residential",
        "commercial",
        "village",
        "market",
        "school",
        "hospital",
        "industrial_park",
    ] {
        assert!(kinds.contains(k), "no {k} grid");
    }
}

#[test]
fn codes_are_national_unique_and_extend_parents() {
    let city = city();
    let codes = by_code(city);
    assert_eq!(codes.len(), city.areas.len(), "duplicate codes");
    for a in &city.areas {
        CodeScheme::National
            .check(&a.code, a.level, a.parent.as_deref())
            .unwrap();
        match &a.parent {
            None => assert_eq!(a.level, Level::District),
            Some(p) => {
                let parent = codes[p.as_str()];
                let expected = if a.is_exclusive() {
                    Level::Community
                } else {
                    Level::ALL[a.level.depth() - 1]
                };
                assert_eq!(parent.level, expected, "{}", a.code);
                assert_eq!(a.code.len(), p.len() + 3);
            }
        }
        assert_eq!(a.kind.is_some(), a.level == Level::Grid, "{}", a.code);
        if a.level == Level::Grid {
            assert_eq!(
                a.is_exclusive(),
                a.code.as_bytes()[12] == b'9',
                "{}",
                a.code
            );
        }
    }
    assert!(codes.contains_key("411104"));
}

#[test]
fn geometry_is_valid_and_wound_as_rfc_7946() {
    for a in &city().areas {
        assert!(a.geometry.is_valid(), "{} invalid", a.code);
        for p in &a.geometry {
            assert!(p.exterior().is_ccw(), "{} exterior not CCW", a.code);
            for h in p.interiors() {
                assert!(h.is_cw(), "{} hole not CW", a.code);
            }
        }
        let (x, y) = (
            a.geometry.bounding_rect().unwrap().center().x,
            a.geometry.bounding_rect().unwrap().center().y,
        );
        assert!(
            (x - 114.09).abs() < 0.1 && (y - 33.57).abs() < 0.1,
            "{} is far from Zhaoling",
            a.code
        );
    }
}

/// Per level: children's areas sum to the parent's (a community's grids plus the river inside it
/// make up the community), no two siblings overlap, every child is covered by its parent.
/// Together: no gaps but the river, no overlaps.
#[test]
fn children_tile_their_parent() {
    let city = city();
    let codes = by_code(city);
    let mut wet = 0;
    for (parent, kids) in children(city) {
        let parent = codes[parent];
        let ordinary: Vec<&Area> = kids.iter().copied().filter(|a| !a.is_exclusive()).collect();
        let mut sum: f64 = ordinary.iter().map(|a| a.geometry.unsigned_area()).sum();
        let water = if parent.level == Level::Community {
            river().intersection(&parent.geometry).unsigned_area()
        } else {
            0.0
        };
        let whole = parent.geometry.unsigned_area();
        if water > whole * 1e-6 {
            wet += 1;
        }
        sum += water;
        // `river ∩ community` comes from i_overlay, which snaps to a fixed-point grid spanning
        // the whole river (≈ 1e-10°): good to a few 1e-9 of a community's area. The district
        // check below has no intersection and holds to 1e-9.
        let tolerance = if water > 0.0 { 1e-8 } else { 1e-9 };
        assert!(
            ((sum - whole) / whole).abs() < tolerance,
            "{}: children sum {sum} vs {whole}",
            parent.code
        );
        for (k, a) in ordinary.iter().enumerate() {
            for b in &ordinary[k + 1..] {
                if bbox(&a.geometry).intersects(&bbox(&b.geometry)) {
                    let overlap = a.geometry.intersection(&b.geometry).unsigned_area();
                    assert!(overlap < whole * 1e-12, "{} overlaps {}", a.code, b.code);
                }
            }
        }
        for a in &kids {
            assert!(
                parent.geometry.covers(&a.geometry),
                "{} outside {}",
                a.code,
                parent.code
            );
        }
    }
    println!("the river runs through {wet} communities");
    assert!(wet >= 5, "the river crosses {wet} communities");
    // All grids and the river make up the district exactly.
    let grids: f64 = city
        .areas
        .iter()
        .filter(|a| a.level == Level::Grid && !a.is_exclusive())
        .map(|a| a.geometry.unsigned_area())
        .sum();
    let district = codes["411104"].geometry.unsigned_area();
    let sum = grids + river().unsigned_area();
    assert!(
        ((sum - district) / district).abs() < 1e-9,
        "grids and river {sum} vs district {district}"
    );
}

/// Where a boundary passes a vertex of a neighbour or of a child, it has that vertex too, so that
/// every edge is shared exactly (the lookup's boundary rule relies on it).
#[test]
fn shared_boundaries_carry_identical_vertices() {
    let city = city();
    let codes = by_code(city);
    let check = |a: &Area, b: &Area| {
        let b_vertices: HashSet<(u64, u64)> = vertices(&b.geometry).map(vertex_key).collect();
        let b_segments: Vec<Line<f64>> = segments(&b.geometry).collect();
        let bb = bbox(&b.geometry);
        for v in vertices(&a.geometry) {
            if bb.intersects(&v) && !b_vertices.contains(&vertex_key(v)) {
                assert!(
                    !b_segments.iter().any(|s| s.intersects(&v)),
                    "{} has {v:?} on the boundary of {} without the vertex",
                    a.code,
                    b.code
                );
            }
        }
    };
    for kids in children(city).values() {
        for a in kids {
            let parent = codes[a.parent.as_deref().unwrap()];
            check(a, parent);
            for b in kids {
                if a.code != b.code && bbox(&a.geometry).intersects(&bbox(&b.geometry)) {
                    check(a, b);
                }
            }
        }
    }
}

#[test]
fn codes_follow_reading_order() {
    let city = city();
    let codes = by_code(city);
    for (parent, kids) in children(city) {
        let north = bbox(&codes[parent].geometry).max().y;
        let band = match kids[0].level {
            Level::Street => order::STREET_BAND_DEG,
            Level::Community => order::COMMUNITY_BAND_DEG,
            Level::Grid => order::GRID_BAND_DEG,
            _ => order::MICRO_GRID_BAND_DEG,
        };
        for exclusive in [false, true] {
            let mut group: Vec<&Area> = kids
                .iter()
                .copied()
                .filter(|a| a.is_exclusive() == exclusive)
                .collect();
            let by_code: Vec<&str> = group.iter().map(|a| a.code.as_str()).collect();
            let key = |a: &Area| {
                let c = a.geometry.centroid().unwrap();
                (((north - c.y()) / band).floor(), c.x())
            };
            group.sort_by(|a, b| key(a).partial_cmp(&key(b)).unwrap());

            let by_rule: Vec<&str> = group.iter().map(|a| a.code.as_str()).collect();
            assert_eq!(by_code, by_rule, "children of {parent}");
            // Codes are consecutive from 001 (ordinary) or 901 (exclusive).
            for (k, code) in by_code.iter().enumerate() {
                let n: usize = code[code.len() - 3..].parse().unwrap();
                assert_eq!(n, k + if exclusive { 901 } else { 1 });
            }
        }
    }
}

#[test]
fn addresses_lie_strictly_inside_one_micro_grid() {
    let city = city();
    let micro: Vec<&Area> = city
        .areas
        .iter()
        .filter(|a| a.level == Level::MicroGrid)
        .collect();
    let tree = rstar::RTree::bulk_load(
        micro
            .iter()
            .enumerate()
            .map(|(k, a)| {
                let r = bbox(&a.geometry);
                rstar::primitives::GeomWithData::new(
                    rstar::primitives::Rectangle::from_corners(
                        [r.min().x, r.min().y],
                        [r.max().x, r.max().y],
                    ),
                    k,
                )
            })
            .collect(),
    );
    let roads: BTreeSet<&str> = city.roads.iter().map(|r| r.name.as_str()).collect();
    let mut full = HashSet::new();
    for addr in &city.addresses {
        let p = [addr.point.x(), addr.point.y()];
        let touching: Vec<usize> = tree
            .locate_all_at_point(&p)
            .map(|g| g.data)
            .filter(|&k| micro[k].geometry.intersects(&addr.point))
            .collect();
        assert_eq!(touching.len(), 1, "{} touches {touching:?}", addr.full);
        assert!(
            micro[touching[0]].geometry.contains(&addr.point),
            "{} on a boundary",
            addr.full
        );
        assert_eq!(
            addr.full,
            format!(
                "漯河市召陵区{}{}号{}",
                addr.road, addr.number, addr.building
            )
        );
        assert!(
            roads.contains(addr.road.as_str()),
            "{} on no road",
            addr.full
        );
        assert!(addr.building.ends_with("单元"));
        assert!(
            full.insert(addr.full.as_str()),
            "duplicate address {}",
            addr.full
        );
    }
}

#[test]
fn every_grid_has_a_leader_and_staff() {
    for a in city().areas.iter().filter(|a| a.level == Level::Grid) {
        let count = |role| a.staff.iter().filter(|s| s.role == role).count();
        assert_eq!(count(StaffRole::Leader), 1, "{}", a.code);
        assert!(count(StaffRole::FullTime) >= 1, "{}", a.code);
        assert!(count(StaffRole::PartTime) >= 1, "{}", a.code);
        assert_eq!(count(StaffRole::Police), 1, "{}", a.code);
        assert_eq!(count(StaffRole::Doctor), 1, "{}", a.code);
        for s in &a.staff {
            assert!((2..=3).contains(&s.name.chars().count()), "{}", s.name);
            assert!(
                s.phone.len() == 11
                    && s.phone.starts_with('1')
                    && s.phone.bytes().all(|b| b.is_ascii_digit())
            );
        }
    }
}

/// Street and community boundaries run along road centrelines, except on the district outline.
#[test]
fn roads_form_street_and_community_boundaries() {
    let city = city();
    let road_vertices: HashSet<(u64, u64)> = city
        .roads
        .iter()
        .flat_map(|r| r.geometry.0.iter().copied())
        .map(vertex_key)
        .collect();
    let district = city
        .areas
        .iter()
        .find(|a| a.level == Level::District)
        .unwrap();
    let outline: HashSet<(u64, u64)> = vertices(&district.geometry).map(vertex_key).collect();
    let mut on_roads = 0;
    for a in city
        .areas
        .iter()
        .filter(|a| matches!(a.level, Level::Street | Level::Community))
    {
        for v in vertices(&a.geometry).map(vertex_key) {
            if !outline.contains(&v) {
                assert!(
                    road_vertices.contains(&v),
                    "{} boundary leaves the roads",
                    a.code
                );
                on_roads += 1;
            }
        }
    }
    assert!(on_roads > 1000);
    assert!(
        city.roads
            .iter()
            .all(|r| r.class == "main" || r.class == "secondary")
    );
}

#[test]
fn exclusive_grids_overlay_ordinary_grids_of_their_community() {
    let city = city();
    let kids = children(city);
    for x in city.areas.iter().filter(|a| a.is_exclusive()) {
        let parent = x.parent.as_deref().unwrap();
        let overlaid: f64 = kids[parent]
            .iter()
            .filter(|g| !g.is_exclusive())
            .map(|g| g.geometry.intersection(&x.geometry).unsigned_area())
            .sum();
        let area = x.geometry.unsigned_area();
        // i_overlay snaps to a fixed-point grid, hence the looser tolerance.
        assert!(
            ((overlaid - area) / area).abs() < 1e-6,
            "{}: {overlaid} of {area}",
            x.code
        );
    }
}

#[test]
fn village_grids_are_in_villages() {
    let city = city();
    let codes = by_code(city);
    for g in city
        .areas
        .iter()
        .filter(|a| a.level == Level::Grid && !a.is_exclusive())
    {
        let community = codes[g.parent.as_deref().unwrap()];
        assert_eq!(
            g.kind == Some(GridKind::Village),
            community.name.ends_with('村'),
            "{}",
            g.code
        );
    }
}

/// The benchmark city. Slow in debug: `cargo test -p gridmap-data --release -- --ignored`.
#[test]
#[ignore = "slow in debug; run in release"]
fn benchmark_city_has_100000_micro_grids() {
    let start = std::time::Instant::now();
    let city = generate(&CityParams::with_micro_grids(100_000));
    let elapsed = start.elapsed();
    let micro = city
        .areas
        .iter()
        .filter(|a| a.level == Level::MicroGrid)
        .count();
    println!(
        "100k city: {} areas, {micro} micro-grids, {} addresses, generated in {elapsed:.2?}",
        city.areas.len(),
        city.addresses.len()
    );
    assert!(micro >= 100_000);
    // It has a river too: in the district, 8 cells wide, no address in it.
    let river = water(&CityParams::with_micro_grids(100_000));
    let river_box = bbox(&river);
    let district = city
        .areas
        .iter()
        .find(|a| a.level == Level::District)
        .unwrap();
    assert!(river_box.width() > 0.8 * bbox(&district.geometry).width());
    assert!(district.geometry.covers(&river));
    let (south, north) = banks_at(&river, river_box.center().x).unwrap();
    let width_m = Geodesic.distance(
        Point::new(river_box.center().x, south),
        Point::new(river_box.center().x, north),
    );
    assert!((600.0..=800.0).contains(&width_m), "{width_m} m wide");
    assert!(
        city.addresses
            .iter()
            .filter(|a| river_box.intersects(&a.point))
            .all(|a| !river.intersects(&a.point))
    );
    let mut seen = HashSet::new();
    for a in &city.areas {
        CodeScheme::National
            .check(&a.code, a.level, a.parent.as_deref())
            .unwrap();
        assert!(seen.insert(a.code.as_str()));
    }
    let start = std::time::Instant::now();
    let files = city_to_geojson(&city);
    println!(
        "serialised {} MB in {:.2?}",
        (files.areas.len() + files.addresses.len() + files.roads.len()) / 1_000_000,
        start.elapsed()
    );
}

/// Geodesic distance in metres from `p` to the nearest point of `mp`'s boundary (the nearest point
/// found on the sphere by `geo`'s haversine closest point, measured on the WGS-84 ellipsoid).
fn distance_to_boundary_m(mp: &MultiPolygon<f64>, p: Point<f64>) -> f64 {
    mp.iter()
        .flat_map(|poly| std::iter::once(poly.exterior()).chain(poly.interiors()))
        .filter_map(|ring| match ring.haversine_closest_point(&p) {
            Closest::SinglePoint(q) | Closest::Intersection(q) => Some(Geodesic.distance(p, q)),
            Closest::Indeterminate => None,
        })
        .fold(f64::INFINITY, f64::min)
}

/// The ordinary grid nearest to `p` (outside every grid) and the distance to its boundary.
fn nearest_grid(city: &City, p: Point<f64>) -> (&Area, f64) {
    // Grids by distance to their bounding box in degrees; a degree is more than 90 km here in
    // either direction, so that distance × 90 km bounds the true one from below.
    let mut grids: Vec<(f64, &Area)> = city
        .areas
        .iter()
        .filter(|a| a.level == Level::Grid && !a.is_exclusive())
        .map(|a| {
            let r = bbox(&a.geometry);
            let dx = (r.min().x - p.x()).max(p.x() - r.max().x).max(0.0);
            let dy = (r.min().y - p.y()).max(p.y() - r.max().y).max(0.0);
            (dx.hypot(dy), a)
        })
        .collect();
    grids.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut best: Option<(&Area, f64)> = None;
    for (deg, a) in grids {
        if best.is_some_and(|(_, d)| deg * 90_000.0 > d) {
            break;
        }
        let d = distance_to_boundary_m(&a.geometry, p);
        if best.is_none_or(|(_, b)| d < b) {
            best = Some((a, d));
        }
    }
    best.unwrap()
}

/// The area of `level` containing `p`, if any.
fn containing(city: &City, level: Level, p: Point<f64>) -> Option<&Area> {
    city.areas
        .iter()
        .find(|a| a.level == level && !a.is_exclusive() && a.geometry.contains(&p))
}

/// North and south banks of the river along the meridian `lon`: the smallest and largest latitude
/// where the river's outline crosses it.
fn banks_at(river: &MultiPolygon<f64>, lon: f64) -> Option<(f64, f64)> {
    let lats: Vec<f64> = segments(river)
        .filter(|s| (s.start.x <= lon) != (s.end.x <= lon))
        .map(|s| s.start.y + (lon - s.start.x) / (s.end.x - s.start.x) * (s.end.y - s.start.y))
        .collect();
    let south = lats.iter().copied().reduce(f64::min)?;
    let north = lats.iter().copied().reduce(f64::max)?;
    Some((south, north))
}

#[test]
fn the_river_holds_no_grid_micro_grid_or_address() {
    let city = city();
    let river = river();
    let river_box = bbox(river);
    let area = river.unsigned_area();
    let district = city
        .areas
        .iter()
        .find(|a| a.level == Level::District)
        .unwrap();
    assert!(
        district.geometry.covers(river),
        "the river leaves the district"
    );
    for a in city
        .areas
        .iter()
        .filter(|a| matches!(a.level, Level::Grid | Level::MicroGrid))
    {
        if bbox(&a.geometry).intersects(&river_box) {
            let wet = river.intersection(&a.geometry).unsigned_area();
            assert!(wet < area * 1e-9, "{} has {wet} of the river", a.code);
        }
    }
    for addr in &city.addresses {
        assert!(!river.intersects(&addr.point), "{} in the river", addr.full);
    }
    // It crosses the district and belongs to communities of more than one street.
    let streets: BTreeSet<&str> = city
        .areas
        .iter()
        .filter(|a| {
            a.level == Level::Street && a.geometry.intersection(river).unsigned_area() > area * 1e-6
        })
        .map(|a| a.code.as_str())
        .collect();
    println!("river in streets {streets:?}, box {river_box:?}");
    assert!(streets.len() >= 2, "river in streets {streets:?}");
    let district_box = bbox(&district.geometry);
    assert!(river_box.width() > 0.8 * district_box.width());
    // About 8 cells (≈ 720 m) wide from bank to bank, north to south.
    let (south, north) = banks_at(river, river_box.center().x).unwrap();
    let width_m = Geodesic.distance(
        Point::new(river_box.center().x, south),
        Point::new(river_box.center().x, north),
    );
    assert!((600.0..=800.0).contains(&width_m), "{width_m} m wide");
}

/// Along its whole length, the middle of the river (halfway between the banks on each meridian)
/// is more than 250 m from every grid; a point 20 m off a bank is within 50 m of one.
#[test]
fn mid_river_is_far_from_grids_and_banks_are_near() {
    let city = city();
    let river_box = bbox(river());
    let steps = 120;
    let mut closest = f64::INFINITY;
    let mut measured = 0;
    for k in 0..=steps {
        let lon =
            river_box.min().x + river_box.width() * (f64::from(k) + 0.5) / f64::from(steps + 1);
        let (south, north) = banks_at(river(), lon).unwrap();
        // Where the district's outline is a bank (the river flows on outside it), the middle of
        // the water inside the district is not the middle of the river.
        if [south, north]
            .into_iter()
            .any(|lat| nearest_grid(city, Point::new(lon, lat)).1 > 1.0)
        {
            continue;
        }
        measured += 1;
        let mid = Point::new(lon, f64::midpoint(south, north));
        assert!(river().contains(&mid), "{mid:?}");
        assert!(containing(city, Level::Grid, mid).is_none());
        let (grid, d) = nearest_grid(city, mid);
        assert!(d > 250.0, "mid-river {mid:?} is {d} m from {}", grid.code);
        closest = closest.min(d);
        // 0.00018° of latitude ≈ 20 m inside the north bank.
        let bank = Point::new(lon, north - 0.000_18);
        if river().contains(&bank) {
            let (_, d) = nearest_grid(city, bank);
            assert!(d < 50.0, "bank point {bank:?} is {d} m from a grid");
        }
    }
    assert!(measured > steps * 3 / 4, "{measured} meridians measured");
    println!("the middle of the river is at least {closest:.1} m from every grid");
}

/// A point of the river: (lon, lat, street, community, nearest ordinary grid, geodesic distance
/// in metres to its boundary). Quoted in data/README.md.
type Reference = (f64, f64, &'static str, &'static str, &'static str, f64);
/// Mid-river in 建设社区 (翟庄街道); the nearest grid is across the water in another street,
/// 老窝镇 (next grid: 385.29 m; the community's boundary is 162 m away).
const REFERENCE_MID: Reference = (
    114.1119,
    33.5662,
    "411104002",
    "411104002006",
    "411104006002001",
    344.26,
);
/// Mid-river in 东方社区 (嵩山街道); the nearest grid is its own (next grid: 379.65 m).
const REFERENCE_MID_2: Reference = (
    114.1033,
    33.5665,
    "411104004",
    "411104004004",
    "411104004004006",
    342.03,
);
/// 22 m off the north bank, in 东方社区 (next grid: 107.52 m).
const REFERENCE_BANK: Reference = (
    114.1033,
    33.5694,
    "411104004",
    "411104004004",
    "411104004004006",
    21.50,
);

/// The reference points quoted in data/README.md: in the river, so in a community and street but in
/// no grid; nearest grid and geodesic distance to its boundary as computed here with `geo`.
#[test]
fn reference_points_in_the_river() {
    let city = city();
    // (lon, lat, street, community, nearest grid, distance in metres)
    let points = [REFERENCE_MID, REFERENCE_MID_2, REFERENCE_BANK];
    for (lon, lat, street, community, grid, distance_m) in points {
        let p = Point::new(lon, lat);
        let chain = (
            containing(city, Level::Street, p).map(|a| a.code.as_str()),
            containing(city, Level::Community, p).map(|a| a.code.as_str()),
            containing(city, Level::Grid, p).map(|a| a.code.as_str()),
            containing(city, Level::MicroGrid, p).map(|a| a.code.as_str()),
        );
        let (nearest, d) = nearest_grid(city, p);
        println!(
            "({lon}, {lat}): {chain:?}, nearest {} at {d:.2} m",
            nearest.code
        );
        assert_eq!(chain, (Some(street), Some(community), None, None), "{p:?}");
        assert!(river().contains(&p));
        assert!(
            city.areas
                .iter()
                .filter(|a| a.is_exclusive())
                .all(|a| !a.geometry.intersects(&p))
        );
        assert_eq!(nearest.code, grid, "{p:?}");
        assert!((d - distance_m).abs() < 0.01, "{p:?}: {d} m");
    }
}
