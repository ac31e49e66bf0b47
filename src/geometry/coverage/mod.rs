//! The coverage rule, proved: inside every parent the children cover it exactly — no gap, no
//! overlap, nothing outside, every polygon valid, neighbours sharing edges (DESIGN.md §1).
//!
//! One entry point, [`validate`], in small named steps: `hierarchy` (codes, parents, levels),
//! per-cell validity (`super::validity`), `edges::pair_edges` (every directed edge must meet one
//! reversed twin from a sibling or the parent's ring), `edges::split_t_junctions` (a long edge
//! against several shorter ones is fine), and `diagnose` (local boolean ops only around the few
//! edges left over, to say *what* is wrong and *where*). Pure: no I/O. Input is never changed.
//!
//! Why pairing proves the rule: when every directed edge meets its reversed twin, the children's
//! boundaries add up to the parent's, so at every point their winding numbers add up to the
//! parent's (1 inside, 0 outside). A valid cell winds 0 or 1, so valid siblings whose edges all
//! pair can neither overlap, leave a gap, nor reach outside. An invalid cell with closed rings
//! takes part in pairing too (its zero-area back-and-forth edges cancel out); it can hide a defect
//! only where it winds negatively, so those boxes are diagnosed as well (`diagnose::hotspots`).
//! An invalid parent may wind twice somewhere: its whole group is diagnosed.

mod diagnose;
pub mod edges;
mod hierarchy;
pub mod incremental;
pub mod input;
mod report;
pub mod synthetic;

pub use edges::Group;
pub use input::{CoverageCell, InputError, cells_from_geojson};
pub use report::{Kind, Report, Severity, Violation};

use std::borrow::Cow;
use std::collections::BTreeMap;

use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use rayon::prelude::*;

use super::validity::{check_polygon, negative_winding_boxes, signed_area};

/// How codes must relate to their parents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeRules {
    /// gridmap's codes: 6/9/12/15/19 digits by level, a child's code extends its parent's.
    Strict,
    /// Any codes; a child's code starts with its parent's (e.g. US FIPS: state 01, county 01001).
    Prefix,
    /// Codes are opaque; parents only by the `parent` property.
    Free,
}

/// Knobs of a validation run.
#[derive(Debug, Clone)]
pub struct Options {
    pub code_rules: CodeRules,
    /// Gaps and overlaps thinner than this (2·area/perimeter) are reported as `edge_mismatch`
    /// slivers rather than `gap`/`overlap`.
    pub sliver_width_m: f64,
    /// Whether coordinates are lon/lat (range checks, geodesic areas).
    pub geographic: bool,
    /// Households per cell code, when known: cells outside `household_band` get a warning.
    pub households: Option<BTreeMap<String, u32>>,
    pub household_band: (u32, u32),
}

impl Default for Options {
    fn default() -> Self {
        Options {
            code_rules: CodeRules::Strict,
            sliver_width_m: 1.0,
            geographic: true,
            households: None,
            household_band: {
                let (low, high) = crate::domain::sizing::Band::default().households;
                (low as u32, high as u32)
            },
        }
    }
}

/// A ring as the check holds it: borrowed from the input when already oriented, else reversed.
pub(crate) type OrientedRing<'a> = Cow<'a, [Coord<f64>]>;

/// A cell once read: its valid geometry (if any) and place in the tree. It borrows the input's
/// rings wherever they are already oriented (nearly always), so reading costs no copy.
pub(crate) struct Prepared<'a> {
    pub code: Cow<'a, str>,
    /// Oriented rings (shells CCW, holes CW) of each polygon, when all are closed and ≥ 4 long.
    pub rings: Option<Vec<Vec<OrientedRing<'a>>>>,
    /// Whether the cell is OGC-valid (its geometry is built from `rings` only when needed).
    pub valid: bool,
    /// For an invalid cell with closed rings: boxes where its rings wind negatively, the only
    /// places where it can hide an overlap of its neighbours (see `negative_winding_boxes`).
    pub negative: Vec<[f64; 4]>,
    /// Number of polygons.
    pub parts: usize,
    pub parent: Option<usize>,
    pub bbox: [f64; 4],
}

/// Validates `cells` against each other and their parents (from `cells` itself or `parents`).
pub fn validate(cells: &[CoverageCell], parents: &[CoverageCell], options: &Options) -> Report {
    let mut violations = Vec::new();
    let all: Vec<&CoverageCell> = cells.iter().chain(parents.iter()).collect();
    let links = hierarchy::check(&all, cells.len(), options, &mut violations);

    // Cells are checked independently, so in parallel; the order of the results is kept.
    let (prepared, invalid): (Vec<Prepared>, Vec<Option<Violation>>) = all
        .par_iter()
        .enumerate()
        .map(|(i, cell)| prepare(cell, links.parent[i], options, links.duplicate[i]))
        .unzip();
    violations.extend(invalid.into_iter().flatten());
    for p in prepared.iter().filter(|p| p.valid && p.parts > 1) {
        violations.push(Violation::warning(
            Kind::Multipart,
            vec![p.code.to_string()],
            format!("cell {} is in {} separate pieces", p.code, p.parts),
        ));
    }
    if let Some(households) = &options.households {
        let (low, high) = options.household_band;
        for p in &prepared[..cells.len()] {
            if let Some(&n) = households.get(p.code.as_ref())
                && (n < low || n > high)
            {
                violations.push(Violation::warning(
                    Kind::SizeBand,
                    vec![p.code.to_string()],
                    format!(
                        "cell {} has {n} households, outside the band {low}–{high}",
                        p.code
                    ),
                ));
            }
        }
    }

    // Groups of siblings: children of one parent, or the roots together.
    let mut by_parent: BTreeMap<Option<usize>, Vec<usize>> = BTreeMap::new();
    for (i, p) in prepared.iter().enumerate() {
        if links.duplicate[i] || (i >= cells.len() && p.parent.is_none()) {
            continue;
        }
        by_parent.entry(p.parent).or_default().push(i);
    }
    let groups: Vec<Group> = by_parent
        .into_iter()
        .map(|(parent, children)| Group { parent, children })
        .collect();
    let leftovers = edges::pair_edges(&prepared, &groups);
    let leftovers = edges::split_t_junctions(leftovers);
    let leftovers = edges::drop_outlines(leftovers, &prepared, &groups);
    let hotspots = diagnose::hotspots(&prepared, &groups, 0..groups.len() as u32, None);
    diagnose::diagnose(
        &prepared,
        &groups,
        leftovers,
        hotspots,
        options,
        &mut violations,
    );

    violations.sort_by(|a, b| a.kind.cmp(&b.kind).then_with(|| a.cells.cmp(&b.cells)));
    Report::new(violations)
}

