//! The 12345/video intake under load (issue 17): signed deliveries at 200 posts/s for 30 s into
//! the real server binary (`gridmap serve` on an embedded PostGIS with the demo), the server
//! killed with SIGKILL twice — once while deliveries arrive, once while the results are being
//! pushed back — and restarted on the same port. Then every delivery must have exactly one
//! incident, and every closed incident's result must reach the callback (a receiver on loopback
//! that checks each signature), counted there: none missing; repeats (at least once across a
//! crash) are counted and told apart by `X-Gridmap-Delivery`.
//!
//! Latency is measured per post from its scheduled time (open loop: a late server cannot slow the
//! sender down), excluding the posts that met the downtime, which are retried until answered and
//! reported on their own line.
//!
//! Run: `cargo bench --bench intake`

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use gridmap::domain::role::Role;
use gridmap::store::{self, users};

#[path = "support/mod.rs"]
mod support;
use serde_json::{Value, json};
use support::{Server, percentile};

const RATE: u64 = 200;
const SECONDS: u64 = 30;
/// The first kill: this far into the deliveries.
const KILL_AT: Duration = Duration::from_secs(15);

fn main() {
    support::on_cluster(|endpoint| async move { run(&endpoint).await });
}

/// What the callback receiver saw: deliveries by id, results by external id.
#[derive(Default)]
struct Received {
    deliveries: HashSet<String>,
    repeats: usize,
    results: HashMap<String, usize>,
    bad_signatures: usize,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the server binary on `port`; returns once it listens.
fn start(url: &str, port: u16) -> Server {
    support::start(url, &format!("127.0.0.1:{port}")).0
}

async fn run(endpoint: &store::embedded::Endpoint) -> Result<(), Box<dyn std::error::Error>> {
    let (_, mut client, url) = support::demo_database(endpoint).await?;
    let points: Vec<(f64, f64)> = client
        .query(
            "SELECT ST_X(geom), ST_Y(geom) FROM buildings ORDER BY id",
            &[],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let command = users::add_user(&mut client, "bench-command", Role::Command, &[]).await?;

    // The callback receiver: checks every signature, counts deliveries and results.
    let received: Arc<Mutex<Received>> = Arc::default();
    let secret_cell: Arc<Mutex<String>> = Arc::default();
    let callback = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let callback_url = format!("http://{}/results", callback.local_addr()?);
    {
        let received = received.clone();
        let secret = secret_cell.clone();
        let app = axum::Router::new().route(
            "/results",
            axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let received = received.clone();
                let secret = secret.clone();
                async move {
                    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
                    let key = secret.lock().unwrap().clone();
                    let ok = gridmap::app::intake::verify(
                        &key,
                        h("x-gridmap-timestamp"),
                        h("x-gridmap-signature"),
                        &body,
                        chrono::Utc::now(),
                    )
                    .is_ok();
                    let payload: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    let mut r = received.lock().unwrap();
                    if !ok {
                        r.bad_signatures += 1;
                    }
                    let id = h("x-gridmap-delivery").unwrap_or("").to_string();
                    if !r.deliveries.insert(id) {
                        r.repeats += 1;
                        return axum::http::StatusCode::OK;
                    }
                    if let Some(ext) = payload["external_id"].as_str() {
                        *r.results.entry(ext.to_string()).or_default() += 1;
                    }
                    axum::http::StatusCode::OK
                }
            }),
        );
        tokio::spawn(axum::serve(callback, app).into_future());
    }
    let secret = gridmap::app::intake::add_source(
        &client,
        "hotline",
        "12345 热线",
        Default::default(),
        Some(callback_url),
    )
    .await?;
    *secret_cell.lock().unwrap() = secret.clone();

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = start(&url, port);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .timeout(Duration::from_secs(10))
        .build()?;

