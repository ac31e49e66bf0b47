//! Edge pairing, the heart of the check: in an exact coverage every directed edge of a child meets
//! exactly one reversed twin — from a sibling, or from the parent's ring (reversed). Coordinates are
//! compared bit for bit, never snapped; whatever does not pair is left for `diagnose`.

use geo_types::Coord;
use rayon::prelude::*;
use rstar::{AABB, RTree};
use rustc_hash::FxHashMap;

use super::Prepared;
use crate::geometry::validity::signed_area;

/// Siblings under one parent (or the roots together, `parent: None`).
#[derive(Debug, Clone)]
pub struct Group {
    pub parent: Option<usize>,
    pub children: Vec<usize>,
}

/// A directed edge with the cell on its left. `owner` is an index into the prepared cells.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Edge {
    pub group: u32,
    pub owner: u32,
    pub from_parent: bool,
    pub a: Coord<f64>,
    pub b: Coord<f64>,
}

pub(crate) type PointKey = (u64, u64);

/// Bit pattern of a coordinate, with -0.0 folded into 0.0.
pub(crate) fn point_key(c: Coord<f64>) -> PointKey {
    ((c.x + 0.0).to_bits(), (c.y + 0.0).to_bits())
}

/// All directed edges of every group (children as drawn, the parent reversed) → those that found
/// no twin. Groups are paired one at a time so the hash map stays small and cache-resident.
pub(crate) fn pair_edges(prepared: &[Prepared], groups: &[Group]) -> Vec<Edge> {
    // Groups are independent: paired in parallel, each thread reusing its buffers.
    let per_group: Vec<Vec<Edge>> = groups
        .par_iter()
        .enumerate()
        .map_init(
            || (Vec::new(), FxHashMap::default()),
            |(edges, map), (g, group)| {
                edges.clear();
                // An invalid child's own edges could pair with its neighbours' around an overlap
                // they hide; leaving them out makes its whole neighbourhood a cluster for `diagnose`.
                for &c in group.children.iter().filter(|&&c| prepared[c].valid) {
                    push_rings(edges, prepared, g as u32, c, false);
                }
                if let Some(p) = group.parent {
                    push_rings(edges, prepared, g as u32, p, true);
                }
                let mut leftover = Vec::new();
                unmatched_into(edges, map, &mut leftover);
                leftover
            },
        )
        .collect();
    per_group.concat()
}

fn push_rings(
    edges: &mut Vec<Edge>,
    prepared: &[Prepared],
    group: u32,
    cell: usize,
    reverse: bool,
) {
    let Some(rings) = &prepared[cell].rings else {
        return;
    };
    for ring in rings.iter().flatten() {
        for w in ring.windows(2).filter(|w| w[0] != w[1]) {
            let (a, b) = if reverse { (w[1], w[0]) } else { (w[0], w[1]) };
            edges.push(Edge {
                group,
                owner: cell as u32,
                from_parent: reverse,
                a,
                b,
            });
        }
    }
}

/// Marker in the pairing map for a directed edge met more than once.
const REPEATED: u32 = u32::MAX;

/// Appends to `out` the edges of `edges` (one group) that do not meet exactly one reversed twin
/// from another owner. `map` is scratch space, reused between groups.
fn unmatched_into(
    edges: &[Edge],
    map: &mut FxHashMap<(PointKey, PointKey), u32>,
    out: &mut Vec<Edge>,
) {
    map.clear();
    map.reserve(edges.len());
    for (i, e) in edges.iter().enumerate() {
        map.entry((point_key(e.a), point_key(e.b)))
            .and_modify(|v| *v = REPEATED) // the same directed edge twice: two cells on one side
            .or_insert(i as u32);
    }
    for e in edges {
        let own = map.get(&(point_key(e.a), point_key(e.b))).copied();
        let twin = map.get(&(point_key(e.b), point_key(e.a))).copied();
        let paired = own != Some(REPEATED)
            && twin.is_some_and(|t| t != REPEATED && edges[t as usize].owner != e.owner);
        if !paired {
            out.push(*e);
        }
    }
}

/// The edges of `edges` that do not meet exactly one reversed twin from another owner.
pub fn unmatched(edges: Vec<Edge>) -> Vec<Edge> {
    let mut by_group: Vec<Edge> = edges;
    by_group.sort_by_key(|e| e.group);
    let mut out = Vec::new();
    let mut map = FxHashMap::default();
    for chunk in by_group.chunk_by(|x, y| x.group == y.group) {
        unmatched_into(chunk, &mut map, &mut out);
    }
    out
}

