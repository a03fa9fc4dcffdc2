//! Deterministic patrol tracks: grid workers walking their grids, as their phones report them.
//!
//! Workers are the full-time staff (专职网格员) of ordinary grids, their phone numbers as ids, chosen in a
//! seeded order. Each walks the network of its grid's micro-grid boundaries (the lattice lines, which include
//! the roads along the grid's edge), now and then cutting straight across a micro-grid, at about 1.2 m/s with
//! short stops, from a start within the first half hour, with a 40–60 minute lunch break half way in days of 4 hours or more (a gap that
//! cleaning splits). A fix every `interval_s` with ~5 m noise; some bad fixes on purpose: poor accuracy (1.5 %),
//! spikes 150–500 m away (0.3 %), exact duplicates (0.5 %), and pairs swapped out of order (0.5 %).

use std::collections::HashMap;

use geo_types::Coord;
use gridmap_core::patrol::{DateTime, Fix, TimeDelta, Utc};
use gridmap_core::{City, Level, StaffRole, geodesy};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What to generate. The same parameters and city always give the same fixes.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackParams {
    pub seed: u64,
    /// At most this many workers (fewer if the city has fewer full-time grid workers).
    pub workers: usize,
    /// Length of the working day, hours.
    pub hours: f64,
    pub interval_s: u32,
    /// Start of the day.
    pub start: DateTime<Utc>,
}

impl TrackParams {
    /// `workers` × 8 hours, a fix every 10 s, from 08:30 Beijing time (00:30 UTC) on 2026-03-02.
    pub fn day(seed: u64, workers: usize) -> TrackParams {
        TrackParams {
            seed,
            workers,
            hours: 8.0,
            interval_s: 10,
            start: DateTime::from_timestamp(1_772_411_400, 0).expect("a valid time"),
        }
    }
}

/// A grid's walkable network: nodes (lon/lat), edges along micro-grid boundaries, and the micro-grid rings.
struct Network {
    nodes: Vec<Coord<f64>>,
    adjacent: Vec<Vec<u32>>,
    /// Node ids of each micro-grid's exterior ring.
    rings: Vec<Vec<u32>>,
    /// Micro-grids (indices into `rings`) at each node.
    ring_of: Vec<Vec<u32>>,
}

impl Network {
    fn build(rings_lonlat: &[&[Coord<f64>]]) -> Network {
        let mut ids: HashMap<(u64, u64), u32> = HashMap::new();
        let mut net = Network {
            nodes: Vec::new(),
            adjacent: Vec::new(),
            rings: Vec::new(),
            ring_of: Vec::new(),
        };
        for ring in rings_lonlat {
            let r = net.rings.len() as u32;
            let mut ring_ids: Vec<u32> = Vec::new();
            for c in *ring {
                let next = net.nodes.len() as u32;
                let id = *ids.entry((c.x.to_bits(), c.y.to_bits())).or_insert(next);
                if id == next {
                    net.nodes.push(*c);
                    net.adjacent.push(Vec::new());
                    net.ring_of.push(Vec::new());
                }
                if ring_ids.last() != Some(&id) {
                    ring_ids.push(id);
                }
            }
            for w in ring_ids.windows(2) {
                let (a, b) = (w[0] as usize, w[1] as usize);
                if a != b && !net.adjacent[a].contains(&w[1]) {
                    net.adjacent[a].push(w[1]);
                    net.adjacent[b].push(w[0]);
                }
            }
            for &id in &ring_ids {
                if !net.ring_of[id as usize].contains(&r) {
                    net.ring_of[id as usize].push(r);
                }
            }
            net.rings.push(ring_ids);
        }
        net
    }

