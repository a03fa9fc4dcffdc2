//! Routing on hand-built cities with known distances and on the lattice fixture (shared edges); the sample city
//! is in `core/tests/routing_sample.rs`. Oracles: geo's `Contains` and geodesic distances to densified boundaries.
#![allow(clippy::float_cmp)] // exact vertical edges and exact zero distances are what we check

use geo::Contains;
use geo::line_measures::{Densify, Distance, Geodesic, Haversine};
use geo_types::{Coord, LineString, MultiPolygon, Point, Rect, coord};

use super::*;
use crate::fixture::{Lattice, city};
use crate::{Area, GridKind, Level};

const LON0: f64 = 114.0;
const LAT0: f64 = 33.5;

/// A rectangle in micro-degrees east/north of (`LON0`, `LAT0`).
fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon<f64> {
    let r = Rect::new(
        coord! { x: LON0 + x0 * 1e-6, y: LAT0 + y0 * 1e-6 },
        coord! { x: LON0 + x1 * 1e-6, y: LAT0 + y1 * 1e-6 },
    );
    MultiPolygon(vec![r.to_polygon()])
}

fn at(x: f64, y: f64) -> Coord<f64> {
    coord! { x: LON0 + x * 1e-6, y: LAT0 + y * 1e-6 }
}

fn area(
    code: &str,
    level: Level,
    kind: Option<GridKind>,
    parent: Option<&str>,
    g: MultiPolygon<f64>,
) -> Area {
    Area {
        code: code.into(),
        name: code.into(),
        level,
        kind,
        parent: parent.map(Into::into),
        geometry: g,
        staff: Vec::new(),
    }
}

/// District 0..10000 x 0..4000 µ°, one community over it; grid A (0..4000), a river (4000..10000, no grid) and
/// grid R, a road grid (10000..12000, sticking out east of the community but inside district D2 next door).
/// Exclusive: a market over A's 1000..3000, a school in the market (1500..2000), an industrial park over R.
fn river_city() -> AreaIndex {
    AreaIndex::build(vec![
        area(
            "D",
            Level::District,
            None,
            None,
            rect(0.0, 0.0, 10000.0, 4000.0),
        ),
        area(
            "D2",
            Level::District,
            None,
            None,
            rect(10000.0, 0.0, 12000.0, 4000.0),
        ),
        area(
            "C",
            Level::Community,
            None,
            Some("D"),
            rect(0.0, 0.0, 10000.0, 4000.0),
        ),
        area(
            "C2",
            Level::Community,
            None,
            Some("D2"),
            rect(10000.0, 0.0, 12000.0, 4000.0),
        ),
        area(
            "A",
            Level::Grid,
            Some(GridKind::Residential),
            Some("C"),
            rect(0.0, 0.0, 4000.0, 4000.0),
        ),
        area(
            "R",
            Level::Grid,
            Some(GridKind::Road),
            Some("C2"),
            rect(10000.0, 0.0, 12000.0, 4000.0),
        ),
        area(
            "XM",
            Level::Grid,
            Some(GridKind::Market),
            Some("C"),
            rect(1000.0, 1000.0, 3000.0, 3000.0),
        ),
        area(
            "XS",
            Level::Grid,
            Some(GridKind::School),
            Some("C"),
            rect(1500.0, 1500.0, 2000.0, 2000.0),
        ),
        area(
            "XP",
            Level::Grid,
            Some(GridKind::IndustrialPark),
            Some("C2"),
            rect(10500.0, 500.0, 11500.0, 3500.0),
        ),
    ])
}

fn routed(index: &AreaIndex, p: Coord<f64>, c: Category) -> (String, RouteRule, f64) {
    let r = route(index, &RoutingPolicy::default(), p, c).expect("routed");
    (index.area(r.area).code.clone(), r.rule, r.distance_m)
}

/// Geodesic distance from `p` to the boundary of `mp`, on the boundary densified to 0.2 m steps.
fn oracle_distance_m(mp: &MultiPolygon<f64>, p: Coord<f64>) -> f64 {
    mp.0.iter()
        .flat_map(|poly| std::iter::once(poly.exterior()).chain(poly.interiors()))
        .flat_map(|ring: &LineString<f64>| Haversine.densify(ring, 0.2).0)
        .map(|c| Geodesic.distance(Point(p), Point(c)))
        .fold(f64::INFINITY, f64::min)
}

