//! The live event log: every incident event and atlas revision is a row of `live_events`,
//! written in the transaction that makes the change, so the stream never tells of a change that
//! did not commit nor misses one that did.
//!
//! Why positions are handed out after the commit: a reader asks for "everything after position
//! n", so a position must never become visible after a larger one. Handing positions out inside
//! the writers' transactions needs a lock held through every writer's commit (and its WAL flush),
//! which serialised every incident change. Instead a writer's row carries no position; `sequence`
//! numbers the committed rows in one short transaction under an advisory lock held through its own
//! commit, so sequencer runs — on any node — are ordered and so are the positions they publish.

use std::sync::LazyLock;

use serde_json::Value;
use tokio::sync::watch;
use tokio_postgres::{Client, Transaction};

use super::StoreResult;

/// The NOTIFY channel of the live stream (payload: the newest position).
pub const LIVE_CHANNEL: &str = "gridmap_live";

/// Serialises sequencer runs across processes.
const SEQUENCER_LOCK: i64 = 0x0067_7269_646c_6976;

/// Counts this process's commits that wrote live events, so its sequencer numbers them at once
/// (a timer in the follower catches commits whose process died before it could wake it). A
/// watch rather than a `Notify`: every follower in the process (tests run several) sees every
/// change, even one that happened while it was busy.
static COMMITS: LazyLock<watch::Sender<u64>> = LazyLock::new(|| watch::Sender::new(0));

/// Records a live event in the writer's transaction (it gets its position after the commit).
pub async fn record(tx: &Transaction<'_>, kind: &str, payload: &Value) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO live_events (kind, payload) VALUES ($1, $2)",
        &[&kind, &payload],
    )
    .await?;
    Ok(())
}

/// Tells this process's sequencer that a transaction with live events committed.
pub fn committed() {
    COMMITS.send_modify(|n| *n = n.wrapping_add(1));
}

/// A receiver that changes after every `committed()` from now on.
pub fn commits() -> watch::Receiver<u64> {
    COMMITS.subscribe()
}

/// Numbers the committed events that have no position yet, in the order they were written, and
/// announces the newest position on `LIVE_CHANNEL` (to every node) when there were any.
pub async fn sequence(client: &mut Client) -> StoreResult<Option<i64>> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SEQUENCER_LOCK])
        .await?;
    let newest: Option<i64> = tx
        .query_one(
            "WITH pending AS (
                 SELECT id, nextval('live_seq') AS seq
                 FROM (SELECT id FROM live_events WHERE seq IS NULL ORDER BY id) q
             ), numbered AS (
                 UPDATE live_events e SET seq = p.seq FROM pending p WHERE e.id = p.id
                 RETURNING e.seq
             )
             SELECT max(seq) FROM numbered",
            &[],
        )
        .await?
        .get(0);
    if let Some(newest) = newest {
        tx.execute(
            "SELECT pg_notify($1, $2)",
            &[&LIVE_CHANNEL, &newest.to_string()],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(newest)
}

/// Live events after position `seq` (for `Last-Event-ID` replay and for the follower), oldest
/// first, as (position, kind, payload).
pub async fn after(
    client: &Client,
    seq: i64,
    limit: i64,
) -> StoreResult<Vec<(i64, String, Value)>> {
    let rows = client
        .query(
            "SELECT seq, kind, payload FROM live_events WHERE seq > $1 ORDER BY seq LIMIT $2",
            &[&seq, &limit],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}

/// The newest position (where a fresh follower starts).
pub async fn head(client: &Client) -> StoreResult<i64> {
    Ok(client
        .query_one("SELECT coalesce(max(seq), 0) FROM live_events", &[])
        .await?
        .get(0))
}
