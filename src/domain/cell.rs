//! A cell of the grid tree as the domain sees it: code, place in the tree, kind and shape.

use geo_types::MultiPolygon;
use serde::{Deserialize, Serialize};

use super::code::CellCode;

/// Kinds of cell. A 专属网格 (a school, hospital, industrial park) still nests in one village.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CellKind {
    #[serde(rename = "县")]
    County,
    #[serde(rename = "乡镇")]
    Township,
    #[serde(rename = "街道")]
    Street,
    #[serde(rename = "村")]
    Village,
    #[serde(rename = "社区")]
    Community,
    #[serde(rename = "居")]
    Residents,
    #[serde(rename = "基础网格")]
    BaseGrid,
    #[serde(rename = "专属网格")]
    SpecialGrid,
    #[serde(rename = "片组")]
    Section,
}

/// All kinds with their stored names, in one table so parsing and printing cannot drift apart.
const KIND_NAMES: [(CellKind, &str, u8); 9] = [
    (CellKind::County, "县", 0),
    (CellKind::Township, "乡镇", 1),
    (CellKind::Street, "街道", 1),
    (CellKind::Village, "村", 2),
    (CellKind::Community, "社区", 2),
    (CellKind::Residents, "居", 2),
    (CellKind::BaseGrid, "基础网格", 3),
    (CellKind::SpecialGrid, "专属网格", 3),
    (CellKind::Section, "片组", 4),
];

impl CellKind {
    pub fn as_str(self) -> &'static str {
        KIND_NAMES
            .iter()
            .find(|(k, _, _)| *k == self)
            .map(|(_, n, _)| *n)
            .unwrap_or("基础网格")
    }

    /// The level a kind belongs to; a kind at the wrong level is refused on import.
    pub fn level(self) -> u8 {
        KIND_NAMES
            .iter()
            .find(|(k, _, _)| *k == self)
            .map(|(_, _, l)| *l)
            .unwrap_or(3)
    }

    pub fn parse(name: &str) -> Option<CellKind> {
        KIND_NAMES
            .iter()
            .find(|(_, n, _)| *n == name)
            .map(|(k, _, _)| *k)
    }

    /// The kind a cell gets when the input names none.
    pub fn default_for_level(level: u8) -> CellKind {
        match level {
            0 => CellKind::County,
            1 => CellKind::Township,
            2 => CellKind::Village,
            3 => CellKind::BaseGrid,
            _ => CellKind::Section,
        }
    }

    pub fn names() -> impl Iterator<Item = &'static str> {
        KIND_NAMES.iter().map(|(_, n, _)| *n)
    }
}

/// A cell as imported or generated: everything the store writes for one row.
#[derive(Debug, Clone)]
pub struct Cell {
    pub code: CellCode,
    pub parent: Option<CellCode>,
    pub level: u8,
    pub kind: CellKind,
    pub name: String,
    pub geometry: MultiPolygon<f64>,
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_know_their_level() {
        for name in CellKind::names() {
            let kind = CellKind::parse(name).unwrap();
            assert_eq!(kind.as_str(), name);
            assert_eq!(
                CellKind::parse(kind.as_str()).unwrap().level(),
                kind.level()
            );
        }
        assert_eq!(CellKind::SpecialGrid.level(), 3);
        assert!(CellKind::parse("网格").is_none());
    }
}
