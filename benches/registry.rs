//! The registry at county scale (DESIGN.md §4, issue "Households, buildings and people"):
//! import + geocode 1,000,000 households from CSV (target < 30 s, through `COPY`), and batch
//! geocoding in memory (target ≥ 1,000,000 points/s) and through the streaming endpoint.
//! Real PostGIS (an embedded cluster in a temporary directory).
//!
//! Run: `cargo bench --bench registry`

use std::fmt::Write as _;
use std::time::Instant;

use axum::body::Body;
use axum::http::Request;
use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use gridmap::app::registry::import;
use gridmap::codec::registry::Kind;
use gridmap::geometry::coverage::CoverageCell;
use gridmap::geometry::coverage::synthetic::jittered_grid;
use gridmap::geometry::crs::Crs;
use gridmap::geometry::dissolve::dissolve;
use gridmap::http::{AppState, router};
use gridmap::store::{self, embedded::Cluster, migrate, users};
use http_body_util::BodyExt;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use tower::ServiceExt;

const BUILDINGS: usize = 250_000;
const HOUSEHOLDS: usize = 1_000_000;

fn polygon(c: &CoverageCell) -> Polygon<f64> {
    Polygon::new(LineString(c.polygons[0][0].clone()), vec![])
}

fn feature(
    code: &str,
    level: u8,
    parent: Option<&str>,
    shape: &MultiPolygon<f64>,
) -> serde_json::Value {
    json!({"type": "Feature", "properties": {"code": code, "level": level, "parent": parent, "name": format!("合成{code}")},
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

async fn run(endpoint: &store::embedded::Endpoint) -> Result<(), Box<dyn std::error::Error>> {
    let admin = store::connect(&endpoint.config("postgres")).await?;
    store::create_database_if_missing(&admin, "bench", None).await?;
    let config = endpoint.config("bench");
    let mut client = store::connect(&config).await?;
    client
        .batch_execute("CREATE EXTENSION IF NOT EXISTS postgis")
        .await?;
    migrate::migrate(&mut client).await?;

    // A 10,000-grid county.
    let s = jittered_grid(100, 100, 10, 7);
    let villages: Vec<Polygon<f64>> = s.parents.iter().map(polygon).collect();
    let outline = dissolve(&villages);
    let mut features = vec![
        feature("520328", 0, None, &outline),
        feature("520328000", 1, Some("520328"), &outline),
    ];
    features.extend(s.parents.iter().map(|p| {
        feature(
            &p.code,
            2,
            Some("520328000"),
            &MultiPolygon(vec![polygon(p)]),
        )
    }));
    features.extend(s.cells.iter().map(|c| {
        feature(
            &c.code,
            3,
            c.parent.as_deref(),
            &MultiPolygon(vec![polygon(c)]),
        )
    }));
    let cells = gridmap::codec::cells::parse_cells(
        &json!({"type": "FeatureCollection", "features": features}).to_string(),
    )?;
    store::cells::write_revision(&mut client, &cells, None, "bench", "synthetic county").await?;
    let state = AppState::new(store::pool(config.clone(), 4)?);
    gridmap::app::atlas::reload(&state.pool, &state.atlas).await?;
    let atlas = state.atlas.load_full();

    // The files a county would bring: buildings with coordinates; households, 3 in 4 with
    // coordinates (GCJ-02 from phones: converted on the way in), 1 in 4 by door plate only.
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let points: Vec<Coord<f64>> = (0..BUILDINGS)
        .map(|_| Coord {
            x: 107.0005 + rng.random_range(0.0..0.099),
            y: 27.0005 + rng.random_range(0.0..0.099),
        })
        .collect();
    let mut buildings_csv = String::from("编号,地址,经度,纬度\n");
    for (i, p) in points.iter().enumerate() {
        writeln!(
            buildings_csv,
            "B{i},合成县{}组{}号,{},{}",
            i / 1000 + 1,
            i % 1000 + 1,
            p.x,
            p.y
        )?;
    }
    let mut households_csv = String::from("户编号,地址,户主,人数,电话,人员类别,经度,纬度\n");
    for h in 0..HOUSEHOLDS {
        let b = h % BUILDINGS;
        let address = format!(
            "合成县{}组{}号附{}",
            b / 1000 + 1,
            b % 1000 + 1,
            h / BUILDINGS + 1
        );
        if h % 4 == 3 {
            writeln!(
                households_csv,
                "H{h},{address},户主{h},{},1390000{:04},常住,,",
                1 + h % 5,
                h % 10_000
            )?;
        } else {
            let g = gridmap::geometry::china_crs::wgs84_to_gcj02(points[b]);
            writeln!(
                households_csv,
                "H{h},{address},户主{h},{},1390000{:04},常住,{},{}",
                1 + h % 5,
                h % 10_000,
                g.x,
                g.y
            )?;
        }
    }
    println!(
        "files: buildings {:.1} MB, households {:.1} MB",
        buildings_csv.len() as f64 / 1e6,
        households_csv.len() as f64 / 1e6
    );

    let started = Instant::now();
    let report = import(
        &mut client,
        &atlas,
        Kind::Buildings,
        buildings_csv.as_bytes(),
        Crs::parse("cgcs2000").unwrap(),
        false,
        &|_, _, _| {},
    )
    .await?;
    println!(
        "import {BUILDINGS} buildings: {:.1} s ({} placed, {} rejected)",
        started.elapsed().as_secs_f64(),
        report.tally.placed,
        report.tally.rejected
    );
    let started = Instant::now();
    let report = import(
        &mut client,
        &atlas,
        Kind::Households,
        households_csv.as_bytes(),
        Crs::parse("gcj02").unwrap(),
        false,
        &|_, _, _| {},
    )
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "import + geocode {HOUSEHOLDS} households: {seconds:.1} s ({} placed by coordinates, {} matched by door plate, {} ambiguous, {} rejected; written {:?})",
        report.tally.placed,
        report.tally.matched,
        report.tally.ambiguous,
        report.tally.rejected,
        report.written
    );

    // Batch geocoding in memory, one core.
    let probe: Vec<Coord<f64>> = (0..1_000_000)
        .map(|_| Coord {
            x: 107.0 + rng.random_range(0.0..0.1),
            y: 27.0 + rng.random_range(0.0..0.1),
        })
        .collect();
    let started = Instant::now();
    let found = probe.iter().filter(|p| atlas.locate(**p).is_some()).count();
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "geocode in memory: {:.2} M points/s on one core ({found} found)",
        1e6 / seconds / 1e6
    );

    // The streaming endpoint, 1,000,000 points in one request.
    let token = users::add_user(
        &mut client,
        "bench",
        gridmap::domain::role::Role::Worker,
        &[],
    )
    .await?;
    let body =
        json!({"crs": "wgs84", "points": probe.iter().map(|p| [p.x, p.y]).collect::<Vec<_>>()})
            .to_string();
    let app = router(state.clone());
    let started = Instant::now();
    let response = app
        .oneshot(
            Request::builder()
                .method("POST")
                .uri("/api/v1/geocode")
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/json")
                .body(Body::from(body))?,
        )
        .await?;
    let bytes = response.into_body().collect().await?.to_bytes();
    let seconds = started.elapsed().as_secs_f64();
    let lines = bytes.iter().filter(|b| **b == b'\n').count();
    println!(
        "geocode endpoint: {lines} lines in {seconds:.2} s = {:.2} M points/s end to end (JSON in, NDJSON out)",
        lines as f64 / seconds / 1e6
    );
    Ok(())
}
