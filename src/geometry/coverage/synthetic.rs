//! Synthetic exact coverages for tests and benchmarks: a jittered lattice of square-ish cells,
//! grouped into parents of `block × block` cells, every shared vertex identical, every parent ring
//! running through all lattice vertices of its border. Codes follow gridmap's scheme.

use geo_types::Coord;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::CoverageCell;

/// A synthetic coverage: `parents` (level 2) and their `cells` (level 3).
pub struct Synthetic {
    pub parents: Vec<CoverageCell>,
    pub cells: Vec<CoverageCell>,
    /// Cells per row and column.
    pub nx: usize,
    pub ny: usize,
}

/// `nx × ny` cells of about 100 m near 湄潭, in parents of `block × block` cells.
pub fn jittered_grid(nx: usize, ny: usize, block: usize, seed: u64) -> Synthetic {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let step = 0.001; // degrees, about 100 m
    let mut vertex = vec![Coord { x: 0.0, y: 0.0 }; (nx + 1) * (ny + 1)];
    for j in 0..=ny {
        for i in 0..=nx {
            let (dx, dy) = (rng.random_range(-0.3..0.3), rng.random_range(-0.3..0.3));
            let x = 107.0 + (i as f64 + dx) * step;
            let y = 27.0 + (j as f64 + dy) * step;
            vertex[j * (nx + 1) + i] = Coord {
                x: (x * 1e7).round() / 1e7,
                y: (y * 1e7).round() / 1e7,
            };
        }
    }
    let at = |i: usize, j: usize| vertex[j * (nx + 1) + i];
    let (bx, by) = (nx.div_ceil(block), ny.div_ceil(block));
    let parent_code = |pi: usize, pj: usize| format!("520328{:06}", pj * bx + pi + 1);
    let mut cells = Vec::with_capacity(nx * ny);
    let mut sequence = vec![0usize; bx * by];
    for j in 0..ny {
        for i in 0..nx {
            let (pi, pj) = (i / block, j / block);
            sequence[pj * bx + pi] += 1;
            let ring = vec![
                at(i, j),
                at(i + 1, j),
                at(i + 1, j + 1),
                at(i, j + 1),
                at(i, j),
            ];
            let parent = parent_code(pi, pj);
            cells.push(CoverageCell {
                code: format!("{parent}{:03}", sequence[pj * bx + pi]),
                level: Some(3),
                parent: Some(parent),
                polygons: vec![vec![ring]],
                geometry_note: None,
                feature: cells.len(),
            });
        }
    }
    let mut parents = Vec::with_capacity(bx * by);
    for pj in 0..by {
        for pi in 0..bx {
            let (i0, j0) = (pi * block, pj * block);
            let (i1, j1) = ((i0 + block).min(nx), (j0 + block).min(ny));
            let mut ring = Vec::new();
            ring.extend((i0..i1).map(|i| at(i, j0)));
            ring.extend((j0..j1).map(|j| at(i1, j)));
            ring.extend((i0 + 1..=i1).rev().map(|i| at(i, j1)));
            ring.extend((j0 + 1..=j1).rev().map(|j| at(i0, j)));
            ring.push(ring[0]);
            parents.push(CoverageCell {
                code: parent_code(pi, pj),
                level: Some(2),
                parent: None,
                polygons: vec![vec![ring]],
                geometry_note: None,
                feature: parents.len(),
            });
        }
    }
    Synthetic {
        parents,
        cells,
        nx,
        ny,
    }
}

/// Moves one vertex of one cell only (its neighbours keep theirs) by `offset` degrees: the
/// smallest fault an exact coverage can have.
pub fn nudge_vertex(cell: &mut CoverageCell, vertex: usize, offset: Coord<f64>) {
    let ring = &mut cell.polygons[0][0];
    let last = ring.len() - 1;
    let k = vertex % last;
    ring[k] = ring[k] + offset;
    if k == 0 {
        ring[last] = ring[0];
    }
}
