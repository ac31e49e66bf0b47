//! Everything tiles need from one atlas snapshot, computed once per revision: cells projected to
//! Web Mercator, their boxes in an R-tree, label points and colour indexes.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use geo::BoundingRect;
use geo::orient::{Direction, Orient};
use geo_types::{Coord, MultiPolygon, Point};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

use super::label::pole_of_inaccessibility;
use super::mercator::{HALF_WORLD_M, MAX_ZOOM, project};
use super::simplify::simplify_coverage;
use crate::atlas::{Atlas, AtlasCell, Shapes};

/// Which level the `cells` and `labels` layers show at a zoom (configurable).
#[derive(Debug, Clone, Copy)]
pub struct ZoomRules {
    /// From this zoom villages replace townships.
    pub villages_from: u8,
    /// From this zoom grids replace villages.
    pub grids_from: u8,
}

impl Default for ZoomRules {
    fn default() -> Self {
        ZoomRules {
            villages_from: 11,
            grids_from: 13,
        }
    }
}

impl ZoomRules {
    pub fn display_level(&self, z: u8) -> u8 {
        if z >= self.grids_from {
            3
        } else if z >= self.villages_from {
            2
        } else {
            1
        }
    }
}

/// One cell, ready for tiling.
#[derive(Debug, Clone)]
pub struct TileCell {
    /// Position in `TileSource::cells`.
    pub index: usize,
    pub code: String,
    pub name: String,
    pub level: u8,
    pub kind: String,
    pub parent: Option<String>,
    /// Web Mercator, exteriors clockwise in y-up space (so MVT's y-down tiles see them right).
    pub shape: MultiPolygon<f64>,
    pub label: Coord<f64>,
    pub colour: u8,
    pub bbox: [f64; 4],
}

pub struct TileSource {
    pub revision: i32,
    pub rules: ZoomRules,
    /// By atlas index; shared with the previous source for the cells a commit left alone.
    pub cells: Vec<Arc<TileCell>>,
    /// The atlas cells these were made from, to tell which ones the next revision replaced.
    from: Vec<Arc<AtlasCell>>,
    shapes: Shapes,
    tree: Arc<Tree>,
    /// Shapes of each (zoom, level) simplified without cracks, computed on first use, and
    /// shared with the next source while no boundary moves.
    simplified: Arc<Vec<Simplified>>,
}

/// One (zoom, level)'s simplified shapes by cell index, made on first use.
type Simplified = OnceLock<HashMap<usize, MultiPolygon<f64>>>;

type Tree = RTree<GeomWithData<Rectangle<[f64; 2]>, usize>>;

/// Levels 0..=4 for each zoom 0..=MAX_ZOOM.
const LEVELS: usize = 5;
/// Shapes are simplified (to a tile unit, crack-free) at every zoom served.
pub const SIMPLIFY_BELOW_ZOOM: u8 = MAX_ZOOM + 1;

