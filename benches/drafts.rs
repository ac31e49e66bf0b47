//! A planner's redraw end to end, as DESIGN.md §4 sets the bar: a 20-cell redraw in a
//! 10,000-cell atlas with 1,000,000 households — validate (< 50 ms) and commit including the
//! re-assignment of moved households and tile invalidation (< 250 ms). Real PostGIS (an embedded
//! cluster in a temporary directory); the draft is edited through the HTTP router, then the use
//! cases `app::planning::{check, commit}` are timed directly, as the handlers call them.
//!
//! Run: `cargo bench --bench drafts`

use std::collections::BTreeMap;
use std::time::Instant;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use futures_util::SinkExt;
use geo::Centroid;
use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use gridmap::app::planning;
use gridmap::domain::role::Role;
use gridmap::geometry::coverage::CoverageCell;
use gridmap::geometry::coverage::synthetic::jittered_grid;
use gridmap::geometry::dissolve::dissolve;
use gridmap::http::{AppState, router};
use gridmap::store::{self, embedded::Cluster, migrate, users};
use http_body_util::BodyExt;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use tower::ServiceExt;

const HOUSEHOLDS: usize = 1_000_000;
const PER_BUILDING: usize = 4;

fn polygon(c: &CoverageCell) -> Polygon<f64> {
    Polygon::new(LineString(c.polygons[0][0].clone()), vec![])
}

fn feature(
    code: &str,
    level: u8,
    parent: Option<&str>,
    name: &str,
    shape: &MultiPolygon<f64>,
) -> Value {
    json!({"type": "Feature", "properties": {"code": code, "level": level, "parent": parent, "name": name},
           "geometry": serde_json::to_value(geojson::Geometry::new(geojson::GeometryValue::from(shape))).unwrap()})
}

