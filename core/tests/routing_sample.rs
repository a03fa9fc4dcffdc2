//! Routing on the sample city: real exclusive grids, checked with geo's `Contains` as the oracle.

use geo::{Contains, InteriorPoint};
use geo_types::Point;
use gridmap_core::routing::{RouteRule, RoutingPolicy, route};
use gridmap_core::{Area, AreaIndex, Category, GridKind, Level};

fn routed(index: &AreaIndex, p: geo_types::Coord<f64>, c: Category) -> (String, RouteRule, f64) {
    let r = route(index, &RoutingPolicy::default(), p, c).expect("routed");
    (index.area(r.area).code.clone(), r.rule, r.distance_m)
}

#[test]
fn on_the_sample_city_a_market_takes_litter_and_the_ordinary_grid_takes_traffic() {
    let city = gridmap_data::sample_city();
    let ordinary: Vec<&Area> = city
        .areas
        .iter()
        .filter(|a| a.level == Level::Grid && !a.is_exclusive())
        .collect();
    let markets: Vec<&Area> = city
        .areas
        .iter()
        .filter(|a| a.kind == Some(GridKind::Market))
        .collect();
    assert!(!markets.is_empty());
    let index = AreaIndex::build(city.areas.clone());
    let mut checked = 0;
    for market in &markets {
        let p = market.geometry.interior_point().expect("non-empty").0;
        assert!(market.geometry.contains(&Point(p)), "{}", market.code);
        // Skip a point that lies in another exclusive grid or on an ordinary edge (geo's Contains says no grid).
        let holders: Vec<&str> = ordinary
            .iter()
            .filter(|a| a.geometry.contains(&Point(p)))
            .map(|a| a.code.as_str())
            .collect();
        let others = city
            .areas
            .iter()
            .filter(|a| a.is_exclusive() && a.code != market.code && a.geometry.contains(&Point(p)))
            .count();
        if holders.len() != 1 || others > 0 {
            continue;
        }
        assert_eq!(
            routed(&index, p, Category::CityAppearance),
            (market.code.clone(), RouteRule::Exclusive, 0.0)
        );
        assert_eq!(
            routed(&index, p, Category::RoadTraffic),
            (holders[0].to_owned(), RouteRule::Grid, 0.0)
        );
        checked += 1;
    }
    assert!(
        checked * 2 >= markets.len(),
        "{checked} of {}",
        markets.len()
    );
}

/// The 沙河 crosses the sample city inside communities but in no grid. Reference points and distances are from
/// data/README.md, measured there with geo's `Geodesic` distance to every grid boundary (not with the index).
#[test]
fn in_the_sample_river_a_bank_point_goes_to_the_nearest_grid_and_mid_river_to_the_community() {
    let index = AreaIndex::build(gridmap_data::sample_city().areas);
    let bank = geo_types::coord! { x: 114.1033, y: 33.5694 };
    let (code, rule, d) = routed(&index, bank, Category::CityAppearance);
    assert_eq!(
        (code.as_str(), rule),
        ("411104004004006", RouteRule::Nearest)
    );
    assert!((d - 21.50).abs() < 0.1, "{d}");
    // Mid-river: the nearest grid is 342 m away, beyond the default 200 m, so 属地兜底 to the community.
    let mid = geo_types::coord! { x: 114.1033, y: 33.5665 };
    let (code, rule, d) = routed(&index, mid, Category::CityAppearance);
    assert_eq!((code.as_str(), rule), ("411104004004", RouteRule::Fallback));
    assert!((d - 342.03).abs() < 0.1, "{d}");
    // With a 400 m maximum the same point goes to that grid instead.
    let wide = RoutingPolicy {
        max_nearest_m: 400.0,
        ..RoutingPolicy::default()
    };
    let r = route(&index, &wide, mid, Category::CityAppearance).expect("routed");
    assert_eq!(index.area(r.area).code, "411104004004006");
    assert_eq!(r.rule, RouteRule::Nearest);
}
