//! Generates the demo deployment: 湄潭县 with 湄江街道 (town) and 永兴镇 (countryside), real
//! division codes and names, synthetic geometry on a hexagonal lattice, households, buildings and
//! grid teams. Deterministic: the same seed gives byte-identical files.

use std::collections::{BTreeMap, BTreeSet};

use geo::Validation;
use geo_types::MultiPolygon;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::lattice::{Lattice, Projection};
use super::people;
use crate::domain::cell::{Cell, CellKind};
use crate::domain::code::CellCode;
use crate::geometry::dissolve::dissolve;

pub const SEED: u64 = 520_328;

/// Target households per base grid used to decide how many grids a village gets.
const HOUSEHOLDS_PER_GRID: f64 = 280.0;
const TOWN_HOUSEHOLDS: f64 = 17_000.0;
const RURAL_HOUSEHOLDS: f64 = 8_000.0;

/// Villages/communities of the demo: code suffix in the real 2023 list, and whether urban.
pub const TOWN: (&str, &str, CellKind) = ("520328004", "湄江街道", CellKind::Street);
pub const RURAL: (&str, &str, CellKind) = ("520328101", "永兴镇", CellKind::Township);
pub const TOWN_VILLAGES: [&str; 7] = [
    "520328004016", // 义泉
    "520328004005", // 七星
    "520328004004", // 中西
    "520328004003", // 茶城
    "520328004015", // 碧波湾
    "520328004001", // 环西
    "520328004002", // 迎湄
];
pub const RURAL_VILLAGES: [&str; 5] = [
    "520328101002", // 茶场社区
    "520328101200", // 马义村
    "520328101201", // 流河渡村
    "520328101202", // 中华村
    "520328101203", // 天棚村
];
const TOWN_ROADS: [&str; 10] = [
    "茶城大道",
    "湄江路",
    "象山路",
    "浙大路",
    "兴隆街",
    "中华路",
    "桂花路",
    "和平街",
    "求是路",
    "龙井路",
];

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Building {
    pub id: String,
    pub address: String,
    pub lon: f64,
    pub lat: f64,
    pub cell_code: String,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Household {
    pub id: String,
    pub building_id: String,
    pub address: String,
    pub head_name: String,
    pub members: i32,
    pub phone: String,
    #[serde(with = "super::files::semicolon_list")]
    pub categories: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Staff {
    pub id: String,
    pub name: String,
    pub phone: String,
    pub office_phone: String,
    #[serde(with = "super::files::semicolon_list")]
    pub duties: Vec<String>,
    pub consent_at: Option<String>,
    /// Portrait file, relative to the demo directory (every member has one; it is published only
    /// with consent).
    pub photo: Option<String>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Assignment {
    pub cell_code: String,
    pub staff_id: String,
    pub role: String,
}

/// The whole demo deployment, parents before children.
#[derive(Debug, Clone)]
pub struct Demo {
    pub cells: Vec<Cell>,
    pub buildings: Vec<Building>,
    pub households: Vec<Household>,
    pub staff: Vec<Staff>,
    pub assignments: Vec<Assignment>,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("village code {0} is not in the divisions file")]
    UnknownVillage(String),
    #[error("generated cell {0} is not a valid polygon: {1}")]
    InvalidCell(String, String),
    #[error("bad code in the demo specification: {0}")]
    Code(#[from] crate::domain::code::CodeError),
}

/// Real names by code, e.g. from `villages_52_guizhou.csv` (`code,name,...`).
pub type DivisionNames = BTreeMap<String, String>;

/// A cell while it is being built: its hexes and place in the tree.
struct Draft {
    code: String,
    parent: Option<String>,
    kind: CellKind,
    name: String,
    hexes: Vec<usize>,
    attributes: serde_json::Map<String, serde_json::Value>,
}

/// Generates the demo from `names` (village code → official name).
pub fn generate(names: &DivisionNames) -> Result<Demo, DemoError> {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let projection = Projection {
        town_centre: (22.0, 27.0),
        hex_m: 180.0,
        origin_lon: 107.466,
        origin_lat: 27.766,
    };
    // The county outline: a lobed ellipse around the lattice's middle.
    let outline = |x: f64, y: f64| {
        let (dx, dy) = ((x - 38.0) / 38.0, (y - 27.0) / 27.0);
        let theta = dy.atan2(dx);
        dx * dx + dy * dy
            <= (0.93 + 0.06 * (3.0 * theta).sin() + 0.04 * (5.0 * theta).cos()).powi(2)
    };
    let lattice = Lattice::new(46, 37, outline, 0.22, &projection, &mut rng);
    // The 湄江 river meanders north–south and divides the street (west) from the town (east).
    let river_x = |y: f64| 34.0 + 4.0 * (y / 7.0).sin();
    let town_hexes: Vec<usize> = (0..lattice.hexes.len())
        .filter(|&i| lattice.hexes[i].x < river_x(lattice.hexes[i].y))
        .collect();
    let rural_hexes: Vec<usize> = (0..lattice.hexes.len())
        .filter(|&i| lattice.hexes[i].x >= river_x(lattice.hexes[i].y))
        .collect();

    let mut households = household_counts(&lattice, &town_hexes, &rural_hexes, &mut rng);

    let mut drafts = vec![Draft {
        code: "520328".into(),
        parent: None,
        kind: CellKind::County,
        name: "湄潭县".into(),
        hexes: (0..lattice.hexes.len()).collect(),
        attributes: Default::default(),
    }];
    let mut grid_drafts: Vec<Draft> = Vec::new();
    for (township, hexes, villages, urban) in [
        (TOWN, &town_hexes, &TOWN_VILLAGES[..], true),
        (RURAL, &rural_hexes, &RURAL_VILLAGES[..], false),
    ] {
        let mut attributes = serde_json::Map::new();
        attributes.insert(
            "supervision_phone".into(),
            format!("0851-2456{:04}", rng.random_range(0..10_000)).into(),
        );
        drafts.push(Draft {
            code: township.0.into(),
            parent: Some("520328".into()),
            kind: township.2,
            name: township.1.into(),
            hexes: hexes.clone(),
            attributes,
        });
        // Town communities are balanced by households, rural villages by land.
        let weight = |i: usize| {
            if urban {
                households[i] as f64 + 1.0
            } else {
                1.0
            }
        };
        let regions = grow(&lattice, hexes, villages.len(), &weight, &BTreeMap::new());
        for (v, code) in villages.iter().enumerate() {
            let name = names
                .get(*code)
                .ok_or_else(|| DemoError::UnknownVillage(code.to_string()))?;
            let name = short_name(name);
            let kind = if name.ends_with('村') {
                CellKind::Village
            } else {
                CellKind::Community
            };
            let village_hexes: Vec<usize> =
                hexes.iter().copied().filter(|h| regions[h] == v).collect();
            let mut attributes = serde_json::Map::new();
            attributes.insert(
                "office_phone".into(),
                format!("0851-2452{:04}", rng.random_range(0..10_000)).into(),
            );
            drafts.push(Draft {
                code: code.to_string(),
                parent: Some(township.0.into()),
                kind,
                name,
                hexes: village_hexes,
                attributes,
            });
        }
    }

    // Grids inside each village, with the two special grids carved out first.
    for village in drafts.iter().filter(|d| d.code.len() == 12) {
        let mut fixed = BTreeMap::new();
        let mut specials = Vec::new();
        let special = match village.code.as_str() {
            "520328004004" => Some(("湄江中学专属网格", 3, "学校")),
            "520328101200" => Some(("永兴工业园区专属网格", 7, "工业园区")),
            _ => None,
        };
        if let Some((name, size, site)) = special {
            let patch = compact_patch(&lattice, &village.hexes, size);
            for h in &patch {
                fixed.insert(*h, 0usize);
                // A school registers no households; a park only a few dormitories.
                households[*h] = if site == "学校" {
                    0
                } else {
                    households[*h] / 8
                };
            }
            let mut attributes = serde_json::Map::new();
            attributes.insert("site".into(), site.into());
            specials.push((name.to_string(), patch, attributes));
        }
        let free_households: f64 = village
            .hexes
            .iter()
            .filter(|h| !fixed.contains_key(h))
            .map(|h| households[*h] as f64)
            .sum();
        let grid_count = ((free_households / HOUSEHOLDS_PER_GRID).round() as usize).max(1);
        let weight = |i: usize| households[i] as f64 + 2.0;
        let offset = specials.len();
        let shifted: BTreeMap<usize, usize> = fixed.clone();
        let regions = grow(
            &lattice,
            &village.hexes,
            grid_count + offset,
            &weight,
            &shifted,
        );
        let mut grids: Vec<Draft> = (0..grid_count + offset)
            .map(|g| Draft {
                code: String::new(),
                parent: Some(village.code.clone()),
                kind: CellKind::BaseGrid,
                name: String::new(),
                hexes: village
                    .hexes
                    .iter()
                    .copied()
                    .filter(|h| regions[h] == g)
                    .collect(),
                attributes: Default::default(),
            })
            .filter(|g| !g.hexes.is_empty())
            .collect();
        for (g, (name, _, attributes)) in specials.into_iter().enumerate() {
            grids[g].kind = CellKind::SpecialGrid;
            grids[g].name = name;
            grids[g].attributes = attributes;
        }
        grid_drafts.extend(grids);
    }

    make_enclave(&lattice, &mut drafts, &mut grid_drafts);
    number_grids(&lattice, &drafts, &mut grid_drafts);

    let cell_of_hex: BTreeMap<usize, usize> = grid_drafts
        .iter()
        .enumerate()
        .flat_map(|(g, d)| d.hexes.iter().map(move |h| (*h, g)))
        .collect();
    let (buildings, household_rows) = buildings_and_households(
        &lattice,
        &drafts,
        &grid_drafts,
        &cell_of_hex,
        &households,
        &mut rng,
    );
    let (staff, assignments) = teams(&drafts, &grid_drafts, &mut rng);

    let mut cells = Vec::new();
    for draft in drafts.iter().chain(grid_drafts.iter()) {
        let pieces: Vec<_> = draft.hexes.iter().map(|h| lattice.polygon(*h)).collect();
        let geometry: MultiPolygon<f64> = dissolve(&pieces);
        if let Err(e) = geometry.check_validation() {
            return Err(DemoError::InvalidCell(draft.code.clone(), e.to_string()));
        }
        let code = CellCode::parse(&draft.code)?;
        cells.push(Cell {
            level: code.level(),
            parent: draft.parent.as_deref().map(CellCode::parse).transpose()?,
            code,
            kind: draft.kind,
            name: draft.name.clone(),
            geometry,
            attributes: draft.attributes.clone(),
        });
    }
    Ok(Demo {
        cells,
        buildings,
        households: household_rows,
        staff,
        assignments,
    })
}

/// "义泉社区居民委员会" → "义泉社区"; "马义村村民委员会" → "马义村".
pub fn short_name(official: &str) -> String {
    official
        .trim_end_matches("居民委员会")
        .trim_end_matches("村民委员会")
        .to_string()
}

fn household_counts(
    lattice: &Lattice,
    town: &[usize],
    rural: &[usize],
    rng: &mut ChaCha8Rng,
) -> Vec<u32> {
    let mut raw = vec![0.0f64; lattice.hexes.len()];
    for (hexes, empty_share) in [(town, 0.08), (rural, 0.15)] {
        for &h in hexes {
            // Parks, fields and hills hold nobody.
            raw[h] = if rng.random_bool(empty_share) {
                0.0
            } else {
                0.4 + rng.random::<f64>()
            };
        }
    }
    let mut counts = vec![0u32; lattice.hexes.len()];
    for (hexes, target) in [(town, TOWN_HOUSEHOLDS), (rural, RURAL_HOUSEHOLDS)] {
        let sum: f64 = hexes.iter().map(|h| raw[*h]).sum();
        for &h in hexes {
            counts[h] = (raw[h] * target / sum).round() as u32;
        }
    }
    counts
}

/// Splits `members` into `k` connected regions of about equal weight by growing them from
/// far-apart seeds; hexes in `fixed` keep their region. Returns hex → region.
fn grow(
    lattice: &Lattice,
    members: &[usize],
    k: usize,
    weight: &dyn Fn(usize) -> f64,
    fixed: &BTreeMap<usize, usize>,
) -> BTreeMap<usize, usize> {
    let member_set: BTreeSet<usize> = members.iter().copied().collect();
    let mut region: BTreeMap<usize, usize> = fixed.clone();
    let fixed_regions: BTreeSet<usize> = fixed.values().copied().collect();
    let free: Vec<usize> = members
        .iter()
        .copied()
        .filter(|h| !fixed.contains_key(h))
        .collect();
    let growing: Vec<usize> = (0..k).filter(|r| !fixed_regions.contains(r)).collect();
    // Seeds: the north-west-most hex, then each next the farthest from those chosen.
    let distance = |a: usize, b: usize| {
        let (p, q) = (&lattice.hexes[a], &lattice.hexes[b]);
        (p.x - q.x).hypot(p.y - q.y)
    };
    let mut seeds: Vec<usize> = Vec::new();
    if let Some(first) = free.iter().copied().max_by(|&a, &b| {
        let (p, q) = (&lattice.hexes[a], &lattice.hexes[b]);
        (p.y - p.x).total_cmp(&(q.y - q.x)).then(b.cmp(&a))
    }) {
        seeds.push(first);
    }
    while seeds.len() < growing.len() && seeds.len() < free.len() {
        let next = free
            .iter()
            .copied()
            .filter(|h| !seeds.contains(h))
            .max_by(|&a, &b| {
                let da = seeds
                    .iter()
                    .map(|&s| distance(a, s))
                    .fold(f64::MAX, f64::min);
                let db = seeds
                    .iter()
                    .map(|&s| distance(b, s))
                    .fold(f64::MAX, f64::min);
                da.total_cmp(&db).then(b.cmp(&a))
            });
        match next {
            Some(h) => seeds.push(h),
            None => break,
        }
    }
    let mut weights: BTreeMap<usize, f64> = BTreeMap::new();
    for (seed, r) in seeds.iter().zip(&growing) {
        region.insert(*seed, *r);
        weights.insert(*r, weight(*seed));
    }
    let seed_of: BTreeMap<usize, usize> =
        growing.iter().copied().zip(seeds.iter().copied()).collect();
    loop {
        let mut order: Vec<(f64, usize)> = weights.iter().map(|(r, w)| (*w, *r)).collect();
        order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut grew = false;
        for (_, r) in order {
            let seed = seed_of[&r];
            let frontier = region
                .iter()
                .filter(|(_, rr)| **rr == r)
                .flat_map(|(h, _)| lattice.neighbours(*h))
                .filter(|n| member_set.contains(n) && !region.contains_key(n))
                .min_by(|&a, &b| {
                    distance(a, seed)
                        .total_cmp(&distance(b, seed))
                        .then(a.cmp(&b))
                });
            if let Some(h) = frontier {
                region.insert(h, r);
                *weights.entry(r).or_default() += weight(h);
                grew = true;
                break;
            }
        }
        if !grew {
            break;
        }
    }
    // Hexes cut off behind a fixed region join a neighbouring region.
    let mut left: Vec<usize> = members
        .iter()
        .copied()
        .filter(|h| !region.contains_key(h))
        .collect();
    while !left.is_empty() {
        let before = left.len();
        left.retain(|&h| {
            let owner = lattice.neighbours(h).find_map(|n| region.get(&n).copied());
            match owner {
                Some(r) => {
                    region.insert(h, r);
                    false
                }
                None => true,
            }
        });
        if left.len() == before {
            break;
        }
    }
    region
}

/// `size` connected hexes around the middle of `hexes`, for a special grid.
fn compact_patch(lattice: &Lattice, hexes: &[usize], size: usize) -> Vec<usize> {
    let (sx, sy) = hexes.iter().fold((0.0, 0.0), |(x, y), h| {
        (x + lattice.hexes[*h].x, y + lattice.hexes[*h].y)
    });
    let n = hexes.len().max(1) as f64;
    let (cx, cy) = (sx / n, sy / n);
    let set: BTreeSet<usize> = hexes.iter().copied().collect();
    let dist = |h: usize| (lattice.hexes[h].x - cx).hypot(lattice.hexes[h].y - cy);
    let Some(start) = hexes
        .iter()
        .copied()
        .min_by(|&a, &b| dist(a).total_cmp(&dist(b)))
    else {
        return Vec::new();
    };
    let mut patch = vec![start];
    while patch.len() < size {
        let next = patch
            .iter()
            .flat_map(|h| lattice.neighbours(*h))
            .filter(|n| set.contains(n) && !patch.contains(n))
            .min_by(|&a, &b| dist(a).total_cmp(&dist(b)).then(a.cmp(&b)));
        match next {
            Some(h) => patch.push(h),
            None => break,
        }
    }
    patch
}

/// Gives 流河渡村 an enclave (飞地): one hex deep inside a 中华村 grid becomes its own grid
/// of 流河渡村, so 流河渡村 is in two pieces and 中华村 and that grid get a hole.
fn make_enclave(lattice: &Lattice, villages: &mut [Draft], grids: &mut Vec<Draft>) {
    let (host_code, owner_code) = ("520328101202", "520328101201");
    let Some(owner_index) = villages.iter().position(|v| v.code == owner_code) else {
        return;
    };
    let owner_hexes: Vec<usize> = villages[owner_index].hexes.clone();
    let distance_to_owner = |h: usize| {
        owner_hexes
            .iter()
            .map(|o| {
                (lattice.hexes[*o].x - lattice.hexes[h].x)
                    .hypot(lattice.hexes[*o].y - lattice.hexes[h].y)
            })
            .fold(f64::MAX, f64::min)
    };
    let host_grid_hexes: Vec<(usize, usize)> = grids
        .iter()
        .enumerate()
        .filter(|(_, g)| g.parent.as_deref() == Some(host_code) && g.kind == CellKind::BaseGrid)
        .flat_map(|(gi, g)| g.hexes.iter().map(move |h| (gi, *h)))
        .collect();
    let grid_of: BTreeMap<usize, usize> = host_grid_hexes.iter().map(|(g, h)| (*h, *g)).collect();
    // A hex whose six neighbours all lie in its own grid: removing it leaves a hole, not a cut.
    let candidate = host_grid_hexes
        .iter()
        .filter(|(g, h)| {
            lattice.neighbours(*h).count() == 6
                && lattice.neighbours(*h).all(|n| grid_of.get(&n) == Some(g))
        })
        .min_by(|a, b| {
            distance_to_owner(a.1)
                .total_cmp(&distance_to_owner(b.1))
                .then(a.1.cmp(&b.1))
        })
        .copied();
    let Some((grid, hex)) = candidate else { return };
    grids[grid].hexes.retain(|h| *h != hex);
    if let Some(host) = villages.iter_mut().find(|v| v.code == host_code) {
        host.hexes.retain(|h| *h != hex);
    }
    villages[owner_index].hexes.push(hex);
    let mut attributes = serde_json::Map::new();
    attributes.insert("enclave".into(), true.into());
    grids.push(Draft {
        code: String::new(),
        parent: Some(owner_code.into()),
        kind: CellKind::BaseGrid,
        name: String::new(),
        hexes: vec![hex],
        attributes,
    });
}

/// Codes grids village by village, west→east within north→south bands, and names them.
fn number_grids(lattice: &Lattice, villages: &[Draft], grids: &mut [Draft]) {
    let band = 6.0; // lattice units, about one town grid high
    for village in villages.iter().filter(|v| v.code.len() == 12) {
        let top = village
            .hexes
            .iter()
            .map(|h| lattice.hexes[*h].y)
            .fold(f64::MIN, f64::max);
        let mut members: Vec<(i64, f64, usize)> = grids
            .iter()
            .enumerate()
            .filter(|(_, g)| g.parent.as_deref() == Some(village.code.as_str()))
            .map(|(i, g)| {
                let n = g.hexes.len() as f64;
                let (x, y) = g.hexes.iter().fold((0.0, 0.0), |(x, y), h| {
                    (x + lattice.hexes[*h].x / n, y + lattice.hexes[*h].y / n)
                });
                (((top - y) / band).floor() as i64, x, i)
            })
            .collect();
        members.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        for (seq, (_, _, i)) in members.into_iter().enumerate() {
            let grid = &mut grids[i];
            grid.code = format!("{}{:03}", village.code, seq + 1);
            if grid.name.is_empty() {
                let suffix = if grid.attributes.contains_key("enclave") {
                    "（飞地）"
                } else {
                    ""
                };
                grid.name = format!("{}第{}网格{suffix}", village.name, seq + 1);
            }
        }
    }
}

fn buildings_and_households(
    lattice: &Lattice,
    villages: &[Draft],
    grids: &[Draft],
    cell_of_hex: &BTreeMap<usize, usize>,
    households: &[u32],
    rng: &mut ChaCha8Rng,
) -> (Vec<Building>, Vec<Household>) {
    let mut buildings = Vec::new();
    let mut rows = Vec::new();
    let mut house_numbers: BTreeMap<String, u32> = BTreeMap::new();
    for (&hex, &g) in cell_of_hex {
        let grid = &grids[g];
        let Some(village) = villages
            .iter()
            .find(|v| Some(&v.code) == grid.parent.as_ref())
        else {
            continue;
        };
        let urban = village.code.starts_with(TOWN.0);
        let township = if urban { TOWN.1 } else { RURAL.1 };
        let mut remaining = households[hex];
        while remaining > 0 {
            let size = if urban {
                rng.random_range(4..=12).min(remaining)
            } else {
                rng.random_range(1..=2).min(remaining)
            };
            remaining -= size;
            let point = lattice.point_inside(hex, rng);
            let place = if urban {
                let road = TOWN_ROADS[rng.random_range(0..TOWN_ROADS.len())];
                let key = format!("{}{road}", village.name);
                let n = house_numbers.entry(key).or_insert(0);
                *n += 1;
                format!("湄潭县{township}{}{road}{}号", village.name, *n * 2 - 1)
            } else {
                let group = &grid.code[12..];
                let key = format!("{}{group}", village.name);
                let n = house_numbers.entry(key).or_insert(0);
                *n += 1;
                format!(
                    "湄潭县{township}{}{}组{}号",
                    village.name,
                    group.trim_start_matches('0'),
                    *n
                )
            };
            let building_id = format!("B{:05}", buildings.len() + 1);
            for k in 0..size {
                let address = if urban {
                    format!("{place}{}单元{}0{}", k / 6 + 1, (k % 6) / 2 + 1, k % 2 + 1)
                } else if size > 1 {
                    format!("{place}附{}", k + 1)
                } else {
                    place.clone()
                };
                rows.push(Household {
                    id: format!("H{:06}", rows.len() + 1),
                    building_id: building_id.clone(),
                    address,
                    head_name: people::name(rng),
                    members: rng.random_range(1..=6),
                    phone: people::household_mobile(rng),
                    categories: people::household_categories(rng, urban)
                        .into_iter()
                        .map(String::from)
                        .collect(),
                });
            }
            buildings.push(Building {
                id: building_id,
                address: place,
                lon: point.x,
                lat: point.y,
                cell_code: grid.code.clone(),
            });
        }
    }
    (buildings, rows)
}

const LEADER_DUTIES: [&str; 3] = ["统筹网格工作", "矛盾纠纷调解", "社情民意联络"];
const WORKER_DUTIES: [&str; 6] = [
    "信息采集",
    "政策宣传",
    "矛盾调解",
    "安全巡查",
    "民生服务",
    "社情民意联络",
];

fn teams(
    villages: &[Draft],
    grids: &[Draft],
    rng: &mut ChaCha8Rng,
) -> (Vec<Staff>, Vec<Assignment>) {
    let mut staff = Vec::new();
    let mut assignments = Vec::new();
    let mut sorted: Vec<&Draft> = grids.iter().collect();
    sorted.sort_by(|a, b| a.code.cmp(&b.code));
    let mut phones = people::staff_mobiles(rng, grids.len() * 4).into_iter();
    for grid in sorted {
        let office_phone = villages
            .iter()
            .find(|v| Some(&v.code) == grid.parent.as_ref())
            .and_then(|v| v.attributes.get("office_phone"))
            .and_then(|p| p.as_str())
            .unwrap_or("0851-24520000")
            .to_string();
        let urban = grid.code.starts_with(TOWN.0);
        let mut roles = vec![
            ("网格长", &LEADER_DUTIES[..]),
            ("专职网格员", &WORKER_DUTIES[..]),
        ];
        if urban || rng.random_bool(0.5) {
            roles.push(("兼职网格员", &WORKER_DUTIES[..4]));
        }
        if rng.random_bool(0.4) {
            roles.push(("信息员", &WORKER_DUTIES[..1]));
        }
        for (role, duties) in roles {
            let id = format!("S{:04}", staff.len() + 1);
            let consent_at = rng.random_bool(0.6).then(|| {
                format!(
                    "2026-0{}-{:02}",
                    rng.random_range(1..=9),
                    rng.random_range(1..=28)
                )
            });
            staff.push(Staff {
                id: id.clone(),
                name: people::name(rng),
                phone: phones.next().unwrap_or_default(),
                office_phone: office_phone.clone(),
                duties: duties.iter().map(|d| d.to_string()).collect(),
                consent_at,
                photo: Some(format!("photos/{id}.svg")),
            });
            assignments.push(Assignment {
                cell_code: grid.code.clone(),
                staff_id: id,
                role: role.to_string(),
            });
        }
    }
    (staff, assignments)
}
