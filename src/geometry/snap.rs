//! Repair by snapping, never silent: vertices closer than a tolerance become one vertex, and a
//! vertex lying within the tolerance of a neighbour's edge is inserted into that edge, so edges
//! that nearly coincide become shared vertex for vertex. Returns what moved, for the report.

use geo_types::Coord;
use rstar::primitives::GeomWithData;
use rstar::{AABB, RTree};
use rustc_hash::FxHashMap;

use crate::geometry::coverage::CoverageCell;
use crate::geometry::coverage::edges::point_key;

/// What snapping changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SnapReport {
    /// Vertices moved onto another vertex.
    pub moved: usize,
    /// Vertices inserted into a neighbour's edge.
    pub inserted: usize,
    /// Largest distance a vertex moved, in metres.
    pub max_move_m: f64,
    /// Consecutive duplicates removed after merging.
    pub removed: usize,
}

/// Metres per degree near latitude `lat`, for local distances.
fn scale(lat: f64) -> (f64, f64) {
    (111_320.0 * lat.to_radians().cos(), 110_574.0)
}

/// Writes snapped rings back into the features of the GeoJSON they were read from (matched by
/// feature index), keeping every property.
pub fn write_back(collection: &mut serde_json::Value, cells: &[CoverageCell]) {
    let Some(features) = collection
        .get_mut("features")
        .and_then(|f| f.as_array_mut())
    else {
        return;
    };
    for cell in cells {
        let Some(geometry) = features
            .get_mut(cell.feature)
            .and_then(|f| f.get_mut("geometry"))
        else {
            continue;
        };
        let rings = |polygon: &Vec<Vec<Coord<f64>>>| -> serde_json::Value {
            polygon
                .iter()
                .map(|ring| {
                    ring.iter()
                        .map(|c| serde_json::json!([c.x, c.y]))
                        .collect::<Vec<_>>()
                })
                .collect::<Vec<_>>()
                .into()
        };
        let single = geometry.get("type").and_then(|t| t.as_str()) == Some("Polygon")
            && cell.polygons.len() == 1;
        *geometry = if single {
            serde_json::json!({"type": "Polygon", "coordinates": rings(&cell.polygons[0])})
        } else {
            serde_json::json!({"type": "MultiPolygon", "coordinates": cell.polygons.iter().map(rings).collect::<Vec<_>>()})
        };
    }
}

/// Snaps `cells` in place with `tolerance_m`; returns what changed.
pub fn snap(cells: &mut [CoverageCell], tolerance_m: f64) -> SnapReport {
    let mut report = SnapReport::default();
    let Some(lat) = cells
        .iter()
        .flat_map(|c| c.polygons.iter().flatten().flatten())
        .map(|c| c.y)
        .next()
    else {
        return report;
    };
    let (kx, ky) = scale(lat);
    let metres = |a: Coord<f64>, b: Coord<f64>| ((a.x - b.x) * kx).hypot((a.y - b.y) * ky);
    let tol = (tolerance_m / kx, tolerance_m / ky);

    // 1. Vertex clusters: the first vertex (in input order) within reach becomes the target.
    let mut positions: Vec<Coord<f64>> = Vec::new();
    let mut seen: FxHashMap<(u64, u64), ()> = FxHashMap::default();
    for c in cells
        .iter()
        .flat_map(|c| c.polygons.iter().flatten().flatten())
    {
        if seen.insert(point_key(*c), ()).is_none() {
            positions.push(*c);
        }
    }
    let tree = RTree::bulk_load(
        positions
            .iter()
            .enumerate()
            .map(|(i, p)| GeomWithData::new([p.x, p.y], i))
            .collect::<Vec<_>>(),
    );
    let mut target: Vec<Option<usize>> = vec![None; positions.len()];
    for i in 0..positions.len() {
        if target[i].is_some() {
            continue;
        }
        target[i] = Some(i);
        let p = positions[i];
        let envelope = AABB::from_corners([p.x - tol.0, p.y - tol.1], [p.x + tol.0, p.y + tol.1]);
        for near in tree.locate_in_envelope(&envelope) {
            let j = near.data;
            if target[j].is_none() && metres(p, positions[j]) <= tolerance_m {
                target[j] = Some(i);
            }
        }
    }
    let moved_to: FxHashMap<(u64, u64), Coord<f64>> = positions
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let t = target[i].unwrap_or(i);
            (t != i).then(|| (point_key(*p), positions[t]))
        })
        .collect();
    for ring in cells
        .iter_mut()
        .flat_map(|c| c.polygons.iter_mut().flatten())
    {
        for c in ring.iter_mut() {
            if let Some(to) = moved_to.get(&point_key(*c)) {
                report.max_move_m = report.max_move_m.max(metres(*c, *to));
                report.moved += 1;
                *c = *to;
            }
        }
        let before = ring.len();
        ring.dedup();
        remove_spikes(ring);
        report.removed += before - ring.len();
    }

    // 2. Vertices near another cell's edge are inserted into that edge.
    let vertices: Vec<(usize, Coord<f64>)> = cells
        .iter()
        .enumerate()
        .flat_map(|(ci, c)| c.polygons.iter().flatten().flatten().map(move |p| (ci, *p)))
        .collect();
    let mut vertex_tree_items: Vec<GeomWithData<[f64; 2], usize>> = vertices
        .iter()
        .map(|(ci, p)| GeomWithData::new([p.x, p.y], *ci))
        .collect();
    vertex_tree_items.dedup_by(|a, b| a.geom() == b.geom() && a.data == b.data);
    let vertex_tree = RTree::bulk_load(vertex_tree_items);
    for (ci, cell) in cells.iter_mut().enumerate() {
        for ring in cell.polygons.iter_mut().flatten() {
            let mut out: Vec<Coord<f64>> = Vec::with_capacity(ring.len());
            for w in ring.windows(2) {
                let (a, b) = (w[0], w[1]);
                out.push(a);
                let envelope = AABB::from_corners(
                    [a.x.min(b.x) - tol.0, a.y.min(b.y) - tol.1],
                    [a.x.max(b.x) + tol.0, a.y.max(b.y) + tol.1],
                );
                let d = b - a;
                let length2 = (d.x * kx).powi(2) + (d.y * ky).powi(2);
                let mut cuts: Vec<(f64, Coord<f64>)> = vertex_tree
                    .locate_in_envelope_intersecting(&envelope)
                    .filter(|v| v.data != ci)
                    .map(|v| Coord {
                        x: v.geom()[0],
                        y: v.geom()[1],
                    })
                    .filter(|p| *p != a && *p != b)
                    .filter_map(|p| {
                        let t =
                            ((p.x - a.x) * d.x * kx * kx + (p.y - a.y) * d.y * ky * ky) / length2;
                        let foot = a + d * t;
                        (t > 0.0 && t < 1.0 && metres(p, foot) <= tolerance_m).then_some((t, p))
                    })
                    .collect();
                cuts.sort_by(|x, y| x.0.total_cmp(&y.0));
                cuts.dedup_by(|x, y| x.1 == y.1);
                report.inserted += cuts.len();
                out.extend(cuts.into_iter().map(|(_, p)| p));
            }
            if let Some(last) = ring.last() {
                out.push(*last);
            }
            // A vertex inserted next to its own copy folds the ring back: drop such spikes.
            let before = out.len();
            out.dedup();
            remove_spikes(&mut out);
            report.removed += before - out.len();
            *ring = out;
        }
    }
    report
}

