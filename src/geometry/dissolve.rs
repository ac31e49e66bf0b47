//! Union of cells that form an exact coverage, by cancelling shared edges — no boolean ops, so
//! no coordinate is snapped or moved: the union's vertices are exactly the pieces' vertices.

use std::collections::BTreeMap;

use geo::{Area, Contains};
use geo_types::{Coord, LineString, MultiPolygon, Point, Polygon};

type Key = (u64, u64);

fn key(c: Coord<f64>) -> Key {
    (c.x.to_bits(), c.y.to_bits())
}

/// Dissolves `pieces` (polygons sharing their common edges vertex for vertex) into one
/// MultiPolygon: each edge used in both directions is interior and disappears; what remains is
/// traced into rings, exteriors counter-clockwise and holes clockwise (RFC 7946).
///
/// Precondition: the union never touches itself at a single vertex (no "pinch"); a hexagonal
/// lattice, where three cells meet at every vertex, guarantees it.
///
/// ```
/// use geo_types::polygon;
/// use gridmap::geometry::dissolve::dissolve;
/// let west = polygon![(x: 0., y: 0.), (x: 1., y: 0.), (x: 1., y: 1.), (x: 0., y: 1.)];
/// let east = polygon![(x: 1., y: 0.), (x: 2., y: 0.), (x: 2., y: 1.), (x: 1., y: 1.)];
/// let both = dissolve(&[west, east]);
/// assert_eq!(both.0.len(), 1);
/// assert_eq!(geo::Area::unsigned_area(&both), 2.0);
/// ```
pub fn dissolve(pieces: &[Polygon<f64>]) -> MultiPolygon<f64> {
    // Directed edges of every ring, oriented so that the piece lies on the left.
    let mut edges: BTreeMap<(Key, Key), (Coord<f64>, Coord<f64>)> = BTreeMap::new();
    for piece in pieces {
        let piece = geo::Orient::orient(piece, geo::orient::Direction::Default);
        for ring in std::iter::once(piece.exterior()).chain(piece.interiors()) {
            for line in ring.lines() {
                if line.start == line.end {
                    continue;
                }
                let reverse = (key(line.end), key(line.start));
                if edges.remove(&reverse).is_none() {
                    edges.insert((key(line.start), key(line.end)), (line.start, line.end));
                }
            }
        }
    }
    let mut next: BTreeMap<Key, (Coord<f64>, Coord<f64>)> = BTreeMap::new();
    for ((from, _), edge) in &edges {
        next.insert(*from, *edge);
    }
    let mut rings: Vec<LineString<f64>> = Vec::new();
    while let Some((&start, _)) = next.iter().next() {
        let mut coords = Vec::new();
        let mut at = start;
        while let Some((a, b)) = next.remove(&at) {
            coords.push(a);
            at = key(b);
            if at == start {
                coords.push(b);
                break;
            }
        }
        if coords.len() >= 4 {
            rings.push(LineString(coords));
        }
    }
    assemble(rings)
}

/// Sorts traced rings into exteriors (counter-clockwise) and holes (clockwise), each hole under
/// the smallest exterior containing it.
fn assemble(rings: Vec<LineString<f64>>) -> MultiPolygon<f64> {
    let (mut shells, mut holes) = (Vec::new(), Vec::new());
    for ring in rings {
        let signed = Polygon::new(ring.clone(), vec![]).signed_area();
        if signed > 0.0 {
            shells.push((signed, Polygon::new(ring, vec![])));
        } else {
            holes.push(ring);
        }
    }
    shells.sort_by(|a, b| a.0.total_cmp(&b.0));
    for hole in holes {
        let probe = Point(hole.0[0]);
        let inside = hole
            .lines()
            .map(|l| Point::from((l.start + l.end) / 2.0))
            .next()
            .unwrap_or(probe);
        if let Some((_, shell)) = shells.iter_mut().find(|(_, s)| s.contains(&inside)) {
            shell.interiors_push(hole);
        }
    }
    MultiPolygon(shells.into_iter().map(|(_, p)| p).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::polygon;

    fn square(x: f64, y: f64) -> Polygon<f64> {
        polygon![(x: x, y: y), (x: x + 1., y: y), (x: x + 1., y: y + 1.), (x: x, y: y + 1.)]
    }

    #[test]
    fn a_ring_of_eight_squares_dissolves_into_a_polygon_with_a_hole() {
        let pieces: Vec<_> = (0..3)
            .flat_map(|x| (0..3).map(move |y| (x, y)))
            .filter(|&(x, y)| (x, y) != (1, 1))
            .map(|(x, y)| square(x as f64, y as f64))
            .collect();
        let union = dissolve(&pieces);
        assert_eq!(union.0.len(), 1);
        assert_eq!(union.0[0].interiors().len(), 1);
        assert_eq!(union.unsigned_area(), 8.0);
        assert!(geo::Validation::is_valid(&union));
    }

    #[test]
    fn clockwise_pieces_are_oriented_before_their_edges_cancel() {
        let mut clockwise = square(1., 0.);
        clockwise.exterior_mut(|ring| ring.0.reverse());
        let union = dissolve(&[square(0., 0.), clockwise]);
        assert_eq!(union.0.len(), 1);
        assert_eq!(union.0[0].exterior().0.len(), 7);
        assert_eq!(union.unsigned_area(), 2.0);
    }

    #[test]
    fn separate_pieces_stay_separate_polygons() {
        let union = dissolve(&[square(0., 0.), square(5., 0.)]);
        assert_eq!(union.0.len(), 2);
        assert_eq!(union.unsigned_area(), 2.0);
    }
}
