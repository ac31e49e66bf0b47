//! Configuration files read at start: the working-day calendar (`data/holidays/`, national
//! years then `local/` overlays). Kept apart from the pure domain types they build.

use std::path::Path;

use std::path::PathBuf;

use crate::domain::calendar::Calendar;
use crate::domain::sizing::Band;

/// The test hook that aborts a draft commit just before COMMIT (`GRIDMAP_FAILPOINT`).
pub const FAILPOINT_BEFORE_COMMIT: &str = "commit-before-finish";

/// Everything a server is configured with, built once in `main` (from the environment and the
/// command line) and passed down; nothing below reads the environment itself.
#[derive(Debug, Clone)]
pub struct Config {
    /// The static pages and their `node_modules` (`GRIDMAP_WEB_DIR`, default `web`).
    pub web_dir: PathBuf,
    /// The shipped working-day calendar (`GRIDMAP_HOLIDAYS_DIR`, default `data/holidays`).
    pub holidays_dir: PathBuf,
    /// Byte budget of the tile cache (`GRIDMAP_TILE_CACHE_MB`, default 256).
    pub tile_cache_bytes: u64,
    /// `GRIDMAP_TILE_CACHE=off` turns the cache off (to measure encoding alone).
    pub tile_cache: bool,
    /// The grid size band drafts are measured against (`GRIDMAP_BAND`, `300:150-450:1000-1500`).
    pub band: Band,
    /// `GRIDMAP_FAILPOINT=commit-before-finish` aborts a commit before COMMIT (tests only).
    pub failpoint: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            web_dir: "web".into(),
            holidays_dir: HOLIDAYS_DIR.into(),
            tile_cache_bytes: 256 * 1024 * 1024,
            tile_cache: true,
            band: Band::default(),
            failpoint: None,
        }
    }
}

impl Config {
    /// The defaults, overridden by the environment; a malformed value is an error naming it.
    pub fn from_env() -> Result<Config, String> {
        let mut config = Config::default();
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        if let Some(dir) = var("GRIDMAP_WEB_DIR") {
            config.web_dir = dir.into();
        }
        if let Some(dir) = var("GRIDMAP_HOLIDAYS_DIR") {
            config.holidays_dir = dir.into();
        }
        if let Some(mb) = var("GRIDMAP_TILE_CACHE_MB") {
            let mb: u64 =
                mb.trim().parse().ok().filter(|m| *m >= 1).ok_or_else(|| {
                    format!("GRIDMAP_TILE_CACHE_MB={mb:?}: a whole number of MB ≥ 1")
                })?;
            config.tile_cache_bytes = mb * 1024 * 1024;
        }
        if let Some(v) = var("GRIDMAP_TILE_CACHE") {
            config.tile_cache = v != "off";
        }
        if let Some(v) = var("GRIDMAP_BAND") {
            config.band = Band::parse(&v).map_err(|e| format!("GRIDMAP_BAND: {e}"))?;
        }
        config.failpoint = var("GRIDMAP_FAILPOINT");
        Ok(config)
    }

    /// Whether the commit failpoint is armed.
    pub fn abort_before_commit(&self) -> bool {
        self.failpoint.as_deref() == Some(FAILPOINT_BEFORE_COMMIT)
    }
}

/// Where the calendar lives unless `GRIDMAP_HOLIDAYS_DIR` says otherwise.
pub const HOLIDAYS_DIR: &str = "data/holidays";

/// Reads `YYYY.json` files in `dir` (in name order) and then `dir/local/*.json`.
pub fn load_calendar(dir: &Path) -> Result<Calendar, String> {
    Calendar::from_documents(&calendar_documents(dir)?).map_err(|e| e.to_string())
}

/// The documents of the calendar directory, in load order, named by their files.
pub fn calendar_documents(dir: &Path) -> Result<Vec<(String, serde_json::Value)>, String> {
    let mut documents = Vec::new();
    for sub in [dir.to_path_buf(), dir.join("local")] {
        let Ok(entries) = std::fs::read_dir(&sub) else {
            continue; // `local/` is optional; a missing main directory gives weekends only.
        };
        let mut files: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        for file in files {
            let text =
                std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let value =
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
            documents.push((file.display().to_string(), value));
        }
    }
    Ok(documents)
}

/// The documents of `dir`, or none (with a warning) when they cannot be read.
pub fn calendar_documents_or_warn(dir: &Path) -> Vec<(String, serde_json::Value)> {
    calendar_documents(dir).unwrap_or_else(|e| {
        tracing::warn!("holiday calendar files not read ({e}); only weekends are days off");
        Vec::new()
    })
}

/// The calendar of `dir`, else (with a warning) weekends only.
pub fn calendar(dir: &Path) -> Calendar {
    match load_calendar(dir) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!("holiday calendar not loaded ({e}); only weekends are days off");
            Calendar::default()
        }
    }
}
