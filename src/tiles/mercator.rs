//! Web Mercator (EPSG:3857) and the XYZ tile grid.

use geo_types::Coord;

pub const HALF_WORLD_M: f64 = 20_037_508.342_789_244;

/// lon/lat (degrees) → Web Mercator metres.
pub fn project(c: Coord<f64>) -> Coord<f64> {
    let lat = c.y.clamp(-85.051_128_78, 85.051_128_78).to_radians();
    Coord {
        x: c.x.to_radians() * 6_378_137.0,
        y: (std::f64::consts::FRAC_PI_4 + lat / 2.0).tan().ln() * 6_378_137.0,
    }
}

/// Web Mercator metres → lon/lat.
pub fn unproject(m: Coord<f64>) -> Coord<f64> {
    Coord {
        x: (m.x / 6_378_137.0).to_degrees(),
        y: (2.0 * (m.y / 6_378_137.0).exp().atan() - std::f64::consts::FRAC_PI_2).to_degrees(),
    }
}

/// A tile address, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileId {
    pub z: u8,
    pub x: u32,
    pub y: u32,
}

/// Deepest zoom served.
pub const MAX_ZOOM: u8 = 22;
/// Units across a tile (MVT 2.1's usual 4096).
pub const EXTENT: u32 = 4096;
/// Buffer around the tile, in tile units, so strokes and labels do not stop at the tile edge.
pub const BUFFER: u32 = 64;
/// The deepest zoom served (the TileJSON `maxzoom`): a grid is legible by z18, and MapLibre
/// over-zooms beyond it, so deeper tiles would only be cache fodder.
pub const SERVED_MAX_ZOOM: u8 = 18;

impl TileId {
    /// `None` when z is beyond `MAX_ZOOM` or x/y outside the zoom's grid.
    pub fn new(z: u32, x: u32, y: u32) -> Option<TileId> {
        if z > MAX_ZOOM as u32 {
            return None;
        }
        let n = 1u64 << z;
        ((x as u64) < n && (y as u64) < n).then_some(TileId { z: z as u8, x, y })
    }

    /// The tile's extent in Web Mercator metres: (west, south, east, north).
    pub fn bounds(&self) -> [f64; 4] {
        let size = 2.0 * HALF_WORLD_M / (1u64 << self.z) as f64;
        let west = -HALF_WORLD_M + self.x as f64 * size;
        let north = HALF_WORLD_M - self.y as f64 * size;
        [west, north - size, west + size, north]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projection_round_trips_and_tiles_cover_the_world() {
        let p = Coord {
            x: 107.466,
            y: 27.766,
        };
        let back = unproject(project(p));
        assert!((back.x - p.x).abs() < 1e-9 && (back.y - p.y).abs() < 1e-9);
        assert_eq!(
            TileId::new(0, 0, 0).unwrap().bounds(),
            [-HALF_WORLD_M, -HALF_WORLD_M, HALF_WORLD_M, HALF_WORLD_M]
        );
        assert!(TileId::new(3, 8, 0).is_none());
        assert!(TileId::new(23, 0, 0).is_none());
    }
}
