//! The generator: lattice → roads and superblocks → streets, communities, grids, micro-grids,
//! exclusive grids → codes, names, staff, addresses.

use std::collections::VecDeque;

use geo_types::{Coord, LineString, MultiPolygon, Point, Polygon};
use gridmap_core::{
    Address, Area, City, ExcludedGround, ExcludedKind, GridKind, Level, Road, StaffMember,
    StaffRole,
};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::lattice::Lattice;
use crate::names;
use crate::order::{
    COMMUNITY_BAND_DEG, GRID_BAND_DEG, MICRO_GRID_BAND_DEG, STREET_BAND_DEG, north, reading_order,
};
use crate::river::{RIVER_NAME, River, components};
use crate::trace::{Ij, IjPolygon, trace};

/// What to generate. The same parameters always give the same city, byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CityParams {
    pub seed: u64,
    /// Lower bound on the district's lattice cells; everything else scales with it. Micro-grids
    /// are the land cells: the river, 7 cells wide, takes the rest (≈ 13 % of the sample, ≈ 3 %
    /// of the 100,000 city).
    pub micro_grids: usize,
}

impl CityParams {
    /// The committed sample city (`data/sample/`): about 4,000 micro-grids.
    pub fn sample() -> CityParams {
        CityParams {
            seed: 411_104,
            micro_grids: 4_000,
        }
    }

    /// The sample's seed with at least `n` micro-grids (100,000 for the benchmarks).
    pub fn with_micro_grids(n: usize) -> CityParams {
        CityParams {
            micro_grids: n,
            ..CityParams::sample()
        }
    }
}

/// Grids are split until they hold at most this many cells (micro-grids).
const MAX_GRID_CELLS: u32 = 16;
/// Communities per street, on average.
const COMMUNITIES_PER_STREET: usize = 6;
/// Share of communities that hold an exclusive grid.
const EXCLUSIVE_SHARE: f64 = 0.55;

/// Independent random streams, one per purpose, so a change in one part leaves the others alone.
fn stream(seed: u64, purpose: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(purpose);
    rng
}

/// Cells `x0..x1` × `y0..y1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rect {
    x0: u32,
    x1: u32,
    y0: u32,
    y1: u32,
}

impl Rect {
    fn area(self) -> u32 {
        (self.x1 - self.x0) * (self.y1 - self.y0)
    }
    fn cells(self) -> Vec<Ij> {
        (self.y0..self.y1)
            .flat_map(|j| (self.x0..self.x1).map(move |i| (i, j)))
            .collect()
    }
}

/// Road lines and superblocks, in lattice indices.
struct Layout {
    nx: u32,
    ny: u32,
    /// Superblock column bounds: 0, the north-south road lines, `nx`.
    cols: Vec<u32>,
    /// Superblock row bounds: 0, the east-west road lines, `ny`.
    rows: Vec<u32>,
    /// Masked superblocks (outside the district), row-major.
    masked: Vec<bool>,
    /// The river: its cells are in the district but in no grid.
    river: River,
}

/// Road lines 8-12 cells apart; no superblock narrower than 6 cells.
fn road_bounds(rng: &mut ChaCha8Rng, n: u32) -> Vec<u32> {
    let mut bounds = vec![0];
    let mut pos = 0;
    loop {
        let step = rng.gen_range(8..=12);
        if pos + step + 6 > n {
            break;
        }
        pos += step;
        bounds.push(pos);
    }
    bounds.push(n);
    bounds
}

impl Layout {
    fn plan(params: &CityParams) -> Layout {
        let target = params.micro_grids.max(1);
        // About 1.4:1 east-west, with ~10 % of the rectangle masked at two corners.
        let mut ny = ((target as f64 * 1.1 / 1.4).sqrt().ceil() as u32).max(12);
        loop {
            let nx = (f64::from(ny) * 1.4).ceil() as u32;
            let mut rng = stream(params.seed, 1);
            let cols = road_bounds(&mut rng, nx);
            let rows = road_bounds(&mut rng, ny);
            let (sc, sr) = (cols.len() - 1, rows.len() - 1);
            let (t_ne, t_sw) = if sc >= 4 && sr >= 3 {
                ((sc / 6).max(1), (sc / 4).max(2))
            } else {
                (0, 0)
            };
            let masked: Vec<bool> = (0..sr)
                .flat_map(|br| (0..sc).map(move |bc| (bc, br)))
                .map(|(bc, br)| (sc - 1 - bc) + br < t_ne || bc + (sr - 1 - br) < t_sw)
                .collect();
            let river = River::new(&mut stream(params.seed, 10), nx, ny);
            let layout = Layout {
                nx,
                ny,
                cols,
                rows,
                masked,
                river,
            };
            // Counting the river's cells too keeps each city's layout (roads, streets,
            // communities) what it was before the river; the river takes about 7 cells a column.
            let cells: u32 = layout.superblocks().iter().map(|s| s.rect.area()).sum();
            if cells as usize >= target {
                return layout;
            }
            ny += 1;
        }
    }

