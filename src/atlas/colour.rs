//! Map colouring: adjacent cells (sharing an edge) get different colour indexes, at most five.
//! Greedy colouring in smallest-last order, repaired by Kempe-chain swaps when a sixth colour would
//! be needed (planar maps are always 5-colourable).

use std::collections::{BTreeMap, BTreeSet};

/// The five fill colours of the colour index (soft, printable, readable under black labels): the
/// one palette of the map style, the posters and the editor.
pub const PALETTE: [&str; 5] = ["#f7c9a9", "#b9d8f0", "#c8e6c1", "#e3cdef", "#f9eab0"];

/// Colours `n` nodes given undirected `edges`; returns a colour in 0..5 per node.
pub fn colour(n: usize, edges: &[(usize, usize)]) -> Vec<u8> {
    let mut adjacent: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
    for &(a, b) in edges {
        if a != b {
            adjacent[a].insert(b);
            adjacent[b].insert(a);
        }
    }
    // Smallest-last ordering: repeatedly remove a node of minimum remaining degree.
    let mut degree: Vec<usize> = adjacent.iter().map(BTreeSet::len).collect();
    let mut removed = vec![false; n];
    let mut order = Vec::with_capacity(n);
    let mut buckets: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    for (i, d) in degree.iter().enumerate() {
        buckets.entry(*d).or_default().insert(i);
    }
    while let Some((&d, _)) = buckets.iter().find(|(_, s)| !s.is_empty()) {
        let Some(&v) = buckets.get(&d).and_then(|s| s.iter().next()) else {
            break;
        };
        if let Some(s) = buckets.get_mut(&d) {
            s.remove(&v);
        }
        removed[v] = true;
        order.push(v);
        for &u in &adjacent[v] {
            if !removed[u] {
                if let Some(s) = buckets.get_mut(&degree[u]) {
                    s.remove(&u);
                }
                degree[u] -= 1;
                buckets.entry(degree[u]).or_default().insert(u);
            }
        }
    }
    let mut colours: Vec<Option<u8>> = vec![None; n];
    for &v in order.iter().rev() {
        let used: BTreeSet<u8> = adjacent[v].iter().filter_map(|&u| colours[u]).collect();
        let free = (0..5u8).find(|c| !used.contains(c));
        colours[v] = Some(match free {
            Some(c) => c,
            None => kempe_free_colour(v, &adjacent, &mut colours),
        });
    }
    colours.into_iter().map(|c| c.unwrap_or(0)).collect()
}

/// All five colours surround `v`: swap colours along a two-coloured chain to free one.
fn kempe_free_colour(v: usize, adjacent: &[BTreeSet<usize>], colours: &mut [Option<u8>]) -> u8 {
    for a in 0..5u8 {
        for b in (a + 1)..5u8 {
            let Some(&start) = adjacent[v].iter().find(|&&u| colours[u] == Some(a)) else {
                continue;
            };
            // The a/b chain from `start`.
            let mut chain = BTreeSet::from([start]);
            let mut stack = vec![start];
            while let Some(x) = stack.pop() {
                for &y in &adjacent[x] {
                    if (colours[y] == Some(a) || colours[y] == Some(b)) && chain.insert(y) {
                        stack.push(y);
                    }
                }
            }
            // Swapping must free `a` around v: no other a-neighbour outside the chain and no
            // b-neighbour inside it.
            let frees = adjacent[v].iter().all(|&u| match colours[u] {
                Some(c) if c == a => chain.contains(&u),
                Some(c) if c == b => !chain.contains(&u),
                _ => true,
            });
            if frees {
                for &x in &chain {
                    colours[x] = if colours[x] == Some(a) {
                        Some(b)
                    } else {
                        Some(a)
                    };
                }
                return a;
            }
        }
    }
    // Not reached for planar adjacency; fall back to the least used colour.
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wheel_and_a_grid_get_proper_colourings_within_five() {
        // A wheel of 7 around a hub, then an 8x8 king-move-free grid.
        let mut edges: Vec<(usize, usize)> = (1..8).map(|i| (0, i)).collect();
        edges.extend((1..8).map(|i| (i, i % 7 + 1)));
        let c = colour(8, &edges);
        assert!(edges.iter().all(|&(a, b)| c[a] != c[b]));
        assert!(c.iter().all(|&x| x < 5));
        let mut grid = Vec::new();
        for y in 0..8 {
            for x in 0..8 {
                if x < 7 {
                    grid.push((y * 8 + x, y * 8 + x + 1));
                }
                if y < 7 {
                    grid.push((y * 8 + x, (y + 1) * 8 + x));
                }
            }
        }
        let c = colour(64, &grid);
        assert!(grid.iter().all(|&(a, b)| c[a] != c[b]));
    }
}
