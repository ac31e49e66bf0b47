//! The OpenAPI document: generated from the handlers, it names every API route the router
//! serves, each with its error responses, and the bearer scheme.

use axum::http::StatusCode;
use serde_json::Value;

use crate::harness::demo_db;
use crate::http::{app, call};

/// Every API route of `http::router` (pages and static files aside): a new route must be added
/// here, and so to the document.
const ROUTES: &[(&str, &str)] = &[
    ("get", "/health"),
    ("get", "/api/v1/calendar"),
    ("get", "/api/v1/cells"),
    ("get", "/api/v1/cells/{code}"),
    ("get", "/api/v1/cells/{code}/card"),
    ("get", "/g/{code}"),
    ("get", "/g/{code}/card"),
    ("get", "/track/{code}"),
    ("get", "/sign/{file}"),
    ("get", "/api/v1/public/results"),
    ("get", "/api/v1/public/feed"),
    ("get", "/api/v1/public/categories"),
    ("get", "/api/v1/public/track/{code}"),
    ("post", "/api/v1/public/suggestions"),
    ("get", "/api/v1/revision"),
    ("get", "/api/v1/staff/{id}/photo"),
    ("get", "/api/v1/locate"),
    ("post", "/api/v1/validate"),
    ("get", "/tiles/{layer}/{z}/{x}/{y}.mvt"),
    ("get", "/tiles/{file}"),
    ("get", "/styles/public.json"),
    ("get", "/poster/{file}"),
    ("post", "/api/v1/drafts"),
    ("get", "/api/v1/drafts/{id}"),
    ("put", "/api/v1/drafts/{id}/cells/{code}"),
    ("delete", "/api/v1/drafts/{id}/cells/{code}"),
    ("post", "/api/v1/drafts/{id}/split"),
    ("post", "/api/v1/drafts/{id}/merge"),
    ("post", "/api/v1/drafts/{id}/validate"),
    ("post", "/api/v1/drafts/{id}/commit"),
    ("get", "/api/v1/buildings"),
    ("patch", "/api/v1/buildings/{id}"),
    ("post", "/api/v1/import/{kind}"),
    ("post", "/api/v1/geocode"),
    ("get", "/api/v1/cells/{code}/households"),
    ("get", "/api/v1/counts"),
    ("get", "/api/v1/audit"),
    ("get", "/api/v1/revisions"),
    ("get", "/api/v1/revisions/{n}/diff"),
    ("post", "/api/v1/revisions/{n}/revert"),
    ("post", "/api/v1/incidents"),
    ("get", "/api/v1/incidents"),
    ("get", "/api/v1/incidents/{id}"),
    ("post", "/api/v1/incidents/{id}/actions"),
    ("get", "/api/v1/stats"),
    ("get", "/api/v1/live"),
    ("get", "/open311/v2/services.json"),
    ("get", "/open311/v2/services/{code}.json"),
    ("get", "/api/v1/departments"),
    ("put", "/api/v1/departments/{code}"),
    ("post", "/api/v1/departments/{code}/reviews"),
    ("get", "/api/v1/departments/kpis"),
    ("get", "/api/v1/departments/board"),
    ("post", "/api/v1/incidents/{id}/dispatch"),
    ("post", "/api/v1/parts/{id}/report"),
    ("post", "/api/v1/parts/{id}/done"),
    ("get", "/api/v1/matters"),
    ("post", "/api/v1/matters"),
    ("post", "/api/v1/matters/{id}/decision"),
    ("get", "/api/v1/public/matters"),
    ("get", "/open311/v2/requests.json"),
    ("post", "/open311/v2/requests.json"),
    ("get", "/open311/v2/requests/{id}.json"),
    ("get", "/api/v1/me"),
    ("get", "/api/v1/users"),
    ("get", "/api/v1/tokens"),
    ("delete", "/api/v1/tokens/{id}"),
    ("post", "/api/v1/devices/pair"),
    ("post", "/api/v1/devices/pairings"),
    ("get", "/api/v1/devices"),
    ("delete", "/api/v1/devices/{id}"),
    ("post", "/api/v1/field/sync"),
    ("get", "/api/v1/field/today"),
    ("get", "/api/v1/field/households"),
    ("get", "/api/v1/field/day"),
    ("get", "/api/v1/patrols"),
    ("get", "/api/v1/patrols/{id}"),
    ("get", "/api/v1/logs"),
    ("post", "/api/v1/logs/{id}/comments"),
    ("get", "/api/v1/compliance"),
    ("get", "/api/v1/photos/{hash}"),
    ("post", "/api/v1/import/staff"),
    ("post", "/api/v1/intake/{source}"),
    ("post", "/api/v1/import/electors"),
    ("get", "/api/v1/staff"),
    ("post", "/api/v1/staff"),
    ("get", "/api/v1/staff/{id}"),
    ("post", "/api/v1/staff/{id}/memberships"),
    ("post", "/api/v1/staff/{id}/consents"),
    ("post", "/api/v1/memberships/{id}/end"),
    ("post", "/api/v1/memberships/{id}/move"),
    ("get", "/api/v1/teams/roles"),
    ("put", "/api/v1/teams/roles/{name}"),
    ("get", "/api/v1/teams/violations"),
    ("get", "/api/v1/staff/cards.pdf"),
    ("get", "/api/v1/electors"),
    ("post", "/api/v1/electors"),
    ("post", "/api/v1/votes"),
    ("get", "/api/v1/votes"),
    ("get", "/api/v1/votes/{id}/tally"),
    ("post", "/api/v1/votes/{id}/close"),
    ("get", "/api/v1/votes/{id}/slips.pdf"),
    ("get", "/api/v1/ballots/{code}"),
    ("post", "/api/v1/ballots/{code}"),
    ("get", "/api/v1/scores"),
    ("post", "/api/v1/scores/entries"),
    ("post", "/api/v1/publications"),
    ("get", "/api/v1/publications"),
    ("get", "/gongshi/{file}"),
];

#[tokio::test]
async fn the_openapi_document_names_every_api_route_with_its_errors() {
    let db = demo_db().await;
    let (status, doc) = call(&app(&db), "/api/v1/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().unwrap();
    let mut documented = 0;
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            documented += 1;
            assert!(
                ROUTES.contains(&(method.as_str(), path.as_str())),
                "{method} {path} is documented but not served"
            );
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.contains_key("4XX"),
                "{method} {path} has no error response"
            );
        }
    }
    for (method, path) in ROUTES {
        assert!(
            paths.get(*path).and_then(|p| p.get(*method)).is_some(),
            "{method} {path} is served but not documented"
        );
    }
    assert_eq!(documented, ROUTES.len());
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let error = &doc["components"]["schemas"]["ErrorBody"];
    assert!(error != &Value::Null, "the error schema is a component");
}
