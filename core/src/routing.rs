//! Which area is responsible for a report at a point: one [`AreaIndex::locate`] plus a policy lookup. The one
//! place these rules live: report intake ([`route`]) and the lookups that say who is responsible
//! ([`route_located`], `/v1/locate`) both come here.
//!
//! Rules, in order (the answer says which applied, see [`RouteRule`]):
//! 1. An ordinary grid of a kind listed in the policy (by default `road`) that holds the point and takes the
//!    category: that grid (`grid`/`boundary`). A traffic matter on a road grid stays with the road grid even
//!    inside an industrial park.
//! 2. An exclusive grid (专属网格) holding the point whose kind takes the category, the first in
//!    [`Location::exclusive`] order (smallest first): `exclusive`.
//! 3. The ordinary grid holding the point: `grid`, or `boundary` when the point lies exactly on that grid's
//!    boundary (a shared edge) and was given to it by the spine's half-open rule (see [`crate::pip`]).
//! 4. No grid holds the point (a river, a highway, unassigned land): the nearest grid by geodesic distance to
//!    its boundary, if within [`RoutingPolicy::max_nearest_m`]: `nearest`.
//! 5. Else 属地兜底: the finest area above the grid level holding the point (community, else street, else
//!    district): `fallback`. Its `distance_m` is the distance to the nearest grid (0 when there is no grid at
//!    all), so the dispatcher sees how far the closest grid was.
//! 6. Else (outside every area, no grid within reach): `None`.
//!
//! ```
//! use gridmap_core::fixture::{Lattice, city};
//! use gridmap_core::routing::{RouteRule, RoutingPolicy, route};
//! use gridmap_core::{AreaIndex, Category, Level};
//! let lattice = Lattice::new(10, 10, 1);
//! let index = AreaIndex::build(city(&lattice, [10, 10, 10, 5, 1]));
//! let policy = RoutingPolicy::default();
//! // The middle of cell (1, 1): inside ordinary grid G00000000 (cells 0..5 x 0..5).
//! let (a, b) = (lattice.vertex(1, 1), lattice.vertex(2, 2));
//! let p = geo_types::coord! { x: (a.x + b.x) / 2.0, y: (a.y + b.y) / 2.0 };
//! // 08 construction: no exclusive kind of the fixture (school, market) takes it.
//! let r = route(&index, &policy, p, Category::Construction).expect("inside the city");
//! assert_eq!(r.rule, RouteRule::Grid);
//! assert_eq!(index.area(r.area).code, "G00000000");
//! assert_eq!(r.distance_m, 0.0);
//! // 20 m west of the city's straight west edge (lon 114.0; about 92.9 km per degree at lat 33.5).
//! let west = geo_types::coord! { x: 114.0 - 20.0 / 92_900.0, y: p.y };
//! let r = route(&index, &policy, west, Category::Other).expect("a grid within 200 m");
//! assert_eq!(r.rule, RouteRule::Nearest);
//! assert!((r.distance_m - 20.0).abs() < 1.0, "{}", r.distance_m);
//! assert_eq!(r.record(&index).level, Level::Grid);
//! // About 930 m out: beyond the 200 m maximum and in no area, so no route.
//! let far = geo_types::coord! { x: 114.0 - 0.01, y: p.y };
//! assert!(route(&index, &policy, far, Category::Other).is_none());
//! ```

use geo_types::Coord;
use serde::{Deserialize, Serialize};

use crate::index::{AreaId, AreaIndex, Location};
use crate::{Category, GridKind, Level, RouteRecord};

/// Which kinds of grid take which categories ahead of the ordinary grid, and how far a report outside every grid
/// may be sent to the nearest one. Loaded by the server from JSON (`--routing-policy`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoutingPolicy {
    /// Grid kind → the categories it takes. Exclusive kinds take them ahead of the ordinary grid; ordinary kinds
    /// (road) take them ahead of exclusive grids. Kinds not listed take nothing by precedence.
    pub precedence: Vec<(GridKind, Vec<Category>)>,
    /// Reports outside every grid go to the nearest grid only within this distance, in metres.
    pub max_nearest_m: f64,
}

impl Default for RoutingPolicy {
    /// The default table:
    ///
    /// | kind | takes |
    /// |---|---|
    /// | market | 03 06 07 09 10 |
    /// | `industrial_park` | every category but emergencies |
    /// | school, hospital, government, enterprise | 01 03 04 05 06 07 10 |
    /// | road (ordinary) | 02 09 |
    ///
    /// Everything else goes to the ordinary grid; `max_nearest_m` is 200 m.
    fn default() -> Self {
        use Category::{
            Advertising, CityAppearance, EnvironmentFacilities, HousingLand, Landscaping, Other,
            PublicFacilities, RoadTraffic, StreetOrder,
        };
        let institution = vec![
            PublicFacilities,
            EnvironmentFacilities,
            Landscaping,
            HousingLand,
            CityAppearance,
            Advertising,
            Other,
        ];
        let park = Category::ALL
            .into_iter()
            .filter(|c| *c != Category::Emergency)
            .collect();
        RoutingPolicy {
            precedence: vec![
                (
                    GridKind::Market,
                    vec![
                        EnvironmentFacilities,
                        CityAppearance,
                        Advertising,
                        StreetOrder,
                        Other,
                    ],
                ),
                (GridKind::IndustrialPark, park),
                (GridKind::School, institution.clone()),
                (GridKind::Hospital, institution.clone()),
                (GridKind::Government, institution.clone()),
                (GridKind::Enterprise, institution),
                (GridKind::Road, vec![RoadTraffic, StreetOrder]),
            ],
            max_nearest_m: 200.0,
        }
    }
}

