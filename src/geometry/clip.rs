//! Clipping a polygon to an axis-aligned box in linear time (Sutherland–Hodgman per ring), for
//! tiles and local diagnosis. Where a ring runs outside, the result follows the box's side, which
//! may leave zero-width folds there: fine for drawing, not for deciding anything.

use geo_types::{Coord, LineString, MultiPolygon, Polygon};

/// Every ring of `shape` clipped to the box `[west, south, east, north]`.
pub fn clip_to_box(shape: &MultiPolygon<f64>, b: [f64; 4]) -> MultiPolygon<f64> {
    let clip_ring = |ring: &LineString<f64>| -> Option<LineString<f64>> {
        let mut points: Vec<Coord<f64>> = ring.0[..ring.0.len().saturating_sub(1)].to_vec();
        for side in 0..4 {
            if points.is_empty() {
                return None;
            }
            let inside = |p: &Coord<f64>| match side {
                0 => p.x >= b[0],
                1 => p.x <= b[2],
                2 => p.y >= b[1],
                _ => p.y <= b[3],
            };
            let cross = |p: Coord<f64>, q: Coord<f64>| {
                let t = match side {
                    0 => (b[0] - p.x) / (q.x - p.x),
                    1 => (b[2] - p.x) / (q.x - p.x),
                    2 => (b[1] - p.y) / (q.y - p.y),
                    _ => (b[3] - p.y) / (q.y - p.y),
                };
                p + (q - p) * t
            };
            let mut out = Vec::with_capacity(points.len() + 4);
            for k in 0..points.len() {
                let (p, q) = (points[k], points[(k + 1) % points.len()]);
                match (inside(&p), inside(&q)) {
                    (true, true) => out.push(q),
                    (true, false) => out.push(cross(p, q)),
                    (false, true) => {
                        out.push(cross(p, q));
                        out.push(q);
                    }
                    (false, false) => {}
                }
            }
            points = out;
        }
        if points.len() < 3 {
            return None;
        }
        points.push(points[0]);
        Some(LineString(points))
    };
    MultiPolygon(
        shape
            .0
            .iter()
            .filter_map(|polygon| {
                let exterior = clip_ring(polygon.exterior())?;
                Some(Polygon::new(
                    exterior,
                    polygon.interiors().iter().filter_map(clip_ring).collect(),
                ))
            })
            .collect(),
    )
}
