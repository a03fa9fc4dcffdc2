//! Carrying out a plan's edits on the current areas.
//!
//! The areas are not copied: edits write into an overlay over the caller's slice, so applying a plan to a
//! city of 100,000 areas costs what the plan touches (plus one pass to index codes and children).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use geo::unary_union;
use geo_types::{Coord, MultiPolygon, Polygon};

use super::geometry::{order_key, pole, reading_order};
use super::renumber::{renumber, renumber_edits};
use super::split::split_by_lines;
use super::vertex::{Frame, anchors, move_vertex};
use super::{Plan, PlanEdit, PlanError, PlanOutcome};
use crate::Area;
use crate::pip::covers;

/// The areas as the plan has them so far: the caller's areas under an overlay of edits.
struct State<'a> {
    base: &'a [Area],
    by_code: HashMap<&'a str, usize>,
    /// Base children by parent code.
    base_children: HashMap<&'a str, Vec<&'a str>>,
    /// Codes edited by the plan: `None` removed.
    overlay: BTreeMap<String, Option<Area>>,
    recoded: Vec<(String, String)>,
}

impl<'a> State<'a> {
    fn new(base: &'a [Area]) -> State<'a> {
        let mut by_code = HashMap::with_capacity(base.len());
        let mut base_children: HashMap<&str, Vec<&str>> = HashMap::new();
        for (i, a) in base.iter().enumerate() {
            by_code.insert(a.code.as_str(), i);
            if let Some(p) = &a.parent {
                base_children
                    .entry(p.as_str())
                    .or_default()
                    .push(a.code.as_str());
            }
        }
        State {
            base,
            by_code,
            base_children,
            overlay: BTreeMap::new(),
            recoded: Vec::new(),
        }
    }

    fn get(&self, code: &str) -> Option<&Area> {
        match self.overlay.get(code) {
            Some(edited) => edited.as_ref(),
            None => self.by_code.get(code).map(|&i| &self.base[i]),
        }
    }

    fn exists(&self, code: &str) -> bool {
        self.get(code).is_some()
    }

    /// A copy of an area for editing, or the error for edit `edit`.
    fn take(&self, edit: usize, code: &str) -> Result<Area, PlanError> {
        self.get(code)
            .cloned()
            .ok_or_else(|| PlanError::UnknownArea {
                edit,
                code: code.to_owned(),
            })
    }

    fn put(&mut self, area: Area) {
        self.overlay.insert(area.code.clone(), Some(area));
    }

    fn remove(&mut self, code: &str) {
        self.overlay.insert(code.to_owned(), None);
    }

    /// Codes of the current children of `code`, sorted.
    fn children(&self, code: &str) -> Vec<String> {
        let base = self.base_children.get(code).into_iter().flatten().copied();
        let edited = self.overlay.keys().map(String::as_str);
        let candidates: BTreeSet<&str> = base.chain(edited).collect();
        candidates
            .into_iter()
            .filter(|c| {
                self.get(c)
                    .is_some_and(|a| a.parent.as_deref() == Some(code))
            })
            .map(str::to_owned)
            .collect()
    }

    fn set_parent(&mut self, child: &str, parent: &str) {
        if let Some(mut a) = self.get(child).cloned() {
            a.parent = Some(parent.to_owned());
            self.put(a);
        }
    }

    /// Every current area (base areas not edited, then edited ones).
    fn current(&self) -> impl Iterator<Item = &Area> {
        self.base
            .iter()
            .filter(|a| !self.overlay.contains_key(&a.code))
            .chain(self.overlay.values().flatten())
    }

    fn require_free(&self, edit: usize, code: &str) -> Result<(), PlanError> {
        if self.exists(code) {
            Err(PlanError::CodeTaken {
                edit,
                code: code.to_owned(),
            })
        } else {
            Ok(())
        }
    }
}

fn invalid(edit: usize, reason: impl Into<String>) -> PlanError {
    PlanError::Invalid {
        edit,
        reason: reason.into(),
    }
}

/// Applies a plan's edits in order to `areas` (the current areas; codes unique).
///
/// Returns the final state of the areas the plan created or modified, and the codes it removed. The input is
/// not changed. Errors name the edit that cannot be carried out; geometric mistakes are not errors (see
/// [`super::validate`]).
pub fn apply(areas: &[Area], plan: &Plan) -> Result<PlanOutcome, PlanError> {
    let mut state = State::new(areas);
    for (i, edit) in plan.edits.iter().enumerate() {
        apply_edit(&mut state, i, edit)?;
    }
    adopt_orphans(&mut state);
    let mut outcome = PlanOutcome::default();
    for (code, edited) in &state.overlay {
        match edited {
            Some(a)
                if state
                    .by_code
                    .get(code.as_str())
                    .is_none_or(|&i| areas[i] != *a) =>
            {
                outcome.changed.push(a.clone());
            }
            None if state.by_code.contains_key(code.as_str()) => outcome.retired.push(code.clone()),
            Some(_) | None => {}
        }
    }
    outcome.recoded = state.recoded;
    Ok(outcome)
}

fn apply_edit(state: &mut State<'_>, i: usize, edit: &PlanEdit) -> Result<(), PlanError> {
    match edit {
        PlanEdit::Reshape { code, geometry } => {
            let mut a = state.take(i, code)?;
            a.geometry = geometry.clone();
            state.put(a);
        }
        PlanEdit::Split {
            code,
            lines,
            new_codes,
            new_names,
        } => split(state, i, code, lines, new_codes, new_names)?,
        PlanEdit::Merge {
            codes,
            into_code,
            into_name,
        } => merge(state, i, codes, into_code, into_name)?,
        PlanEdit::Create { area } => {
            state.require_free(i, &area.code)?;
            if let Some(parent) = &area.parent
                && !state.exists(parent)
            {
                return Err(PlanError::UnknownArea {
                    edit: i,
                    code: parent.clone(),
                });
            }
            state.put(area.clone().into());
        }
        PlanEdit::Retire { code } => {
            state.take(i, code)?;
            state.remove(code);
        }
        PlanEdit::MoveParent { code, new_parent } => {
            let mut a = state.take(i, code)?;
            state.take(i, new_parent)?;
            if new_parent == code {
                return Err(invalid(i, format!("`{code}` cannot be its own parent")));
            }
            a.parent = Some(new_parent.clone());
            state.put(a);
        }
        PlanEdit::Rename { code, new_name } => {
            let mut a = state.take(i, code)?;
            a.name.clone_from(new_name);
            state.put(a);
        }
        PlanEdit::Recode { code, new_code } => {
            let mut a = state.take(i, code)?;
            state.require_free(i, new_code)?;
            for child in state.children(code) {
                state.set_parent(&child, new_code);
            }
            a.code.clone_from(new_code);
            state.remove(code);
            state.put(a);
            // Chains of recodes (a→b, b→c) are recorded as a→c.
            match state.recoded.iter_mut().find(|(_, new)| new == code) {
                Some(pair) => pair.1.clone_from(new_code),
                None => state.recoded.push((code.clone(), new_code.clone())),
            }
            state.recoded.retain(|(old, new)| old != new);
        }
        PlanEdit::MoveVertex {
            from,
            to,
            tolerance_m,
        } => move_vertices(state, i, *from, *to, *tolerance_m)?,
        PlanEdit::Renumber { parent } => {
            state.take(i, parent)?;
            // The children as the plan has them so far (earlier edits may have split or moved some).
            let family: Vec<Area> = state
                .children(parent)
                .iter()
                .filter_map(|c| state.get(c).cloned())
                .collect();
            for recode in renumber_edits(&renumber(&family, parent)) {
                apply_edit(state, i, &recode)?;
            }
        }
    }
    Ok(())
}

fn move_vertices(
    state: &mut State<'_>,
    i: usize,
    from: Coord<f64>,
    to: Coord<f64>,
    tolerance_m: f64,
) -> Result<(), PlanError> {
    if !(tolerance_m.is_finite() && tolerance_m >= 0.0) {
        return Err(invalid(i, "tolerance_m must be a finite number ≥ 0"));
    }
    let frame = Frame::new(from, tolerance_m);
    let mut anchor_points = Vec::new();
    for a in state.current() {
        anchors(&a.geometry, &frame, &mut anchor_points);
    }
    let moved: Vec<Area> = state
        .current()
        .filter_map(|a| {
            move_vertex(&a.geometry, from, to, tolerance_m, &anchor_points).map(|geometry| Area {
                geometry,
                ..a.clone()
            })
        })
        .collect();
    if moved.is_empty() {
        return Err(invalid(
            i,
            format!(
                "no boundary passes within {tolerance_m} m of ({}, {})",
                from.x, from.y
            ),
        ));
    }
    for a in moved {
        state.put(a);
    }
    Ok(())
}

fn split(
    state: &mut State<'_>,
    i: usize,
    code: &str,
    lines: &[geo_types::LineString<f64>],
    new_codes: &[String],
    new_names: &[String],
) -> Result<(), PlanError> {
    let old = state.take(i, code)?;
    if new_codes.len() < 2 {
        return Err(invalid(i, "a split needs at least two new codes"));
    }
    if !new_names.is_empty() && new_names.len() != new_codes.len() {
        return Err(invalid(
            i,
            format!(
                "{} new names for {} new codes",
                new_names.len(),
                new_codes.len()
            ),
        ));
    }
    let unique: BTreeSet<&String> = new_codes.iter().collect();
    if unique.len() != new_codes.len() {
        return Err(invalid(i, "new codes repeat"));
    }
    for c in new_codes.iter().filter(|c| c.as_str() != code) {
        state.require_free(i, c)?;
    }
    let pieces = split_by_lines(&old.geometry, lines);
    if pieces.len() != new_codes.len() {
        return Err(invalid(
            i,
            format!(
                "the lines cut `{code}` into {} pieces, but {} new codes were given",
                pieces.len(),
                new_codes.len()
            ),
        ));
    }
    let pieces: Vec<MultiPolygon<f64>> =
        pieces.into_iter().map(|p| MultiPolygon(vec![p])).collect();
    let keys: Vec<_> = pieces.iter().map(order_key).collect();
    let children = state.children(code);
    state.remove(code);
    let mut new_areas = Vec::with_capacity(pieces.len());
    for (k, piece) in reading_order(&keys).into_iter().enumerate() {
        let new_code = &new_codes[k];
        let name = new_names
            .get(k)
            .cloned()
            .unwrap_or_else(|| format!("{} {}", old.name, k + 1));
        new_areas.push(Area {
            code: new_code.clone(),
            name,
            geometry: pieces[piece].clone(),
            // Staff stay with the piece that keeps the code; the others' staff are assigned later.
            staff: if new_code == code {
                old.staff.clone()
            } else {
                Vec::new()
            },
            ..old.clone()
        });
    }
    for child in children {
        let holder = state
            .get(&child)
            .and_then(|c| pole(&c.geometry))
            .and_then(|p| new_areas.iter().find(|a| covers(&a.geometry, p)));
        if let Some(holder) = holder {
            let parent = holder.code.clone();
            state.set_parent(&child, &parent);
        }
    }
    for a in new_areas {
        state.put(a);
    }
    Ok(())
}

fn merge(
    state: &mut State<'_>,
    i: usize,
    codes: &[String],
    into_code: &str,
    into_name: &str,
) -> Result<(), PlanError> {
    if codes.len() < 2 {
        return Err(invalid(i, "a merge needs at least two codes"));
    }
    let merged: Vec<Area> = codes
        .iter()
        .map(|c| state.take(i, c))
        .collect::<Result<_, _>>()?;
    let first = &merged[0];
    if let Some(odd) = merged
        .iter()
        .find(|a| a.level != first.level || a.parent != first.parent)
    {
        return Err(invalid(
            i,
            format!(
                "`{}` and `{}` differ in level or parent; only siblings merge",
                first.code, odd.code
            ),
        ));
    }
    let keeper = merged.iter().find(|a| a.code == into_code);
    if keeper.is_none() {
        state.require_free(i, into_code)?;
    }
    let polygons: Vec<&Polygon<f64>> = merged.iter().flat_map(|a| &a.geometry.0).collect();
    let geometry = unary_union(polygons);
    let mut into = keeper.cloned().unwrap_or_else(|| Area {
        code: into_code.to_owned(),
        staff: Vec::new(),
        ..first.clone()
    });
    into_name.clone_into(&mut into.name);
    into.geometry = geometry;
    for a in &merged {
        for child in state.children(&a.code) {
            state.set_parent(&child, into_code);
        }
        state.remove(&a.code);
    }
    state.put(into);
    Ok(())
}

/// Children of removed areas go to the area of the removed parent's level that holds their pole of
/// inaccessibility (an edited area first, then any); children no area holds keep their dangling parent, which
/// validation reports.
fn adopt_orphans(state: &mut State<'_>) {
    let removed: Vec<String> = state
        .overlay
        .iter()
        .filter(|(_, a)| a.is_none())
        .map(|(c, _)| c.clone())
        .collect();
    for gone in removed {
        let Some(level) = state
            .by_code
            .get(gone.as_str())
            .map(|&i| state.base[i].level)
        else {
            continue;
        };
        for child in state.children(&gone) {
            let Some(p) = state.get(&child).and_then(|c| pole(&c.geometry)) else {
                continue;
            };
            let holds = |a: &&Area| a.level == level && !a.is_exclusive() && covers(&a.geometry, p);
            let holder = state
                .overlay
                .values()
                .flatten()
                .find(holds)
                .or_else(|| state.current().find(holds))
                .map(|a| a.code.clone());
            if let Some(parent) = holder {
                state.set_parent(&child, &parent);
            }
        }
    }
}