    // Deliveries at RATE/s, open loop; each retried until answered (the downtime).
    let total = RATE * SECONDS;
    let latencies: Arc<Mutex<Vec<(u64, f64, bool)>>> = Arc::default();
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    let mut killed = false;
    for i in 0..total {
        let due = started + Duration::from_micros(i * 1_000_000 / RATE);
        tokio::time::sleep_until(due.into()).await;
        if !killed && started.elapsed() >= KILL_AT {
            killed = true;
            drop(server); // SIGKILL
            let down = Instant::now();
            server = tokio::task::spawn_blocking({
                let url = url.clone();
                move || start(&url, port)
            })
            .await?;
            println!(
                "kill -9 during deliveries: back after {:.1} s",
                down.elapsed().as_secs_f64()
            );
        }
        let (x, y) = points[(i as usize * 7) % points.len()];
        let body = json!({"external_id": format!("B-{i}"), "category": "0401",
                          "description": format!("热线工单 {i}"), "lon": x, "lat": y, "crs": "cgcs2000"})
        .to_string();
        let (http, base, secret, latencies) = (
            http.clone(),
            base.clone(),
            secret.clone(),
            latencies.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut retried = false;
            loop {
                let ts = chrono::Utc::now().timestamp().to_string();
                let sent = http
                    .post(format!("{base}/api/v1/intake/hotline"))
                    .header("content-type", "application/json")
                    .header(
                        "x-gridmap-signature",
                        gridmap::app::intake::signature(&secret, &ts, body.as_bytes()),
                    )
                    .header("x-gridmap-timestamp", ts)
                    .body(body.clone())
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status().is_success() => break,
                    Ok(r) if r.status().is_client_error() => {
                        panic!("delivery {i} refused: {}", r.status())
                    }
                    _ => {
                        retried = true;
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
            latencies
                .lock()
                .unwrap()
                .push((i, due.elapsed().as_secs_f64() * 1000.0, retried));
        }));
    }
    for t in tasks {
        t.await?;
    }
    let wall = started.elapsed().as_secs_f64();
    let all = latencies.lock().unwrap().clone();
    let mut steady: Vec<f64> = all
        .iter()
        .filter(|(_, _, r)| !r)
        .map(|(_, l, _)| *l)
        .collect();
    steady.sort_by(f64::total_cmp);
    let retried: Vec<f64> = all
        .iter()
        .filter(|(_, _, r)| *r)
        .map(|(_, l, _)| *l)
        .collect();
    println!(
        "deliveries: {total} in {wall:.1} s ({:.0}/s offered {RATE}/s); answered without retry: {}, p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        total as f64 / wall,
        steady.len(),
        percentile(&steady, 0.50),
        percentile(&steady, 0.95),
        percentile(&steady, 0.99),
        steady.last().copied().unwrap_or(f64::NAN),
    );
    // Where the tail lies: per 5 s of the schedule (the kill falls in the window at KILL_AT).
    let windows: Vec<String> = (0..SECONDS.div_ceil(5))
        .map(|w| {
            let mut in_window: Vec<f64> = all
                .iter()
                .filter(|(i, _, r)| i / RATE / 5 == w && !r)
                .map(|(_, l, _)| *l)
                .collect();
            in_window.sort_by(f64::total_cmp);
            format!(
                "{}–{} s {:.1}",
                w * 5,
                w * 5 + 5,
                percentile(&in_window, 0.99)
            )
        })
        .collect();
    println!("p99 per 5 s of the schedule (ms): {}", windows.join(", "));
    // Sustained load on a warm server: from 1 s after the start, and not the 3 s after the kill
    // (posts queued during the downtime, cold PostgreSQL backends after the restart).
    let kill_index = KILL_AT.as_secs() * RATE;
    let mut warm: Vec<f64> = all
        .iter()
        .filter(|(i, _, r)| !r && *i >= RATE && !(kill_index..kill_index + 3 * RATE).contains(i))
        .map(|(_, l, _)| *l)
        .collect();
    warm.sort_by(f64::total_cmp);
    println!(
        "sustained on a warm server ({} posts: from 1 s after the start, outside the 3 s after the kill): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        warm.len(),
        percentile(&warm, 0.50),
        percentile(&warm, 0.99),
        warm.last().copied().unwrap_or(f64::NAN),
    );
    println!(
        "met the downtime and retried until answered: {} (longest {:.0} ms)",
        retried.len(),
        retried.iter().copied().fold(0.0, f64::max)
    );
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM intake_items WHERE source = 'hotline'),
                    (SELECT count(DISTINCT incident_id) FROM intake_items WHERE source = 'hotline'),
                    (SELECT count(*) FROM incidents WHERE source = '12345 热线')",
            &[],
        )
        .await?;
    let (items, distinct, incidents): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    println!(
        "external ids taken: {items} of {total}; incidents for them: {distinct}; incidents from the source: {incidents} (without their id: {})",
        incidents - distinct
    );

    // Close 1,200 of them through the loop (command token, 6 actions each), concurrently: every
    // fifth, so the ones delivered around the first kill are among them.
    let ids: Vec<i64> = client
        .query(
            "SELECT incident_id FROM intake_items WHERE source = 'hotline' AND incident_id % 5 = 0
             ORDER BY 1",
            &[],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let closing = Instant::now();
    let queue = Arc::new(Mutex::new(ids.clone()));
    let mut workers = Vec::new();
    for _ in 0..16 {
        let (queue, http, base, command) =
            (queue.clone(), http.clone(), base.clone(), command.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let Some(id) = queue.lock().unwrap().pop() else {
                    break;
                };
                for action in ["受理", "派遣", "处置", "反馈", "核查", "结案"] {
                    let r = http
                        .post(format!("{base}/api/v1/incidents/{id}/actions"))
                        .bearer_auth(&command)
                        .header("content-type", "application/json")
                        .body(json!({"action": action}).to_string())
                        .send()
                        .await
                        .expect("the server answers");
                    assert!(r.status().is_success(), "{id} {action}: {}", r.status());
                }
            }
        }));
    }
    for w in workers {
        w.await?;
    }
    println!(
        "closed {} incidents through the loop (6 actions each) in {:.1} s",
        ids.len(),
        closing.elapsed().as_secs_f64()
    );

    // Kill the server while the results go out, restart, and count at the callback.
    let pushing = Instant::now();
    loop {
        let n = received.lock().unwrap().results.len();
        if n >= ids.len() / 3 || pushing.elapsed() > Duration::from_secs(120) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let at_kill = received.lock().unwrap().results.len();
    drop(server); // SIGKILL
    let server = tokio::task::spawn_blocking({
        let url = url.clone();
        move || start(&url, port)
    })
    .await?;
    println!(
        "kill -9 while pushing results: {at_kill} of {} received before it",
        ids.len()
    );
    loop {
        let n = received.lock().unwrap().results.len();
        if n >= ids.len() || pushing.elapsed() > Duration::from_secs(600) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let r = received.lock().unwrap();
    let missing = ids.len() - r.results.len();
    let twice = r.results.values().filter(|n| **n > 1).count();
    println!(
        "results at the callback: {} of {} closed ({missing} missing) in {:.1} s; repeated deliveries (same X-Gridmap-Delivery): {}; results under two delivery ids: {twice}; bad signatures: {}",
        r.results.len(),
        ids.len(),
        pushing.elapsed().as_secs_f64(),
        r.repeats,
        r.bad_signatures
    );
    drop(r);
    drop(server);
    assert_eq!(items as u64, total, "every delivery taken");
    assert_eq!(incidents, distinct, "no incident without its delivery");
    assert_eq!(missing, 0, "every result reached the callback");
    Ok(())
}
