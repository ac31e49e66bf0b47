//! The `Db` extractor: a pooled PostgreSQL connection for the length of a request, so handlers
//! do not each fetch one and map the pool's failure. A pool that cannot give a connection is a
//! 503 (`ApiError::Unavailable`), its words kept for the log. List it after `AuthUser` so a
//! refused caller never holds a connection.

use std::ops::{Deref, DerefMut};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::AppState;
use super::error::ApiError;
use crate::store::StoreError;

/// A connection from the state's pool.
pub struct Db(pub deadpool_postgres::Object);

impl Db {
    /// A connection outside an extractor (a handler that needs one only on some paths).
    pub async fn get(state: &AppState) -> Result<Db, ApiError> {
        Ok(Db(state.pool.get().await.map_err(StoreError::from)?))
    }

    /// A connection for a read that may lag: a standby that has replayed this request's own
    /// writes (`reads`), else the primary. Only for requests that write nothing.
    pub async fn read(state: &AppState) -> Result<Db, ApiError> {
        let (client, served) = state
            .replicas
            .read(super::reads::required_position())
            .await?;
        super::reads::record(served);
        Ok(Db(client))
    }
}

impl Deref for Db {
    type Target = tokio_postgres::Client;

    fn deref(&self) -> &tokio_postgres::Client {
        &self.0
    }
}

impl DerefMut for Db {
    fn deref_mut(&mut self) -> &mut tokio_postgres::Client {
        &mut self.0
    }
}

/// A connection for a read-only request (`Db::read`): lists, statistics, cards.
pub struct ReadDb(pub Db);

impl Deref for ReadDb {
    type Target = tokio_postgres::Client;

    fn deref(&self) -> &tokio_postgres::Client {
        &self.0
    }
}

impl FromRequestParts<AppState> for ReadDb {
    type Rejection = ApiError;

    async fn from_request_parts(_: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Db::read(state).await.map(ReadDb)
    }
}

impl FromRequestParts<AppState> for Db {
    type Rejection = ApiError;

    async fn from_request_parts(_: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Db::get(state).await
    }
}
