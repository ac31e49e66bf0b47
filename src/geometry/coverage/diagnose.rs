//! Saying what is wrong where: the few leftover edges are clustered, and only around each cluster
//! are the cells clipped and compared with boolean ops (which may snap coordinates — acceptable for
//! drawing a finding, never used to decide whether edges match).

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};

use geo::algorithm::bool_ops::FillRule;
use geo::orient::{Direction, Orient};
use geo::{Area, BooleanOps, BoundingRect, GeodesicArea, Intersects, Length};
use geo::{Geodesic, unary_union};
use geo_types::{Coord, Geometry, Line, LineString, MultiLineString, MultiPolygon, Polygon, Rect};
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::Options;
use super::Prepared;
use super::edges::{Edge, Group, point_key};
use super::report::{Kind, Severity, Violation};
use crate::geometry::clip::clip_to_box;
use crate::geometry::validity::winding_region;

/// Below this, a polygon from the boolean ops is numerical noise, not a finding (1 mm²).
const MIN_AREA_M2: f64 = 1e-6;

/// A connected bunch of leftover edges in one group, or a hotspot (see [`hotspots`]).
struct Cluster {
    group: u32,
    edges: Vec<Edge>,
    bbox: [f64; 4],
    /// Whether every cell around may be at fault, not only the owners of `edges`: true at a
    /// hotspot, where cells whose edges all pair can still overlap or reach outside.
    everyone: bool,
}

/// A box of one group to diagnose although no leftover edge lies there.
pub(crate) type Hotspot = (u32, [f64; 4]);

/// Where the children of the groups `which` wind negatively (invalid cells only), optionally only
/// those touching `within`: the places where pairing alone proves nothing (see `super`). A group
/// whose parent is invalid is a hotspot as a whole: the parent's ring may wind twice somewhere,
/// and two children can overlap there with every edge paired.
pub(crate) fn hotspots(
    prepared: &[Prepared],
    groups: &[Group],
    which: impl IntoIterator<Item = u32>,
    within: Option<[f64; 4]>,
) -> Vec<Hotspot> {
    let touches =
        |b: &[f64; 4], c: &[f64; 4]| b[0] <= c[2] && c[0] <= b[2] && b[1] <= c[3] && c[1] <= b[3];
    let mut out = Vec::new();
    for g in which {
        let group = &groups[g as usize];
        if let Some(p) = group.parent
            && !prepared[p].valid
            && prepared[p].rings.is_some()
            && within.is_none_or(|w| touches(&prepared[p].bbox, &w))
        {
            out.push((g, prepared[p].bbox));
        }
        for &c in &group.children {
            for b in &prepared[c].negative {
                if within.is_none_or(|w| touches(b, &w)) {
                    out.push((g, *b));
                }
            }
        }
    }
    out
}

pub(crate) fn diagnose(
    prepared: &[Prepared],
    groups: &[Group],
    leftover: Vec<Edge>,
    hotspots: Vec<Hotspot>,
    options: &Options,
    violations: &mut Vec<Violation>,
) {
    // Clusters are examined independently, in parallel; results keep the clusters' order.
    let found: Vec<Vec<Violation>> = clusters(leftover, hotspots)
        .par_iter()
        .map(|cluster| {
            let group = &groups[cluster.group as usize];
            catch_unwind(AssertUnwindSafe(|| {
                examine(prepared, group, cluster, options)
            }))
            .unwrap_or_else(|_| {
                vec![mismatch(
                    prepared,
                    cluster,
                    None,
                    0.0,
                    "edges do not match (the local diagnosis failed on this input)",
                )]
            })
        })
        .collect();
    violations.extend(found.into_iter().flatten());
}

