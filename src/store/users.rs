//! API users and their bearer tokens. A token is shown once, when created; only its SHA-256 is
//! stored, so a leaked database does not leak usable tokens.

use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use tokio_postgres::Client;

use super::{StoreError, StoreResult};
use crate::domain::role::Role;

/// Prefix that makes gridmap tokens recognisable in logs and secret scanners.
pub const TOKEN_PREFIX: &str = "gm_";

/// The holder of a valid token.
#[derive(Debug, Clone, serde::Serialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: Role,
    /// Cells this user is responsible for (a worker's own grids); empty = no restriction by cell.
    pub cells: Vec<String>,
    /// A department user's department (role `department`).
    pub department: Option<String>,
}

impl User {
    /// The user as the access rules of `domain::access` see it.
    pub fn viewer(&self) -> crate::domain::access::Viewer<'_> {
        crate::domain::access::Viewer {
            role: self.role,
            cells: &self.cells,
            department: self.department.as_deref(),
        }
    }
}

/// A fresh random token: 32 bytes from the OS generator, hex-encoded.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", hex::encode(bytes))
}

pub fn token_digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// How many characters of a token are kept to name it (`gm_` and 9 hex digits: 36 of its 256
/// bits, useless to guess the rest).
pub const STORED_PREFIX_CHARS: usize = 12;

/// Creates a user with one token and returns the token (the only time it exists in clear).
pub async fn add_user(
    client: &mut Client,
    name: &str,
    role: Role,
    cells: &[String],
) -> StoreResult<String> {
    add_user_expiring(client, name, role, cells, None).await
}

/// As `add_user`, with a token that stops working at `expires_at`.
pub async fn add_user_expiring(
    client: &mut Client,
    name: &str,
    role: Role,
    cells: &[String],
    expires_at: Option<DateTime<Utc>>,
) -> StoreResult<String> {
    let tx = client.transaction().await?;
    let exists = tx
        .query_opt("SELECT 1 FROM users WHERE name = $1", &[&name])
        .await?;
    if exists.is_some() {
        return Err(StoreError::Refused(format!(
            "a user named {name:?} already exists"
        )));
    }
    let unknown: Vec<String> = tx
        .query(
            "SELECT c FROM unnest($1::text[]) AS c
             WHERE NOT EXISTS (SELECT 1 FROM cells WHERE valid_to IS NULL AND code = c)",
            &[&cells],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if !unknown.is_empty() {
        return Err(StoreError::Refused(format!(
            "unknown cell code(s) in --cells: {}",
            unknown.join(", ")
        )));
    }
    let id: i64 = tx
        .query_one(
            "INSERT INTO users (name, role, cells) VALUES ($1, $2, $3) RETURNING id",
            &[&name, &role.as_str(), &cells],
        )
        .await?
        .get(0);
    let token = new_token();
    tx.execute(
        "INSERT INTO api_tokens (user_id, token_sha256, token_prefix, expires_at)
         VALUES ($1, $2, $3, $4)",
        &[
            &id,
            &token_digest(&token),
            &&token[..STORED_PREFIX_CHARS],
            &expires_at,
        ],
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}

/// The user a token belongs to, if the token is known, not revoked and its user not disabled.
pub async fn authenticate(client: &Client, token: &str) -> StoreResult<Option<User>> {
    let row = client
        .query_opt(
            "UPDATE api_tokens t SET last_used_at = now()
             FROM users u
             WHERE t.token_sha256 = $1 AND t.revoked_at IS NULL
               AND (t.expires_at IS NULL OR t.expires_at > now())
               AND u.id = t.user_id AND u.disabled_at IS NULL
             RETURNING u.id, u.name, u.role, u.cells, u.department",
            &[&token_digest(token)],
        )
        .await?;
    let Some(row) = row else { return Ok(None) };
    let role: String = row.get(2);
    let role = role
        .parse()
        .map_err(|e: crate::domain::role::UnknownRole| StoreError::Refused(e.to_string()))?;
    Ok(Some(User {
        id: row.get(0),
        name: row.get(1),
        role,
        cells: row.get(3),
        department: row.get(4),
    }))
}

/// A token as administrators see it: never the token, only its first characters.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TokenInfo {
    pub id: i64,
    pub user: String,
    pub role: String,
    pub prefix: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Every token, newest first.
pub async fn tokens(client: &Client) -> StoreResult<Vec<TokenInfo>> {
    let rows = client
        .query(
            "SELECT t.id, u.name, u.role, t.token_prefix, t.created_at, t.last_used_at,
                    t.expires_at, t.revoked_at
             FROM api_tokens t JOIN users u ON u.id = t.user_id ORDER BY t.id DESC",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| TokenInfo {
            id: r.get(0),
            user: r.get(1),
            role: r.get(2),
            prefix: r.get(3),
            created_at: r.get(4),
            last_used_at: r.get(5),
            expires_at: r.get(6),
            revoked_at: r.get(7),
        })
        .collect())
}

