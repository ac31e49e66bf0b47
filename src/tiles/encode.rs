//! One tile: three layers — `cells` (polygons), `boundaries` (lines, by level) and `labels`
//! (points) — with public properties only.

use geo_types::MultiPolygon;
use mvt::{GeomEncoder, GeomType, Tile};
use pointy::{BBox, Transform};

use super::mercator::TileId;
use super::source::{TileCell, TileSource};
use crate::geometry::clip::clip_to_box;

pub use super::mercator::{BUFFER, EXTENT};

/// The layers served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layer {
    Cells,
    Boundaries,
    Labels,
}

impl Layer {
    pub const ALL: [Layer; 3] = [Layer::Cells, Layer::Boundaries, Layer::Labels];

    pub fn parse(name: &str) -> Option<Layer> {
        Layer::ALL.into_iter().find(|l| l.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Layer::Cells => "cells",
            Layer::Boundaries => "boundaries",
            Layer::Labels => "labels",
        }
    }
}

/// Encodes one layer of one tile; `None` when it has no feature.
pub fn encode_tile(
    source: &TileSource,
    layer: Layer,
    tile: TileId,
) -> Result<Option<Vec<u8>>, mvt::Error> {
    let [west, south, east, north] = tile.bounds();
    let size = east - west;
    let pad = size * BUFFER as f64 / EXTENT as f64;
    let bounds = [west - pad, south - pad, east + pad, north + pad];
    let scale = EXTENT as f64 / size;
    // Web Mercator metres → tile units (y down).
    let transform = Transform::with_translate(-west, -north).scale(scale, -scale);
    let clip = BBox::new([(bounds[0], bounds[1]), (bounds[2], bounds[3])]);
    let level = source.rules.display_level(tile.z);

    let mut mvt_tile = Tile::new(EXTENT);
    let mut out = mvt_tile.create_layer(layer.name());
    let mut count = 0;
    let mut cells: Vec<&TileCell> = source.in_bounds(bounds).collect();
    cells.sort_by(|a, b| a.code.cmp(&b.code));
    let window = geo_types::Rect::new(
        geo_types::Coord {
            x: bounds[0],
            y: bounds[1],
        },
        geo_types::Coord {
            x: bounds[2],
            y: bounds[3],
        },
    );
    for cell in cells {
        // A box that touches the tile is not enough: the shape itself must reach into it.
        if layer != Layer::Labels
            && !geo::Intersects::intersects(source.shape_at(cell.index, tile.z), &window)
        {
            continue;
        }
        let geometry = match layer {
            Layer::Cells if cell.level == level => {
                // Cut to the buffered tile first, so no run of clamped points follows its edges.
                let cut = clip_to_box(source.shape_at(cell.index, tile.z), bounds);
                polygon(&cut, transform, clip)?
            }
            Layer::Boundaries if cell.level >= 1 && cell.level <= level => {
                lines(source.shape_at(cell.index, tile.z), transform, clip)?
            }
            Layer::Labels if cell.level == level => {
                let p = cell.label;
                if p.x < west || p.x > east || p.y < south || p.y > north {
                    continue;
                }
                GeomEncoder::new(GeomType::Point)
                    .transform(transform)
                    .point(p.x, p.y)?
                    .encode()?
            }
            _ => continue,
        };
        if geometry.is_empty() {
            continue;
        }
        // No numeric id: `code` identifies a feature (MapLibre: `promoteId: "code"`), and
        // leaving the id out keeps tiles as small as ST_AsMVT's.
        let mut feature = out.into_feature(geometry);
        feature.add_tag_string("code", &cell.code);
        feature.add_tag_string("name", &cell.name);
        feature.add_tag_uint("level", cell.level as u64);
        if layer != Layer::Boundaries {
            feature.add_tag_string("kind", &cell.kind);
            feature.add_tag_string("parent", cell.parent.as_deref().unwrap_or(""));
            feature.add_tag_uint("colour", cell.colour as u64);
        }
        out = feature.into_layer();
        count += 1;
    }
    if count == 0 {
        return Ok(None);
    }
    mvt_tile.add_layer(out)?;
    Ok(Some(mvt_tile.to_bytes()?))
}

fn polygon(
    shape: &MultiPolygon<f64>,
    transform: Transform<f64>,
    clip: BBox<f64>,
) -> Result<mvt::GeomData, mvt::Error> {
    let mut encoder = GeomEncoder::new(GeomType::Polygon)
        .bbox(clip)
        .transform(transform);
    for polygon in &shape.0 {
        for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
            // MVT rings are implicitly closed: leave out the repeated last point.
            for c in &ring.0[..ring.0.len().saturating_sub(1)] {
                encoder.add_point(c.x, c.y)?;
            }
            encoder.complete_geom()?;
        }
    }
    encoder.encode()
}

fn lines(
    shape: &MultiPolygon<f64>,
    transform: Transform<f64>,
    clip: BBox<f64>,
) -> Result<mvt::GeomData, mvt::Error> {
    let mut encoder = GeomEncoder::new(GeomType::Linestring)
        .bbox(clip)
        .transform(transform);
    for polygon in &shape.0 {
        for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
            for c in &ring.0 {
                encoder.add_point(c.x, c.y)?;
            }
            encoder.complete_geom()?;
        }
    }
    encoder.encode()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_transform_maps_the_tile_corners_to_the_extent() {
        let tile = TileId::new(13, 6542, 3400).unwrap();
        let [west, south, east, north] = tile.bounds();
        let scale = EXTENT as f64 / (east - west);
        let t = Transform::with_translate(-west, -north).scale(scale, -scale);
        let nw = t * (west, north);
        let se = t * (east, south);
        assert!(nw.x.abs() < 1e-6 && nw.y.abs() < 1e-6, "{nw:?}");
        assert!(
            (se.x - 4096.0).abs() < 1e-6 && (se.y - 4096.0).abs() < 1e-6,
            "{se:?}"
        );
    }
}
