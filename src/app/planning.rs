//! Planning as use cases: check a draft (the coverage report of the touched families and the
//! impact on buildings, households and open incidents), commit it as one revision (stale base and
//! violations refused, nothing half-written, the new snapshot swapped in), and revert to an old
//! revision through the same commit. Handlers, the CLI and the benchmarks call these.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::Serialize;
use tokio_postgres::Client;

use crate::atlas::check::validate_touched;
use crate::atlas::draft::{DraftError, View};
use crate::atlas::impact::{Band, Impact, impact, touched_boxes};
use crate::atlas::{Atlas, SharedAtlas};
use crate::domain::cell::Cell;
use crate::domain::draft::{Change, Draft};
use crate::geometry::coverage::{Options, Report};
use crate::store::cells::WriteOutcome;
use crate::store::drafts::{self, CommitPlan, StoredDraft};
use crate::store::{self, StoreError};

/// Why a planning use case refused; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum PlanningError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Draft(#[from] DraftError),
    #[error("draft {id} was already committed as revision {revision}")]
    AlreadyCommitted { id: i64, revision: i32 },
    #[error("draft {0} has no changes to commit")]
    NoChanges(i64),
    #[error(
        "the draft is based on revision {base} but revision {current} has been committed since; open a new draft on it"
    )]
    Stale { base: i32, current: i32 },
    #[error("the change breaks the coverage rule; nothing was written")]
    Violations(Box<Report>),
    #[error("the database refused cell {code}: {problem}")]
    Refused { code: String, problem: String },
    #[error("the current cells already equal revision {0}'s")]
    NothingToRevert(i32),
    #[error("{0}")]
    Internal(String),
}

/// Everything a validation or a commit needs to know about a draft over an atlas.
pub struct Checked {
    pub report: Report,
    pub impact: Impact,
    /// (building id, new cell) for the buildings that change cell.
    pub buildings: Vec<(i64, Option<String>)>,
    /// (incident id, new cell) for the open incidents that change cell.
    pub incidents: Vec<(i64, Option<String>)>,
}

/// How commits are judged and written here (from the configuration).
#[derive(Debug, Clone, Copy, Default)]
pub struct Settings {
    /// The size band the impact measures grids against.
    pub band: Band,
    /// Test hook: abort the process just before COMMIT.
    pub abort_before_commit: bool,
}

impl Settings {
    pub fn from_config(config: &crate::config::Config) -> Settings {
        Settings {
            band: config.band,
            abort_before_commit: config.abort_before_commit(),
        }
    }
}

/// What a commit wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Committed {
    pub revision: i32,
    pub written: Vec<String>,
    pub retired: Vec<String>,
    pub lineage: Vec<LineageEntry>,
    pub buildings_moved: usize,
    pub households_moved: i64,
    pub incidents_moved: usize,
}

/// One retired code and a code that replaces it.
#[derive(Debug, Clone, Serialize)]
pub struct LineageEntry {
    pub old: String,
    pub new: String,
}

/// Re-checks only the families the draft touches, and measures its impact (moves computed in
/// memory: the changed cells' new shapes first, the snapshot for the rest).
pub async fn check(
    client: &Client,
    atlas: &Arc<Atlas>,
    draft: &Draft,
    band: Band,
) -> Result<Checked, PlanningError> {
    let touched: BTreeSet<String> = draft.changes.keys().cloned().collect();
    let boxes = touched_boxes(atlas, draft);
    let codes: Vec<String> = touched.iter().cloned().collect();
    let buildings = drafts::buildings_near(client, &codes, &boxes).await?;
    let incidents = drafts::open_incidents_near(client, &codes, &boxes).await?;
    // Counts of every cell a building may leave or join, plus the touched ones.
    let mut count_codes: BTreeSet<String> = touched.clone();
    count_codes.extend(buildings.iter().filter_map(|b| b.cell.clone()));
    let counts =
        drafts::counts_per_cell(client, &count_codes.into_iter().collect::<Vec<_>>()).await?;
    let atlas = atlas.clone();
    let draft = draft.clone();
    // Geometry work off the async workers.
    tokio::task::spawn_blocking(move || {
        let view = View::new(atlas.to_cells(), &draft);
        let report = validate_touched(&view, &touched, &Options::default());
        let (impact, buildings, incidents) =
            impact(&atlas, &draft, &view, &buildings, &incidents, &counts, band);
        Checked {
            report,
            impact,
            buildings,
            incidents,
        }
    })
    .await
    .map_err(|e| PlanningError::Internal(format!("draft check failed: {e}")))
}

