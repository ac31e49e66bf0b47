//! Signed feeds from other platforms (the 12345 hotline, video alarms): a source posts a report
//! with `X-Gridmap-Timestamp` and `X-Gridmap-Signature: sha256=HEX`, the HMAC-SHA256 under its
//! secret of `timestamp + "." + body`. A signature that does not verify, or a timestamp more than
//! five minutes from now, is refused; an external id already taken answers with its incident.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio_postgres::Client;

use crate::app::incidents::IncidentError;

use crate::store::StoreError;
use crate::store::incidents::IncidentRow;
use crate::store::intake::{self as store, Source};

/// Results taken from the outbox at a time; a full batch is followed by the next at once.
pub const DELIVERY_BATCH: i64 = 100;
/// Results of a batch in flight at once.
pub const DELIVERY_CONCURRENCY: usize = 16;

/// How far a timestamp may be from the server's clock.
pub const MAX_SKEW_S: i64 = 300;

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Incident(#[from] IncidentError),
    /// Unknown source, missing, bad or stale signature: all one answer (401), so a caller learns
    /// nothing about which.
    #[error("the signature does not verify: {0}")]
    Unsigned(&'static str),
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
}

/// Adds (or re-keys) a source; returns its new secret (64 hex digits from the OS generator).
pub async fn add_source(
    client: &Client,
    name: &str,
    label: &str,
    category_map: BTreeMap<String, String>,
    callback_url: Option<String>,
) -> Result<String, IntakeError> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && name.as_bytes()[0] != b'-'
        && name.as_bytes()[0] != b'_';
    if !ok {
        return Err(IntakeError::Invalid {
            field: "source".into(),
            message: format!("{name:?}: lower-case letters, digits, - and _, at most 32"),
        });
    }
    let secret = crate::store::users::new_token()
        .trim_start_matches("gm_")
        .to_string();
    store::put_source(
        client,
        &Source {
            name: name.to_string(),
            secret: secret.clone(),
            label: label.to_string(),
            category_map,
            callback_url,
        },
    )
    .await?;
    Ok(secret)
}

/// The HMAC-SHA256 state over `timestamp + "." + body` (HMAC takes a key of any length).
fn mac(secret: &str, timestamp: &str, body: &[u8]) -> Option<Hmac<Sha256>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(mac)
}

/// `sha256=HEX` of `timestamp + "." + body` under `secret`: what a source sends.
pub fn signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    mac(secret, timestamp, body)
        .map(|m| format!("sha256={}", hex::encode(m.finalize().into_bytes())))
        .unwrap_or_default()
}

/// Checks a delivery's timestamp and signature (in constant time).
pub fn verify(
    secret: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, IntakeError> {
    let ts = timestamp.ok_or(IntakeError::Unsigned("no X-Gridmap-Timestamp"))?;
    let seconds: i64 = ts
        .trim()
        .parse()
        .map_err(|_| IntakeError::Unsigned("X-Gridmap-Timestamp is not unix seconds"))?;
    let at = DateTime::<Utc>::from_timestamp(seconds, 0)
        .ok_or(IntakeError::Unsigned("X-Gridmap-Timestamp is out of range"))?;
    if (now - at).abs() > TimeDelta::seconds(MAX_SKEW_S) {
        return Err(IntakeError::Unsigned(
            "the timestamp is more than 5 minutes from now",
        ));
    }
    let given = signature
        .and_then(|s| s.trim().strip_prefix("sha256="))
        .and_then(|h| hex::decode(h).ok())
        .ok_or(IntakeError::Unsigned(
            "X-Gridmap-Signature is not sha256=HEX",
        ))?;
    mac(secret, ts, body)
        .ok_or(IntakeError::Unsigned("the source has no usable secret"))?
        .verify_slice(&given)
        .map_err(|_| IntakeError::Unsigned("the signature does not match"))?;
    Ok(at)
}

/// The source of `name`, or the one answer for anything unknown.
pub async fn source(client: &Client, name: &str) -> Result<Source, IntakeError> {
    store::source(client, name)
        .await?
        .ok_or(IntakeError::Unsigned("no such source"))
}

/// Their category code through the source's map; a code of ours passes as it is.
pub fn map_category(source: &Source, theirs: &str) -> String {
    source
        .category_map
        .get(theirs)
        .cloned()
        .unwrap_or_else(|| theirs.to_string())
}

/// A delivery as the caller parsed it (after its signature verified): their category, not yet
/// mapped; the point already in CGCS2000.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub external_id: String,
    pub category: String,
    pub description: String,
    pub point: geo_types::Coord<f64>,
    pub source_crs: String,
    pub reported_at: Option<DateTime<Utc>>,
}

