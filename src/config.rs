//! Configuration files read at start: the working-day calendar (`data/holidays/`, national
//! years then `local/` overlays). Kept apart from the pure domain types they build.

use std::path::Path;

use crate::domain::calendar::Calendar;

/// Where the calendar lives unless `GRIDMAP_HOLIDAYS_DIR` says otherwise.
pub const HOLIDAYS_DIR: &str = "data/holidays";

/// Reads `YYYY.json` files in `dir` (in name order) and then `dir/local/*.json`.
pub fn load_calendar(dir: &Path) -> Result<Calendar, String> {
    Calendar::from_documents(&calendar_documents(dir)?).map_err(|e| e.to_string())
}

/// The calendar directory of this process (`GRIDMAP_HOLIDAYS_DIR`, else `data/holidays`).
pub fn holidays_dir() -> std::path::PathBuf {
    std::env::var_os("GRIDMAP_HOLIDAYS_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| HOLIDAYS_DIR.into())
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

/// The files' documents, or none (with a warning) when they cannot be read.
pub fn calendar_documents_or_warn() -> Vec<(String, serde_json::Value)> {
    let dir = holidays_dir();
    calendar_documents(&dir).unwrap_or_else(|e| {
        tracing::warn!("holiday calendar files not read ({e}); only weekends are days off");
        Vec::new()
    })
}

/// The calendar for this process: `GRIDMAP_HOLIDAYS_DIR`, else `data/holidays`, else (with a
/// warning) weekends only.
pub fn calendar() -> Calendar {
    match load_calendar(&holidays_dir()) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!("holiday calendar not loaded ({e}); only weekends are days off");
            Calendar::default()
        }
    }
}
