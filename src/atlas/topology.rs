//! The snapshot's topology, computed once per snapshot (on first use) and shared by everything
//! that needs it: which cells of a level share an edge, and the colour index that keeps
//! neighbours apart. Tiles, posters, 四至 and the editor read it here instead of each pairing
//! edges again.

use std::collections::HashMap;

use super::AtlasCell;
use super::colour::colour;
use crate::geometry::coverage::edges::point_key;

type LevelEdge = (u8, (u64, u64), (u64, u64));

/// Neighbours (same level, a shared edge) and colours, by snapshot index.
#[derive(Debug, Clone, Default)]
pub struct Topology {
    /// Each cell's neighbours, sorted.
    pub neighbours: Vec<Vec<u32>>,
    /// Each cell's colour index in `0..PALETTE.len()`; neighbours always differ.
    pub colours: Vec<u8>,
}

impl Topology {
    /// Pairs the undirected edges of every ring per level: two owners of one edge are neighbours.
    /// Shared vertices are bit-identical in an exact coverage, so edges are keyed by their bits.
    pub fn of(cells: &[std::sync::Arc<AtlasCell>]) -> Topology {
        let mut by_edge: HashMap<LevelEdge, Vec<u32>> = HashMap::new();
        for (i, cell) in cells.iter().enumerate() {
            for polygon in &cell.geometry.0 {
                for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
                    for w in ring.0.windows(2) {
                        let (a, b) = (point_key(w[0]), point_key(w[1]));
                        let key = if a < b {
                            (cell.level, a, b)
                        } else {
                            (cell.level, b, a)
                        };
                        by_edge.entry(key).or_default().push(i as u32);
                    }
                }
            }
        }
        let mut pairs: Vec<(usize, usize)> = by_edge
            .values()
            .filter(|owners| owners.len() == 2 && owners[0] != owners[1])
            .map(|o| (o[0].min(o[1]) as usize, o[0].max(o[1]) as usize))
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        let mut neighbours = vec![Vec::new(); cells.len()];
        for &(a, b) in &pairs {
            neighbours[a].push(b as u32);
            neighbours[b].push(a as u32);
        }
        for list in &mut neighbours {
            list.sort_unstable();
        }
        Topology {
            colours: colour(cells.len(), &pairs),
            neighbours,
        }
    }
}
