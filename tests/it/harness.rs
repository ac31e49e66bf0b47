//! One private PostgreSQL cluster for the whole test run, and a fresh database per test cloned
//! from a migrated template, so tests are isolated and can run in parallel.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use gridmap::store::embedded::{Cluster, Endpoint};
use gridmap::store::{self, migrate};

pub struct TestCluster {
    pub cluster: Cluster,
    pub endpoint: Endpoint,
    pub dir: std::path::PathBuf,
}

static CLUSTER: OnceLock<TestCluster> = OnceLock::new();
static CREATE_LOCK: OnceLock<tokio::sync::Mutex<()>> = OnceLock::new();
static NEXT_DB: AtomicUsize = AtomicUsize::new(0);
const TEMPLATE: &str = "gridmap_template";

extern "C" fn stop_cluster_at_exit() {
    if let Some(test) = CLUSTER.get() {
        let _ = test.cluster.stop();
        let _ = std::fs::remove_dir_all(&test.dir);
    }
}

/// The run's cluster: started on first use, migrated template ready, stopped at process exit.
pub fn cluster() -> &'static TestCluster {
    // Built on its own thread: callers are often inside a tokio runtime, which may not block.
    CLUSTER.get_or_init(|| {
        std::thread::spawn(start_cluster)
            .join()
            .expect("test cluster")
    })
}

fn start_cluster() -> TestCluster {
    {
        let dir = tempfile::Builder::new()
            .prefix("gridmap-test-")
            .tempdir()
            .expect("temp dir")
            .keep();
        let cluster = Cluster::new(&dir).expect("PostgreSQL binaries");
        let endpoint = cluster.start().expect("test cluster starts");
        // SAFETY: registering a plain extern "C" function with no captured state.
        unsafe { libc::atexit(stop_cluster_at_exit) };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let admin = store::connect(&endpoint.config("postgres"))
                .await
                .expect("admin");
            store::create_database_if_missing(&admin, TEMPLATE, None)
                .await
                .expect("template");
            let mut client = store::connect(&endpoint.config(TEMPLATE))
                .await
                .expect("template db");
            client
                .batch_execute("CREATE EXTENSION IF NOT EXISTS postgis")
                .await
                .expect("postgis");
            migrate::migrate(&mut client).await.expect("migrations");
        });
        TestCluster {
            cluster,
            endpoint,
            dir,
        }
    }
}

/// A database of its own for one test.
pub struct TestDb {
    pub name: String,
    pub config: tokio_postgres::Config,
}

impl TestDb {
    pub async fn client(&self) -> tokio_postgres::Client {
        store::connect(&self.config)
            .await
            .expect("connect to test db")
    }

    /// A libpq key-value connection string, for `DATABASE_URL` of the binary.
    pub fn url(&self) -> String {
        let endpoint = &cluster().endpoint;
        format!(
            "host={} port={} user=gridmap dbname={}",
            endpoint.socket_dir.display(),
            endpoint.port,
            self.name
        )
    }
}

/// A fresh, migrated, empty database (`migrated = true`), or an entirely empty one.
pub async fn fresh_db(migrated: bool) -> TestDb {
    let test = cluster();
    let name = format!(
        "t_{}_{}",
        std::process::id(),
        NEXT_DB.fetch_add(1, Ordering::SeqCst)
    );
    let _guard = CREATE_LOCK
        .get_or_init(|| tokio::sync::Mutex::new(()))
        .lock()
        .await;
    let admin = store::connect(&test.endpoint.config("postgres"))
        .await
        .expect("admin");
    let template = if migrated { TEMPLATE } else { "template0" };
    store::create_database_if_missing(&admin, &name, Some(template))
        .await
        .expect("create test database");
    TestDb {
        config: test.endpoint.config(&name),
        name,
    }
}

/// A migrated database with the committed demo deployment loaded.
pub async fn demo_db() -> TestDb {
    let db = fresh_db(true).await;
    let mut client = db.client().await;
    gridmap::app::demo::load_if_empty(&mut client, &demo_dir())
        .await
        .expect("demo loads")
        .expect("database was empty");
    db
}

pub fn demo_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/demo")
}

pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_gridmap")
}

/// A request to the router in one call: every test file builds its requests through this, so a
/// header rule (the token, the content type) lives in one place.
pub async fn request(
    app: &axum::Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> axum::response::Response {
    use tower::ServiceExt;
    let mut request = axum::http::Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        request = request.header("authorization", format!("Bearer {t}"));
    }
    if let Some(ct) = content_type {
        request = request.header("content-type", ct);
    }
    app.clone()
        .oneshot(request.body(axum::body::Body::from(body)).unwrap())
        .await
        .unwrap()
}

/// The status, headers and whole body of a request.
pub async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (axum::http::StatusCode, axum::http::HeaderMap, Vec<u8>) {
    use http_body_util::BodyExt;
    let response = request(app, method, uri, token, content_type, body).await;
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, bytes.to_vec())
}

/// A JSON request (`Value::Null` = no body) → the status and the parsed answer (`Null` if none).
pub async fn json(
    app: &axum::Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: serde_json::Value,
) -> (axum::http::StatusCode, serde_json::Value) {
    let bytes = if body.is_null() {
        Vec::new()
    } else {
        body.to_string().into_bytes()
    };
    let (status, _, out) = call(app, method, uri, token, Some("application/json"), bytes).await;
    (
        status,
        serde_json::from_slice(&out).unwrap_or(serde_json::Value::Null),
    )
}

/// A user with a role (and grids), its token returned.
pub async fn user(
    db: &TestDb,
    name: &str,
    role: gridmap::domain::role::Role,
    cells: &[String],
) -> String {
    let mut client = db.client().await;
    gridmap::store::users::add_user(&mut client, name, role, cells)
        .await
        .unwrap()
}

/// How many incidents the database holds (a refused request must not change it).
pub async fn incident_count(db: &TestDb) -> i64 {
    db.client()
        .await
        .query_one("SELECT count(*) FROM incidents", &[])
        .await
        .unwrap()
        .get(0)
}
