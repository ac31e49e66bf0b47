//! One revision of the atlas in memory, and point location on it.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};

use geo::BoundingRect;
use geo_types::{Coord, MultiPolygon};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

use super::locator::Locator;
use crate::domain::cell::{Cell, CellKind};
use crate::domain::code::CellCode;
use crate::geometry::point_in::{distance_to_boundary_m, multipolygon_contains};

/// A cell as the snapshot holds it.
#[derive(Debug, Clone)]
pub struct AtlasCell {
    pub code: String,
    pub name: String,
    pub level: u8,
    pub kind: String,
    pub parent: Option<usize>,
    pub geometry: MultiPolygon<f64>,
    /// Free attributes of the row, kept so a draft can rewrite the cell without losing them.
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// The code and kind as parsed when the snapshot was built, so a cell is never re-parsed
    /// (and never silently dropped) on its way back out.
    parsed: (CellCode, CellKind),
}

impl AtlasCell {
    fn of(c: Cell, parent: Option<usize>) -> AtlasCell {
        AtlasCell {
            parent,
            code: c.code.to_string(),
            name: c.name,
            level: c.level,
            kind: c.kind.as_str().to_string(),
            geometry: c.geometry,
            attributes: c.attributes,
            parsed: (c.code, c.kind),
        }
    }

    /// The cell back as a domain `Cell`.
    pub fn to_cell(&self) -> Cell {
        let (code, kind) = self.parsed.clone();
        Cell {
            // A parent is always the code's prefix (a rule the store enforces).
            parent: (self.level > 0).then(|| code.parent_code()).flatten(),
            code,
            level: self.level,
            kind,
            name: self.name.clone(),
            geometry: self.geometry.clone(),
            attributes: self.attributes.clone(),
        }
    }
}

type Entry = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// One R-tree of cell boxes per level.
fn trees(cells: &[Arc<AtlasCell>]) -> Vec<RTree<Entry>> {
    let max_level = cells.iter().map(|c| c.level as usize).max().unwrap_or(0);
    let mut per_level: Vec<Vec<Entry>> = vec![Vec::new(); max_level + 1];
    for (i, cell) in cells.iter().enumerate() {
        if let Some(rect) = cell.geometry.bounding_rect() {
            let envelope =
                Rectangle::from_corners([rect.min().x, rect.min().y], [rect.max().x, rect.max().y]);
            per_level[cell.level as usize].push(GeomWithData::new(envelope, i as u32));
        }
    }
    per_level.into_iter().map(RTree::bulk_load).collect()
}

/// The locator over the finest level that has cells.
fn locator(cells: &[Arc<AtlasCell>], trees: &[RTree<Entry>]) -> Locator {
    let finest = trees.iter().rposition(|t| t.size() > 0).unwrap_or(0);
    Locator::build(
        cells
            .iter()
            .map(|c| (c.level as usize, c.parent, &c.geometry)),
        finest,
    )
}

/// An immutable snapshot: build once, share behind an `Arc`, never mutate.
///
/// Cells, the code index, the R-trees, the locator and the topology are each behind an `Arc`,
/// so a revision that changes a few cells (`Atlas::apply`) shares everything else with the one
/// before: at a province's 200,000 cells, copying them for every commit cost more than the
/// commit's own writes.
pub struct Atlas {
    pub revision: i32,
    /// In `(level, code)` order, the order the store loads them in, so every node that builds
    /// a revision (from the store or by `apply`) numbers its cells alike and colours them alike.
    cells: Vec<Arc<AtlasCell>>,
    by_code: Arc<HashMap<String, usize>>,
    /// One R-tree per level, so a point finds its finest cell first.
    trees: Arc<Vec<RTree<Entry>>>,
    /// The hot path of point location: buckets over the finest level, rings flat.
    locator: Arc<Locator>,
    /// Neighbours and colours, computed on first use (a commit's snapshot swap does not wait),
    /// and shared with the next revision when it moves no boundary.
    topology: Arc<OnceLock<super::topology::Topology>>,
}

/// See `Atlas::shapes`: compared by identity, never by value.
#[derive(Clone)]
pub struct Shapes(Arc<Locator>, Arc<OnceLock<super::topology::Topology>>);

