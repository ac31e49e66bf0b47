//! A province on one node (issue 19, part 2): `gridmap synth province` — 200,000 grids in 2,000
//! villages, 100 townships and 10 counties — written as one revision into an embedded PostGIS,
//! then measured against the goals:
//! - the real server binary's start-up (migrations already applied: load the snapshot) and its
//!   resident memory once it listens (goals: < 20 s, RSS < 4 GB);
//! - locate on one core over random points of the province (goal ≥ 1 M points/s/core);
//! - tiles through the server at z13–z15 around the province's middle: cold (each once after a
//!   start) and warm (again);
//! - a 20-cell commit through the drafts API (a village's 20 grids renamed: the writer, the
//!   revision, the snapshot swap; goal < 500 ms);
//! - a full validation of the 202,111 cells on one core and on all;
//! - the households import rate (`PROVINCE_HOUSEHOLDS`, default 1,000,000 of the 20,000,000 a
//!   province holds: the rate is what is measured; the whole import is that many times longer).
//!
//! Run: `cargo bench --bench province`

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use geo_types::Coord;
use gridmap::app::registry::import;
use gridmap::codec::registry::Kind;
use gridmap::demo::synthetic::{Spec, geojson};
use gridmap::domain::role::Role;
use gridmap::geometry::crs::Crs;
use gridmap::store::{self, migrate, users};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;

#[path = "support/mod.rs"]
mod support;
use support::percentile;

fn main() {
    support::on_cluster(|endpoint| async move { run(&endpoint).await });
}

/// The resident memory of a process, from /proc (kB).
fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn tile(lon: f64, lat: f64, z: u32) -> (u32, u32) {
    let n = 2f64.powi(z as i32);
    let x = ((lon + 180.0) / 360.0 * n) as u32;
    let y = ((1.0
        - (lat.to_radians().tan() + 1.0 / lat.to_radians().cos()).ln() / std::f64::consts::PI)
        / 2.0
        * n) as u32;
    (x, y)
}

