//! 吹哨报到 through the real router and PostGIS: a dispatch to two departments (one lead), their
//! 报到 (one late: yellow, then counted in 响应率), the lead's 办结 after the other's, the grid
//! worker's 核查 and 结案; each department sees only its own part and a third one is refused; the
//! KPIs by hand and their xlsx read back with calamine; the reverse assessment; the 准入清单 with
//! its approval record; the stage clocks carried over by the migration; Open311 service
//! definitions and their required attributes.

use axum::http::StatusCode;
use gridmap::domain::role::Role;
use serde_json::{Value, json};

use crate::harness::{TestDb, call, demo_db, fresh_db, json, user};
use crate::http::app_with_atlas;

const TOWNSHIP: &str = "520328004";
const GRID: &str = "520328004016001";

/// A point inside `cell` (CGCS2000).
async fn point_in(db: &TestDb, cell: &str) -> (f64, f64) {
    let row = db
        .client()
        .await
        .query_one(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM cells
             WHERE code = $1 AND valid_to IS NULL) q",
            &[&cell],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

fn part_of<'a>(incident: &'a Value, department: &str) -> &'a Value {
    incident["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["department"] == department)
        .unwrap_or_else(|| panic!("no part of {department} in {incident}"))
}

#[tokio::test]
async fn a_whistle_to_two_departments_is_reported_for_done_by_the_lead_last_and_verified_by_the_grid()
 {
    let db = demo_db().await;
    let (app, _) = app_with_atlas(&db).await;
    let mut client = db.client().await;
    gridmap::app::demo::seed_departments(&mut client)
        .await
        .unwrap();
    let police = format!("pcs-{TOWNSHIP}");
    let enforcement = format!("zhzf-{TOWNSHIP}");
    let command = user(&db, "指挥中心", Role::Command, &[]).await;
    let worker = user(&db, "网格员", Role::Worker, &[GRID.to_string()]).await;
    let village_leader = user(&db, "村支书", Role::Worker, &[GRID[..12].to_string()]).await;
    let township_leader = user(&db, "镇长", Role::Worker, &[TOWNSHIP.to_string()]).await;
    let dept = |name: &'static str, code: String| {
        let db = &db;
        async move {
            gridmap::store::departments::add_user(&mut db.client().await, name, &code)
                .await
                .unwrap()
        }
    };
    let police_token = dept("派出所值班", police.clone()).await;
    let enforcement_token = dept("执法中队", enforcement.clone()).await;
    let third = dept("应急局", "yjj".to_string()).await;

    let (x, y) = point_in(&db, GRID).await;
    let (status, created) = json(
        &app,
        "POST",
        "/api/v1/incidents",
        Some(&worker),
        json!({"category": "0403", "description": "占道经营，多次劝离无效", "lon": x, "lat": y, "crs": "cgcs2000"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["incident"]["id"].as_i64().unwrap();
    assert!(
        created["incident"]["stages"]["response"]["due"].is_string(),
        "a new incident has a response clock: {created}"
    );
    let (status, _) = json(
        &app,
        "POST",
        &format!("/api/v1/incidents/{id}/actions"),
        Some(&command),
        json!({"action": "受理"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let dispatch = format!("/api/v1/incidents/{id}/dispatch");
    let body =
        json!({"departments": [police, enforcement], "lead": enforcement, "note": "联合整治"});
    // A village leader may not whistle to departments; a township leader or command may.
    let (status, refused) =
        json(&app, "POST", &dispatch, Some(&village_leader), body.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    // Two named without a lead: the field is named.
    let (status, refused) = json(
        &app,
        "POST",
        &dispatch,
        Some(&township_leader),
        json!({"departments": [police, enforcement]}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(refused["error"]["details"]["field"], "lead");
    let (status, dispatched) = json(&app, "POST", &dispatch, Some(&township_leader), body).await;
    assert_eq!(status, StatusCode::OK, "{dispatched}");
    let incident = &dispatched["incident"];
    assert_eq!(incident["state"], "派遣");
    assert_eq!(incident["level"], "township");
    assert_eq!(incident["parts"].as_array().unwrap().len(), 2);
    assert_eq!(part_of(incident, &enforcement)["lead"], true);
    assert_eq!(part_of(incident, &police)["lead"], false);
    let police_part = part_of(incident, &police)["id"].as_i64().unwrap();
    let lead_part = part_of(incident, &enforcement)["id"].as_i64().unwrap();
    // The same department twice is a conflict, not a second part.
    let (status, _) = json(
        &app,
        "POST",
        &dispatch,
        Some(&command),
        json!({"departments": [police]}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Each department sees the incident with its own part only; a third one sees nothing.
    let (status, seen) = json(
        &app,
        "GET",
        &format!("/api/v1/incidents/{id}"),
        Some(&police_token),
        Value::Null,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let parts = seen["incident"]["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0]["department"], police.as_str());
    assert_eq!(seen["incident"]["description"], "占道经营，多次劝离无效");
    let (status, listed) = json(
        &app,
        "GET",
        "/api/v1/incidents",
        Some(&police_token),
        Value::Null,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<i64> = listed["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![id],
        "a department lists the incidents it is dispatched to"
    );
    let (status, _) = json(
        &app,
        "GET",
        &format!("/api/v1/incidents/{id}"),
        Some(&third),
        Value::Null,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, listed) = json(&app, "GET", "/api/v1/incidents", Some(&third), Value::Null).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed["incidents"], json!([]));
    for (token, part) in [
        (&third, police_part),
        (&police_token, lead_part),
        (&worker, police_part),
    ] {
        let (status, _) = json(
            &app,
            "POST",
            &format!("/api/v1/parts/{part}/report"),
            Some(token),
            json!({}),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "only the part's own department reports for it"
        );
    }
    // The loop's own actions are not a department's.
    let (status, _) = json(
        &app,
        "POST",
        &format!("/api/v1/incidents/{id}/actions"),
        Some(&police_token),
        json!({"action": "反馈"}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // 派出所 reports for duty at once; the lead misses its 报到 deadline (time moves on).
    let (status, reported) = json(
        &app,
        "POST",
        &format!("/api/v1/parts/{police_part}/report"),
        Some(&police_token),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reported}");
    assert_eq!(
        reported["incident"]["state"], "处置",
        "报到 starts the handling"
    );
    let (status, _) = json(
        &app,
        "POST",
        &format!("/api/v1/parts/{police_part}/report"),
        Some(&police_token),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "报到 once");
    client
        .execute(
            "UPDATE incident_parts SET report_due = now() - interval '1 hour' WHERE id = $1",
            &[&lead_part],
        )
        .await
        .unwrap();
    let (_, seen) = json(
        &app,
        "GET",
        &format!("/api/v1/incidents/{id}"),
        Some(&command),
        Value::Null,
    )
    .await;
    let late = part_of(&seen["incident"], &enforcement);
    assert_eq!(
        (late["report_late"].clone(), late["warning"].clone()),
        (json!(true), json!("yellow"))
    );
    assert_eq!(part_of(&seen["incident"], &police)["warning"], "normal");
    let (status, board) = json(
        &app,
        "GET",
        "/api/v1/departments/board",
        Some(&command),
        Value::Null,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{board}");
    let late_parts: Vec<i64> = board["late_reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["part"].as_i64().unwrap())
        .collect();
    assert_eq!(
        late_parts,
        vec![lead_part],
        "the wall shows the overdue 报到"
    );
    assert!(
        !board.to_string().contains("占道经营，多次劝离无效"),
        "the panel carries no incident text"
    );
    let (status, _) = json(
        &app,
        "GET",
        "/api/v1/departments/board",
        Some(&police_token),
        Value::Null,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, _) = json(
        &app,
        "POST",
        &format!("/api/v1/parts/{lead_part}/report"),
        Some(&enforcement_token),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // The lead closes only after the other part is done, and 办结 needs a result.
    let (status, refused) = json(
        &app,
        "POST",
        &format!("/api/v1/parts/{lead_part}/done"),
        Some(&enforcement_token),
        json!({"result": "已清理"}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&police)
    );
    let (status, refused) = json(
        &app,
        "POST",
        &format!("/api/v1/parts/{police_part}/done"),
        Some(&police_token),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(refused["error"]["details"]["field"], "result");
    let (status, _) = json(
        &app,
        "POST",
        &format!("/api/v1/parts/{police_part}/done"),
        Some(&police_token),
        json!({"result": "派出所：已现场劝离、登记"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, done) = json(
        &app,
        "POST",
        &format!("/api/v1/parts/{lead_part}/done"),
        Some(&enforcement_token),
        json!({"result": "执法中队：摊点清理完毕"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(
        done["incident"]["state"], "反馈",
        "the lead's 办结 hands the incident to 核查"
    );
    // The police see their own steps' notes, not the lead's result.
    let (_, seen) = json(
        &app,
        "GET",
        &format!("/api/v1/incidents/{id}"),
        Some(&police_token),
        Value::Null,
    )
    .await;
    let text = seen.to_string();
    assert!(text.contains("已现场劝离"));
    assert!(!text.contains("摊点清理完毕"), "{text}");
    // The grid worker verifies and closes; the incident does not close before its 核查.
    let act = |action: &'static str| {
        let app = app.clone();
        let worker = worker.clone();
        async move {
            json(
                &app,
                "POST",
                &format!("/api/v1/incidents/{id}/actions"),
                Some(&worker),
                json!({"action": action}),
            )
            .await
        }
    };
    assert_eq!(act("结案").await.0, StatusCode::CONFLICT);
    assert_eq!(act("核查").await.0, StatusCode::OK);
    let (status, closed) = act("结案").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(closed["incident"]["state"], "结案");

    // KPIs by hand: each department had one part; the police reported on time, the lead late;
    // both done within their 处置 days.
    let (status, k) = json(
        &app,
        "GET",
        "/api/v1/departments/kpis",
        Some(&command),
        Value::Null,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{k}");
    let row = |code: &str| {
        k["departments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["code"] == code)
            .cloned()
            .unwrap()
    };
    let p = row(&police);
    assert_eq!(
        (
            p["undertaken"].clone(),
            p["to_respond"].clone(),
            p["responded_on_time"].clone()
        ),
        (json!(1), json!(1), json!(1))
    );
    assert_eq!(p["response_rate"], 1.0);
    assert_eq!(
        (
            p["closed"].clone(),
            p["closed_on_time"].clone(),
            p["overdue"].clone()
        ),
        (json!(1), json!(1), json!(0))
    );
    let e = row(&enforcement);
    assert_eq!(
        e["response_rate"], 0.0,
        "the late 报到 counts against the 响应率"
    );
    assert_eq!(e["closure_rate"], 1.0);
    assert_eq!(row("yjj")["reported"], 0);
    assert_eq!(k["totals"]["to_respond"], 2);
    assert_eq!(k["totals"]["responded_on_time"], 1);
    // A department sees its own row only.
    let (_, own) = json(
        &app,
        "GET",
        "/api/v1/departments/kpis",
        Some(&police_token),
        Value::Null,
    )
    .await;
    assert_eq!(own["departments"].as_array().unwrap().len(), 1);
    assert!(own["totals"].is_null());

    // The reverse assessment: the township scores its departments; a village leader may not.
    let period = chrono::Utc::now()
        .with_timezone(&gridmap::domain::calendar::china())
        .format("%Y-%m")
        .to_string();
    let review = format!("/api/v1/departments/{police}/reviews");
    let score =
        |s: f64| json!({"period": period, "township": TOWNSHIP, "score": s, "note": "响应及时"});
    let (status, _) = json(&app, "POST", &review, Some(&village_leader), score(60.0)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, bad) = json(&app, "POST", &review, Some(&township_leader), score(120.0)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(bad["error"]["details"]["field"], "score");
    assert_eq!(
        json(&app, "POST", &review, Some(&township_leader), score(80.0))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    // A second score of the same township and period replaces the first.
    assert_eq!(
        json(&app, "POST", &review, Some(&township_leader), score(90.0))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let (_, k) = json(
        &app,
        "GET",
        &format!("/api/v1/departments/kpis?period={period}"),
        Some(&command),
        Value::Null,
    )
    .await;
    let p = k["departments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == police.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        (p["review_average"].clone(), p["reviews"].clone()),
        (json!(90.0), json!(1))
    );

    // The same table as xlsx, read back with calamine.
    let (status, headers, bytes) = call(
        &app,
        "GET",
        &format!("/api/v1/departments/kpis?period={period}&format=xlsx"),
        Some(&command),
        None,
        Vec::new(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .contains("spreadsheetml")
    );
    use calamine::{DataType, Reader};
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let sheet = book.worksheet_range("部门考核").unwrap();
    let header: Vec<String> = sheet
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("{name} in {header:?}"))
    };
    let line = sheet
        .rows()
        .find(|r| r[0].to_string() == enforcement)
        .unwrap();
    assert_eq!(line[col("响应率")].as_f64(), Some(0.0));
    assert_eq!(line[col("承办量")].as_f64(), Some(1.0));
    let police_line = sheet.rows().find(|r| r[0].to_string() == police).unwrap();
    assert_eq!(police_line[col("反向考核平均分")].as_f64(), Some(90.0));
    // And the unit KPIs carry the 响应率 and 承办量 too.
    let (status, _, csv) = call(
        &app,
        "GET",
        "/api/v1/stats?level=grid&format=csv",
        Some(&command),
        None,
        Vec::new(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let csv = String::from_utf8(csv).unwrap();
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .ends_with("承办量,应响应数,响应率"),
        "{csv}"
    );
}

#[tokio::test]
async fn the_matter_list_is_approved_by_someone_other_than_its_proposer_and_only_approved_matters_are_public()
 {
    let db = demo_db().await;
    let (app, _) = app_with_atlas(&db).await;
    gridmap::app::demo::seed_departments(&mut db.client().await)
        .await
        .unwrap();
    let command = user(&db, "指挥中心", Role::Command, &[]).await;
    let admin = user(&db, "管理员", Role::Admin, &[]).await;
    let matter = json!({"name": "电动车违规充电巡查", "category": "0201", "department": "yjj", "grid_duty": "发现上报", "basis": "县准入清单第12项"});
    let (status, bad) = json(
        &app,
        "POST",
        "/api/v1/matters",
        Some(&command),
        json!({"name": "x", "department": "yjj", "grid_duty": "全部负责"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(bad["error"]["details"]["field"], "grid_duty");
    let (status, proposed) = json(
        &app,
        "POST",
        "/api/v1/matters",
        Some(&command),
        matter.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{proposed}");
    let id = proposed["matter"]["id"].as_i64().unwrap();
    assert_eq!(proposed["matter"]["status"], "proposed");
    let (status, _) = json(&app, "POST", "/api/v1/matters", Some(&command), matter).await;
    assert_eq!(status.as_u16() / 100, 4, "the same matter twice is refused");
    let (_, public) = json(&app, "GET", "/api/v1/public/matters", None, Value::Null).await;
    assert!(
        !public.to_string().contains("电动车违规充电巡查"),
        "not in force before approval"
    );
    let decision = format!("/api/v1/matters/{id}/decision");
    let (status, _) = json(
        &app,
        "POST",
        &decision,
        Some(&command),
        json!({"approve": true}),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "matters are approved by admin"
    );
    let (status, decided) = json(
        &app,
        "POST",
        &decision,
        Some(&admin),
        json!({"approve": true, "note": "同意"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    assert_eq!(decided["matter"]["decided_by"], "管理员");
    assert_eq!(decided["matter"]["proposed_by"], "指挥中心");
    let (status, _) = json(
        &app,
        "POST",
        &decision,
        Some(&admin),
        json!({"approve": false}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "decided once");
    // An admin's own proposal waits for another admin.
    let (_, own) = json(
        &app,
        "POST",
        "/api/v1/matters",
        Some(&admin),
        json!({"name": "独居老人探访", "department": "rsj", "grid_duty": "直接处置"}),
    )
    .await;
    let own_id = own["matter"]["id"].as_i64().unwrap();
    let (status, _) = json(
        &app,
        "POST",
        &format!("/api/v1/matters/{own_id}/decision"),
        Some(&admin),
        json!({"approve": true}),
    )
    .await;
    assert_eq!(status.as_u16() / 100, 4);
    let (status, public) = json(&app, "GET", "/api/v1/public/matters", None, Value::Null).await;
    assert_eq!(status, StatusCode::OK);
    let text = public.to_string();
    assert!(
        text.contains("电动车违规充电巡查") && text.contains("县应急管理局"),
        "{text}"
    );
    assert!(!text.contains("独居老人探访"), "a proposal is not public");
    assert!(
        !text.contains("指挥中心") && !text.contains("管理员"),
        "no names of who proposed or decided"
    );
    let (status, _, page) = call(&app, "GET", "/matters", None, None, Vec::new()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&page).contains("准入清单"));
}

#[tokio::test]
async fn the_departments_migration_keeps_every_recorded_deadline_and_takes_acceptance_times_from_the_log()
 {
    let db = fresh_db(false).await;
    let mut client = db.client().await;
    gridmap::store::migrate::migrate_until(&mut client, "0011_outbox")
        .await
        .unwrap();
    let deadline: chrono::DateTime<chrono::Utc> = "2026-11-20T16:00:00Z".parse().unwrap();
    let accepted: chrono::DateTime<chrono::Utc> = "2026-11-17T03:00:00Z".parse().unwrap();
    let id: i64 = client
        .query_one(
            "INSERT INTO incidents (category, description, source, state, level, budget_seconds,
                 deadline_at, created_at)
             VALUES ('治安稳定/治安隐患', '旧事件', '群众', '派遣', 'county', 172800, $1,
                     '2026-11-17T02:00:00Z') RETURNING id",
            &[&deadline],
        )
        .await
        .unwrap()
        .get(0);
    client
        .execute(
            "INSERT INTO incident_events (incident_id, action, from_state, to_state, actor, at)
             VALUES ($1, '受理', '上报', '受理', 'x', $2)",
            &[&id, &accepted],
        )
        .await
        .unwrap();
    let applied = gridmap::store::migrate::migrate_until(&mut client, "0012_departments")
        .await
        .unwrap();
    assert_eq!(applied, vec!["0012_departments"]);
    let row = client
        .query_one(
            "SELECT deadline_at, budget_seconds, accepted_at, response_due, forward_due
             FROM incidents WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(
        row.get::<_, Option<chrono::DateTime<chrono::Utc>>>(0),
        Some(deadline)
    );
    assert_eq!(row.get::<_, i64>(1), 172_800);
    assert_eq!(
        row.get::<_, Option<chrono::DateTime<chrono::Utc>>>(2),
        Some(accepted)
    );
    assert_eq!(
        row.get::<_, Option<chrono::DateTime<chrono::Utc>>>(3),
        None,
        "no response clock invented"
    );
    assert_eq!(row.get::<_, Option<chrono::DateTime<chrono::Utc>>>(4), None);
    let rules = gridmap::store::incidents::sla_rules(&client).await.unwrap();
    assert_eq!(
        rules.days("上报", "township", "0501"),
        2,
        "the seed's 2 days are a forwarding deadline"
    );
    assert_eq!(rules.days("处置", "county", "0501"), 5);
    assert_eq!(rules.days("受理", "grid", "0501"), 1);
}

#[tokio::test]
async fn open311_service_definitions_list_the_attributes_a_category_requires() {
    let db = demo_db().await;
    let (app, _) = app_with_atlas(&db).await;
    let command = user(&db, "指挥中心", Role::Command, &[]).await;
    let (status, _, body) = call(
        &app,
        "GET",
        "/open311/v2/services.json",
        None,
        None,
        Vec::new(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let services: Value = serde_json::from_slice(&body).unwrap();
    let fire = services
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service_code"] == "0201")
        .unwrap();
    assert_eq!(fire["metadata"], true);
    let plain = services
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service_code"] == "0101")
        .unwrap();
    assert_eq!(plain["metadata"], false);
    let (status, _, body) = call(
        &app,
        "GET",
        "/open311/v2/services/0201.json",
        None,
        None,
        Vec::new(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let definition: Value = serde_json::from_slice(&body).unwrap();
    let hazard = &definition["attributes"][0];
    assert_eq!(
        (
            hazard["code"].clone(),
            hazard["required"].clone(),
            hazard["datatype"].clone()
        ),
        (json!("hazard"), json!(true), json!("singlevaluelist"))
    );
    assert!(
        hazard["values"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["key"] == "通道堵塞")
    );
    let (status, _, _) = call(
        &app,
        "GET",
        "/open311/v2/services/9999.json",
        None,
        None,
        Vec::new(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (x, y) = point_in(&db, GRID).await;
    // WGS84 and CGCS2000 agree to well under a metre: a point on the grid's surface stays inside.
    let (lon, lat) = (x, y);
    let form = |extra: &str| {
        format!(
            "api_key={command}&service_code=0201&lat={lat}&long={lon}&description=%E6%A5%BC%E9%81%93%E5%A0%86%E7%89%A9{extra}"
        )
    };
    let post = |body: String| {
        let app = app.clone();
        async move {
            call(
                &app,
                "POST",
                "/open311/v2/requests.json",
                None,
                Some("application/x-www-form-urlencoded"),
                body.into_bytes(),
            )
            .await
        }
    };
    let (status, _, body) = post(form("")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        String::from_utf8_lossy(&body).contains("attribute[hazard]"),
        "{}",
        String::from_utf8_lossy(&body)
    );
    let (status, _, body) = post(form("&attribute%5Bhazard%5D=%E7%81%AB")).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a value not among the choices"
    );
    assert!(String::from_utf8_lossy(&body).contains("attribute[hazard]"));
    let (status, _, body) = post(form(
        "&attribute%5Bhazard%5D=%E9%80%9A%E9%81%93%E5%A0%B5%E5%A1%9E&attribute%5Bfloor%5D=3",
    ))
    .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let answer: Value = serde_json::from_slice(&body).unwrap();
    let id: i64 = answer[0]["service_request_id"]
        .as_str()
        .unwrap()
        .trim_matches('"')
        .parse()
        .unwrap();
    let (_, shown) = json(
        &app,
        "GET",
        &format!("/api/v1/incidents/{id}"),
        Some(&command),
        Value::Null,
    )
    .await;
    assert_eq!(
        shown["incident"]["attributes"],
        json!({"hazard": "通道堵塞", "floor": 3.0})
    );
}
