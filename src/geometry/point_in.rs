//! Point in polygon with half-open boundaries, so that in an exact coverage every point of the
//! covered ground belongs to exactly one cell — points on shared edges and vertices included.
//!
//! The rule: a crossing-number test where each edge is evaluated in a canonical direction (lower
//! end first), so two cells sharing an edge compute the very same crossing. A point on an edge
//! belongs to the cell on the edge's east side (for horizontal edges, the north side): every cell
//! owns its western and southern boundary, like pixels in rasterisation.

use geo_types::{Coord, MultiPolygon, Polygon};

/// Whether `p` lies in `polygon` under the half-open rule.
///
/// ```
/// use geo_types::{coord, polygon};
/// use gridmap::geometry::point_in::polygon_contains;
/// let west = polygon![(x: 0., y: 0.), (x: 1., y: 0.), (x: 1., y: 1.), (x: 0., y: 1.)];
/// let east = polygon![(x: 1., y: 0.), (x: 2., y: 0.), (x: 2., y: 1.), (x: 1., y: 1.)];
/// let on_shared_edge = coord! { x: 1., y: 0.5 };
/// assert!(!polygon_contains(&west, on_shared_edge));
/// assert!(polygon_contains(&east, on_shared_edge));
/// ```
pub fn polygon_contains(polygon: &Polygon<f64>, p: Coord<f64>) -> bool {
    std::iter::once(polygon.exterior())
        .chain(polygon.interiors())
        .fold(false, |inside, ring| inside ^ ring_crosses(&ring.0, p))
}

/// Whether a ray from `p` to the east crosses `ring` an odd number of times, each edge taken
/// lower end first (the half-open rule). A polygon holds `p` when its rings' answers XOR to true;
/// the snapshot's locator runs this on its own flat copy of the rings.
pub fn ring_crosses(ring: &[Coord<f64>], p: Coord<f64>) -> bool {
    let mut inside = false;
    for w in ring.windows(2) {
        let (mut a, mut b) = (w[0], w[1]);
        if (a.y > p.y) == (b.y > p.y) {
            continue;
        }
        if a.y > b.y {
            std::mem::swap(&mut a, &mut b);
        }
        let x = a.x + (p.y - a.y) * (b.x - a.x) / (b.y - a.y);
        if p.x < x {
            inside = !inside;
        }
    }
    inside
}

pub fn multipolygon_contains(shape: &MultiPolygon<f64>, p: Coord<f64>) -> bool {
    shape.0.iter().any(|polygon| polygon_contains(polygon, p))
}

/// Distance in metres from `p` to the nearest edge of `shape` (local equirectangular metres;
/// exact enough within a grid).
pub fn distance_to_boundary_m(shape: &MultiPolygon<f64>, p: Coord<f64>) -> f64 {
    shape
        .0
        .iter()
        .flat_map(|polygon| std::iter::once(polygon.exterior()).chain(polygon.interiors()))
        .fold(f64::MAX, |best, ring| best.min(ring_distance_m(&ring.0, p)))
}

/// Distance in metres from `p` to the nearest edge of one ring (see `distance_to_boundary_m`).
pub fn ring_distance_m(ring: &[Coord<f64>], p: Coord<f64>) -> f64 {
    let kx = 111_320.0 * p.y.to_radians().cos();
    let ky = 110_574.0;
    // The nearest edge by squared distance: one square root per ring, not one per edge.
    let mut best = f64::MAX;
    for w in ring.windows(2) {
        let (ax, ay) = ((w[0].x - p.x) * kx, (w[0].y - p.y) * ky);
        let (bx, by) = ((w[1].x - p.x) * kx, (w[1].y - p.y) * ky);
        let (dx, dy) = (bx - ax, by - ay);
        let length2 = dx * dx + dy * dy;
        let t = if length2 > 0.0 {
            (-(ax * dx + ay * dy) / length2).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let (x, y) = (ax + t * dx, ay + t * dy);
        best = best.min(x * x + y * y);
    }
    best.sqrt()
}
