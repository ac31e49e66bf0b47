//! Re-validation after an edit, touching only the edited cell's neighbourhood: the directed-edge
//! map is kept between edits, so replacing one cell costs in proportion to that cell, not to
//! the coverage. This is what the planner's editor calls on every change.

use std::collections::{BTreeMap, HashMap};

use rustc_hash::FxHashMap;

use super::edges::{Edge, Group, PointKey, point_key, push_rings, split_t_junctions};
use super::{CoverageCell, Options, Prepared, Report, Violation, diagnose, hierarchy, prepare};

type EdgeKey = (u32, PointKey, PointKey);

/// A coverage held ready for edits.
pub struct Validator {
    options: Options,
    prepared: Vec<Prepared<'static>>,
    groups: Vec<Group>,
    /// Group in which each cell is a child, and groups of which it is the parent.
    child_of: Vec<Option<u32>>,
    parent_of: Vec<Vec<u32>>,
    index: HashMap<String, usize>,
    /// Directed edge → the cells that contribute it (parents reversed).
    edges: FxHashMap<EdgeKey, Vec<u32>>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("no cell with code {0} in this coverage")]
pub struct UnknownCell(pub String);

impl Validator {
    /// Prepares `cells` (and their `parents`) for repeated edits; also returns the full report.
    pub fn new(
        cells: &[CoverageCell],
        parents: &[CoverageCell],
        options: Options,
    ) -> (Validator, Report) {
        let report = super::validate(cells, parents, &options);
        let all: Vec<&CoverageCell> = cells.iter().chain(parents.iter()).collect();
        let mut ignored = Vec::new();
        let links = hierarchy::check(&all, cells.len(), &options, &mut ignored);
        let prepared: Vec<Prepared<'static>> = all
            .iter()
            .enumerate()
            .map(|(i, c)| {
                prepare(c, links.parent[i], &options, links.duplicate[i])
                    .0
                    .into_owned()
            })
            .collect();
        let mut by_parent: BTreeMap<Option<usize>, Vec<usize>> = BTreeMap::new();
        for (i, p) in prepared.iter().enumerate() {
            if !links.duplicate[i] && (i < cells.len() || p.parent.is_some()) {
                by_parent.entry(p.parent).or_default().push(i);
            }
        }
        let groups: Vec<Group> = by_parent
            .into_iter()
            .map(|(parent, children)| Group { parent, children })
            .collect();
        let mut child_of = vec![None; prepared.len()];
        let mut parent_of = vec![Vec::new(); prepared.len()];
        for (g, group) in groups.iter().enumerate() {
            for &c in &group.children {
                child_of[c] = Some(g as u32);
            }
            if let Some(p) = group.parent {
                parent_of[p].push(g as u32);
            }
        }
        let index = all
            .iter()
            .enumerate()
            .map(|(i, c)| (c.code.clone(), i))
            .collect();
        let mut validator = Validator {
            options,
            prepared,
            groups,
            child_of,
            parent_of,
            index,
            edges: FxHashMap::default(),
        };
        for i in 0..validator.prepared.len() {
            for e in validator.edges_of(i) {
                validator.edges.entry(key(&e)).or_default().push(e.owner);
            }
        }
        (validator, report)
    }

    /// The directed edges cell `i` contributes: as a child (as drawn) and as a parent (reversed).
    fn edges_of(&self, i: usize) -> Vec<Edge> {
        let mut out = Vec::new();
        if let Some(g) = self.child_of[i] {
            push_rings(&mut out, &self.prepared, g, i, false);
        }
        for &g in &self.parent_of[i] {
            push_rings(&mut out, &self.prepared, g, i, true);
        }
        out
    }

    fn matched(&self, e: &Edge) -> bool {
        let own = key(e);
        let twin = (e.group, own.2, own.1);
        self.edges.get(&own).is_some_and(|o| o.len() == 1)
            && self
                .edges
                .get(&twin)
                .is_some_and(|t| t.len() == 1 && t[0] != e.owner)
    }

