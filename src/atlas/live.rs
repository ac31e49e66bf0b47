//! Keeping the served snapshot current: build a new `Atlas` from the store and swap it in.
//! Readers hold an `Arc` of the old one until they finish; nothing blocks them.

use std::sync::Arc;

use arc_swap::ArcSwap;
use deadpool_postgres::Pool;

use super::Atlas;
use crate::store::{self, StoreResult};

/// The snapshot every request reads.
pub type SharedAtlas = Arc<ArcSwap<Atlas>>;

/// Loads the current revision and swaps it in, unless the served one is already that revision.
pub async fn reload(pool: &Pool, atlas: &SharedAtlas) -> StoreResult<i32> {
    let client = pool.get().await?;
    let current = store::current_revision(&client).await?;
    if atlas.load().revision == current && current != 0 {
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
        while woken.recv().await.is_some() {
            while woken.try_recv().is_ok() {}
            if let Err(e) = reload(&pool, &atlas).await {
                tracing::warn!("atlas reload failed: {e}");
            }
        }
        listener.abort();
    })
}
