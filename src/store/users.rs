//! API users and their bearer tokens. A token is shown once, when created; only its SHA-256 is
//! stored, so a leaked database does not leak usable tokens.

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

/// Creates a user with one token and returns the token (the only time it exists in clear).
pub async fn add_user(
    client: &mut Client,
    name: &str,
    role: Role,
    cells: &[String],
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
        "INSERT INTO api_tokens (user_id, token_sha256) VALUES ($1, $2)",
        &[&id, &token_digest(&token)],
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
               AND u.id = t.user_id AND u.disabled_at IS NULL
             RETURNING u.id, u.name, u.role, u.cells",
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
    }))
}

/// All users (never their tokens), for administrators.
pub async fn list(client: &Client) -> StoreResult<Vec<serde_json::Value>> {
    let rows = client
        .query(
            "SELECT json_build_object('id', id, 'name', name, 'role', role, 'cells', cells,
                    'created_at', created_at, 'disabled', disabled_at IS NOT NULL)
             FROM users ORDER BY id",
            &[],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
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