/// Splits unmatched edges at other unmatched edges' vertices lying on them (a T-junction: one
/// long edge against two shorter ones), then pairs again. What still does not pair is returned.
pub(crate) fn split_t_junctions(leftover: Vec<Edge>) -> Vec<Edge> {
    if leftover.is_empty() {
        return leftover;
    }
    let mut by_group: FxHashMap<u32, Vec<Edge>> = FxHashMap::default();
    for e in leftover {
        by_group.entry(e.group).or_default().push(e);
    }
    let mut groups: Vec<(u32, Vec<Edge>)> = by_group.into_iter().collect();
    groups.sort_by_key(|(g, _)| *g);
    let mut out = Vec::new();
    for (_, edges) in groups {
        let mut points: Vec<[f64; 2]> = edges
            .iter()
            .flat_map(|e| [[e.a.x, e.a.y], [e.b.x, e.b.y]])
            .collect();
        points.sort_by(|p, q| p[0].total_cmp(&q[0]).then(p[1].total_cmp(&q[1])));
        points.dedup();
        let tree = RTree::bulk_load(points);
        let mut split = Vec::with_capacity(edges.len());
        let mut changed = false;
        for e in &edges {
            let scale = e.a.x.abs().max(e.a.y.abs()).max(1.0);
            let tol = 1e-11 * scale;
            let envelope = AABB::from_corners(
                [e.a.x.min(e.b.x) - tol, e.a.y.min(e.b.y) - tol],
                [e.a.x.max(e.b.x) + tol, e.a.y.max(e.b.y) + tol],
            );
            let d = e.b - e.a;
            let length2 = d.x * d.x + d.y * d.y;
            let mut cuts: Vec<(f64, Coord<f64>)> = tree
                .locate_in_envelope_intersecting(&envelope)
                .map(|p| Coord { x: p[0], y: p[1] })
                .filter(|p| *p != e.a && *p != e.b)
                .filter_map(|p| {
                    let t = ((p.x - e.a.x) * d.x + (p.y - e.a.y) * d.y) / length2;
                    let foot = e.a + d * t;
                    let off = (p.x - foot.x).hypot(p.y - foot.y);
                    (t > 0.0 && t < 1.0 && off <= tol).then_some((t, p))
                })
                .collect();
            if cuts.is_empty() {
                split.push(*e);
                continue;
            }
            changed = true;
            cuts.sort_by(|x, y| x.0.total_cmp(&y.0));
            let mut from = e.a;
            for (_, p) in cuts {
                split.push(Edge {
                    a: from,
                    b: p,
                    ..*e
                });
                from = p;
            }
            split.push(Edge {
                a: from,
                b: e.b,
                ..*e
            });
        }
        if changed {
            out.extend(unmatched(split));
        } else {
            out.extend(split);
        }
    }
    out
}

/// In groups without a usable parent ring, the coverage's own outline is unmatched by nature:
/// drops closed counter-clockwise rings of leftover edges whose every vertex is simple (one edge in,
/// one out). What remains are gaps, overlaps and mismatches.
pub(crate) fn drop_outlines(
    leftover: Vec<Edge>,
    prepared: &[Prepared],
    groups: &[Group],
) -> Vec<Edge> {
    let outline_group = |g: u32| {
        groups[g as usize]
            .parent
            .is_none_or(|p| prepared[p].rings.is_none())
    };
    let mut degree: FxHashMap<(u32, PointKey), (u32, u32)> = FxHashMap::default();
    let mut next: FxHashMap<(u32, PointKey), usize> = FxHashMap::default();
    for (i, e) in leftover
        .iter()
        .enumerate()
        .filter(|(_, e)| outline_group(e.group))
    {
        degree.entry((e.group, point_key(e.a))).or_default().0 += 1;
        degree.entry((e.group, point_key(e.b))).or_default().1 += 1;
        next.insert((e.group, point_key(e.a)), i);
    }
    let simple = |g: u32, p: Coord<f64>| degree.get(&(g, point_key(p))) == Some(&(1, 1));
    let mut drop = vec![false; leftover.len()];
    let mut seen = vec![false; leftover.len()];
    for start in 0..leftover.len() {
        let e = leftover[start];
        if seen[start] || !outline_group(e.group) || !simple(e.group, e.a) {
            continue;
        }
        let mut ring = vec![start];
        seen[start] = true;
        let mut at = start;
        let closed = loop {
            let b = leftover[at].b;
            if !simple(e.group, b) {
                break false;
            }
            let Some(&n) = next.get(&(e.group, point_key(b))) else {
                break false;
            };
            if n == start {
                break true;
            }
            if seen[n] {
                break false;
            }
            seen[n] = true;
            ring.push(n);
            at = n;
        };
        if closed {
            let mut coords: Vec<Coord<f64>> = ring.iter().map(|&i| leftover[i].a).collect();
            coords.push(coords[0]);
            if signed_area(&coords) > 0.0 {
                for i in ring {
                    drop[i] = true;
                }
            }
        }
    }
    leftover
        .into_iter()
        .zip(drop)
        .filter(|(_, d)| !d)
        .map(|(e, _)| e)
        .collect()
}