/// Commits `stored` as a new revision by `author`: refused when already committed, empty, on a
/// stale base or when the rule would break; otherwise one transaction (cells, retired codes,
/// buildings and open incidents re-assigned, lineage, NOTIFY), then the new snapshot is swapped in
/// (other nodes reload on the NOTIFY).
pub async fn commit(
    client: &mut Client,
    shared: &SharedAtlas,
    stored: &StoredDraft,
    author: &str,
    message: &str,
    settings: Settings,
) -> Result<Committed, PlanningError> {
    if let Some(revision) = stored.committed_revision {
        return Err(PlanningError::AlreadyCommitted {
            id: stored.id,
            revision,
        });
    }
    if stored.draft.changes.is_empty() {
        return Err(PlanningError::NoChanges(stored.id));
    }
    let atlas = shared.load_full();
    let current = store::current_revision(client).await?;
    if current != stored.base_revision || atlas.revision != current {
        return Err(PlanningError::Stale {
            base: stored.base_revision,
            current,
        });
    }
    let checked = check(client, &atlas, &stored.draft, settings.band).await?;
    if !checked.report.valid {
        return Err(PlanningError::Violations(Box::new(checked.report)));
    }
    let written: Vec<Cell> = stored
        .draft
        .changes
        .values()
        .filter_map(|c| match c {
            Change::Put(cell) => Some((**cell).clone()),
            Change::Delete => None,
        })
        .collect();
    let retired: Vec<String> = stored
        .draft
        .changes
        .iter()
        .filter(|(_, c)| matches!(c, Change::Delete))
        .map(|(code, _)| code.clone())
        .collect();
    let plan = CommitPlan {
        draft_id: stored.id,
        base_revision: stored.base_revision,
        author,
        message,
        cells: &written,
        retired: &retired,
        lineage: &stored.draft.lineage,
        buildings: &checked.buildings,
        incidents: &checked.incidents,
        abort_before_commit: settings.abort_before_commit,
    };
    let revision = match drafts::commit(client, &plan).await? {
        WriteOutcome::Committed { revision, .. } => revision,
        WriteOutcome::Stale { base, current } => {
            return Err(PlanningError::Stale { base, current });
        }
        WriteOutcome::Refused(refused) => {
            return Err(PlanningError::Refused {
                code: written
                    .get(refused.feature)
                    .map(|c| c.code.to_string())
                    .unwrap_or_default(),
                problem: refused.problem.to_string(),
            });
        }
    };
    // The new snapshot shares every unchanged cell with the one the draft was checked on.
    let (put, gone) = (written.clone(), retired.clone());
    let built = tokio::task::spawn_blocking(move || atlas.apply(revision, put, &gone))
        .await
        .map_err(|e| PlanningError::Internal(format!("atlas build failed: {e}")))?;
    crate::app::atlas::swap_if_newer(shared, Arc::new(built));
    Ok(Committed {
        revision,
        written: written.iter().map(|c| c.code.to_string()).collect(),
        retired,
        lineage: stored
            .draft
            .lineage
            .iter()
            .map(|(old, new)| LineageEntry {
                old: old.clone(),
                new: new.clone(),
            })
            .collect(),
        buildings_moved: checked.buildings.len(),
        households_moved: checked.impact.moves.iter().map(|m| m.households).sum(),
        incidents_moved: checked.incidents.len(),
    })
}

/// A new commit restoring revision `n`'s cells (through every check of a commit), bringing back
/// the codes those cells had.
pub async fn revert(
    client: &mut Client,
    shared: &SharedAtlas,
    n: i32,
    author: &str,
    message: &str,
    settings: Settings,
) -> Result<Committed, PlanningError> {
    let old = store::cells::load_as_of(client, n).await?;
    let atlas = shared.load_full();
    let base = store::current_revision(client).await?;
    let mut draft = Draft::default();
    let old_codes: BTreeSet<String> = old.iter().map(|c| c.code.to_string()).collect();
    for cell in atlas.cells() {
        if !old_codes.contains(&cell.code) {
            draft.changes.insert(cell.code.clone(), Change::Delete);
        }
    }
    for cell in old {
        let unchanged = atlas
            .get(cell.code.as_str())
            .is_some_and(|c| c.geometry == cell.geometry && c.name == cell.name);
        if !unchanged {
            draft
                .changes
                .insert(cell.code.to_string(), Change::Put(Box::new(cell)));
        }
    }
    if draft.changes.is_empty() {
        return Err(PlanningError::NothingToRevert(n));
    }
    let id = drafts::create(client, author, base).await?;
    let (_, stored) = drafts::edit(client, id, |_, d| {
        *d = draft;
        Ok::<(), PlanningError>(())
    })
    .await??;
    commit(client, shared, &stored, author, message, settings).await
}

/// Why a cell import was refused; nothing was imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportCellsError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "feature {feature}: unknown parent {parent}: it is neither in this file nor a current cell"
    )]
    UnknownParent { feature: usize, parent: String },
    #[error("the import would break the coverage rule\n{}", .0.summary(20))]
    Violations(Box<Report>),
    #[error("{0}")]
    Refused(String),
    #[error("the atlas changed to revision {0} while this import was checked; run it again")]
    Stale(i32),
}

/// Imports parsed cells as one new revision, all or nothing: every parent must exist (in the
/// file or the atlas), the whole atlas as the import would leave it must keep the coverage rule,
/// and the revision read must still be current when it is written. Returns (revision, cells).
pub async fn import_cells(
    client: &mut Client,
    cells: &[Cell],
    author: &str,
    message: &str,
) -> Result<(i32, usize), ImportCellsError> {
    let (base, current) = store::cells::load_current(client).await?;
    let known: std::collections::HashSet<&str> = current.iter().map(|c| c.code.as_str()).collect();
    if let Some((parent, feature)) = crate::codec::cells::external_parents(cells)
        .into_iter()
        .find(|(p, _)| !known.contains(p.as_str()))
    {
        return Err(ImportCellsError::UnknownParent {
            feature,
            parent: parent.to_string(),
        });
    }
    let report = crate::atlas::check::validate_change(&current, cells);
    if !report.valid {
        return Err(ImportCellsError::Violations(Box::new(report)));
    }
    match store::cells::write_revision(client, cells, Some(base), author, message).await? {
        WriteOutcome::Committed { revision, cells } => Ok((revision, cells)),
        WriteOutcome::Refused(r) => Err(ImportCellsError::Refused(r.to_string())),
        WriteOutcome::Stale { current, .. } => Err(ImportCellsError::Stale(current)),
    }
}