/// A delivery as it arrived: the source named in the path, the two headers, the exact bytes.
pub struct Signed<'a> {
    pub source: &'a str,
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
    pub body: &'a [u8],
}

/// What a delivery made: its incident, and whether this delivery made it (`false`: the
/// external id was taken before).
pub struct Received {
    pub created: bool,
    pub row: crate::store::incidents::IncidentRow,
    pub external_id: String,
    pub source: String,
}

/// Receives one delivery: the source and signature verified over the exact bytes before
/// anything is parsed (`parse`, the caller's, reads the body), the values checked (naming the
/// field), the category mapped, and the incident reported once per external id. One connection
/// does it all: under a session advisory lock on (source, external id) an id already taken
/// answers with its incident (`created: false`); else the incident is reported with the id
/// recorded in the same transaction — so two deliveries racing make one incident, and a crash
/// leaves either both or neither. `payload` shapes the live event.
#[allow(clippy::too_many_arguments)]
pub async fn receive<E>(
    client: &mut Client,
    atlas: &crate::atlas::Atlas,
    calendar: &crate::domain::calendar::Calendar,
    signed: Signed<'_>,
    parse: impl FnOnce(&[u8]) -> Result<Delivery, E>,
    now: DateTime<Utc>,
    payload: impl FnOnce(&crate::store::incidents::IncidentRow) -> serde_json::Value,
) -> Result<Received, E>
where
    E: From<IntakeError> + From<StoreError>,
{
    let source = source(client, signed.source).await?;
    verify(
        &source.secret,
        signed.timestamp,
        signed.signature,
        signed.body,
        now,
    )?;
    let delivery = parse(signed.body)?;
    let invalid = |field: &str, message: &str| IntakeError::Invalid {
        field: field.into(),
        message: message.into(),
    };
    let external_id = delivery.external_id.trim().to_string();
    if external_id.is_empty() || external_id.chars().count() > 128 {
        return Err(invalid("external_id", "1 to 128 characters").into());
    }
    let description = delivery.description.trim().to_string();
    if description.is_empty() {
        return Err(invalid("description", "required").into());
    }
    let reported_at = match delivery.reported_at {
        Some(t) if t > now + TimeDelta::seconds(MAX_SKEW_S) => {
            return Err(invalid("reported_at", "not in the future").into());
        }
        Some(t) => t.min(now),
        None => now,
    };
    let report = crate::app::incidents::Report {
        category: map_category(&source, delivery.category.trim()),
        description,
        point: delivery.point,
        source_crs: delivery.source_crs,
        address: None,
        source: source.label.clone(),
        severity: None,
        photos: Vec::new(),
        attributes: None,
        delivery: Some((source.name.clone(), external_id.clone())),
        suggestion: None,
    };
    // The platform reports as the command centre would: it sees every grid.
    let reporter = crate::store::users::User {
        id: 0,
        name: format!("intake:{}", source.name),
        role: crate::domain::role::Role::Command,
        cells: Vec::new(),
        department: None,
    };
    store::lock_item(client, &source.name, &external_id, true).await?;
    let taken: Result<(bool, Option<IncidentRow>, i64), E> = async {
        if let Some(id) = store::item(client, &source.name, &external_id).await? {
            return Ok((false, None, id));
        }
        let reported = crate::app::incidents::report(
            client,
            atlas,
            calendar,
            &reporter,
            report,
            reported_at,
            payload,
        )
        .await
        .map_err(IntakeError::from)?;
        let id = reported.row.id;
        Ok((true, Some(reported.row), id))
    }
    .await;
    let unlocked = store::lock_item(client, &source.name, &external_id, false).await;
    let (created, row, id) = taken?;
    unlocked?;
    let row = match row {
        Some(row) => row,
        None => crate::store::incidents::load(client, id).await?,
    };
    Ok(Received {
        created,
        row,
        external_id,
        source: source.name,
    })
}

