//! Live latency (DESIGN.md §4): an incident report reaches the wall's SSE stream in under 200 ms
//! (p99) at 500 reports/s sustained for 60 s, with zero lost events counted at the client. Real PostGIS (embedded cluster with the demo), the real router; reports
//! go through the handler in process (validation, location, deadline, one transaction with the
//! event row and NOTIFY), the stream is read over a real TCP connection.
//!
//! Run: `cargo bench --bench live`

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use gridmap::domain::role::Role;
use gridmap::http::{AppState, router};
use gridmap::store::{self, migrate, users};
use serde_json::{Value, json};
use tower::ServiceExt;

#[path = "support/mod.rs"]
mod support;

const RATE: u64 = 500;
const SECONDS: u64 = 60;

fn main() {
    support::on_cluster(|endpoint| async move { run(&endpoint).await });
}

async fn run(endpoint: &store::embedded::Endpoint) -> Result<(), Box<dyn std::error::Error>> {
    let admin = store::connect(&endpoint.config("postgres")).await?;
    store::create_database_if_missing(&admin, "bench", None).await?;
    let config = endpoint.config("bench");
    let mut client = store::connect(&config).await?;
    client
        .batch_execute("CREATE EXTENSION IF NOT EXISTS postgis")
        .await?;
    migrate::migrate(&mut client).await?;
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/demo");
    gridmap::app::demo::load_if_empty(&mut client, &demo).await?;
    let points: Vec<(f64, f64)> = client
        .query(
            "SELECT ST_X(geom), ST_Y(geom) FROM buildings ORDER BY id",
            &[],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let reporter = users::add_user(&mut client, "bench-reporter", Role::Worker, &[]).await?;
    let wall = users::add_user(&mut client, "bench-wall", Role::Command, &[]).await?;

    let state = AppState::new(store::pool(config.clone(), 16)?);
    gridmap::app::atlas::reload(&state.pool, &state.atlas).await?;
    let follower = state.live.follow(config.clone(), state.pool.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?.to_string();
    let app = router(state.clone());
    let server = tokio::spawn(axum::serve(listener, app.clone()).into_future());

    // The wall: one SSE connection, arrival time per report number.
    let arrived: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let sink = arrived.clone();
    let reader = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(&address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        write!(
            stream,
            "GET /api/v1/live?access_token={wall} HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n"
        )
        .unwrap();
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
            if let Some(data) = line.trim_end().strip_prefix("data: ")
                && let Ok(v) = serde_json::from_str::<Value>(data)
                && let Some(n) = v["incident"]["description"]
                    .as_str()
                    .and_then(|d| d.strip_prefix("bench "))
                    .and_then(|n| n.parse::<u64>().ok())
            {
                let mut seen = sink.lock().unwrap();
                seen.insert(n, Instant::now());
                // Events come in commit order, not report order: stop when all have come.
                if seen.len() as u64 == RATE * SECONDS {
                    break;
                }
            }
            line.clear();
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;

    // The reports: 500 per second, each sent at its slot whatever the others are doing.
    let sent: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let started = Instant::now();
    let mut tasks = Vec::new();
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / RATE));
    for n in 0..RATE * SECONDS {
        ticker.tick().await;
        let (lon, lat) = points[n as usize % points.len()];
        let body = json!({"category": "0401", "description": format!("bench {n}"), "lon": lon, "lat": lat, "crs": "cgcs2000"});
        let request = Request::builder()
            .method("POST")
            .uri("/api/v1/incidents")
            .header("authorization", format!("Bearer {reporter}"))
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))?;
        let app = app.clone();
        let sent = sent.clone();
        tasks.push(tokio::spawn(async move {
            sent.lock().unwrap().insert(n, Instant::now());
            let response = app.oneshot(request).await;
            response.map(|r| r.status().as_u16()).unwrap_or(0)
        }));
    }
    let mut failed = 0;
    for t in tasks {
        if t.await.unwrap_or(0) != 201 {
            failed += 1;
        }
    }
    let offered = started.elapsed().as_secs_f64();
    let _ = tokio::task::spawn_blocking(move || reader.join()).await;
    let sent = sent.lock().unwrap();
    let arrived = arrived.lock().unwrap();
    let mut latencies: Vec<f64> = sent
        .iter()
        .filter_map(|(n, t)| arrived.get(n).map(|a| (*a - *t).as_secs_f64() * 1e3))
        .collect();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "live: {} reports in {offered:.1} s ({:.0}/s offered), {failed} failed, {} reached the stream; latency report → SSE: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        RATE * SECONDS,
        (RATE * SECONDS) as f64 / offered,
        latencies.len(),
        pct(0.5),
        pct(0.99),
        latencies.last().copied().unwrap_or(f64::NAN)
    );
    follower.abort();
    server.abort();
    Ok(())
}