    /// The next node from `at`, not going straight back if avoidable; sometimes across a micro-grid.
    fn next(&self, rng: &mut ChaCha8Rng, at: u32, came_from: Option<u32>) -> u32 {
        let rings = &self.ring_of[at as usize];
        if !rings.is_empty() && rng.gen_bool(0.2) {
            let ring = &self.rings[rings[rng.gen_range(0..rings.len())] as usize];
            return ring[rng.gen_range(0..ring.len())];
        }
        let options: Vec<u32> = self.adjacent[at as usize]
            .iter()
            .copied()
            .filter(|&n| Some(n) != came_from)
            .collect();
        match (options.is_empty(), came_from) {
            (false, _) => options[rng.gen_range(0..options.len())],
            (true, Some(back)) => back,
            (true, None) => at,
        }
    }
}

/// A standard normal sample (Box–Muller).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u: f64 = rng.gen_range(f64::EPSILON..1.0);
    let v: f64 = rng.gen_range(0.0..1.0);
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// Generates the day's fixes of up to `params.workers` workers (see the module docs), worker by worker.
pub fn generate_tracks(city: &City, params: &TrackParams) -> Vec<Fix> {
    let mut micro: HashMap<&str, Vec<&[Coord<f64>]>> = HashMap::new();
    for a in &city.areas {
        if a.level == Level::MicroGrid
            && let Some(parent) = a.parent.as_deref()
        {
            for p in &a.geometry.0 {
                micro.entry(parent).or_default().push(&p.exterior().0);
            }
        }
    }
    let mut grids: Vec<_> = city
        .areas
        .iter()
        .filter(|a| a.level == Level::Grid && !a.is_exclusive())
        .collect();
    grids.sort_by(|a, b| a.code.cmp(&b.code));
    let mut staff: Vec<(usize, &str)> = grids
        .iter()
        .enumerate()
        .flat_map(|(g, a)| {
            a.staff
                .iter()
                .filter(|m| m.role == StaffRole::FullTime)
                .map(move |m| (g, m.phone.as_str()))
        })
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
    staff.shuffle(&mut rng);
    staff.truncate(params.workers);
    let mut networks: HashMap<usize, Network> = HashMap::new();
    let per_worker = (params.hours * 3600.0 / f64::from(params.interval_s.max(1))) as usize;
    let mut out = Vec::with_capacity(staff.len() * per_worker * 102 / 100);
    for (w, &(g, phone)) in staff.iter().enumerate() {
        let net = networks.entry(g).or_insert_with(|| {
            let rings: Vec<&[Coord<f64>]> = match micro.get(grids[g].code.as_str()) {
                Some(r) => r.clone(),
                None => grids[g]
                    .geometry
                    .0
                    .iter()
                    .map(|p| &p.exterior().0[..])
                    .collect(),
            };
            Network::build(&rings)
        });
        let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
        rng.set_stream(w as u64 + 1);
        walk(net, phone, params, &mut rng, &mut out);
    }
    out
}

