//! Saying what is wrong where: the few leftover edges are clustered, and only around each cluster
//! are the cells clipped and compared with boolean ops (which may snap coordinates — acceptable for
//! drawing a finding, never used to decide whether edges match).

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};

use geo::{Area, BooleanOps, BoundingRect, GeodesicArea, Intersects, Length};
use geo::{Geodesic, unary_union};
use geo_types::{Coord, Geometry, Line, LineString, MultiLineString, MultiPolygon, Polygon, Rect};
use rustc_hash::FxHashMap;

use super::Options;
use super::Prepared;
use super::edges::{Edge, Group, point_key};
use super::report::{Kind, Severity, Violation};

/// Below this, a polygon from the boolean ops is numerical noise, not a finding (1 mm²).
const MIN_AREA_M2: f64 = 1e-6;

/// A connected bunch of leftover edges in one group.
struct Cluster {
    group: u32,
    edges: Vec<Edge>,
    bbox: [f64; 4],
}

pub(crate) fn diagnose(
    prepared: &[Prepared],
    groups: &[Group],
    leftover: Vec<Edge>,
    options: &Options,
    violations: &mut Vec<Violation>,
) {
    for cluster in clusters(leftover) {
        let group = &groups[cluster.group as usize];
        let found = catch_unwind(AssertUnwindSafe(|| {
            examine(prepared, group, &cluster, options)
        }));
        match found {
            Ok(found) if !found.is_empty() => violations.extend(found),
            _ => violations.push(mismatch(
                prepared,
                &cluster,
                None,
                0.0,
                "edges do not match",
            )),
        }
    }
}

/// Union-find over shared endpoints, then merging of clusters whose boxes touch.
fn clusters(leftover: Vec<Edge>) -> Vec<Cluster> {
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
            }
        })
        .collect();
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

fn area_m2(shape: &MultiPolygon<f64>, options: &Options) -> f64 {
    if options.geographic {
        shape.geodesic_area_unsigned()
    } else {
        shape.unsigned_area()
    }
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
    let owners: BTreeSet<usize> = cluster
        .edges
        .iter()
        .filter(|e| !e.from_parent)
        .map(|e| e.owner as usize)
        .collect();
    let involved_invalid = owners.iter().any(|&o| prepared[o].geometry.is_none());

    // Whole geometries go into the boolean ops and only their results are clipped: clipping the
    // inputs separately leaves micro-slivers along the clip box where their cuts differ.
    let local: Vec<(usize, &MultiPolygon<f64>)> = group
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
        .filter_map(|c| prepared[c].geometry.as_ref().map(|g| (c, g)))
        .collect();
    let clipped = |shape: MultiPolygon<f64>| shape.intersection(&clip_polygon).0;

    let mut areas: Vec<(Kind, Vec<String>, Polygon<f64>)> = Vec::new();
    for (i, (a, shape_a)) in local.iter().enumerate() {
        for (b, shape_b) in &local[i + 1..] {
            if !owners.contains(a) && !owners.contains(b) {
                continue;
            }
            if let (Some(ra), Some(rb)) = (shape_a.bounding_rect(), shape_b.bounding_rect())
                && !ra.intersects(&rb)
            {
                continue;
            }
            for polygon in clipped(shape_a.intersection(*shape_b)) {
                let codes = vec![
                    prepared[*a].cell.code.clone(),
                    prepared[*b].cell.code.clone(),
                ];
                areas.push((Kind::Overlap, codes, polygon));
            }
        }
    }
    let union = unary_union(local.iter().map(|(_, p)| *p));
    let owner_codes: Vec<String> = owners
        .iter()
        .map(|&o| prepared[o].cell.code.clone())
        .collect();
    let parent_geometry = group
        .parent
        .and_then(|p| prepared[p].geometry.as_ref().map(|g| (p, g)));
    match parent_geometry {
        Some((p, parent)) => {
            if !involved_invalid {
                for polygon in clipped(parent.difference(&union)) {
                    let mut cells = owner_codes.clone();
                    cells.push(prepared[p].cell.code.clone());
                    areas.push((Kind::Gap, cells, polygon));
                }
            }
            for (c, shape) in local.iter().filter(|(c, _)| owners.contains(c)) {
                for polygon in clipped(shape.difference(parent)) {
                    areas.push((
                        Kind::OutsideParent,
                        vec![
                            prepared[*c].cell.code.clone(),
                            prepared[p].cell.code.clone(),
                        ],
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
        let shape = MultiPolygon(vec![polygon]);
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
        .map(|e| prepared[e.owner as usize].cell.code.clone())
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
