//! A planner's draft as data: the changes on top of a base revision and the lineage of the codes
//! it retires. The edits themselves (split, merge, write) are `atlas::draft`; storing is `store`.

use std::collections::BTreeMap;

use super::cell::Cell;

/// One change of a draft: a cell written (new or replaced) or removed.
#[derive(Debug, Clone)]
pub enum Change {
    Put(Box<Cell>),
    Delete,
}

/// The edits of one draft, keyed by code; applied over the base cells they replace.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    pub changes: BTreeMap<String, Change>,
    /// Retired code → the codes that replace it (splits and merges).
    pub lineage: Vec<(String, String)>,
}

/// A building (or an open incident) that a change may move to another cell.
#[derive(Debug, Clone)]
pub struct Placed {
    pub id: i64,
    pub lon: f64,
    pub lat: f64,
    pub cell: Option<String>,
    pub address: String,
    pub households: i64,
    pub population: i64,
}
