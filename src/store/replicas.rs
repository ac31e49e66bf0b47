//! Reads that may lag, on PostgreSQL hot-standby replicas (`DATABASE_REPLICA_URLS`): lists,
//! statistics and cards are served from a standby so the primary keeps its capacity for writes.
//!
//! Why a position and not a delay: a planner who commits through one node and reads through
//! another must see the commit. Every write answers with the primary's WAL position after it
//! (`written`); a read that carries it goes to a standby only once that standby has replayed past
//! it, else to the primary. A probe reads each standby's replayed position every
//! `PROBE_EVERY`; a standby that does not answer is left out until it answers again, so a
//! stopped replica costs reads nothing but the primary's capacity.
//!
//! Replication itself is PostgreSQL's (streaming, hot standby); nothing here copies data.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use deadpool_postgres::{Object, Pool};
use tokio_postgres::types::PgLsn;

use super::StoreResult;

/// How often each standby's replayed position is read.
pub const PROBE_EVERY: Duration = Duration::from_millis(200);

/// How long a probe or a connection to a standby may take before the standby is left out.
const STANDBY_PATIENCE: Duration = Duration::from_secs(1);

/// Where a read was served from (reported in the `X-Gridmap-Read` response header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    Primary,
    Replica,
}

impl Served {
    pub fn as_str(self) -> &'static str {
        match self {
            Served::Primary => "primary",
            Served::Replica => "replica",
        }
    }
}

struct Standby {
    /// host:port, for the log.
    name: String,
    pool: Pool,
    /// The WAL position it has replayed, as of the last probe; 0 = not usable.
    replayed: AtomicU64,
}

/// The primary and its standbys, shared by a node's requests.
pub struct Replicas {
    primary: Pool,
    standbys: Vec<Standby>,
    next: AtomicUsize,
}

impl Replicas {
    /// No standbys: every read goes to the primary.
    pub fn none(primary: Pool) -> Replicas {
        Replicas::new(primary, Vec::new())
    }

    /// `standbys` as (name, pool); each starts unusable until its first probe answers.
    pub fn new(primary: Pool, standbys: Vec<(String, Pool)>) -> Replicas {
        Replicas {
            primary,
            standbys: standbys
                .into_iter()
                .map(|(name, pool)| Standby {
                    name,
                    pool,
                    replayed: AtomicU64::new(0),
                })
                .collect(),
            next: AtomicUsize::new(0),
        }
    }

    /// Whether any standby is configured (a node without one skips the positions entirely).
    pub fn configured(&self) -> bool {
        !self.standbys.is_empty()
    }

    /// A connection for a read that must see every write up to WAL position `after` (0: any
    /// committed state will do). Standbys in turn, the first that has replayed far enough and
    /// gives a connection in time; else the primary.
    pub async fn read(&self, after: u64) -> StoreResult<(Object, Served)> {
        let n = self.standbys.len();
        if n > 0 {
            let start = self.next.fetch_add(1, Ordering::Relaxed);
            for i in 0..n {
                let standby = &self.standbys[(start + i) % n];
                let replayed = standby.replayed.load(Ordering::Acquire);
                if replayed == 0 || replayed < after {
                    continue;
                }
                match tokio::time::timeout(STANDBY_PATIENCE, standby.pool.get()).await {
                    Ok(Ok(client)) => return Ok((client, Served::Replica)),
                    Ok(Err(e)) => {
                        tracing::warn!("standby {} left out: {e}", standby.name);
                        standby.replayed.store(0, Ordering::Release);
                    }
                    Err(_) => {
                        tracing::warn!("standby {} left out: no connection in time", standby.name);
                        standby.replayed.store(0, Ordering::Release);
                    }
                }
            }
        }
        Ok((self.primary.get().await?, Served::Primary))
    }

    /// The primary's WAL position now: after a write has committed, a standby that has replayed
    /// this far shows it.
    pub async fn written(&self) -> StoreResult<u64> {
        let client = self.primary.get().await?;
        let row = client.query_one("SELECT pg_current_wal_lsn()", &[]).await?;
        Ok(u64::from(row.get::<_, PgLsn>(0)))
    }

    /// Reads every standby's replayed position once.
    pub async fn probe(&self) {
        for standby in &self.standbys {
            let replayed = tokio::time::timeout(STANDBY_PATIENCE, replayed(&standby.pool))
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or(0);
            let before = standby.replayed.swap(replayed, Ordering::AcqRel);
            if (before == 0) != (replayed == 0) {
                if replayed == 0 {
                    tracing::warn!(
                        "standby {} does not answer: reads go elsewhere",
                        standby.name
                    );
                } else {
                    tracing::info!("standby {} serves reads", standby.name);
                }
            }
        }
    }

    /// Probes every `PROBE_EVERY` for as long as the node runs.
    pub fn spawn_probe(self: Arc<Self>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut every = tokio::time::interval(PROBE_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                self.probe().await;
            }
        })
    }
}

/// Pools for the standbys' URLs (`DATABASE_REPLICA_URLS`), each named host:port for the log —
/// never with its password. A URL that does not parse is an error before anything connects.
pub fn standbys(urls: &[&str], max_size: usize) -> StoreResult<Vec<(String, Pool)>> {
    urls.iter()
        .map(|url| {
            let config = url.parse::<tokio_postgres::Config>()?;
            let host = match config.get_hosts().first() {
                Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
                Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
                None => "localhost".to_string(),
            };
            let port = config.get_ports().first().copied().unwrap_or(5432);
            Ok((format!("{host}:{port}"), super::pool(config, max_size)?))
        })
        .collect()
}

/// The position a server has replayed; a server that is not a standby (promoted, or a primary
/// named as a replica) has everything it wrote.
async fn replayed(pool: &Pool) -> StoreResult<u64> {
    let client = pool.get().await?;
    let row = client
        .query_one(
            "SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() \
             ELSE pg_current_wal_lsn() END",
            &[],
        )
        .await?;
    Ok(row.get::<_, Option<PgLsn>>(0).map(u64::from).unwrap_or(0))
}

/// A WAL position as PostgreSQL writes it (`16/B374D848`), for headers and cookies.
pub fn format_lsn(lsn: u64) -> String {
    PgLsn::from(lsn).to_string()
}

/// Parses a position written by `format_lsn`; `None` for anything else.
pub fn parse_lsn(text: &str) -> Option<u64> {
    text.trim().parse::<PgLsn>().ok().map(u64::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_survives_its_header_form() {
        let lsn = (0x16u64 << 32) | 0xB374_D848;
        assert_eq!(format_lsn(lsn), "16/B374D848");
        assert_eq!(parse_lsn("16/B374D848"), Some(lsn));
        assert_eq!(parse_lsn("not a position"), None);
        assert_eq!(parse_lsn(""), None);
    }
}
