//! Incidents against real PostGIS: the closed loop and its illegal transitions, the clock
//! (escalation, delay, suspension), KPIs and their CSV, Open311 round trip, and the live stream
//! with `Last-Event-ID` replay after a reconnect.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use gridmap::domain::role::Role;
use gridmap::http::router;
use serde_json::{Value, json};

use crate::harness::{TestDb, call, demo_db, fresh_db, user};
use crate::http::app_with_atlas;

async fn send(
    app: &axum::Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    content_type: &str,
    body: String,
) -> (StatusCode, Value, String) {
    let (status, _, bytes) = call(
        app,
        method,
        uri,
        token,
        Some(content_type),
        body.into_bytes(),
    )
    .await;
    let text = String::from_utf8_lossy(&bytes).to_string();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    )
}

async fn json_call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    token: &str,
    body: Value,
) -> (StatusCode, Value) {
    let (s, v, _) = send(
        app,
        method,
        uri,
        Some(token),
        "application/json",
        body.to_string(),
    )
    .await;
    (s, v)
}

/// A demo building point and its grid.
async fn a_place(db: &TestDb, k: i64) -> (f64, f64, String) {
    let r = db
        .client()
        .await
        .query_one(
            "SELECT ST_X(geom), ST_Y(geom), cell_code FROM buildings ORDER BY id OFFSET $1 LIMIT 1",
            &[&k],
        )
        .await
        .unwrap();
    (r.get(0), r.get(1), r.get(2))
}

