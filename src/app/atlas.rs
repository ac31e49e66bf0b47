//! Keeping the served snapshot current: build a new `Atlas` from the store and swap it in.
//! Readers hold an `Arc` of the old one until they finish; nothing blocks them.

use std::sync::Arc;

use deadpool_postgres::Pool;

use crate::atlas::Atlas;
pub use crate::atlas::SharedAtlas;
use crate::store::{self, StoreResult};

/// Brings the served snapshot to the current revision, unless it is already there: from the
/// served one plus the cells changed since (`Atlas::apply`, a few rows for a commit), or from
/// every cell when nothing is served yet or the store went back (a restored backup).
pub async fn reload(pool: &Pool, atlas: &SharedAtlas) -> StoreResult<i32> {
    let client = pool.get().await?;
    let current = store::current_revision(&client).await?;
    let served = atlas.load_full();
    if served.revision == current && current != 0 {
        return Ok(current);
    }
    if served.revision > 0 && served.revision < current {
        let (put, retired) = store::cells::load_changes(&client, served.revision, current).await?;
        drop(client);
        let built = tokio::task::spawn_blocking(move || served.apply(current, put, &retired))
            .await
            .map_err(|e| store::StoreError::Refused(format!("atlas build failed: {e}")))?;
        tracing::info!(
            "atlas snapshot: revision {current} with {} cells",
            built.len()
        );
        swap_if_newer(atlas, Arc::new(built));
        return Ok(current);
    }
    let (revision, cells) = store::cells::load_current(&client).await?;
    drop(client);
    // Building R-trees is CPU work: keep it off the async workers.
    let built = tokio::task::spawn_blocking(move || Atlas::new(revision, cells))
        .await
        .map_err(|e| store::StoreError::Refused(format!("atlas build failed: {e}")))?;
    tracing::info!(
        "atlas snapshot: revision {} with {} cells",
        built.revision,
        built.len()
    );
    atlas.store(Arc::new(built));
    Ok(revision)
}

/// Serves `built` unless a newer revision is already served: a commit's own swap and the
/// reload its NOTIFY sets off race on the committing node, and the later revision wins.
pub fn swap_if_newer(atlas: &SharedAtlas, built: Arc<Atlas>) {
    atlas.rcu(|old| {
        if old.revision < built.revision {
            built.clone()
        } else {
            old.clone()
        }
    });
}

/// Reloads whenever a revision is announced (and after the listener reconnects).
pub fn follow_revisions(
    config: tokio_postgres::Config,
    pool: Pool,
    atlas: SharedAtlas,
) -> tokio::task::JoinHandle<()> {
    let (wake, mut woken) = tokio::sync::mpsc::unbounded_channel::<()>();
    let listener = store::listen::spawn_revision_listener(config, move |_| {
        let _ = wake.send(());
    });
    tokio::spawn(async move {
        // Aborting this task must stop the listener too (a dropped JoinHandle would leave it
        // running, to complain when the database stops at shutdown).
        let _listener = crate::task::AbortOnDrop(listener);
        while woken.recv().await.is_some() {
            while woken.try_recv().is_ok() {}
            if let Err(e) = reload(&pool, &atlas).await {
                tracing::warn!("atlas reload failed: {e}");
            }
        }
    })
}

/// How many past snapshots `as_of` keeps.
const PAST_KEPT: usize = 4;

/// The atlas of revision `n` (for `as_of` queries: an old incident keeps the grid it was reported
/// in). The current snapshot when `n` is current; otherwise loaded once and kept among the few
/// most recently used.
pub async fn as_of(
    pool: &Pool,
    atlas: &SharedAtlas,
    past: &std::sync::Mutex<Vec<Arc<Atlas>>>,
    n: i32,
) -> StoreResult<Arc<Atlas>> {
    let current = atlas.load_full();
    if current.revision == n {
        return Ok(current);
    }
    if let Some(hit) = past
        .lock()
        .ok()
        .and_then(|p| p.iter().find(|a| a.revision == n).cloned())
    {
        return Ok(hit);
    }
    let client = pool.get().await?;
    let cells = store::cells::load_as_of(&client, n).await?;
    drop(client);
    let built = tokio::task::spawn_blocking(move || Atlas::new(n, cells))
        .await
        .map_err(|e| store::StoreError::Refused(format!("atlas build failed: {e}")))?;
    let built = Arc::new(built);
    if let Ok(mut p) = past.lock() {
        p.retain(|a| a.revision != n);
        p.insert(0, built.clone());
        p.truncate(PAST_KEPT);
    }
    Ok(built)
}
