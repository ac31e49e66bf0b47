//! Field work through the real router and PostGIS: pairing a phone, the idempotent sync, a
//! patrol's coverage checked against PostGIS `ST_DWithin`, visits flagged when far, logs that
//! never change, the track rule (the worker, its leaders, admin; audited), compliance.

use axum::http::StatusCode;
use gridmap::domain::role::Role;
use serde_json::{Value, json};

use crate::harness::{TestDb, call, demo_db, json, user};

fn uuid(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

async fn app(db: &TestDb) -> (axum::Router, gridmap::http::AppState, tempfile::TempDir) {
    let photos = tempfile::tempdir().unwrap();
    let config = gridmap::config::Config {
        photos_dir: photos.path().to_path_buf(),
        ..Default::default()
    };
    let state = gridmap::http::AppState::with_config(
        gridmap::store::pool(db.config.clone(), 4).unwrap(),
        config,
    );
    gridmap::app::atlas::reload(&state.pool, &state.atlas)
        .await
        .unwrap();
    (gridmap::http::router(state.clone()), state, photos)
}

/// The grid with the most buildings, and its buildings `(id, lon, lat)`.
async fn busy_grid(db: &TestDb) -> (String, Vec<(i64, f64, f64)>) {
    let client = db.client().await;
    let grid: String = client
        .query_one(
            "SELECT cell_code FROM buildings GROUP BY cell_code ORDER BY count(*) DESC, cell_code LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let rows = client
        .query(
            "SELECT id, ST_X(geom), ST_Y(geom) FROM buildings WHERE cell_code = $1 ORDER BY id",
            &[&grid],
        )
        .await
        .unwrap();
    (
        grid,
        rows.iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect(),
    )
}

async fn pair(app: &axum::Router, admin: &str, name: &str) -> String {
    let (status, body) = json(
        app,
        "POST",
        "/api/v1/devices/pairings",
        Some(admin),
        json!({"user": name}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let code = body["code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 8);
    let (status, body) = json(
        app,
        "POST",
        "/api/v1/devices/pair",
        None,
        json!({"code": code, "device": "测试手机"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let token = body["token"].as_str().unwrap().to_string();
    // Once only.
    let (status, again) = json(
        app,
        "POST",
        "/api/v1/devices/pair",
        None,
        json!({"code": code, "device": "另一台"}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    token
}

#[tokio::test]
async fn a_paired_phone_syncs_each_action_once_and_a_bad_one_never_blocks_the_others() {
    let db = demo_db().await;
    let (app, _, _photos) = app(&db).await;
    let (grid, buildings) = busy_grid(&db).await;
    let admin = user(&db, "管理员", Role::Admin, &[]).await;
    user(&db, "网格员甲", Role::Worker, std::slice::from_ref(&grid)).await;
    let phone = pair(&app, &admin, "网格员甲").await;
    let (status, _) = json(
        &app,
        "POST",
        "/api/v1/devices/pair",
        None,
        json!({"code": "00000000", "device": "x"}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A walk from the first building to the last of the grid, a fix every 10 s at 1.2 m/s,
    // with one inaccurate fix and one jump.
    let (a, b) = (buildings[0], buildings[buildings.len() - 1]);
    let t0 = 1_780_000_000_000i64;
    let metres = gridmap::geometry::track::haversine_m(
        geo_types::Coord { x: a.1, y: a.2 },
        geo_types::Coord { x: b.1, y: b.2 },
    );
    let steps = ((metres / 12.0).ceil() as usize).max(4);
    let mut points: Vec<[f64; 4]> = (0..=steps)
        .map(|i| {
            let f = i as f64 / steps as f64;
            [
                a.1 + (b.1 - a.1) * f,
                a.2 + (b.2 - a.2) * f,
                (t0 + i as i64 * 10_000) as f64,
                8.0,
            ]
        })
        .collect();
    points[2][3] = 120.0;
    points[3][0] += 0.05;
    let start = uuid(1);
    let actions = json!([
        {"id": start, "kind": "patrol.start", "at": "2026-11-30T09:00:00+08:00"},
        {"id": uuid(2), "kind": "patrol.points", "at": "2026-11-30T09:10:00+08:00", "patrol": start, "points": points},
        {"id": uuid(3), "kind": "visit", "at": "2026-11-30T09:20:00+08:00", "household": 999999999, "outcome": "见面"},
        {"id": uuid(4), "kind": "patrol.end", "at": "2026-11-30T09:30:00+08:00", "patrol": start},
        {"id": "not-a-uuid", "kind": "log", "at": "2026-11-30T18:00:00+08:00", "day": "2026-11-30", "notes": "x"},
        {"id": uuid(5), "kind": "log", "at": "2026-11-30T18:00:00+08:00", "day": "2026-11-30", "notes": "巡查正常"},
        {"id": uuid(6), "kind": "teleport", "at": "2026-11-30T18:00:00+08:00"},
    ]);
    let (status, body) = json(
        &app,
        "POST",
        "/api/v1/field/sync",
        Some(&phone),
        json!({"actions": actions}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let statuses: Vec<&str> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "created", "created", "rejected", "created", "rejected", "created", "rejected"
        ],
        "{body}"
    );
    assert!(
        body["results"][2]["error"]
            .as_str()
            .unwrap()
            .contains("999999999"),
        "{body}"
    );
    assert_eq!(body["results"][4]["field"], "actions[4].id");
    // The same batch again: every accepted action is a duplicate and nothing is written twice.
    let (_, again) = json(
        &app,
        "POST",
        "/api/v1/field/sync",
        Some(&phone),
        json!({"actions": actions}),
    )
    .await;
    let statuses: Vec<&str> = again["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "duplicate",
            "duplicate",
            "rejected",
            "duplicate",
            "rejected",
            "duplicate",
            "rejected"
        ]
    );
    let client = db.client().await;
    let count = |sql: &'static str| {
        let client = &client;
        async move { client.query_one(sql, &[]).await.unwrap().get::<_, i64>(0) }
    };
    assert_eq!(count("SELECT count(*) FROM patrols").await, 1);
    assert_eq!(count("SELECT count(*) FROM work_logs").await, 1);
    assert_eq!(
        count("SELECT count(*) FROM patrol_points").await,
        (steps + 1 - 2) as i64
    );

    // The patrol: its grid, dropped fixes, and coverage as PostGIS counts it.
    let (status, patrol) = json(
        &app,
        "GET",
        &format!("/api/v1/patrols/{start}"),
        Some(&phone),
        Value::Null,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patrol}");
    assert_eq!(patrol["dropped_points"], 2);
    let ours = patrol["grids"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["code"] == grid.as_str())
        .unwrap();
    assert!(ours["seconds"].as_f64().unwrap() > 0.0);
    let row = client
        .query_one(
            "WITH line AS (SELECT ST_MakeLine(geom ORDER BY t) AS g FROM patrol_points WHERE patrol_id = $1::text::uuid)
             SELECT count(*) FILTER (WHERE ST_DWithin(b.geom::geography, line.g::geography, 50)), count(*)
             FROM buildings b, line WHERE b.cell_code = $2",
            &[&start, &grid],
        )
        .await
        .unwrap();
    let (near, total): (i64, i64) = (row.get(0), row.get(1));
    assert!(near > 1, "the walk passes buildings");
    let postgis = near as f64 / total as f64;
    let coverage = ours["coverage"].as_f64().unwrap();
    assert!(
        (coverage - postgis).abs() <= 1.0 / total as f64 + 0.001,
        "ours {coverage}, PostGIS {postgis} ({near}/{total})"
    );
    let length = patrol["length_m"].as_f64().unwrap();
    assert!(
        (length - metres).abs() < metres * 0.05 + 5.0,
        "length {length} vs {metres}"
    );
}

#[tokio::test]
async fn visits_far_from_the_building_are_flagged_and_logs_keep_every_version() {
    let db = demo_db().await;
    let (app, _, photos) = app(&db).await;
    let (grid, _) = busy_grid(&db).await;
    let phone = user(&db, "网格员乙", Role::Worker, std::slice::from_ref(&grid)).await;
    let client = db.client().await;
    let h = client
        .query_one(
            "SELECT h.id, ST_X(b.geom), ST_Y(b.geom) FROM households h JOIN buildings b ON b.id = h.building_id
             WHERE b.cell_code = $1 ORDER BY h.id LIMIT 1",
            &[&grid],
        )
        .await
        .unwrap();
    let (hh, x, y): (i64, f64, f64) = (h.get(0), h.get(1), h.get(2));
    // A JPEG carrying an EXIF segment: stored without it.
    let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x08];
    jpeg.extend_from_slice(b"Exif\0\0");
    jpeg.extend_from_slice(&[
        0xFF, 0xDB, 0x00, 0x04, 0x01, 0x02, 0xFF, 0xDA, 0x00, 0x02, 0x11, 0xFF, 0xD9,
    ]);
    use base64::Engine;
    let photo = format!(
        "data:image/jpeg;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(&jpeg)
    );
    let actions = json!([
        {"id": uuid(11), "kind": "visit", "at": "2026-11-30T10:00:00+08:00", "household": hh, "outcome": "见面",
         "problems": ["矛盾纠纷"], "note": "家中老人身体好", "photos": [photo], "position": [x, y, 10.0]},
        {"id": uuid(12), "kind": "visit", "at": "2026-11-30T11:00:00+08:00", "household": hh, "outcome": "未见面",
         "position": [x + 0.01, y, 10.0]},
        {"id": uuid(13), "kind": "visit", "at": "2026-11-30T11:00:00+08:00", "household": hh, "outcome": "见面",
         "photos": ["data:image/jpeg;base64,PHN2Zz48L3N2Zz4="]},
        {"id": uuid(14), "kind": "log", "at": "2026-11-30T18:00:00+08:00", "day": "2026-11-30", "notes": "第一版"},
        {"id": uuid(15), "kind": "log", "at": "2026-11-30T19:00:00+08:00", "day": "2026-11-30", "notes": "补充：下午走访"},
    ]);
    let (status, body) = json(
        &app,
        "POST",
        "/api/v1/field/sync",
        Some(&phone),
        json!({"actions": actions}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let r = &body["results"];
    assert_eq!(r[0]["result"]["far"], false, "{body}");
    assert_eq!(r[1]["result"]["far"], true, "{body}");
    assert!(r[1]["result"]["distance_m"].as_f64().unwrap() > 900.0);
    assert_eq!(r[2]["status"], "rejected", "an SVG is not a photo: {body}");
    assert_eq!(r[2]["field"], "actions[2].photos[0]");
    assert_eq!(r[4]["result"]["version"], 2);
    // The stored photo has no EXIF and is served to its uploader only.
    let hash: String = client
        .query_one(
            "SELECT photos[1] FROM visits WHERE id = $1::text::uuid",
            &[&uuid(11)],
        )
        .await
        .unwrap()
        .get(0);
    let stored = std::fs::read(photos.path().join(&hash[..2]).join(&hash)).unwrap();
    assert!(!stored.windows(4).any(|w| w == b"Exif"));
    let (status, _, bytes) = call(
        &app,
        "GET",
        &format!("/api/v1/photos/{hash}"),
        Some(&phone),
        None,
        Vec::new(),
    )
    .await;
    assert_eq!((status, bytes), (StatusCode::OK, stored));
    let stranger = user(
        &db,
        "别的网格员",
        Role::Worker,
        &["520328004016001".to_string()],
    )
    .await;
    let (status, _, _) = call(
        &app,
        "GET",
        &format!("/api/v1/photos/{hash}"),
        Some(&stranger),
        None,
        Vec::new(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = call(
        &app,
        "GET",
        &format!("/api/v1/photos/{hash}"),
        None,
        None,
        Vec::new(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A submitted log never changes, even in SQL.
    let e = client
        .execute("UPDATE work_logs SET notes = 'x'", &[])
        .await
        .unwrap_err();
    assert!(format!("{e:?}").contains("immutable"), "{e:?}");
    let (_, logs) = json(
        &app,
        "GET",
        "/api/v1/logs?from=2026-11-30&to=2026-11-30",
        Some(&phone),
        Value::Null,
    )
    .await;
    let versions: Vec<i64> = logs["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, [1, 2]);
    assert!(
        logs["logs"][0]["summary"]["summary"]
            .as_str()
            .unwrap()
            .contains("走访2户"),
        "{logs}"
    );
}

#[tokio::test]
async fn tracks_are_seen_by_their_worker_its_leaders_and_admin_only_and_reads_are_audited() {
    let db = demo_db().await;
    let (app, _, _photos) = app(&db).await;
    let (grid, buildings) = busy_grid(&db).await;
    let village = grid[..12].to_string();
    let worker = user(&db, "网格员丙", Role::Worker, std::slice::from_ref(&grid)).await;
    let peer = user(&db, "同网格员", Role::Worker, std::slice::from_ref(&grid)).await;
    let leader = user(
        &db,
        "村网格长",
        Role::Worker,
        std::slice::from_ref(&village),
    )
    .await;
    let command = user(&db, "指挥中心", Role::Command, &[]).await;
    let admin = user(&db, "管理员", Role::Admin, &[]).await;
    let p = uuid(21);
    let b = buildings[0];
    let actions = json!([
        {"id": p, "kind": "patrol.start", "at": "2026-11-30T09:00:00+08:00"},
        {"id": uuid(22), "kind": "patrol.points", "at": "2026-11-30T09:10:00+08:00", "patrol": p,
         "points": [[b.1, b.2, 1_780_000_000_000i64, 5.0], [b.1 + 0.0005, b.2, 1_780_000_060_000i64, 5.0]]},
        {"id": uuid(23), "kind": "patrol.end", "at": "2026-11-30T09:30:00+08:00", "patrol": p},
    ]);
    let (status, _) = json(
        &app,
        "POST",
        "/api/v1/field/sync",
        Some(&worker),
        json!({"actions": actions}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // Another worker cannot add points to this patrol.
    let (_, body) = json(&app, "POST", "/api/v1/field/sync", Some(&peer), json!({"actions": [
        {"id": uuid(24), "kind": "patrol.points", "at": "2026-11-30T09:10:00+08:00", "patrol": p, "points": [[b.1, b.2, 1_780_000_100_000i64, 5.0]]}]})).await;
    assert_eq!(body["results"][0]["status"], "rejected");
    let uri = format!("/api/v1/patrols/{p}");
    for (token, want) in [
        (&worker, 200),
        (&leader, 200),
        (&admin, 200),
        (&peer, 403),
        (&command, 403),
    ] {
        let (status, body) = json(&app, "GET", &uri, Some(token), Value::Null).await;
        assert_eq!(status.as_u16(), want, "{body}");
    }
    let (status, _) = json(&app, "GET", &uri, None, Value::Null).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, listed) = json(
        &app,
        "GET",
        "/api/v1/patrols?from=2026-11-30&to=2026-11-30",
        Some(&peer),
        Value::Null,
    )
    .await;
    assert!(
        listed["patrols"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["worker"] != "网格员丙"),
        "{listed}"
    );
    let audited: i64 = db
        .client()
        .await
        .query_one("SELECT count(*) FROM audit_log WHERE action = 'read_track' AND user_name IN ('村网格长', '管理员')", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(audited, 2);
    // The leader's compliance covers the worker, with its patrol day counted.
    let (status, c) = json(
        &app,
        "GET",
        "/api/v1/compliance?from=2026-11-30&to=2026-11-30",
        Some(&leader),
        Value::Null,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{c}");
    let rows = c["rows"].as_array().unwrap();
    let row = rows
        .iter()
        .find(|r| r["worker"] == "网格员丙")
        .expect("the leader judges its worker");
    assert!(row["patrol_hours"].as_f64().unwrap() > 0.0, "{row}");
    assert!(
        row["judged"]
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["figure"] == "logs")
    );
    // The leader is judged too, by the village rule; command is not a worker and has no row.
    let own = rows.iter().find(|r| r["worker"] == "村网格长").unwrap();
    assert!(
        own["judged"][0]["rule"].as_str().unwrap().contains("二级"),
        "{own}"
    );
    assert!(!rows.iter().any(|r| r["worker"] == "指挥中心"));
    let (status, _, csv) = call(
        &app,
        "GET",
        "/api/v1/compliance?from=2026-11-30&to=2026-11-30&format=csv",
        Some(&command),
        None,
        Vec::new(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8(csv).unwrap();
    assert!(text.starts_with("网格员,网格,巡查天数"), "{text}");
    assert!(text.contains("网格员丙"));
}

/// The field matrix: every endpoint that hands out field records × every caller, with whether
/// the worker's private text (a log's notes, the patrol's grid time) may appear in the body.
#[tokio::test]
async fn every_field_record_path_applies_the_track_rule_to_every_caller() {
    let db = demo_db().await;
    let (app, _, _photos) = app(&db).await;
    let (grid, buildings) = busy_grid(&db).await;
    let village = grid[..12].to_string();
    let other_grid: String = db
        .client()
        .await
        .query_one(
            "SELECT cell_code FROM buildings WHERE NOT starts_with(cell_code, $1) LIMIT 1",
            &[&village],
        )
        .await
        .unwrap()
        .get(0);
    let owner = user(&db, "矩阵网格员", Role::Worker, std::slice::from_ref(&grid)).await;
    let tokens = [
        None,
        Some(owner.clone()),
        Some(user(&db, "别村网格员", Role::Worker, &[other_grid]).await),
        Some(
            user(
                &db,
                "矩阵村网格长",
                Role::Worker,
                std::slice::from_ref(&village),
            )
            .await,
        ),
        Some(user(&db, "矩阵规划", Role::Planner, &[]).await),
        Some(user(&db, "矩阵指挥", Role::Command, &[]).await),
        Some(user(&db, "矩阵管理员", Role::Admin, &[]).await),
    ];
    let b = buildings[0];
    let secret = "日志密语-7Q";
    let png = {
        use base64::Engine;
        let bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\x0f\0\0\x01\x01\x00\x05\x18\xd8N\0\0\0\0IEND\xaeB`\x82";
        format!(
            "data:image/png;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        )
    };
    let hh: i64 = db
        .client()
        .await
        .query_one("SELECT h.id FROM households h JOIN buildings b ON b.id = h.building_id WHERE b.cell_code = $1 LIMIT 1", &[&grid])
        .await
        .unwrap()
        .get(0);
    let (status, synced) = json(&app, "POST", "/api/v1/field/sync", Some(&owner), json!({"actions": [
        {"id": uuid(31), "kind": "patrol.start", "at": "2026-11-30T09:00:00+08:00"},
        {"id": uuid(32), "kind": "patrol.points", "at": "2026-11-30T09:10:00+08:00", "patrol": uuid(31),
         "points": [[b.1, b.2, 1_780_000_000_000i64, 5.0], [b.1 + 0.0005, b.2, 1_780_000_060_000i64, 5.0]]},
        {"id": uuid(33), "kind": "patrol.end", "at": "2026-11-30T09:30:00+08:00", "patrol": uuid(31)},
        {"id": uuid(34), "kind": "log", "at": "2026-11-30T18:00:00+08:00", "day": "2026-11-30", "notes": secret},
        {"id": uuid(35), "kind": "visit", "at": "2026-11-30T10:00:00+08:00", "household": hh, "outcome": "见面", "photos": [png]},
    ]})).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        synced["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "created"),
        "{synced}"
    );
    let hash: String = db
        .client()
        .await
        .query_one(
            "SELECT photos[1] FROM visits WHERE id = $1::text::uuid",
            &[&uuid(35)],
        )
        .await
        .unwrap()
        .get(0);
    let log_id = uuid(34);
    let p = uuid(31);
    // Columns: none, owner, worker elsewhere, leader, planner, command, admin.
    // (status, whether the secret must show); None for the secret means "never".
    type Row<'a> = (&'a str, String, Option<Value>, [u16; 7], [bool; 7]);
    let rows: Vec<Row> = vec![
        (
            "GET",
            format!("/api/v1/patrols/{p}"),
            None,
            [401, 200, 403, 200, 403, 403, 200],
            [false; 7],
        ),
        (
            "GET",
            "/api/v1/patrols?worker=矩阵网格员&from=2026-11-30&to=2026-11-30".into(),
            None,
            [401, 200, 403, 200, 403, 403, 200],
            [false; 7],
        ),
        (
            "GET",
            "/api/v1/logs?worker=矩阵网格员&from=2026-11-30&to=2026-11-30".into(),
            None,
            [401, 200, 403, 200, 403, 403, 200],
            [false, true, false, true, false, false, true],
        ),
        (
            "GET",
            format!("/api/v1/photos/{hash}"),
            None,
            [401, 200, 403, 200, 403, 200, 200],
            [false; 7],
        ),
        (
            "POST",
            format!("/api/v1/logs/{log_id}/comments"),
            Some(json!({"comment": "已阅"})),
            [401, 403, 403, 201, 403, 403, 201],
            [false; 7],
        ),
        (
            "GET",
            "/api/v1/compliance?from=2026-11-30&to=2026-11-30".into(),
            None,
            [401, 200, 200, 200, 403, 200, 200],
            [false; 7],
        ),
        (
            "GET",
            "/api/v1/field/today".into(),
            None,
            [401, 200, 200, 200, 403, 200, 200],
            [false; 7],
        ),
        (
            "GET",
            "/api/v1/field/households".into(),
            None,
            [401, 200, 200, 200, 403, 403, 200],
            [false; 7],
        ),
        (
            "POST",
            "/api/v1/field/sync".into(),
            Some(json!({"actions": []})),
            [401, 200, 200, 200, 403, 200, 200],
            [false; 7],
        ),
        (
            "GET",
            "/api/v1/devices".into(),
            None,
            [401, 200, 200, 200, 200, 200, 200],
            [false; 7],
        ),
    ];
    let mut failures = Vec::new();
    for (method, uri, body, statuses, secret_shows) in &rows {
        for (c, token) in tokens.iter().enumerate() {
            let (status, answer) = json(
                &app,
                method,
                uri,
                token.as_deref(),
                body.clone().unwrap_or(Value::Null),
            )
            .await;
            let text = answer.to_string();
            if status.as_u16() != statuses[c] {
                failures.push(format!(
                    "{method} {uri} caller {c}: {status} (want {}) {text:.200}",
                    statuses[c]
                ));
            }
            if text.contains(secret) != secret_shows[c] {
                failures.push(format!(
                    "{method} {uri} caller {c}: secret shown = {}",
                    text.contains(secret)
                ));
            }
        }
    }
    // Public outputs never carry field records.
    for uri in [
        "/api/v1/cells?level=3",
        &format!("/api/v1/cells/{grid}/card"),
        &format!("/api/v1/locate?lon={}&lat={}", b.1, b.2),
    ] {
        let (_, answer) = json(&app, "GET", uri, None, Value::Null).await;
        let text = answer.to_string();
        for private in [secret, "矩阵网格员", &hash, &p] {
            assert!(!text.contains(private), "{uri} shows {private}");
        }
    }
    assert!(
        failures.is_empty(),
        "{} cells of the matrix fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn tracks_and_visit_positions_past_their_retention_are_deleted() {
    let db = demo_db().await;
    let (app, _, _photos) = app(&db).await;
    let (grid, buildings) = busy_grid(&db).await;
    let phone = user(&db, "网格员丁", Role::Worker, std::slice::from_ref(&grid)).await;
    let b = buildings[0];
    let old = chrono::Utc::now() - chrono::TimeDelta::days(400);
    let recent = chrono::Utc::now() - chrono::TimeDelta::days(10);
    let fix = |t: chrono::DateTime<chrono::Utc>, dx: f64| {
        json!([b.1 + dx, b.2, t.timestamp_millis(), 5.0])
    };
    let (status, body) = json(
        &app,
        "POST",
        "/api/v1/field/sync",
        Some(&phone),
        json!({"actions": [
            {"id": uuid(41), "kind": "patrol.start", "at": old.to_rfc3339()},
            {"id": uuid(42), "kind": "patrol.points", "at": old.to_rfc3339(), "patrol": uuid(41),
             "points": [fix(old, 0.0), fix(old + chrono::TimeDelta::seconds(30), 0.0002)]},
            {"id": uuid(43), "kind": "patrol.start", "at": recent.to_rfc3339()},
            {"id": uuid(44), "kind": "patrol.points", "at": recent.to_rfc3339(), "patrol": uuid(43),
             "points": [fix(recent, 0.0), fix(recent + chrono::TimeDelta::seconds(30), 0.0002)]},
        ]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let client = db.client().await;
    let (points, _) = gridmap::app::fieldwork::purge(&client, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(points, 2, "the two fixes older than 365 days");
    let left: i64 = client
        .query_one(
            "SELECT count(*) FROM patrol_points WHERE patrol_id = $1::text::uuid",
            &[&uuid(43)],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 2, "recent fixes are kept");
}

#[tokio::test]
async fn a_leader_issues_its_workers_pairing_code_as_a_qr_code_that_opens_the_app() {
    let db = demo_db().await;
    let (app, _, _photos) = app(&db).await;
    let (grid, _) = busy_grid(&db).await;
    user(
        &db,
        "待配对网格员",
        Role::Worker,
        std::slice::from_ref(&grid),
    )
    .await;
    let leader = user(&db, "配对村网格长", Role::Worker, &[grid[..12].to_string()]).await;
    let peer = user(
        &db,
        "配对同网格员",
        Role::Worker,
        std::slice::from_ref(&grid),
    )
    .await;
    let planner = user(&db, "配对规划", Role::Planner, &[]).await;
    for (token, want) in [
        (&peer, StatusCode::FORBIDDEN),
        (&planner, StatusCode::FORBIDDEN),
    ] {
        let (status, body) = json(
            &app,
            "POST",
            "/api/v1/devices/pairings",
            Some(token),
            json!({"user": "待配对网格员"}),
        )
        .await;
        assert_eq!(status, want, "{body}");
    }
    let (status, body) = json(
        &app,
        "POST",
        "/api/v1/devices/pairings",
        Some(&leader),
        json!({"user": "待配对网格员"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let code = body["code"].as_str().unwrap();
    assert_eq!(
        body["link"].as_str().unwrap(),
        format!("http://localhost/field#pair={code}")
    );
    // zbarimg reads the QR code back as the link.
    use base64::Engine;
    let png = base64::engine::general_purpose::STANDARD
        .decode(
            body["qr"]
                .as_str()
                .unwrap()
                .strip_prefix("data:image/png;base64,")
                .unwrap(),
        )
        .unwrap();
    let file = tempfile::Builder::new().suffix(".png").tempfile().unwrap();
    std::fs::write(file.path(), &png).unwrap();
    let out = std::process::Command::new("zbarimg")
        .args(["--raw", "-q"])
        .arg(file.path())
        .output()
        .expect("zbarimg (zbar-tools)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        body["link"].as_str().unwrap()
    );
    // The code pairs the worker's phone, not the leader's.
    let (status, paired) = json(
        &app,
        "POST",
        "/api/v1/devices/pair",
        None,
        json!({"code": code, "device": "扫码手机"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(paired["user"]["name"], "待配对网格员");
}

#[tokio::test]
async fn two_syncs_racing_with_one_report_make_one_incident() {
    let db = demo_db().await;
    let (app, _, _photos) = app(&db).await;
    let (grid, buildings) = busy_grid(&db).await;
    let phone = user(&db, "网格员戊", Role::Worker, std::slice::from_ref(&grid)).await;
    let b = buildings[0];
    let body = json!({"actions": [{"id": uuid(51), "kind": "incident", "at": "2026-11-30T10:00:00+08:00",
        "category": "安全隐患/消防隐患", "description": "楼道堆放杂物", "lon": b.1, "lat": b.2, "crs": "cgcs2000"}]});
    let (a, c) = tokio::join!(
        json(
            &app,
            "POST",
            "/api/v1/field/sync",
            Some(&phone),
            body.clone()
        ),
        json(
            &app,
            "POST",
            "/api/v1/field/sync",
            Some(&phone),
            body.clone()
        ),
    );
    let mut statuses = vec![
        a.1["results"][0]["status"].as_str().unwrap().to_string(),
        c.1["results"][0]["status"].as_str().unwrap().to_string(),
    ];
    statuses.sort();
    assert_eq!(statuses, ["created", "duplicate"], "{} {}", a.1, c.1);
    let count: i64 = db
        .client()
        .await
        .query_one(
            "SELECT count(*) FROM incidents WHERE description = '楼道堆放杂物'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 1);
}