impl TileSource {
    pub fn new(atlas: &Atlas, rules: ZoomRules) -> TileSource {
        let cells = atlas.cells();
        let colours = &atlas.topology().colours;

        let tile_cells: Vec<Arc<TileCell>> = cells
            .iter()
            .enumerate()
            .map(|(i, cell)| {
                let shape = MultiPolygon(
                    cell.geometry
                        .0
                        .iter()
                        .map(|p| geo::MapCoords::map_coords(p, project))
                        .collect(),
                )
                .orient(Direction::Reversed);
                let biggest = shape.0.iter().max_by(|a, b| {
                    geo::Area::unsigned_area(*a).total_cmp(&geo::Area::unsigned_area(*b))
                });
                let label = biggest
                    .and_then(|p| {
                        let r = p.bounding_rect()?;
                        pole_of_inaccessibility(p, (r.width().min(r.height()) / 100.0).max(0.5))
                    })
                    .unwrap_or(Coord { x: 0.0, y: 0.0 });
                let bbox = shape
                    .bounding_rect()
                    .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y])
                    .unwrap_or([0.0; 4]);
                Arc::new(TileCell {
                    index: i,
                    code: cell.code.clone(),
                    name: cell.name.clone(),
                    level: cell.level,
                    kind: cell.kind.clone(),
                    parent: cell.parent.map(|p| cells[p].code.clone()),
                    shape,
                    label,
                    colour: colours[i],
                    bbox,
                })
            })
            .collect();
        let tree = RTree::bulk_load(
            tile_cells
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    GeomWithData::new(
                        Rectangle::from_corners([c.bbox[0], c.bbox[1]], [c.bbox[2], c.bbox[3]]),
                        i,
                    )
                })
                .collect(),
        );
        TileSource {
            revision: atlas.revision,
            rules,
            cells: tile_cells,
            from: cells.to_vec(),
            shapes: atlas.shapes(),
            tree: Arc::new(tree),
            simplified: Arc::new(
                (0..(MAX_ZOOM as usize + 1) * LEVELS)
                    .map(|_| OnceLock::new())
                    .collect(),
            ),
        }
    }

    /// The source for `atlas` made from this one when no boundary moved between them (see
    /// `Atlas::shapes`): only the replaced cells are made again, from their old shapes, and the
    /// boxes of those cells are returned (the cached tiles to drop). `None` when a boundary
    /// moved or a code came or went: build anew.
    pub fn renamed(&self, atlas: &Atlas) -> Option<(TileSource, Vec<[f64; 4]>)> {
        if atlas.shapes() != self.shapes || atlas.len() != self.cells.len() {
            return None;
        }
        let mut changed = Vec::new();
        let cells: Vec<Arc<TileCell>> = atlas
            .cells()
            .iter()
            .zip(&self.from)
            .zip(&self.cells)
            .map(|((now, before), tile)| {
                if Arc::ptr_eq(now, before) {
                    return tile.clone();
                }
                changed.push(tile.bbox);
                Arc::new(TileCell {
                    name: now.name.clone(),
                    kind: now.kind.clone(),
                    ..(**tile).clone()
                })
            })
            .collect();
        let source = TileSource {
            revision: atlas.revision,
            rules: self.rules,
            cells,
            from: atlas.cells().to_vec(),
            shapes: self.shapes.clone(),
            tree: self.tree.clone(),
            simplified: self.simplified.clone(),
        };
        Some((source, changed))
    }

    /// The shape of cell `index` as drawn at zoom `z`: simplified to a tile unit, with every border
    /// shared by its two cells simplified identically (no cracks).
    pub fn shape_at(&self, index: usize, z: u8) -> &MultiPolygon<f64> {
        let cell = &self.cells[index];
        if z >= SIMPLIFY_BELOW_ZOOM || cell.level as usize >= LEVELS {
            return &cell.shape;
        }
        let slot = &self.simplified[z as usize * LEVELS + cell.level as usize];
        let shapes = slot.get_or_init(|| {
            let members: Vec<usize> = self
                .cells
                .iter()
                .filter(|c| c.level == cell.level)
                .map(|c| c.index)
                .collect();
            let refs: Vec<&MultiPolygon<f64>> =
                members.iter().map(|&i| &self.cells[i].shape).collect();
            // One tile unit at this zoom, in Web Mercator metres.
            let tolerance =
                2.0 * HALF_WORLD_M / (1u64 << z) as f64 / super::mercator::EXTENT as f64;
            members
                .into_iter()
                .zip(simplify_coverage(&refs, tolerance))
                .collect()
        });
        shapes.get(&index).unwrap_or(&cell.shape)
    }

    /// Cells whose boxes touch `bounds` (west, south, east, north in Web Mercator).
    pub fn in_bounds(&self, bounds: [f64; 4]) -> impl Iterator<Item = &TileCell> {
        self.tree
            .locate_in_envelope_intersecting(&AABB::from_corners(
                [bounds[0], bounds[1]],
                [bounds[2], bounds[3]],
            ))
            .map(|e| &*self.cells[e.data])
    }

    /// The box of every cell (west, south, east, north in Web Mercator); `None` when empty.
    pub fn extent(&self) -> Option<[f64; 4]> {
        if self.cells.is_empty() {
            return None;
        }
        let e = self.tree.root().envelope();
        Some([e.lower()[0], e.lower()[1], e.upper()[0], e.upper()[1]])
    }

    /// The label point in lon/lat, for pages and posters.
    pub fn label_lon_lat(&self, code: &str) -> Option<Point<f64>> {
        self.cells
            .iter()
            .find(|c| c.code == code)
            .map(|c| Point(super::mercator::unproject(c.label)))
    }
}
