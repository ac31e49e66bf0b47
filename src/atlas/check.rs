//! The coverage rule applied to a change: what the atlas would be after replacing some cells.

use std::collections::{BTreeSet, HashSet};

use super::draft::View;
use crate::domain::cell::Cell;
use crate::geometry::coverage::{CoverageCell, Options, Report, validate};

fn coverage_cell(c: &Cell) -> CoverageCell {
    CoverageCell::from_multipolygon(
        c.code.as_str(),
        Some(c.level),
        c.parent.as_ref().map(|p| p.as_str()),
        &c.geometry,
    )
}

/// The coverage report of `current` with `incoming` cells replacing those of the same code.
pub fn validate_change(current: &[Cell], incoming: &[Cell]) -> Report {
    let replaced: HashSet<&str> = incoming.iter().map(|c| c.code.as_str()).collect();
    let result: Vec<CoverageCell> = current
        .iter()
        .filter(|c| !replaced.contains(c.code.as_str()))
        .chain(incoming)
        .map(coverage_cell)
        .collect();
    validate(&result, &[], &Options::default())
}

/// The coverage report of a draft's view, re-checking only the families a change touches: for
/// each changed (written or removed) code, its parent's children, and its own children. The rest
/// of the atlas was valid at the base revision and is unchanged, so it needs no second look.
pub fn validate_touched(view: &View, touched: &BTreeSet<String>, options: &Options) -> Report {
    // Parents whose children must be re-checked as a family.
    let mut families: BTreeSet<Option<String>> = BTreeSet::new();
    for code in touched {
        let parent = crate::domain::code::CellCode::parse(code)
            .ok()
            .and_then(|c| c.parent_code())
            .map(|p| p.to_string());
        // A top-level cell's family (parent `None`) is the set of all top-level cells.
        families.insert(parent);
        families.insert(Some(code.clone()));
    }
    let mut children: Vec<CoverageCell> = Vec::new();
    let mut parents: Vec<CoverageCell> = Vec::new();
    let mut as_parent: BTreeSet<&str> = BTreeSet::new();
    for cell in view.cells() {
        if families.contains(&cell.parent.as_ref().map(|p| p.to_string())) {
            children.push(coverage_cell(cell));
        }
    }
    // A family's parent that is itself re-checked as a child is already in `children`; passing it
    // again as a parent would make it a duplicate code.
    for family in families.iter().flatten() {
        if let Some(parent) = view.get(family)
            && !children.iter().any(|c| c.code == parent.code.as_str())
            && as_parent.insert(family.as_str())
        {
            // Only the outline matters here; its own family is checked elsewhere (or unchanged).
            parents.push(CoverageCell::from_multipolygon(
                parent.code.as_str(),
                Some(parent.level),
                None,
                &parent.geometry,
            ));
        }
    }
    validate(&children, &parents, options)
}
