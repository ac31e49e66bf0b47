//! A registry import end to end: decode, parse, place every row, write the writable rows in one
//! transaction (or none with `all_or_nothing`), and report every row.

use std::collections::BTreeSet;

use serde::Serialize;
use tokio_postgres::Client;

use crate::atlas::Atlas;
use crate::codec::place::{BuildingIndex, RowReport, Status, place};
use crate::codec::registry::{self, Kind, RegistryFileError};
use crate::geometry::crs::Crs;
use crate::store::StoreError;
use crate::store::registry::{Written, categories, known_buildings, write_import};

/// How the rows came out.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Tally {
    pub rows: usize,
    pub placed: usize,
    pub matched: usize,
    pub ambiguous: usize,
    pub rejected: usize,
}

/// The outcome of an import.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub encoding: &'static str,
    pub crs: String,
    #[serde(flatten)]
    pub tally: Tally,
    /// What was written; `None` when nothing was (all-or-nothing with a bad row).
    pub written: Option<Written>,
    pub report: Vec<RowReport>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    File(#[from] RegistryFileError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Runs an import. `progress` is called with (phase, done, total) for a progress display.
pub async fn import(
    client: &mut Client,
    atlas: &Atlas,
    kind: Kind,
    bytes: &[u8],
    crs: Crs,
    all_or_nothing: bool,
    progress: &(dyn Fn(&str, usize, usize) + Sync),
) -> Result<ImportReport, ImportError> {
    let (text, encoding) = registry::decode(bytes)?;
    progress("parsing", 0, 1);
    let rows = if text.trim_start().starts_with('{') {
        registry::parse_geojson(&text, kind, crs)?
    } else {
        registry::parse_csv(&text, kind, crs)?
    };
    progress("placing", 0, rows.len());
    let index = match kind {
        Kind::Households => BuildingIndex::new(known_buildings(client).await?),
        Kind::Buildings => BuildingIndex::default(),
    };
    let configured: BTreeSet<String> = categories(client).await?.into_keys().collect();
    let locate = |p| atlas.locate_index(p).map(|i| atlas.cells()[i].code.clone());
    let reports = place(kind, &rows, &locate, &index, &configured);
    progress("placing", rows.len(), rows.len());
    let mut tally = Tally {
        rows: reports.len(),
        ..Tally::default()
    };
    for r in &reports {
        match r.status {
            Status::Placed { .. } => tally.placed += 1,
            Status::Matched { .. } => tally.matched += 1,
            Status::Ambiguous { .. } => tally.ambiguous += 1,
            Status::Rejected { .. } => tally.rejected += 1,
        }
    }
    let clean = tally.ambiguous == 0 && tally.rejected == 0;
    let written = if all_or_nothing && !clean {
        None
    } else {
        progress("writing", 0, tally.placed + tally.matched);
        let w = write_import(client, kind, &rows, &reports, &crs.label()).await?;
        progress(
            "writing",
            tally.placed + tally.matched,
            tally.placed + tally.matched,
        );
        Some(w)
    };
    Ok(ImportReport {
        encoding,
        crs: crs.label(),
        tally,
        written,
        report: reports,
    })
}
