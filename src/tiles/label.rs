//! Label points: the pole of inaccessibility (the interior point farthest from the boundary,
//! found by quadtree refinement as in Mapbox's polylabel), not the centroid, which can fall
//! outside a bent cell.

use geo_types::{Coord, Polygon};

use crate::geometry::point_in::polygon_contains;

/// Signed distance from `p` to the polygon's boundary (positive inside).
fn signed_distance(polygon: &Polygon<f64>, p: Coord<f64>) -> f64 {
    let mut best = f64::MAX;
    for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
        for w in ring.0.windows(2) {
            let (a, b) = (w[0], w[1]);
            let d = b - a;
            let length2 = d.x * d.x + d.y * d.y;
            let t = if length2 > 0.0 {
                (((p.x - a.x) * d.x + (p.y - a.y) * d.y) / length2).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let foot = a + d * t;
            best = best.min((p.x - foot.x).hypot(p.y - foot.y));
        }
    }
    if polygon_contains(polygon, p) {
        best
    } else {
        -best
    }
}

/// The pole of inaccessibility of `polygon`, to within `precision` (same units as coordinates).
pub fn pole_of_inaccessibility(polygon: &Polygon<f64>, precision: f64) -> Option<Coord<f64>> {
    let ring = &polygon.exterior().0;
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for c in ring {
        x0 = x0.min(c.x);
        y0 = y0.min(c.y);
        x1 = x1.max(c.x);
        y1 = y1.max(c.y);
    }
    if ring.is_empty() || x1 <= x0 || y1 <= y0 {
        return ring.first().copied();
    }
    let size = (x1 - x0).min(y1 - y0);
    let mut h = size / 2.0;
    // Cells: (centre, half size, distance, potential).
    let cell = |c: Coord<f64>, h: f64| {
        let d = signed_distance(polygon, c);
        (c, h, d, d + h * std::f64::consts::SQRT_2)
    };
    let mut queue = Vec::new();
    let mut x = x0;
    while x < x1 {
        let mut y = y0;
        while y < y1 {
            queue.push(cell(Coord { x: x + h, y: y + h }, h));
            y += size;
        }
        x += size;
    }
    let centroid = ring.iter().fold(Coord { x: 0.0, y: 0.0 }, |a, c| a + *c) / ring.len() as f64;
    let mut best = cell(centroid, 0.0);
    for c in &queue {
        if c.2 > best.2 {
            best = *c;
        }
    }
    let mut steps = 0;
    while let Some(i) = (0..queue.len()).max_by(|&a, &b| queue[a].3.total_cmp(&queue[b].3)) {
        let c = queue.swap_remove(i);
        steps += 1;
        if c.2 > best.2 {
            best = c;
        }
        if c.3 - best.2 <= precision || steps > 2000 {
            continue;
        }
        h = c.1 / 2.0;
        for (dx, dy) in [(-1.0, -1.0), (1.0, -1.0), (-1.0, 1.0), (1.0, 1.0)] {
            queue.push(cell(
                Coord {
                    x: c.0.x + dx * h,
                    y: c.0.y + dy * h,
                },
                h,
            ));
        }
    }
    Some(best.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::polygon;

    #[test]
    fn the_label_of_an_l_shape_is_inside_it_where_the_centroid_is_not() {
        let l = polygon![(x: 0., y: 0.), (x: 10., y: 0.), (x: 10., y: 1.), (x: 1., y: 1.), (x: 1., y: 10.), (x: 0., y: 10.)];
        let p = pole_of_inaccessibility(&l, 0.01).unwrap();
        assert!(polygon_contains(&l, p));
        assert!(signed_distance(&l, p) > 0.45, "{p:?}");
        let centroid = geo::Centroid::centroid(&l).unwrap();
        assert!(!polygon_contains(&l, centroid.0));
    }
}
