//! Lookup correctness on the synthetic lattice city against an independent oracle: geo's `Contains` (strict
//! interior) and `Intersects` (closed) predicates, brute force over every area, no index.
#![allow(clippy::float_cmp)] // exactly horizontal / vertical edges are what we count

use std::collections::HashMap;

use geo::{BoundingRect, Contains, Intersects};
use geo_types::{Coord, Point, Rect, coord};
use gridmap_core::fixture::{Lattice, city};
use gridmap_core::{AreaId, AreaIndex, Level, geodesy};

const BLOCKS: [usize; 5] = [30, 15, 6, 3, 1];

struct Oracle<'a> {
    index: &'a AreaIndex,
    bboxes: Vec<Rect<f64>>,
    /// Area ids by (level, exclusive).
    groups: HashMap<(Level, bool), Vec<AreaId>>,
}

impl Oracle<'_> {
    fn new(index: &AreaIndex) -> Oracle<'_> {
        let bboxes = index
            .areas()
            .iter()
            .map(|a| a.geometry.bounding_rect().expect("non-empty"))
            .collect();
        let mut groups: HashMap<(Level, bool), Vec<AreaId>> = HashMap::new();
        for (id, a) in index.areas().iter().enumerate() {
            groups
                .entry((a.level, a.is_exclusive()))
                .or_default()
                .push(id as AreaId);
        }
        Oracle {
            index,
            bboxes,
            groups,
        }
    }
    fn ids(&self, level: Level, exclusive: bool) -> impl Iterator<Item = AreaId> + '_ {
        self.groups
            .get(&(level, exclusive))
            .into_iter()
            .flatten()
            .copied()
    }
    fn near(&self, id: AreaId, p: Coord<f64>) -> bool {
        let r = self.bboxes[id as usize];
        p.x >= r.min().x && p.x <= r.max().x && p.y >= r.min().y && p.y <= r.max().y
    }
    /// Areas whose interior holds `p`.
    fn containing(&self, level: Level, exclusive: bool, p: Coord<f64>) -> Vec<AreaId> {
        self.ids(level, exclusive)
            .filter(|&id| self.near(id, p) && self.index.area(id).geometry.contains(&Point(p)))
            .collect()
    }
    /// Areas whose closed polygon holds `p`.
    fn covering(&self, level: Level, exclusive: bool, p: Coord<f64>) -> Vec<AreaId> {
        self.ids(level, exclusive)
            .filter(|&id| self.near(id, p) && self.index.area(id).geometry.intersects(&Point(p)))
            .collect()
    }
    /// What the documented rule predicts at one level: the interior holder; else the holder of the point moved a
    /// hair east then a smaller hair north; else (outer edge) the covering area with the smallest code.
    fn predicted(&self, level: Level, p: Coord<f64>) -> Option<AreaId> {
        let inside = self.containing(level, false, p);
        assert!(inside.len() <= 1, "oracle: overlapping areas at {p:?}");
        if let Some(&id) = inside.first() {
            return Some(id);
        }
        let moved = self.containing(level, false, coord! { x: p.x + 1e-8, y: p.y + 1e-13 });
        if let Some(&id) = moved.first() {
            return Some(id);
        }
        self.covering(level, false, p)
            .into_iter()
            .min_by(|a, b| self.index.area(*a).code.cmp(&self.index.area(*b).code))
    }
}

impl Oracle<'_> {
    /// The areas of a group that take `p` by the documented rule: interior holders, and (for a point on a
    /// boundary) holders of the point moved a hair east then a smaller hair north.
    fn takers(&self, level: Level, exclusive: bool, p: Coord<f64>) -> Vec<AreaId> {
        let moved = coord! { x: p.x + 1e-8, y: p.y + 1e-13 };
        self.covering(level, exclusive, p)
            .into_iter()
            .filter(|&id| {
                let g = &self.index.area(id).geometry;
                g.contains(&Point(p)) || g.contains(&Point(moved))
            })
            .collect()
    }
    /// The rule's takers; if none (outer edge), every covering area.
    fn predicted_all(&self, level: Level, exclusive: bool, p: Coord<f64>) -> Vec<AreaId> {
        let taking = self.takers(level, exclusive, p);
        if taking.is_empty() {
            self.covering(level, exclusive, p)
        } else {
            taking
        }
    }
    /// Exclusive grids taking `p`, smallest area (then code) first.
    fn predicted_exclusive(&self, p: Coord<f64>) -> Vec<AreaId> {
        let mut ids = self.predicted_all(Level::Grid, true, p);
        let key = |id: &AreaId| {
            let a = self.index.area(*id);
            (geodesy::area_m2(&a.geometry), a.code.clone())
        };
        ids.sort_by(|a, b| {
            let (ka, kb) = (key(a), key(b));
            ka.0.total_cmp(&kb.0).then(ka.1.cmp(&kb.1))
        });
        ids
    }
    /// The grid nearest to `p` by boundary distance, brute force.
    fn nearest_grid(&self, p: Coord<f64>) -> (f64, AreaId) {
        self.ids(Level::Grid, false)
            .map(|id| {
                (
                    geodesy::distance_to_boundary_m(&self.index.area(id).geometry, p),
                    id,
                )
            })
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .expect("grids")
    }
}

