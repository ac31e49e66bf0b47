//! Field work against its targets (issue 15), each beside its peer where there is one:
//! - the coverage of a 2-hour track (7,200 fixes) over a grid of 300 buildings (< 5 ms), ours
//!   (`geometry::track::within_reach`) and PostGIS `ST_DWithin` on geography, same data, same run;
//! - one sync of 1,000 queued actions through `app::fieldwork::sync` on the demo (< 1 s);
//! - judging compliance for a county, 10,000 grids and workers over a month (< 2 s), the pure
//!   `domain::duty::judge` over synthetic records of that size.
//!
//! Run: `cargo bench --bench field`

use std::collections::HashMap;
use std::time::Instant;

use chrono::{NaiveDate, TimeDelta, Utc};
use geo_types::Coord;
use gridmap::app::fieldwork::{self, SyncContext};
use gridmap::domain::duty::{Facts, HouseholdFacts, PatrolFacts, Period, Rules, judge};
use gridmap::domain::role::Role;
use gridmap::geometry::track::within_reach;
use gridmap::store::{self, embedded::Cluster, migrate, users};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::new(dir.path()).expect("PostgreSQL binaries");
    let endpoint = cluster.start().expect("cluster starts");
    let result = run(&endpoint, dir.path()).await;
    cluster.stop().ok();
    result.expect("bench");
}

