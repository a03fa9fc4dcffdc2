//! What a plan changes for people: addresses, micro-grids, staff, open reports and exclusive grids that change
//! grid.

use std::collections::{BTreeMap, BTreeSet};

use geo::{BooleanOps, BoundingRect, Intersects};
use geo_types::Coord;
use serde::{Deserialize, Serialize};

use crate::index::{AreaIndex, Location};
use crate::{Address, Area, Level, geodesy};

/// Something that changes grid: `from_grid` before the plan, `to_grid` after (`None`: no grid).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Move {
    /// The address text, micro-grid code, `name (role)` of a staff member, report id or exclusive grid code.
    pub what: String,
    pub from_grid: Option<String>,
    pub to_grid: Option<String>,
}

/// An address whose ordinary grid changes.
pub type AddressMove = Move;
/// A staff member of a removed grid; `to_grid` suggests the new grid covering most of the old one.
pub type StaffMove = Move;
/// An open report whose responsible grid changes (`what` is its id).
pub type ReportMove = Move;

/// Everything that changes grid, before commit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Impact {
    pub addresses: Vec<AddressMove>,
    pub micro_grids: Vec<Move>,
    pub staff: Vec<StaffMove>,
    pub reports: Vec<ReportMove>,
    /// Exclusive grids whose ordinary grids (codes joined by `,`) change.
    pub exclusive: Vec<Move>,
}

/// Overlaps below this do not count as an exclusive grid sitting in a grid (shared borders, noise), in m².
const SITS_IN_M2: f64 = 1.0;

/// Compares where things fall before and after a plan. Recoding a grid moves everything in it: the code
/// people see changes.
pub fn impact(
    before: &AreaIndex,
    after: &AreaIndex,
    addresses: &[Address],
    open_reports: &[(i64, Coord<f64>)],
) -> Impact {
    let points: Vec<Coord<f64>> = addresses.iter().map(|a| a.point.0).collect();
    let (was, now) = (before.locate_batch(&points), after.locate_batch(&points));
    let addresses = addresses
        .iter()
        .zip(was.iter().zip(&now))
        .filter_map(|(a, (w, n))| moved(a.full.clone(), grid(before, w), grid(after, n)))
        .collect();
    let report_points: Vec<Coord<f64>> = open_reports.iter().map(|r| r.1).collect();
    let (was, now) = (
        before.locate_batch(&report_points),
        after.locate_batch(&report_points),
    );
    let reports = open_reports
        .iter()
        .zip(was.iter().zip(&now))
        .filter_map(|((id, _), (w, n))| {
            moved(
                id.to_string(),
                responsible(before, w),
                responsible(after, n),
            )
        })
        .collect();
    Impact {
        addresses,
        micro_grids: micro_grids(before, after),
        staff: staff(before, after),
        reports,
        exclusive: exclusive(before, after),
    }
}

fn moved(what: String, from: Option<String>, to: Option<String>) -> Option<Move> {
    (from != to).then_some(Move {
        what,
        from_grid: from,
        to_grid: to,
    })
}

/// The ordinary grid-level area of a location.
fn grid(index: &AreaIndex, loc: &Location) -> Option<String> {
    loc.chain
        .iter()
        .map(|&id| index.area(id))
        .find(|a| a.level == Level::Grid)
        .map(|a| a.code.clone())
}

fn responsible(index: &AreaIndex, loc: &Location) -> Option<String> {
    loc.responsible.map(|id| index.area(id).code.clone())
}

fn micro_grids(before: &AreaIndex, after: &AreaIndex) -> Vec<Move> {
    let parents = |index: &AreaIndex| -> BTreeMap<String, Option<String>> {
        index
            .areas()
            .iter()
            .filter(|a| a.level == Level::MicroGrid)
            .map(|a| (a.code.clone(), a.parent.clone()))
            .collect()
    };
    let (was, now) = (parents(before), parents(after));
    let codes: BTreeSet<&String> = was.keys().chain(now.keys()).collect();
    codes
        .into_iter()
        .filter_map(|code| {
            moved(
                code.clone(),
                was.get(code).cloned().flatten(),
                now.get(code).cloned().flatten(),
            )
        })
        .collect()
}

/// Staff of grids that the plan removes, each with the new grid that covers most of the old one.
fn staff(before: &AreaIndex, after: &AreaIndex) -> Vec<Move> {
    let mut out = Vec::new();
    for gone in before.areas().iter().filter(|a| {
        a.level == Level::Grid && !a.staff.is_empty() && after.by_code(&a.code).is_none()
    }) {
        let successor = largest_overlap(gone, after);
        for s in &gone.staff {
            out.push(Move {
                what: format!("{} ({})", s.name, s.role.as_str()),
                from_grid: Some(gone.code.clone()),
                to_grid: successor.clone(),
            });
        }
    }
    out
}

/// The grid-level area of `index` (same exclusivity as `area`) sharing the most ground with `area`.
fn largest_overlap(area: &Area, index: &AreaIndex) -> Option<String> {
    let rect = area.geometry.bounding_rect()?;
    index
        .areas()
        .iter()
        .filter(|a| a.level == Level::Grid && a.is_exclusive() == area.is_exclusive())
        .filter(|a| {
            a.geometry
                .bounding_rect()
                .is_some_and(|r| r.intersects(&rect))
        })
        .map(|a| {
            (
                geodesy::area_m2(&a.geometry.intersection(&area.geometry)),
                a,
            )
        })
        .filter(|(m2, _)| *m2 > SITS_IN_M2)
        .max_by(|x, y| x.0.total_cmp(&y.0).then(y.1.code.cmp(&x.1.code)))
        .map(|(_, a)| a.code.clone())
}

/// Ordinary grids an exclusive grid sits in, codes sorted and joined by `,`.
fn sits_in(area: &Area, index: &AreaIndex) -> Option<String> {
    let rect = area.geometry.bounding_rect()?;
    let codes: Vec<&str> = index
        .areas()
        .iter()
        .filter(|a| a.level == Level::Grid && !a.is_exclusive())
        .filter(|a| {
            a.geometry
                .bounding_rect()
                .is_some_and(|r| r.intersects(&rect))
        })
        .filter(|a| geodesy::area_m2(&a.geometry.intersection(&area.geometry)) > SITS_IN_M2)
        .map(|a| a.code.as_str())
        .collect();
    (!codes.is_empty()).then(|| codes.join(","))
}

fn exclusive(before: &AreaIndex, after: &AreaIndex) -> Vec<Move> {
    let codes: BTreeSet<&str> = before
        .areas()
        .iter()
        .chain(after.areas())
        .filter(|a| a.is_exclusive())
        .map(|a| a.code.as_str())
        .collect();
    codes
        .into_iter()
        .filter_map(|code| {
            let at = |index: &AreaIndex| {
                index
                    .by_code(code)
                    .and_then(|id| sits_in(index.area(id), index))
            };
            moved(code.to_owned(), at(before), at(after))
        })
        .collect()
}
