//! Bearer-token authentication. Public reads need no token; handlers that write or read private
//! data take an `AuthUser` and state the roles they accept. Every way a token arrives (the
//! `Authorization` header, Open311's `api_key`, the live stream's `access_token`) goes through
//! `authenticate`, which also rate-limits failed guesses per client address.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::AppState;
use super::error::ApiError;
use crate::domain::role::Role;
use crate::store::users::{self, User};

/// Failed authentications allowed per client address and minute before it gets 429s.
pub const FAILED_AUTH_PER_MINUTE: u32 = 20;

/// Failed guesses per client address: `governor` keeps the rate, and a blocked address is
/// remembered (in a bounded cache) until it may try again, so while limited its guesses cost no
/// database query.
pub struct AuthLimiter {
    failures: DefaultKeyedRateLimiter<IpAddr>,
    blocked: quick_cache::sync::Cache<IpAddr, Instant>,
}

impl AuthLimiter {
    pub fn new(per_minute: u32) -> AuthLimiter {
        let quota =
            Quota::per_minute(NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN));
        AuthLimiter {
            failures: RateLimiter::keyed(quota),
            blocked: quick_cache::sync::Cache::new(100_000),
        }
    }

    /// `Err(seconds to wait)` while `addr` is limited.
    pub fn check(&self, addr: IpAddr) -> Result<(), u64> {
        match self.blocked.get(&addr) {
            Some(until) if until > Instant::now() => Err((until - Instant::now()).as_secs().max(1)),
            _ => Ok(()),
        }
    }

    /// Records a failed guess; `Err(seconds)` when it was one too many.
    pub fn failed(&self, addr: IpAddr) -> Result<(), u64> {
        match self.failures.check_key(&addr) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until
                    .wait_time_from(DefaultClock::default().now())
                    .max(Duration::from_secs(1));
                self.blocked.insert(addr, Instant::now() + wait);
                if self.failures.len() > 100_000 {
                    self.failures.retain_recent();
                }
                Err(wait.as_secs_f64().ceil() as u64)
            }
        }
    }
}

impl AuthLimiter {
    /// The gate of an endpoint that takes a guessable secret (a pairing or ballot code): a 429
    /// while `addr` is limited.
    pub fn admit(&self, addr: IpAddr) -> Result<(), ApiError> {
        self.check(addr)
            .map_err(|retry_after_s| ApiError::TooManyRequests { retry_after_s })
    }

    /// Counts one request from `addr` against its rate (an endpoint limited per address, not
    /// only on failures): a 429 while limited or when this one is one too many.
    pub fn count(&self, addr: IpAddr) -> Result<(), ApiError> {
        self.admit(addr)?;
        self.failed(addr)
            .map_err(|retry_after_s| ApiError::TooManyRequests { retry_after_s })
    }

    /// Counts a wrong guess from `addr` and answers `refusal`, or a 429 when it was one too many.
    pub fn wrong_guess(&self, addr: IpAddr, refusal: ApiError) -> ApiError {
        match self.failed(addr) {
            Ok(()) => refusal,
            Err(retry_after_s) => ApiError::TooManyRequests { retry_after_s },
        }
    }
}

impl Default for AuthLimiter {
    fn default() -> Self {
        AuthLimiter::new(FAILED_AUTH_PER_MINUTE)
    }
}

/// The client's address: the socket peer, or — when the peer is a configured balancer
/// (`Config::trusted_proxies`) — the address that balancer appended last to `X-Forwarded-For`
/// (earlier entries are the client's own claims). Unknown in tests that call the router directly.
pub fn client_addr(parts: &Parts, trusted: &[IpAddr]) -> IpAddr {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    if !trusted.contains(&peer) {
        return peer;
    }
    parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse::<IpAddr>().ok())
        .next_back()
        .unwrap_or(peer)
}

/// The client's address as an extractor (never fails).
pub struct ClientAddr(pub IpAddr);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(client_addr(
            parts,
            &state.config.trusted_proxies,
        )))
    }
}