    fn sc(&self) -> usize {
        self.cols.len() - 1
    }

    fn sr(&self) -> usize {
        self.rows.len() - 1
    }

    fn is_masked(&self, bc: isize, br: isize) -> bool {
        bc < 0
            || br < 0
            || bc as usize >= self.sc()
            || br as usize >= self.sr()
            || self.masked[br as usize * self.sc() + bc as usize]
    }

    /// Unmasked superblocks in row-major order.
    fn superblocks(&self) -> Vec<Superblock> {
        let mut out = Vec::new();
        for br in 0..self.sr() {
            for bc in 0..self.sc() {
                let (c, r) = (bc as isize, br as isize);
                if self.is_masked(c, r) {
                    continue;
                }
                let outer = [(c - 1, r), (c + 1, r), (c, r - 1), (c, r + 1)]
                    .into_iter()
                    .any(|(a, b)| self.is_masked(a, b));
                out.push(Superblock {
                    bc,
                    br,
                    rect: Rect {
                        x0: self.cols[bc],
                        x1: self.cols[bc + 1],
                        y0: self.rows[br],
                        y1: self.rows[br + 1],
                    },
                    outer,
                });
            }
        }
        out
    }

    /// The jittered lattice; nodes on road lines get no noise across the road.
    fn lattice(&self, seed: u64) -> Lattice {
        let col_road: Vec<bool> = (0..=self.nx)
            .map(|i| self.cols[1..self.cols.len() - 1].contains(&i))
            .collect();
        let row_road: Vec<bool> = (0..=self.ny)
            .map(|j| self.rows[1..self.rows.len() - 1].contains(&j))
            .collect();
        Lattice::new(
            &mut stream(seed, 2),
            self.nx as usize,
            self.ny as usize,
            &col_road,
            &row_road,
        )
    }

    /// Whether cell (i, j) belongs to the district.
    fn in_city(&self, i: u32, j: u32) -> bool {
        if i >= self.nx || j >= self.ny {
            return false;
        }
        let bc = self.cols.partition_point(|&c| c <= i) - 1;
        let br = self.rows.partition_point(|&r| r <= j) - 1;
        !self.is_masked(bc as isize, br as isize)
    }
}

/// One superblock between roads: becomes one community (社区), or a village (村) at the edge.
struct Superblock {
    bc: usize,
    br: usize,
    rect: Rect,
    outer: bool,
}

/// Guillotine cuts of a community into grids of at most [`MAX_GRID_CELLS`] cells.
fn split_grids(rng: &mut ChaCha8Rng, rect: Rect, out: &mut Vec<Rect>) {
    if rect.area() <= MAX_GRID_CELLS {
        out.push(rect);
        return;
    }
    let (w, h) = (rect.x1 - rect.x0, rect.y1 - rect.y0);
    let len = w.max(h);
    let lo = ((len * 3) / 10).max(1);
    let hi = ((len * 7).div_ceil(10)).min(len - 1).max(lo);
    let cut = rng.gen_range(lo..=hi);
    let (a, b) = if w >= h {
        (
            Rect {
                x1: rect.x0 + cut,
                ..rect
            },
            Rect {
                x0: rect.x0 + cut,
                ..rect
            },
        )
    } else {
        (
            Rect {
                y1: rect.y0 + cut,
                ..rect
            },
            Rect {
                y0: rect.y0 + cut,
                ..rect
            },
        )
    };
    split_grids(rng, a, out);
    split_grids(rng, b, out);
}

