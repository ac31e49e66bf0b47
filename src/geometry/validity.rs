//! OGC validity of one polygon, fast enough for every cell of a 100,000-cell coverage: a sweep over
//! the segments (sorted by x) instead of geo's all-pairs check, with robust orientation predicates.
//! Rules: every ring closed with ≥ 4 positions, finite lon/lat in range; no ring crosses or touches
//! itself; rings of one polygon may touch each other only at single points, never cross or share a
//! segment; every hole lies inside its shell and outside the other holes.

use geo::algorithm::bool_ops::{BooleanOps, FillRule, OpType};
use geo::kernels::{Kernel, Orientation, RobustKernel};
use geo::{Area, BoundingRect};
use geo_types::{Coord, MultiPolygon, Rect};

/// A raw ring as read from input, before any repair: it may be unclosed or degenerate.
pub type Ring = Vec<Coord<f64>>;

/// Why a polygon is invalid, with where (ring index: 0 = shell, then holes).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Invalid {
    #[error("ring {ring} has {points} positions; a ring needs at least 4")]
    TooFewPoints { ring: usize, points: usize },
    #[error("ring {ring} is not closed")]
    Unclosed { ring: usize },
    #[error("ring {ring} has a non-finite coordinate")]
    NonFinite { ring: usize },
    #[error("ring {ring} has a coordinate out of range: ({x}, {y})")]
    OutOfRange { ring: usize, x: f64, y: f64 },
    #[error("ring {ring} is degenerate (no area)")]
    Degenerate { ring: usize },
    #[error("self-intersection near ({x}, {y}) (rings {ring_a} and {ring_b})")]
    SelfIntersection {
        ring_a: usize,
        ring_b: usize,
        x: f64,
        y: f64,
    },
    #[error("hole {ring} lies outside its shell")]
    HoleOutsideShell { ring: usize },
    #[error("hole {ring} lies inside hole {other}")]
    NestedHoles { ring: usize, other: usize },
}

impl Invalid {
    /// A point to show where the problem is, when there is one.
    pub fn location(&self) -> Option<Coord<f64>> {
        match self {
            Invalid::SelfIntersection { x, y, .. } | Invalid::OutOfRange { x, y, .. } => {
                Some(Coord { x: *x, y: *y })
            }
            _ => None,
        }
    }
}

/// Checks one polygon given as rings (shell first). Duplicate consecutive points are allowed.
pub fn check_polygon(rings: &[Ring], geographic: bool) -> Result<(), Invalid> {
    for (i, ring) in rings.iter().enumerate() {
        if ring.iter().any(|c| !c.x.is_finite() || !c.y.is_finite()) {
            return Err(Invalid::NonFinite { ring: i });
        }
        if geographic && let Some(c) = ring.iter().find(|c| c.x.abs() > 180.0 || c.y.abs() > 90.0) {
            return Err(Invalid::OutOfRange {
                ring: i,
                x: c.x,
                y: c.y,
            });
        }
        if ring.len() < 4 {
            return Err(Invalid::TooFewPoints {
                ring: i,
                points: ring.len(),
            });
        }
        if ring.first() != ring.last() {
            return Err(Invalid::Unclosed { ring: i });
        }
    }
    check_crossings(rings)?;
    if let Some(i) = rings.iter().position(|r| signed_area(r) == 0.0) {
        return Err(Invalid::Degenerate { ring: i });
    }
    check_nesting(rings)
}

/// Twice the signed area (shoelace); positive for counter-clockwise rings.
pub fn signed_area(ring: &[Coord<f64>]) -> f64 {
    ring.windows(2)
        .map(|w| w[0].x * w[1].y - w[1].x * w[0].y)
        .sum()
}

#[derive(Clone, Copy)]
struct Segment {
    a: Coord<f64>,
    b: Coord<f64>,
    ring: usize,
    /// Index of the segment within its ring (after dropping zero-length segments).
    index: usize,
    ring_len: usize,
}

/// The segments of all rings, in ring order.
fn segments(rings: &[Ring]) -> Vec<Segment> {
    let mut out = Vec::with_capacity(rings.iter().map(Vec::len).sum());
    for (r, ring) in rings.iter().enumerate() {
        let start = out.len();
        for w in ring.windows(2) {
            if w[0] != w[1] {
                out.push(Segment {
                    a: w[0],
                    b: w[1],
                    ring: r,
                    index: out.len() - start,
                    ring_len: 0,
                });
            }
        }
        let n = out.len() - start;
        for s in &mut out[start..] {
            s.ring_len = n;
        }
    }
    out
}

