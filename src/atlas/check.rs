//! The coverage rule applied to a change: what the atlas would be after replacing some cells.

use std::collections::HashSet;

use crate::domain::cell::Cell;
use crate::geometry::coverage::{CoverageCell, Options, Report, validate};

/// The coverage report of `current` with `incoming` cells replacing those of the same code.
pub fn validate_change(current: &[Cell], incoming: &[Cell]) -> Report {
    let replaced: HashSet<&str> = incoming.iter().map(|c| c.code.as_str()).collect();
    let result: Vec<CoverageCell> = current
        .iter()
        .filter(|c| !replaced.contains(c.code.as_str()))
        .chain(incoming)
        .map(|c| {
            CoverageCell::from_multipolygon(
                c.code.as_str(),
                Some(c.level),
                c.parent.as_ref().map(|p| p.as_str()),
                &c.geometry,
            )
        })
        .collect();
    validate(&result, &[], &Options::default())
}
