//! The hot path of point location: a bucket grid over the finest level, whose buckets hold each
//! polygon's box and whose rings sit in one flat array.
//!
//! Why not the cells themselves: at a province's 200,000 grids a lookup that goes bucket → cell
//! → `MultiPolygon` → `Polygon` → ring chases five pointers into 50 MB of cells, and each is a
//! cache miss (0.7 M points/s on one core). Here a lookup reads the bucket's offsets, its
//! entries (each polygon's box and exterior range inline, so most candidates are rejected
//! without leaving the entry), then that exterior's contiguous coordinates: three misses, and a
//! fourth only for a polygon with holes.

use geo_types::{Coord, MultiPolygon};

use crate::geometry::point_in::{ring_crosses, ring_distance_m};

/// One polygon of a cell, in full: its box, its exterior as a range of `Locator::coords`, its
/// holes as a run of `Locator::holes`, the cell's parent and where the cell's other pieces are.
#[derive(Debug, Clone, Copy)]
struct Polygon {
    min: [f64; 2],
    max: [f64; 2],
    cell: u32,
    /// The cell's parent (`u32::MAX`: none).
    parent: u32,
    exterior: [u32; 2],
    first_hole: u32,
    holes: u32,
    /// How many polygons the cell has: they are `Locator::polygons[first_sibling..][..siblings]`.
    siblings: u32,
    first_sibling: u32,
}

/// A polygon as a bucket holds it, in half a cache line: its box rounded outwards to `f32` (only
/// a filter: a point outside it is outside the polygon), and for the usual polygon — one piece of
/// its cell, no holes — its exterior's range inline. Anything else says `len == COMPLEX` and
/// names its full record in `polygons`.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(32))]
struct Entry {
    min: [f32; 2],
    max: [f32; 2],
    cell: u32,
    parent: u32,
    /// The exterior's first coordinate, or (when `len == COMPLEX`) the index in `polygons`.
    start: u32,
    len: u16,
}

const COMPLEX: u16 = u16::MAX;

/// The nearest `f32` at or below `v`, and at or above it.
fn f32_down(v: f64) -> f32 {
    let f = v as f32;
    if f as f64 > v { f.next_down() } else { f }
}

fn f32_up(v: f64) -> f32 {
    let f = v as f32;
    if (f as f64) < v { f.next_up() } else { f }
}

/// The polygon a point fell in.
pub(super) struct Hit<'a> {
    pub(super) cell: usize,
    pub(super) parent: Option<usize>,
    shape: Shape<'a>,
}