/// Union-find over shared endpoints, then merging of clusters (and hotspots) whose boxes touch.
fn clusters(leftover: Vec<Edge>, hotspots: Vec<Hotspot>) -> Vec<Cluster> {
    let n = leftover.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut at_point: FxHashMap<(u32, (u64, u64)), usize> = FxHashMap::default();
    for (i, e) in leftover.iter().enumerate() {
        for p in [e.a, e.b] {
            if let Some(&j) = at_point.get(&(e.group, point_key(p))) {
                let (ri, rj) = (find(&mut parent, i), find(&mut parent, j));
                parent[ri] = rj;
            } else {
                at_point.insert((e.group, point_key(p)), i);
            }
        }
    }
    let mut by_root: FxHashMap<usize, Vec<Edge>> = FxHashMap::default();
    for (i, edge) in leftover.iter().enumerate() {
        let r = find(&mut parent, i);
        by_root.entry(r).or_default().push(*edge);
    }
    let mut clusters: Vec<Cluster> = by_root
        .into_values()
        .map(|edges| {
            let mut bbox = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
            for e in &edges {
                for p in [e.a, e.b] {
                    bbox = [
                        bbox[0].min(p.x),
                        bbox[1].min(p.y),
                        bbox[2].max(p.x),
                        bbox[3].max(p.y),
                    ];
                }
            }
            Cluster {
                group: edges[0].group,
                edges,
                bbox,
                everyone: false,
            }
        })
        .collect();
    clusters.extend(hotspots.into_iter().map(|(group, bbox)| Cluster {
        group,
        edges: Vec::new(),
        bbox,
        everyone: true,
    }));
    // Crossing edges need not share endpoints: merge clusters of one group whose boxes overlap.
    clusters.sort_by(|a, b| a.group.cmp(&b.group).then(a.bbox[0].total_cmp(&b.bbox[0])));
    let mut merged: Vec<Cluster> = Vec::new();
    for c in clusters {
        let hit = merged.iter_mut().rev().take(64).find(|m| {
            m.group == c.group
                && m.bbox[0] <= c.bbox[2]
                && c.bbox[0] <= m.bbox[2]
                && m.bbox[1] <= c.bbox[3]
                && c.bbox[1] <= m.bbox[3]
        });
        match hit {
            Some(m) => {
                m.bbox = [
                    m.bbox[0].min(c.bbox[0]),
                    m.bbox[1].min(c.bbox[1]),
                    m.bbox[2].max(c.bbox[2]),
                    m.bbox[3].max(c.bbox[3]),
                ];
                m.edges.extend(c.edges);
                m.everyone |= c.everyone;
            }
            None => merged.push(c),
        }
    }
    merged.sort_by(|a, b| {
        a.group
            .cmp(&b.group)
            .then(a.bbox[0].total_cmp(&b.bbox[0]))
            .then(a.bbox[1].total_cmp(&b.bbox[1]))
    });
    merged
}

/// Surface of the WGS84/CGCS2000 ellipsoid: a "geodesic area" above half of it is the
/// complement of a tiny polygon whose orientation the ellipsoidal computation read the other way.
const EARTH_M2: f64 = 510_065_621_724_088.5;

fn area_m2(shape: &MultiPolygon<f64>, options: &Options) -> f64 {
    if options.geographic {
        // Tiny slivers: the geodesic computation loses them in rounding; measure them locally.
        let planar = local_area_m2(shape);
        if planar < 1.0e6 {
            return planar;
        }
        let area = shape.geodesic_area_unsigned();
        if area > EARTH_M2 / 2.0 {
            EARTH_M2 - area
        } else {
            area
        }
    } else {
        shape.unsigned_area()
    }
}

/// Planar area in metres around the shape's latitude (exact enough below a square kilometre).
fn local_area_m2(shape: &MultiPolygon<f64>) -> f64 {
    let Some(rect) = shape.bounding_rect() else {
        return 0.0;
    };
    let lat = ((rect.min().y + rect.max().y) / 2.0).to_radians();
    shape.unsigned_area() * 111_320.0 * lat.cos() * 110_574.0
}

fn perimeter_m(polygon: &Polygon<f64>, options: &Options) -> f64 {
    std::iter::once(polygon.exterior())
        .chain(polygon.interiors())
        .map(|ring| {
            if options.geographic {
                Geodesic.length(ring)
            } else {
                geo::Euclidean.length(ring)
            }
        })
        .sum()
}