async fn run(
    endpoint: &store::embedded::Endpoint,
    dir: &std::path::Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let admin = store::connect(&endpoint.config("postgres")).await?;
    store::create_database_if_missing(&admin, "bench", None).await?;
    let config = endpoint.config("bench");
    let mut client = store::connect(&config).await?;
    client
        .batch_execute("CREATE EXTENSION IF NOT EXISTS postgis")
        .await?;
    migrate::migrate(&mut client).await?;

    // 1. Coverage: 300 buildings in a 600 m square, a 2-hour random walk of 7,200 fixes.
    let mut rng = ChaCha8Rng::seed_from_u64(15);
    let origin = Coord {
        x: 107.48,
        y: 27.75,
    };
    let m = |dx: f64, dy: f64| Coord {
        x: origin.x + dx / 98_600.0,
        y: origin.y + dy / 111_195.0,
    };
    let buildings: Vec<(i64, Coord<f64>)> = (0..300)
        .map(|i| {
            (
                i as i64,
                m(rng.random_range(0.0..600.0), rng.random_range(0.0..600.0)),
            )
        })
        .collect();
    let (mut x, mut y, mut heading) = (300.0f64, 300.0f64, 0.0f64);
    let track: Vec<Coord<f64>> = (0..7200)
        .map(|_| {
            heading += rng.random_range(-0.3..0.3);
            x = (x + 1.2 * heading.cos()).clamp(0.0, 600.0);
            y = (y + 1.2 * heading.sin()).clamp(0.0, 600.0);
            m(x, y)
        })
        .collect();
    let mut ours_ms = Vec::new();
    let mut covered = 0;
    for _ in 0..50 {
        let t = Instant::now();
        covered = within_reach(&track, &buildings, 50.0).len();
        ours_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    client
        .batch_execute(
            "CREATE TEMP TABLE bb (id bigint, geom geometry(Point, 4490));
             CREATE TEMP TABLE tt (geom geometry(LineString, 4490));",
        )
        .await?;
    let xs: Vec<f64> = buildings.iter().map(|b| b.1.x).collect();
    let ys: Vec<f64> = buildings.iter().map(|b| b.1.y).collect();
    client
        .execute(
            "INSERT INTO bb SELECT i, ST_SetSRID(ST_MakePoint(x, y), 4490)
             FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS u(x, y, i)",
            &[&xs, &ys],
        )
        .await?;
    let tx: Vec<f64> = track.iter().map(|c| c.x).collect();
    let ty: Vec<f64> = track.iter().map(|c| c.y).collect();
    client
        .execute(
            "INSERT INTO tt SELECT ST_SetSRID(ST_MakeLine(array_agg(ST_MakePoint(x, y) ORDER BY i)), 4490)
             FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS u(x, y, i)",
            &[&tx, &ty],
        )
        .await?;
    let mut postgis_ms = Vec::new();
    let mut postgis_covered = 0;
    for _ in 0..10 {
        let t = Instant::now();
        postgis_covered = client
            .query_one(
                "SELECT count(*) FROM bb, tt WHERE ST_DWithin(bb.geom::geography, tt.geom::geography, 50)",
                &[],
            )
            .await?
            .get::<_, i64>(0);
        postgis_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let (ours, theirs) = (median(ours_ms), median(postgis_ms));
    println!(
        "coverage, 7,200 fixes × 300 buildings: ours {ours:.2} ms ({covered} covered), PostGIS ST_DWithin {theirs:.1} ms ({postgis_covered} covered): {:.0}× (target < 5 ms)",
        theirs / ours
    );

    // 2. One sync of 1,000 queued actions on the demo: a patrol of 900 chunks of 8 fixes and
    //    98 visits.
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/demo");
    gridmap::app::demo::load_if_empty(&mut client, &demo).await?;
    let row = client
        .query_one(
            "SELECT b.cell_code, ST_X(b.geom), ST_Y(b.geom) FROM buildings b
             GROUP BY b.cell_code, b.geom ORDER BY b.cell_code LIMIT 1",
            &[],
        )
        .await?;
    let (grid, bx, by): (String, f64, f64) = (row.get(0), row.get(1), row.get(2));
    let households: Vec<i64> = client
        .query(
            "SELECT h.id FROM households h JOIN buildings b ON b.id = h.building_id WHERE b.cell_code = $1 ORDER BY h.id LIMIT 98",
            &[&grid],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    users::add_user(
        &mut client,
        "bench-worker",
        Role::Worker,
        std::slice::from_ref(&grid),
    )
    .await?;
    let worker = store::fieldwork::user_by_name(&client, "bench-worker")
        .await?
        .ok_or("no worker")?;
    let id = |n: usize| format!("00000000-0000-4000-8000-{n:012x}");
    let at = Utc::now().to_rfc3339();
    let t0 = Utc::now().timestamp_millis() - 3_600_000;
    let mut actions: Vec<Value> = vec![json!({"id": id(0), "kind": "patrol.start", "at": at})];
    for c in 0..900 {
        let points: Vec<[f64; 4]> = (0..8)
            .map(|k| {
                let i = c * 8 + k;
                [
                    bx + (i % 200) as f64 * 1e-5,
                    by + (i / 200) as f64 * 1e-5,
                    (t0 + i as i64 * 1000) as f64,
                    8.0,
                ]
            })
            .collect();
        actions.push(json!({"id": id(1 + c), "kind": "patrol.points", "at": at, "patrol": id(0), "points": points}));
    }
    actions.push(json!({"id": id(901), "kind": "patrol.end", "at": at, "patrol": id(0)}));
    for (k, h) in households.iter().enumerate() {
        actions.push(json!({"id": id(902 + k), "kind": "visit", "at": at, "household": h, "outcome": "见面", "position": [bx, by, 10.0]}));
    }
    let atlas = std::sync::Arc::new(arc_swap::ArcSwap::from_pointee(
        gridmap::atlas::Atlas::empty(),
    ));
    let pool = store::pool(config.clone(), 2)?;
    gridmap::app::atlas::reload(&pool, &atlas).await?;
    let atlas = atlas.load_full();
    let calendar = gridmap::config::calendar(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/holidays"
    )));
    let rules = fieldwork::rules(&client).await?;
    let payload = |_: &gridmap::store::incidents::IncidentRow| Value::Null;
    let photos = dir.join("photos");
    let ctx = SyncContext {
        atlas: &atlas,
        calendar: &calendar,
        photos_dir: &photos,
        rules: &rules,
        incident_payload: &payload,
    };
    let n = actions.len();
    let t = Instant::now();
    let results = fieldwork::sync(&mut client, &ctx, &worker, actions.clone(), Utc::now()).await?;
    let first = t.elapsed().as_secs_f64();
    let created = results.iter().filter(|r| r.status == "created").count();
    let t = Instant::now();
    let again = fieldwork::sync(&mut client, &ctx, &worker, actions, Utc::now()).await?;
    let replay = t.elapsed().as_secs_f64();
    let duplicates = again.iter().filter(|r| r.status == "duplicate").count();
    println!(
        "sync of {n} actions: {:.0} ms ({created} created); the same again {:.0} ms ({duplicates} duplicates) (target < 1 s)",
        first * 1000.0,
        replay * 1000.0
    );

    // 3. Compliance for a county: 10,000 grids and workers, a month of records.
    let from = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    let period = Period {
        from,
        to: from + TimeDelta::days(29),
        today: from + TimeDelta::days(29),
    };
    let rules = fieldwork::rules(&client).await?;
    let mut facts = Facts::default();
    let mut buildings: HashMap<String, usize> = HashMap::new();
    for g in 0..10_000i64 {
        let code = format!(
            "520328{:03}{:03}{:03}",
            1 + g / 1000,
            1 + (g / 100) % 10,
            1 + g % 100
        );
        facts
            .workers
            .push((g, format!("网格员{g}"), vec![(code.clone(), 3)]));
        buildings.insert(code.clone(), 75);
        for d in 0..rng.random_range(4..12) {
            facts.patrols.push(PatrolFacts {
                worker: g,
                day: from + TimeDelta::days(d * 3),
                grids: vec![(
                    code.clone(),
                    rng.random_range(300.0..5000.0),
                    (0..rng.random_range(10..60)).map(|b| g * 100 + b).collect(),
                )],
            });
        }
        for d in 0..30 {
            if rng.random_bool(0.8) {
                facts.logs.push((g, from + TimeDelta::days(d)));
            }
        }
        for _ in 0..10 {
            facts.households.push(HouseholdFacts {
                cell: code.clone(),
                categories: vec!["困难家庭".into()],
                visits: (0..rng.random_range(0..2))
                    .map(|_| from + TimeDelta::days(rng.random_range(0..30)))
                    .collect(),
            });
        }
        facts
            .meetings
            .push((code, from + TimeDelta::days(rng.random_range(0..30))));
    }
    facts.buildings = buildings;
    let t = Instant::now();
    let (rows, grids) = judge(
        &facts,
        &Rules::new(
            rules
                .all()
                .map(|(k, v, d)| (k.to_string(), v, d.to_string())),
        ),
        &calendar,
        period,
    );
    println!(
        "compliance of a county ({} workers, {} grids, {} patrols, {} households with duties, a month): {:.0} ms (target < 2 s)",
        rows.len(),
        grids.len(),
        facts.patrols.len(),
        facts.households.len(),
        t.elapsed().as_secs_f64() * 1000.0
    );
    Ok(())
}
