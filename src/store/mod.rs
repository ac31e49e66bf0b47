//! The store: PostGIS through tokio-postgres. All SQL of the application lives here and in
//! `migrations/`. Nothing above this module builds a query.

pub mod buildings;
pub mod calendar;
pub mod cards;
pub mod cells;
pub mod demo;
pub mod departments;
pub mod drafts;
pub mod embedded;
pub mod fieldwork;
pub mod incidents;
pub mod intake;
pub mod listen;
pub mod live;
pub mod migrate;
pub mod open;
pub mod public;
pub mod registry;
pub mod replicas;
pub mod teams;
pub mod users;

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

/// Failures of the store. Domain-level refusals (unknown parent, …) are their own variants so the
/// HTTP layer and CLI can report them precisely.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] tokio_postgres::Error),
    #[error("database unavailable: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("cannot build connection pool: {0}")]
    BuildPool(#[from] deadpool_postgres::BuildError),
    #[error(transparent)]
    Embedded(#[from] embedded::EmbeddedError),
    #[error(
        "migration {name} was changed after it was applied (checksum differs); migrations are append-only"
    )]
    MigrationChanged { name: String },
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    NotFound(String),
    /// The request collides with what another writer did first (HTTP 409).
    #[error("{message}")]
    Conflict {
        message: String,
        details: serde_json::Value,
    },
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The name of the application database inside a cluster.
pub const DATABASE: &str = "gridmap";

/// A pool for `config`: short waits so a dead database shows up as an error, not a hang.
pub fn pool(config: tokio_postgres::Config, max_size: usize) -> StoreResult<Pool> {
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Ok(Pool::builder(manager)
        .max_size(max_size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(Duration::from_secs(5)))
        .create_timeout(Some(Duration::from_secs(3)))
        .recycle_timeout(Some(Duration::from_secs(3)))
        .build()?)
}

/// Opens up to `n` of the pool's connections at once and returns them to it, so the first burst
/// after a (re)start does not wait for PostgreSQL to start a backend per request (measured: the
/// intake's p99 was ten times its steady value in the first seconds after a start).
pub async fn warm(pool: &Pool, n: usize) -> StoreResult<()> {
    let opened = futures_util::future::join_all((0..n).map(|_| pool.get())).await;
    for client in opened {
        drop(client?);
    }
    Ok(())
}

/// One connection outside any pool, driven on the current runtime.
pub async fn connect(config: &tokio_postgres::Config) -> StoreResult<tokio_postgres::Client> {
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!("database connection closed: {e}");
        }
    });
    Ok(client)
}

/// Creates database `name` on the server `admin` is connected to, unless it exists.
pub async fn create_database_if_missing(
    admin: &tokio_postgres::Client,
    name: &str,
    template: Option<&str>,
) -> StoreResult<bool> {
    let exists = admin
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await?
        .is_some();
    if exists {
        return Ok(false);
    }
    let mut sql = format!("CREATE DATABASE {}", quote_ident(name));
    if let Some(template) = template {
        sql.push_str(&format!(" TEMPLATE {}", quote_ident(template)));
    }
    admin.batch_execute(&sql).await?;
    Ok(true)
}

/// Quotes an SQL identifier (database names cannot be bound as parameters).
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The current revision number (0 for an empty atlas).
pub async fn current_revision(client: &tokio_postgres::Client) -> StoreResult<i32> {
    let row = client
        .query_one("SELECT coalesce(max(number), 0) FROM revisions", &[])
        .await?;
    Ok(row.get(0))
}
