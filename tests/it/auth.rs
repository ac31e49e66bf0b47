//! Bearer tokens and roles.

use std::process::Command;

use axum::http::StatusCode;
use gridmap::domain::role::Role;
use gridmap::store::{StoreError, users};

use crate::harness::{binary, demo_db};
use crate::http::{app, call};

#[tokio::test]
async fn a_token_identifies_its_user_and_roles_gate_endpoints() {
    let db = demo_db().await;
    let mut client = db.client().await;
    let worker = users::add_user(
        &mut client,
        "李网格",
        Role::Worker,
        &["520328004016001".into()],
    )
    .await
    .unwrap();
    let admin = users::add_user(&mut client, "管理员", Role::Admin, &[])
        .await
        .unwrap();
    let app = app(&db);

    let (status, body) = call(&app, "/api/v1/me", Some(&worker)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["role"], "worker");
    assert_eq!(body["cells"][0], "520328004016001");

    let (status, body) = call(&app, "/api/v1/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "unauthenticated");
    let (status, body) = call(&app, "/api/v1/me", Some("gm_not_a_token")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "bad_token");

    let (status, body) = call(&app, "/api/v1/users", Some(&worker)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["details"]["required_roles"][0], "admin");
    let (status, body) = call(&app, "/api/v1/users", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    // The two made here, and the disabled reporter of residents' suggestions (migration 0014).
    let users = body["users"].as_array().unwrap();
    assert_eq!(users.len(), 3, "{body}");
    assert!(
        users
            .iter()
            .any(|u| u["name"] == "居民之声" && u["disabled"] == true),
        "{body}"
    );
    assert!(!body.to_string().contains(&worker[3..]), "a token leaked");
}

#[tokio::test]
async fn only_a_hash_of_the_token_is_stored_and_revoked_tokens_fail() {
    let db = demo_db().await;
    let mut client = db.client().await;
    let token = users::add_user(&mut client, "王规划", Role::Planner, &[])
        .await
        .unwrap();
    let stored: Vec<u8> = client
        .query_one("SELECT token_sha256 FROM api_tokens", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, users::token_digest(&token));
    let dump: String = client
        .query_one("SELECT string_agg(t::text, ' ') FROM api_tokens t", &[])
        .await
        .unwrap()
        .get(0);
    assert!(!dump.contains(&token[3..]));
    assert!(
        users::authenticate(&client, &token)
            .await
            .unwrap()
            .is_some()
    );
    client
        .execute("UPDATE api_tokens SET revoked_at = now()", &[])
        .await
        .unwrap();
    assert!(
        users::authenticate(&client, &token)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn user_add_refuses_unknown_cells_and_duplicate_names() {
    let db = demo_db().await;
    let mut client = db.client().await;
    let err = users::add_user(
        &mut client,
        "张三",
        Role::Worker,
        &["520328004016999".into()],
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, StoreError::Refused(m) if m.contains("520328004016999")),
        "{err}"
    );
    users::add_user(&mut client, "张三", Role::Worker, &[])
        .await
        .unwrap();
    let err = users::add_user(&mut client, "张三", Role::Command, &[])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Refused(_)));
    let count: i64 = client
        .query_one("SELECT count(*) FROM users WHERE disabled_at IS NULL", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 1);
}

#[tokio::test]
async fn the_cli_prints_the_token_alone_on_its_last_line() {
    let db = demo_db().await;
    let output = Command::new(binary())
        .args([
            "user",
            "add",
            "赵指挥",
            "--role",
            "command",
            "--cells",
            "520328004,520328101",
        ])
        .env("DATABASE_URL", db.url())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let token = stdout.lines().last().unwrap();
    assert!(
        token.starts_with(users::TOKEN_PREFIX) && !token.contains(' '),
        "{stdout}"
    );
    let (status, body) = call(&app(&db), "/api/v1/me", Some(token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["role"], "command");
    assert_eq!(body["cells"], serde_json::json!(["520328004", "520328101"]));

    let bad = Command::new(binary())
        .args(["user", "add", "x", "--role", "root"])
        .env("DATABASE_URL", db.url())
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown role"));
}
