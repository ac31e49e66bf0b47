//! A planner's draft: changes on top of a base revision, applied to a copy of the atlas's cells.
//! Pure: no I/O. Every edit keeps shared vertices bit-identical, so an edit that is meant to keep
//! the coverage exact does (a split inserts its new boundary vertices into every cell that shares
//! the cut edge; a merge dissolves shared edges without moving a vertex).

use std::collections::{BTreeMap, BTreeSet};

use geo::BoundingRect;
use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use serde_json::{Map, Value};

use crate::domain::cell::{Cell, CellKind};
use crate::domain::code::{CODE_LENGTHS, CellCode};
use crate::geometry::dissolve::dissolve;
use crate::geometry::validity::{check_polygon, point_in_ring};

/// Why an edit cannot be made. Each names what the planner must change.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DraftError {
    #[error("no cell {0} in the draft")]
    UnknownCell(String),
    #[error("{0}")]
    BadLine(String),
    #[error("{0}")]
    BadMerge(String),
    #[error(
        "cell {0} is a township or village: its code is a national division code, so it cannot be split or merged here"
    )]
    NationalCode(String),
    #[error("no free code left under {0}")]
    CodesExhausted(String),
    #[error("{0}")]
    Invalid(String),
}

pub use crate::domain::draft::{Change, Draft};

/// The atlas as a draft leaves it: base cells with the draft's changes applied.
pub struct View {
    cells: BTreeMap<String, Cell>,
}

impl View {
    pub fn new(base: Vec<Cell>, draft: &Draft) -> View {
        let mut cells: BTreeMap<String, Cell> =
            base.into_iter().map(|c| (c.code.to_string(), c)).collect();
        for (code, change) in &draft.changes {
            match change {
                Change::Put(cell) => {
                    cells.insert(code.clone(), (**cell).clone());
                }
                Change::Delete => {
                    cells.remove(code);
                }
            }
        }
        View { cells }
    }

    pub fn get(&self, code: &str) -> Option<&Cell> {
        self.cells.get(code)
    }

    pub fn cells(&self) -> impl Iterator<Item = &Cell> {
        self.cells.values()
    }

    pub fn into_cells(self) -> Vec<Cell> {
        self.cells.into_values().collect()
    }
}

impl Draft {
    /// Writes `cell` (new, or replacing the cell of the same code).
    pub fn put(&mut self, cell: Cell) {
        self.changes
            .insert(cell.code.to_string(), Change::Put(Box::new(cell)));
    }

    /// Removes `code` from the atlas (its area must then be covered by others).
    pub fn delete(&mut self, view: &View, code: &str) -> Result<(), DraftError> {
        if view.get(code).is_none() {
            return Err(DraftError::UnknownCell(code.to_string()));
        }
        self.changes.insert(code.to_string(), Change::Delete);
        Ok(())
    }

    /// The codes this draft creates (not in the base).
    pub fn new_codes(&self) -> BTreeSet<String> {
        self.lineage.iter().map(|(_, new)| new.clone()).collect()
    }

