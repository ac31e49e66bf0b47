//! What the benchmarks that drive the real server binary share: a database with the demo on the
//! embedded cluster, the server process (killed and reaped on every path out), its URL, and
//! percentiles. Each bench includes it with `#[path]`, so not every bench uses every item.
#![allow(dead_code)]

use std::process::{Child, Command, Stdio};

use gridmap::store::{self, embedded::Cluster, embedded::Endpoint};

/// What a bench's body returns.
pub type BenchResult = Result<(), Box<dyn std::error::Error>>;

/// Runs `bench` against a private embedded cluster in a temp directory, on a two-thread runtime
/// (the machine's cores), and stops the cluster on the way out; a bench's error is a panic.
pub fn on_cluster<F, Fut>(bench: F)
where
    F: FnOnce(Endpoint) -> Fut,
    Fut: std::future::Future<Output = BenchResult>,
{
    let dir = tempfile::tempdir().expect("temp dir");
    let cluster = Cluster::new(dir.path()).expect("PostgreSQL binaries");
    let endpoint = cluster.start().expect("cluster starts");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let result = runtime.block_on(bench(endpoint));
    drop(runtime);
    cluster.stop().ok();
    result.expect("bench");
}

/// The `bench` database on `endpoint`, migrated, with the demo loaded: its configuration, a
/// client on it, and a URL the server binary can take as `DATABASE_URL`.
pub async fn demo_database(
    endpoint: &Endpoint,
) -> Result<(tokio_postgres::Config, tokio_postgres::Client, String), Box<dyn std::error::Error>> {
    let admin = store::connect(&endpoint.config("postgres")).await?;
    store::create_database_if_missing(&admin, "bench", None).await?;
    let config = endpoint.config("bench");
    let mut client = store::connect(&config).await?;
    client
        .batch_execute("CREATE EXTENSION IF NOT EXISTS postgis")
        .await?;
    store::migrate::migrate(&mut client).await?;
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/demo");
    gridmap::app::demo::load_if_empty(&mut client, &demo).await?;
    let url = format!(
        "postgresql://{}@127.0.0.1:{}/bench",
        config.get_user().unwrap_or("postgres"),
        config.get_ports().first().copied().unwrap_or(5432)
    );
    Ok((config, client, url))
}

/// The server process, killed (SIGKILL) and reaped when dropped, on every path out.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

/// Starts the server binary on `listen` (`127.0.0.1:0` for any port) with `url` as its
/// database; returns once it listens, with the origin it printed.
pub fn start(url: &str, listen: &str) -> (Server, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gridmap"))
        .args(["serve", "--listen", listen])
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the server binary");
    use std::io::BufRead;
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = std::io::BufReader::new(stdout).lines();
    let origin = loop {
        match lines.next() {
            Some(Ok(line)) if line.starts_with("gridmap listening on") => {
                break line
                    .trim_start_matches("gridmap listening on")
                    .trim()
                    .to_string();
            }
            Some(_) => continue,
            None => panic!("the server exited before listening"),
        }
    };
    // Keep draining its output so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (Server(child), origin)
}

/// The `p` quantile (0–1) of sorted values (NaN when there are none).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}