/// The wait before attempt `n + 1` of a failed delivery: 5 s doubling, at most an hour.
pub fn backoff(attempts: i32) -> TimeDelta {
    TimeDelta::seconds((5i64 << attempts.clamp(0, 10)).min(3600))
}

/// The client results are pushed with: a request gives up after 10 s.
pub fn http_client() -> Result<reqwest::Client, IntakeError> {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| IntakeError::Invalid {
            field: "callback".into(),
            message: e.to_string(),
        })
}

/// Delivers the results due by `now` (up to 50) to their sources' callbacks: each a POST of the
/// result JSON signed like a delivery to us (`X-Gridmap-Timestamp`, `X-Gridmap-Signature`) with
/// `X-Gridmap-Delivery: ID` so a receiver can drop a repeat. A 2xx marks it delivered; anything
/// else is tried again after `backoff`. The rows stay locked while they are sent, so two servers
/// never send one result at once; a crash after a receiver's 2xx but before the commit sends it
/// again (at least once, never lost). Returns (delivered, failed).
pub async fn deliver_due(
    client: &mut Client,
    http: &reqwest::Client,
    now: DateTime<Utc>,
) -> Result<(usize, usize), IntakeError> {
    use futures_util::StreamExt;
    let tx = client.transaction().await.map_err(StoreError::from)?;
    let due = store::due(&tx, now, DELIVERY_BATCH).await?;
    // Sent side by side (a slow receiver holds one slot, not the batch); recorded in the
    // transaction that holds the rows' locks.
    let sent: Vec<(i64, i32, Option<String>)> = futures_util::stream::iter(due)
        .map(|p| async move {
            let body = serde_json::to_vec(&p.payload).unwrap_or_default();
            let ts = Utc::now().timestamp().to_string();
            let sent = http
                .post(&p.callback_url)
                .header("content-type", "application/json")
                .header("x-gridmap-signature", signature(&p.secret, &ts, &body))
                .header("x-gridmap-timestamp", ts)
                .header("x-gridmap-delivery", p.id.to_string())
                .body(body)
                .send()
                .await;
            let error = match sent {
                Ok(r) if r.status().is_success() => None,
                Ok(r) => Some(format!("HTTP {}", r.status())),
                Err(e) => Some(e.to_string()),
            };
            (p.id, p.attempts, error)
        })
        .buffer_unordered(DELIVERY_CONCURRENCY)
        .collect()
        .await;
    let (mut delivered, mut failed) = (0, 0);
    for (id, attempts, error) in sent {
        match error {
            None => {
                store::attempted(&tx, id, Some(now), now, None).await?;
                delivered += 1;
            }
            Some(e) => {
                store::attempted(&tx, id, None, now + backoff(attempts), Some(&e)).await?;
                failed += 1;
            }
        }
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok((delivered, failed))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_failed_delivery_waits_longer_each_time_up_to_an_hour() {
        assert_eq!(backoff(0), TimeDelta::seconds(5));
        assert_eq!(backoff(1), TimeDelta::seconds(10));
        assert_eq!(backoff(5), TimeDelta::seconds(160));
        assert_eq!(backoff(30), TimeDelta::seconds(3600));
    }

    use super::*;

    #[test]
    fn a_signature_verifies_once_and_only_within_five_minutes() {
        let now = Utc::now();
        let ts = now.timestamp().to_string();
        let body = br#"{"external_id":"A1"}"#;
        let sig = signature("secret-of-32-characters-at-least!", &ts, body);
        let secret = "secret-of-32-characters-at-least!";
        assert!(verify(secret, Some(&ts), Some(&sig), body, now).is_ok());
        assert!(
            verify(secret, Some(&ts), Some(&sig), b"{}", now).is_err(),
            "another body"
        );
        assert!(
            verify(
                "another-secret-of-32-characters!!",
                Some(&ts),
                Some(&sig),
                body,
                now
            )
            .is_err()
        );
        let late = now + TimeDelta::seconds(MAX_SKEW_S + 1);
        assert!(
            verify(secret, Some(&ts), Some(&sig), body, late).is_err(),
            "stale"
        );
        assert!(verify(secret, None, Some(&sig), body, now).is_err());
        assert!(verify(secret, Some(&ts), Some("sha1=00"), body, now).is_err());
    }
}