/// A finite f64 as a u64 with the same order, so sort keys compare as integers.
fn ordered_bits(x: f64) -> u64 {
    let bits = x.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

/// The smaller and the larger of two finite numbers (no NaN handling: coordinates are checked
/// finite before the sweep).
fn span(p: f64, q: f64) -> (f64, f64) {
    if p < q { (p, q) } else { (q, p) }
}

/// A segment in the sweep's active list, kept small so the scan stays in cache.
struct Active {
    /// End of the segment along the sweep axis.
    end: f64,
    /// Extent across the sweep axis.
    lo: f64,
    hi: f64,
    segment: u32,
}

/// Up to this many segments, testing pairs of runs and then pairs of segments by their boxes
/// beats sorting for a sweep (measured on the US counties and states, up to 2,000 segments); the
/// sweep keeps very long rings from going quadratic.
const ALL_PAIRS_MAX: usize = 4096;

/// Finds the first forbidden meeting of two segments of `rings`, if any.
fn check_crossings(rings: &[Ring]) -> Result<(), Invalid> {
    let segs = segments(rings);
    if segs.len() <= ALL_PAIRS_MAX {
        crossings_by_pairs(&segs)
    } else {
        crossings_by_sweep(&segs)
    }
}

/// Every pair of segments whose boxes meet, judged. The boxes are compared without
/// short-circuits, so the inner loops run branch-free until a pair meets.
fn crossings_by_pairs(segs: &[Segment]) -> Result<(), Invalid> {
    let boxes: Vec<[f64; 4]> = segs
        .iter()
        .map(|s| extent(s.a.x, s.b.x, s.a.y, s.b.y))
        .collect();
    // Runs of consecutive segments lie close together: their joint boxes rule out most pairs of
    // runs before any pair of segments is looked at.
    let runs: Vec<[f64; 4]> = boxes
        .chunks(RUN)
        .map(|run| {
            run.iter().fold(
                [f64::MAX, f64::MIN, f64::MAX, f64::MIN],
                |[x0, x1, y0, y1], &[u0, u1, v0, v1]| {
                    [x0.min(u0), x1.max(u1), y0.min(v0), y1.max(v1)]
                },
            )
        })
        .collect();
    let meet = |[x0, x1, y0, y1]: [f64; 4], [u0, u1, v0, v1]: [f64; 4]| {
        (x0 <= u1) & (u0 <= x1) & (y0 <= v1) & (v0 <= y1)
    };
    let mut touches: Vec<(usize, usize, Coord<f64>)> = Vec::new();
    for (r, &run) in runs.iter().enumerate() {
        for (q, &other) in runs.iter().enumerate().skip(r) {
            if !meet(run, other) {
                continue;
            }
            for i in r * RUN..((r + 1) * RUN).min(segs.len()) {
                let from = if q == r { i + 1 } else { q * RUN };
                let to = ((q + 1) * RUN).min(segs.len());
                for (k, &b) in boxes[from..to].iter().enumerate() {
                    if meet(boxes[i], b)
                        && let Some(problem) = judge(&segs[from + k], &segs[i], &mut touches)
                    {
                        return Err(problem);
                    }
                }
            }
        }
    }
    Ok(())
}

/// Segments per run in [`crossings_by_pairs`].
const RUN: usize = 8;

/// Sweep along the longer side of the bounding box: a coastline running north–south crosses a
/// horizontal line far less often than a vertical one, which keeps the active list short.
/// Segments are visited in order of their start along the sweep (sorted as compact integer keys,
/// not as whole segments); segments that ended are dropped from the active list in the same pass
/// that tests the others.
fn crossings_by_sweep(segs: &[Segment]) -> Result<(), Invalid> {
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for c in segs.iter().map(|s| s.a) {
        (x0, y0, x1, y1) = (x0.min(c.x), y0.min(c.y), x1.max(c.x), y1.max(c.y));
    }
    // (along, across) extents of each segment.
    let extents: Vec<[f64; 4]> = if y1 - y0 > x1 - x0 {
        segs.iter()
            .map(|s| extent(s.a.y, s.b.y, s.a.x, s.b.x))
            .collect()
    } else {
        segs.iter()
            .map(|s| extent(s.a.x, s.b.x, s.a.y, s.b.y))
            .collect()
    };
    let mut order: Vec<(u64, u32)> = extents
        .iter()
        .enumerate()
        .map(|(i, e)| (ordered_bits(e[0]), i as u32))
        .collect();
    order.sort_unstable();
    let mut active: Vec<Active> = Vec::with_capacity(64);
    // Points where two different rings touch; a pair of rings may touch at one point only.
    let mut touches: Vec<(usize, usize, Coord<f64>)> = Vec::new();
    for &(_, i) in &order {
        let s = &segs[i as usize];
        let [from, to, lo, hi] = extents[i as usize];
        let mut kept = 0;
        for k in 0..active.len() {
            let t = &active[k];
            if t.end < from {
                continue;
            }
            if lo <= t.hi
                && t.lo <= hi
                && let Some(problem) = judge(s, &segs[t.segment as usize], &mut touches)
            {
                return Err(problem);
            }
            active.swap(kept, k);
            kept += 1;
        }
        active.truncate(kept);
        active.push(Active {
            end: to,
            lo,
            hi,
            segment: i,
        });
    }
    Ok(())
}

/// `[from, to, lo, hi]`: a segment's extent along the sweep (`p`, `q`) and across it (`u`, `v`).
fn extent(p: f64, q: f64, u: f64, v: f64) -> [f64; 4] {
    let (from, to) = span(p, q);
    let (lo, hi) = span(u, v);
    [from, to, lo, hi]
}

/// Decides whether two segments meet in a way the rules forbid.
fn judge(
    s: &Segment,
    t: &Segment,
    touches: &mut Vec<(usize, usize, Coord<f64>)>,
) -> Option<Invalid> {
    // Fast path for neighbours along a ring (most of the pairs the sweep meets): sharing an
    // endpoint, they can meet elsewhere only if they are collinear (a spike folding back).
    if s.ring == t.ring
        && (s.index.abs_diff(t.index) == 1 || s.index.abs_diff(t.index) == s.ring_len - 1)
    {
        let other = if s.b == t.a || s.a == t.a {
            Some(t.b)
        } else if s.b == t.b || s.a == t.b {
            Some(t.a)
        } else {
            None
        };
        if let Some(other) = other
            && RobustKernel::orient2d(s.a, s.b, other) != Orientation::Collinear
        {
            return None;
        }
    }
    let o1 = RobustKernel::orient2d(s.a, s.b, t.a);
    let o2 = RobustKernel::orient2d(s.a, s.b, t.b);
    let o3 = RobustKernel::orient2d(t.a, t.b, s.a);
    let o4 = RobustKernel::orient2d(t.a, t.b, s.b);
    let crossing = |at: Coord<f64>| Invalid::SelfIntersection {
        ring_a: s.ring.min(t.ring),
        ring_b: s.ring.max(t.ring),
        x: at.x,
        y: at.y,
    };
    use Orientation::Collinear as C;
    if o1 == C && o2 == C {
        // Collinear: overlapping in more than a point is always wrong.
        // Project on the segment's dominant axis.
        let along_x = (s.a.x - s.b.x).abs() >= (s.a.y - s.b.y).abs();
        let lo = |c: Coord<f64>| if along_x { c.x } else { c.y };
        let (s0, s1) = (lo(s.a).min(lo(s.b)), lo(s.a).max(lo(s.b)));
        let (t0, t1) = (lo(t.a).min(lo(t.b)), lo(t.a).max(lo(t.b)));
        let overlap = s1.min(t1) - s0.max(t0);
        if overlap > 0.0 {
            return Some(crossing(s.a));
        }
        if overlap < 0.0 {
            return None;
        }
        // Touching end to end: fall through to the shared-point rules.
    } else if o1 != C && o2 != C && o1 == o2 || o3 != C && o4 != C && o3 == o4 {
        return None;
    } else if o1 != C && o2 != C && o3 != C && o4 != C {
        // A proper crossing.
        return Some(crossing(intersection(s, t)));
    }
    // They touch at a single point: where?
    let point = [s.a, s.b]
        .into_iter()
        .find(|p| *p == t.a || *p == t.b || on_segment(*p, t))
        .or_else(|| [t.a, t.b].into_iter().find(|p| on_segment(*p, s)))?;
    let shared_vertex = (point == s.a || point == s.b) && (point == t.a || point == t.b);
    if s.ring == t.ring {
        let adjacent =
            s.index.abs_diff(t.index) == 1 || s.index.abs_diff(t.index) == s.ring_len - 1;
        if adjacent && shared_vertex {
            return None;
        }
        return Some(crossing(point));
    }
    // Different rings: a single touching point per pair of rings is allowed.
    let pair = (s.ring.min(t.ring), s.ring.max(t.ring));
    match touches.iter().find(|(a, b, _)| (*a, *b) == pair) {
        Some((_, _, p)) if *p != point => Some(crossing(point)),
        Some(_) => None,
        None => {
            touches.push((pair.0, pair.1, point));
            None
        }
    }
}

fn on_segment(p: Coord<f64>, s: &Segment) -> bool {
    RobustKernel::orient2d(s.a, s.b, p) == Orientation::Collinear
        && p.x >= s.a.x.min(s.b.x)
        && p.x <= s.a.x.max(s.b.x)
        && p.y >= s.a.y.min(s.b.y)
        && p.y <= s.a.y.max(s.b.y)
}

fn intersection(s: &Segment, t: &Segment) -> Coord<f64> {
    let d = (s.b.x - s.a.x) * (t.b.y - t.a.y) - (s.b.y - s.a.y) * (t.b.x - t.a.x);
    if d == 0.0 {
        return s.a;
    }
    let u = ((t.a.x - s.a.x) * (t.b.y - t.a.y) - (t.a.y - s.a.y) * (t.b.x - t.a.x)) / d;
    s.a + (s.b - s.a) * u
}

/// The region where `shape`'s rings wind as `rule` asks (`Positive`, `Negative`, …), by i_overlay,
/// or `None` when i_overlay panics on pathological input. Rings are taken as oriented (shells
/// counter-clockwise count +1), unlike `geo::unary_union`, which guesses the rule from the first
/// ring's orientation.
pub fn winding_region(shape: &MultiPolygon<f64>, rule: FillRule) -> Option<MultiPolygon<f64>> {
    let nothing = MultiPolygon::<f64>(vec![]);
    std::panic::catch_unwind(|| shape.boolean_op_with_fill_rule(&nothing, OpType::Union, rule)).ok()
}

/// Boxes of the regions where `shape` (shells counter-clockwise, holes clockwise, as the
/// coverage check orients them) winds negatively: the inverted lobe of a bow tie, a hole outside its
/// shell, two holes over each other. Why it matters: in a coverage whose edges all pair, the
/// children's winding numbers add up to the parent's, so siblings can overlap (or reach outside
/// the parent) unseen only where some invalid cell winds negatively — these boxes are the only
/// places an invalid cell can hide a defect. Found with i_overlay's `Negative` fill rule, which
/// works on a grid about 1e-9 of the cell's extent: a lobe thinner than that is not seen.
///
/// ```
/// use geo_types::{coord, LineString, MultiPolygon, Polygon};
/// use gridmap::geometry::validity::negative_winding_boxes;
/// // A bow tie: the right lobe runs clockwise.
/// let bow = vec![coord! {x: 0., y: 0.}, coord! {x: 2., y: 2.}, coord! {x: 2., y: 0.},
///                coord! {x: 0., y: 2.}, coord! {x: 0., y: 0.}];
/// let shape = MultiPolygon(vec![Polygon::new(LineString(bow), vec![])]);
/// let boxes = negative_winding_boxes(&shape);
/// assert_eq!(boxes.len(), 1);
/// assert!(boxes[0][0] >= 1.0 - 1e-9 && boxes[0][2] <= 2.0 + 1e-9);
/// ```
pub fn negative_winding_boxes(shape: &MultiPolygon<f64>) -> Vec<[f64; 4]> {
    let corners = |r: Rect<f64>| [r.min().x, r.min().y, r.max().x, r.max().y];
    match winding_region(shape, FillRule::Negative) {
        Some(found) => found
            .0
            .iter()
            .filter(|p| p.unsigned_area() > 0.0)
            .filter_map(|p| p.bounding_rect())
            .map(corners)
            .collect(),
        // The overlay failed: the whole cell is the box to look at.
        None => shape.bounding_rect().map(corners).into_iter().collect(),
    }
}

/// Crossing-number point-in-ring test; points on the ring count as neither (callers avoid them).
pub fn point_in_ring(p: Coord<f64>, ring: &[Coord<f64>]) -> bool {
    let mut inside = false;
    for w in ring.windows(2) {
        let (a, b) = (w[0], w[1]);
        if (a.y > p.y) != (b.y > p.y) {
            let x = a.x + (p.y - a.y) / (b.y - a.y) * (b.x - a.x);
            if p.x < x {
                inside = !inside;
            }
        }
    }
    inside
}

/// A vertex of `ring` that is not on `other` (so a containment test is meaningful).
fn probe(ring: &Ring, other: &Ring) -> Option<Coord<f64>> {
    ring.iter()
        .copied()
        .find(|p| !other.contains(p))
        .or_else(|| {
            ring.windows(2)
                .map(|w| (w[0] + w[1]) / 2.0)
                .find(|m| !other.contains(m))
        })
}

fn check_nesting(rings: &[Ring]) -> Result<(), Invalid> {
    let shell = &rings[0];
    for (i, hole) in rings.iter().enumerate().skip(1) {
        if let Some(p) = probe(hole, shell)
            && !point_in_ring(p, shell)
        {
            return Err(Invalid::HoleOutsideShell { ring: i });
        }
        for (j, other) in rings.iter().enumerate().skip(1) {
            if i != j
                && let Some(p) = probe(hole, other)
                && point_in_ring(p, other)
            {
                return Err(Invalid::NestedHoles { ring: i, other: j });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(points: &[(f64, f64)]) -> Ring {
        points.iter().map(|&(x, y)| Coord { x, y }).collect()
    }

    const SQUARE: [(f64, f64); 5] = [(0., 0.), (4., 0.), (4., 4.), (0., 4.), (0., 0.)];

    #[test]
    fn a_square_with_a_hole_is_valid_and_duplicate_points_are_fine() {
        let hole = ring(&[(1., 1.), (1., 2.), (2., 2.), (2., 2.), (2., 1.), (1., 1.)]);
        assert_eq!(check_polygon(&[ring(&SQUARE), hole], true), Ok(()));
    }

    #[test]
    fn a_hole_touching_the_shell_at_one_point_is_valid() {
        let hole = ring(&[(0., 2.), (2., 3.), (2., 1.), (0., 2.)]);
        assert_eq!(check_polygon(&[ring(&SQUARE), hole], true), Ok(()));
    }

    #[test]
    fn a_bow_tie_is_a_self_intersection() {
        let bow = ring(&[(0., 0.), (2., 2.), (2., 0.), (0., 2.), (0., 0.)]);
        assert!(
            matches!(check_polygon(&[bow], true), Err(Invalid::SelfIntersection { x, y, .. }) if x == 1.0 && y == 1.0)
        );
    }

    #[test]
    fn a_ring_touching_itself_is_invalid() {
        let figure8 = ring(&[(0., 0.), (2., 0.), (2., 2.), (1., 0.), (0., 2.), (0., 0.)]);
        assert!(matches!(
            check_polygon(&[figure8], true),
            Err(Invalid::SelfIntersection { .. })
        ));
    }

    #[test]
    fn short_unclosed_degenerate_and_out_of_range_rings_are_named() {
        assert!(matches!(
            check_polygon(&[ring(&SQUARE[..3])], true),
            Err(Invalid::TooFewPoints { points: 3, .. })
        ));
        assert!(matches!(
            check_polygon(&[ring(&SQUARE[..4])], true),
            Err(Invalid::Unclosed { .. })
        ));
        let open = ring(&[(0., 0.), (4., 0.), (4., 4.), (0., 4.), (0., 1.)]);
        assert_eq!(
            check_polygon(&[open], true),
            Err(Invalid::Unclosed { ring: 0 })
        );
        let flat = ring(&[(0., 0.), (1., 0.), (2., 0.), (0., 0.)]);
        assert!(check_polygon(&[flat], true).is_err());
        let spike = ring(&[(0., 0.), (1., 0.), (0., 0.), (0., 0.)]);
        assert!(check_polygon(&[spike], true).is_err());
        let far = ring(&[(0., 0.), (400., 0.), (4., 4.), (0., 0.)]);
        assert!(matches!(
            check_polygon(std::slice::from_ref(&far), true),
            Err(Invalid::OutOfRange { .. })
        ));
        assert_eq!(check_polygon(&[far], false), Ok(()));
        let nan = ring(&[(0., 0.), (f64::NAN, 0.), (4., 4.), (0., 0.)]);
        assert_eq!(
            check_polygon(&[nan], true),
            Err(Invalid::NonFinite { ring: 0 })
        );
    }

    #[test]
    fn holes_outside_the_shell_or_inside_each_other_are_invalid() {
        let outside = ring(&[(5., 5.), (6., 5.), (6., 6.), (5., 5.)]);
        assert_eq!(
            check_polygon(&[ring(&SQUARE), outside], true),
            Err(Invalid::HoleOutsideShell { ring: 1 })
        );
        let big = ring(&[(1., 1.), (3., 1.), (3., 3.), (1., 3.), (1., 1.)]);
        let small = ring(&[(1.5, 1.5), (2., 1.5), (2., 2.), (1.5, 1.5)]);
        assert!(matches!(
            check_polygon(&[ring(&SQUARE), big, small], true),
            Err(Invalid::NestedHoles { .. })
        ));
    }

    #[test]
    fn a_hole_sharing_a_segment_with_the_shell_is_invalid() {
        let hole = ring(&[(0., 1.), (1., 1.5), (0., 2.), (0., 1.)]);
        assert!(matches!(
            check_polygon(&[ring(&SQUARE), hole], true),
            Err(Invalid::SelfIntersection { .. })
        ));
    }

    /// One polygon of the given rings, as the coverage check holds it.
    fn shape(rings: Vec<Ring>) -> MultiPolygon<f64> {
        use geo_types::{LineString, Polygon};
        let mut rings = rings.into_iter().map(LineString);
        let shell = rings.next().unwrap();
        MultiPolygon(vec![Polygon::new(shell, rings.collect())])
    }

    #[test]
    fn only_inverted_parts_wind_negatively() {
        // A valid square, and one with a zero-area spike: nothing negative.
        assert!(negative_winding_boxes(&shape(vec![ring(&SQUARE)])).is_empty());
        let spike = ring(&[
            (0., 0.),
            (4., 0.),
            (6., 0.),
            (4., 0.),
            (4., 4.),
            (0., 4.),
            (0., 0.),
        ]);
        assert!(negative_winding_boxes(&shape(vec![spike])).is_empty());
        // A bow tie: the lobe drawn clockwise, and only it.
        let bow = ring(&[(0., 0.), (2., 2.), (2., 0.), (0., 2.), (0., 0.)]);
        let boxes = negative_winding_boxes(&shape(vec![bow]));
        assert_eq!(boxes.len(), 1);
        let [x0, y0, x1, y1] = boxes[0];
        assert!(
            (x0 - 1.0).abs() < 1e-6 && (x1 - 2.0).abs() < 1e-6,
            "{boxes:?}"
        );
        assert!(y0.abs() < 1e-6 && (y1 - 2.0).abs() < 1e-6, "{boxes:?}");
        // A hole (clockwise) outside its shell.
        let outside = ring(&[(5., 5.), (5., 6.), (6., 6.), (6., 5.), (5., 5.)]);
        let boxes = negative_winding_boxes(&shape(vec![ring(&SQUARE), outside]));
        assert_eq!(boxes.len(), 1);
        assert!((boxes[0][0] - 5.0).abs() < 1e-6 && (boxes[0][3] - 6.0).abs() < 1e-6);
    }

    #[test]
    fn the_all_pairs_check_and_the_sweep_agree_on_random_rings() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let (mut valid, mut invalid) = (0, 0);
        for round in 0..3000 {
            // A star-shaped ring (valid) with, in some rounds, points pulled across (invalid),
            // and sometimes a hole: both checks must reach the same verdict.
            let n = rng.random_range(3..120);
            let jitter = if round % 3 == 0 { 1.6 } else { 0.3 };
            let mut shell: Ring = (0..n)
                .map(|k| {
                    let angle = std::f64::consts::TAU * k as f64 / n as f64;
                    let r = 1.0 + rng.random_range(-jitter..jitter);
                    Coord {
                        x: (r * angle.cos() * 64.0).round() / 64.0,
                        y: (r * angle.sin() * 64.0).round() / 64.0,
                    }
                })
                .collect();
            shell.push(shell[0]);
            let mut rings = vec![shell];
            if round % 4 == 1 {
                rings.push(ring(&[
                    (-0.25, -0.25),
                    (-0.25, 0.25),
                    (0.25, 0.25),
                    (0.25, -0.25),
                    (-0.25, -0.25),
                ]));
            }
            let segs = segments(&rings);
            let pairs = crossings_by_pairs(&segs).is_ok();
            assert_eq!(pairs, crossings_by_sweep(&segs).is_ok(), "{rings:?}");
            if pairs { valid += 1 } else { invalid += 1 }
        }
        assert!(
            valid > 500 && invalid > 500,
            "{valid} valid, {invalid} invalid"
        );
    }
}
