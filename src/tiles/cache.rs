//! Tiles served from memory: the tile source follows the atlas snapshot (rebuilt on the first
//! request after a new revision), and compressed tiles are cached per (layer, z, x, y). A new
//! revision drops only the cached tiles whose extent touches a changed cell, and the ETag is a
//! hash of the tile's bytes, so an untouched tile keeps its ETag across revisions.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

use super::encode::{BUFFER, EXTENT, Layer, encode_tile};
use super::mercator::TileId;
use super::source::{TileSource, ZoomRules};
use crate::atlas::Atlas;

/// One encoded tile, compressed once.
#[derive(Debug)]
pub struct CachedTile {
    /// `None` for an empty tile (HTTP 204).
    pub raw: Option<Vec<u8>>,
    pub gzip: Option<Vec<u8>>,
    pub etag: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TileError {
    #[error("tile encoding failed: {0}")]
    Encode(#[from] mvt::Error),
    #[error("compression failed: {0}")]
    Compress(#[from] std::io::Error),
}

pub struct TileService {
    rules: ZoomRules,
    /// Off only to measure uncached encoding (`GRIDMAP_TILE_CACHE=off`, used by bench/tiles.sh).
    caching: bool,
    source: ArcSwap<TileSource>,
    cache: Mutex<HashMap<(Layer, TileId), Arc<CachedTile>>>,
    rebuild: Mutex<()>,
}

impl TileService {
    pub fn new(atlas: &Atlas, rules: ZoomRules) -> TileService {
        TileService {
            rules,
            caching: std::env::var("GRIDMAP_TILE_CACHE").map_or(true, |v| v != "off"),
            source: ArcSwap::from_pointee(TileSource::new(atlas, rules)),
            cache: Mutex::new(HashMap::new()),
            rebuild: Mutex::new(()),
        }
    }

    pub fn source(&self) -> Arc<TileSource> {
        self.source.load_full()
    }

    /// Brings the tile source to `atlas`'s revision, dropping cached tiles that touch changes.
    /// Returns how many cached tiles were dropped.
    pub fn follow(&self, atlas: &Atlas) -> usize {
        if self.source.load().revision == atlas.revision {
            return 0;
        }
        let _guard = self.rebuild.lock().unwrap_or_else(|e| e.into_inner());
        let old = self.source.load_full();
        if old.revision == atlas.revision {
            return 0;
        }
        let new = TileSource::new(atlas, self.rules);
        let changed = changed_boxes(&old, &new);
        self.source.store(Arc::new(new));
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let before = cache.len();
        cache.retain(|(_, tile), _| {
            let b = padded(*tile);
            !changed
                .iter()
                .any(|c| c[0] <= b[2] && b[0] <= c[2] && c[1] <= b[3] && b[1] <= c[3])
        });
        before - cache.len()
    }

    /// The tile, from cache or freshly encoded and compressed.
    pub fn tile(&self, layer: Layer, tile: TileId) -> Result<Arc<CachedTile>, TileError> {
        if let Some(hit) = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(layer, tile))
        {
            return Ok(hit.clone());
        }
        let source = self.source.load_full();
        let raw = encode_tile(&source, layer, tile)?;
        let gzip = match &raw {
            Some(bytes) => {
                let mut encoder =
                    GzEncoder::new(Vec::with_capacity(bytes.len() / 2), Compression::default());
                encoder.write_all(bytes)?;
                Some(encoder.finish()?)
            }
            None => None,
        };
        let etag = format!(
            "\"{}\"",
            hex::encode(&Sha256::digest(raw.as_deref().unwrap_or_default())[..12])
        );
        let entry = Arc::new(CachedTile { raw, gzip, etag });
        if !self.caching {
            return Ok(entry);
        }
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((layer, tile), entry.clone());
        Ok(entry)
    }

    pub fn cached(&self) -> usize {
        self.cache.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// The tile's extent with its buffer, in Web Mercator.
fn padded(tile: TileId) -> [f64; 4] {
    let [w, s, e, n] = tile.bounds();
    let pad = (e - w) * BUFFER as f64 / EXTENT as f64;
    [w - pad, s - pad, e + pad, n + pad]
}

/// Boxes of every cell added, removed or changed between two sources (old and new extent).
fn changed_boxes(old: &TileSource, new: &TileSource) -> Vec<[f64; 4]> {
    let old_cells: HashMap<&str, &super::source::TileCell> =
        old.cells.iter().map(|c| (c.code.as_str(), c)).collect();
    let new_cells: HashMap<&str, &super::source::TileCell> =
        new.cells.iter().map(|c| (c.code.as_str(), c)).collect();
    let mut boxes = Vec::new();
    for (code, cell) in &new_cells {
        match old_cells.get(code) {
            Some(before)
                if before.shape == cell.shape
                    && before.name == cell.name
                    && before.colour == cell.colour
                    && before.kind == cell.kind => {}
            Some(before) => {
                boxes.push(before.bbox);
                boxes.push(cell.bbox);
            }
            None => boxes.push(cell.bbox),
        }
    }
    boxes.extend(
        old_cells
            .iter()
            .filter(|(code, _)| !new_cells.contains_key(*code))
            .map(|(_, c)| c.bbox),
    );
    boxes
}