async fn report(app: &axum::Router, token: &str, lon: f64, lat: f64, category: &str) -> Value {
    let (status, body) = json_call(
        app,
        "POST",
        "/api/v1/incidents",
        token,
        json!({"category": category, "description": "楼道堆放杂物", "lon": lon, "lat": lat,
               "crs": "cgcs2000", "source": "网格员巡查"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["incident"].clone()
}

async fn action(app: &axum::Router, token: &str, id: &Value, body: Value) -> (StatusCode, Value) {
    json_call(
        app,
        "POST",
        &format!("/api/v1/incidents/{id}/actions"),
        token,
        body,
    )
    .await
}

#[tokio::test]
async fn the_closed_loop_runs_and_illegal_actions_name_the_allowed_ones() {
    let db = demo_db().await;
    let (app, _) = app_with_atlas(&db).await;
    let (lon, lat, grid) = a_place(&db, 3).await;
    let worker = user(&db, "巡查员", Role::Worker, std::slice::from_ref(&grid)).await;
    let mut k = 4;
    let elsewhere = loop {
        let (_, _, other) = a_place(&db, k * 97).await;
        if other != grid {
            break other;
        }
        k += 1;
    };
    let stranger = user(&db, "外网格员", Role::Worker, &[elsewhere]).await;
    let command = user(&db, "值班长", Role::Command, &[]).await;

    let incident = report(&app, &worker, lon, lat, "安全隐患/消防隐患").await;
    let id = incident["id"].clone();
    assert_eq!(incident["state"], "上报");
    assert_eq!(incident["cell"]["code"], grid.as_str());
    assert_eq!(incident["category"], "安全隐患/消防隐患");
    assert_eq!(incident["severity"], 3, "the category's default severity");
    assert_eq!(incident["level"], "grid");
    assert!(incident["deadline_at"].is_string());
    assert!(
        !incident["team"].as_array().unwrap().is_empty(),
        "routed to the grid's team"
    );
    assert!(incident.get("reporter").is_none());

    let (status, body) = action(&app, &command, &id, json!({"action": "结案"})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "illegal_transition");
    assert_eq!(
        body["error"]["details"]["allowed"],
        json!(["受理", "作废", "督办"])
    );
    let (status, _) = action(&app, &stranger, &id, json!({"action": "受理"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "not the stranger's grid");

    for (step, extra) in [
        ("受理", json!({})),
        ("派遣", json!({})),
        ("处置", json!({})),
        ("反馈", json!({"note": "已清理"})),
        ("核查", json!({})),
        ("回退", json!({"note": "仍有杂物"})),
        ("反馈", json!({})),
        ("核查", json!({})),
        ("结案", json!({})),
        ("评价", json!({"rating": "满意"})),
    ] {
        let mut body = extra;
        body["action"] = json!(step);
        let (status, answer) = action(&app, &command, &id, body).await;
        assert_eq!(status, StatusCode::OK, "{step}: {answer}");
    }
    let (_, shown) = json_call(
        &app,
        "GET",
        &format!("/api/v1/incidents/{id}"),
        &command,
        json!(null),
    )
    .await;
    assert_eq!(shown["incident"]["state"], "评价");
    assert_eq!(shown["incident"]["rating"], "满意");
    assert!(shown["incident"]["closed_at"].is_string());
    let actions: Vec<&str> = shown["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "上报", "受理", "派遣", "处置", "反馈", "核查", "回退", "反馈", "核查", "结案", "评价"
        ]
    );
    assert_eq!(shown["events"][4]["note"], "已清理");
    let (status, body) = action(&app, &command, &id, json!({"action": "督办"})).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "finished: nothing is allowed: {body}"
    );
    assert_eq!(body["error"]["details"]["allowed"], json!([]));

    // Bad reports are 400s naming the field, and nothing is written.
    for (body, field) in [
        (
            json!({"description": "x", "lon": lon, "lat": lat}),
            "category",
        ),
        (
            json!({"category": "外星入侵", "description": "x", "lon": lon, "lat": lat}),
            "category",
        ),
        (
            json!({"category": "0201", "description": "x", "lon": lon}),
            "lat",
        ),
        (
            json!({"category": "0201", "description": "x", "lon": lon, "lat": lat, "severity": 9}),
            "severity",
        ),
        (
            json!({"category": "0201", "description": "x", "lon": lon, "lat": lat, "crs": "mars"}),
            "crs",
        ),
        (
            json!({"category": "0201", "lon": lon, "lat": lat}),
            "description",
        ),
    ] {
        let (status, answer) = json_call(&app, "POST", "/api/v1/incidents", &worker, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert_eq!(answer["error"]["details"]["field"], field, "{answer}");
    }
    let (status, answer) = action(&app, &command, &id, json!({"action": "延期"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["error"]["details"]["field"], "action");
    let count: i64 = db
        .client()
        .await
        .query_one("SELECT count(*) FROM incidents", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 1);
}

#[tokio::test]
async fn escalation_delay_and_suspension_move_the_deadline() {
    let db = demo_db().await;
    let (app, _) = app_with_atlas(&db).await;
    let (lon, lat, _) = a_place(&db, 10).await;
    let command = user(&db, "值班长", Role::Command, &[]).await;
    let incident = report(&app, &command, lon, lat, "0101").await;
    let id = incident["id"].clone();
    let deadline = |v: &Value| {
        chrono::DateTime::parse_from_rfc3339(v["deadline_at"].as_str().unwrap()).unwrap()
    };
    for step in ["受理", "派遣"] {
        assert_eq!(
            action(&app, &command, &id, json!({"action": step})).await.0,
            StatusCode::OK
        );
    }
    let (_, before) = action(
        &app,
        &command,
        &id,
        json!({"action": "督办", "supervision": "yellow"}),
    )
    .await;
    assert_eq!(before["incident"]["supervision"], "yellow");
    let (_, delayed) = action(&app, &command, &id, json!({"action": "延期", "days": 2})).await;
    let moved = deadline(&delayed["incident"]) - deadline(&before["incident"]);
    assert!(
        moved >= chrono::TimeDelta::days(2),
        "two working days later: {moved}"
    );
    let (_, suspended) = action(&app, &command, &id, json!({"action": "挂账"})).await;
    assert_eq!(suspended["incident"]["suspended"], true);
    let (status, body) = action(&app, &command, &id, json!({"action": "处置"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "suspended: {body}");
    assert_eq!(
        body["error"]["details"]["allowed"],
        json!(["解除挂账", "督办"])
    );
    let (_, resumed) = action(&app, &command, &id, json!({"action": "解除挂账"})).await;
    assert_eq!(resumed["incident"]["suspended"], false);
    assert!(deadline(&resumed["incident"]) >= deadline(&delayed["incident"]));
    // 吹哨: up to the village, then the township, then the county; never higher.
    for level in ["village", "township", "county"] {
        let (status, up) = action(&app, &command, &id, json!({"action": "吹哨"})).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(up["incident"]["level"], level);
        assert_eq!(up["incident"]["state"], "派遣");
    }
    let (status, _) = action(&app, &command, &id, json!({"action": "吹哨"})).await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn kpis_count_todays_work_and_export_csv() {
    let db = demo_db().await;
    let (app, _) = app_with_atlas(&db).await;
    let command = user(&db, "统计员", Role::Command, &[]).await;
    let mut ids = Vec::new();
    for k in 0..3 {
        let (lon, lat, _) = a_place(&db, 100 + k * 50).await;
        ids.push(report(&app, &command, lon, lat, "市容环境/垃圾堆放").await["id"].clone());
    }
    for step in ["受理", "派遣", "处置", "反馈", "核查", "结案"] {
        action(&app, &command, &ids[0], json!({"action": step})).await;
    }
    action(
        &app,
        &command,
        &ids[0],
        json!({"action": "评价", "rating": "基本满意"}),
    )
    .await;
    action(&app, &command, &ids[1], json!({"action": "作废"})).await;
    let (status, stats) = json_call(
        &app,
        "GET",
        "/api/v1/stats?level=village",
        &command,
        json!(null),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    let t = &stats["totals"];
    assert_eq!(t["today"], 3);
    assert_eq!(t["reported"], 2, "the voided one never counts");
    assert_eq!(t["open"], 1);
    assert_eq!(t["due"], 1, "only the closed one is due yet");
    assert_eq!(t["closed_on_time"], 1);
    assert_eq!(t["closure_rate"], 1.0);
    assert_eq!(t["satisfaction_rate"], 1.0);
    let rows = stats["rows"].as_array().unwrap();
    assert!(
        rows.iter()
            .all(|r| r["code"].as_str().unwrap().len() == 12 && r["name"].is_string())
    );
    let (status, _, csv) = send(
        &app,
        "GET",
        "/api/v1/stats?level=grid&format=csv",
        Some(&command),
        "text/plain",
        String::new(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let csv = csv.trim_start_matches('\u{feff}');
    assert!(csv.starts_with(
        "code,name,reported,open,应结案数,结案数,按期结案数,超期数,结案率,按期结案率"
    ));
    assert!(
        csv.lines()
            .last()
            .unwrap()
            .starts_with("total,合计,2,1,1,1,1,0,100.0%,100.0%"),
        "{csv}"
    );
    let (status, answer) = json_call(
        &app,
        "GET",
        "/api/v1/stats?level=planet",
        &command,
        json!(null),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["error"]["details"]["field"], "level");
}

#[tokio::test]
async fn open311_round_trip() {
    let db = demo_db().await;
    let (app, _) = app_with_atlas(&db).await;
    let key = user(&db, "12345热线", Role::Command, &[]).await;
    let (status, services, _) = send(
        &app,
        "GET",
        "/open311/v2/services.json",
        None,
        "text/plain",
        String::new(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let fire = services
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service_code"] == "0201")
        .unwrap();
    assert_eq!(fire["group"], "安全隐患");
    let (lon, lat, grid) = a_place(&db, 77).await;
    let form = format!(
        "api_key={key}&service_code=0201&lat={lat}&long={lon}&description=%E7%83%9F%E9%9B%BE&address_string=test&attribute%5Bhazard%5D=%E5%85%B6%E4%BB%96"
    );
    let (status, created, text) = send(
        &app,
        "POST",
        "/open311/v2/requests.json",
        None,
        "application/x-www-form-urlencoded",
        form,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let id = created[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, one, _) = send(
        &app,
        "GET",
        &format!("/open311/v2/requests/{id}.json?api_key={key}"),
        None,
        "text/plain",
        String::new(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one[0]["status"], "open");
    assert_eq!(one[0]["status_notes"], "上报");
    assert_eq!(one[0]["service_code"], "0201");
    assert_eq!(one[0]["description"], "烟雾");
    let row: String = db
        .client()
        .await
        .query_one(
            "SELECT cell_code FROM incidents WHERE id = $1",
            &[&id.parse::<i64>().unwrap()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(row, grid);
    action(
        &app,
        &key,
        &json!(id.parse::<i64>().unwrap()),
        json!({"action": "作废"}),
    )
    .await;
    let (_, closed, _) = send(
        &app,
        "GET",
        &format!("/open311/v2/requests.json?api_key={key}&status=closed"),
        None,
        "text/plain",
        String::new(),
    )
    .await;
    assert!(
        closed
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["service_request_id"] == id.as_str() && r["status"] == "closed")
    );
    let (_, open, _) = send(
        &app,
        "GET",
        &format!("/open311/v2/requests.json?api_key={key}&status=open"),
        None,
        "text/plain",
        String::new(),
    )
    .await;
    assert!(
        !open
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["service_request_id"] == id.as_str())
    );
    // Errors in the GeoReport shape, naming the field.
    let (status, err, _) = send(
        &app,
        "POST",
        "/open311/v2/requests.json",
        None,
        "application/x-www-form-urlencoded",
        format!("api_key={key}&service_code=0201&long={lon}&description=x"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        err[0]["description"]
            .as_str()
            .unwrap()
            .starts_with("lat/long")
    );
    let (status, err, _) = send(
        &app,
        "POST",
        "/open311/v2/requests.json",
        None,
        "application/x-www-form-urlencoded",
        format!("api_key={key}&service_code=9999&lat={lat}&long={lon}&description=x"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        err[0]["description"]
            .as_str()
            .unwrap()
            .starts_with("service_code"),
        "{err}"
    );
    let (status, _, _) = send(
        &app,
        "GET",
        "/open311/v2/requests.json",
        None,
        "text/plain",
        String::new(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// Reads SSE events from a raw connection until `count` events arrived or the time is up.
fn read_events(
    reader: &mut BufReader<TcpStream>,
    count: usize,
    within: Duration,
) -> Vec<(i64, String, Value)> {
    let deadline = Instant::now() + within;
    let mut out = Vec::new();
    let (mut id, mut kind, mut data) = (None, None, None);
    let mut line = String::new();
    while out.len() < count && Instant::now() < deadline {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(_) => continue, // read timeout: try again until the deadline
        }
        let l = line.trim_end();
        if let Some(v) = l.strip_prefix("id: ").or_else(|| l.strip_prefix("id:")) {
            id = v.trim().parse().ok();
        } else if let Some(v) = l
            .strip_prefix("event: ")
            .or_else(|| l.strip_prefix("event:"))
        {
            kind = Some(v.trim().to_string());
        } else if let Some(v) = l.strip_prefix("data: ").or_else(|| l.strip_prefix("data:")) {
            data = serde_json::from_str(v.trim()).ok();
        } else if l.is_empty()
            && let (Some(i), Some(k), Some(d)) = (id.take(), kind.take(), data.take())
        {
            out.push((i, k, d));
        }
    }
    out
}

fn open_stream(address: &str, token: &str, last: Option<i64>) -> BufReader<TcpStream> {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let last = last
        .map(|l| format!("Last-Event-ID: {l}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "GET /api/v1/live?access_token={token} HTTP/1.1\r\nHost: test\r\nAccept: text/event-stream\r\n{last}\r\n"
    )
    .unwrap();
    BufReader::new(stream)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_stream_carries_reports_and_replays_what_a_reconnecting_client_missed() {
    let db = demo_db().await;
    let (app, state) = app_with_atlas(&db).await;
    let follower = state.live.follow(db.config.clone(), state.pool.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let server = tokio::spawn(axum::serve(listener, router(state.clone())).into_future());
    let command = user(&db, "大屏", Role::Command, &[]).await;
    let worker = user(&db, "上报员", Role::Worker, &[]).await;
    let (lon, lat, _) = a_place(&db, 5).await;

    let token = command.clone();
    let addr = address.clone();
    let first = tokio::task::spawn_blocking(move || {
        let mut reader = open_stream(&addr, &token, None);
        // Wait for the response head before reporting.
        let mut line = String::new();
        while !line.starts_with("HTTP/1.1 200") {
            line.clear();
            let _ = reader.read_line(&mut line);
        }
        reader
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let posted = Instant::now();
    let incident = report(&app, &worker, lon, lat, "0401").await;
    let events = tokio::task::spawn_blocking(move || {
        let mut reader = first;
        read_events(&mut reader, 1, Duration::from_secs(5))
    })
    .await
    .unwrap();
    let elapsed = posted.elapsed();
    assert_eq!(events.len(), 1, "the report reached the stream");
    assert_eq!(events[0].1, "incident.created");
    assert_eq!(events[0].2["incident"]["id"], incident["id"]);
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    let seen = events[0].0;

    // While the client is away: two reports and an action.
    let second = report(&app, &worker, lon, lat, "0402").await;
    let third = report(&app, &worker, lon, lat, "0403").await;
    action(&app, &command, &second["id"], json!({"action": "受理"})).await;
    let token = command.clone();
    let missed = tokio::task::spawn_blocking(move || {
        let mut reader = open_stream(&address, &token, Some(seen));
        read_events(&mut reader, 3, Duration::from_secs(5))
    })
    .await
    .unwrap();
    let kinds: Vec<(&str, &Value)> = missed
        .iter()
        .map(|(_, k, d)| (k.as_str(), &d["incident"]["id"]))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("incident.created", &second["id"]),
            ("incident.created", &third["id"]),
            ("incident.updated", &second["id"]),
        ]
    );
    assert!(missed.windows(2).all(|w| w[0].0 < w[1].0), "in order");
    follower.abort();
    server.abort();
}

#[tokio::test]
async fn a_live_event_that_commits_late_is_numbered_after_those_already_read() {
    use gridmap::store::live;
    let db = fresh_db(true).await;
    let mut slow = db.client().await;
    let mut quick = db.client().await;
    let mut reader = db.client().await;
    // The slow writer records its event first but commits last.
    let slow_tx = slow.transaction().await.unwrap();
    live::record(&slow_tx, "test.slow", &json!({"n": 1}))
        .await
        .unwrap();
    let quick_tx = quick.transaction().await.unwrap();
    live::record(&quick_tx, "test.quick", &json!({"n": 2}))
        .await
        .unwrap();
    quick_tx.commit().await.unwrap();
    let first = live::sequence(&mut reader).await.unwrap().unwrap();
    let read = live::after(&reader, 0, 100).await.unwrap();
    assert_eq!(
        read.len(),
        1,
        "only the committed event is numbered: {read:?}"
    );
    assert_eq!((read[0].0, read[0].1.as_str()), (first, "test.quick"));
    assert_eq!(live::head(&reader).await.unwrap(), first);
    // Nothing new: the sequencer numbers nothing and announces nothing.
    assert_eq!(live::sequence(&mut reader).await.unwrap(), None);
    slow_tx.commit().await.unwrap();
    let second = live::sequence(&mut reader).await.unwrap().unwrap();
    assert!(second > first, "{second} after {first}");
    // A reader that stopped at `first` finds the late event after it: nothing is skipped.
    let rest = live::after(&reader, first, 100).await.unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!((rest[0].0, rest[0].1.as_str()), (second, "test.slow"));
}

#[tokio::test]
async fn the_demo_week_of_incidents_feeds_the_kpis() {
    let db = demo_db().await;
    let (app, state) = app_with_atlas(&db).await;
    let mut client = db.client().await;
    let seeded = gridmap::app::demo::seed_week_of_incidents(
        &mut client,
        &state.calendar.load(),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(seeded, 120);
    let command = user(&db, "演示大屏", Role::Command, &[]).await;
    let (status, stats) = json_call(
        &app,
        "GET",
        "/api/v1/stats?level=township&from=2000-01-01",
        &command,
        json!(null),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    let t = &stats["totals"];
    assert_eq!(t["reported"], 120);
    assert!(t["closed"].as_u64().unwrap() > 10, "{t}");
    assert!(t["open"].as_u64().unwrap() > 10, "{t}");
    assert!(t["rated"].as_u64().unwrap() > 0);
    let (_, list) = json_call(
        &app,
        "GET",
        "/api/v1/incidents?hours=168&limit=500",
        &command,
        json!(null),
    )
    .await;
    let list = list["incidents"].as_array().unwrap();
    assert_eq!(list.len(), 120);
    assert!(list.iter().all(
        |i| i["description"].as_str().unwrap().starts_with("（演示）")
            && i["cell"]["name"].is_string()
    ));
    assert!(
        list.iter()
            .any(|i| i["overdue"] == true && i["warning"] == "red")
    );
    // The seeded histories follow the loop: an action on a seeded incident works.
    let open = list.iter().find(|i| i["state"] == "上报").unwrap();
    let (status, _) = action(&app, &command, &open["id"], json!({"action": "受理"})).await;
    assert_eq!(status, StatusCode::OK);
}
