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
/// no twin. Groups are paired one at a time so the hash map stays small and cache-resident; edges
/// go straight from the rings into the map (the map's key holds their coordinates), and only the
/// few that do not pair are built as [`Edge`]s.
pub(crate) fn pair_edges(prepared: &[Prepared], groups: &[Group]) -> Vec<Edge> {
    // Groups are independent: paired in parallel, each thread reusing its buffers.
    let per_group: Vec<Vec<Edge>> = groups
        .par_iter()
        .enumerate()
        .map_init(
            || (Vec::new(), PairingMap::default()),
            |(scratch, map), (g, group)| pair_group(prepared, g as u32, group, scratch, map),
        )
        .collect();
    per_group.concat()
}

/// Calls `f(a, b, owner)` for every directed edge the group's cells contribute.
fn each_edge(prepared: &[Prepared], g: u32, group: &Group, scratch: &mut Vec<Edge>, f: EdgeSink) {
    // Invalid children pair too: where one could hide its neighbours' overlap (it winds
    // negatively there), `diagnose::hotspots` sends the diagnosis to look.
    for &c in &group.children {
        let cell = &prepared[c];
        if cell.valid {
            for ring in cell.rings.iter().flatten().flatten() {
                for w in ring.windows(2).filter(|w| w[0] != w[1]) {
                    f(w[0], w[1], c as u32);
                }
            }
        } else {
            scratch.clear();
            push_rings(scratch, prepared, g, c, false);
            for e in scratch.iter() {
                f(e.a, e.b, c as u32);
            }
        }
    }
    if let Some(p) = group.parent {
        for ring in prepared[p].rings.iter().flatten().flatten() {
            for w in ring.windows(2).filter(|w| w[0] != w[1]) {
                f(w[1], w[0], p as u32);
            }
        }
    }
}

/// The pairing map's entry for one undirected edge: the cell that drew it each way, or one of
/// the two markers below.
#[derive(Clone, Copy)]
struct Owners {
    forward: u32,
    backward: u32,
}

/// No cell drew the edge this way.
const NONE: u32 = u32::MAX;
/// More than one cell drew it this way: two cells on one side.
const REPEATED: u32 = u32::MAX - 1;

/// Scratch space for pairing, reused between groups: undirected edge → its owners.
type PairingMap = FxHashMap<(PointKey, PointKey), Owners>;

/// Where the pairing is told of each directed edge: `(a, b, owner)`.
type EdgeSink<'a> = &'a mut dyn FnMut(Coord<f64>, Coord<f64>, u32);

/// The edges of one group (listed by `each`, which may be called twice) that do not meet exactly
/// one reversed twin from another owner, in a fixed order. One map entry per undirected edge,
/// with both directions in it, keeps this to one lookup per edge; the coordinates of the few
/// unpaired edges come back out of the map's keys.
fn unpaired(
    group: u32,
    parent: Option<u32>,
    size_hint: usize,
    map: &mut PairingMap,
    mut each: impl FnMut(EdgeSink),
) -> Vec<Edge> {
    map.clear();
    map.reserve(size_hint / 2 + 1);
    each(&mut |a, b, owner| {
        let (key, forward) = undirected(a, b);
        let owners = map.entry(key).or_insert(Owners {
            forward: NONE,
            backward: NONE,
        });
        let side = if forward {
            &mut owners.forward
        } else {
            &mut owners.backward
        };
        *side = if *side == NONE { owner } else { REPEATED };
    });
    let coord = |k: PointKey| Coord {
        x: f64::from_bits(k.0),
        y: f64::from_bits(k.1),
    };
    let edge = |owner: u32, a: PointKey, b: PointKey| Edge {
        group,
        owner,
        from_parent: parent == Some(owner),
        a: coord(a),
        b: coord(b),
    };
    let single = |x: u32| x != NONE && x != REPEATED;
    let mut leftover = Vec::new();
    let mut repeated = false;
    for (&(lo, hi), &Owners { forward, backward }) in map.iter() {
        if single(forward) && single(backward) && forward != backward {
            continue;
        }
        repeated |= forward == REPEATED || backward == REPEATED;
        if single(forward) {
            leftover.push(edge(forward, lo, hi));
        }
        if single(backward) {
            leftover.push(edge(backward, hi, lo));
        }
    }
    if repeated {
        // Rare: every edge drawn the same way as another is unpaired; find them all.
        each(&mut |a, b, owner| {
            let (key, forward) = undirected(a, b);
            let owners = map[&key];
            let side = if forward {
                owners.forward
            } else {
                owners.backward
            };
            if side == REPEATED {
                leftover.push(edge(owner, point_key(a), point_key(b)));
            }
        });
    }
    // A stable order, whatever the map's.
    leftover.sort_unstable_by_key(|e| (e.owner, point_key(e.a), point_key(e.b)));
    leftover
}

