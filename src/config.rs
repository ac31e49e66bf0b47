//! Configuration files read at start: the working-day calendar (`data/holidays/`, national
//! years then `local/` overlays). Kept apart from the pure domain types they build.

use std::path::Path;

use crate::domain::calendar::Calendar;

/// Where the calendar lives unless `GRIDMAP_HOLIDAYS_DIR` says otherwise.
pub const HOLIDAYS_DIR: &str = "data/holidays";

/// Reads `YYYY.json` files in `dir` (in name order) and then `dir/local/*.json`.
pub fn load_calendar(dir: &Path) -> Result<Calendar, String> {
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
    Calendar::from_documents(&documents).map_err(|e| e.to_string())
}

/// The calendar for this process: `GRIDMAP_HOLIDAYS_DIR`, else `data/holidays`, else (with a
/// warning) weekends only.
pub fn calendar() -> Calendar {
    let dir = std::env::var_os("GRIDMAP_HOLIDAYS_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| HOLIDAYS_DIR.into());
    match load_calendar(&dir) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!("holiday calendar not loaded ({e}); only weekends are days off");
            Calendar::default()
        }
    }
}
