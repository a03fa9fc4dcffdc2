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