/// Streets: multi-source breadth-first growth over superblocks from spread-out seeds, so each
/// street is connected and its boundary follows roads.
fn assign_streets(rng: &mut ChaCha8Rng, layout: &Layout, blocks: &[Superblock]) -> Vec<usize> {
    let n_streets = ((blocks.len() + COMMUNITIES_PER_STREET / 2) / COMMUNITIES_PER_STREET).max(1);
    let pos = |b: &Superblock| (b.bc as i64, b.br as i64);
    let dist2 = |a: (i64, i64), b: (i64, i64)| (a.0 - b.0).pow(2) + (a.1 - b.1).pow(2);
    let mut seeds = vec![rng.gen_range(0..blocks.len())];
    while seeds.len() < n_streets {
        let far = (0..blocks.len())
            .max_by_key(|&k| {
                let d = seeds
                    .iter()
                    .map(|&s| dist2(pos(&blocks[k]), pos(&blocks[s])))
                    .min()
                    .unwrap_or(0);
                (d, std::cmp::Reverse(k))
            })
            .unwrap_or(0);
        seeds.push(far);
    }
    let mut grid_index = vec![None; layout.sc() * layout.sr()];
    for (k, b) in blocks.iter().enumerate() {
        grid_index[b.br * layout.sc() + b.bc] = Some(k);
    }
    let mut label = vec![usize::MAX; blocks.len()];
    let mut queue = VecDeque::new();
    for (s, &k) in seeds.iter().enumerate() {
        label[k] = s;
        queue.push_back(k);
    }
    while let Some(k) = queue.pop_front() {
        let (c, r) = (blocks[k].bc as isize, blocks[k].br as isize);
        for (a, b) in [(c, r - 1), (c - 1, r), (c + 1, r), (c, r + 1)] {
            if layout.is_masked(a, b) {
                continue;
            }
            if let Some(n) = grid_index[b as usize * layout.sc() + a as usize]
                && label[n] == usize::MAX
            {
                label[n] = label[k];
                queue.push_back(n);
            }
        }
    }
    label
}

fn staff(rng: &mut ChaCha8Rng) -> Vec<StaffMember> {
    let counts = [
        (StaffRole::Leader, 1),
        (StaffRole::FullTime, rng.gen_range(1..=2)),
        (StaffRole::PartTime, rng.gen_range(1..=3)),
        (StaffRole::Police, 1),
        (StaffRole::Doctor, 1),
    ];
    counts
        .into_iter()
        .flat_map(|(role, n)| std::iter::repeat_n(role, n))
        .map(|role| StaffMember {
            name: names::person(rng),
            phone: names::phone(rng),
            role,
        })
        .collect()
}

fn to_geo(lattice: &Lattice, polys: &[IjPolygon]) -> MultiPolygon<f64> {
    let ring = |nodes: &[Ij]| {
        let mut coords: Vec<Coord<f64>> = nodes
            .iter()
            .map(|&(i, j)| {
                let [x, y] = lattice.node(i as usize, j as usize);
                Coord { x, y }
            })
            .collect();
        coords.push(coords[0]);
        LineString(coords)
    };
    MultiPolygon(
        polys
            .iter()
            .map(|p| Polygon::new(ring(&p.exterior), p.holes.iter().map(|h| ring(h)).collect()))
            .collect(),
    )
}

/// An area before its code is known.
struct Draft {
    geometry: MultiPolygon<f64>,
    rect: Rect,
}

/// A grid before its code is known: the land cells of one guillotine piece.
struct GridDraft {
    geometry: MultiPolygon<f64>,
    cells: Vec<Ij>,
    kind: GridKind,
}

fn ordered<T>(
    items: Vec<T>,
    geometry: impl Fn(&T) -> &MultiPolygon<f64>,
    north: f64,
    band: f64,
) -> Vec<T> {
    let geoms: Vec<&MultiPolygon<f64>> = items.iter().map(&geometry).collect();
    let order = reading_order(&geoms, north, band);
    let mut slots: Vec<Option<T>> = items.into_iter().map(Some).collect();
    order.into_iter().filter_map(|k| slots[k].take()).collect()
}

/// A road line: east-west (`horizontal`) at row `line`, or north-south at column `line`.
#[derive(Clone, Copy)]
struct RoadLine {
    horizontal: bool,
    /// 0-based among roads of the same direction.
    k: usize,
}

