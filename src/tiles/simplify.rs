//! Simplification per zoom without cracks: the boundary network of one level is cut into arcs
//! between nodes (vertices where three or more cells meet, or where the outline turns into a
//! shared border), each arc is simplified once (Douglas–Peucker, ends fixed), and both neighbours
//! use that same simplified arc — so the cells still share every edge exactly at every zoom.

use std::collections::HashMap;

use geo::Simplify;
use geo_types::{Coord, LineString, MultiPolygon, Polygon};

type Key = (u64, u64);

fn key(c: Coord<f64>) -> Key {
    ((c.x + 0.0).to_bits(), (c.y + 0.0).to_bits())
}

/// An arc's identity whichever way it is walked: its ends and second point, canonically ordered.
fn arc_id(points: &[Coord<f64>]) -> (bool, (Key, Key, Key, Key)) {
    let forward = (
        key(points[0]),
        key(points[1]),
        key(points[points.len() - 2]),
        key(points[points.len() - 1]),
    );
    let n = points.len();
    let backward = (
        key(points[n - 1]),
        key(points[n - 2]),
        key(points[1]),
        key(points[0]),
    );
    if forward <= backward {
        (true, forward)
    } else {
        (false, backward)
    }
}

/// Simplifies `shapes` (one level of an exact coverage) with `tolerance`; rings that would
/// collapse keep their original arcs, and so do their neighbours.
pub fn simplify_coverage(shapes: &[&MultiPolygon<f64>], tolerance: f64) -> Vec<MultiPolygon<f64>> {
    // Degree of every vertex in the undirected edge graph.
    let mut neighbours: HashMap<Key, Vec<Key>> = HashMap::new();
    for shape in shapes {
        for ring in shape
            .0
            .iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        {
            for w in ring.0.windows(2) {
                let (a, b) = (key(w[0]), key(w[1]));
                if a == b {
                    continue;
                }
                for (x, y) in [(a, b), (b, a)] {
                    let list = neighbours.entry(x).or_default();
                    if !list.contains(&y) {
                        list.push(y);
                    }
                }
            }
        }
    }
    let is_node = |c: Coord<f64>| neighbours.get(&key(c)).is_none_or(|n| n.len() != 2);

    // Cut every ring into arcs.
    struct RingArcs {
        arcs: Vec<(bool, (Key, Key, Key, Key))>,
    }
    let mut originals: HashMap<(Key, Key, Key, Key), Vec<Coord<f64>>> = HashMap::new();
    let mut rings: Vec<Vec<Vec<RingArcs>>> = Vec::new();
    for shape in shapes {
        let mut polygons = Vec::new();
        for polygon in &shape.0 {
            let mut out = Vec::new();
            for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
                let mut points: Vec<Coord<f64>> = ring.0.clone();
                points.dedup();
                if points.len() < 4 {
                    out.push(RingArcs { arcs: Vec::new() });
                    continue;
                }
                points.pop();
                // Start at a node; a ring without any starts at its smallest vertex.
                let start = points.iter().position(|c| is_node(*c)).unwrap_or_else(|| {
                    (0..points.len())
                        .min_by_key(|&i| key(points[i]))
                        .unwrap_or(0)
                });
                points.rotate_left(start);
                points.push(points[0]);
                let mut arcs = Vec::new();
                let mut from = 0;
                for i in 1..points.len() {
                    if i == points.len() - 1 || is_node(points[i]) {
                        let arc = &points[from..=i];
                        let (forward, id) = arc_id(arc);
                        originals.entry(id).or_insert_with(|| {
                            if forward {
                                arc.to_vec()
                            } else {
                                arc.iter().rev().copied().collect()
                            }
                        });
                        arcs.push((forward, id));
                        from = i;
                    }
                }
                out.push(RingArcs { arcs });
            }
            polygons.push(out);
        }
        rings.push(polygons);
    }

    // Simplify each arc once.
    let mut simplified: HashMap<(Key, Key, Key, Key), Vec<Coord<f64>>> = originals
        .iter()
        .map(|(id, points)| (*id, LineString(points.clone()).simplify(tolerance).0))
        .collect();
    let assemble = |arcs: &RingArcs,
                    table: &HashMap<(Key, Key, Key, Key), Vec<Coord<f64>>>|
     -> Vec<Coord<f64>> {
        let mut ring: Vec<Coord<f64>> = Vec::new();
        for (forward, id) in &arcs.arcs {
            let points = &table[id];
            let walk: Vec<Coord<f64>> = if *forward {
                points.clone()
            } else {
                points.iter().rev().copied().collect()
            };
            if ring.is_empty() {
                ring.extend(walk);
            } else {
                ring.extend(walk.into_iter().skip(1));
            }
        }
        ring
    };
    // Rings that collapse get their arcs back, everywhere those arcs are used.
    loop {
        let mut restored = false;
        for polygon in rings.iter().flatten() {
            for ring in polygon {
                if ring.arcs.is_empty() {
                    continue;
                }
                let points = assemble(ring, &simplified);
                let distinct = points.len().saturating_sub(1);
                if distinct < 3 || crate::geometry::validity::signed_area(&points) == 0.0 {
                    for (_, id) in &ring.arcs {
                        if simplified[id] != originals[id] {
                            simplified.insert(*id, originals[id].clone());
                            restored = true;
                        }
                    }
                }
            }
        }
        if !restored {
            break;
        }
    }
    shapes
        .iter()
        .zip(&rings)
        .map(|(shape, polygons)| {
            MultiPolygon(
                shape
                    .0
                    .iter()
                    .zip(polygons)
                    .map(|(original, arcs)| {
                        let mut built: Vec<LineString<f64>> = arcs
                            .iter()
                            .zip(std::iter::once(original.exterior()).chain(original.interiors()))
                            .map(|(a, fallback)| {
                                if a.arcs.is_empty() {
                                    fallback.clone()
                                } else {
                                    LineString(assemble(a, &simplified))
                                }
                            })
                            .collect();
                        let exterior = built.remove(0);
                        Polygon::new(exterior, built)
                    })
                    .collect(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::coverage::synthetic::jittered_grid;
    use crate::geometry::coverage::{CodeRules, CoverageCell, Options, validate};

    #[test]
    fn simplified_neighbours_still_share_every_edge() {
        // A fine lattice seen from far away: parents (10x10 cells each) simplified heavily.
        let s = jittered_grid(40, 40, 10, 9);
        let shapes: Vec<MultiPolygon<f64>> = s
            .parents
            .iter()
            .map(|c| {
                MultiPolygon(vec![Polygon::new(
                    LineString(c.polygons[0][0].clone()),
                    vec![],
                )])
            })
            .collect();
        let refs: Vec<&MultiPolygon<f64>> = shapes.iter().collect();
        let before: usize = shapes.iter().map(|m| m.0[0].exterior().0.len()).sum();
        let simple = simplify_coverage(&refs, 0.002);
        let after: usize = simple.iter().map(|m| m.0[0].exterior().0.len()).sum();
        assert!(after * 2 < before, "{before} → {after}");
        let cells: Vec<CoverageCell> = simple
            .iter()
            .enumerate()
            .map(|(i, m)| CoverageCell::from_multipolygon(&format!("p{i}"), None, None, m))
            .collect();
        let options = Options {
            code_rules: CodeRules::Free,
            sliver_width_m: 0.0,
            ..Options::default()
        };
        let report = validate(&cells, &[], &options);
        let cracks = report
            .violations
            .iter()
            .filter(|v| matches!(v.kind.as_str(), "gap" | "overlap" | "edge_mismatch"))
            .count();
        assert_eq!(cracks, 0, "{}", report.summary(5));
    }
}