/// The cell's whole boundary when it is one ring, else the polygon's full record.
enum Shape<'a> {
    Ring(&'a [Coord<f64>]),
    Full(&'a Polygon),
}

/// Buckets over the boxes of the finest level's polygons, and those polygons' rings, flat.
pub(super) struct Locator {
    origin: [f64; 2],
    size: [f64; 2],
    columns: usize,
    rows: usize,
    /// The level it covers (coarser cells are found through the R-trees).
    pub(super) level: usize,
    /// Bucket `b`'s candidates are `entries[start[b]..start[b + 1]]`.
    start: Vec<u32>,
    entries: Vec<Entry>,
    /// Every polygon once, in cell order.
    polygons: Vec<Polygon>,
    /// Holes as ranges of `coords`.
    holes: Vec<[u32; 2]>,
    coords: Vec<Coord<f64>>,
}

impl Locator {
    /// Indexes the cells of `level` among `cells` (`(level, parent, geometry)` by snapshot
    /// index).
    pub(super) fn build<'a>(
        cells: impl Iterator<Item = (usize, Option<usize>, &'a MultiPolygon<f64>)>,
        level: usize,
    ) -> Locator {
        let mut polygons: Vec<Polygon> = Vec::new();
        let mut holes: Vec<[u32; 2]> = Vec::new();
        let mut coords: Vec<Coord<f64>> = Vec::new();
        let push = |coords: &mut Vec<Coord<f64>>, ring: &[Coord<f64>]| {
            let from = coords.len() as u32;
            coords.extend_from_slice(ring);
            [from, coords.len() as u32]
        };
        for (i, (cell_level, parent, geometry)) in cells.enumerate() {
            if cell_level != level {
                continue;
            }
            let first = polygons.len();
            for polygon in &geometry.0 {
                let (mut min, mut max) = ([f64::MAX; 2], [f64::MIN; 2]);
                for c in &polygon.exterior().0 {
                    min = [min[0].min(c.x), min[1].min(c.y)];
                    max = [max[0].max(c.x), max[1].max(c.y)];
                }
                if min[0] > max[0] {
                    // An empty ring: nothing can fall in it.
                    continue;
                }
                let exterior = push(&mut coords, &polygon.exterior().0);
                let first_hole = holes.len() as u32;
                for hole in polygon.interiors() {
                    let range = push(&mut coords, &hole.0);
                    holes.push(range);
                }
                polygons.push(Polygon {
                    min,
                    max,
                    cell: i as u32,
                    parent: parent.map_or(u32::MAX, |p| p as u32),
                    exterior,
                    first_hole,
                    holes: holes.len() as u32 - first_hole,
                    siblings: 0,
                    first_sibling: first as u32,
                });
            }
            let siblings = (polygons.len() - first) as u32;
            for p in &mut polygons[first..] {
                p.siblings = siblings;
            }
        }

        let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
        for p in &polygons {
            lo = [lo[0].min(p.min[0]), lo[1].min(p.min[1])];
            hi = [hi[0].max(p.max[0]), hi[1].max(p.max[1])];
        }
        if polygons.is_empty() {
            (lo, hi) = ([0.0; 2], [0.0; 2]);
        }
        let (width, height) = ((hi[0] - lo[0]).max(1e-12), (hi[1] - lo[1]).max(1e-12));
        // About two buckets per polygon: few candidates each, a small offsets array.
        let side = ((width * height) / (2 * polygons.len().max(1)) as f64).sqrt();
        let columns = ((width / side).ceil() as usize).clamp(1, 4096);
        let rows = ((height / side).ceil() as usize).clamp(1, 4096);
        let size = [width / columns as f64, height / rows as f64];
        let span =
            |v: f64, o: f64, s: f64, n: usize| (((v - o) / s).floor().max(0.0) as usize).min(n - 1);
        let range = |p: &Polygon| {
            (
                span(p.min[0], lo[0], size[0], columns),
                span(p.max[0], lo[0], size[0], columns),
                span(p.min[1], lo[1], size[1], rows),
                span(p.max[1], lo[1], size[1], rows),
            )
        };
        let mut start = vec![0u32; columns * rows + 1];
        for p in &polygons {
            let (c0, c1, r0, r1) = range(p);
            for r in r0..=r1 {
                for c in c0..=c1 {
                    start[r * columns + c + 1] += 1;
                }
            }
        }
        for i in 1..start.len() {
            start[i] += start[i - 1];
        }
        let mut fill = start.clone();
        let mut entries = vec![
            Entry {
                min: [0.0; 2],
                max: [0.0; 2],
                cell: 0,
                parent: 0,
                start: 0,
                len: 0,
            };
            start[columns * rows] as usize
        ];
        for (i, p) in polygons.iter().enumerate() {
            let simple = p.holes == 0 && p.siblings == 1;
            let len = p.exterior[1] - p.exterior[0];
            let entry = match u16::try_from(len) {
                Ok(len) if simple && len != COMPLEX => Entry {
                    min: [f32_down(p.min[0]), f32_down(p.min[1])],
                    max: [f32_up(p.max[0]), f32_up(p.max[1])],
                    cell: p.cell,
                    parent: p.parent,
                    start: p.exterior[0],
                    len,
                },
                _ => Entry {
                    min: [f32_down(p.min[0]), f32_down(p.min[1])],
                    max: [f32_up(p.max[0]), f32_up(p.max[1])],
                    cell: p.cell,
                    parent: p.parent,
                    start: i as u32,
                    len: COMPLEX,
                },
            };
            let (c0, c1, r0, r1) = range(p);
            for r in r0..=r1 {
                for c in c0..=c1 {
                    let slot = &mut fill[r * columns + c];
                    entries[*slot as usize] = entry;
                    *slot += 1;
                }
            }
        }
        Locator {
            origin: lo,
            size,
            columns,
            rows,
            level,
            start,
            entries,
            polygons,
            holes,
            coords,
        }
    }

    fn ring(&self, [from, to]: [u32; 2]) -> &[Coord<f64>] {
        &self.coords[from as usize..to as usize]
    }

    fn holes(&self, polygon: &Polygon) -> &[[u32; 2]] {
        let first = polygon.first_hole as usize;
        &self.holes[first..first + polygon.holes as usize]
    }

    fn rings(&self, polygon: &Polygon) -> impl Iterator<Item = &[Coord<f64>]> {
        std::iter::once(polygon.exterior)
            .chain(self.holes(polygon).iter().copied())
            .map(|range| self.ring(range))
    }

    fn holds(&self, polygon: &Polygon, p: Coord<f64>) -> bool {
        let mut inside = ring_crosses(self.ring(polygon.exterior), p);
        for &hole in self.holes(polygon) {
            inside ^= ring_crosses(self.ring(hole), p);
        }
        inside
    }

    /// The first cell of the level (in snapshot order within the bucket) holding `p`.
    pub(super) fn locate(&self, p: Coord<f64>) -> Option<Hit<'_>> {
        let c = (p.x - self.origin[0]) / self.size[0];
        let r = (p.y - self.origin[1]) / self.size[1];
        // The last column/row also holds points exactly on the far edge of the extent.
        if !(c >= 0.0 && r >= 0.0 && c <= self.columns as f64 && r <= self.rows as f64) {
            return None;
        }
        let (c, r) = (
            (c as usize).min(self.columns - 1),
            (r as usize).min(self.rows - 1),
        );
        let b = r * self.columns + c;
        let (x, y) = (p.x, p.y);
        for e in &self.entries[self.start[b] as usize..self.start[b + 1] as usize] {
            if x < e.min[0] as f64
                || x > e.max[0] as f64
                || y < e.min[1] as f64
                || y > e.max[1] as f64
            {
                continue;
            }
            let hit = if e.len == COMPLEX {
                let polygon = &self.polygons[e.start as usize];
                self.holds(polygon, p).then_some(Shape::Full(polygon))
            } else {
                let ring = &self.coords[e.start as usize..e.start as usize + e.len as usize];
                ring_crosses(ring, p).then_some(Shape::Ring(ring))
            };
            if let Some(shape) = hit {
                return Some(Hit {
                    cell: e.cell as usize,
                    parent: (e.parent != u32::MAX).then_some(e.parent as usize),
                    shape,
                });
            }
        }
        None
    }

    /// Distance in metres from `p` to the boundary of the cell it fell in.
    pub(super) fn distance_to_boundary_m(&self, hit: &Hit<'_>, p: Coord<f64>) -> f64 {
        let distance = |polygon: &Polygon| {
            self.rings(polygon)
                .fold(f64::MAX, |best, ring| best.min(ring_distance_m(ring, p)))
        };
        let polygon = match hit.shape {
            Shape::Ring(ring) => return ring_distance_m(ring, p),
            Shape::Full(polygon) => polygon,
        };
        if polygon.siblings == 1 {
            return distance(polygon);
        }
        let first = polygon.first_sibling as usize;
        self.polygons[first..first + polygon.siblings as usize]
            .iter()
            .map(distance)
            .fold(f64::MAX, f64::min)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::point_in::{distance_to_boundary_m, multipolygon_contains};
    use geo_types::{LineString, Polygon as GeoPolygon};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> LineString<f64> {
        LineString::from(vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)])
    }

    /// A ring with a hole, the enclave filling that hole, a cell in two pieces, and a coarser
    /// cell the locator must leave alone.
    fn shapes() -> Vec<(usize, Option<usize>, MultiPolygon<f64>)> {
        vec![
            (
                1,
                None,
                MultiPolygon(vec![GeoPolygon::new(square(0., 0., 4., 4.), vec![])]),
            ),
            (
                2,
                Some(0),
                MultiPolygon(vec![GeoPolygon::new(
                    square(0., 0., 3., 3.),
                    vec![square(1., 1., 2., 2.)],
                )]),
            ),
            (
                2,
                Some(0),
                MultiPolygon(vec![GeoPolygon::new(square(1., 1., 2., 2.), vec![])]),
            ),
            (
                2,
                Some(0),
                MultiPolygon(vec![
                    GeoPolygon::new(square(3., 0., 4., 3.), vec![]),
                    GeoPolygon::new(square(0., 3., 4., 4.), vec![]),
                ]),
            ),
        ]
    }

    #[test]
    fn the_flat_locator_answers_what_the_cells_own_geometry_answers_holes_and_pieces_included() {
        let cells = shapes();
        let locator = Locator::build(cells.iter().map(|(l, p, g)| (*l, *p, g)), 2);
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut seen = [0usize; 4];
        for n in 0..20_000 {
            // Random points, and every fourth one on the unit lattice (edges and vertices).
            let p = if n % 4 == 0 {
                Coord {
                    x: rng.random_range(-1..=5) as f64,
                    y: rng.random_range(-1..=5) as f64,
                }
            } else {
                Coord {
                    x: rng.random_range(-0.5..4.5),
                    y: rng.random_range(-0.5..4.5),
                }
            };
            let expected = (1..cells.len()).find(|&i| multipolygon_contains(&cells[i].2, p));
            let hit = locator.locate(p);
            assert_eq!(hit.as_ref().map(|h| h.cell), expected, "{p:?}");
            if let Some(hit) = hit {
                seen[hit.cell] += 1;
                assert_eq!(hit.parent, Some(0));
                let exact = distance_to_boundary_m(&cells[hit.cell].2, p);
                assert!((locator.distance_to_boundary_m(&hit, p) - exact).abs() < 1e-6);
            }
        }
        assert_eq!(seen[0], 0, "the coarser cell is not the locator's");
        assert!(seen[1..].iter().all(|&n| n > 500), "{seen:?}");
    }

    #[test]
    fn an_empty_level_finds_nothing() {
        let cells = shapes();
        let locator = Locator::build(cells.iter().map(|(l, p, g)| (*l, *p, g)), 5);
        assert!(locator.locate(Coord { x: 1.5, y: 1.5 }).is_none());
    }
}