fn examine(
    prepared: &[Prepared],
    group: &Group,
    cluster: &Cluster,
    options: &Options,
) -> Vec<Violation> {
    let [x0, y0, x1, y1] = cluster.bbox;
    let margin = (x1 - x0).max(y1 - y0) * 0.05 + 1e-9;
    let clip = Rect::new(
        Coord {
            x: x0 - margin,
            y: y0 - margin,
        },
        Coord {
            x: x1 + margin,
            y: y1 + margin,
        },
    );
    let clip_polygon = MultiPolygon(vec![clip.to_polygon()]);
    // Inputs are cut to a box three times wider, results to the cluster's box: cutting leaves
    // numerical crumbs only along the outer box, which the result clip throws away.
    let outer = 3.0 * margin + (x1 - x0).max(y1 - y0);
    let (ox0, oy0, ox1, oy1) = (x0 - outer, y0 - outer, x1 + outer, y1 + outer);
    let cut = |shape: &MultiPolygon<f64>| -> MultiPolygon<f64> {
        let inside = shape.bounding_rect().is_some_and(|r| {
            r.min().x >= ox0 && r.max().x <= ox1 && r.min().y >= oy0 && r.max().y <= oy1
        });
        if inside {
            shape.clone()
        } else {
            clip_to_box(shape, [ox0, oy0, ox1, oy1])
        }
    };
    let clipped = |shape: MultiPolygon<f64>| shape.intersection(&clip_polygon).0;
    let mut owners: BTreeSet<usize> = cluster
        .edges
        .iter()
        .filter(|e| !e.from_parent)
        .map(|e| e.owner as usize)
        .collect();

    let local: Vec<(usize, MultiPolygon<f64>)> = group
        .children
        .iter()
        .copied()
        .filter(|&c| {
            let b = prepared[c].bbox;
            b[0] <= clip.max().x
                && clip.min().x <= b[2]
                && b[1] <= clip.max().y
                && clip.min().y <= b[3]
        })
        .filter_map(|c| match prepared[c].geometry() {
            Some(g) => Some((c, cut(&g))),
            // An invalid cell still takes part, repaired by the boolean engine's fill rule, so
            // it cannot hide an overlap next to it.
            None => prepared[c]
                .shape()
                .and_then(|g| repaired(cut(&g)))
                .map(|g| (c, g)),
        })
        .collect();
    // A hotspot lies on an invalid cell by construction, even if its stand-in failed.
    let involved_invalid = cluster.everyone || local.iter().any(|(c, _)| !prepared[*c].valid);
    if cluster.everyone {
        owners.extend(local.iter().map(|(c, _)| *c));
    }

    let mut areas: Vec<(Kind, Vec<String>, Polygon<f64>)> = Vec::new();
    for (i, (a, shape_a)) in local.iter().enumerate() {
        for (b, shape_b) in &local[i + 1..] {
            if let (Some(ra), Some(rb)) = (shape_a.bounding_rect(), shape_b.bounding_rect())
                && !ra.intersects(&rb)
            {
                continue;
            }
            for polygon in clipped(shape_a.intersection(shape_b)) {
                let codes = vec![prepared[*a].code.to_string(), prepared[*b].code.to_string()];
                areas.push((Kind::Overlap, codes, polygon));
            }
        }
    }
    let union = unary_union(local.iter().map(|(_, p)| p));
    let owner_codes: Vec<String> = owners
        .iter()
        .map(|&o| prepared[o].code.to_string())
        .collect();
    let parent_geometry = group
        .parent
        .and_then(|p| prepared[p].geometry().map(|g| (p, cut(&g))));
    match &parent_geometry {
        Some((p, parent)) => {
            if !involved_invalid {
                for polygon in clipped(parent.difference(&union)) {
                    let mut cells = owner_codes.clone();
                    cells.push(prepared[*p].code.to_string());
                    areas.push((Kind::Gap, cells, polygon));
                }
            }
            for (c, shape) in local.iter().filter(|(c, _)| owners.contains(c)) {
                for polygon in clipped(shape.difference(parent)) {
                    areas.push((
                        Kind::OutsideParent,
                        vec![prepared[*c].code.to_string(), prepared[*p].code.to_string()],
                        polygon,
                    ));
                }
            }
        }
        None if !involved_invalid => {
            // Without a parent, a gap is a hole of the local union inside the cluster's box.
            for polygon in &union.0 {
                for hole in polygon.interiors() {
                    let inside = hole.0.iter().all(|c| {
                        c.x > clip.min().x
                            && c.x < clip.max().x
                            && c.y > clip.min().y
                            && c.y < clip.max().y
                    });
                    if inside {
                        areas.push((
                            Kind::Gap,
                            owner_codes.clone(),
                            Polygon::new(hole.clone(), vec![]),
                        ));
                    }
                }
            }
        }
        None => {}
    }

    let mut found = Vec::new();
    let mut slivers: Vec<Polygon<f64>> = Vec::new();
    let mut sliver_area = 0.0;
    let mut sliver_kinds = BTreeSet::new();
    for (kind, cells, polygon) in areas {
        // Boolean ops may return clockwise shells; geodesic area needs counter-clockwise ones.
        let shape = MultiPolygon(vec![polygon]).orient(Direction::Default);
        let area = area_m2(&shape, options);
        // Boolean ops leave crumbs of 1e-9 m² along the clip box; nothing real is that small.
        if area <= MIN_AREA_M2 {
            continue;
        }
        let polygon = shape
            .0
            .into_iter()
            .next()
            .unwrap_or_else(|| Polygon::new(LineString(vec![]), vec![]));
        let width = 2.0 * area / perimeter_m(&polygon, options).max(f64::MIN_POSITIVE);
        if width < options.sliver_width_m {
            slivers.push(polygon);
            sliver_area += area;
            sliver_kinds.insert(kind.as_str());
            continue;
        }
        let what = match kind {
            Kind::Overlap => format!("{} overlap", cells.join(" and ")),
            Kind::Gap => format!("a gap no cell covers, next to {}", cells.join(", ")),
            _ => format!(
                "{} reaches outside its parent {}",
                cells[0],
                cells.get(1).map(String::as_str).unwrap_or("")
            ),
        };
        found.push(Violation {
            kind,
            severity: Severity::Error,
            cells,
            area_m2: Some(area),
            geometry: Some(Geometry::Polygon(polygon)),
            message: format!("{what} ({area:.3} m², about {width:.2} m wide)"),
        });
    }
    // Without a parent the coverage's own outline is unmatched by nature: edges along the local
    // union's outer boundary (inside the box) are not findings.
    let mut cluster_edges = cluster.edges.clone();
    if parent_geometry.is_none() {
        // The boolean ops move vertices by float noise, so compare on a 1e-7° (≈ 1 cm) grid.
        let grid = |c: Coord<f64>| ((c.x * 1e7).round() as i64, (c.y * 1e7).round() as i64);
        let outline: rustc_hash::FxHashSet<(i64, i64)> = union
            .0
            .iter()
            .flat_map(|p| p.exterior().0.iter().map(|c| grid(*c)))
            .collect();
        let near = |c: Coord<f64>| {
            let (x, y) = grid(c);
            (-1..=1).any(|dx| (-1..=1).any(|dy| outline.contains(&(x + dx, y + dy))))
        };
        cluster_edges.retain(|e| !(near(e.a) && near(e.b)));
        if cluster_edges.is_empty() && found.is_empty() && slivers.is_empty() {
            return found;
        }
    }
    let cluster = &Cluster {
        group: cluster.group,
        edges: cluster_edges,
        bbox: cluster.bbox,
        everyone: cluster.everyone,
    };
    // Leftovers around an invalid cell are explained by its own finding: its repaired stand-in
    // never matches its neighbours vertex for vertex, so only substantial areas are findings.
    if involved_invalid {
        return found;
    }
    if !slivers.is_empty() || found.is_empty() {
        let what = if sliver_kinds.is_empty() {
            "edges do not share their vertices".to_string()
        } else {
            format!(
                "neighbouring edges nearly coincide but do not match (sliver {})",
                sliver_kinds.into_iter().collect::<Vec<_>>().join("/")
            )
        };
        let geometry =
            (!slivers.is_empty()).then_some(Geometry::MultiPolygon(MultiPolygon(slivers)));
        found.push(mismatch(prepared, cluster, geometry, sliver_area, &what));
    }
    found
}

