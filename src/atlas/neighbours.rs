//! 四至: what borders a cell to the east, south, west and north, derived from the coverage's
//! adjacency (cells of the same level sharing an edge), never typed by hand.

use std::collections::{BTreeMap, HashSet};

use geo::BoundingRect;
use geo_types::Coord;

use super::Atlas;

/// The four directions, in the order 四至 is read (东、南、西、北).
pub const DIRECTIONS: [&str; 4] = ["east", "south", "west", "north"];

/// Neighbours per direction, each named once, nearest to the direction's axis first.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct FourTo {
    pub east: Vec<String>,
    pub south: Vec<String>,
    pub west: Vec<String>,
    pub north: Vec<String>,
}

type EdgeBits = (u64, u64, u64, u64);

fn bits(a: Coord<f64>, b: Coord<f64>) -> EdgeBits {
    (a.x.to_bits(), a.y.to_bits(), b.x.to_bits(), b.y.to_bits())
}

/// 四至 of the cell `code`: for each neighbour, the direction from the cell's centre to the middle
/// of their common boundary decides where it is listed.
pub fn four_to(atlas: &Atlas, code: &str) -> Option<FourTo> {
    let cell = atlas.get(code)?;
    let rect = cell.geometry.bounding_rect()?;
    let centre = rect.center();
    let kx = centre.y.to_radians().cos();
    let own: HashSet<EdgeBits> = cell
        .geometry
        .0
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .flat_map(|r| r.0.windows(2).map(|w| bits(w[0], w[1])))
        .collect();
    // neighbour name → (sum of length-weighted midpoints, total length)
    let mut shared: BTreeMap<String, (Coord<f64>, f64)> = BTreeMap::new();
    // The neighbours come from the snapshot's topology (computed once), not a scan of the atlas.
    let index = atlas.index_of(code)?;
    for &n in &atlas.topology().neighbours[index] {
        let other = &atlas.cells()[n as usize];
        for ring in other
            .geometry
            .0
            .iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        {
            for w in ring.0.windows(2) {
                if own.contains(&bits(w[1], w[0])) {
                    let length = ((w[1].x - w[0].x) * kx).hypot(w[1].y - w[0].y);
                    let entry = shared
                        .entry(other.name.clone())
                        .or_insert((Coord { x: 0.0, y: 0.0 }, 0.0));
                    entry.0 = entry.0 + (w[0] + w[1]) / 2.0 * length;
                    entry.1 += length;
                }
            }
        }
    }
    let mut four = FourTo::default();
    let mut placed: Vec<(usize, f64, String)> = shared
        .into_iter()
        .filter(|(_, (_, length))| *length > 0.0)
        .map(|(name, (sum, length))| {
            let mid = sum / length;
            let angle = ((mid.y - centre.y).atan2((mid.x - centre.x) * kx)).to_degrees();
            // East is 0°, north 90°: quadrants centred on the axes.
            let direction = match angle {
                a if (-45.0..45.0).contains(&a) => 0,
                a if (-135.0..-45.0).contains(&a) => 1,
                a if (45.0..135.0).contains(&a) => 3,
                _ => 2,
            };
            let axis = [0.0, -90.0, 180.0, 90.0][direction];
            let off = ((angle - axis + 540.0) % 360.0 - 180.0).abs();
            (direction, off, name)
        })
        .collect();
    placed.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    for (direction, _, name) in placed {
        match direction {
            0 => four.east.push(name),
            1 => four.south.push(name),
            2 => four.west.push(name),
            _ => four.north.push(name),
        }
    }
    Some(four)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::cell::{Cell, CellKind};
    use crate::domain::code::CellCode;
    use geo_types::{MultiPolygon, polygon};

    fn square(code: &str, name: &str, x: f64, y: f64) -> Cell {
        Cell {
            code: CellCode::parse(code).unwrap(),
            parent: None,
            level: 3,
            kind: CellKind::BaseGrid,
            name: name.into(),
            geometry: MultiPolygon(vec![
                polygon![(x: x, y: y), (x: x + 0.01, y: y), (x: x + 0.01, y: y + 0.01), (x: x, y: y + 0.01)],
            ]),
            attributes: Default::default(),
        }
    }

    #[test]
    fn neighbours_land_in_their_direction() {
        let (x, y) = (107.4, 27.7);
        let atlas = Atlas::new(
            1,
            vec![
                square("520328004001001", "中", x, y),
                square("520328004001002", "东", x + 0.01, y),
                square("520328004001003", "西", x - 0.01, y),
                square("520328004001004", "北", x, y + 0.01),
                square("520328004001005", "南", x, y - 0.01),
                square("520328004001006", "东北角", x + 0.01, y + 0.01),
            ],
        );
        let four = four_to(&atlas, "520328004001001").unwrap();
        assert_eq!(four.east, ["东"]);
        assert_eq!(four.west, ["西"]);
        assert_eq!(four.north, ["北"]);
        assert_eq!(four.south, ["南"]);
        assert!(four_to(&atlas, "520328004001999").is_none());
    }
}