fn pair_group(
    prepared: &[Prepared],
    g: u32,
    group: &Group,
    scratch: &mut Vec<Edge>,
    map: &mut PairingMap,
) -> Vec<Edge> {
    let size: usize = group
        .children
        .iter()
        .chain(&group.parent)
        .flat_map(|&c| prepared[c].rings.iter().flatten().flatten())
        .map(|ring| ring.len())
        .sum();
    let parent = group.parent.map(|p| p as u32);
    unpaired(g, parent, size, map, |sink| {
        each_edge(prepared, g, group, scratch, sink)
    })
}

/// Appends the directed edges `cell` contributes to `group`: as drawn for a child, reversed for
/// the parent. An invalid child's back-and-forth edges (a spike, a ring collapsed to a line)
/// enclose nothing and cancel out, so they are dropped rather than left unpaired.
pub(crate) fn push_rings(
    edges: &mut Vec<Edge>,
    prepared: &[Prepared],
    group: u32,
    cell: usize,
    reverse: bool,
) {
    let Some(rings) = &prepared[cell].rings else {
        return;
    };
    let start = edges.len();
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
    if !reverse && !prepared[cell].valid {
        cancel_back_and_forth(edges, start);
    }
}

/// An edge as its undirected key (endpoints in key order) and whether it runs in that order.
fn undirected(a: Coord<f64>, b: Coord<f64>) -> ((PointKey, PointKey), bool) {
    let (a, b) = (point_key(a), point_key(b));
    if a <= b {
        ((a, b), true)
    } else {
        ((b, a), false)
    }
}

/// Removes from `edges[start..]` every pair a→b, b→a (one cell's own edges).
fn cancel_back_and_forth(edges: &mut Vec<Edge>, start: usize) {
    let own = &mut edges[start..];
    own.sort_by_key(|e| undirected(e.a, e.b).0);
    let keys: Vec<_> = own.iter().map(|e| undirected(e.a, e.b)).collect();
    let mut keep = vec![true; own.len()];
    let mut at = 0;
    for run in keys.chunk_by(|x, y| x.0 == y.0) {
        let range = at..at + run.len();
        at = range.end;
        let forward = range.clone().filter(|&i| keys[i].1);
        let backward = range.filter(|&i| !keys[i].1);
        for (f, b) in forward.zip(backward) {
            keep[f] = false;
            keep[b] = false;
        }
    }
    let mut k = 0;
    edges.retain(|_| {
        k += 1;
        k <= start || keep[k - 1 - start]
    });
}

/// The edges of `edges` that do not meet exactly one reversed twin from another owner.
pub fn unmatched(edges: Vec<Edge>) -> Vec<Edge> {
    let mut by_group: Vec<Edge> = edges;
    by_group.sort_by_key(|e| e.group);
    let mut out = Vec::new();
    let mut map = PairingMap::default();
    for chunk in by_group.chunk_by(|x, y| x.group == y.group) {
        let parent = chunk.iter().find(|e| e.from_parent).map(|e| e.owner);
        out.extend(unpaired(
            chunk[0].group,
            parent,
            chunk.len(),
            &mut map,
            |sink| {
                for e in chunk {
                    sink(e.a, e.b, e.owner);
                }
            },
        ));
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