fn chain_at(index: &AreaIndex, chain: &[AreaId], level: Level) -> Option<AreaId> {
    chain
        .iter()
        .copied()
        .find(|&id| index.area(id).level == level)
}

fn setup() -> (Lattice, AreaIndex) {
    let lattice = Lattice::new(60, 45, 42);
    let index = AreaIndex::build(city(&lattice, BLOCKS));
    (lattice, index)
}

#[test]
fn random_points_match_the_oracle() {
    let (lattice, index) = setup();
    let oracle = Oracle::new(&index);
    assert_eq!(index.levels(), Level::ALL.to_vec());
    let (mut inside, mut outside) = (0, 0);
    for p in lattice.random_points(10_000, 2024) {
        let loc = index.locate(p);
        for level in Level::ALL {
            let covering = oracle.covering(level, false, p);
            let expected: Vec<AreaId> = covering
                .iter()
                .copied()
                .filter(|&id| index.area(id).geometry.contains(&Point(p)))
                .collect();
            assert!(expected.len() <= 1);
            if covering.len() != expected.len() {
                continue; // on a boundary: the shared-edge test covers these
            }
            assert_eq!(
                chain_at(&index, &loc.chain, level),
                expected.first().copied(),
                "{level} at {p:?}"
            );
        }
        let mut exclusive = oracle.containing(Level::Grid, true, p);
        exclusive.sort_by(|a, b| {
            geodesy::area_m2(&index.area(*a).geometry)
                .total_cmp(&geodesy::area_m2(&index.area(*b).geometry))
        });
        assert_eq!(loc.exclusive, exclusive, "exclusive at {p:?}");
        let grid = chain_at(&index, &loc.chain, Level::Grid);
        assert_eq!(loc.responsible, exclusive.first().copied().or(grid));
        if let Some(g) = grid {
            inside += 1;
            assert!(loc.nearest.is_none());
            // The chain is a path of the tree here (the fixture nests exactly).
            let micro = chain_at(&index, &loc.chain, Level::MicroGrid).expect("micro-grid");
            assert_eq!(
                index.area(micro).parent.as_deref(),
                Some(index.area(g).code.as_str())
            );
            assert!(index.children(g).contains(&micro));
        } else {
            outside += 1;
            assert!(loc.chain.is_empty());
            let nearest = loc.nearest.expect("nearest grid when outside every grid");
            let brute = oracle
                .ids(Level::Grid, false)
                .map(|id| {
                    (
                        geodesy::distance_to_boundary_m(&index.area(id).geometry, p),
                        id,
                    )
                })
                .min_by(|a, b| a.0.total_cmp(&b.0))
                .expect("grids");
            assert_eq!(nearest.area, brute.1, "nearest at {p:?}");
            assert!((nearest.distance_m - brute.0).abs() < 1e-6);
            assert!(nearest.distance_m > 0.0 && nearest.distance_m < 200.0);
        }
    }
    assert!(
        inside > 9_000 && outside > 100,
        "inside {inside}, outside {outside}"
    );
}

#[test]
fn shared_edge_vertices_and_midpoints_go_to_exactly_one_area_by_the_rule() {
    let (_, index) = setup();
    let oracle = Oracle::new(&index);
    let (mut checked, mut horizontal, mut vertical) = (0, 0, 0);
    for level in Level::ALL {
        // Edges of this level's rings, keyed by their endpoints' bits (both directions alike).
        let mut edges: HashMap<[u64; 4], (Coord<f64>, Coord<f64>, u32)> = HashMap::new();
        for id in oracle.ids(level, false) {
            for line in index
                .area(id)
                .geometry
                .0
                .iter()
                .flat_map(|poly| poly.exterior().lines())
            {
                let (a, b) = (line.start, line.end);
                let (lo, hi) = if (a.y, a.x) < (b.y, b.x) {
                    (a, b)
                } else {
                    (b, a)
                };
                let key = [
                    lo.x.to_bits(),
                    lo.y.to_bits(),
                    hi.x.to_bits(),
                    hi.y.to_bits(),
                ];
                edges.entry(key).or_insert((lo, hi, 0)).2 += 1;
            }
        }
        let shared: Vec<(Coord<f64>, Coord<f64>)> = edges
            .values()
            .filter(|e| e.2 == 2)
            .map(|e| (e.0, e.1))
            .collect();
        assert!(!shared.is_empty(), "{level} has shared edges");
        let mut points: Vec<Coord<f64>> = Vec::new();
        for (a, b) in &shared {
            points.extend([
                *a,
                *b,
                coord! { x: f64::midpoint(a.x, b.x), y: f64::midpoint(a.y, b.y) },
            ]);
        }
        for (a, b) in &shared {
            horizontal += usize::from(a.y == b.y);
            vertical += usize::from(a.x == b.x);
        }
        for p in points {
            let loc = index.locate(p);
            let ours = chain_at(&index, &loc.chain, level)
                .unwrap_or_else(|| panic!("{level}: no area at {p:?}"));
            assert!(
                index.area(ours).geometry.intersects(&Point(p)),
                "{level}: {p:?} not covered by ours"
            );
            assert_eq!(
                Some(ours),
                oracle.predicted(level, p),
                "{level}: rule at {p:?}"
            );
            // The rule's own claim: exactly one area of the level takes the point (unless it is on the outer edge).
            let takers = oracle
                .ids(level, false)
                .filter(|&id| {
                    oracle.near(id, p) && gridmap_core::pip::contains(&index.area(id).geometry, p)
                })
                .count();
            assert!(takers <= 1, "{level}: {takers} areas take {p:?}");
            checked += 1;
        }
    }
    assert!(checked > 10_000, "{checked}");
    assert!(
        horizontal > 100 && vertical > 100,
        "the fixture must exercise axis-parallel shared edges"
    );
}