impl PartialEq for Shapes {
    fn eq(&self, other: &Shapes) -> bool {
        Arc::ptr_eq(&self.0, &other.0) && Arc::ptr_eq(&self.1, &other.1)
    }
}

/// Where a point fell: the chain from the top level down, and how close the finest cell's
/// boundary is.
#[derive(Debug, Clone)]
pub struct Located<'a> {
    /// Inline for up to six levels (a province has five): no allocation per point located.
    pub chain: smallvec::SmallVec<[&'a AtlasCell; 6]>,
    pub boundary_distance_m: f64,
}

impl Atlas {
    /// An empty atlas (revision 0), for a server whose database has no cells yet.
    pub fn empty() -> Atlas {
        Atlas::new(0, Vec::new())
    }

    /// Builds a snapshot from `cells`, put in `(level, code)` order.
    pub fn new(revision: i32, mut cells: Vec<Cell>) -> Atlas {
        cells.sort_by(|a, b| (a.level, a.code.as_str()).cmp(&(b.level, b.code.as_str())));
        let by_code: HashMap<String, usize> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| (c.code.to_string(), i))
            .collect();
        let cells: Vec<Arc<AtlasCell>> = cells
            .into_iter()
            .map(|c| {
                let parent = c
                    .parent
                    .as_ref()
                    .and_then(|p| by_code.get(p.as_str()).copied());
                Arc::new(AtlasCell::of(c, parent))
            })
            .collect();
        let trees = Arc::new(trees(&cells));
        Atlas {
            revision,
            locator: Arc::new(locator(&cells, &trees)),
            trees,
            cells,
            by_code: Arc::new(by_code),
            topology: Arc::new(OnceLock::new()),
        }
    }

    /// The next revision: this one with `put` written (new cells or replacing those of the same
    /// code) and `retired` removed. When the set of codes stays the same (renames, attributes,
    /// moved boundaries) the cells keep their numbers: unchanged cells and the code index are
    /// shared, and the R-trees, locator and topology too unless a boundary moved. A new or
    /// retired code renumbers, and everything but the unchanged cells' data is rebuilt.
    pub fn apply(&self, revision: i32, put: Vec<Cell>, retired: &[String]) -> Atlas {
        let same_codes =
            retired.is_empty() && put.iter().all(|c| self.index_of(c.code.as_str()).is_some());
        if !same_codes {
            let gone: HashSet<&str> = retired
                .iter()
                .map(String::as_str)
                .chain(put.iter().map(|c| c.code.as_str()))
                .collect();
            let mut cells: Vec<Cell> = self
                .cells
                .iter()
                .filter(|c| !gone.contains(c.code.as_str()))
                .map(|c| c.to_cell())
                .collect();
            cells.extend(put);
            return Atlas::new(revision, cells);
        }
        let mut cells = self.cells.clone();
        let mut moved = false;
        for cell in put {
            let i = self.by_code[cell.code.as_str()];
            let old = &self.cells[i];
            moved |= old.geometry != cell.geometry || old.level != cell.level;
            cells[i] = Arc::new(AtlasCell::of(cell, old.parent));
        }
        let (trees, locator, topology) = if moved {
            let trees = Arc::new(trees(&cells));
            (
                trees.clone(),
                Arc::new(locator(&cells, &trees)),
                Arc::new(OnceLock::new()),
            )
        } else {
            (
                self.trees.clone(),
                self.locator.clone(),
                self.topology.clone(),
            )
        };
        Atlas {
            revision,
            cells,
            by_code: self.by_code.clone(),
            trees,
            locator,
            topology,
        }
    }

    /// What the snapshot's shapes are, as an identity: two snapshots with equal `Shapes` have
    /// the same codes in the same order with the same geometry and colours (one was applied from
    /// the other, or both from a third, without moving a boundary). The tile source uses it to
    /// keep every projected, simplified shape across a commit that renames.
    pub fn shapes(&self) -> Shapes {
        Shapes(self.locator.clone(), self.topology.clone())
    }

    /// Which cells share an edge and the colour index, once per snapshot.
    pub fn topology(&self) -> &super::topology::Topology {
        self.topology
            .get_or_init(|| super::topology::Topology::of(&self.cells))
    }

    /// The colour index of cell `i` (neighbours differ).
    pub fn colour_of(&self, i: usize) -> u8 {
        self.topology().colours.get(i).copied().unwrap_or(0)
    }

    /// The snapshot index of `code`.
    pub fn index_of(&self, code: &str) -> Option<usize> {
        self.by_code.get(code).copied()
    }

    pub fn len(&self) -> usize {
        self.cells.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    pub fn cells(&self) -> &[Arc<AtlasCell>] {
        &self.cells
    }

    pub fn get(&self, code: &str) -> Option<&AtlasCell> {
        self.by_code.get(code).map(|&i| &*self.cells[i])
    }

    /// A snapshot cell back as a domain `Cell` (what a draft starts from and a commit rewrites).
    pub fn cell(&self, code: &str) -> Option<Cell> {
        self.get(code).map(AtlasCell::to_cell)
    }

    /// Every cell of the snapshot as a domain `Cell`, in snapshot order.
    pub fn to_cells(&self) -> Vec<Cell> {
        self.cells.iter().map(|c| c.to_cell()).collect()
    }

    /// `cell` and its ancestors, finest first: the one walk up the tree.
    pub fn chain<'a>(&'a self, cell: &'a AtlasCell) -> impl Iterator<Item = &'a AtlasCell> + 'a {
        std::iter::successors(Some(cell), move |c| c.parent.map(|p| &*self.cells[p]))
    }

    /// The ancestor of `cell` (or `cell` itself) at `level`.
    pub fn at_level<'a>(&'a self, cell: &'a AtlasCell, level: u8) -> Option<&'a AtlasCell> {
        self.chain(cell).find(|c| c.level == level)
    }

    /// The finest cell containing `p` (half-open rule, see `geometry::point_in`), or `None`.
    pub fn locate_index(&self, p: Coord<f64>) -> Option<usize> {
        match self.locator.locate(p) {
            Some(hit) => Some(hit.cell),
            None => self.locate_coarser(p),
        }
    }

    /// Not in the finest level: a coarser cell without children may still hold the point.
    fn locate_coarser(&self, p: Coord<f64>) -> Option<usize> {
        let probe = AABB::from_point([p.x, p.y]);
        for tree in self.trees[..self.locator.level].iter().rev() {
            for entry in tree.locate_in_envelope_intersecting(&probe) {
                let i = entry.data as usize;
                if multipolygon_contains(&self.cells[i].geometry, p) {
                    return Some(i);
                }
            }
        }
        None
    }

    /// The chain (top level first) of cells containing `p`.
    pub fn locate(&self, p: Coord<f64>) -> Option<Located<'_>> {
        let (finest, parent, boundary_distance_m) = match self.locator.locate(p) {
            Some(hit) => (
                hit.cell,
                hit.parent,
                self.locator.distance_to_boundary_m(&hit, p),
            ),
            None => {
                let i = self.locate_coarser(p)?;
                let cell = &self.cells[i];
                (i, cell.parent, distance_to_boundary_m(&cell.geometry, p))
            }
        };
        // The finest cell's parent came with the hit: its own record is not read here.
        let mut chain = smallvec::SmallVec::<[&AtlasCell; 6]>::new();
        chain.push(&*self.cells[finest]);
        chain.extend(parent.into_iter().flat_map(|p| self.chain(&self.cells[p])));
        chain.reverse();
        Some(Located {
            boundary_distance_m,
            chain,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn synthetic_atlas(seed: u64) -> Atlas {
        Atlas::new(1, super::tests_support::synthetic_cells(seed))
    }

    #[test]
    fn neighbours_are_same_level_cells_sharing_an_edge_and_never_share_a_colour() {
        let atlas = synthetic_atlas(7);
        let topology = atlas.topology();
        let mut pairs = 0;
        for (i, list) in topology.neighbours.iter().enumerate() {
            for &n in list {
                let (a, b) = (&atlas.cells()[i], &atlas.cells()[n as usize]);
                assert_eq!(a.level, b.level, "{} and {}", a.code, b.code);
                assert!(
                    topology.neighbours[n as usize].contains(&(i as u32)),
                    "neighbours are mutual"
                );
                assert_ne!(atlas.colour_of(i), atlas.colour_of(n as usize));
                assert!(atlas.colour_of(i) < 5);
                pairs += 1;
            }
        }
        // A jittered 10×10 lattice has 180 interior edges between grids, plus the villages'.
        assert!(pairs >= 2 * 180, "only {pairs} neighbour pairs found");
    }

    #[test]
    fn a_point_on_a_shared_edge_or_vertex_belongs_to_exactly_one_cell() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut tested = 0;
        for seed in 0..5 {
            let atlas = synthetic_atlas(seed);
            let grids: Vec<&AtlasCell> = atlas
                .cells()
                .iter()
                .filter(|c| c.level == 3)
                .map(|c| &**c)
                .collect();
            let edges_of = |c: &AtlasCell| -> Vec<(Coord<f64>, Coord<f64>)> {
                c.geometry.0[0]
                    .exterior()
                    .0
                    .windows(2)
                    .map(|w| (w[0], w[1]))
                    .collect()
            };
            let all: Vec<(Coord<f64>, Coord<f64>)> =
                grids.iter().flat_map(|g| edges_of(g)).collect();
            let is_shared = |a: Coord<f64>, b: Coord<f64>| all.contains(&(b, a));
            // A vertex is inside the coverage when every edge through it is shared.
            let interior_vertex = |v: Coord<f64>| {
                all.iter()
                    .filter(|(a, b)| *a == v || *b == v)
                    .all(|(a, b)| is_shared(*a, *b))
            };
            for _ in 0..2000 {
                let cell = grids[rng.random_range(0..grids.len())];
                let edges = edges_of(cell);
                let (a, b) = edges[rng.random_range(0..edges.len())];
                // Only edges another grid shares (reversed): the coverage's outline is not shared.
                if !is_shared(a, b) {
                    continue;
                }
                // Anywhere along the edge, or on its first vertex when that is inside the coverage.
                let t: f64 = if rng.random_bool(0.2) {
                    0.0
                } else {
                    rng.random_range(f64::MIN_POSITIVE..1.0)
                };
                if t == 0.0 && !interior_vertex(a) {
                    continue;
                }
                let p = a + (b - a) * t;
                let owners: Vec<&str> = grids
                    .iter()
                    .filter(|g| multipolygon_contains(&g.geometry, p))
                    .map(|g| g.code.as_str())
                    .collect();
                assert_eq!(owners.len(), 1, "{p:?} is in {owners:?}");
                let located = atlas.locate(p).unwrap();
                assert_eq!(located.chain.last().unwrap().code, owners[0]);
                assert_eq!(located.chain.len(), 2);
                assert!(located.boundary_distance_m < 1e-3);
                tested += 1;
            }
        }
        assert!(tested > 4000, "{tested}");
    }

    #[test]
    fn the_chain_runs_from_the_top_and_outside_points_find_nothing() {
        let atlas = synthetic_atlas(1);
        let grid = atlas.cells().iter().find(|c| c.level == 3).unwrap();
        let ring = &grid.geometry.0[0].exterior().0;
        let centre = (ring[0] + ring[1] + ring[2] + ring[3]) / 4.0;
        let located = atlas.locate(centre).unwrap();
        assert_eq!(located.chain.last().unwrap().code, grid.code);
        assert_eq!(located.chain[0].level, 2);
        assert!(grid.code.starts_with(&located.chain[0].code));
        assert!(located.boundary_distance_m > 10.0);
        assert!(atlas.locate(Coord { x: 0.0, y: 0.0 }).is_none());
        assert!(Atlas::empty().locate(centre).is_none());
    }
}