/// A valid stand-in for an invalid cell, for drawing findings only: where its rings (shells
/// counter-clockwise) wind positively. Not `unary_union`, which picks the fill rule from the first
/// ring's orientation — after clipping that ring may be an inverted lobe.
fn repaired(raw: MultiPolygon<f64>) -> Option<MultiPolygon<f64>> {
    winding_region(&raw, FillRule::Positive)
}

fn mismatch(
    prepared: &[Prepared],
    cluster: &Cluster,
    geometry: Option<Geometry<f64>>,
    area: f64,
    what: &str,
) -> Violation {
    let cells: BTreeSet<String> = cluster
        .edges
        .iter()
        .map(|e| prepared[e.owner as usize].code.to_string())
        .collect();
    let cells: Vec<String> = cells.into_iter().collect();
    let geometry = geometry.unwrap_or_else(|| {
        Geometry::MultiLineString(MultiLineString(
            cluster
                .edges
                .iter()
                .map(|e| LineString::from(Line::new(e.a, e.b)))
                .collect(),
        ))
    });
    Violation {
        kind: Kind::EdgeMismatch,
        severity: Severity::Error,
        message: format!(
            "{}: {what}{}",
            cells.join(", "),
            if area > 0.0 {
                format!(" ({area:.4} m²)")
            } else {
                String::new()
            }
        ),
        cells,
        area_m2: (area > 0.0).then_some(area),
        geometry: Some(geometry),
    }
}