#[test]
fn exclusive_grids_take_their_categories_smallest_first_and_the_rest_goes_to_the_ordinary_grid() {
    let index = river_city();
    let in_school = at(1700.0, 1700.0);
    let in_market = at(2500.0, 2500.0);
    // 06 市容环境: both the school and the market take it; the smaller (school) wins.
    assert_eq!(routed(&index, in_school, Category::CityAppearance).0, "XS");
    assert_eq!(
        routed(&index, in_school, Category::CityAppearance).1,
        RouteRule::Exclusive
    );
    // 09 街面秩序: the school does not take it, the market does.
    assert_eq!(routed(&index, in_school, Category::StreetOrder).0, "XM");
    assert_eq!(routed(&index, in_market, Category::CityAppearance).0, "XM");
    // 02 and 08, emergencies: no exclusive kind here takes them.
    for c in [
        Category::RoadTraffic,
        Category::Construction,
        Category::Emergency,
    ] {
        assert_eq!(
            routed(&index, in_school, c),
            ("A".into(), RouteRule::Grid, 0.0),
            "{c:?}"
        );
    }
}

#[test]
fn a_road_grid_keeps_traffic_matters_even_inside_an_industrial_park() {
    let index = river_city();
    let p = at(11000.0, 2000.0);
    assert_eq!(routed(&index, p, Category::RoadTraffic).0, "R");
    assert_eq!(routed(&index, p, Category::StreetOrder).0, "R");
    assert_eq!(
        routed(&index, p, Category::CityAppearance),
        ("XP".into(), RouteRule::Exclusive, 0.0)
    );
    // The park takes everything but emergencies.
    assert_eq!(routed(&index, p, Category::Emergency).0, "R");
}

#[test]
fn outside_every_grid_the_nearest_grid_within_reach_else_the_community() {
    let index = river_city();
    // 500 µ° of longitude east of A (about 46 m): nearest, at the geodesic distance.
    let bank = at(4500.0, 2000.0);
    let (code, rule, d) = routed(&index, bank, Category::Other);
    assert_eq!((code.as_str(), rule), ("A", RouteRule::Nearest));
    let want = oracle_distance_m(
        &index
            .area(index.by_code("A").expect("known in this test"))
            .geometry,
        bank,
    );
    assert!((d - want).abs() < 0.05 + want * 1e-3, "{d} vs {want}");
    assert!((40.0..50.0).contains(&d), "{d}");
    // Mid-river (3000 µ° ≈ 279 m from both banks): beyond 200 m, so the community, with the distance to the
    // nearest grid.
    let mid = at(7000.0, 2000.0);
    let (code, rule, d) = routed(&index, mid, Category::Other);
    assert_eq!((code.as_str(), rule), ("C", RouteRule::Fallback));
    let want = oracle_distance_m(
        &index
            .area(index.by_code("A").expect("known in this test"))
            .geometry,
        mid,
    );
    assert!((d - want).abs() < 0.05 + want * 1e-3, "{d} vs {want}");
    // A wider maximum sends it to the nearest grid instead (ties on distance go to the smaller id).
    let wide = RoutingPolicy {
        max_nearest_m: 300.0,
        ..RoutingPolicy::default()
    };
    let r = route(&index, &wide, mid, Category::Other).expect("known in this test");
    assert_eq!(r.rule, RouteRule::Nearest);
    // Outside every area, 100 µ° (about 11 m) south of R: nearest.
    let south = at(11000.0, -100.0);
    let (code, rule, d) = routed(&index, south, Category::Other);
    assert_eq!((code.as_str(), rule), ("R", RouteRule::Nearest));
    let want = oracle_distance_m(
        &index
            .area(index.by_code("R").expect("known in this test"))
            .geometry,
        south,
    );
    assert!((d - want).abs() < 0.05, "{d} vs {want}");
    // Far outside: nothing.
    assert!(
        route(
            &index,
            &RoutingPolicy::default(),
            at(11000.0, -10000.0),
            Category::Other
        )
        .is_none()
    );
}

#[test]
fn the_record_keeps_codes_of_the_chain_and_the_rule() {
    let index = river_city();
    let r = route(
        &index,
        &RoutingPolicy::default(),
        at(1700.0, 1700.0),
        Category::CityAppearance,
    )
    .expect("known in this test");
    let rec = r.record(&index);
    assert_eq!(rec.area_code, "XS");
    assert_eq!(rec.level, Level::Grid);
    assert_eq!(rec.rule, "exclusive");
    assert_eq!(rec.chain_codes, ["D", "C", "A"]);
    assert_eq!(rec.micro_grid_code, None);
    let r = route(
        &index,
        &RoutingPolicy::default(),
        at(7000.0, 2000.0),
        Category::Other,
    )
    .expect("known in this test");
    let rec = r.record(&index);
    assert_eq!(
        (rec.area_code.as_str(), rec.level, rec.rule.as_str()),
        ("C", Level::Community, "fallback")
    );
    assert_eq!(rec.chain_codes, ["D", "C"]);
}