    /// Splits `code` along `line` into two cells with new codes (next free sequence under the
    /// parent, never one in `used`). The line must cross the cell's outer boundary exactly twice;
    /// its ends may lie outside the cell (it is cut at the boundary) or on it, within `snap`
    /// (coordinate units) of a vertex or an edge. New boundary vertices are inserted into every
    /// cell that shares the cut edge, so neighbours keep matching vertex for vertex.
    pub fn split(
        &mut self,
        view: &View,
        code: &str,
        line: &[Coord<f64>],
        snap: f64,
        used: &BTreeSet<String>,
    ) -> Result<[String; 2], DraftError> {
        let cell = view
            .get(code)
            .ok_or_else(|| DraftError::UnknownCell(code.to_string()))?
            .clone();
        if cell.level < 3 {
            return Err(DraftError::NationalCode(code.to_string()));
        }
        if cell.geometry.0.len() != 1 {
            return Err(DraftError::BadLine(format!(
                "cell {code} is in {} pieces; split a single-piece cell",
                cell.geometry.0.len()
            )));
        }
        if line.len() < 2 || line.iter().any(|c| !c.x.is_finite() || !c.y.is_finite()) {
            return Err(DraftError::BadLine(
                "the line needs at least two finite positions".into(),
            ));
        }
        let polygon = &cell.geometry.0[0];
        let mut ring: Vec<Coord<f64>> = polygon.exterior().0.clone();
        let contacts = contacts(&ring, line, snap);
        if contacts.len() != 2 {
            return Err(DraftError::BadLine(format!(
                "the line must cross the boundary of {code} exactly twice; it meets it {} times",
                contacts.len()
            )));
        }
        // The part of the line between the two contacts, with the contacts placed on the ring.
        let (first, second) = (contacts[0], contacts[1]);
        let mut inner: Vec<Coord<f64>> = line
            .iter()
            .enumerate()
            .filter(|(i, _)| (*i as f64) > first.along && (*i as f64) < second.along)
            .map(|(_, c)| *c)
            .collect();
        inner.dedup();
        // Place both contacts on the ring, the one further along first, so that inserting the
        // other (earlier) one shifts it by one.
        let key = |c: &Contact| (c.ring_pos(), dist(ring[c.ring_pos()], c.point));
        let later_first = key(&first).0 > key(&second).0
            || (key(&first).0 == key(&second).0 && key(&first).1 >= key(&second).1);
        let (hi, lo) = if later_first {
            (first, second)
        } else {
            (second, first)
        };
        let mut inserted: Vec<(Coord<f64>, Coord<f64>, Coord<f64>)> = Vec::new();
        let mut place = |ring: &mut Vec<Coord<f64>>, contact: Contact| -> (usize, bool) {
            match contact.on {
                OnRing::Vertex(i) => (i, false),
                OnRing::Edge(i) => {
                    inserted.push((ring[i], ring[i + 1], contact.point));
                    ring.insert(i + 1, contact.point);
                    (i + 1, true)
                }
            }
        };
        let (mut hi_at, _) = place(&mut ring, hi);
        let (lo_at, lo_inserted) = place(&mut ring, lo);
        if lo_inserted && hi_at >= lo_at {
            hi_at += 1;
        }
        let (mut a, mut b) = if later_first {
            (hi_at, lo_at)
        } else {
            (lo_at, hi_at)
        };
        let mut cut = inner;
        if a > b {
            std::mem::swap(&mut a, &mut b);
            cut.reverse();
        }
        if a == b || (a == 0 && b == ring.len() - 1) {
            return Err(DraftError::BadLine(
                "both ends of the line meet the boundary at the same point".into(),
            ));
        }
        // Piece one: ring[a..=b] then back along the cut; piece two: ring[b..] + ring[..=a] then
        // forward along the cut.
        let mut one: Vec<Coord<f64>> = ring[a..=b].to_vec();
        one.extend(cut.iter().rev());
        one.push(one[0]);
        let mut two: Vec<Coord<f64>> = ring[b..ring.len() - 1].to_vec();
        two.extend_from_slice(&ring[..=a]);
        two.extend(cut.iter());
        two.push(two[0]);
        let mut pieces = [
            Polygon::new(LineString(one), vec![]),
            Polygon::new(LineString(two), vec![]),
        ];
        for hole in polygon.interiors() {
            // The cut runs between the two contacts through the ring's inside.
            let mut whole_cut = vec![ring[a]];
            whole_cut.extend(cut.iter().copied());
            whole_cut.push(ring[b]);
            if hole.0.windows(2).any(|w| {
                whole_cut
                    .windows(2)
                    .any(|c| segments_cross(w[0], w[1], c[0], c[1]))
            }) {
                return Err(DraftError::BadLine(format!(
                    "the line crosses a hole of {code}"
                )));
            }
            let k = usize::from(!point_in_ring(hole.0[0], &pieces[0].exterior().0));
            pieces[k].interiors_push(hole.clone());
        }
        for (k, piece) in pieces.iter().enumerate() {
            let rings: Vec<Vec<Coord<f64>>> = std::iter::once(piece.exterior())
                .chain(piece.interiors())
                .map(|r| r.0.clone())
                .collect();
            check_polygon(&rings, true).map_err(|e| {
                DraftError::BadLine(format!("piece {} of the split is not valid: {e}", k + 1))
            })?;
        }
        let parent = cell
            .parent
            .clone()
            .ok_or_else(|| DraftError::NationalCode(code.to_string()))?;
        let taken: BTreeSet<String> = used.union(&self.codes_in(view)).cloned().collect();
        let first_code = next_code(&parent, &taken)?;
        let mut taken = taken;
        taken.insert(first_code.clone());
        let second_code = next_code(&parent, &taken)?;

        // Neighbours (any level) sharing a cut edge get the same new vertex.
        for (a, b, p) in inserted {
            for other in view.cells().filter(|c| c.code.as_str() != code) {
                if let Some(updated) = with_vertex_inserted(other, a, b, p) {
                    self.put(updated);
                }
            }
        }
        self.changes.insert(code.to_string(), Change::Delete);
        for (piece, new_code) in pieces.into_iter().zip([&first_code, &second_code]) {
            let mut attributes = cell.attributes.clone();
            attributes.insert("split_from".into(), Value::String(code.to_string()));
            self.put(Cell {
                code: CellCode::parse(new_code).map_err(|e| DraftError::Invalid(e.to_string()))?,
                parent: Some(parent.clone()),
                level: cell.level,
                kind: cell.kind,
                name: format!("{}（{}）", cell.name, &new_code[new_code.len() - 3..]),
                geometry: MultiPolygon(vec![piece]),
                attributes,
            });
            self.lineage.push((code.to_string(), new_code.clone()));
        }
        Ok([first_code, second_code])
    }