/// The committed sample city (traced polygons, villages, exclusive grids): random points over its bounding box
/// and every micro-grid vertex get, at every level, exactly the area the rule predicts, and the exclusive grids,
/// responsible grid and nearest grid the oracle finds.
#[test]
fn sample_city_matches_the_oracle_at_random_points_and_every_micro_grid_vertex() {
    let index = AreaIndex::build(gridmap_data::sample_city().areas);
    let oracle = Oracle::new(&index);
    let levels = index.levels();
    let bbox = oracle
        .bboxes
        .iter()
        .copied()
        .reduce(|a, b| {
            Rect::new(
                coord! { x: a.min().x.min(b.min().x), y: a.min().y.min(b.min().y) },
                coord! { x: a.max().x.max(b.max().x), y: a.max().y.max(b.max().y) },
            )
        })
        .expect("areas");
    let mut rng = gridmap_core::fixture::SplitMix::new(77);
    let mut points: Vec<Coord<f64>> = (0..10_000)
        .map(|_| {
            coord! {
                x: bbox.min().x + rng.unit() * bbox.width(),
                y: bbox.min().y + rng.unit() * bbox.height(),
            }
        })
        .collect();
    let random = points.len();
    for id in oracle.ids(Level::MicroGrid, false) {
        for poly in &index.area(id).geometry.0 {
            points.extend(poly.exterior().0.iter().copied());
        }
    }
    let (mut outside, mut in_river, mut with_exclusive, mut shared) = (0, 0, 0, 0);
    for (k, &p) in points.iter().enumerate() {
        let loc = index.locate(p);
        let mut expected_chain = Vec::new();
        for &level in &levels {
            let taking = oracle.takers(level, false, p);
            assert!(
                taking.len() <= 1,
                "{level}: {} areas take {p:?}",
                taking.len()
            );
            let ours = chain_at(&index, &loc.chain, level);
            if oracle.covering(level, false, p).len() > 1 {
                shared += 1;
            }
            // Outer edge: the covering area with the smallest code.
            let expected = taking.first().copied().or_else(|| {
                oracle
                    .covering(level, false, p)
                    .into_iter()
                    .min_by(|a, b| index.area(*a).code.cmp(&index.area(*b).code))
            });
            assert_eq!(ours, expected, "{level} at {p:?} (point {k})");
            expected_chain.extend(expected);
        }
        assert_eq!(loc.chain.to_vec(), expected_chain, "chain at {p:?}");
        let exclusive = oracle.predicted_exclusive(p);
        with_exclusive += usize::from(!exclusive.is_empty());
        assert_eq!(loc.exclusive, exclusive, "exclusive at {p:?}");
        let grid = chain_at(&index, &loc.chain, Level::Grid);
        // In no grid but inside the district (the sample's river): the finest area of the chain.
        assert_eq!(
            loc.responsible,
            exclusive
                .first()
                .copied()
                .or(grid)
                .or_else(|| expected_chain.last().copied()),
            "responsible at {p:?}"
        );
        if grid.is_none() {
            outside += 1;
            in_river += usize::from(!expected_chain.is_empty());
            let nearest = loc.nearest.expect("nearest grid when outside every grid");
            let brute = oracle.nearest_grid(p);
            assert_eq!(nearest.area, brute.1, "nearest at {p:?}");
            assert!((nearest.distance_m - brute.0).abs() < 1e-6);
        } else {
            assert!(loc.nearest.is_none());
        }
    }
    assert!(points.len() > random + 10_000, "micro-grid vertices");
    assert!(
        outside > 100 && in_river > 100 && with_exclusive > 10 && shared > 10_000,
        "outside {outside}, in the river {in_river}, exclusive {with_exclusive}, shared {shared}"
    );
}
