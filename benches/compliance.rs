//! Compliance for a county, end to end (issue 15's target: 10,000 grids, a month, < 2 s):
//! `app::fieldwork::compliance` as the command centre calls it, on real PostGIS holding 10,000
//! grids, 250,000 buildings, 1,000,000 households (one in ten with a visit duty), 10,000 workers
//! and a month of their records (patrols with the grids they entered, logs, visits, meetings).
//!
//! Then the teams (issue 16's targets): the 千分制 scores of the county's 20,000 assessed staff
//! (a 网格长 and a linked 专职网格员 per grid) over the half-year, with 30,000 incidents for
//! 按期结案率 and 满意率 (< 5 s); and the satisfaction vote of one village: 2,000 ballots cast
//! through the use case, then the tally (< 100 ms).
//!
//! Run: `cargo bench --bench compliance`

use std::time::Instant;

use chrono::{NaiveDate, TimeDelta};
use futures_util::SinkExt;
use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use gridmap::domain::duty::Period;
use gridmap::domain::role::Role;
use gridmap::geometry::coverage::synthetic::jittered_grid;
use gridmap::store::{self, embedded::Cluster, migrate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

const HOUSEHOLDS: usize = 1_000_000;
const PER_BUILDING: usize = 4;

fn feature(code: &str, level: u8, parent: Option<&str>, shape: &MultiPolygon<f64>) -> Value {
    json!({"type": "Feature", "properties": {"code": code, "level": level, "parent": parent, "name": code},
           "geometry": serde_json::to_value(geojson::Geometry::new(geojson::GeometryValue::from(shape))).unwrap()})
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::new(dir.path()).expect("PostgreSQL binaries");
    let endpoint = cluster.start().expect("cluster starts");
    let result = run(&endpoint).await;
    cluster.stop().ok();
    result.expect("bench");
}

async fn copy(
    client: &tokio_postgres::Client,
    sql: &str,
    rows: impl Iterator<Item = String>,
) -> Result<(), Box<dyn std::error::Error>> {
    let sink = client.copy_in(sql).await?;
    let mut sink = std::pin::pin!(sink);
    let mut chunk = String::new();
    for row in rows {
        chunk.push_str(&row);
        if chunk.len() > 1 << 20 {
            sink.send(bytes::Bytes::from(std::mem::take(&mut chunk)))
                .await?;
        }
    }
    sink.send(bytes::Bytes::from(chunk)).await?;
    sink.as_mut().finish().await?;
    Ok(())
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

    let started = Instant::now();
    let s = jittered_grid(100, 100, 10, 7);
    let polygon = |c: &gridmap::geometry::coverage::CoverageCell| {
        MultiPolygon(vec![Polygon::new(
            LineString(c.polygons[0][0].clone()),
            vec![],
        )])
    };
    let outline = gridmap::geometry::dissolve::dissolve(
        &s.parents
            .iter()
            .map(|p| polygon(p).0[0].clone())
            .collect::<Vec<_>>(),
    );
    let mut features = vec![
        feature("520328", 0, None, &outline),
        feature("520328000", 1, Some("520328"), &outline),
    ];
    features.extend(
        s.parents
            .iter()
            .map(|p| feature(&p.code, 2, Some("520328000"), &polygon(p))),
    );
    features.extend(
        s.cells
            .iter()
            .map(|c| feature(&c.code, 3, c.parent.as_deref(), &polygon(c))),
    );
    let cells = gridmap::codec::cells::parse_cells(
        &json!({"type": "FeatureCollection", "features": features}).to_string(),
    )?;
    store::cells::write_revision(&mut client, &cells, None, "bench", "synthetic county").await?;
    let atlas = std::sync::Arc::new(arc_swap::ArcSwap::from_pointee(
        gridmap::atlas::Atlas::empty(),
    ));
    let pool = store::pool(config.clone(), 2)?;
    gridmap::app::atlas::reload(&pool, &atlas).await?;
    let atlas = atlas.load_full();
    let grids: Vec<String> = s.cells.iter().map(|c| c.code.clone()).collect();

    let mut rng = ChaCha8Rng::seed_from_u64(15);
    let buildings = HOUSEHOLDS / PER_BUILDING;
    let mut cell_of = Vec::with_capacity(buildings + 1);
    cell_of.push(String::new());
    let rows: Vec<String> = (1..=buildings)
        .map(|id| {
            let p = Coord {
                x: 107.0 + rng.random_range(0.0..0.1),
                y: 27.0 + rng.random_range(0.0..0.1),
            };
            let cell = atlas
                .locate_index(p)
                .map(|i| atlas.cells()[i].code.clone())
                .unwrap_or_default();
            cell_of.push(cell.clone());
            format!(
                "{id}\t合成{id}号\tSRID=4490;POINT({} {})\t{}\n",
                p.x,
                p.y,
                if cell.is_empty() { "\\N".into() } else { cell }
            )
        })
        .collect();
    copy(
        &client,
        "COPY buildings (id, address, geom, cell_code) FROM STDIN",
        rows.into_iter(),
    )
    .await?;
    let duty = ["困难家庭", "流动", "空巢老人", "社区矫正"];
    copy(
        &client,
        "COPY households (building_id, address, head_name, members, categories) FROM STDIN",
        (0..HOUSEHOLDS).map(|h| {
            let category = if h % 10 == 0 {
                format!("{{{}}}", duty[(h / 10) % 4])
            } else {
                "{常住}".into()
            };
            format!(
                "{}\t合成{h}室\t户主{h}\t3\t{category}\n",
                h / PER_BUILDING + 1
            )
        }),
    )
    .await?;
    client.batch_execute("SELECT setval('buildings_id_seq', (SELECT max(id) FROM buildings)); SELECT setval('households_id_seq', (SELECT max(id) FROM households))").await?;

    // One worker per grid, a month of records.
    let from = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    let to = from + TimeDelta::days(29);
    copy(
        &client,
        "COPY users (id, name, role, cells) FROM STDIN",
        grids
            .iter()
            .enumerate()
            .map(|(i, g)| format!("{}\t网格员{i}\tworker\t{{{g}}}\n", i + 1000)),
    )
    .await?;
    let uuid = |a: usize, b: usize| format!("{a:08x}-0000-4000-8000-{b:012x}");
    let mut patrols = Vec::new();
    let mut patrol_grids = Vec::new();
    let mut logs = Vec::new();
    for (i, g) in grids.iter().enumerate() {
        for p in 0..8 {
            let id = uuid(i, p);
            let day = from + TimeDelta::days((p * 3 + i % 3) as i64);
            patrols.push(format!(
                "{id}\t{}\t{day} 09:00:00+08\t{day} 10:30:00+08\t1500\t0\n",
                i + 1000
            ));
            let covered: Vec<String> = (0..20)
                .map(|k| ((i * 25 + k) % buildings + 1).to_string())
                .collect();
            patrol_grids.push(format!(
                "{id}\t{g}\t{}\t25\t{{{}}}\n",
                rng.random_range(300..5400),
                covered.join(",")
            ));
        }
        for d in 0..30 {
            if rng.random_bool(0.85) {
                logs.push(format!(
                    "{}\t{}\t{}\t1\t巡查正常\t{{}}\n",
                    uuid(i, 100 + d),
                    i + 1000,
                    from + TimeDelta::days(d as i64)
                ));
            }
        }
    }
    copy(
        &client,
        "COPY patrols (id, user_id, started_at, ended_at, length_m, dropped_points) FROM STDIN",
        patrols.into_iter(),
    )
    .await?;
    copy(
        &client,
        "COPY patrol_grids (patrol_id, cell_code, seconds, buildings, covered) FROM STDIN",
        patrol_grids.into_iter(),
    )
    .await?;
    copy(
        &client,
        "COPY work_logs (id, user_id, day, version, notes, summary) FROM STDIN",
        logs.into_iter(),
    )
    .await?;
    client
        .batch_execute(
            "INSERT INTO visits (id, user_id, household_id, cell_code, at, outcome)
             SELECT (lpad(to_hex(h.id), 8, '0') || '-0000-4000-9000-000000000000')::uuid,
                    1000 + (h.id % 10000), h.id, b.cell_code, '2026-11-10 15:00+08', '见面'
             FROM households h JOIN buildings b ON b.id = h.building_id
             WHERE h.categories && '{困难家庭,流动}' AND h.id % 2 = 0;
             ANALYZE",
        )
        .await?;
    println!(
        "setup: {} grids, {buildings} buildings, {HOUSEHOLDS} households, {} workers with a month of records in {:.0} s",
        grids.len(),
        grids.len(),
        started.elapsed().as_secs_f64()
    );

    // Where the time goes: each query the use case makes, alone.
    {
        use gridmap::store::fieldwork as f;
        let ids: Vec<i64> = (1000..1000 + grids.len() as i64).collect();
        let (a, _) = gridmap::app::fieldwork::day_bounds(from);
        let (_, b) = gridmap::app::fieldwork::day_bounds(to);
        let cats: Vec<String> = duty.iter().map(|c| c.to_string()).collect();
        let t = Instant::now();
        let w = f::workers_under(&client, "").await?;
        let t1 = t.elapsed();
        let p = f::patrols(&client, &ids, a, b).await?;
        let t2 = t.elapsed();
        let pg = f::patrol_grids_of(&client, &ids, a, b).await?;
        let t3 = t.elapsed();
        let bc = f::building_counts(&client, &grids).await?;
        let t4 = t.elapsed();
        let h = f::duty_facts(&client, &grids, &cats, a).await?;
        let t5 = t.elapsed();
        let l = f::log_days(&client, &ids, from, to).await?;
        let t6 = t.elapsed();
        println!(
            "  queries: workers {} in {:.0} ms, patrols {} in {:.0} ms, patrol grids {} in {:.0} ms, building counts {} in {:.0} ms, duty households {} in {:.0} ms, log days {} in {:.0} ms",
            w.len(),
            t1.as_secs_f64() * 1e3,
            p.len(),
            (t2 - t1).as_secs_f64() * 1e3,
            pg.len(),
            (t3 - t2).as_secs_f64() * 1e3,
            bc.len(),
            (t4 - t3).as_secs_f64() * 1e3,
            h.len(),
            (t5 - t4).as_secs_f64() * 1e3,
            l.len(),
            (t6 - t5).as_secs_f64() * 1e3
        );
    }
    let command = gridmap::store::users::User {
        id: 1,
        name: "指挥中心".into(),
        role: Role::Command,
        cells: vec![],
        department: None,
    };
    let calendar = gridmap::config::calendar(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/holidays"
    )));
    let period = Period {
        from,
        to,
        today: to + TimeDelta::days(1),
    };
    for run in 0..3 {
        let t = Instant::now();
        let (_, rows, grid_rows) =
            gridmap::app::fieldwork::compliance(&client, &atlas, &calendar, &command, None, period)
                .await?;
        println!(
            "compliance of the county (run {run}): {} workers, {} grids, {} meeting every duty: {:.0} ms (target < 2 s)",
            rows.len(),
            grid_rows.len(),
            rows.iter().filter(|r| r.ok).count(),
            t.elapsed().as_secs_f64() * 1000.0
        );
    }

    // ---- the teams: staff, memberships, incidents of the half-year ----
    copy(
        &client,
        "COPY staff (id, name, phone, user_id) FROM STDIN",
        grids.iter().enumerate().flat_map(|(i, _)| {
            [
                format!("{}\t网格长{i}\t1990000{:04}\t\\N\n", 2 * i + 1, i % 10_000),
                format!("{}\t专职{i}\t\\N\t{}\n", 2 * i + 2, i + 1000),
            ]
        }),
    )
    .await?;
    copy(
        &client,
        "COPY cell_staff (cell_code, staff_id, role, since) FROM STDIN",
        grids.iter().enumerate().flat_map(|(i, g)| {
            [
                format!("{g}\t{}\t网格长\t2026-01-01\n", 2 * i + 1),
                format!("{g}\t{}\t专职网格员\t2026-01-01\n", 2 * i + 2),
            ]
        }),
    )
    .await?;
    client
        .batch_execute(
            "SELECT setval('staff_id_seq', (SELECT max(id) FROM staff));
             INSERT INTO incidents (category, description, cell_code, source, state, created_at,
                                    clock_start, budget_seconds, closed_at, rating)
             SELECT '0201', '合成事件', c.code, 'grid', '评价', t, t, 3 * 86400,
                    t + (n % 5) * interval '1 day',
                    (ARRAY['满意', '基本满意', '不满意'])[1 + n % 3]
             FROM generate_series(1, 30000) n
             JOIN LATERAL (SELECT code FROM cells WHERE level = 3 AND valid_to IS NULL
                           ORDER BY code OFFSET (n * 7919) % 10000 LIMIT 1) c ON true
             CROSS JOIN LATERAL (SELECT timestamptz '2026-07-01 09:00+08' + (n % 150) * interval '1 day' AS t) d;
             ANALYZE",
        )
        .await?;
    let admin = gridmap::store::users::User {
        id: 0,
        name: "bench".into(),
        role: Role::Admin,
        cells: vec![],
        department: None,
    };
    let now = chrono::Utc::now();
    {
        // Where the scores' time goes: the half-year's compliance, the incidents' KPIs, the members.
        let half =
            gridmap::domain::team::half_year("2026H2", gridmap::domain::duty::local_day(now))
                .ok_or("period")?;
        let t = Instant::now();
        let (_, rows, _) = gridmap::app::fieldwork::compliance(
            &client,
            &atlas,
            &calendar,
            &admin,
            Some("520328"),
            half,
        )
        .await?;
        let t1 = t.elapsed();
        let (a, _) = gridmap::app::fieldwork::day_bounds(half.from);
        let (_, b) = gridmap::app::fieldwork::day_bounds(half.to);
        let stats = gridmap::app::incidents::stats(
            &client,
            &calendar,
            &gridmap::app::incidents::StatsQuery {
                from: a,
                to: b,
                today: a,
                unit_prefix: 15,
                code: Some("520328".into()),
            },
            now,
        )
        .await?;
        let t2 = t.elapsed();
        let members =
            gridmap::store::teams::scored_members(&client, "520328", half.from, half.to).await?;
        let t3 = t.elapsed();
        println!(
            "  parts: compliance of the half-year {} workers in {:.0} ms, KPIs of {} incidents in {:.0} ms, {} assessed memberships in {:.0} ms",
            rows.len(),
            t1.as_secs_f64() * 1e3,
            stats.total.reported,
            (t2 - t1).as_secs_f64() * 1e3,
            members.len(),
            (t3 - t2).as_secs_f64() * 1e3
        );
    }
    for run in 0..3 {
        let t = Instant::now();
        let view = gridmap::app::teams::scores(
            &client, &atlas, &calendar, &admin, "2026H2", "520328", now,
        )
        .await?;
        let mean = view.people.iter().map(|p| p.score.total).sum::<f64>()
            / view.people.len().max(1) as f64;
        println!(
            "千分制 scores of the county, 2026H2 (run {run}): {} people, mean {mean:.1} points: {:.0} ms (target < 5 s)",
            view.people.len(),
            t.elapsed().as_secs_f64() * 1000.0
        );
    }

    // ---- the vote of one village: 2,000 ballots over its 25 grids ----
    let village = &s.parents[0].code;
    let cells: Vec<String> = grids
        .iter()
        .filter(|g| g.starts_with(village.as_str()))
        .cloned()
        .collect();
    let per_cell = (2000 / cells.len()) as u32;
    let t = Instant::now();
    let vote =
        gridmap::app::teams::open_vote(&mut client, &atlas, &admin, "2026", &cells, Some(per_cell))
            .await?;
    let opened = t.elapsed();
    let t = Instant::now();
    for (k, b) in vote.ballots.iter().enumerate() {
        let choice = ["满意", "满意", "基本满意", "不满意"][k % 4];
        gridmap::app::teams::cast(&mut client, &b.code, choice).await?;
    }
    let cast = t.elapsed();
    println!(
        "vote of village {village}: {} grids, {} codes opened in {:.0} ms; cast one by one in {:.1} s ({:.0} ballots/s)",
        cells.len(),
        vote.ballots.len(),
        opened.as_secs_f64() * 1000.0,
        cast.as_secs_f64(),
        vote.ballots.len() as f64 / cast.as_secs_f64()
    );
    for run in 0..3 {
        let t = Instant::now();
        let tally = gridmap::app::teams::tally(&client, &atlas, &admin, vote.id).await?;
        let cast: i64 = tally.leaders.iter().map(|l| l.cast).sum();
        println!(
            "tally (run {run}): {} leaders, {cast} ballots, {} flagged: {:.1} ms (target < 100 ms)",
            tally.leaders.len(),
            tally.flagged,
            t.elapsed().as_secs_f64() * 1000.0
        );
    }
    Ok(())
}