async fn run(endpoint: &store::embedded::Endpoint) -> Result<(), Box<dyn std::error::Error>> {
    let admin = store::connect(&endpoint.config("postgres")).await?;
    store::create_database_if_missing(&admin, "province", None).await?;
    let config = endpoint.config("province");
    let mut client = store::connect(&config).await?;
    client
        .batch_execute("CREATE EXTENSION IF NOT EXISTS postgis")
        .await?;
    migrate::migrate(&mut client).await?;
    let spec = Spec::province();

    let started = Instant::now();
    let text = geojson(&spec)?.to_string();
    let cells = gridmap::codec::cells::parse_cells(&text)?;
    drop(text);
    println!(
        "synthetic province: {} cells ({} grids) made and parsed in {:.1} s",
        cells.len(),
        cells.iter().filter(|c| c.level == 3).count(),
        started.elapsed().as_secs_f64()
    );

    // Full validation, one core and all.
    {
        use gridmap::geometry::coverage::{Options, cells_from_geojson, validate};
        let text = geojson(&spec)?.to_string();
        let coverage = cells_from_geojson(&text, "code")?;
        for (label, threads) in [("one core", 1), ("all cores", 0)] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()?;
            let started = Instant::now();
            let report = pool.install(|| validate(&coverage, &[], &Options::default()));
            println!(
                "full validation of {} cells on {label}: {:.0} ms ({} violations)",
                coverage.len(),
                started.elapsed().as_secs_f64() * 1e3,
                report.violations.len()
            );
        }
    }

    let started = Instant::now();
    store::cells::write_revision(&mut client, &cells, None, "bench", "synthetic province").await?;
    println!(
        "written as one revision: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    drop(cells);

    // The real server: start-up and memory.
    let url = format!(
        "postgresql://{}@127.0.0.1:{}/province",
        config.get_user().unwrap_or("postgres"),
        config.get_ports().first().copied().unwrap_or(5432)
    );
    let started = Instant::now();
    let (server, origin) = support::start(&url, "127.0.0.1:0");
    let startup = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss = rss_kb(server.0.id());
    println!(
        "server start-up (migrations applied; the snapshot loaded): {startup:.1} s (goal < 20 s); RSS once listening {:.0} MB (goal < 4,096 MB)",
        rss as f64 / 1024.0
    );

    // Tiles through the server around the middle: z13–z15, cold then warm.
    let [west, south, east, north] = spec.bounds;
    let (mx, my) = ((west + east) / 2.0, (south + north) / 2.0);
    let mut urls = Vec::new();
    for z in 13..=15u32 {
        let span = 0.1;
        let (x0, y0) = tile(mx - span, my + span, z);
        let (x1, y1) = tile(mx + span, my - span, z);
        for x in x0..=x1 {
            for y in y0..=y1 {
                urls.push(format!("{origin}/tiles/cells/{z}/{x}/{y}.mvt"));
            }
        }
    }
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(16)
        .build()?;
    for pass in ["cold", "warm"] {
        let started = Instant::now();
        let mut tasks = Vec::new();
        let chunks: Vec<Vec<String>> = urls
            .chunks(urls.len().div_ceil(8))
            .map(|c| c.to_vec())
            .collect();
        for chunk in chunks {
            let http = http.clone();
            tasks.push(tokio::spawn(async move {
                let mut times = Vec::new();
                for u in chunk {
                    let t = Instant::now();
                    let r = http.get(&u).header("accept-encoding", "gzip").send().await;
                    if let Ok(r) = r {
                        let _ = r.bytes().await;
                    }
                    times.push(t.elapsed().as_secs_f64() * 1e3);
                }
                times
            }));
        }
        let mut times = Vec::new();
        for t in tasks {
            times.extend(t.await?);
        }
        times.sort_by(f64::total_cmp);
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "tiles {pass} ({} z13–z15 tiles, 8 at a time, gzip): {:.0} tiles/s, p50 {:.1} ms, p99 {:.1} ms",
            urls.len(),
            urls.len() as f64 / seconds,
            percentile(&times, 0.5),
            percentile(&times, 0.99)
        );
    }

    // A 20-cell commit through the drafts API: 20 grids of one village renamed.
    let planner = users::add_user(&mut client, "bench-planner", Role::Planner, &[]).await?;
    let village: String = client
        .query_one(
            "SELECT code FROM cells WHERE level = 2 AND valid_to IS NULL ORDER BY code LIMIT 1 OFFSET 1000",
            &[],
        )
        .await?
        .get(0);
    let mut times = Vec::new();
    for run in 0..3 {
        let draft: serde_json::Value = serde_json::from_str(
            &http
                .post(format!("{origin}/api/v1/drafts"))
                .bearer_auth(&planner)
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await?
                .text()
                .await?,
        )?;
        let id = draft["id"].as_i64().ok_or("no draft id")?;
        for n in 1..=20 {
            let code = format!("{village}{n:03}");
            // Only the name: the properties and geometry left out keep the cell's own.
            let feature =
                json!({"type": "Feature", "properties": {"name": format!("改名网格{n}-{run}")}});
            let r = http
                .put(format!("{origin}/api/v1/drafts/{id}/cells/{code}"))
                .bearer_auth(&planner)
                .header("content-type", "application/json")
                .body(feature.to_string())
                .send()
                .await?;
            if !r.status().is_success() {
                return Err(format!("put {code}: {} {}", r.status(), r.text().await?).into());
            }
        }
        let started = Instant::now();
        let r = http
            .post(format!("{origin}/api/v1/drafts/{id}/commit"))
            .bearer_auth(&planner)
            .header("content-type", "application/json")
            .body(json!({"message": "bench"}).to_string())
            .send()
            .await?;
        let status = r.status();
        let body = r.text().await?;
        if !status.is_success() {
            return Err(format!("commit: {status} {body}").into());
        }
        times.push(started.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "20-cell commit through the API: median {:.0} ms, best {:.0} ms of 3 (goal < 500 ms)",
        times[1], times[0]
    );
    println!(
        "RSS after the commits {:.0} MB",
        rss_kb(server.0.id()) as f64 / 1024.0
    );
    drop(server);

    // Locate on one core, in process, over random points of the province.
    let pool = store::pool(config.clone(), 4)?;
    let atlas: gridmap::app::atlas::SharedAtlas = std::sync::Arc::new(
        arc_swap::ArcSwap::from_pointee(gridmap::atlas::Atlas::empty()),
    );
    let started = Instant::now();
    gridmap::app::atlas::reload(&pool, &atlas).await?;
    println!(
        "snapshot reload in process: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let snapshot = atlas.load_full();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let probe: Vec<Coord<f64>> = (0..2_000_000)
        .map(|_| Coord {
            x: rng.random_range(west..east),
            y: rng.random_range(south..north),
        })
        .collect();
    let started = Instant::now();
    let found = probe
        .iter()
        .filter(|p| snapshot.locate(**p).is_some())
        .count();
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "locate on one core: {:.2} M points/s ({found} of {} found; goal ≥ 1 M/s)",
        probe.len() as f64 / seconds / 1e6,
        probe.len()
    );

    // Households: the import rate through the same use case as `gridmap import households`.
    let households: usize = std::env::var("PROVINCE_HOUSEHOLDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let mut csv = String::from("户编号,地址,户主,人数,电话,人员类别,经度,纬度\n");
    for h in 0..households {
        let p = probe[h % probe.len()];
        writeln!(
            csv,
            "H{h},合成省{}号,户主{h},{},1390000{:04},常住,{},{}",
            h + 1,
            1 + h % 5,
            h % 10_000,
            p.x,
            p.y
        )?;
    }
    let started = Instant::now();
    let report = import(
        &mut client,
        &snapshot,
        Kind::Households,
        csv.as_bytes(),
        Crs::parse("cgcs2000").ok_or("cgcs2000")?,
        false,
        &|_, _, _| {},
    )
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "households import: {households} in {seconds:.1} s = {:.0} households/s ({} placed, {} rejected); 20,000,000 at that rate: {:.0} s",
        households as f64 / seconds,
        report.tally.placed,
        report.tally.rejected,
        20e6 / (households as f64 / seconds)
    );
    Ok(())
}
