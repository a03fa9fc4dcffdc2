//! Re-numbering a parent's grids west→east, north→south (row bands, like reading a page).

use super::PlanEdit;
use super::geometry::{order_key, reading_order};
use crate::Area;

/// Codes of the ordinary areas of `family`, in reading order (see [`super::geometry::reading_order`]).
pub(crate) fn spatial_order(family: &[&Area]) -> Vec<String> {
    let ordinary: Vec<&Area> = family
        .iter()
        .copied()
        .filter(|a| !a.is_exclusive())
        .collect();
    let keys: Vec<_> = ordinary.iter().map(|a| order_key(&a.geometry)).collect();
    reading_order(&keys)
        .into_iter()
        .map(|i| ordinary[i].code.clone())
        .collect()
}

/// New codes for the ordinary children of `parent_code` in west→east, north→south order: `(old, new)` for
/// every code that changes, in that order.
///
/// National codes (every child's code is the parent's plus three digits) become `parent + 001, 002, ...`;
/// other codes are redistributed: the smallest goes to the north-west child. Exclusive grids keep their
/// codes, and micro-grid codes are not derived again (recode them separately if the scheme requires it).
///
/// ```
/// use geo_types::{MultiPolygon, Rect, coord};
/// use gridmap_core::{Area, Level, plan::renumber};
/// let cell = |x: f64, y: f64| MultiPolygon(vec![Rect::new(coord! {x: x, y: y}, coord! {x: x + 1.0, y: y + 1.0}).to_polygon()]);
/// let grid = |code: &str, x, y| Area { code: code.into(), name: code.into(), level: Level::Grid, kind: None,
///     parent: Some("411104001001".into()), geometry: cell(x, y), staff: vec![] };
/// // North row: 003 (west), 001 (east); south row: 002 (west), 004 (east).
/// let areas = [grid("411104001001001", 1.0, 1.0), grid("411104001001002", 0.0, 0.0),
///              grid("411104001001003", 0.0, 1.0), grid("411104001001004", 1.0, 0.0)];
/// assert_eq!(renumber(&areas, "411104001001"), [
///     ("411104001001003".to_owned(), "411104001001001".to_owned()),
///     ("411104001001001".to_owned(), "411104001001002".to_owned()),
///     ("411104001001002".to_owned(), "411104001001003".to_owned()),
/// ]);
/// ```
pub fn renumber(areas: &[Area], parent_code: &str) -> Vec<(String, String)> {
    let family: Vec<&Area> = areas
        .iter()
        .filter(|a| a.parent.as_deref() == Some(parent_code))
        .collect();
    let order = spatial_order(&family);
    let national = parent_code.bytes().all(|b| b.is_ascii_digit())
        && order.iter().all(|c| {
            c.len() == parent_code.len() + 3
                && c.starts_with(parent_code)
                && c.bytes().all(|b| b.is_ascii_digit())
        });
    let new_codes: Vec<String> = if national {
        (1..=order.len())
            .map(|k| format!("{parent_code}{k:03}"))
            .collect()
    } else {
        let mut sorted = order.clone();
        sorted.sort();
        sorted
    };
    order
        .into_iter()
        .zip(new_codes)
        .filter(|(old, new)| old != new)
        .collect()
}

/// Recode edits carrying out a renumbering: first every old code to a temporary one, then to the new, so that
/// swaps never collide with a code still in use.
pub fn renumber_edits(mapping: &[(String, String)]) -> Vec<PlanEdit> {
    let temp = |old: &str| format!("{old}~renumber");
    let to_temp = mapping.iter().map(|(old, _)| PlanEdit::Recode {
        code: old.clone(),
        new_code: temp(old),
    });
    let to_new = mapping.iter().map(|(old, new)| PlanEdit::Recode {
        code: temp(old),
        new_code: new.clone(),
    });
    to_temp.chain(to_new).collect()
}