    /// Merges sibling cells into one with a new code. Shared edges dissolve exactly.
    pub fn merge(
        &mut self,
        view: &View,
        codes: &[String],
        name: Option<&str>,
        used: &BTreeSet<String>,
    ) -> Result<String, DraftError> {
        let unique: BTreeSet<&String> = codes.iter().collect();
        if unique.len() < 2 {
            return Err(DraftError::BadMerge(
                "name at least two different cells to merge".into(),
            ));
        }
        let cells: Vec<&Cell> = unique
            .iter()
            .map(|c| {
                view.get(c)
                    .ok_or_else(|| DraftError::UnknownCell((*c).clone()))
            })
            .collect::<Result<_, _>>()?;
        if let Some(c) = cells.iter().find(|c| c.level < 3) {
            return Err(DraftError::NationalCode(c.code.to_string()));
        }
        let parent = cells[0].parent.clone();
        if let Some(c) = cells.iter().find(|c| c.parent != parent) {
            return Err(DraftError::BadMerge(format!(
                "{} and {} have different parents; only siblings merge",
                cells[0].code, c.code
            )));
        }
        let parent = parent.ok_or_else(|| DraftError::NationalCode(cells[0].code.to_string()))?;
        let pieces: Vec<Polygon<f64>> = cells
            .iter()
            .flat_map(|c| c.geometry.0.iter().cloned())
            .collect();
        let merged = dissolve(&pieces);
        let taken: BTreeSet<String> = used.union(&self.codes_in(view)).cloned().collect();
        let new_code = next_code(&parent, &taken)?;
        let kinds: BTreeSet<&str> = cells.iter().map(|c| c.kind.as_str()).collect();
        let kind = if kinds.len() == 1 {
            cells[0].kind
        } else {
            CellKind::default_for_level(cells[0].level)
        };
        let mut attributes = Map::new();
        attributes.insert(
            "merged_from".into(),
            Value::Array(unique.iter().map(|c| Value::String((*c).clone())).collect()),
        );
        let name = name
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| cells[0].name.clone());
        let level = cells[0].level;
        for code in &unique {
            self.changes.insert((*code).clone(), Change::Delete);
            self.lineage.push(((*code).clone(), new_code.clone()));
        }
        self.put(Cell {
            code: CellCode::parse(&new_code).map_err(|e| DraftError::Invalid(e.to_string()))?,
            parent: Some(parent),
            level,
            kind,
            name,
            geometry: merged,
            attributes,
        });
        Ok(new_code)
    }

    /// Codes present in the view or created or retired by this draft (none may be reused).
    fn codes_in(&self, view: &View) -> BTreeSet<String> {
        view.cells
            .keys()
            .cloned()
            .chain(self.changes.keys().cloned())
            .collect()
    }
}