#[test]
fn a_policy_loaded_from_json_changes_the_routing() {
    let index = river_city();
    let json = r#"{"precedence": [["market", ["02"]]], "max_nearest_m": 10.0}"#;
    let policy: RoutingPolicy = serde_json::from_str(json).expect("known in this test");
    let r = route(&index, &policy, at(1700.0, 1700.0), Category::RoadTraffic)
        .expect("known in this test");
    assert_eq!(index.area(r.area).code, "XM");
    // The school takes nothing under this policy.
    let r = route(
        &index,
        &policy,
        at(1700.0, 1700.0),
        Category::CityAppearance,
    )
    .expect("known in this test");
    assert_eq!(index.area(r.area).code, "A");
    // 46 m from A is beyond 10 m.
    let r =
        route(&index, &policy, at(4500.0, 2000.0), Category::Other).expect("known in this test");
    assert_eq!(r.rule, RouteRule::Fallback);
    // The default round-trips.
    let back: RoutingPolicy = serde_json::from_str(
        &serde_json::to_string(&RoutingPolicy::default()).expect("known in this test"),
    )
    .expect("known in this test");
    assert_eq!(back, RoutingPolicy::default());
}

#[test]
fn a_point_on_a_shared_grid_edge_goes_to_the_grid_east_of_it_by_the_boundary_rule() {
    let lattice = Lattice::new(20, 20, 7);
    let areas = city(&lattice, [20, 20, 10, 5, 1]);
    let index = AreaIndex::build(areas.clone());
    // Column 5 is unjittered in x: the edge between grids (0, 0) and (1, 0) is exactly vertical there.
    let (a, b) = (lattice.vertex(5, 1), lattice.vertex(5, 2));
    assert_eq!(a.x, b.x);
    let p = coord! { x: a.x, y: f64::midpoint(a.y, b.y) };
    let east = coord! { x: p.x + 1e-9, y: p.y };
    let ordinary: Vec<&Area> = areas
        .iter()
        .filter(|a| a.level == Level::Grid && !a.is_exclusive())
        .collect();
    let holders: Vec<&str> = ordinary
        .iter()
        .filter(|a| a.geometry.contains(&Point(east)))
        .map(|a| a.code.as_str())
        .collect();
    assert_eq!(holders.len(), 1);
    // geo's Contains excludes boundaries: no ordinary grid contains p itself.
    assert!(ordinary.iter().all(|a| !a.geometry.contains(&Point(p))));
    let (code, rule, d) = routed(&index, p, Category::Construction);
    assert_eq!(
        (code.as_str(), rule, d),
        (holders[0], RouteRule::Boundary, 0.0)
    );
    // Just inside, the rule is `grid`.
    assert_eq!(
        routed(&index, east, Category::Construction).1,
        RouteRule::Grid
    );
}

#[test]
fn routing_a_batch_lookup_answers_as_routing_each_point() {
    let index = river_city();
    let policy = RoutingPolicy::default();
    // A row across A, the market and school, the river (near A, far from every grid), R and the park, and
    // one point outside every area.
    let points: Vec<Coord<f64>> = (0..=60)
        .map(|i| at(f64::from(i) * 200.0 - 100.0, 1700.0))
        .chain([at(-5000.0, 1700.0)])
        .collect();
    let locations = index.locate_batch(&points);
    let mut rules = std::collections::HashSet::new();
    for (p, location) in points.iter().zip(&locations) {
        for category in Category::ALL {
            let one = route(&index, &policy, *p, category);
            let batch = route_located(&index, &policy, *p, location, category);
            assert_eq!(
                batch,
                one.as_ref().map(|r| Responsibility {
                    area: r.area,
                    rule: r.rule,
                    distance_m: r.distance_m,
                }),
                "{p:?} {category:?}"
            );
            rules.insert(one.map(|r| r.rule));
        }
    }
    assert_eq!(
        rules.len(),
        5,
        "every rule but boundary, and no route: {rules:?}"
    );
}
