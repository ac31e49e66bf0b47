//! The printable poster: right paper size, the village's grid names in the PDF's text (Chinese
//! font embedded), nothing unconsented on it.

use axum::http::StatusCode;

use crate::harness::demo_db;
use crate::http::{app_with_atlas, call};

fn tool(program: &str, args: &[&str], bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("poster.pdf");
    std::fs::write(&path, bytes).unwrap();
    let output = std::process::Command::new(program)
        .args(args)
        .arg(&path)
        .args(if program == "pdftotext" {
            vec!["-"]
        } else {
            vec![]
        })
        .output()
        .expect("poppler-utils is installed by make test");
    assert!(
        output.status.success(),
        "{program}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

async fn fetch(app: &axum::Router, uri: &str) -> (StatusCode, String, Vec<u8>) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let response = app
        .clone()
        .oneshot(
            axum::http::Request::builder()
                .uri(uri)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (
        status,
        kind,
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
}

#[tokio::test]
async fn the_pdf_poster_is_a3_with_every_grid_named_in_embedded_chinese() {
    let db = demo_db().await;
    let (app, state) = app_with_atlas(&db).await;
    let (status, kind, pdf) = fetch(&app, "/poster/520328004016.pdf").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kind, "application/pdf");
    let info = tool("pdfinfo", &[], &pdf);
    assert!(info.contains("Pages:           1"), "{info}");
    assert!(info.contains("(A3)"), "{info}");
    let fonts = tool("pdffonts", &[], &pdf);
    assert!(fonts.contains("NotoSansCJK"), "{fonts}");
    let text = tool("pdftotext", &[], &pdf);
    assert!(text.contains("义泉社区网格示意图"), "{text}");
    assert!(text.contains("不作为权属界线依据"));
    let atlas = state.atlas.load();
    let grids: Vec<&str> = atlas
        .cells()
        .iter()
        .filter(|c| c.code.starts_with("520328004016") && c.level == 3)
        .map(|c| c.name.strip_prefix("义泉社区").unwrap())
        .collect();
    assert!(grids.len() >= 5);
    for name in grids {
        assert!(text.contains(name), "{name} missing from the poster text");
    }
    let (_, _, a1) = fetch(&app, "/poster/520328004016.pdf?size=a1").await;
    assert!(tool("pdfinfo", &[], &a1).contains("(A1)"));
}

#[tokio::test]
async fn the_svg_poster_publishes_nothing_unconsented_and_bad_requests_are_refused() {
    let db = demo_db().await;
    let (app, _) = app_with_atlas(&db).await;
    let (status, kind, svg) = fetch(&app, "/poster/520328101201.svg").await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.starts_with("image/svg+xml"));
    let svg = String::from_utf8(svg).unwrap();
    assert!(svg.contains("流河渡村网格示意图") && svg.contains("北"));
    // Consenting leaders' portraits are embedded; there are never more than consenting leaders.
    let portraits = svg
        .matches("<image href=\"data:image/svg+xml;base64,")
        .count();
    let consenting_leaders: i64 = db
        .client()
        .await
        .query_one(
            "SELECT count(*) FROM cell_staff cs JOIN staff s ON s.id = cs.staff_id
             WHERE cs.cell_code LIKE '520328101201%' AND cs.role = '网格长' AND (SELECT phone FROM staff_consent WHERE staff_id = s.id)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(portraits as i64, consenting_leaders);
    let client = db.client().await;
    let rows = client
        .query(
            "SELECT s.name, s.phone FROM cell_staff cs JOIN staff s ON s.id = cs.staff_id
             WHERE cs.cell_code LIKE '520328101201%' AND NOT (SELECT phone FROM staff_consent WHERE staff_id = s.id)",
            &[],
        )
        .await
        .unwrap();
    assert!(!rows.is_empty());
    for row in rows {
        let phone: String = row.get(1);
        assert!(!svg.contains(&phone), "unconsented phone on the poster");
    }
    let households: Vec<String> = client
        .query("SELECT head_name FROM households LIMIT 50", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(households.iter().all(|h| !svg.contains(&format!(">{h}<"))));
    for (uri, status) in [
        ("/poster/520328101201.png", StatusCode::BAD_REQUEST),
        ("/poster/520328101.svg", StatusCode::BAD_REQUEST),
        ("/poster/520328101299.svg", StatusCode::NOT_FOUND),
        ("/poster/520328101201.svg?size=a0", StatusCode::BAD_REQUEST),
    ] {
        let (got, _) = call(&app, uri, None).await;
        assert_eq!(got, status, "{uri}");
    }
}
