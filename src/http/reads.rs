//! Reading one's own writes across nodes and standbys. A successful write answers with the
//! primary's WAL position after it, as the `X-Gridmap-Lsn` header and the `gridmap_lsn` cookie; a
//! request that sends either back is served from a standby only once that standby has replayed
//! past it (`store::replicas`). Every response that read through `Db::read` says where from in
//! `X-Gridmap-Read` (`primary` or `replica`). A node without standbys does none of this.

use std::sync::atomic::{AtomicU8, Ordering};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;
use crate::store::replicas::{Served, format_lsn, parse_lsn};

/// The header a write's position travels in (both ways).
pub const LSN_HEADER: &str = "x-gridmap-lsn";
/// The cookie that carries it for browsers.
pub const LSN_COOKIE: &str = "gridmap_lsn";
/// Where a read was served from.
pub const READ_HEADER: &str = "x-gridmap-read";
/// How long a browser keeps asking for its own writes: far longer than any healthy lag.
const COOKIE_SECONDS: u32 = 300;

/// This request's read requirement and what served it.
pub struct ReadScope {
    /// The WAL position reads must have replayed (0: none).
    pub after: u64,
    served: AtomicU8,
}

tokio::task_local! {
    static SCOPE: ReadScope;
}

/// The position this request's reads must see (0 outside a request or without a position).
pub fn required_position() -> u64 {
    SCOPE.try_with(|s| s.after).unwrap_or(0)
}

/// Records where a read of this request was served from.
pub fn record(served: Served) {
    let code = match served {
        Served::Primary => 1,
        Served::Replica => 2,
    };
    let _ = SCOPE.try_with(|s| s.served.fetch_max(code, Ordering::Relaxed));
}

/// The middleware: sets up the scope, and after a successful write adds its position.
pub async fn route_reads(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !state.replicas.configured() {
        return next.run(request).await;
    }
    let after = position_of(&request).unwrap_or(0);
    let write = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let scope = ReadScope {
        after,
        served: AtomicU8::new(0),
    };
    let (mut response, served) = SCOPE
        .scope(scope, async {
            let response = next.run(request).await;
            (response, SCOPE.with(|s| s.served.load(Ordering::Relaxed)))
        })
        .await;
    let succeeded = response.status().is_success();
    let headers = response.headers_mut();
    match served {
        1 => {
            headers.insert(READ_HEADER, HeaderValue::from_static("primary"));
        }
        2 => {
            headers.insert(READ_HEADER, HeaderValue::from_static("replica"));
        }
        _ => {}
    }
    if write && succeeded {
        match state.replicas.written().await {
            Ok(lsn) => {
                let text = format_lsn(lsn);
                if let Ok(value) = HeaderValue::from_str(&text) {
                    headers.insert(LSN_HEADER, value);
                }
                let cookie = format!(
                    "{LSN_COOKIE}={text}; Max-Age={COOKIE_SECONDS}; Path=/; HttpOnly; SameSite=Lax"
                );
                if let Ok(value) = HeaderValue::from_str(&cookie) {
                    headers.append(header::SET_COOKIE, value);
                }
            }
            // The write stands; without its position the caller's next read may lag.
            Err(e) => tracing::warn!("no WAL position for a write's answer: {e}"),
        }
    }
    response
}

/// The position a request carries: its header, else its cookie.
fn position_of(request: &Request) -> Option<u64> {
    if let Some(value) = request.headers().get(LSN_HEADER) {
        return value.to_str().ok().and_then(parse_lsn);
    }
    request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == LSN_COOKIE)
        .and_then(|(_, value)| parse_lsn(value))
}
