//! `GET /api/v1/live`: Server-Sent Events of incidents and revisions. `Last-Event-ID` (header or
//! `last_event_id=`) replays what a reconnecting client missed from the database, then the stream
//! continues live. EventSource cannot send headers, so the token may come as `access_token=`.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use utoipa::IntoParams;

use super::AppState;
use super::auth::{ClientAddr, authenticate, bearer_token};
use super::error::ApiError;
use super::field::view_live_event;
use super::params::Params;
use crate::domain::role::Role;
use crate::store::live::after as live_after;

fn event_of(id: i64, kind: &str, payload: &serde_json::Value) -> Event {
    Event::default()
        // A dropped wall comes back after a second, not the browser's default three.
        .retry(Duration::from_secs(1))
        .id(id.to_string())
        .event(kind)
        .data(payload.to_string())
}

/// `GET /api/v1/live` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LiveParams {
    /// The token, for EventSource (which sends no headers).
    access_token: Option<String>,
    /// Replay from after this event id (or the Last-Event-ID header).
    #[param(minimum = 0)]
    last_event_id: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/live", tag = "incidents", params(LiveParams), responses((status = 200, description = "Server-Sent Events: incident.created, incident.updated, atlas.revision", content_type = "text/event-stream", body = String), (status = "4XX", description = "Refused", body = super::openapi::ErrorBody)), security(("bearer" = [])))]
pub async fn live(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Params(query): Params<LiveParams>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let token = bearer_token(&headers)?
        .or(query.access_token)
        .ok_or(ApiError::Unauthenticated)?;
    let user = authenticate(&state, addr, &token).await?;
    if !user.role.permits(&[Role::Command, Role::Planner]) {
        return Err(ApiError::Forbidden(vec![Role::Command, Role::Planner]));
    }
    let last: Option<i64> = match headers.get("last-event-id") {
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .ok_or_else(|| {
                    ApiError::bad_field("Last-Event-ID", "Last-Event-ID must be an event id")
                })?,
        ),
        None => query.last_event_id,
    };
    // Subscribe first, replay second: nothing falls between the two.
    let mut live = state.live.subscribe();
    let (send, receive) = tokio::sync::mpsc::channel::<Event>(1024);
    let pool = state.pool.clone();
    let atlas = state.atlas.clone();
    // Every event passes the incident rule for this user (summaries for planners).
    let view = move |kind: &str, payload: serde_json::Value| {
        view_live_event(&user, kind, payload, &atlas.load())
    };
    tokio::spawn(async move {
        let mut seen = -1i64;
        let replay = |from: i64| {
            let pool = pool.clone();
            async move {
                let client = pool.get().await.ok()?;
                live_after(&client, from, 100_000).await.ok()
            }
        };
        if let Some(from) = last {
            for (id, kind, payload) in replay(from).await.unwrap_or_default() {
                seen = id;
                let Some(payload) = view(&kind, payload) else {
                    continue;
                };
                if send.send(event_of(id, &kind, &payload)).await.is_err() {
                    return;
                }
            }
        }
        loop {
            match live.recv().await {
                Ok(e) if e.id > seen => {
                    seen = e.id;
                    let Some(payload) = view(&e.kind, e.payload.clone()) else {
                        continue;
                    };
                    if send.send(event_of(e.id, &e.kind, &payload)).await.is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                // Too slow a reader: fetch what it skipped from the database.
                Err(RecvError::Lagged(_)) => {
                    for (id, kind, payload) in replay(seen.max(0)).await.unwrap_or_default() {
                        seen = id;
                        let Some(payload) = view(&kind, payload) else {
                            continue;
                        };
                        if send.send(event_of(id, &kind, &payload)).await.is_err() {
                            return;
                        }
                    }
                }
                Err(RecvError::Closed) => return,
            }
        }
    });
    // The stream ends when the server shuts down (the browser reconnects to the next one).
    let closing = state.live.closing();
    let stream = futures_util::stream::unfold((receive, closing), |(mut r, mut c)| async move {
        if *c.borrow() {
            return None;
        }
        tokio::select! {
            e = r.recv() => e.map(|e| (Ok(e), (r, c))),
            _ = c.changed() => None,
        }
    });
    Ok(Sse::new(stream).keep_alive(
        KeepAlive::new()
            .interval(Duration::from_secs(15))
            .text("keep-alive"),
    ))
}