    /// Replaces the cell with the same code and returns the findings in its neighbourhood.
    pub fn replace(&mut self, cell: &CoverageCell) -> Result<Report, UnknownCell> {
        let i = *self
            .index
            .get(&cell.code)
            .ok_or_else(|| UnknownCell(cell.code.clone()))?;
        let old = self.edges_of(i);
        for e in &old {
            if let Some(owners) = self.edges.get_mut(&key(e)) {
                if let Some(k) = owners.iter().position(|&o| o == e.owner) {
                    owners.swap_remove(k);
                }
                if owners.is_empty() {
                    self.edges.remove(&key(e));
                }
            }
        }
        let parent = self.prepared[i].parent;
        let (prepared, invalid) = prepare(cell, parent, &self.options, false);
        self.prepared[i] = prepared.into_owned();
        let mut violations: Vec<Violation> = invalid.into_iter().collect();
        let new = self.edges_of(i);
        for e in &new {
            self.edges.entry(key(e)).or_default().push(e.owner);
        }

        // The neighbourhood: cells of the same groups whose boxes touch the old or new box.
        let bbox =
            |b: [f64; 4], c: [f64; 4]| b[0] <= c[2] && c[0] <= b[2] && b[1] <= c[3] && c[1] <= b[3];
        let mut area = self.prepared[i].bbox;
        for e in old.iter().chain(&new) {
            for p in [e.a, e.b] {
                area = [
                    area[0].min(p.x),
                    area[1].min(p.y),
                    area[2].max(p.x),
                    area[3].max(p.y),
                ];
            }
        }
        let touched_groups: Vec<u32> = self.child_of[i]
            .into_iter()
            .chain(self.parent_of[i].iter().copied())
            .collect();
        let mut leftover: Vec<Edge> = new.iter().filter(|e| !self.matched(e)).copied().collect();
        for &g in &touched_groups {
            let group = &self.groups[g as usize];
            for n in group
                .children
                .iter()
                .copied()
                .chain(group.parent)
                .filter(|&n| n != i)
            {
                if !bbox(self.prepared[n].bbox, area) {
                    continue;
                }
                leftover.extend(
                    self.edges_of(n)
                        .into_iter()
                        .filter(|e| e.group == g)
                        .filter(|e| {
                            bbox(
                                [
                                    e.a.x.min(e.b.x),
                                    e.a.y.min(e.b.y),
                                    e.a.x.max(e.b.x),
                                    e.a.y.max(e.b.y),
                                ],
                                area,
                            )
                        })
                        .filter(|e| !self.matched(e)),
                );
            }
        }
        let leftover = split_t_junctions(leftover);
        let hotspots = diagnose::hotspots(
            &self.prepared,
            &self.groups,
            touched_groups.iter().copied(),
            Some(area),
        );
        diagnose::diagnose(
            &self.prepared,
            &self.groups,
            leftover,
            hotspots,
            &self.options,
            &mut violations,
        );
        Ok(Report::new(violations))
    }
}

fn key(e: &Edge) -> EdgeKey {
    (e.group, point_key(e.a), point_key(e.b))
}

#[cfg(test)]
mod tests {
    use geo_types::Coord;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::geometry::coverage::synthetic::{jittered_grid, nudge_vertex};

    #[test]
    fn an_edit_is_judged_locally_like_the_full_check_would() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let s = jittered_grid(20, 20, 5, 4);
        let (mut validator, report) = Validator::new(&s.cells, &s.parents, Options::default());
        assert!(report.valid);
        for _ in 0..100 {
            let victim = rng.random_range(0..s.cells.len());
            let mut edited = s.cells[victim].clone();
            let size = 10f64.powf(rng.random_range(-7.0..-3.5));
            nudge_vertex(
                &mut edited,
                rng.random_range(0..4),
                Coord {
                    x: size,
                    y: -size / 2.0,
                },
            );
            let local = validator.replace(&edited).unwrap();
            let mut all = s.cells.clone();
            all[victim] = edited.clone();
            let full = crate::geometry::coverage::validate(&all, &s.parents, &Options::default());
            assert_eq!(
                local.valid,
                full.valid,
                "{}\nvs full\n{}",
                local.summary(5),
                full.summary(5)
            );
            assert!(local.errors().all(|v| {
                full.errors()
                    .any(|f| f.kind == v.kind && f.cells == v.cells)
            }));
            // Undo: the neighbourhood is clean again.
            let undone = validator.replace(&s.cells[victim]).unwrap();
            assert!(
                undone.valid && undone.violations.is_empty(),
                "{}",
                undone.summary(5)
            );
        }
    }

    #[test]
    fn unknown_codes_are_refused() {
        let s = jittered_grid(4, 4, 2, 1);
        let (mut validator, _) = Validator::new(&s.cells, &s.parents, Options::default());
        let mut stranger = s.cells[0].clone();
        stranger.code = "520328999999001".into();
        assert!(validator.replace(&stranger).is_err());
    }
}
