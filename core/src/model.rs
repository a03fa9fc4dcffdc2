//! The tree of areas: district → street → community → grid → micro-grid, plus exclusive grids.

use geo_types::{MultiPolygon, Point};
use serde::{Deserialize, Serialize};

/// A level of the administrative tree, coarsest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    District,
    Street,
    Community,
    Grid,
    MicroGrid,
}

impl Level {
    /// All levels, coarsest first.
    pub const ALL: [Level; 5] = [
        Level::District,
        Level::Street,
        Level::Community,
        Level::Grid,
        Level::MicroGrid,
    ];

    /// The name used in the API, the stores and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::District => "district",
            Level::Street => "street",
            Level::Community => "community",
            Level::Grid => "grid",
            Level::MicroGrid => "micro_grid",
        }
    }

    /// Position in the tree, 0 for districts.
    pub fn depth(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Level {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Level::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| crate::Error::UnknownLevel(s.to_owned()))
    }
}

/// What a grid is for. Ordinary kinds tile the ground; exclusive kinds (专属网格) overlay it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GridKind {
    Residential,
    Commercial,
    Road,
    Village,
    Market,
    IndustrialPark,
    School,
    Hospital,
    Enterprise,
    Government,
    Other,
}

impl GridKind {
    pub const ALL: [GridKind; 11] = [
        GridKind::Residential,
        GridKind::Commercial,
        GridKind::Road,
        GridKind::Village,
        GridKind::Market,
        GridKind::IndustrialPark,
        GridKind::School,
        GridKind::Hospital,
        GridKind::Enterprise,
        GridKind::Government,
        GridKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GridKind::Residential => "residential",
            GridKind::Commercial => "commercial",
            GridKind::Road => "road",
            GridKind::Village => "village",
            GridKind::Market => "market",
            GridKind::IndustrialPark => "industrial_park",
            GridKind::School => "school",
            GridKind::Hospital => "hospital",
            GridKind::Enterprise => "enterprise",
            GridKind::Government => "government",
            GridKind::Other => "other",
        }
    }

    /// Exclusive grids (专属网格) overlay ordinary ones and take precedence for incidents.
    pub fn is_exclusive(self) -> bool {
        !matches!(
            self,
            GridKind::Residential | GridKind::Commercial | GridKind::Road | GridKind::Village
        )
    }
}

impl std::fmt::Display for GridKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for GridKind {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        GridKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| crate::Error::UnknownKind(s.to_owned()))
    }
}

/// The role of a member of a grid's staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    /// 网格长
    Leader,
    /// 专职网格员
    FullTime,
    /// 兼职网格员
    PartTime,
    /// 网格警员
    Police,
    /// 网格医生
    Doctor,
}

impl StaffRole {
    pub const ALL: [StaffRole; 5] = [
        StaffRole::Leader,
        StaffRole::FullTime,
        StaffRole::PartTime,
        StaffRole::Police,
        StaffRole::Doctor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StaffRole::Leader => "leader",
            StaffRole::FullTime => "full_time",
            StaffRole::PartTime => "part_time",
            StaffRole::Police => "police",
            StaffRole::Doctor => "doctor",
        }
    }
}

impl std::str::FromStr for StaffRole {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        StaffRole::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| crate::Error::UnknownRole(s.to_owned()))
    }
}

/// One person on a grid's staff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffMember {
    pub name: String,
    pub phone: String,
    pub role: StaffRole,
}

/// One node of the tree: a district, street, community, grid (ordinary or exclusive) or micro-grid.
///
/// Geometry is WGS-84 (EPSG:4326) lon/lat, exterior rings counter-clockwise (RFC 7946).
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    /// National code (see [`crate::code`]) or, for imported data, the source's own id verbatim.
    pub code: String,
    pub name: String,
    pub level: Level,
    /// Ordinary or exclusive kind; `None` above the grid level.
    pub kind: Option<GridKind>,
    /// Code of the parent area, `None` for roots.
    pub parent: Option<String>,
    pub geometry: MultiPolygon<f64>,
    pub staff: Vec<StaffMember>,
}

impl Area {
    /// True for exclusive grids (专属网格), which overlay the ordinary tree.
    pub fn is_exclusive(&self) -> bool {
        self.kind.is_some_and(GridKind::is_exclusive)
    }
}

/// What kind of ground no grid takes (see [`ExcludedGround`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExcludedKind {
    /// Rivers, lakes, reservoirs.
    Water,
    /// Rail yards and lines.
    Rail,
    /// Military ground.
    Military,
    Other,
}

impl ExcludedKind {
    pub const ALL: [ExcludedKind; 4] = [
        ExcludedKind::Water,
        ExcludedKind::Rail,
        ExcludedKind::Military,
        ExcludedKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ExcludedKind::Water => "water",
            ExcludedKind::Rail => "rail",
            ExcludedKind::Military => "military",
            ExcludedKind::Other => "other",
        }
    }
}

impl std::fmt::Display for ExcludedKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ExcludedKind {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ExcludedKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| crate::Error::UnknownExcludedKind(s.to_owned()))
    }
}

/// Ground that no grid takes by design (a river, a rail yard, military ground): inside a community, never
/// part of its grids, and so never a gap in them. Not versioned (like roads).
#[derive(Debug, Clone, PartialEq)]
pub struct ExcludedGround {
    pub name: String,
    pub kind: ExcludedKind,
    /// WGS-84 lon/lat, exterior rings counter-clockwise.
    pub geometry: MultiPolygon<f64>,
}

impl ExcludedGround {
    /// True when WGS-84 `p` lies on this ground (its boundary included).
    ///
    /// ```
    /// use geo_types::{MultiPolygon, Rect, coord};
    /// use gridmap_core::{ExcludedGround, ExcludedKind};
    /// let river = ExcludedGround { name: "沙河".into(), kind: ExcludedKind::Water,
    ///     geometry: MultiPolygon(vec![Rect::new(coord! {x: 114.0, y: 33.5}, coord! {x: 114.1, y: 33.51}).to_polygon()]) };
    /// assert!(river.holds(coord! {x: 114.05, y: 33.505}));
    /// assert!(!river.holds(coord! {x: 114.05, y: 33.52}));
    /// ```
    pub fn holds(&self, p: geo_types::Coord<f64>) -> bool {
        use geo::{BoundingRect, Intersects};
        self.geometry
            .bounding_rect()
            .is_some_and(|r| r.intersects(&p))
            && self.geometry.intersects(&p)
    }
}

/// A doorplate address (门牌地址) inside a micro-grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Address {
    /// Full text, e.g. `漯河市召陵区黄河路128号3号楼2单元`.
    pub full: String,
    pub road: String,
    /// Doorplate number on the road, e.g. `128`.
    pub number: String,
    /// Building and unit, e.g. `3号楼2单元`.
    pub building: String,
    /// WGS-84 lon/lat.
    pub point: Point<f64>,
}

/// A road centreline, used for drawing and for patrol road coverage.
#[derive(Debug, Clone, PartialEq)]
pub struct Road {
    pub name: String,
    /// `main` or `secondary`.
    pub class: String,
    pub geometry: geo_types::LineString<f64>,
}

/// Everything a store holds for one city: the current version of every area, addresses, roads and the
/// ground no grid takes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct City {
    pub areas: Vec<Area>,
    pub addresses: Vec<Address>,
    pub roads: Vec<Road>,
    pub excluded: Vec<ExcludedGround>,
}