/// Revokes the tokens `what` names: a user's name (all their tokens), a whole token, or the
/// beginning of one (at least `gm_` and 4 characters; it must name exactly one token). Returns
/// the tokens revoked; revoking twice is no error but revokes nothing new.
pub async fn revoke(client: &Client, what: &str) -> StoreResult<Vec<TokenInfo>> {
    let what = what.trim();
    let by_user = client
        .query_opt("SELECT id FROM users WHERE name = $1", &[&what])
        .await?;
    let ids: Vec<i64> = if let Some(user) = by_user {
        let user: i64 = user.get(0);
        client
            .query("SELECT id FROM api_tokens WHERE user_id = $1", &[&user])
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect()
    } else if what.starts_with(TOKEN_PREFIX) && what.len() >= TOKEN_PREFIX.len() + 4 {
        let whole = client
            .query_opt(
                "SELECT id FROM api_tokens WHERE token_sha256 = $1",
                &[&token_digest(what)],
            )
            .await?;
        match whole {
            Some(r) => vec![r.get(0)],
            None => {
                let head: String = what.chars().take(STORED_PREFIX_CHARS).collect();
                let ids: Vec<i64> = client
                    .query(
                        "SELECT id FROM api_tokens WHERE starts_with(token_prefix, $1)",
                        &[&head],
                    )
                    .await?
                    .iter()
                    .map(|r| r.get(0))
                    .collect();
                if ids.len() > 1 {
                    return Err(StoreError::Refused(format!(
                        "{what:?} is the beginning of {} tokens; give more of it",
                        ids.len()
                    )));
                }
                ids
            }
        }
    } else {
        Vec::new()
    };
    if ids.is_empty() {
        return Err(StoreError::NotFound(format!(
            "no user and no token {what:?} (a token prefix starts with {TOKEN_PREFIX} and has at least 4 more characters)"
        )));
    }
    revoke_ids(client, &ids).await
}

/// Revokes one token by its id (the admin endpoint).
pub async fn revoke_id(client: &Client, id: i64) -> StoreResult<TokenInfo> {
    revoke_ids(client, &[id])
        .await?
        .pop()
        .ok_or_else(|| StoreError::NotFound(format!("no token {id}")))
}

async fn revoke_ids(client: &Client, ids: &[i64]) -> StoreResult<Vec<TokenInfo>> {
    client
        .execute(
            "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = ANY($1)",
            &[&ids],
        )
        .await?;
    Ok(tokens(client)
        .await?
        .into_iter()
        .filter(|t| ids.contains(&t.id))
        .collect())
}

/// A user as administrators see it (never a token).
#[derive(Debug, Clone, serde::Serialize)]
pub struct UserRow {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub cells: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub disabled: bool,
}

/// All users (never their tokens), for administrators.
pub async fn list(client: &Client) -> StoreResult<Vec<UserRow>> {
    let rows = client
        .query(
            "SELECT id, name, role, cells, created_at, disabled_at IS NOT NULL FROM users ORDER BY id",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| UserRow {
            id: r.get(0),
            name: r.get(1),
            role: r.get(2),
            cells: r.get(3),
            created_at: r.get(4),
            disabled: r.get(5),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_prefixed_and_digest_to_32_bytes() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 64);
        assert_eq!(token_digest(&a).len(), 32);
        assert_ne!(token_digest(&a), token_digest(&b));
    }
}
