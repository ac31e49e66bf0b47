//! One revision of the atlas in memory, and point location on it.

use std::collections::HashMap;

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

type Entry = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// An immutable snapshot: build once, share behind an `Arc`, never mutate.
pub struct Atlas {
    pub revision: i32,
    cells: Vec<AtlasCell>,
    by_code: HashMap<String, usize>,
    /// One R-tree per level, so a point finds its finest cell first.
    trees: Vec<RTree<Entry>>,
    /// The hot path of point location: buckets over the finest level, rings flat.
    locator: Locator,
    /// Neighbours and colours, computed on first use (a commit's snapshot swap does not wait).
    topology: std::sync::OnceLock<super::topology::Topology>,
}

/// Where a point fell: the chain from the top level down, and how close the finest cell's
/// boundary is.
#[derive(Debug, Clone)]
pub struct Located<'a> {
    pub chain: Vec<&'a AtlasCell>,
    pub boundary_distance_m: f64,
}

impl Atlas {
    /// An empty atlas (revision 0), for a server whose database has no cells yet.
    pub fn empty() -> Atlas {
        Atlas::new(0, Vec::new())
    }

    pub fn new(revision: i32, cells: Vec<Cell>) -> Atlas {
        let by_code: HashMap<String, usize> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| (c.code.to_string(), i))
            .collect();
        let cells: Vec<AtlasCell> = cells
            .into_iter()
            .map(|c| AtlasCell {
                parent: c
                    .parent
                    .as_ref()
                    .and_then(|p| by_code.get(p.as_str()).copied()),
                code: c.code.to_string(),
                name: c.name,
                level: c.level,
                kind: c.kind.as_str().to_string(),
                geometry: c.geometry,
                attributes: c.attributes,
                parsed: (c.code, c.kind),
            })
            .collect();
        let max_level = cells.iter().map(|c| c.level as usize).max().unwrap_or(0);
        let mut per_level: Vec<Vec<Entry>> = vec![Vec::new(); max_level + 1];
        for (i, cell) in cells.iter().enumerate() {
            if let Some(rect) = cell.geometry.bounding_rect() {
                let envelope = Rectangle::from_corners(
                    [rect.min().x, rect.min().y],
                    [rect.max().x, rect.max().y],
                );
                per_level[cell.level as usize].push(GeomWithData::new(envelope, i as u32));
            }
        }
        let trees: Vec<RTree<Entry>> = per_level.into_iter().map(RTree::bulk_load).collect();
        let finest = trees.iter().rposition(|t| t.size() > 0).unwrap_or(0);
        let locator = Locator::build(
            cells
                .iter()
                .map(|c| (c.level as usize, c.parent, &c.geometry)),
            finest,
        );
        Atlas {
            revision,
            cells,
            by_code,
            trees,
            locator,
            topology: std::sync::OnceLock::new(),
        }
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

    pub fn cells(&self) -> &[AtlasCell] {
        &self.cells
    }

    pub fn get(&self, code: &str) -> Option<&AtlasCell> {
        self.by_code.get(code).map(|&i| &self.cells[i])
    }

    /// A snapshot cell back as a domain `Cell` (what a draft starts from and a commit rewrites).
    pub fn cell(&self, code: &str) -> Option<Cell> {
        self.get(code).map(|c| self.to_cell(c))
    }

    /// Every cell of the snapshot as a domain `Cell`, in snapshot order.
    pub fn to_cells(&self) -> Vec<Cell> {
        self.cells.iter().map(|c| self.to_cell(c)).collect()
    }

    fn to_cell(&self, c: &AtlasCell) -> Cell {
        let (code, kind) = c.parsed.clone();
        Cell {
            // A parent is always the code's prefix (a rule the store enforces).
            parent: (c.level > 0).then(|| code.parent_code()).flatten(),
            code,
            level: c.level,
            kind,
            name: c.name.clone(),
            geometry: c.geometry.clone(),
            attributes: c.attributes.clone(),
        }
    }

    /// `cell` and its ancestors, finest first: the one walk up the tree.
    pub fn chain<'a>(&'a self, cell: &'a AtlasCell) -> impl Iterator<Item = &'a AtlasCell> + 'a {
        std::iter::successors(Some(cell), move |c| c.parent.map(|p| &self.cells[p]))
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
        let mut chain: Vec<&AtlasCell> = Vec::with_capacity(6);
        chain.push(&self.cells[finest]);
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
    use crate::domain::cell::CellKind;
    use crate::domain::code::CellCode;
    use crate::geometry::coverage::synthetic::jittered_grid;
    use geo_types::{LineString, Polygon};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn synthetic_atlas(seed: u64) -> Atlas {
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
        Atlas::new(1, cells)
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
            let grids: Vec<&AtlasCell> = atlas.cells().iter().filter(|c| c.level == 3).collect();
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