async fn send(
    app: &axum::Router,
    method: &str,
    uri: &str,
    token: &str,
    body: Value,
) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn key(c: Coord<f64>) -> (u64, u64) {
    (c.x.to_bits(), c.y.to_bits())
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

async fn run(endpoint: &store::embedded::Endpoint) -> Result<(), Box<dyn std::error::Error>> {
    let admin = store::connect(&endpoint.config("postgres")).await?;
    store::create_database_if_missing(&admin, "bench", None).await?;
    let config = endpoint.config("bench");
    let mut client = store::connect(&config).await?;
    client
        .batch_execute("CREATE EXTENSION IF NOT EXISTS postgis")
        .await?;
    migrate::migrate(&mut client).await?;

    // 10,000 grids in 100 villages of one township.
    let s = jittered_grid(100, 100, 10, 7);
    let villages: Vec<Polygon<f64>> = s.parents.iter().map(polygon).collect();
    let outline = dissolve(&villages);
    let mut features = vec![
        feature("520328", 0, None, "湄潭县（合成）", &outline),
        feature("520328000", 1, Some("520328"), "合成街道", &outline),
    ];
    for p in &s.parents {
        features.push(feature(
            &p.code,
            2,
            Some("520328000"),
            &format!("合成村{}", &p.code[9..]),
            &MultiPolygon(vec![polygon(p)]),
        ));
    }
    for c in &s.cells {
        features.push(feature(
            &c.code,
            3,
            c.parent.as_deref(),
            &format!("网格{}", &c.code[9..]),
            &MultiPolygon(vec![polygon(c)]),
        ));
    }
    let text = json!({"type": "FeatureCollection", "features": features}).to_string();
    let cells = gridmap::codec::cells::parse_cells(&text)?;
    let started = Instant::now();
    store::cells::write_revision(&mut client, &cells, None, "bench", "synthetic atlas").await?;
    println!(
        "setup: {} cells written in {:.1} s",
        cells.len(),
        started.elapsed().as_secs_f64()
    );

    // 250,000 buildings with 4 households each, placed in their cells, by COPY.
    let state = AppState::new(store::pool(config.clone(), 4)?);
    gridmap::app::atlas::reload(&state.pool, &state.atlas).await?;
    let atlas = state.atlas.load_full();
    let started = Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let buildings = HOUSEHOLDS / PER_BUILDING;
    let sink = client
        .copy_in("COPY buildings (id, address, geom, cell_code) FROM STDIN")
        .await?;
    let mut sink = std::pin::pin!(sink);
    let mut chunk = String::new();
    for id in 1..=buildings {
        let p = Coord {
            x: 107.0 + rng.random_range(0.0..0.1),
            y: 27.0 + rng.random_range(0.0..0.1),
        };
        let cell = atlas.locate_index(p).map(|i| atlas.cells()[i].code.clone());
        chunk.push_str(&format!(
            "{id}\t合成村{id}号\tSRID=4490;POINT({} {})\t{}\n",
            p.x,
            p.y,
            cell.as_deref().unwrap_or("\\N")
        ));
        if chunk.len() > 1 << 20 {
            sink.send(bytes::Bytes::from(std::mem::take(&mut chunk)))
                .await?;
        }
    }
    sink.send(bytes::Bytes::from(std::mem::take(&mut chunk)))
        .await?;
    sink.as_mut().finish().await?;
    let sink = client
        .copy_in("COPY households (building_id, address, head_name, members) FROM STDIN")
        .await?;
    let mut sink = std::pin::pin!(sink);
    for h in 0..HOUSEHOLDS {
        let building = h / PER_BUILDING + 1;
        chunk.push_str(&format!(
            "{building}\t合成村{building}号{}室\t户主{h}\t{}\n",
            h % PER_BUILDING + 1,
            1 + h % 5
        ));
        if chunk.len() > 1 << 20 {
            sink.send(bytes::Bytes::from(std::mem::take(&mut chunk)))
                .await?;
        }
    }
    sink.send(bytes::Bytes::from(std::mem::take(&mut chunk)))
        .await?;
    sink.as_mut().finish().await?;
    client
        .batch_execute(
            "SELECT setval('buildings_id_seq', (SELECT max(id) FROM buildings)); ANALYZE",
        )
        .await?;
    println!(
        "setup: {buildings} buildings and {HOUSEHOLDS} households copied in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let token = users::add_user(&mut client, "bench-planner", Role::Planner, &[]).await?;
    let app = router(state.clone());

    // Interior vertices shared by exactly four grids of one village, away from its outline.
    let mut owners: BTreeMap<(u64, u64), Vec<usize>> = BTreeMap::new();
    for (i, c) in atlas
        .cells()
        .iter()
        .enumerate()
        .filter(|(_, c)| c.level == 3)
    {
        let ring = &c.geometry.0[0].exterior().0;
        for v in &ring[..ring.len() - 1] {
            owners.entry(key(*v)).or_default().push(i);
        }
    }
    let mut validate_ms = Vec::new();
    let mut commit_ms = Vec::new();
    let mut moved_households = 0i64;
    for round in 0..5 {
        // Five vertices of five villages: 5 × 4 = 20 grids redrawn.
        let picks: Vec<((u64, u64), Vec<usize>)> = owners
            .iter()
            .filter(|(_, who)| {
                who.len() == 4
                    && who
                        .iter()
                        .all(|&i| atlas.cells()[i].parent == atlas.cells()[who[0]].parent)
            })
            .skip(round * 997)
            .step_by(211)
            .take(5)
            .map(|(k, who)| (*k, who.clone()))
            .collect();
        let current = state.atlas.load_full();
        let (status, body) = send(&app, "POST", "/api/v1/drafts", &token, json!({})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let draft = body["id"].as_i64().unwrap();
        let mut edited = 0;
        for (k, who) in &picks {
            let v = Coord {
                x: f64::from_bits(k.0),
                y: f64::from_bits(k.1),
            };
            let first = current.get(&atlas.cells()[who[0]].code).unwrap();
            let c = first.geometry.centroid().unwrap().0;
            let to = Coord {
                x: v.x + (c.x - v.x) * 0.4,
                y: v.y + (c.y - v.y) * 0.4,
            };
            for &i in who {
                let code = &atlas.cells()[i].code;
                let mut shape = current.get(code).unwrap().geometry.clone();
                for polygon in &mut shape.0 {
                    polygon.exterior_mut(|ring| {
                        ring.0.iter_mut().filter(|p| **p == v).for_each(|p| *p = to)
                    });
                }
                let (status, body) = send(
                    &app,
                    "PUT",
                    &format!("/api/v1/drafts/{draft}/cells/{code}"),
                    &token,
                    json!({"type": "Feature", "properties": {}, "geometry": serde_json::to_value(geojson::Geometry::new(geojson::GeometryValue::from(&shape))).unwrap()}),
                )
                .await;
                assert_eq!(status, StatusCode::OK, "{body}");
                edited += 1;
            }
        }
        assert_eq!(edited, 20);
        // The timed parts call the use cases directly, as the handlers do (no HTTP).
        let stored = store::drafts::load(&client, draft).await?;
        let started = Instant::now();
        let checked = planning::check(&client, &state.atlas.load_full(), &stored.draft, state.band)
            .await
            .map_err(|e| e.to_string())?;
        validate_ms.push(started.elapsed().as_secs_f64() * 1e3);
        assert!(checked.report.valid, "{}", checked.report.summary(5));
        let started = Instant::now();
        let committed = planning::commit(
            &mut client,
            &state.atlas,
            &stored,
            "bench",
            &format!("bench round {round}"),
            planning::Settings::default(),
        )
        .await
        .map_err(|e| e.to_string())?;
        // Tile invalidation: the tile service follows the new snapshot.
        let snapshot = state.atlas.load_full();
        state.tiles.follow(&snapshot);
        commit_ms.push(started.elapsed().as_secs_f64() * 1e3);
        moved_households += committed.households_moved;
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "20-cell redraw in 10,000 cells / {HOUSEHOLDS} households: validate median {:.1} ms (best {:.1}), commit incl. re-assignment and tile invalidation median {:.1} ms (best {:.1}); {moved_households} households moved over 5 rounds",
        median(&mut validate_ms.clone()),
        validate_ms.iter().cloned().fold(f64::MAX, f64::min),
        median(&mut commit_ms.clone()),
        commit_ms.iter().cloned().fold(f64::MAX, f64::min),
    );
    Ok(())
}