/// The river's outline inside the district (`data/sample/water.geojson` for the sample): ground
/// that belongs to a community and street but to no grid. Traced from the same lattice nodes as
/// the city, so its banks are the bordering grids' edges exactly.
pub fn water(params: &CityParams) -> MultiPolygon<f64> {
    let layout = Layout::plan(params);
    river_outline(&layout, &layout.lattice(params.seed))
}

fn river_outline(layout: &Layout, lattice: &Lattice) -> MultiPolygon<f64> {
    let cells: Vec<Ij> = layout
        .superblocks()
        .iter()
        .flat_map(|b| b.rect.cells())
        .filter(|&c| layout.river.contains(c))
        .collect();
    to_geo(lattice, &trace(&cells))
}

/// Generates the city. Deterministic: the same parameters give the same city on every platform.
#[expect(
    clippy::too_many_lines,
    reason = "one pass down the tree whose steps share the lattice and streams"
)]
pub fn generate(params: &CityParams) -> City {
    let layout = Layout::plan(params);
    let blocks = layout.superblocks();
    let lattice = layout.lattice(params.seed);
    let street_of = assign_streets(&mut stream(params.seed, 3), &layout, &blocks);
    let n_streets = street_of.iter().max().map_or(0, |m| m + 1);
    let is_main = |k: usize| k % 3 == 1;

    // Geometry of every level.
    let all_cells: Vec<Ij> = blocks.iter().flat_map(|b| b.rect.cells()).collect();
    let district_geom = to_geo(&lattice, &trace(&all_cells));
    let streets: Vec<(MultiPolygon<f64>, Vec<usize>)> = (0..n_streets)
        .map(|s| {
            let members: Vec<usize> = (0..blocks.len()).filter(|&k| street_of[k] == s).collect();
            let cells: Vec<Ij> = members
                .iter()
                .flat_map(|&k| blocks[k].rect.cells())
                .collect();
            (to_geo(&lattice, &trace(&cells)), members)
        })
        .collect();
    let streets = ordered(streets, |s| &s.0, north(&district_geom), STREET_BAND_DEG);

    let mut rng_grids = stream(params.seed, 4);
    let mut rng_names = stream(params.seed, 5);
    let mut rng_staff = stream(params.seed, 6);
    let mut rng_addr = stream(params.seed, 7);
    let mut exclusive_picks: Vec<usize> = (0..blocks.len()).collect();
    exclusive_picks.shuffle(&mut stream(params.seed, 8));
    let n_exclusive = (blocks.len() as f64 * EXCLUSIVE_SHARE).round() as usize;
    let mut rng_excl = stream(params.seed, 9);
    let mut place_names = names::PlaceNames::new(&mut rng_names);

    let mut areas: Vec<Area> = vec![Area {
        code: names::DISTRICT_CODE.to_owned(),
        name: names::DISTRICT_NAME.to_owned(),
        level: Level::District,
        kind: None,
        parent: None,
        geometry: district_geom,
        staff: Vec::new(),
    }];
    let mut addresses = Vec::new();
    for (s, (street_geom, members)) in streets.into_iter().enumerate() {
        let street_code = format!("{}{:03}", names::DISTRICT_CODE, s + 1);
        let street_north = north(&street_geom);
        let communities: Vec<(Draft, usize)> = members
            .into_iter()
            .map(|k| {
                let rect = blocks[k].rect;
                let geometry = to_geo(&lattice, &trace(&rect.cells()));
                (Draft { geometry, rect }, k)
            })
            .collect();
        let communities = ordered(
            communities,
            |c| &c.0.geometry,
            street_north,
            COMMUNITY_BAND_DEG,
        );
        for (c, (community, block)) in communities.into_iter().enumerate() {
            let community_code = format!("{street_code}{:03}", c + 1);
            // The west borders Luohe's urban core; villages lie on the rural east and south edges.
            let village = blocks[block].outer
                && 2 * (blocks[block].bc + blocks[block].br) + 2 >= layout.sc() + layout.sr();
            let community_name = if village {
                place_names.village(&mut rng_names)
            } else {
                place_names.community()
            };
            let mut rects = Vec::new();
            split_grids(&mut rng_grids, community.rect, &mut rects);
            let pieces: Vec<Draft> = rects
                .into_iter()
                .map(|rect| Draft {
                    geometry: to_geo(&lattice, &trace(&rect.cells())),
                    rect,
                })
                .collect();
            let community_north = north(&community.geometry);
            let pieces = ordered(pieces, |g| &g.geometry, community_north, GRID_BAND_DEG);
            let main_lines: Vec<u32> = [
                (
                    layout.cols.iter().position(|&x| x == community.rect.x0),
                    community.rect.x0,
                ),
                (
                    layout.cols.iter().position(|&x| x == community.rect.x1),
                    community.rect.x1,
                ),
            ]
            .into_iter()
            .filter(|(p, x)| {
                p.is_some_and(|p| p >= 1 && is_main(p - 1)) && *x > 0 && *x < layout.nx
            })
            .map(|(_, x)| x)
            .collect();
            let main_rows: Vec<u32> = [community.rect.y0, community.rect.y1]
                .into_iter()
                .filter(|&y| {
                    layout
                        .rows
                        .iter()
                        .position(|&r| r == y)
                        .is_some_and(|p| p >= 1 && is_main(p - 1))
                        && y > 0
                        && y < layout.ny
                })
                .collect();
            // A guillotine piece's kind is drawn before the river cuts it, so communities away
            // from the river come out as they would without it; each land part of a piece is
            // one grid (a grid stays one connected polygon).
            let mut grids: Vec<GridDraft> = Vec::new();
            for piece in pieces {
                let on_main = main_lines.contains(&piece.rect.x0)
                    || main_lines.contains(&piece.rect.x1)
                    || main_rows.contains(&piece.rect.y0)
                    || main_rows.contains(&piece.rect.y1);
                let kind = if village {
                    GridKind::Village
                } else if on_main && rng_grids.gen_bool(0.6) {
                    GridKind::Commercial
                } else {
                    GridKind::Residential
                };
                let land: Vec<Ij> = piece
                    .rect
                    .cells()
                    .into_iter()
                    .filter(|&c| !layout.river.contains(c))
                    .collect();
                if land.len() == piece.rect.area() as usize {
                    grids.push(GridDraft {
                        geometry: piece.geometry,
                        cells: land,
                        kind,
                    });
                    continue;
                }
                for cells in components(&land) {
                    grids.push(GridDraft {
                        geometry: to_geo(&lattice, &trace(&cells)),
                        cells,
                        kind,
                    });
                }
            }
            let grids = ordered(grids, |g| &g.geometry, community_north, GRID_BAND_DEG);
            for (g, grid) in grids.into_iter().enumerate() {
                let grid_code = format!("{community_code}{:03}", g + 1);
                let grid_name = format!("{community_name}第{}网格", g + 1);
                let kind = grid.kind;
                let cells: Vec<(MultiPolygon<f64>, Ij)> = grid
                    .cells
                    .into_iter()
                    .map(|cell| {
                        let poly = IjPolygon {
                            exterior: vec![
                                (cell.0, cell.1 + 1),
                                (cell.0 + 1, cell.1 + 1),
                                (cell.0 + 1, cell.1),
                                cell,
                            ],
                            holes: Vec::new(),
                        };
                        (to_geo(&lattice, &[poly]), cell)
                    })
                    .collect();
                let cells = ordered(cells, |m| &m.0, north(&grid.geometry), MICRO_GRID_BAND_DEG);
                areas.push(Area {
                    code: grid_code.clone(),
                    name: grid_name.clone(),
                    level: Level::Grid,
                    kind: Some(kind),
                    parent: Some(community_code.clone()),
                    geometry: grid.geometry,
                    staff: staff(&mut rng_staff),
                });
                for (m, (geometry, cell)) in cells.into_iter().enumerate() {
                    let code = format!("{grid_code}{:03}", m + 1);
                    addresses.extend(doorplates(
                        &mut rng_addr,
                        &layout,
                        &lattice,
                        community.rect,
                        cell,
                    ));
                    areas.push(Area {
                        code,
                        name: format!("{grid_name}{}号微网格", m + 1),
                        level: Level::MicroGrid,
                        kind: None,
                        parent: Some(grid_code.clone()),
                        geometry,
                        staff: Vec::new(),
                    });
                }
            }
            if let Some(p) = exclusive_picks[..n_exclusive]
                .iter()
                .position(|&k| k == block)
            {
                let kind = exclusive_kind(p);
                let rect = exclusive_rect(&mut rng_excl, community.rect, kind);
                let cells = exclusive_land(rect, community.rect, kind, &layout.river);
                if !cells.is_empty() {
                    areas.push(Area {
                        code: format!("{community_code}901"),
                        name: names::exclusive(kind, &community_name, p),
                        level: Level::Grid,
                        kind: Some(kind),
                        parent: Some(community_code.clone()),
                        geometry: to_geo(&lattice, &trace(&cells)),
                        staff: staff(&mut rng_staff),
                    });
                }
            }
            areas.push(Area {
                code: community_code,
                name: community_name,
                level: Level::Community,
                kind: None,
                parent: Some(street_code.clone()),
                geometry: community.geometry,
                staff: Vec::new(),
            });
        }
        areas.push(Area {
            code: street_code,
            name: names::street(s),
            level: Level::Street,
            kind: None,
            parent: Some(names::DISTRICT_CODE.to_owned()),
            geometry: street_geom,
            staff: Vec::new(),
        });
    }
    areas.sort_by(|a, b| a.level.cmp(&b.level).then_with(|| a.code.cmp(&b.code)));
    let river = river_outline(&layout, &lattice);
    City {
        areas,
        addresses,
        roads: roads(&layout, &lattice, is_main),
        // The river: inside communities, in no grid by design.
        excluded: (!river.0.is_empty())
            .then(|| ExcludedGround {
                name: RIVER_NAME.to_owned(),
                kind: ExcludedKind::Water,
                geometry: river,
            })
            .into_iter()
            .collect(),
    }
}

