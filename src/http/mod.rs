//! The HTTP layer (axum): thin handlers that parse, call the store or domain, and shape JSON.
//! One router file per audience; one error mapping (`error.rs`).

pub mod admin;
pub mod auth;
pub mod error;
pub mod public;

use std::future::Future;

use axum::Router;
use axum::routing::get;
use deadpool_postgres::Pool;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use error::ApiError;

/// What every handler may use. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
}

/// The whole application's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(public::health))
        .route("/api/v1/cells", get(public::list_cells))
        .route("/api/v1/cells/{code}", get(public::get_cell))
        .route("/api/v1/me", get(admin::me))
        .route("/api/v1/users", get(admin::list_users))
        .fallback(|| async { ApiError::NotFound("no such endpoint".into()) })
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves until `shutdown` resolves, then finishes the requests in flight.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
