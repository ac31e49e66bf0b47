//! The one layer every request and response passes: it refuses URLs whose path or query decodes
//! to text PostgreSQL cannot store (NUL, invalid UTF-8), puts every error that did not come from
//! `ApiError` (the framework's own rejections, a static file not found, a 405) into the error
//! contract — `{"error": {"code", "message", "details"}}`, or the GeoReport shape under
//! `/open311/` — and adds the security headers.

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode;
use serde_json::json;

use super::error::code_of_status;
use crate::domain::text::{TextError, storable_bytes};

/// The pages' policy, as a macro so the no-frames variant is built from it at compile time.
macro_rules! page_csp {
    () => {
        "default-src 'self'; script-src 'self'; style-src 'self'; \
         img-src 'self' data: blob:; worker-src 'self' blob:; child-src 'self' blob:; \
         connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'"
    };
}
/// The pages' policy: everything from this origin only. MapLibre draws in a worker made from a
/// `blob:` URL and loads sprite images as `data:`/`blob:`.
pub const PAGE_CSP: &str = page_csp!();
/// Pages that hold a token (the planner's editor, the wall) are never framed.
const PAGE_CSP_NO_FRAMES: &str = concat!(page_csp!(), "; frame-ancestors 'none'");
/// The poster's SVG carries its own inline styles and embedded font.
const SVG_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; font-src data:; img-src data:; frame-ancestors 'self'";
/// Data (JSON, tiles) is never a document that runs anything.
const DATA_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// The field app's service worker, served at the root so its scope may be `/field`.
pub const SERVICE_WORKER: &str = "/field-sw.js";

/// Largest error body read back to be reshaped (framework rejections are a line of text).
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// Pages that hold a bearer token in the browser.
fn holds_token(path: &str) -> bool {
    [
        "/plan",
        "/wall",
        "/field",
        "/web/plan",
        "/web/wall",
        "/web/field",
        "/web/team",
        "/admin/staff",
        "/web/staff",
        "/vote",
        "/web/vote",
        "/dept",
        "/web/dept",
    ]
    .iter()
    .any(|p| {
        path.strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '/']))
    })
}

/// The first path segment or query parameter that cannot be stored, named.
pub fn check_uri(path: &str, query: Option<&str>) -> Result<(), TextError> {
    // A URI's own characters are printable ASCII: only a percent-escape can carry a NUL or a
    // byte that is not UTF-8 (the hot path of tiles never decodes anything).
    if !path.contains('%') && !query.is_some_and(|q| q.contains('%')) {
        return Ok(());
    }
    for segment in path.split('/') {
        storable_bytes(
            "path",
            &percent_decode(segment.as_bytes()).collect::<Vec<u8>>(),
        )?;
    }
    // A query string is decoded like a form.
    parse_form(query.unwrap_or_default().as_bytes()).map(|_| ())
}

/// An `application/x-www-form-urlencoded` body, strictly: a value that decodes to a NUL or to
/// invalid UTF-8 is refused naming its field (a lossy decoder would store U+FFFD silently).
pub fn parse_form(body: &[u8]) -> Result<Vec<(String, String)>, TextError> {
    let mut fields = Vec::new();
    for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let (key, value) = match pair.iter().position(|b| *b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &pair[..0]),
        };
        let decode = |s: &[u8]| -> Vec<u8> {
            let spaced: Vec<u8> = s
                .iter()
                .map(|b| if *b == b'+' { b' ' } else { *b })
                .collect();
            percent_decode(&spaced).collect()
        };
        let key_bytes = decode(key);
        let name = String::from_utf8_lossy(&key_bytes).replace('\0', "\\u0000");
        let key = storable_bytes(&name, &key_bytes)?.to_string();
        let value = storable_bytes(&name, &decode(value))?.to_string();
        fields.push((key, value));
    }
    Ok(fields)
}

fn open311(path: &str) -> bool {
    path.starts_with("/open311/")
}

/// An error in the contract's shape for `path`.
pub fn error_response(
    path: &str,
    status: StatusCode,
    message: &str,
    details: serde_json::Value,
) -> Response {
    if open311(path) {
        return (
            status,
            axum::Json(json!([{"code": status.as_u16(), "description": message}])),
        )
            .into_response();
    }
    (
        status,
        axum::Json(json!({"error": {"code": code_of_status(status), "message": message, "details": details}})),
    )
        .into_response()
}

/// The middleware (see the module comment).
pub async fn guard(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    if let Err(bad) = check_uri(&path, request.uri().query()) {
        let field = bad.field().to_string();
        let mut response = error_response(
            &path,
            StatusCode::BAD_REQUEST,
            &bad.to_string(),
            json!({"field": field}),
        );
        secure(&path, &mut response);
        return response;
    }
    let response = next.run(request).await;
    let mut response = reshape(&path, response).await;
    secure(&path, &mut response);
    response
}