/// The token of an `Authorization: Bearer …` header; the scheme is case-insensitive (RFC 7235).
pub fn bearer_token(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(header) = headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let text = header.to_str().map_err(|_| ApiError::BadToken)?.trim();
    let (scheme, token) = text.split_once(' ').ok_or(ApiError::BadToken)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::BadToken);
    }
    Ok(Some(token.trim().to_string()))
}

/// The user a token belongs to, or 401; 429 while the address has too many failures.
pub async fn authenticate(state: &AppState, addr: IpAddr, token: &str) -> Result<User, ApiError> {
    let limiter: &Arc<AuthLimiter> = &state.auth_limiter;
    limiter
        .check(addr)
        .map_err(|retry_after_s| ApiError::TooManyRequests { retry_after_s })?;
    let client = state
        .pool
        .get()
        .await
        .map_err(crate::store::StoreError::from)?;
    match users::authenticate(&client, token).await? {
        Some(user) => Ok(user),
        None => match limiter.failed(addr) {
            Ok(()) => Err(ApiError::BadToken),
            Err(retry_after_s) => Err(ApiError::TooManyRequests { retry_after_s }),
        },
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct AuthUser(pub User);

impl AuthUser {
    /// Refuses (403) unless the caller has one of `roles` (admin always passes).
    pub fn require(&self, roles: &[Role]) -> Result<&User, ApiError> {
        if self.0.role.permits(roles) {
            Ok(&self.0)
        } else {
            Err(ApiError::Forbidden(roles.to_vec()))
        }
    }
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer_token(&parts.headers)?.ok_or(ApiError::Unauthenticated)?;
        authenticate(
            state,
            client_addr(parts, &state.config.trusted_proxies),
            &token,
        )
        .await
        .map(AuthUser)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts_from(peer: &str, forwarded: Option<&str>) -> Parts {
        let mut builder = axum::http::Request::builder();
        if let Some(f) = forwarded {
            builder = builder.header("x-forwarded-for", f);
        }
        let (mut parts, ()) = builder.body(()).unwrap().into_parts();
        parts
            .extensions
            .insert(ConnectInfo(SocketAddr::new(peer.parse().unwrap(), 40000)));
        parts
    }

    #[test]
    fn forwarded_for_counts_only_from_a_trusted_balancer_and_only_its_own_entry() {
        let nginx: IpAddr = "127.0.0.1".parse().unwrap();
        let claimed = Some("6.6.6.6, 203.0.113.7");
        // Behind the balancer: the address it appended (the last), not the client's claim.
        assert_eq!(
            client_addr(&parts_from("127.0.0.1", claimed), &[nginx]),
            "203.0.113.7".parse::<IpAddr>().unwrap()
        );
        // A client talking to the node directly cannot choose its address.
        assert_eq!(
            client_addr(&parts_from("198.51.100.2", claimed), &[nginx]),
            "198.51.100.2".parse::<IpAddr>().unwrap()
        );
        // No balancer configured: the header is ignored.
        assert_eq!(client_addr(&parts_from("127.0.0.1", claimed), &[]), nginx);
        // A balancer that sent no header: its own address.
        assert_eq!(client_addr(&parts_from("127.0.0.1", None), &[nginx]), nginx);
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for scheme in ["Bearer", "bearer", "BEARER"] {
            let mut headers = HeaderMap::new();
            headers.insert(AUTHORIZATION, format!("{scheme} gm_x").parse().unwrap());
            assert_eq!(bearer_token(&headers).unwrap().as_deref(), Some("gm_x"));
        }
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, "Basic abc".parse().unwrap());
        assert!(bearer_token(&headers).is_err());
        assert_eq!(bearer_token(&HeaderMap::new()).unwrap(), None);
    }

    #[test]
    fn an_address_is_blocked_after_too_many_failures_and_others_are_not() {
        let limiter = AuthLimiter::new(3);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..3 {
            assert!(limiter.check(a).is_ok());
            assert!(limiter.failed(a).is_ok());
        }
        let wait = limiter.failed(a).unwrap_err();
        assert!((1..=20).contains(&wait), "{wait}");
        assert!(limiter.check(a).is_err());
        assert!(limiter.check(b).is_ok());
    }
}
