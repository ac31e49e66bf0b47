//! The demo's ground: a jittered, warped hexagonal lattice. Three hexes meet at every vertex, so
//! any set of hexes dissolves into simple rings (no pinch points), and neighbours share their
//! vertices exactly — the coverage is exact by construction.

use std::collections::{BTreeMap, BTreeSet};

use geo_types::{Coord, LineString, Polygon};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Integer vertex key: x in units of √3/2, y in units of 1/2 of the hex size.
pub type VertexKey = (i32, i32);

/// Corner offsets of a pointy-top hex in `VertexKey` units, counter-clockwise from 30°.
const CORNERS: [(i32, i32); 6] = [(1, 1), (0, 2), (-1, 1), (-1, -1), (0, -2), (1, -1)];
/// Axial neighbour directions.
pub const NEIGHBOURS: [(i32, i32); 6] = [(1, 0), (1, -1), (0, -1), (-1, 0), (-1, 1), (0, 1)];

#[derive(Debug, Clone)]
pub struct Hex {
    pub q: i32,
    pub r: i32,
    /// Centre in ideal lattice units (x east, y north).
    pub x: f64,
    pub y: f64,
}

impl Hex {
    fn centre_key(&self) -> VertexKey {
        (2 * self.q + self.r, 3 * self.r)
    }

    pub fn corner_keys(&self) -> [VertexKey; 6] {
        let (cx, cy) = self.centre_key();
        CORNERS.map(|(dx, dy)| (cx + dx, cy + dy))
    }
}

/// Maps ideal lattice coordinates to lon/lat: jitter per vertex, a radial warp that makes hexes
/// small in the town and large in the countryside, then metres → degrees near 湄潭.
pub struct Projection {
    pub town_centre: (f64, f64),
    pub hex_m: f64,
    pub origin_lon: f64,
    pub origin_lat: f64,
}

impl Projection {
    pub fn to_lon_lat(&self, x: f64, y: f64) -> Coord<f64> {
        let (cx, cy) = self.town_centre;
        let (dx, dy) = (x - cx, y - cy);
        let d = (dx * dx + dy * dy).sqrt();
        // Strictly increasing in d, so the warp keeps the topology of the lattice.
        let scale = 0.2 + 0.8 * d / (d + 15.0);
        let (east_m, north_m) = (dx * scale * self.hex_m, dy * scale * self.hex_m);
        let lat = self.origin_lat + north_m / 110_574.0;
        let lon = self.origin_lon + east_m / (111_320.0 * self.origin_lat.to_radians().cos());
        // 7 decimals ≈ 1 cm; rounding once per vertex keeps shared vertices identical.
        Coord {
            x: (lon * 1e7).round() / 1e7,
            y: (lat * 1e7).round() / 1e7,
        }
    }
}

pub struct Lattice {
    pub hexes: Vec<Hex>,
    pub index: BTreeMap<(i32, i32), usize>,
    pub vertices: BTreeMap<VertexKey, Coord<f64>>,
}

impl Lattice {
    /// Hexes whose centres satisfy `keep`, with every vertex jittered by up to `jitter` units.
    pub fn new(
        columns: i32,
        rows: i32,
        keep: impl Fn(f64, f64) -> bool,
        jitter: f64,
        projection: &Projection,
        rng: &mut ChaCha8Rng,
    ) -> Lattice {
        let mut hexes = Vec::new();
        for r in 0..rows {
            for col in 0..columns {
                let q = col - r / 2;
                let x = 3f64.sqrt() * (q as f64 + r as f64 / 2.0);
                let y = 1.5 * r as f64;
                if keep(x, y) {
                    hexes.push(Hex { q, r, x, y });
                }
            }
        }
        let index = hexes
            .iter()
            .enumerate()
            .map(|(i, h)| ((h.q, h.r), i))
            .collect();
        let keys: BTreeSet<VertexKey> = hexes.iter().flat_map(|h| h.corner_keys()).collect();
        let vertices = keys
            .into_iter()
            .map(|k| {
                let x = k.0 as f64 * 3f64.sqrt() / 2.0 + rng.random_range(-jitter..jitter);
                let y = k.1 as f64 / 2.0 + rng.random_range(-jitter..jitter);
                (k, projection.to_lon_lat(x, y))
            })
            .collect();
        Lattice {
            hexes,
            index,
            vertices,
        }
    }

    pub fn neighbours(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        let h = &self.hexes[i];
        NEIGHBOURS
            .iter()
            .filter_map(move |(dq, dr)| self.index.get(&(h.q + dq, h.r + dr)).copied())
    }

    pub fn polygon(&self, i: usize) -> Polygon<f64> {
        let mut ring: Vec<Coord<f64>> = self.hexes[i]
            .corner_keys()
            .iter()
            .map(|k| self.vertices[k])
            .collect();
        ring.push(ring[0]);
        Polygon::new(LineString(ring), vec![])
    }

    /// A random point well inside hex `i` (in one of its six triangles around the centre).
    pub fn point_inside(&self, i: usize, rng: &mut ChaCha8Rng) -> Coord<f64> {
        let corners: Vec<Coord<f64>> = self.hexes[i]
            .corner_keys()
            .iter()
            .map(|k| self.vertices[k])
            .collect();
        let centre = corners.iter().fold(Coord { x: 0.0, y: 0.0 }, |a, c| a + *c) / 6.0;
        let k = rng.random_range(0..6);
        let (a, b) = (corners[k], corners[(k + 1) % 6]);
        let (mut u, mut v) = (rng.random_range(0.05..0.9), rng.random_range(0.05..0.9));
        if u + v > 0.9 {
            (u, v) = (0.9 - v, 0.9 - u);
        }
        let p = centre + (a - centre) * u + (b - centre) * v;
        Coord {
            x: (p.x * 1e7).round() / 1e7,
            y: (p.y * 1e7).round() / 1e7,
        }
    }
}