/// Errors without a JSON body become the contract's shape; the text the framework wrote (a
/// rejection's reason) becomes the message, except for 5xx, whose causes stay in the log.
async fn reshape(path: &str, response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    // A page's own refusal (the residents' pages answer theirs as pages) stays a page.
    let is_page = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if status.as_u16() < 400 || is_json || is_page {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, ERROR_BODY_LIMIT)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let message = if status.is_server_error() || text.is_empty() || text.starts_with('<') {
        match status {
            StatusCode::NOT_FOUND => format!("nothing at {path}"),
            StatusCode::METHOD_NOT_ALLOWED => format!("this method is not allowed on {path}"),
            s => s.canonical_reason().unwrap_or("error").to_lowercase(),
        }
    } else {
        text
    };
    if status.is_server_error() {
        tracing::error!("{status} on {path} without an error body");
    }
    let mut shaped = error_response(path, status, &message, serde_json::Value::Null);
    // Keep headers such as `Allow` (405) and `Retry-After`.
    for (name, value) in parts.headers.iter() {
        if name != CONTENT_TYPE && name != CONTENT_LENGTH {
            shaped.headers_mut().insert(name.clone(), value.clone());
        }
    }
    shaped
}

fn secure(path: &str, response: &mut Response) {
    use axum::http::header::{
        CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
    };
    let status = response.status();
    let headers = response.headers_mut();
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let csp = if path == SERVICE_WORKER && status != StatusCode::NOT_MODIFIED {
        // A service worker runs under its own script's policy: it must reach this origin.
        Some(HeaderValue::from_static(PAGE_CSP))
    } else if content_type.starts_with("text/html") {
        if holds_token(path) {
            Some(HeaderValue::from_static(PAGE_CSP_NO_FRAMES))
        } else {
            Some(HeaderValue::from_static(PAGE_CSP))
        }
    } else if content_type.starts_with("image/svg") {
        Some(HeaderValue::from_static(SVG_CSP))
    } else if content_type.starts_with("application/pdf") || status == StatusCode::NOT_MODIFIED {
        // Browsers show a PDF in their own viewer, which a document policy could break; a 304
        // has no content type to choose by, and its headers would replace the cached page's.
        None
    } else {
        Some(HeaderValue::from_static(DATA_CSP))
    };
    if let Some(csp) = csp {
        headers.insert(CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if holds_token(path) {
        headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
}

/// `/web/` serves the pages' own files only: top-level scripts, styles and images and the
/// shared `lib/` — never `package.json`, the tests or `node_modules`.
pub fn is_page_file(path: &str) -> bool {
    let file = path.strip_prefix('/').unwrap_or(path);
    let file = file.strip_prefix("lib/").unwrap_or(file);
    let allowed = [
        "js",
        "mjs",
        "css",
        "png",
        "svg",
        "webmanifest",
        "ico",
        "html",
    ];
    !file.is_empty()
        && !file.contains('/')
        && !file.starts_with('.')
        && file.rsplit_once('.').is_some_and(|(stem, ext)| {
            !stem.is_empty()
                && allowed.contains(&ext)
                && stem
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        })
}

/// The filter in front of `/web/`'s file server.
pub async fn page_files_only(request: Request, next: Next) -> Response {
    if is_page_file(request.uri().path()) {
        next.run(request).await
    } else {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::NOT_FOUND;
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_or_invalid_utf8_in_the_query_names_the_parameter() {
        assert_eq!(
            check_uri("/api/v1/incidents", Some("cell=52%00"))
                .unwrap_err()
                .field(),
            "cell"
        );
        assert_eq!(
            check_uri("/api/v1/incidents", Some("q=%ff"))
                .unwrap_err()
                .field(),
            "q"
        );
        assert_eq!(
            check_uri("/api/v1/cells/%c3", None).unwrap_err().field(),
            "path"
        );
        assert!(check_uri("/api/v1/cells/520328", Some("a=%E4%B9%89&b=1+2")).is_ok());
    }

    #[test]
    fn a_form_field_with_a_nul_or_bad_utf8_is_named() {
        let ok = parse_form(b"description=a+b%E4%B9%89&lat=27.7").unwrap();
        assert_eq!(ok[0], ("description".to_string(), "a b义".to_string()));
        assert_eq!(
            parse_form(b"description=a%00b").unwrap_err().field(),
            "description"
        );
        assert_eq!(
            parse_form(b"lat=1&description=%ff").unwrap_err().field(),
            "description"
        );
    }

    #[test]
    fn pages_holding_tokens_are_told_apart() {
        assert!(holds_token("/plan"));
        assert!(holds_token("/web/wall.js"));
        assert!(!holds_token("/"));
        assert!(!holds_token("/planet"));
    }

    #[test]
    fn only_the_pages_own_files_are_served_from_web() {
        assert!(is_page_file("/public.js"));
        assert!(is_page_file("/lib/api.mjs"));
        assert!(!is_page_file("/package.json"));
        assert!(!is_page_file("/node_modules/.package-lock.json"));
        assert!(!is_page_file("/tests/public.test.mjs"));
        assert!(!is_page_file("/../Cargo.toml"));
    }
}