#[cfg(test)]
mod tests_support {
    use super::*;
    use crate::geometry::coverage::synthetic::jittered_grid;
    use geo_types::{LineString, Polygon};

    /// A jittered 10 × 10 lattice of grids (level 3) in its villages (level 2).
    pub(super) fn synthetic_cells(seed: u64) -> Vec<Cell> {
        let s = jittered_grid(10, 10, 5, seed);
        let to_cell = |c: &crate::geometry::coverage::CoverageCell, level: u8| Cell {
            code: CellCode::parse(&c.code).unwrap(),
            parent: c.parent.as_deref().map(|p| CellCode::parse(p).unwrap()),
            level,
            kind: CellKind::default_for_level(level),
            name: c.code.clone(),
            geometry: MultiPolygon(vec![Polygon::new(
                LineString(c.polygons[0][0].clone()),
                vec![],
            )]),
            attributes: Default::default(),
        };
        let mut cells: Vec<Cell> = s.parents.iter().map(|c| to_cell(c, 2)).collect();
        cells.extend(s.cells.iter().map(|c| to_cell(c, 3)));
        cells
    }
}

#[cfg(test)]
mod apply_tests {
    use super::tests_support::synthetic_cells;
    use super::*;

    /// What every node must agree on: the same cells in the same order, located alike and
    /// coloured alike, however the snapshot was built.
    fn assert_same(a: &Atlas, b: &Atlas) {
        assert_eq!(a.revision, b.revision);
        let codes = |x: &Atlas| x.cells().iter().map(|c| c.code.clone()).collect::<Vec<_>>();
        assert_eq!(codes(a), codes(b));
        for (x, y) in a.cells().iter().zip(b.cells()) {
            assert_eq!(x.name, y.name);
            assert_eq!(x.geometry, y.geometry);
            assert_eq!(x.parent, y.parent);
        }
        assert_eq!(a.topology().colours, b.topology().colours);
        assert_eq!(a.topology().neighbours, b.topology().neighbours);
        for i in 0..400 {
            // A 20 × 20 sweep over the lattice's 0.01° square, a little outside it too.
            let p = Coord {
                x: 107.0 + ((i % 20) as f64 - 0.5) * 0.000_55,
                y: 27.0 + ((i / 20) as f64 - 0.5) * 0.000_55,
            };
            assert_eq!(a.locate_index(p), b.locate_index(p), "{p:?}");
        }
    }