impl RoutingPolicy {
    /// Does a grid of `kind` take `category` by precedence? (A scan of a handful of entries.)
    pub fn takes(&self, kind: GridKind, category: Category) -> bool {
        self.precedence
            .iter()
            .any(|(k, cats)| *k == kind && cats.contains(&category))
    }
}

/// The rule that chose the responsible area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteRule {
    /// An exclusive grid holding the point takes the category.
    Exclusive,
    /// The ordinary grid holding the point (inside it).
    Grid,
    /// The ordinary grid holding the point, which lies on its boundary: assigned by the half-open rule.
    Boundary,
    /// No grid holds the point; the nearest grid within the policy's maximum.
    Nearest,
    /// 属地兜底: the community (or street) holding the point; no grid within reach.
    Fallback,
}

impl RouteRule {
    pub fn as_str(self) -> &'static str {
        match self {
            RouteRule::Exclusive => "exclusive",
            RouteRule::Grid => "grid",
            RouteRule::Boundary => "boundary",
            RouteRule::Nearest => "nearest",
            RouteRule::Fallback => "fallback",
        }
    }
}

impl std::fmt::Display for RouteRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The answer of [`route`].
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// The responsible area.
    pub area: AreaId,
    pub rule: RouteRule,
    /// `nearest`: geodesic distance to the grid's boundary; `fallback`: to the nearest grid's boundary (0 if
    /// there is no grid); else 0. Metres.
    pub distance_m: f64,
    /// The lookup behind the answer (the ordinary chain, exclusive grids, nearest grid).
    pub location: Location,
}

/// The answer of [`route_located`]: a [`Route`] without the lookup it was decided on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Responsibility {
    /// The responsible area.
    pub area: AreaId,
    pub rule: RouteRule,
    /// As [`Route::distance_m`].
    pub distance_m: f64,
}

/// Routes a report at WGS-84 `p` of `category` (see the module docs for the rules).
pub fn route(
    index: &AreaIndex,
    policy: &RoutingPolicy,
    p: Coord<f64>,
    category: Category,
) -> Option<Route> {
    let location = index.locate(p);
    let Responsibility {
        area,
        rule,
        distance_m,
    } = route_located(index, policy, p, &location, category)?;
    Some(Route {
        area,
        rule,
        distance_m,
        location,
    })
}

/// The rules of [`route`] on a lookup already made: `location` must be `index.locate(p)`. For callers that
/// need the lookup whatever the routing says (a point answer names the chain even when no one is responsible),
/// or that locate many points in their own order ([`AreaIndex::locate_batch`]).
pub fn route_located(
    index: &AreaIndex,
    policy: &RoutingPolicy,
    p: Coord<f64>,
    location: &Location,
    category: Category,
) -> Option<Responsibility> {
    let grid = location
        .chain
        .iter()
        .copied()
        .find(|&id| index.area(id).level == Level::Grid);
    let ordinary = |id: AreaId| {
        let rule = if index.prepared(id).on_boundary(p) {
            RouteRule::Boundary
        } else {
            RouteRule::Grid
        };
        (id, rule, 0.0)
    };
    let grid_takes = grid.filter(|&id| {
        index
            .area(id)
            .kind
            .is_some_and(|k| !k.is_exclusive() && policy.takes(k, category))
    });
    let exclusive = || {
        location.exclusive.iter().copied().find(|&id| {
            index
                .area(id)
                .kind
                .is_some_and(|k| policy.takes(k, category))
        })
    };
    let nearest = location
        .nearest
        .filter(|n| index.area(n.area).level == Level::Grid);
    let (area, rule, distance_m) = if let Some(id) = grid_takes {
        ordinary(id)
    } else if let Some(id) = exclusive() {
        (id, RouteRule::Exclusive, 0.0)
    } else if let Some(id) = grid {
        ordinary(id)
    } else if let Some(n) = nearest.filter(|n| n.distance_m <= policy.max_nearest_m) {
        (n.area, RouteRule::Nearest, n.distance_m)
    } else {
        let finest = location
            .chain
            .iter()
            .rev()
            .copied()
            .find(|&id| index.area(id).level < Level::Grid)?;
        (
            finest,
            RouteRule::Fallback,
            nearest.map_or(0.0, |n| n.distance_m),
        )
    };
    Some(Responsibility {
        area,
        rule,
        distance_m,
    })
}

impl Route {
    /// The codes to keep with the report.
    pub fn record(&self, index: &AreaIndex) -> RouteRecord {
        let area = index.area(self.area);
        let mut micro_grid_code = None;
        let mut chain_codes = Vec::with_capacity(self.location.chain.len());
        for &id in &self.location.chain {
            let a = index.area(id);
            if a.level == Level::MicroGrid {
                micro_grid_code = Some(a.code.clone());
            } else {
                chain_codes.push(a.code.clone());
            }
        }
        RouteRecord {
            area_code: area.code.clone(),
            level: area.level,
            rule: self.rule.as_str().to_owned(),
            distance_m: self.distance_m,
            micro_grid_code,
            chain_codes,
        }
    }
}

#[cfg(test)]
mod tests;