/// The next free child code under `parent`: one past the highest sequence ever used there.
pub fn next_code(parent: &CellCode, used: &BTreeSet<String>) -> Result<String, DraftError> {
    let level = parent.level() as usize;
    let Some(&width) = CODE_LENGTHS.get(level + 1) else {
        return Err(DraftError::CodesExhausted(parent.to_string()));
    };
    let digits = width - parent.as_str().len();
    let highest = used
        .iter()
        .filter(|c| c.len() == width && c.starts_with(parent.as_str()))
        .filter_map(|c| c[parent.as_str().len()..].parse::<u64>().ok())
        .max()
        .unwrap_or(0);
    let next = highest + 1;
    if next >= 10u64.pow(digits as u32) {
        return Err(DraftError::CodesExhausted(parent.to_string()));
    }
    Ok(format!("{}{:0digits$}", parent.as_str(), next))
}

#[derive(Debug, Clone, Copy)]
enum OnRing {
    Vertex(usize),
    /// On the edge from vertex `i` to `i + 1`.
    Edge(usize),
}

#[derive(Debug, Clone, Copy)]
struct Contact {
    /// Position along the line: segment index + fraction (so `i as f64` is vertex `i`).
    along: f64,
    point: Coord<f64>,
    on: OnRing,
}

impl Contact {
    fn ring_pos(&self) -> usize {
        match self.on {
            OnRing::Vertex(i) | OnRing::Edge(i) => i,
        }
    }
}

/// Where the line meets the ring: its ends when they lie on the ring (within `snap`), and every
/// crossing of a line segment with a ring edge. Points within `snap` of a ring vertex snap to it.
fn contacts(ring: &[Coord<f64>], line: &[Coord<f64>], snap: f64) -> Vec<Contact> {
    let n = ring.len() - 1;
    let locate = |p: Coord<f64>| -> Option<(OnRing, Coord<f64>, f64)> {
        let mut best: Option<(OnRing, Coord<f64>, f64)> = None;
        for (i, &v) in ring[..n].iter().enumerate() {
            let d = dist(p, v);
            if d <= snap && best.is_none_or(|b| d < b.2) {
                best = Some((OnRing::Vertex(i), v, d));
            }
        }
        if best.is_some() {
            return best;
        }
        for i in 0..n {
            let (q, d) = project(p, ring[i], ring[i + 1]);
            if d <= snap && best.is_none_or(|b| d < b.2) {
                best = Some((OnRing::Edge(i), q, d));
            }
        }
        best
    };
    let mut found: Vec<Contact> = Vec::new();
    let last = line.len() - 1;
    for (k, end) in [(0usize, line[0]), (last, line[last])] {
        if let Some((on, point, _)) = locate(end) {
            found.push(Contact {
                along: k as f64,
                point,
                on,
            });
        }
    }
    for k in 0..last {
        let (p, q) = (line[k], line[k + 1]);
        for i in 0..n {
            if let Some((t, x)) = crossing(p, q, ring[i], ring[i + 1]) {
                let along = k as f64 + t;
                // The ends already count when they are on the ring.
                if found
                    .iter()
                    .any(|c| (c.along - along).abs() < 1e-9 || dist(c.point, x) <= snap)
                {
                    continue;
                }
                let on = match locate(x) {
                    Some((OnRing::Vertex(v), _, _)) => OnRing::Vertex(v),
                    _ => OnRing::Edge(i),
                };
                let point = match on {
                    OnRing::Vertex(v) => ring[v],
                    OnRing::Edge(_) => x,
                };
                found.push(Contact { along, point, on });
            }
        }
    }
    found.sort_by(|a, b| a.along.total_cmp(&b.along));
    found
}

