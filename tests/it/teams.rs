//! The teams behind the grids through the real router, CLI and PostGIS: the staff import from
//! xlsx and GB18030 CSV (bad rows named by line, exit 1), the team of a past day, consent that
//! takes the phone off the poster at once, the one-time ballots and the tally's flag, the 千分制
//! scores and their export read back with calamine, the 公示 without voter data, the printed
//! cards and slips read back by pdfinfo and zbarimg, and the access matrix of every endpoint.

use std::process::Command;

use axum::http::StatusCode;
use gridmap::domain::role::Role;
use serde_json::{Value, json};

use crate::harness::{TestDb, binary, call, demo_db, json, user};
use crate::http::app_with_atlas;

const VILLAGE: &str = "520328004016";
const G1: &str = "520328004016001";
const G2: &str = "520328004016002";
/// A grid of another village.
const ELSEWHERE: &str = "520328004001001";

pub(crate) fn tool(program: &str, args: &[&str], bytes: &[u8], ext: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("file.{ext}"));
    std::fs::write(&path, bytes).unwrap();
    let mut command = Command::new(program);
    command.args(args).arg(&path);
    if program == "pdftotext" {
        command.arg("-");
    }
    let output = command
        .output()
        .expect("the tool is installed by make test");
    assert!(
        output.status.success(),
        "{program}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The QR codes zbarimg reads on the first page of a PDF (rendered by pdftoppm at 300 dpi).
pub(crate) fn qr_codes(pdf: &[u8]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.pdf");
    std::fs::write(&input, pdf).unwrap();
    let out = dir.path().join("page");
    let status = Command::new("pdftoppm")
        .args(["-png", "-r", "300", "-f", "1", "-l", "1"])
        .arg(&input)
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let png = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "png"))
        .expect("a rendered page");
    let output = Command::new("zbarimg")
        .args(["--quiet", "--raw"])
        .arg(&png)
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

fn import_cli(db: &TestDb, file: &std::path::Path, report: &std::path::Path) -> (bool, String) {
    let output = Command::new(binary())
        .args(["import", "staff"])
        .arg(file)
        .arg("--report")
        .arg(report)
        .env("DATABASE_URL", db.url())
        .output()
        .unwrap();
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

fn workbook(rows: &[[&str; 5]]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in ["姓名", "角色", "网格编码", "电话", "公开同意"]
        .iter()
        .enumerate()
    {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if c == 3 && !v.is_empty() {
                // Excel keeps a typed phone number as a number.
                sheet
                    .write_number(r as u32 + 1, c as u16, v.parse::<f64>().unwrap())
                    .unwrap();
            } else {
                sheet.write_string(r as u32 + 1, c as u16, *v).unwrap();
            }
        }
    }
    book.save_to_buffer().unwrap()
}

