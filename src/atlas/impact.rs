//! What a draft would do to people and places: which buildings (with their households) and open
//! incidents change cell, each cell's size against the band, new multipart cells and changed 四至.
//! Pure: the store supplies the buildings and counts, the atlas and the draft the geometry.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use geo::BoundingRect;
use geo_types::Coord;
use serde::Serialize;

use super::Atlas;
use super::draft::{Change, Draft, View};
use super::neighbours::{FourTo, four_to};
use crate::domain::cell::Cell;
use crate::geometry::point_in::multipolygon_contains;

pub use crate::domain::sizing::Band;

#[derive(Debug, Clone, Serialize)]
pub struct CellSize {
    pub code: String,
    pub name: String,
    pub households: i64,
    pub population: i64,
    pub band_households: (i64, i64),
    pub band_population: (i64, i64),
    /// Households against the target, in per cent (+20 = 20 % above).
    pub deviation_pct: f64,
    /// `ok`, `low` or `high` (outside either band).
    pub status: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Move {
    pub from: Option<String>,
    pub to: Option<String>,
    pub buildings: i64,
    pub households: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct MovedBuilding {
    pub id: i64,
    pub address: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub households: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct MovedIncident {
    pub id: i64,
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FourToChange {
    pub code: String,
    pub before: Option<FourTo>,
    pub after: Option<FourTo>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Impact {
    pub cells: Vec<CellSize>,
    pub moves: Vec<Move>,
    /// The moved buildings one by one (shown to planners; addresses, no persons).
    pub buildings: Vec<MovedBuilding>,
    pub incidents: Vec<MovedIncident>,
    pub multipart: Vec<String>,
    pub four_to: Vec<FourToChange>,
}

pub use crate::domain::draft::Placed;

/// Finds the finest cell of the draft's view containing points, without building a new atlas:
/// the changed cells' new shapes are tried first, then the base atlas for unchanged cells.
pub struct DraftLocator<'a> {
    base: &'a Atlas,
    changed: Vec<&'a Cell>,
    gone: BTreeSet<&'a str>,
}

impl<'a> DraftLocator<'a> {
    pub fn new(base: &'a Atlas, draft: &'a Draft) -> DraftLocator<'a> {
        let mut changed: Vec<&Cell> = draft
            .changes
            .values()
            .filter_map(|c| match c {
                Change::Put(cell) => Some(&**cell),
                Change::Delete => None,
            })
            .collect();
        changed.sort_by_key(|c| std::cmp::Reverse(c.level));
        DraftLocator {
            base,
            changed,
            gone: draft.changes.keys().map(String::as_str).collect(),
        }
    }

    /// The code of the finest cell holding `p` as the draft leaves the atlas.
    pub fn locate(&self, p: Coord<f64>) -> Option<String> {
        let fresh = self
            .changed
            .iter()
            .find(|c| multipolygon_contains(&c.geometry, p));
        let kept = self.base.locate(p).and_then(|located| {
            located
                .chain
                .iter()
                .rev()
                .find(|c| !self.gone.contains(c.code.as_str()))
                .map(|c| (c.level, c.code.clone()))
        });
        match (fresh, kept) {
            (Some(f), Some((level, code))) if level > f.level => Some(code),
            (Some(f), _) => Some(f.code.to_string()),
            (None, Some((_, code))) => Some(code),
            (None, None) => None,
        }
    }
}

/// Boxes of the cells a draft touches, before and after (where moved things can be).
pub fn touched_boxes(base: &Atlas, draft: &Draft) -> Vec<[f64; 4]> {
    let mut boxes = Vec::new();
    for (code, change) in &draft.changes {
        let shapes = base
            .get(code)
            .map(|c| &c.geometry)
            .into_iter()
            .chain(match change {
                Change::Put(cell) => Some(&cell.geometry),
                Change::Delete => None,
            });
        for shape in shapes {
            if let Some(r) = shape.bounding_rect() {
                boxes.push([r.min().x, r.min().y, r.max().x, r.max().y]);
            }
        }
    }
    boxes
}

/// (building or incident id, its new cell): what a commit writes for things that change cell.
pub type Reassignment = (i64, Option<String>);

/// The impact of `draft` over `base`. `buildings` and `incidents` are those the store found in
/// the touched cells or boxes; `counts` the current households/residents per cell.
pub fn impact(
    base: &Atlas,
    draft: &Draft,
    view: &View,
    buildings: &[Placed],
    incidents: &[Placed],
    counts: &HashMap<String, (i64, i64)>,
    band: Band,
) -> (Impact, Vec<Reassignment>, Vec<Reassignment>) {
    let locator = DraftLocator::new(base, draft);
    let mut pairs: BTreeMap<(Option<String>, Option<String>), (i64, i64)> = BTreeMap::new();
    let mut moved_buildings = Vec::new();
    let mut sizes: HashMap<String, (i64, i64)> = counts.clone();
    for b in buildings {
        let to = locator.locate(Coord { x: b.lon, y: b.lat });
        if to == b.cell {
            continue;
        }
        let entry = pairs.entry((b.cell.clone(), to.clone())).or_default();
        entry.0 += 1;
        entry.1 += b.households;
        if let Some(from) = &b.cell {
            let s = sizes.entry(from.clone()).or_default();
            s.0 -= b.households;
            s.1 -= b.population;
        }
        if let Some(to) = &to {
            let s = sizes.entry(to.clone()).or_default();
            s.0 += b.households;
            s.1 += b.population;
        }
        moved_buildings.push(MovedBuilding {
            id: b.id,
            address: b.address.clone(),
            from: b.cell.clone(),
            to,
            households: b.households,
        });
    }
    let mut moved_incidents = Vec::new();
    for i in incidents {
        let to = locator.locate(Coord { x: i.lon, y: i.lat });
        if to != i.cell {
            moved_incidents.push(MovedIncident {
                id: i.id,
                from: i.cell.clone(),
                to,
            });
        }
    }
    // Sizes of every written cell and every cell that loses or gains a building, at grid level.
    let mut of_interest: BTreeSet<String> = draft
        .changes
        .iter()
        .filter(|(_, c)| matches!(c, Change::Put(cell) if cell.level >= 3))
        .map(|(code, _)| code.clone())
        .collect();
    for m in &moved_buildings {
        of_interest.extend(m.from.iter().chain(&m.to).cloned());
    }
    let cells = of_interest
        .iter()
        .filter_map(|code| view.get(code))
        // Only grids have a size band (a building left in a gap shows as a move to the village).
        .filter(|cell| cell.level >= 3)
        .map(|cell| {
            let (households, population) = sizes.get(cell.code.as_str()).copied().unwrap_or((0, 0));
            let status = if households < band.households.0 || population < band.population.0 {
                "low"
            } else if households > band.households.1 || population > band.population.1 {
                "high"
            } else {
                "ok"
            };
            CellSize {
                code: cell.code.to_string(),
                name: cell.name.clone(),
                households,
                population,
                band_households: band.households,
                band_population: band.population,
                deviation_pct: (households - band.target_households) as f64 * 100.0
                    / band.target_households as f64,
                status,
            }
        })
        .collect();
    let multipart = draft
        .changes
        .values()
        .filter_map(|c| match c {
            Change::Put(cell) if cell.geometry.0.len() > 1 => Some(cell.code.to_string()),
            _ => None,
        })
        .collect();
    let building_updates = moved_buildings
        .iter()
        .map(|m| (m.id, m.to.clone()))
        .collect();
    let incident_updates = moved_incidents
        .iter()
        .map(|m| (m.id, m.to.clone()))
        .collect();
    let impact = Impact {
        cells,
        moves: pairs
            .into_iter()
            .map(|((from, to), (buildings, households))| Move {
                from,
                to,
                buildings,
                households,
            })
            .collect(),
        buildings: moved_buildings,
        incidents: moved_incidents,
        multipart,
        four_to: four_to_changes(base, draft, view),
    };
    (impact, building_updates, incident_updates)
}

/// 四至 of the touched cells and their neighbours, before and after, where they differ.
fn four_to_changes(base: &Atlas, draft: &Draft, view: &View) -> Vec<FourToChange> {
    let boxes = touched_boxes(base, draft);
    let near = |cell_box: Option<geo_types::Rect<f64>>| {
        cell_box.is_some_and(|r| {
            boxes.iter().any(|b| {
                r.min().x <= b[2] && b[0] <= r.max().x && r.min().y <= b[3] && b[1] <= r.max().y
            })
        })
    };
    let before_cells: Vec<Cell> = base
        .cells()
        .iter()
        .filter(|c| near(c.geometry.bounding_rect()))
        .filter_map(|c| base.cell(&c.code))
        .collect();
    let after_cells: Vec<Cell> = view
        .cells()
        .filter(|c| near(c.geometry.bounding_rect()))
        .cloned()
        .collect();
    let codes: BTreeSet<String> = before_cells
        .iter()
        .chain(&after_cells)
        .filter(|c| c.level >= 2)
        .map(|c| c.code.to_string())
        .collect();
    let before = Atlas::new(base.revision, before_cells);
    let after = Atlas::new(base.revision, after_cells);
    codes
        .into_iter()
        .filter_map(|code| {
            let (b, a) = (four_to(&before, &code), four_to(&after, &code));
            (b != a).then_some(FourToChange {
                code,
                before: b,
                after: a,
            })
        })
        .collect()
}