/// One worker's day.
fn walk(
    net: &Network,
    phone: &str,
    params: &TrackParams,
    rng: &mut ChaCha8Rng,
    out: &mut Vec<Fix>,
) {
    if net.nodes.is_empty() {
        return;
    }
    let (mx, my) = geodesy::metres_per_degree(net.nodes[0].y);
    let interval = f64::from(params.interval_s.max(1));
    let day_s = params.hours * 3600.0;
    let lunch_at = day_s / 2.0 + rng.gen_range(-900.0..900.0);
    // Short days (tests) have no lunch break.
    let lunch_s = if params.hours >= 4.0 {
        rng.gen_range(2400.0..3600.0)
    } else {
        0.0
    };
    let mut t = rng.gen_range(0.0..1800.0_f64).floor();
    let mut at = rng.gen_range(0..net.nodes.len()) as u32;
    let mut came_from = None;
    let mut to = net.next(rng, at, came_from);
    let mut pos = net.nodes[at as usize];
    let mut pause_s = 0.0;
    let speed = rng.gen_range(1.0..1.4);
    let first = out.len();
    while t < day_s {
        if t >= lunch_at && t < lunch_at + lunch_s {
            t = (lunch_at + lunch_s).ceil();
            continue;
        }
        // Move `speed × interval` metres along the legs, or stand still.
        let mut budget = if pause_s > 0.0 { 0.0 } else { speed * interval };
        pause_s = (pause_s - interval).max(0.0);
        while budget > 0.0 {
            let target = net.nodes[to as usize];
            let (dx, dy) = ((target.x - pos.x) * mx, (target.y - pos.y) * my);
            let left = dx.hypot(dy);
            if left > budget {
                pos.x += dx / left * budget / mx;
                pos.y += dy / left * budget / my;
                budget = 0.0;
            } else {
                pos = target;
                budget -= left;
                came_from = Some(at);
                at = to;
                to = net.next(rng, at, came_from);
                if rng.gen_bool(0.05) {
                    pause_s = rng.gen_range(60.0..300.0);
                    budget = 0.0;
                }
            }
        }
        let when = params.start + TimeDelta::milliseconds((t * 1000.0) as i64);
        let roll: f64 = rng.gen_range(0.0..1.0);
        let (sigma_m, offset_m, accuracy_m) = if roll < 0.015 {
            (50.0, 0.0, rng.gen_range(60.0..300.0))
        } else if roll < 0.018 {
            (4.0, rng.gen_range(150.0..500.0), rng.gen_range(5.0..20.0))
        } else {
            (4.0, 0.0, rng.gen_range(3.0..15.0))
        };
        let angle = rng.gen_range(0.0..std::f64::consts::TAU);
        let east = sigma_m * normal(rng) + offset_m * angle.cos();
        let north = sigma_m * normal(rng) + offset_m * angle.sin();
        let fix = Fix {
            worker: phone.to_owned(),
            at: when,
            point: Coord {
                x: pos.x + east / mx,
                y: pos.y + north / my,
            },
            accuracy_m,
        };
        let roll: f64 = rng.gen_range(0.0..1.0);
        if roll < 0.005 {
            out.push(fix.clone());
        }
        out.push(fix);
        if roll > 0.995 && out.len() - first >= 2 {
            let n = out.len();
            out.swap(n - 1, n - 2);
        }
        t += interval;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_are_deterministic_and_stay_near_the_workers_grids() {
        let city = crate::sample_city();
        let params = TrackParams {
            hours: 1.0,
            ..TrackParams::day(7, 20)
        };
        let fixes = generate_tracks(&city, &params);
        assert_eq!(fixes, generate_tracks(&city, &params));
        let workers: std::collections::HashSet<&str> =
            fixes.iter().map(|f| f.worker.as_str()).collect();
        assert_eq!(workers.len(), 20);
        // About 300-360 fixes each (a start within the first half hour), a few bad ones.
        assert!(
            fixes.len() > 20 * 180 && fixes.len() < 20 * 370,
            "{}",
            fixes.len()
        );
        let poor = fixes.iter().filter(|f| f.accuracy_m > 50.0).count();
        assert!(poor > 0 && poor < fixes.len() / 20, "{poor}");
        // Each worker's good fixes lie within 100 m of their own grid.
        let index = gridmap_core::AreaIndex::build(city.areas.clone());
        for w in workers {
            let grid = city
                .areas
                .iter()
                .find(|a| a.level == Level::Grid && a.staff.iter().any(|m| m.phone == w))
                .expect("the worker's grid");
            let id = index.by_code(&grid.code).expect("indexed");
            let prepared = index.prepared(id);
            let good: Vec<&Fix> = fixes
                .iter()
                .filter(|f| f.worker == w && f.accuracy_m <= 50.0)
                .collect();
            let near = good
                .iter()
                .filter(|f| {
                    prepared.covers(f.point) || prepared.distance_to_boundary_m(f.point) < 25.0
                })
                .count();
            assert!(
                near * 100 >= good.len() * 98,
                "{w}: {near} of {}",
                good.len()
            );
        }
    }
}