    #[test]
    fn a_snapshot_applied_from_the_last_one_equals_one_built_from_all_cells() {
        let cells = synthetic_cells(4);
        let base = Atlas::new(1, cells.clone());
        let grid = |n: usize| {
            cells
                .iter()
                .filter(|c| c.level == 3)
                .nth(n)
                .unwrap()
                .clone()
        };

        // Renamed: every part but the renamed cells is shared.
        let mut renamed = grid(3);
        renamed.name = "改名".into();
        let applied = base.apply(2, vec![renamed.clone()], &[]);
        let mut all = cells.clone();
        all.retain(|c| c.code != renamed.code);
        all.push(renamed.clone());
        assert_same(&applied, &Atlas::new(2, all));
        assert!(Arc::ptr_eq(&applied.locator, &base.locator));
        assert!(Arc::ptr_eq(&applied.topology, &base.topology));
        assert!(Arc::ptr_eq(&applied.cells[0], &base.cells[0]));

        // Two grids swap shapes: the geometry moved, so the indexes are rebuilt.
        let (mut a, mut b) = (grid(5), grid(6));
        std::mem::swap(&mut a.geometry, &mut b.geometry);
        let applied = base.apply(2, vec![a.clone(), b.clone()], &[]);
        let mut all = cells.clone();
        all.retain(|c| c.code != a.code && c.code != b.code);
        all.extend([a.clone(), b.clone()]);
        assert_same(&applied, &Atlas::new(2, all));
        assert!(!Arc::ptr_eq(&applied.locator, &base.locator));
        assert_eq!(
            applied.locate_index(centre(&a)),
            applied.index_of(a.code.as_str())
        );

        // One grid retired and its ground given to a new code: renumbered.
        let old = grid(8);
        let mut new = old.clone();
        new.code = CellCode::parse(&format!(
            "{}99",
            &old.code.as_str()[..old.code.as_str().len() - 2]
        ))
        .unwrap();
        let applied = base.apply(3, vec![new.clone()], &[old.code.to_string()]);
        let mut all = cells.clone();
        all.retain(|c| c.code != old.code);
        all.push(new.clone());
        assert_same(&applied, &Atlas::new(3, all));
        assert!(applied.get(old.code.as_str()).is_none());
        assert_eq!(
            applied.locate_index(centre(&new)),
            applied.index_of(new.code.as_str())
        );
    }

    fn centre(c: &Cell) -> Coord<f64> {
        let ring = &c.geometry.0[0].exterior().0;
        let n = (ring.len() - 1) as f64;
        ring[..ring.len() - 1]
            .iter()
            .fold(Coord { x: 0.0, y: 0.0 }, |s, p| s + *p / n)
    }
}