fn dist(a: Coord<f64>, b: Coord<f64>) -> f64 {
    (a.x - b.x).hypot(a.y - b.y)
}

/// The nearest point of segment a–b to p, and its distance.
fn project(p: Coord<f64>, a: Coord<f64>, b: Coord<f64>) -> (Coord<f64>, f64) {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let len2 = dx * dx + dy * dy;
    let t = if len2 == 0.0 {
        0.0
    } else {
        (((p.x - a.x) * dx + (p.y - a.y) * dy) / len2).clamp(0.0, 1.0)
    };
    let q = Coord {
        x: a.x + t * dx,
        y: a.y + t * dy,
    };
    (q, dist(p, q))
}

/// Proper or touching intersection of p–q with a–b: the fraction along p–q and the point.
fn crossing(
    p: Coord<f64>,
    q: Coord<f64>,
    a: Coord<f64>,
    b: Coord<f64>,
) -> Option<(f64, Coord<f64>)> {
    let r = Coord {
        x: q.x - p.x,
        y: q.y - p.y,
    };
    let s = Coord {
        x: b.x - a.x,
        y: b.y - a.y,
    };
    let denom = r.x * s.y - r.y * s.x;
    if denom == 0.0 {
        return None;
    }
    let t = ((a.x - p.x) * s.y - (a.y - p.y) * s.x) / denom;
    let u = ((a.x - p.x) * r.y - (a.y - p.y) * r.x) / denom;
    if !(0.0..=1.0).contains(&t) || !(0.0..=1.0).contains(&u) {
        return None;
    }
    // On a ring vertex, take the exact vertex.
    let point = if u == 0.0 {
        a
    } else if u == 1.0 {
        b
    } else {
        Coord {
            x: p.x + t * r.x,
            y: p.y + t * r.y,
        }
    };
    Some((t, point))
}

fn segments_cross(a: Coord<f64>, b: Coord<f64>, c: Coord<f64>, d: Coord<f64>) -> bool {
    crossing(a, b, c, d).is_some()
}

/// `cell` with `p` inserted between `a` and `b` wherever it has that edge (either direction);
/// `None` when it has no such edge.
fn with_vertex_inserted(cell: &Cell, a: Coord<f64>, b: Coord<f64>, p: Coord<f64>) -> Option<Cell> {
    let rect = cell.geometry.bounding_rect()?;
    if p.x < rect.min().x || p.x > rect.max().x || p.y < rect.min().y || p.y > rect.max().y {
        return None;
    }
    let mut changed = false;
    let insert = |ring: &LineString<f64>, changed: &mut bool| -> LineString<f64> {
        let mut out = Vec::with_capacity(ring.0.len() + 1);
        for w in ring.0.windows(2) {
            out.push(w[0]);
            if (w[0] == a && w[1] == b) || (w[0] == b && w[1] == a) {
                out.push(p);
                *changed = true;
            }
        }
        out.extend(ring.0.last());
        LineString(out)
    };
    let geometry = MultiPolygon(
        cell.geometry
            .0
            .iter()
            .map(|poly| {
                Polygon::new(
                    insert(poly.exterior(), &mut changed),
                    poly.interiors()
                        .iter()
                        .map(|r| insert(r, &mut changed))
                        .collect(),
                )
            })
            .collect(),
    );
    changed.then(|| Cell {
        geometry,
        ..cell.clone()
    })
}

#[cfg(test)]
mod tests;