/// Kind of the `p`-th exclusive grid: one industrial park per 40, the rest a fixed rotation.
fn exclusive_kind(p: usize) -> GridKind {
    const ROTATION: [GridKind; 8] = [
        GridKind::Market,
        GridKind::School,
        GridKind::Hospital,
        GridKind::School,
        GridKind::Market,
        GridKind::Enterprise,
        GridKind::Hospital,
        GridKind::Government,
    ];
    if p % 40 == 3 {
        GridKind::IndustrialPark
    } else {
        ROTATION[p % ROTATION.len()]
    }
}

/// A block of cells inside the community: most of it for an industrial park, 2-4 cells a side
/// otherwise.
fn exclusive_rect(rng: &mut ChaCha8Rng, community: Rect, kind: GridKind) -> Rect {
    let (cw, ch) = (community.x1 - community.x0, community.y1 - community.y0);
    if kind == GridKind::IndustrialPark {
        return Rect {
            x0: community.x0 + 1,
            x1: community.x1 - 1,
            y0: community.y0 + 1,
            y1: community.y1 - 1,
        };
    }
    let w = rng.gen_range(2..=4u32).min(cw);
    let h = rng.gen_range(2..=4u32).min(ch);
    let x0 = community.x0 + rng.gen_range(0..=cw - w);
    let y0 = community.y0 + rng.gen_range(0..=ch - h);
    Rect {
        x0,
        x1: x0 + w,
        y0,
        y1: y0 + h,
    }
}