/// Merging vertices can fold a ring back on itself (`a, b, a`): such spikes enclose nothing and
/// are removed, repeatedly, around the closing point too.
fn remove_spikes(ring: &mut Vec<Coord<f64>>) {
    if ring.len() < 4 {
        return;
    }
    let mut open: Vec<Coord<f64>> = ring[..ring.len() - 1].to_vec();
    let mut changed = true;
    while changed && open.len() >= 3 {
        changed = false;
        let n = open.len();
        for i in 0..n {
            let (prev, next) = (open[(i + n - 1) % n], open[(i + 1) % n]);
            if prev == next {
                // Drop the tip and one copy of the base.
                let (tip, base) = (i, (i + 1) % n);
                let (first, second) = if tip > base { (tip, base) } else { (base, tip) };
                open.remove(first);
                open.remove(second);
                changed = true;
                break;
            }
        }
        open.dedup();
        while open.len() > 1 && open.first() == open.last() {
            open.pop();
        }
    }
    if let Some(first) = open.first().copied() {
        open.push(first);
    }
    *ring = open;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::coverage::{CodeRules, Options, validate};

    fn cell(code: &str, ring: &[(f64, f64)]) -> CoverageCell {
        CoverageCell {
            code: code.into(),
            level: None,
            parent: None,
            polygons: vec![vec![ring.iter().map(|&(x, y)| Coord { x, y }).collect()]],
            geometry_note: None,
            feature: 0,
        }
    }

    #[test]
    fn a_sliver_between_neighbours_is_closed_and_reported() {
        // Two cells whose common edge differs by 2e-6° (~20 cm) at one vertex, and whose edge
        // has an extra vertex on one side only.
        let d = 2e-6;
        let mut cells = vec![
            cell(
                "a",
                &[
                    (107.0, 27.0),
                    (107.01, 27.0),
                    (107.01 + d, 27.005),
                    (107.01, 27.01),
                    (107.0, 27.01),
                    (107.0, 27.0),
                ],
            ),
            cell(
                "b",
                &[
                    (107.01, 27.0),
                    (107.02, 27.0),
                    (107.02, 27.01),
                    (107.01, 27.01),
                    (107.01, 27.0),
                ],
            ),
        ];
        let options = Options {
            code_rules: CodeRules::Free,
            sliver_width_m: 0.0,
            ..Options::default()
        };
        assert!(!validate(&cells, &[], &options).valid);
        let report = snap(&mut cells, 0.5);
        assert_eq!(report.inserted, 1, "{report:?}");
        let after = validate(&cells, &[], &options);
        assert!(after.valid, "{}", after.summary(5));
    }

    #[test]
    fn spikes_left_by_merging_are_removed() {
        let c = |x: f64, y: f64| Coord { x, y };
        let mut ring = vec![
            c(0., 0.),
            c(2., 0.),
            c(3., 0.5),
            c(2., 0.),
            c(2., 2.),
            c(0., 2.),
            c(0., 0.),
        ];
        remove_spikes(&mut ring);
        assert_eq!(
            ring,
            vec![c(0., 0.), c(2., 0.), c(2., 2.), c(0., 2.), c(0., 0.)]
        );
    }

    #[test]
    fn nearby_vertices_merge_and_far_ones_do_not() {
        let mut cells = vec![
            cell(
                "a",
                &[
                    (107.0, 27.0),
                    (107.01, 27.0),
                    (107.01, 27.01),
                    (107.0, 27.0),
                ],
            ),
            cell(
                "b",
                &[
                    (107.0100001, 27.0),
                    (107.02, 27.0),
                    (107.0100001, 27.01),
                    (107.0100001, 27.0),
                ],
            ),
        ];
        let report = snap(&mut cells, 0.5);
        assert_eq!(report.moved, 3, "{report:?}");
        assert!(report.max_move_m < 0.02);
        let far = snap(&mut cells, 0.001);
        assert_eq!(far.moved, 0);
    }
}
