//! Finding the database: `DATABASE_URL` when set, else the embedded cluster under the data
//! directory. Either way the `gridmap` database exists, has PostGIS and is migrated on return.

use std::path::Path;

use super::embedded::Lease;
use super::{DATABASE, StoreResult, connect, create_database_if_missing, migrate};

/// An open database: its connection config and, for the embedded cluster, the lease to release.
pub struct Opened {
    pub config: tokio_postgres::Config,
    pub lease: Option<Lease>,
}

/// Who is asking: a server holds the data directory exclusively; a command shares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Server,
    Command,
}

/// Opens (and if needed creates, starts and migrates) the database.
pub async fn open(
    database_url: Option<&str>,
    data_dir: &Path,
    purpose: Purpose,
) -> StoreResult<Opened> {
    let (config, lease) = match database_url {
        Some(url) => (url.parse::<tokio_postgres::Config>()?, None),
        None => {
            let dir = data_dir.to_path_buf();
            let lease = tokio::task::spawn_blocking(move || match purpose {
                Purpose::Server => Lease::for_server(&dir),
                Purpose::Command => Lease::for_command(&dir),
            })
            .await
            .map_err(|e| super::StoreError::Refused(format!("cluster start panicked: {e}")))??;
            let admin = connect(&lease.endpoint.config("postgres")).await?;
            create_database_if_missing(&admin, DATABASE, None).await?;
            (lease.endpoint.config(DATABASE), Some(lease))
        }
    };
    let mut client = connect(&config).await?;
    client
        .batch_execute("CREATE EXTENSION IF NOT EXISTS postgis")
        .await?;
    migrate::migrate(&mut client).await?;
    Ok(Opened { config, lease })
}

impl Opened {
    /// Stops the embedded cluster when this process should (see `Lease::release`).
    pub async fn close(self) -> StoreResult<()> {
        if let Some(lease) = self.lease {
            tokio::task::spawn_blocking(move || lease.release())
                .await
                .map_err(|e| super::StoreError::Refused(format!("cluster stop panicked: {e}")))??;
        }
        Ok(())
    }
}