/// The cells of an exclusive grid, on land: a block that meets the river slides north or south
/// inside its community to the nearest clear place; an industrial park (or a block with no clear
/// place) keeps its largest land part. Empty if the block is all water.
fn exclusive_land(rect: Rect, community: Rect, kind: GridKind, river: &River) -> Vec<Ij> {
    let dry = |r: Rect| r.cells().into_iter().all(|c| !river.contains(c));
    if dry(rect) {
        return rect.cells();
    }
    if kind != GridKind::IndustrialPark {
        let h = rect.y1 - rect.y0;
        let shifted = (1..community.y1 - community.y0)
            .flat_map(|d| [rect.y0.checked_sub(d), Some(rect.y0 + d)])
            .flatten()
            .filter(|&y0| y0 >= community.y0 && y0 + h <= community.y1)
            .map(|y0| Rect {
                y0,
                y1: y0 + h,
                ..rect
            })
            .find(|&r| dry(r));
        if let Some(r) = shifted {
            return r.cells();
        }
    }
    let land: Vec<Ij> = rect
        .cells()
        .into_iter()
        .filter(|&c| !river.contains(c))
        .collect();
    components(&land)
        .into_iter()
        .max_by_key(|part| (part.len(), std::cmp::Reverse(part[0])))
        .unwrap_or_default()
}