async fn memberships_of(db: &TestDb, name: &str) -> Vec<(String, String, bool)> {
    db.client()
        .await
        .query(
            "SELECT cs.cell_code, cs.role, c.phone FROM staff s JOIN cell_staff cs ON cs.staff_id = s.id
             JOIN staff_consent c ON c.staff_id = s.id WHERE s.name = $1 ORDER BY cs.id",
            &[&name],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

#[tokio::test]
async fn a_staff_workbook_and_a_gb18030_csv_import_row_by_row_naming_bad_lines_and_exit_1() {
    let db = demo_db().await;
    let dir = tempfile::tempdir().unwrap();
    let xlsx = dir.path().join("staff.xlsx");
    std::fs::write(
        &xlsx,
        workbook(&[
            ["甲测试", "专职网格员", G1, "13911110001", "是"],
            ["乙测试", "网格主任", G1, "", "否"],
            ["丙测试", "网格员", "520328999999999", "", "否"],
            ["丁测试", "网格员", G2, "13911110004", "否"],
        ]),
    )
    .unwrap();
    let report_path = dir.path().join("report.json");
    let (ok, text) = import_cli(&db, &xlsx, &report_path);
    assert!(!ok, "a rejected row makes the exit status 1: {text}");
    assert!(
        text.contains("4 rows — 2 written, 0 unchanged, 2 rejected"),
        "{text}"
    );
    assert!(
        text.contains("line 3: rejected: 角色 \"网格主任\""),
        "{text}"
    );
    assert!(
        text.contains("line 4: rejected: 网格编码 520328999999999"),
        "{text}"
    );
    let report: Value = serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
    assert_eq!(report["format"], "xlsx");
    let lines: Vec<(u64, &str)> = report["report"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        lines,
        vec![
            (2, "written"),
            (3, "rejected"),
            (4, "rejected"),
            (5, "written")
        ]
    );
    assert_eq!(
        memberships_of(&db, "甲测试").await,
        vec![(G1.to_string(), "专职网格员".to_string(), true)],
        "written with its consent to publish"
    );
    assert_eq!(
        memberships_of(&db, "丁测试").await,
        vec![(G2.to_string(), "网格员".to_string(), false)]
    );
    assert!(memberships_of(&db, "乙测试").await.is_empty());
    assert!(memberships_of(&db, "丙测试").await.is_empty());
    // The same file again: the good rows are already so; nothing doubles.
    let (_, again) = import_cli(&db, &xlsx, &report_path);
    assert!(again.contains("2 unchanged"), "{again}");
    assert_eq!(memberships_of(&db, "甲测试").await.len(), 1);

    // A CSV saved by Excel in GB18030, every row good: exit 0; a withdrawn consent is recorded.
    let csv = "姓名,角色,网格编码,电话,公开同意\n甲测试,专职网格员,520328004016001,13911110001,否\n戊测试,信息员,520328004016002,,是\n";
    let (bytes, _, _) = encoding_rs::GB18030.encode(csv);
    let file = dir.path().join("staff.csv");
    std::fs::write(&file, &bytes).unwrap();
    let (ok, text) = import_cli(&db, &file, &report_path);
    assert!(ok, "{text}");
    assert!(text.contains("(CSV GB18030): 2 rows — 2 written"), "{text}");
    assert_eq!(
        memberships_of(&db, "甲测试").await,
        vec![(G1.to_string(), "专职网格员".to_string(), false)],
        "the file's 否 withdrew the consent"
    );
    // A file without a grid column is refused as a whole, naming the column.
    std::fs::write(&file, "姓名,角色\n己测试,网格员\n").unwrap();
    let (ok, text) = import_cli(&db, &file, &report_path);
    assert!(!ok && text.contains("no column for cell"), "{text}");
}

#[tokio::test]
async fn the_team_of_a_past_day_is_the_team_that_served_it() {
    let db = demo_db().await;
    let (app, _) = app_with_atlas(&db).await;
    let admin = user(&db, "admin-teams", Role::Admin, &[]).await;
    let (status, body) = json(
        &app,
        "POST",
        "/api/v1/staff",
        Some(&admin),
        json!({"name": "历史测试", "phone": "13922220001", "cell": G1, "role": "专职网格员", "since": "2026-01-05"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (staff, membership) = (
        body["staff_id"].as_i64().unwrap(),
        body["membership_id"].as_i64().unwrap(),
    );
    let (status, moved) = json(
        &app,
        "POST",
        &format!("/api/v1/memberships/{membership}/move"),
        Some(&admin),
        json!({"to": G2, "on": "2026-06-01"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["ended"]["until"], "2026-06-01");
    let serving = |team: &Value| {
        team["members"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["staff"] == staff)
    };
    for (cell, day, expected) in [
        (G1, "2026-03-01", true),
        (G1, "2026-05-31", true),
        (G1, "2026-06-01", false),
        (G2, "2026-05-31", false),
        (G2, "2026-06-01", true),
        (G1, "2026-01-04", false),
    ] {
        let (status, team) = json(
            &app,
            "GET",
            &format!("/api/v1/staff?cell={cell}&at={day}"),
            Some(&admin),
            Value::Null,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{team}");
        assert_eq!(serving(&team), expected, "{cell} on {day}");
    }
    // A past incident names the team of its day: reported in March, when the person served G1.
    let client = db.client().await;
    let past: i64 = client
        .query_one(
            "INSERT INTO incidents (category, description, cell_code, source, state, created_at, clock_start)
             VALUES ('0201', '历史事件', $1, '群众', '结案', '2026-03-02 10:00+08', '2026-03-02 10:00+08')
             RETURNING id",
            &[&G1],
        )
        .await
        .unwrap()
        .get(0);
    let names = |i: &Value| -> Vec<String> {
        i["team"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap().to_string())
            .collect()
    };
    let (status, incident) = json(
        &app,
        "GET",
        &format!("/api/v1/incidents/{past}"),
        Some(&admin),
        Value::Null,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{incident}");
    assert!(
        names(&incident["incident"]).contains(&"历史测试".to_string()),
        "{incident}"
    );
    let (x, y): (f64, f64) = {
        let r = client
            .query_one(
                "SELECT ST_X(geom), ST_Y(geom) FROM buildings WHERE cell_code = $1 ORDER BY id LIMIT 1",
                &[&G1],
            )
            .await
            .unwrap();
        (r.get(0), r.get(1))
    };
    let (status, today) = json(
        &app,
        "POST",
        "/api/v1/incidents",
        Some(&admin),
        json!({"category": "0201", "description": "今天的事件", "lon": x, "lat": y, "crs": "cgcs2000"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{today}");
    let today = &today["incident"];
    assert_eq!(today["cell"]["code"], G1);
    assert!(!names(today).is_empty(), "today's team of G1: {today}");
    assert!(
        !names(today).contains(&"历史测试".to_string()),
        "moved away in June: {today}"
    );
    let (_, detail) = json(
        &app,
        "GET",
        &format!("/api/v1/staff/{staff}"),
        Some(&admin),
        Value::Null,
    )
    .await;
    let history = detail["memberships"].as_array().unwrap();
    assert_eq!(history.len(), 2, "{detail}");
    assert_eq!(history[0]["cell"], G2);
    assert_eq!(history[1]["until"], "2026-06-01");
    let new = moved["membership_id"].as_i64().unwrap();
    let (status, body) = json(
        &app,
        "POST",
        &format!("/api/v1/memberships/{new}/end"),
        Some(&admin),
        json!({"until": "2026-05-01"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["details"]["field"], "until");
    let (status, _) = json(
        &app,
        "POST",
        &format!("/api/v1/memberships/{membership}/end"),
        Some(&admin),
        json!({}),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "an ended membership cannot end again"
    );
    // Bad input names its field and writes nothing.
    for (body, field) in [
        (json!({"name": "x", "cell": G1, "role": "网格主任"}), "role"),
        (
            json!({"name": "x", "cell": "520328999999999", "role": "网格员"}),
            "cell",
        ),
        (json!({"name": "", "cell": G1, "role": "网格员"}), "name"),
        (
            json!({"name": "x", "cell": G1, "role": "网格员", "phone": "电话"}),
            "phone",
        ),
        (
            json!({"name": "x", "cell": G1, "role": "网格员", "extra": 1}),
            "extra",
        ),
    ] {
        let (status, answer) = json(&app, "POST", "/api/v1/staff", Some(&admin), body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert!(
            answer["error"]["details"]["field"]
                .as_str()
                .unwrap_or_default()
                .contains(field),
            "{answer}"
        );
    }
    // The rule every grid has exactly one 网格长: a second one is listed, not refused.
    let (status, _) = json(
        &app,
        "POST",
        &format!("/api/v1/staff/{staff}/memberships"),
        Some(&admin),
        json!({"cell": G1, "role": "网格长"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, violations) = json(
        &app,
        "GET",
        &format!("/api/v1/teams/violations?under={VILLAGE}"),
        Some(&admin),
        Value::Null,
    )
    .await;
    let list = violations.as_array().unwrap();
    assert!(
        list.iter()
            .any(|v| v["cell"] == G1 && v["role"] == "网格长" && v["have"] == 2),
        "{violations}"
    );
    assert!(
        list.iter()
            .any(|v| v["cell"] == VILLAGE && v["role"] == "联络专员"),
        "the demo village has no 联络专员: {violations}"
    );
}

async fn poster_text(app: &axum::Router) -> String {
    let (status, _, pdf) = call(
        app,
        "GET",
        &format!("/poster/{VILLAGE}.pdf"),
        None,
        None,
        Vec::new(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    tool("pdftotext", &[], &pdf, "pdf")
}

#[tokio::test]
async fn a_withdrawn_consent_takes_the_phone_off_the_poster_and_the_card_at_once() {
    let db = demo_db().await;
    let (app, _) = app_with_atlas(&db).await;
    let admin = user(&db, "admin-consent", Role::Admin, &[]).await;
    // A consenting 网格长 of the village: their phone is on the poster.
    let row = db
        .client()
        .await
        .query_one(
            "SELECT s.id, s.phone, cs.cell_code FROM cell_staff cs JOIN staff s ON s.id = cs.staff_id
             JOIN staff_consent c ON c.staff_id = s.id
             WHERE starts_with(cs.cell_code, $1) AND cs.role = '网格长' AND c.phone AND cs.until IS NULL
             ORDER BY cs.cell_code LIMIT 1",
            &[&VILLAGE],
        )
        .await
        .unwrap();
    let (id, phone, cell): (i64, String, String) = (row.get(0), row.get(1), row.get(2));
    assert!(
        poster_text(&app).await.contains(&phone),
        "the consented phone is printed"
    );
    let (status, now) = json(
        &app,
        "POST",
        &format!("/api/v1/staff/{id}/consents"),
        Some(&admin),
        json!({"scopes": ["phone"], "granted": false, "how": "书面撤回", "note": "本人申请"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{now}");
    assert_eq!(now, json!({"name": true, "photo": true, "phone": false}));
    assert!(
        !poster_text(&app).await.contains(&phone),
        "withdrawn: gone from the PDF"
    );
    let (_, card) = json(
        &app,
        "GET",
        &format!("/api/v1/cells/{cell}/card"),
        None,
        Value::Null,
    )
    .await;
    assert!(!card.to_string().contains(&phone), "{card}");
    assert!(card.to_string().contains("网格长"));
    // The log keeps both records; a bad scope names its index.
    let (_, detail) = json(
        &app,
        "GET",
        &format!("/api/v1/staff/{id}"),
        Some(&admin),
        Value::Null,
    )
    .await;
    let log = detail["consents"].as_array().unwrap();
    assert_eq!(log[0]["scope"], "phone");
    assert_eq!(log[0]["granted"], false);
    assert!(
        log.len() >= 4,
        "three grants from the demo and the withdrawal: {detail}"
    );
    let (status, body) = json(
        &app,
        "POST",
        &format!("/api/v1/staff/{id}/consents"),
        Some(&admin),
        json!({"scopes": ["address"], "granted": true, "how": "书面"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["details"]["field"], "scopes[0]");
    // Given again: back on the poster.
    let (status, _) = json(
        &app,
        "POST",
        &format!("/api/v1/staff/{id}/consents"),
        Some(&admin),
        json!({"scopes": ["phone"], "granted": true, "how": "书面"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(poster_text(&app).await.contains(&phone));
}

async fn cast(app: &axum::Router, code: &str, choice: &str) -> StatusCode {
    json(
        app,
        "POST",
        &format!("/api/v1/ballots/{code}"),
        None,
        json!({"choice": choice}),
    )
    .await
    .0
}

#[tokio::test]
async fn a_ballot_code_votes_once_a_forged_one_is_404_and_more_than_a_third_unsatisfied_is_flagged()
{
    let db = demo_db().await;
    let (app, _) = app_with_atlas(&db).await;
    let admin = user(&db, "admin-vote", Role::Admin, &[]).await;
    let leader = user(&db, "leader-vote", Role::Worker, &[VILLAGE.to_string()]).await;
    let (status, _) = json(
        &app,
        "POST",
        "/api/v1/votes",
        Some(&leader),
        json!({"period": "2026", "cells": [G1], "ballots_per_cell": 3}),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "an administrator opens a vote"
    );
    let (status, vote) = json(
        &app,
        "POST",
        "/api/v1/votes",
        Some(&admin),
        json!({"period": "2026", "cells": [G1, G2], "ballots_per_cell": 9}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{vote}");
    let id = vote["id"].as_i64().unwrap();
    let ballots = vote["ballots"].as_array().unwrap();
    assert_eq!(ballots.len(), 18);
    let codes = |cell: &str| -> Vec<String> {
        ballots
            .iter()
            .filter(|b| b["cell"] == cell)
            .map(|b| b["code"].as_str().unwrap().to_string())
            .collect()
    };
    let (a, b) = (codes(G1), codes(G2));
    let mut all: Vec<&String> = a.iter().chain(&b).collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 18, "every code is distinct");
    // G1: 3 不满意 of 9 — exactly a third, not flagged. G2: 4 of 9 — flagged.
    let g1 = [
        "不满意",
        "不满意",
        "不满意",
        "满意",
        "满意",
        "满意",
        "满意",
        "基本满意",
        "基本满意",
    ];
    let g2 = [
        "不满意",
        "不满意",
        "不满意",
        "不满意",
        "满意",
        "满意",
        "满意",
        "满意",
        "满意",
    ];
    for (code, choice) in a.iter().zip(g1) {
        assert_eq!(
            cast(&app, &code.to_lowercase(), choice).await,
            StatusCode::CREATED
        );
    }
    for (code, choice) in b.iter().zip(g2) {
        assert_eq!(cast(&app, code, choice).await, StatusCode::CREATED);
    }
    assert_eq!(
        cast(&app, &a[0], "满意").await,
        StatusCode::CONFLICT,
        "a code votes once"
    );
    assert_eq!(
        cast(&app, "ZZZZZZZZZZ", "满意").await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        cast(&app, "not-a-code", "满意").await,
        StatusCode::NOT_FOUND
    );
    let (status, body) = json(
        &app,
        "POST",
        &format!("/api/v1/ballots/{}", a[0]),
        None,
        json!({"choice": "很满意"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["details"]["field"], "choice");
    let (status, tally) = json(
        &app,
        "GET",
        &format!("/api/v1/votes/{id}/tally"),
        Some(&admin),
        Value::Null,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tally}");
    let leaders = tally["leaders"].as_array().unwrap();
    let of = |cell: &str| leaders.iter().find(|l| l["cell"] == cell).unwrap().clone();
    assert_eq!(
        of(G1)["counts"],
        json!({"不满意": 3, "基本满意": 2, "满意": 4})
    );
    assert_eq!(of(G1)["cast"], 9);
    assert_eq!(of(G1)["flagged"], false, "exactly a third is not flagged");
    assert_eq!(
        of(G2)["counts"],
        json!({"不满意": 4, "基本满意": 0, "满意": 5})
    );
    assert_eq!(of(G2)["flagged"], true, "a third plus one is flagged");
    assert_eq!(tally["flagged"], 1);
    let leader_of_g1: String = db
        .client()
        .await
        .query_one(
            "SELECT s.name FROM cell_staff cs JOIN staff s ON s.id = cs.staff_id
             WHERE cs.cell_code = $1 AND cs.role = '网格长' AND cs.until IS NULL",
            &[&G1],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(of(G1)["leader"], leader_of_g1);
    let (status, _) = json(
        &app,
        "GET",
        &format!("/api/v1/votes/{id}/tally"),
        Some(&leader),
        Value::Null,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Nothing stored can tie a choice to a code, a time or a voter: the counts have no code and
    // no time; the codes have no time and no choice.
    let columns: Vec<(String, String)> = db
        .client()
        .await
        .query(
            "SELECT table_name::text, column_name::text FROM information_schema.columns
             WHERE table_name IN ('ballot_codes', 'vote_counts') ORDER BY 1, 2",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let names: Vec<String> = columns.iter().map(|(t, c)| format!("{t}.{c}")).collect();
    assert_eq!(
        names,
        vec![
            "ballot_codes.cell_code",
            "ballot_codes.code",
            "ballot_codes.used",
            "ballot_codes.vote_id",
            "vote_counts.cell_code",
            "vote_counts.choice",
            "vote_counts.n",
            "vote_counts.vote_id",
        ]
    );
    // Nor do the rows' system columns: the last ballot rewrote all three counts of its grid.
    let writers: i64 = db
        .client()
        .await
        .query_one(
            "SELECT count(DISTINCT xmin::text) FROM vote_counts WHERE vote_id = $1 AND cell_code = $2",
            &[&id, &G2],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(writers, 1, "the three counts were last written together");
    // The slips: the unused codes of a second vote, eight to a page.
    let (status, open2) = json(
        &app,
        "POST",
        "/api/v1/votes",
        Some(&admin),
        json!({"period": "2026 补测", "cells": [G1], "ballots_per_cell": 10}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _, pdf) = call(
        &app,
        "GET",
        &format!("/api/v1/votes/{}/slips.pdf", open2["id"]),
        Some(&admin),
        None,
        Vec::new(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        tool("pdfinfo", &[], &pdf, "pdf").contains("Pages:           2"),
        "8 a page"
    );
    let read = qr_codes(&pdf);
    assert_eq!(read.len(), 8, "{read:?}");
    let issued: Vec<&str> = open2["ballots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["code"].as_str().unwrap())
        .collect();
    for link in &read {
        let code = link.rsplit("#code=").next().unwrap();
        assert!(link.contains("/vote#code="), "{link}");
        assert!(issued.contains(&code), "{link} is an issued code");
    }
    // A closed vote counts nothing more.
    let (status, _) = json(
        &app,
        "POST",
        &format!("/api/v1/votes/{}/close", open2["id"]),
        Some(&admin),
        Value::Null,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(cast(&app, issued[0], "满意").await, StatusCode::CONFLICT);
    // A grid without a 网格长 cannot be assessed; a village is not a grid.
    let (status, body) = json(
        &app,
        "POST",
        "/api/v1/votes",
        Some(&admin),
        json!({"period": "2026", "cells": [VILLAGE], "ballots_per_cell": 3}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["details"]["field"], "cells[0]");
}

#[tokio::test]
async fn the_published_results_show_counts_and_consented_names_and_no_voter_data() {
    let db = demo_db().await;
    let (app, _) = app_with_atlas(&db).await;
    let admin = user(&db, "admin-gongshi", Role::Admin, &[]).await;
    let leader = user(&db, "leader-gongshi", Role::Worker, &[VILLAGE.to_string()]).await;
    let voters: Vec<Value> = (0..6)
        .map(|i| json!({"name": format!("选民测试{i}"), "kind": if i % 2 == 0 { "党员" } else { "村民代表" }}))
        .collect();
    let (status, added) = json(
        &app,
        "POST",
        "/api/v1/electors",
        Some(&leader),
        json!({"cell": G1, "electors": voters}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    assert_eq!(added["added"], 6);
    // The electorate from a file: a known name is unchanged, bad rows are named by line.
    let file = format!(
        "姓名,类别,网格编码\n选民测试0,党员,{G1}\n选民测试6,村民代表,{G1}\n选民测试7,群众,{G1}\n选民测试8,党员,{ELSEWHERE}\n"
    );
    let (status, _, out) = call(
        &app,
        "POST",
        "/api/v1/import/electors",
        Some(&leader),
        Some("text/csv"),
        file.into_bytes(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let report: Value = serde_json::from_slice(&out).unwrap();
    let statuses: Vec<(u64, &str)> = report["report"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        statuses,
        vec![
            (2, "unchanged"),
            (3, "added"),
            (4, "rejected"),
            (5, "rejected")
        ],
        "{report}"
    );
    // Without ballots_per_cell, one code per elector.
    let (status, vote) = json(
        &app,
        "POST",
        "/api/v1/votes",
        Some(&admin),
        json!({"period": "2026", "cells": [G1]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{vote}");
    let codes: Vec<String> = vote["ballots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["code"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(codes.len(), 7);
    for (code, choice) in codes
        .iter()
        .zip(["满意", "满意", "满意", "基本满意", "不满意"])
    {
        assert_eq!(cast(&app, code, choice).await, StatusCode::CREATED);
    }
    let (status, body) = json(
        &app,
        "POST",
        "/api/v1/publications",
        Some(&leader),
        json!({"period": "2026", "under": VILLAGE, "vote": vote["id"]}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = json(
        &app,
        "POST",
        "/api/v1/publications",
        Some(&admin),
        json!({"period": "2026", "under": VILLAGE, "vote": vote["id"]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // A vote of another village's grids cannot be published for this one.
    let (status, body) = json(
        &app,
        "POST",
        "/api/v1/publications",
        Some(&admin),
        json!({"period": "2026", "under": "520328004001", "vote": vote["id"]}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["details"]["field"], "vote");
    let (_, card) = json(
        &app,
        "GET",
        &format!("/api/v1/cells/{G1}/card"),
        None,
        Value::Null,
    )
    .await;
    let g = &card["gongshi"];
    assert_eq!(
        g["counts"],
        json!({"不满意": 1, "基本满意": 1, "满意": 3}),
        "{card}"
    );
    assert_eq!(g["cast"], 5);
    assert_eq!(g["flagged"], false);
    assert!(g["score"].is_number(), "the 2026H2 score is published: {g}");
    let (status, _, pdf) = call(
        &app,
        "GET",
        &format!("/gongshi/{VILLAGE}.pdf"),
        None,
        None,
        Vec::new(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let text = tool("pdftotext", &[], &pdf, "pdf");
    assert!(text.contains("满意度测评结果公示"), "{text}");
    let fonts = tool("pdffonts", &[], &pdf, "pdf");
    assert!(fonts.contains("NotoSansCJK"), "{fonts}");
    // No voter's name anywhere public.
    for i in 0..9 {
        let name = format!("选民测试{i}");
        assert!(!text.contains(&name) && !card.to_string().contains(&name));
    }
    // The leader's name follows the current consent on the sheet and the card.
    let (id, name): (i64, String) = {
        let r = db
            .client()
            .await
            .query_one(
                "SELECT s.id, s.name FROM cell_staff cs JOIN staff s ON s.id = cs.staff_id
                 WHERE cs.cell_code = $1 AND cs.role = '网格长' AND cs.until IS NULL",
                &[&G1],
            )
            .await
            .unwrap();
        (r.get(0), r.get(1))
    };
    let consented: bool = db
        .client()
        .await
        .query_one("SELECT name FROM staff_consent WHERE staff_id = $1", &[&id])
        .await
        .unwrap()
        .get(0);
    assert_eq!(text.contains(&name), consented);
    let (status, _) = json(
        &app,
        "POST",
        &format!("/api/v1/staff/{id}/consents"),
        Some(&admin),
        json!({"scopes": ["name"], "granted": false, "how": "书面撤回"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, pdf) = call(
        &app,
        "GET",
        &format!("/gongshi/{VILLAGE}.pdf"),
        None,
        None,
        Vec::new(),
    )
    .await;
    let text = tool("pdftotext", &[], &pdf, "pdf");
    assert!(!text.contains(&name), "withdrawn: the name is gone");
    assert!(text.contains("未同意公开姓名"));
    let (_, card) = json(
        &app,
        "GET",
        &format!("/api/v1/cells/{G1}/card"),
        None,
        Value::Null,
    )
    .await;
    assert_eq!(card["gongshi"]["leader"], Value::Null);
    let (status, _, _) = call(
        &app,
        "GET",
        "/gongshi/520328004001.pdf",
        None,
        None,
        Vec::new(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing published there");
}

/// Inserts `days` log days and `patrols` patrol days (15 minutes in `cell` each) for a user.
async fn records(db: &TestDb, user: &str, cell: &str, logs: &[&str], patrols: &[&str]) {
    let client = db.client().await;
    let id: i64 = client
        .query_one("SELECT id FROM users WHERE name = $1", &[&user])
        .await
        .unwrap()
        .get(0);
    for (i, day) in logs.iter().enumerate() {
        client
            .execute(
                "INSERT INTO work_logs (id, user_id, day, version, notes, summary)
                 VALUES ($1::text::uuid, $2, $3::text::date, 1, '巡查入户', '{}')",
                &[&format!("00000000-0000-4000-8000-{:012x}", i + 1), &id, day],
            )
            .await
            .unwrap();
    }
    for (i, day) in patrols.iter().enumerate() {
        let pid = format!("00000000-0000-4000-9000-{:012x}", i + 1);
        client
            .execute(
                "INSERT INTO patrols (id, user_id, started_at, ended_at, length_m)
                 VALUES ($1::text::uuid, $2, ($3 || ' 09:00+08')::timestamptz, ($3 || ' 09:20+08')::timestamptz, 900)",
                &[&pid, &id, day],
            )
            .await
            .unwrap();
        client
            .execute(
                "INSERT INTO patrol_grids (patrol_id, cell_code, seconds, buildings, covered)
                 VALUES ($1::text::uuid, $2, 900, 0, '{}')",
                &[&pid, &cell],
            )
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn half_year_scores_follow_the_records_and_the_export_opens_in_a_real_reader() {
    use calamine::Reader;
    let db = demo_db().await;
    let (app, _) = app_with_atlas(&db).await;
    let admin = user(&db, "admin-scores", Role::Admin, &[]).await;
    let leader = user(&db, "leader-scores", Role::Worker, &[VILLAGE.to_string()]).await;
    let worker = user(&db, "worker-scores", Role::Worker, &[G1.to_string()]).await;
    let (status, body) = json(
        &app,
        "POST",
        "/api/v1/staff",
        Some(&leader),
        json!({"name": "考核测试", "cell": G1, "role": "专职网格员", "since": "2026-01-01", "account": "worker-scores"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let staff = body["staff_id"].as_i64().unwrap();
    // A fixed half-year of records: 10 logs, 3 patrol days in the grid.
    records(
        &db,
        "worker-scores",
        G1,
        &[
            "2026-03-02",
            "2026-03-03",
            "2026-03-04",
            "2026-03-05",
            "2026-03-06",
            "2026-03-09",
            "2026-03-10",
            "2026-03-11",
            "2026-03-12",
            "2026-03-13",
        ],
        &["2026-03-02", "2026-03-04", "2026-04-07"],
    )
    .await;
    // The leader's manual item, with who and why; the worker cannot score itself; bad input named.
    for (token, body, status, field) in [
        (
            &worker,
            json!({"period": "2026H1", "staff": staff, "item": "conduct", "points": 100, "reason": "自评"}),
            StatusCode::FORBIDDEN,
            None,
        ),
        (
            &leader,
            json!({"period": "2026H1", "staff": staff, "item": "conduct", "points": 101, "reason": "好"}),
            StatusCode::BAD_REQUEST,
            Some("points"),
        ),
        (
            &leader,
            json!({"period": "2026H1", "staff": staff, "item": "patrol", "points": 10, "reason": "好"}),
            StatusCode::BAD_REQUEST,
            Some("item"),
        ),
        (
            &leader,
            json!({"period": "2026H1", "staff": staff, "item": "conduct", "points": 10, "reason": ""}),
            StatusCode::BAD_REQUEST,
            Some("reason"),
        ),
        (
            &leader,
            json!({"period": "2026", "staff": staff, "item": "conduct", "points": 10, "reason": "好"}),
            StatusCode::BAD_REQUEST,
            Some("period"),
        ),
        (
            &leader,
            json!({"period": "2026H1", "staff": staff, "item": "conduct", "points": 70, "reason": "初评"}),
            StatusCode::CREATED,
            None,
        ),
        (
            &leader,
            json!({"period": "2026H1", "staff": staff, "item": "conduct", "points": 80, "reason": "按时参加例会"}),
            StatusCode::CREATED,
            None,
        ),
    ] {
        let (got, answer) = json(&app, "POST", "/api/v1/scores/entries", Some(token), body).await;
        assert_eq!(got, status, "{answer}");
        if let Some(f) = field {
            assert_eq!(answer["error"]["details"]["field"], f, "{answer}");
        }
    }
    let (status, view) = json(
        &app,
        "GET",
        &format!("/api/v1/scores?period=2026H1&under={VILLAGE}"),
        Some(&leader),
        Value::Null,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    let people = view["people"].as_array().unwrap();
    let me = people.iter().find(|p| p["staff"] == staff).expect("scored");
    let items: std::collections::HashMap<&str, &Value> = me["score"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["key"].as_str().unwrap(), i))
        .collect();
    // The figures the compliance report gives for the same worker and half-year.
    let (_, compliance) = json(
        &app,
        "GET",
        &format!("/api/v1/compliance?from=2026-01-01&to=2026-06-30&cell={G1}"),
        Some(&admin),
        Value::Null,
    )
    .await;
    let w = compliance["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["worker"] == "worker-scores")
        .expect("the worker is judged")
        .clone();
    assert_eq!(w["logs_written"], 10);
    assert_eq!(w["patrol_days"], 3);
    let round = |x: f64| (x * 10.0).round() / 10.0;
    let due = w["logs_due"].as_f64().unwrap();
    assert!(due > 100.0, "a half-year of working days: {due}");
    assert_eq!(
        items["logs"]["points"].as_f64().unwrap(),
        round(150.0 * 10.0 / due)
    );
    let patrol_due = w["patrol_days_due"].as_f64().unwrap();
    assert_eq!(
        items["patrol"]["points"].as_f64().unwrap(),
        round(250.0 * 3.0 / patrol_due)
    );
    assert_eq!(items["conduct"]["points"], 80.0, "the latest entry counts");
    assert!(
        items["conduct"]["basis"]
            .as_str()
            .unwrap()
            .contains("leader-scores：按时参加例会")
    );
    let sum: f64 = items.values().map(|i| i["points"].as_f64().unwrap()).sum();
    assert_eq!(me["score"]["total"].as_f64().unwrap(), round(sum));
    assert_eq!(
        me["score"]["yuan"], me["score"]["total"],
        "1 point = 1 yuan"
    );
    // A member without an app account gets nothing from records it cannot have.
    let unlinked = people
        .iter()
        .find(|p| p["cell"] == G1 && p["role"] == "网格长")
        .expect("the demo's 网格长 is assessed");
    assert_eq!(unlinked["score"]["items"][0]["points"], 0.0);
    // The export, read back by a real reader.
    let (status, headers, bytes) = call(
        &app,
        "GET",
        &format!("/api/v1/scores?period=2026H1&under={VILLAGE}&format=xlsx"),
        Some(&admin),
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
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let range = book.worksheet_range_at(0).unwrap().unwrap();
    let rows: Vec<Vec<String>> = range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(rows[0][0], "姓名");
    assert_eq!(rows[0].last().unwrap(), "补贴（元）");
    let mine = rows
        .iter()
        .find(|r| r[0] == "考核测试")
        .expect("in the workbook");
    let total: f64 = mine[mine.len() - 2].parse().unwrap();
    assert_eq!(total, me["score"]["total"].as_f64().unwrap());
    assert_eq!(rows.len(), people.len() + 1);
    let (_, _, csv) = call(
        &app,
        "GET",
        &format!("/api/v1/scores?period=2026H1&under={VILLAGE}&format=csv"),
        Some(&admin),
        None,
        Vec::new(),
    )
    .await;
    assert!(
        csv.starts_with(b"\xEF\xBB\xBF"),
        "a BOM so Excel reads UTF-8"
    );
    assert!(String::from_utf8(csv).unwrap().contains("考核测试"));
    let (status, body) = json(
        &app,
        "GET",
        &format!("/api/v1/scores?period=2026H3&under={VILLAGE}"),
        Some(&admin),
        Value::Null,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["details"]["field"], "period");
}

#[tokio::test]
async fn the_staff_cards_print_ten_to_a_page_with_a_qr_code_to_the_grid_card() {
    let db = demo_db().await;
    let (app, _) = app_with_atlas(&db).await;
    let admin = user(&db, "admin-cards", Role::Admin, &[]).await;
    let (status, headers, pdf) = call(
        &app,
        "GET",
        &format!("/api/v1/staff/cards.pdf?cell={VILLAGE}"),
        Some(&admin),
        None,
        Vec::new(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/pdf");
    let members: i64 = db
        .client()
        .await
        .query_one(
            "SELECT count(*) FROM cell_staff WHERE starts_with(cell_code, $1) AND until IS NULL",
            &[&VILLAGE],
        )
        .await
        .unwrap()
        .get(0);
    let info = tool("pdfinfo", &[], &pdf, "pdf");
    let pages = (members + 9) / 10;
    assert!(
        info.contains(&format!("Pages:           {pages}")),
        "{members} cards: {info}"
    );
    assert!(info.contains("(A4)"), "{info}");
    let text = tool("pdftotext", &[], &pdf, "pdf");
    assert!(text.contains("网格员证"));
    let links = qr_codes(&pdf);
    assert_eq!(links.len(), 10.min(members as usize), "{links:?}");
    assert!(
        links
            .iter()
            .all(|l| l.starts_with("http://") && l.contains("/g/520328004016")),
        "{links:?}"
    );
}

/// Every team endpoint × role × own / other cell: the status each caller gets.
#[tokio::test]
async fn the_team_endpoints_answer_each_role_by_the_team_rule() {
    let db = demo_db().await;
    let (app, _) = app_with_atlas(&db).await;
    let admin = user(&db, "m-admin", Role::Admin, &[]).await;
    let command = user(&db, "m-command", Role::Command, &[]).await;
    let planner = user(&db, "m-planner", Role::Planner, &[]).await;
    let leader = user(&db, "m-leader", Role::Worker, &[VILLAGE.to_string()]).await;
    let worker = user(&db, "m-worker", Role::Worker, &[G1.to_string()]).await;
    let stranger = user(&db, "m-stranger", Role::Worker, &[ELSEWHERE.to_string()]).await;
    let staff_of = |cell: &'static str| {
        let db = &db;
        async move {
            db.client()
                .await
                .query_one(
                    "SELECT staff_id FROM cell_staff WHERE cell_code = $1 AND role = '网格长' AND until IS NULL",
                    &[&cell],
                )
                .await
                .unwrap()
                .get::<_, i64>(0)
        }
    };
    let own_staff = staff_of(G1).await;
    let (_, vote) = json(
        &app,
        "POST",
        "/api/v1/votes",
        Some(&admin),
        json!({"period": "matrix", "cells": [G1], "ballots_per_cell": 1}),
    )
    .await;
    let vote = vote["id"].as_i64().unwrap();
    // Columns: none, admin, command, planner, leader (of the village), worker (of G1), stranger.
    use StatusCode as S;
    const OK: S = S::OK;
    const NO: S = S::FORBIDDEN;
    const ANON: S = S::UNAUTHORIZED;
    let rows: Vec<(&str, String, Value, [S; 7])> = vec![
        (
            "GET",
            format!("/api/v1/staff?cell={G1}"),
            Value::Null,
            [ANON, OK, OK, NO, OK, OK, NO],
        ),
        (
            "GET",
            format!("/api/v1/staff?cell={VILLAGE}"),
            Value::Null,
            [ANON, OK, OK, NO, OK, NO, NO],
        ),
        (
            "GET",
            format!("/api/v1/staff/{own_staff}"),
            Value::Null,
            [ANON, OK, OK, NO, OK, OK, NO],
        ),
        (
            "GET",
            format!("/api/v1/teams/violations?under={VILLAGE}"),
            Value::Null,
            [ANON, OK, OK, NO, OK, NO, NO],
        ),
        (
            "GET",
            "/api/v1/teams/roles".into(),
            Value::Null,
            [ANON, OK, OK, NO, OK, OK, OK],
        ),
        (
            "GET",
            format!("/api/v1/electors?cell={G1}"),
            Value::Null,
            [ANON, OK, NO, NO, OK, NO, NO],
        ),
        (
            "GET",
            format!("/api/v1/scores?period=2026H1&under={G1}"),
            Value::Null,
            [ANON, OK, OK, NO, OK, OK, NO],
        ),
        (
            "GET",
            format!("/api/v1/publications?under={VILLAGE}"),
            Value::Null,
            [ANON, OK, OK, NO, OK, NO, NO],
        ),
        (
            "GET",
            format!("/api/v1/votes/{vote}/tally"),
            Value::Null,
            [ANON, OK, NO, NO, NO, NO, NO],
        ),
        (
            "GET",
            "/api/v1/votes".into(),
            Value::Null,
            [ANON, OK, NO, NO, NO, NO, NO],
        ),
        (
            "PUT",
            "/api/v1/teams/roles/%E4%BA%BA%E6%B0%91%E8%B0%83%E8%A7%A3%E5%91%98".into(),
            json!({"team": "专业服务团队", "description": "矛盾纠纷调解"}),
            [ANON, OK, NO, NO, NO, NO, NO],
        ),
        (
            "GET",
            format!("/api/v1/electors?cell={VILLAGE}"),
            Value::Null,
            [ANON, OK, NO, NO, OK, NO, NO],
        ),
        (
            "GET",
            format!("/api/v1/staff/cards.pdf?cell={G1}&staff={own_staff}"),
            Value::Null,
            [ANON, OK, NO, NO, OK, NO, NO],
        ),
        (
            "POST",
            format!("/api/v1/staff/{own_staff}/consents"),
            json!({"scopes": ["photo"], "granted": true, "how": "书面"}),
            [ANON, OK, NO, NO, OK, NO, NO],
        ),
        (
            "POST",
            "/api/v1/electors".into(),
            json!({"cell": G1, "electors": [{"name": "矩阵选民", "kind": "党员"}]}),
            [ANON, S::CREATED, NO, NO, S::CREATED, NO, NO],
        ),
        (
            "POST",
            "/api/v1/scores/entries".into(),
            json!({"period": "2026H1", "staff": own_staff, "item": "conduct", "points": 50, "reason": "矩阵"}),
            [ANON, S::CREATED, NO, NO, S::CREATED, NO, NO],
        ),
        (
            "POST",
            "/api/v1/votes".into(),
            json!({"period": "m", "cells": [G1], "ballots_per_cell": 1}),
            [ANON, S::CREATED, NO, NO, NO, NO, NO],
        ),
        (
            "POST",
            "/api/v1/publications".into(),
            json!({"period": "2026H1", "under": VILLAGE}),
            [ANON, S::CREATED, NO, NO, NO, NO, NO],
        ),
    ];
    let tokens = [
        None,
        Some(&admin),
        Some(&command),
        Some(&planner),
        Some(&leader),
        Some(&worker),
        Some(&stranger),
    ];
    let mut failures = Vec::new();
    for (method, uri, body, expected) in &rows {
        for (k, token) in tokens.iter().enumerate() {
            let (got, answer) =
                json(&app, method, uri, token.map(|t| t.as_str()), body.clone()).await;
            if got != expected[k] {
                failures.push(format!(
                    "{method} {uri} as caller {k}: {got} (expected {}) {answer}",
                    expected[k]
                ));
            }
        }
    }
    // Writes that change teams, per role, own / other cell (each on a fresh person).
    for (k, token) in tokens.iter().enumerate() {
        for (cell, expected) in [
            (G1, [ANON, S::CREATED, NO, NO, S::CREATED, NO, NO]),
            (ELSEWHERE, [ANON, S::CREATED, NO, NO, NO, NO, NO]),
        ] {
            let (got, answer) = json(
                &app,
                "POST",
                "/api/v1/staff",
                token.map(|t| t.as_str()),
                json!({"name": format!("矩阵{k}"), "cell": cell, "role": "志愿者"}),
            )
            .await;
            if got != expected[k] {
                failures.push(format!(
                    "POST /api/v1/staff in {cell} as caller {k}: {got} {answer}"
                ));
            }
        }
    }
    // The import: a leader's rows outside its village are rejected by line, the others written.
    let csv =
        format!("姓名,角色,网格编码\n矩阵导入甲,志愿者,{G1}\n矩阵导入乙,志愿者,{ELSEWHERE}\n");
    let (status, _, out) = call(
        &app,
        "POST",
        "/api/v1/import/staff",
        Some(&leader),
        Some("text/csv"),
        csv.clone().into_bytes(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let report: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(report["written"], 1, "{report}");
    assert_eq!(report["report"][1]["line"], 3);
    assert!(
        report["report"][1]["reason"]
            .as_str()
            .unwrap()
            .contains("leader"),
        "{report}"
    );
    for token in [&command, &planner] {
        let (status, _, _) = call(
            &app,
            "POST",
            "/api/v1/import/staff",
            Some(token),
            Some("text/csv"),
            csv.clone().into_bytes(),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    // The role table took the new role; a role of no team is refused, naming the field.
    let (_, roles) = json(
        &app,
        "GET",
        "/api/v1/teams/roles",
        Some(&admin),
        Value::Null,
    )
    .await;
    assert!(
        roles["roles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "人民调解员" && r["team"] == "专业服务团队")
    );
    let (status, body) = json(
        &app,
        "PUT",
        "/api/v1/teams/roles/%E8%B0%83%E8%A7%A3",
        Some(&admin),
        json!({"team": "调解团队"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["details"]["field"], "team");
    // Public endpoints never show staff phones of the unconsented, nor any elector.
    let (_, card) = json(
        &app,
        "GET",
        &format!("/api/v1/cells/{G1}/card"),
        None,
        Value::Null,
    )
    .await;
    assert!(!card.to_string().contains("矩阵选民"));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
