//! Tiles served from memory: the tile source follows the atlas snapshot (rebuilt on the first
//! request after a new revision), and compressed tiles are cached per (layer, z, x, y). A new
//! revision drops only the cached tiles whose extent touches a changed cell, and the ETag is a
//! hash of the tile's bytes, so an untouched tile keeps its ETag across revisions.
//!
//! The cache has a byte budget (`GRIDMAP_TILE_CACHE_MB`, default 256) and evicts by `quick_cache`'s
//! CLOCK-Pro policy, so no sequence of requests grows the server without bound; tiles outside the
//! atlas's extent are answered empty without encoding and never enter it.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

use quick_cache::Weighter;

use arc_swap::ArcSwap;
use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

use super::encode::{Layer, encode_tile};
use super::mercator::{BUFFER, EXTENT, TileId};
use super::source::{TileSource, ZoomRules};
use crate::atlas::Atlas;

/// One encoded tile, compressed once. The bytes are `Bytes` so a response shares them instead
/// of copying (a warm tile is a reference count, not a memcpy).
#[derive(Debug)]
pub struct CachedTile {
    /// `None` for an empty tile (HTTP 204).
    pub raw: Option<bytes::Bytes>,
    pub gzip: Option<bytes::Bytes>,
    pub etag: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TileError {
    #[error("tile encoding failed: {0}")]
    Encode(#[from] mvt::Error),
    #[error("compression failed: {0}")]
    Compress(#[from] std::io::Error),
}

/// The default byte budget of the tile cache.
pub const DEFAULT_BUDGET_MB: u64 = 256;
/// What an entry costs beyond its bytes (key, `Arc`, ETag, the cache's own slot), estimated.
const ENTRY_OVERHEAD_BYTES: u64 = 160;

/// Weighs a cached tile by the bytes it holds.
#[derive(Clone)]
struct TileBytes;

impl Weighter<(Layer, TileId), Arc<CachedTile>> for TileBytes {
    fn weight(&self, _: &(Layer, TileId), tile: &Arc<CachedTile>) -> u64 {
        let held = tile.raw.as_ref().map_or(0, bytes::Bytes::len)
            + tile.gzip.as_ref().map_or(0, bytes::Bytes::len)
            + tile.etag.len();
        held as u64 + ENTRY_OVERHEAD_BYTES
    }
}

type Cache = quick_cache::sync::Cache<(Layer, TileId), Arc<CachedTile>, TileBytes>;

pub struct TileService {
    rules: ZoomRules,
    /// Off only to measure uncached encoding (`GRIDMAP_TILE_CACHE=off`, used by bench/tiles.sh).
    caching: bool,
    source: ArcSwap<TileSource>,
    cache: Cache,
    budget_bytes: u64,
    rebuild: Mutex<()>,
    /// One empty answer shared by every tile outside the atlas (never cached, never encoded).
    outside: Arc<CachedTile>,
}

impl TileService {
    /// A service with the default budget, caching.
    pub fn new(atlas: &Atlas, rules: ZoomRules) -> TileService {
        TileService::configured(atlas, rules, DEFAULT_BUDGET_MB * 1024 * 1024, true)
    }

    /// A service whose cache holds at most `budget_bytes` of tiles.
    pub fn with_budget(atlas: &Atlas, rules: ZoomRules, budget_bytes: u64) -> TileService {
        TileService::configured(atlas, rules, budget_bytes, true)
    }

    /// A service as configured: the byte budget, and whether to cache at all (off only to
    /// measure encoding alone).
    pub fn configured(
        atlas: &Atlas,
        rules: ZoomRules,
        budget_bytes: u64,
        caching: bool,
    ) -> TileService {
        let budget_bytes = budget_bytes.max(64 * 1024);
        TileService {
            rules,
            caching,
            source: ArcSwap::from_pointee(TileSource::new(atlas, rules)),
            // About 2 KB per tile on average (most tiles of a county are small).
            cache: Cache::with_weighter((budget_bytes / 2048) as usize, budget_bytes, TileBytes),
            budget_bytes,
            rebuild: Mutex::new(()),
            outside: Arc::new(CachedTile {
                raw: None,
                gzip: None,
                etag: format!("\"{}\"", hex::encode(&Sha256::digest(b"")[..12])),
            }),
        }
    }

    /// The byte budget and the bytes cached now.
    pub fn usage(&self) -> (u64, u64) {
        (self.budget_bytes, self.cache.weight())
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
        self.follow_locked(atlas)
    }

    /// Brings the tile source to the snapshot served *now*, read under the rebuild lock: a
    /// request that loaded the atlas just before a swap, then waited for the lock, must not
    /// take the source back to the older revision the warmer has already left.
    pub fn follow_served(&self, atlas: &crate::atlas::SharedAtlas) -> usize {
        if self.source.load().revision == atlas.load().revision {
            return 0;
        }
        let _guard = self.rebuild.lock().unwrap_or_else(|e| e.into_inner());
        self.follow_locked(&atlas.load_full())
    }

    fn follow_locked(&self, atlas: &Atlas) -> usize {
        let old = self.source.load_full();
        if old.revision == atlas.revision {
            return 0;
        }
        let (new, changed) = match old.renamed(atlas) {
            Some(renamed) => renamed,
            None => {
                let new = TileSource::new(atlas, self.rules);
                let changed = changed_boxes(&old, &new);
                (new, changed)
            }
        };
        self.source.store(Arc::new(new));
        let before = self.cache.len();
        self.cache.retain(|(_, tile), _| {
            let b = padded(*tile);
            !changed
                .iter()
                .any(|c| c[0] <= b[2] && b[0] <= c[2] && c[1] <= b[3] && b[1] <= c[3])
        });
        before.saturating_sub(self.cache.len())
    }

    /// The cached tile if the service already follows `revision` and holds it: answered without
    /// leaving the request's task (no blocking-pool hop), which is most of a warm tile's cost.
    /// `None` means "call `follow` and `tile` on a blocking thread".
    pub fn hit(&self, revision: i32, layer: Layer, tile: TileId) -> Option<Arc<CachedTile>> {
        if !self.caching || self.source.load().revision != revision {
            return None;
        }
        self.cache.get(&(layer, tile))
    }

    /// The tile, from cache or freshly encoded and compressed.
    pub fn tile(&self, layer: Layer, tile: TileId) -> Result<Arc<CachedTile>, TileError> {
        let source = self.source.load_full();
        let b = padded(tile);
        let touches = source
            .extent()
            .is_some_and(|e| e[0] <= b[2] && b[0] <= e[2] && e[1] <= b[3] && b[1] <= e[3]);
        if !touches {
            return Ok(self.outside.clone());
        }
        if let Some(hit) = self.cache.get(&(layer, tile)) {
            return Ok(hit);
        }
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
        let entry = Arc::new(CachedTile {
            raw: raw.map(bytes::Bytes::from),
            gzip: gzip.map(bytes::Bytes::from),
            etag,
        });
        if !self.caching {
            return Ok(entry);
        }
        self.cache.insert((layer, tile), entry.clone());
        Ok(entry)
    }

    pub fn cached(&self) -> usize {
        self.cache.len()
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
        old.cells.iter().map(|c| (c.code.as_str(), &**c)).collect();
    let new_cells: HashMap<&str, &super::source::TileCell> =
        new.cells.iter().map(|c| (c.code.as_str(), &**c)).collect();
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
