//! The working-day calendar as served: the shipped files (`data/holidays/`) followed by the
//! documents an administrator loaded into the database (`gridmap calendar import`), so the State
//! Council's notice for a new year can be added the day it is published, without a release.
//! Loading a document re-dates the open incidents' deadlines in the same transaction and tells
//! every server to reload.

use std::sync::Arc;

use arc_swap::ArcSwap;
use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use serde_json::Value;

use crate::domain::calendar::{
    Calendar, CalendarError, CalendarStatus, DocumentSummary, check_document, china,
};
use crate::domain::sla::Clock;
use crate::store::{self, StoreError, calendar as stored};

/// The calendar every reader of a server shares; swapped when a document is loaded anywhere.
pub type SharedCalendar = Arc<ArcSwap<Calendar>>;

#[derive(Debug, thiserror::Error)]
pub enum CalendarImportError {
    #[error(transparent)]
    Invalid(#[from] CalendarError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What loading a document did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Loaded {
    pub name: String,
    pub year: Option<i32>,
    pub holidays: usize,
    pub workdays: usize,
    /// The calendar's status after the load.
    pub calendar: CalendarStatus,
    /// Open incidents whose deadline moved.
    pub deadlines_moved: usize,
}

/// Files first, then the database's documents (later ones win on a date).
pub fn build(
    files: &[(String, Value)],
    loaded: &[(String, Value)],
) -> Result<Calendar, CalendarError> {
    let mut all = files.to_vec();
    all.extend(
        loaded
            .iter()
            .map(|(n, d)| (format!("database:{n}"), d.clone())),
    );
    Calendar::from_documents(&all)
}

/// The calendar of this deployment now: files and database documents. A database document that
/// no longer reads (it was checked when loaded) is skipped with a warning rather than stopping
/// the server.
pub async fn current(
    client: &tokio_postgres::Client,
    holidays_dir: &std::path::Path,
) -> Result<Calendar, StoreError> {
    let files = crate::config::calendar_documents_or_warn(holidays_dir);
    let loaded = stored::documents(client).await?;
    Ok(build(&files, &loaded).unwrap_or_else(|e| {
        tracing::warn!("calendar documents in the database not applied: {e}");
        build(&files, &[]).unwrap_or_default()
    }))
}

/// The calendar's status today (China time).
pub fn status_now(calendar: &Calendar) -> CalendarStatus {
    calendar.status(Utc::now().with_timezone(&china()).date_naive())
}

/// Checks `document`, stores it under `name`, re-dates the open incidents with the calendar it
/// makes, and announces it — one transaction: a bad document changes nothing.
pub async fn import(
    client: &mut tokio_postgres::Client,
    holidays_dir: &std::path::Path,
    name: &str,
    document: &Value,
    loaded_by: &str,
    now: DateTime<Utc>,
) -> Result<Loaded, CalendarImportError> {
    let DocumentSummary {
        year,
        holidays,
        workdays,
    } = check_document(name, document)?;
    let files = crate::config::calendar_documents_or_warn(holidays_dir);
    let tx = client.transaction().await.map_err(StoreError::from)?;
    stored::put_document(&tx, name, document, loaded_by).await?;
    let loaded = stored::documents(&tx).await?;
    let calendar = build(&files, &loaded)?;
    let moved = redate(&tx, &calendar, now).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(Loaded {
        name: name.to_string(),
        year,
        holidays,
        workdays,
        calendar: calendar.status(now.with_timezone(&china()).date_naive()),
        deadlines_moved: moved,
    })
}

/// New deadlines for every open incident whose deadline the calendar changes.
async fn redate(
    tx: &tokio_postgres::Transaction<'_>,
    calendar: &Calendar,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let clocks = stored::open_clocks(tx).await?;
    let changed: Vec<(i64, DateTime<Utc>)> = clocks
        .iter()
        .filter_map(|c| {
            let clock = Clock {
                start: c.clock_start,
                budget: c.budget_seconds,
                suspended: c.suspended_seconds,
                suspended_since: c.suspended_since,
            };
            let deadline = clock.status(calendar, now).deadline_at;
            (c.deadline_at != Some(deadline)).then_some((c.id, deadline))
        })
        .collect();
    stored::set_deadlines(tx, &changed).await?;
    Ok(changed.len())
}

/// Reloads `shared` whenever a document is loaded anywhere (and after the listener reconnects).
pub fn follow(
    config: tokio_postgres::Config,
    pool: Pool,
    shared: SharedCalendar,
    holidays_dir: std::path::PathBuf,
) -> tokio::task::JoinHandle<()> {
    let (wake, mut woken) = tokio::sync::mpsc::unbounded_channel::<()>();
    let listener = store::listen::spawn_listener(config, stored::CALENDAR_CHANNEL, move |_| {
        let _ = wake.send(());
    });
    tokio::spawn(async move {
        let _listener = crate::task::AbortOnDrop(listener);
        while woken.recv().await.is_some() {
            while woken.try_recv().is_ok() {}
            match pool.get().await {
                Ok(client) => match current(&client, &holidays_dir).await {
                    Ok(calendar) => {
                        let status = status_now(&calendar);
                        tracing::info!(
                            "working-day calendar reloaded: covered until {:?}",
                            status.covered_until
                        );
                        shared.store(Arc::new(calendar));
                    }
                    Err(e) => tracing::warn!("calendar reload failed: {e}"),
                },
                Err(e) => tracing::warn!("calendar reload failed: {e}"),
            }
        }
    })
}