fn prepare<'a>(
    cell: &'a CoverageCell,
    parent: Option<usize>,
    options: &Options,
    duplicate: bool,
) -> (Prepared<'a>, Option<Violation>) {
    let mut bbox = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    for c in cell.polygons.iter().flatten().flatten() {
        // Plain comparisons: a NaN never wins one, an infinity is kept out.
        if c.x.is_finite() && c.y.is_finite() {
            if c.x < bbox[0] {
                bbox[0] = c.x;
            }
            if c.y < bbox[1] {
                bbox[1] = c.y;
            }
            if c.x > bbox[2] {
                bbox[2] = c.x;
            }
            if c.y > bbox[3] {
                bbox[3] = c.y;
            }
        }
    }
    let mut problem = None;
    let mut location = None;
    if cell.polygons.is_empty() {
        problem = Some(format!(
            "{} has no polygon ({})",
            cell.code,
            cell.geometry_note.as_deref().unwrap_or("empty geometry")
        ));
    }
    for (k, polygon) in cell.polygons.iter().enumerate() {
        if problem.is_some() {
            break;
        }
        if let Err(e) = check_polygon(polygon, options.geographic) {
            location = e.location().map(|c| geo_types::Geometry::Point(c.into()));
            problem = Some(format!("{} polygon {k}: {e}", cell.code));
        }
    }
    // Pairing needs closed rings of ≥ 4 positions even when the polygon is otherwise invalid.
    let closed = cell.polygons.iter().flatten().all(|r| {
        r.len() >= 4
            && r.first() == r.last()
            && r.iter().all(|c| c.x.is_finite() && c.y.is_finite())
    });
    let rings = (closed && !cell.polygons.is_empty()).then(|| {
        cell.polygons
            .iter()
            .map(|polygon| {
                polygon
                    .iter()
                    .enumerate()
                    .map(|(k, ring)| {
                        let ccw = signed_area(ring) > 0.0;
                        // Shells counter-clockwise, holes clockwise: the cell lies on each edge's left.
                        if ccw == (k == 0) {
                            Cow::Borrowed(ring.as_slice())
                        } else {
                            Cow::Owned(ring.iter().rev().copied().collect())
                        }
                    })
                    .collect()
            })
            .collect::<Vec<Vec<OrientedRing>>>()
    });
    let valid = problem.is_none() && rings.is_some();
    let violation = problem.filter(|_| !duplicate).map(|message| Violation {
        kind: Kind::InvalidGeometry,
        severity: Severity::Error,
        cells: vec![cell.code.clone()],
        area_m2: None,
        geometry: location,
        message,
    });
    let mut prepared = Prepared {
        code: Cow::Borrowed(cell.code.as_str()),
        rings,
        valid,
        negative: Vec::new(),
        parts: cell.polygons.len(),
        parent,
        bbox,
    };
    if !valid && let Some(shape) = prepared.shape() {
        prepared.negative = negative_winding_boxes(&shape);
    }
    (prepared, violation)
}

impl Prepared<'_> {
    /// The same, owning all it holds (for a validator kept across edits).
    pub fn into_owned(self) -> Prepared<'static> {
        Prepared {
            code: Cow::Owned(self.code.into_owned()),
            rings: self.rings.map(|polygons| {
                polygons
                    .into_iter()
                    .map(|rings| {
                        rings
                            .into_iter()
                            .map(|r| Cow::Owned(r.into_owned()))
                            .collect()
                    })
                    .collect()
            }),
            valid: self.valid,
            negative: self.negative,
            parts: self.parts,
            parent: self.parent,
            bbox: self.bbox,
        }
    }

    /// The cell as a MultiPolygon, from its oriented rings (whether valid or not).
    pub fn shape(&self) -> Option<MultiPolygon<f64>> {
        let rings = self.rings.as_ref()?;
        Some(MultiPolygon(
            rings
                .iter()
                .map(|p| {
                    Polygon::new(
                        LineString(p[0].to_vec()),
                        p[1..].iter().map(|r| LineString(r.to_vec())).collect(),
                    )
                })
                .collect(),
        ))
    }

    /// The geometry, only when it is valid.
    pub fn geometry(&self) -> Option<MultiPolygon<f64>> {
        if self.valid { self.shape() } else { None }
    }
}

#[cfg(test)]
mod tests;
