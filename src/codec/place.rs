//! Placing registry records (房进网格, 户进房): a point goes to its grid through the atlas; a
//! household without coordinates goes to the building with its door plate. Every record gets a
//! status; nothing is guessed — two buildings with the same door plate make the row ambiguous.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use super::registry::{Kind, Record, Rejected};
use crate::domain::address::building_key;

/// A building already registered, as placement needs it.
#[derive(Debug, Clone)]
pub struct KnownBuilding {
    pub id: i64,
    pub ext_id: Option<String>,
    pub address: String,
    pub cell: Option<String>,
}

/// Registered buildings by their id and by door plate.
#[derive(Default)]
pub struct BuildingIndex {
    by_ext: HashMap<String, usize>,
    by_key: HashMap<String, Vec<usize>>,
    buildings: Vec<KnownBuilding>,
}

impl BuildingIndex {
    pub fn new(buildings: Vec<KnownBuilding>) -> BuildingIndex {
        let mut index = BuildingIndex::default();
        for (i, b) in buildings.iter().enumerate() {
            if let Some(ext) = &b.ext_id {
                index.by_ext.insert(ext.clone(), i);
            }
            if let Some(key) = building_key(&b.address) {
                index.by_key.entry(key).or_default().push(i);
            }
        }
        index.buildings = buildings;
        index
    }
}

/// Where a household or building goes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    /// Placed by its own coordinates into `cell`.
    Placed {
        cell: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        building: Option<BuildingRef>,
    },
    /// Matched to a registered building by its id or door plate.
    Matched {
        cell: Option<String>,
        building: BuildingRef,
    },
    /// Several buildings carry this door plate: a person must choose.
    Ambiguous {
        candidates: Vec<BuildingRef>,
    },
    Rejected {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BuildingRef {
    /// The registered building's id, or `None` for a building this import creates.
    pub id: Option<i64>,
    pub ext_id: Option<String>,
    pub address: String,
}

/// One row's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowReport {
    pub line: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(flatten)]
    pub status: Status,
}

impl RowReport {
    pub fn writable(&self) -> bool {
        matches!(self.status, Status::Placed { .. } | Status::Matched { .. })
    }
}

/// Places every record. `categories` are the configured category names (others are refused).
pub fn place(
    kind: Kind,
    rows: &[Result<Record, Rejected>],
    atlas: Locate<'_>,
    index: &BuildingIndex,
    categories: &BTreeSet<String>,
) -> Vec<RowReport> {
    let mut seen: HashMap<&str, u64> = HashMap::new();
    rows.iter()
        .map(|row| {
            let record = match row {
                Ok(r) => r,
                Err(rejected) => {
                    return RowReport {
                        line: rejected.line,
                        id: None,
                        status: Status::Rejected {
                            reason: rejected.reason.clone(),
                        },
                    };
                }
            };
            let report = |status| RowReport {
                line: record.line,
                id: record.ext_id.clone(),
                status,
            };
            let reject = |reason: String| report(Status::Rejected { reason });
            if let Some(id) = &record.ext_id
                && let Some(first) = seen.insert(id.as_str(), record.line)
            {
                return reject(format!(
                    "id {id} appears twice in the file (first on line {first})"
                ));
            }
            if let Some(unknown) = record.categories.iter().find(|c| !categories.contains(*c)) {
                return reject(format!(
                    "unknown category {unknown:?} (configured: {})",
                    categories.iter().cloned().collect::<Vec<_>>().join("、")
                ));
            }
            match kind {
                Kind::Buildings => place_building(record, atlas, reject, report),
                Kind::Households => place_household(record, atlas, index, reject, report),
            }
        })
        .collect()
}

/// Finds the grid a point lies in (the atlas's point location, given by the caller).
pub type Locate<'a> = &'a (dyn Fn(geo_types::Coord<f64>) -> Option<String> + Sync);

fn place_building(
    record: &Record,
    atlas: Locate<'_>,
    reject: impl Fn(String) -> RowReport,
    report: impl Fn(Status) -> RowReport,
) -> RowReport {
    let Some(p) = record.point else {
        return reject("a building needs its coordinates".into());
    };
    match atlas(p) {
        Some(cell) => report(Status::Placed {
            cell,
            building: None,
        }),
        None => reject(format!(
            "({:.7}, {:.7}) lies outside every grid of this deployment",
            p.x, p.y
        )),
    }
}

fn place_household(
    record: &Record,
    atlas: Locate<'_>,
    index: &BuildingIndex,
    reject: impl Fn(String) -> RowReport,
    report: impl Fn(Status) -> RowReport,
) -> RowReport {
    let as_ref = |b: &KnownBuilding| BuildingRef {
        id: Some(b.id),
        ext_id: b.ext_id.clone(),
        address: b.address.clone(),
    };
    // The building named by id wins over the address.
    let named = match &record.building {
        Some(ext) => match index.by_ext.get(ext) {
            Some(&i) => Some(&index.buildings[i]),
            None => return reject(format!("no registered building with id {ext}")),
        },
        None => None,
    };
    let key = building_key(&record.address);
    if let Some(p) = record.point {
        let Some(cell) = atlas(p) else {
            return reject(format!(
                "({:.7}, {:.7}) lies outside every grid of this deployment",
                p.x, p.y
            ));
        };
        // Its building: the named one, else the one door plate, else a new one at the point.
        let building = named.map(as_ref).or_else(|| {
            let found = key.as_ref().and_then(|k| index.by_key.get(k))?;
            (found.len() == 1).then(|| as_ref(&index.buildings[found[0]]))
        });
        let building = building.unwrap_or_else(|| BuildingRef {
            id: None,
            ext_id: None,
            address: key.clone().unwrap_or_else(|| record.address.clone()),
        });
        return report(Status::Placed {
            cell,
            building: Some(building),
        });
    }
    if let Some(b) = named {
        return report(Status::Matched {
            cell: b.cell.clone(),
            building: as_ref(b),
        });
    }
    let Some(key) = key else {
        return reject(format!(
            "no coordinates, and the address {:?} has no house number (号) to find its building",
            record.address
        ));
    };
    match index.by_key.get(&key).map(Vec::as_slice) {
        Some([one]) => {
            let b = &index.buildings[*one];
            report(Status::Matched {
                cell: b.cell.clone(),
                building: as_ref(b),
            })
        }
        Some(many) if !many.is_empty() => report(Status::Ambiguous {
            candidates: many.iter().map(|&i| as_ref(&index.buildings[i])).collect(),
        }),
        _ => reject(format!(
            "no coordinates, and no registered building has the door plate {key}"
        )),
    }
}
