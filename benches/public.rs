//! The public side's figures (issue 18), on the real server binary (`gridmap serve` on an
//! embedded PostGIS with the demo):
//! - `/g/{code}` at 1,000 requests/s for 20 s, open loop (latency from each request's scheduled
//!   time, so a slow server cannot slow the sender), over every grid of the demo in turn: the
//!   page is rendered once per grid and revision, then served from the cache;
//! - the first render of each grid's page (a cache miss) on its own line;
//! - the service signs of 20 grids in one PDF: the signs of the demo's grids, assembled and
//!   rendered by the same use case the endpoint calls (`app::public::signs` then the renderer),
//!   and the real endpoint for the largest village's batch.
//!
//! Run: `cargo bench --bench public`

use std::sync::Arc;
use std::time::{Duration, Instant};

use gridmap::store;

#[path = "support/mod.rs"]
mod support;
use support::percentile;

const RATE: u64 = 1000;
const SECONDS: u64 = 20;

fn main() {
    support::on_cluster(|endpoint| async move { run(&endpoint).await });
}

async fn run(endpoint: &store::embedded::Endpoint) -> Result<(), Box<dyn std::error::Error>> {
    let (config, client, url) = support::demo_database(endpoint).await?;
    let grids: Vec<String> = client
        .query(
            "SELECT code FROM cells WHERE level = 3 AND valid_to IS NULL ORDER BY code",
            &[],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();

    let (server, origin) = support::start(&url, "127.0.0.1:0");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .timeout(Duration::from_secs(10))
        .build()?;

    // Cold: the first render of each grid's page.
    let mut cold = Vec::new();
    for code in &grids {
        let t = Instant::now();
        let r = http.get(format!("{origin}/g/{code}")).send().await?;
        assert!(r.status().is_success(), "/g/{code}: {}", r.status());
        r.bytes().await?;
        cold.push(t.elapsed().as_secs_f64() * 1e3);
    }
    cold.sort_by(f64::total_cmp);
    println!(
        "/g/{{code}} first render (cache miss) of {} grids: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        cold.len(),
        percentile(&cold, 0.5),
        percentile(&cold, 0.99),
        cold.last().copied().unwrap_or(f64::NAN)
    );

    // Warm, open loop at RATE.
    let total = RATE * SECONDS;
    let start_at = Instant::now() + Duration::from_millis(200);
    let grids = Arc::new(grids);
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        let due = start_at + Duration::from_micros(i * 1_000_000 / RATE);
        tokio::time::sleep_until(due.into()).await;
        let http = http.clone();
        let url = format!("{origin}/g/{}", grids[i as usize % grids.len()]);
        tasks.push(tokio::spawn(async move {
            let ok = match http.get(&url).send().await {
                Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                Err(_) => false,
            };
            (ok, due.elapsed().as_secs_f64() * 1e3)
        }));
    }
    let mut latencies = Vec::with_capacity(tasks.len());
    let mut failed = 0;
    for t in tasks {
        let (ok, ms) = t.await?;
        if ok {
            latencies.push(ms);
        } else {
            failed += 1;
        }
    }
    let elapsed = start_at.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    println!(
        "/g/{{code}} at {RATE}/s offered for {SECONDS} s: {} answered in {elapsed:.1} s ({:.0}/s), {failed} failed; p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms",
        latencies.len(),
        latencies.len() as f64 / elapsed,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(f64::NAN)
    );

    // The real endpoint: the largest village's batch.
    let village: (String, i64) = client
        .query_one(
            "SELECT left(code, 12), count(*) FROM cells WHERE level = 3 AND valid_to IS NULL
             GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1",
            &[],
        )
        .await
        .map(|r| (r.get(0), r.get(1)))?;
    let mut times = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let r = http
            .get(format!("{origin}/sign/{}.pdf", village.0))
            .send()
            .await?;
        assert!(r.status().is_success());
        r.bytes().await?;
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    println!(
        "/sign/{}.pdf ({} grids, one PDF) through the server: best {:.2} s, median {:.2} s of 3",
        village.0, village.1, times[0], times[1]
    );
    drop(server);

    // 20 grids' signs in one PDF, through the same use case and renderer as the endpoint.
    let pool = store::pool(config.clone(), 2)?;
    let atlas: gridmap::app::atlas::SharedAtlas = Arc::new(arc_swap::ArcSwap::from_pointee(
        gridmap::atlas::Atlas::empty(),
    ));
    gridmap::app::atlas::reload(&pool, &atlas).await?;
    let snapshot = atlas.load_full();
    let mut times = Vec::new();
    let mut pages = 0;
    for _ in 0..3 {
        let t = Instant::now();
        let mut signs = Vec::new();
        for v in ["520328004016", "520328004004", "520328004003"] {
            signs.extend(
                gridmap::app::public::signs(
                    &client,
                    snapshot.clone(),
                    v,
                    "https://grid.example.cn",
                )
                .await?,
            );
        }
        signs.truncate(20);
        let pdf = tokio::task::spawn_blocking(move || {
            let svgs =
                gridmap::poster::sign::sign_pages(&signs, gridmap::poster::sign::SignPaper::A4)?;
            gridmap::poster::sheets::pages_to_pdf(&svgs).map(|pdf| (pdf, svgs.len()))
        })
        .await??;
        pages = pdf.1;
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    println!(
        "signs of {pages} grids in one PDF (assembled and rendered): best {:.2} s, median {:.2} s of 3 (goal < 2 s)",
        times[0], times[1]
    );
    Ok(())
}