/// Doorplate addresses of one cell: on the nearest road bounding its community, odd numbers on
/// the north and west sides of a road, even on the south and east; buildings numbered by depth
/// from the road so that every full address is unique.
#[expect(
    clippy::many_single_char_names,
    reason = "lattice indices i, j and cell parameters s, t"
)]
fn doorplates(
    rng: &mut ChaCha8Rng,
    layout: &Layout,
    lattice: &Lattice,
    community: Rect,
    (i, j): Ij,
) -> Vec<Address> {
    let line_k = |bounds: &[u32], x: u32| bounds.iter().position(|&b| b == x).map(|p| p - 1);
    // (distance in cells, road, cell lies on the odd side)
    let mut candidates = Vec::with_capacity(4);
    if community.y0 > 0
        && let Some(k) = line_k(&layout.rows, community.y0)
    {
        candidates.push((
            j - community.y0,
            RoadLine {
                horizontal: true,
                k,
            },
            false,
        ));
    }
    if community.y1 < layout.ny
        && let Some(k) = line_k(&layout.rows, community.y1)
    {
        candidates.push((
            community.y1 - 1 - j,
            RoadLine {
                horizontal: true,
                k,
            },
            true,
        ));
    }
    if community.x0 > 0
        && let Some(k) = line_k(&layout.cols, community.x0)
    {
        candidates.push((
            i - community.x0,
            RoadLine {
                horizontal: false,
                k,
            },
            false,
        ));
    }
    if community.x1 < layout.nx
        && let Some(k) = line_k(&layout.cols, community.x1)
    {
        candidates.push((
            community.x1 - 1 - i,
            RoadLine {
                horizontal: false,
                k,
            },
            true,
        ));
    }
    let Some(&(depth, road, odd)) = candidates.iter().min_by_key(|c| c.0) else {
        return Vec::new();
    };
    let (road_name, pos) = if road.horizontal {
        (names::ew_road(road.k), i + 1)
    } else {
        (names::ns_road(road.k), j + 1)
    };
    let number = if odd { 2 * pos - 1 } else { 2 * pos };
    let buildings = rng.gen_range(2..=3u32);
    let units = rng.gen_range(2..=3u32);
    let mut out = Vec::with_capacity((buildings * units) as usize);
    for b in 1..=buildings {
        for u in 1..=units {
            let s = rng.gen_range(0.15..=0.85);
            let t = rng.gen_range(0.15..=0.85);
            let [x, y] = lattice.point_in_cell(i as usize, j as usize, s, t);
            let building = format!("{}号楼{u}单元", depth * 3 + b);
            out.push(Address {
                full: format!("{}{road_name}{number}号{building}", names::CITY_PREFIX),
                road: road_name.clone(),
                number: number.to_string(),
                building,
                point: Point::new(x, y),
            });
        }
    }
    out
}

/// Road centrelines along the road lines, in runs that touch the district; east-west roads first
/// (north→south), then north-south roads (west→east).
fn roads(layout: &Layout, lattice: &Lattice, is_main: impl Fn(usize) -> bool) -> Vec<Road> {
    let mut out = Vec::new();
    let mut emit = |name: String, k: usize, nodes: &mut Vec<(u32, u32)>| {
        if nodes.len() >= 2 {
            out.push(Road {
                name,
                class: if is_main(k) { "main" } else { "secondary" }.to_owned(),
                geometry: LineString(
                    nodes
                        .iter()
                        .map(|&(i, j)| {
                            let [x, y] = lattice.node(i as usize, j as usize);
                            Coord { x, y }
                        })
                        .collect(),
                ),
            });
        }
        nodes.clear();
    };
    for (k, &r) in layout.rows[1..layout.rows.len() - 1].iter().enumerate() {
        let mut run = Vec::new();
        for i in 0..layout.nx {
            if layout.in_city(i, r - 1) || layout.in_city(i, r) {
                if run.is_empty() {
                    run.push((i, r));
                }
                run.push((i + 1, r));
            } else {
                emit(names::ew_road(k), k, &mut run);
            }
        }
        emit(names::ew_road(k), k, &mut run);
    }
    for (k, &c) in layout.cols[1..layout.cols.len() - 1].iter().enumerate() {
        let mut run = Vec::new();
        for j in 0..layout.ny {
            if layout.in_city(c - 1, j) || layout.in_city(c, j) {
                if run.is_empty() {
                    run.push((c, j));
                }
                run.push((c, j + 1));
            } else {
                emit(names::ns_road(k), k, &mut run);
            }
        }
        emit(names::ns_road(k), k, &mut run);
    }
    out
}
