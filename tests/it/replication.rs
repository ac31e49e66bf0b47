//! Several nodes on PostgreSQL streaming replication, all real and on loopback: a primary, a hot
//! standby made by `pg_basebackup`, two `gridmap serve` nodes on the primary with the standby as
//! their replica, and Debian's nginx balancing between them.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gridmap::domain::role::Role;
use gridmap::store::{self, embedded::Cluster, users};
use serde_json::{Value, json};

use crate::harness::binary;

/// Everything the test started, stopped on every path out.
struct Running {
    children: Vec<Child>,
    clusters: Vec<Cluster>,
    dir: PathBuf,
}

impl Drop for Running {
    fn drop(&mut self) {
        for child in &mut self.children {
            child.kill().ok();
            child.wait().ok();
        }
        for cluster in &self.clusters {
            cluster.stop().ok();
        }
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

/// Starts a node on `primary` with `replica` for reads; returns the child and its origin.
fn node(primary: &str, replica: &str, demo: bool) -> (Child, String) {
    let mut command = Command::new(binary());
    command.args(["serve", "--listen", "127.0.0.1:0"]);
    if demo {
        command.arg("--demo").arg("data/demo");
    }
    let mut child = command
        .env("DATABASE_URL", primary)
        .env("DATABASE_REPLICA_URLS", replica)
        .env("GRIDMAP_TRUSTED_PROXIES", "127.0.0.1")
        .env("RUST_LOG", "warn")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the server binary");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(origin) = line.strip_prefix("gridmap listening on ") {
                tx.send(origin.trim().to_string()).ok();
            }
        }
    });
    let origin = rx
        .recv_timeout(Duration::from_secs(180))
        .expect("the node listens");
    (child, origin)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// nginx in front of the two nodes, with the deployment's own site file
/// (`deploy/nginx-gridmap.conf`) given this test's ports.
fn nginx(dir: &Path, upstreams: &[&str]) -> (Child, String) {
    let port = free_port();
    let site = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/nginx-gridmap.conf"),
    )
    .expect("deploy/nginx-gridmap.conf");
    let mut servers = upstreams.iter().map(|u| {
        format!(
            "server {} max_fails=1 fail_timeout=30s;",
            u.trim_start_matches("http://")
        )
    });
    let site: String = site
        .lines()
        .map(|line| {
            let trimmed = line.trim();
            if trimmed.starts_with("server 127.0.0.1:") {
                servers.next().unwrap_or_default()
            } else if trimmed == "listen 80;" {
                format!("listen 127.0.0.1:{port};")
            } else {
                line.to_string()
            }
        })
        .map(|line| line + "\n")
        .collect();
    assert!(
        site.contains(&format!("listen 127.0.0.1:{port};")),
        "{site}"
    );
    std::fs::write(dir.join("gridmap-site.conf"), site).unwrap();
    let user = if unsafe { libc::geteuid() } == 0 {
        "user root root;"
    } else {
        ""
    };
    let d = dir.display();
    let conf = format!(
        "{user}
worker_processes 1;
error_log {d}/nginx-error.log warn;
pid {d}/nginx.pid;
events {{ worker_connections 512; }}
http {{
  access_log off;
  client_body_temp_path {d}/nginx-body;
  proxy_temp_path {d}/nginx-proxy;
  fastcgi_temp_path {d}/nginx-fastcgi;
  uwsgi_temp_path {d}/nginx-uwsgi;
  scgi_temp_path {d}/nginx-scgi;
  include {d}/gridmap-site.conf;
}}
"
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).unwrap();
    let child = Command::new("/usr/sbin/nginx")
        .arg("-e")
        .arg(dir.join("nginx-stderr.log"))
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(&path)
        .args(["-g", "daemon off;"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nginx (Debian package nginx; `make test` installs it)");
    (child, format!("http://127.0.0.1:{port}"))
}

async fn get(
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    lsn: Option<&str>,
) -> (u16, Option<String>, Value) {
    let mut request = http.get(url);
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    if let Some(l) = lsn {
        request = request.header("x-gridmap-lsn", l);
    }
    let response = request.send().await.expect("an answer");
    let status = response.status().as_u16();
    let read = response
        .headers()
        .get("x-gridmap-read")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = response.text().await.unwrap_or_default();
    (
        status,
        read,
        serde_json::from_str(&body).unwrap_or(Value::Null),
    )
}

/// Renames `code` through `origin`'s drafts API; returns the commit's `X-Gridmap-Lsn`.
async fn rename(
    http: &reqwest::Client,
    origin: &str,
    token: &str,
    code: &str,
    name: &str,
) -> String {
    let draft: Value = serde_json::from_str(
        &http
            .post(format!("{origin}/api/v1/drafts"))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    let id = draft["id"].as_i64().expect("a draft id");
    let put = http
        .put(format!("{origin}/api/v1/drafts/{id}/cells/{code}"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(json!({"type": "Feature", "properties": {"name": name}}).to_string())
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "{}", put.text().await.unwrap());
    let commit = http
        .post(format!("{origin}/api/v1/drafts/{id}/commit"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(json!({"message": name}).to_string())
        .send()
        .await
        .unwrap();
    assert!(commit.status().is_success());
    let lsn = commit
        .headers()
        .get("x-gridmap-lsn")
        .expect("a write answers with its WAL position")
        .to_str()
        .unwrap()
        .to_string();
    let cookie = commit
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        cookie.starts_with(&format!("gridmap_lsn={lsn};")),
        "{cookie}"
    );
    lsn
}

async fn newest_revision_message(
    http: &reqwest::Client,
    origin: &str,
    token: &str,
    lsn: Option<&str>,
) -> (Option<String>, String) {
    let (status, read, body) = get(
        http,
        &format!("{origin}/api/v1/revisions"),
        Some(token),
        lsn,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let newest = body["revisions"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    (read, newest)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_on_a_primary_and_a_standby_behind_nginx_share_commits_events_and_outlive_a_node_and_the_standby()
 {
    let dir = tempfile::Builder::new()
        .prefix("gridmap-replication-")
        .tempdir()
        .unwrap()
        .keep();
    let mut running = Running {
        children: Vec::new(),
        clusters: Vec::new(),
        dir: dir.clone(),
    };
    // The primary, and a hot standby of it made by pg_basebackup.
    let (primary, standby, primary_endpoint, standby_endpoint) = {
        let d = dir.clone();
        tokio::task::spawn_blocking(move || {
            let primary = Cluster::new(&d.join("primary")).expect("PostgreSQL binaries");
            let pe = primary.start().expect("the primary starts");
            let standby = Cluster::new(&d.join("standby")).unwrap();
            standby.init_standby(&pe).expect("pg_basebackup");
            let se = standby.start().expect("the standby starts");
            (primary, standby, pe, se)
        })
        .await
        .unwrap()
    };
    running.clusters.push(standby.clone());
    running.clusters.push(primary.clone());
    {
        let admin = store::connect(&primary_endpoint.config("postgres"))
            .await
            .unwrap();
        store::create_database_if_missing(&admin, store::DATABASE, None)
            .await
            .unwrap();
    }
    let url = |port: u16| format!("postgresql://gridmap@127.0.0.1:{port}/gridmap");
    let (primary_url, standby_url) = (url(primary_endpoint.port), url(standby_endpoint.port));

    let (a, node_a) = node(&primary_url, &standby_url, true);
    running.children.push(a);
    let (b, node_b) = node(&primary_url, &standby_url, false);
    running.children.push(b);
    let (n, balancer) = nginx(&dir, &[&node_a, &node_b]);
    running.children.push(n);

    let mut client = store::connect(&primary_endpoint.config(store::DATABASE))
        .await
        .unwrap();
    let planner = users::add_user(&mut client, "replication-planner", Role::Planner, &[])
        .await
        .unwrap();
    let command = users::add_user(&mut client, "replication-command", Role::Command, &[])
        .await
        .unwrap();
    let standby_client = store::connect(&standby_endpoint.config(store::DATABASE))
        .await
        .unwrap();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let started = Instant::now();
    while get(&http, &format!("{balancer}/health"), None, None)
        .await
        .0
        != 200
    {
        assert!(started.elapsed() < Duration::from_secs(10), "nginx answers");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let code: String = client
        .query_one(
            "SELECT code FROM cells WHERE level = 3 AND valid_to IS NULL ORDER BY code LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);

    // An SSE client on node B.
    let mut events = http
        .get(format!("{node_b}/api/v1/live"))
        .bearer_auth(&command)
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), 200);

    // A commit through node A is served by node B within a second, and B's stream tells of it.
    rename(&http, &node_a, &planner, &code, "经A改名").await;
    let committed = Instant::now();
    loop {
        let (status, _, cell) =
            get(&http, &format!("{node_b}/api/v1/cells/{code}"), None, None).await;
        assert_eq!(status, 200);
        if cell["properties"]["name"] == "经A改名" {
            break;
        }
        assert!(
            committed.elapsed() < Duration::from_secs(1),
            "node B still serves {cell} a second after node A's commit"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut seen = String::new();
    let told = tokio::time::timeout(Duration::from_secs(5), async {
        while !seen.contains("atlas.revision") {
            match events.chunk().await {
                Ok(Some(bytes)) => seen.push_str(&String::from_utf8_lossy(&bytes)),
                _ => break,
            }
        }
    })
    .await;
    assert!(
        told.is_ok() && seen.contains("atlas.revision"),
        "node B's stream told of A's commit: {seen}"
    );

    // Reading one's own writes: with the standby's replay paused, a write through A is not on the
    // standby; B serves a read that carries the write's position from the primary, and one
    // without it from the (lagging) standby.
    standby_client
        .batch_execute("SELECT pg_wal_replay_pause()")
        .await
        .unwrap();
    loop {
        let state: String = standby_client
            .query_one("SELECT pg_get_wal_replay_pause_state()", &[])
            .await
            .unwrap()
            .get(0);
        if state == "paused" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let lsn = rename(&http, &node_a, &planner, &code, "暂停时改名").await;
    let (read, newest) = newest_revision_message(&http, &node_b, &planner, Some(&lsn)).await;
    assert_eq!(read.as_deref(), Some("primary"));
    assert_eq!(
        newest, "暂停时改名",
        "a read carrying the write's position sees it"
    );
    let (read, newest) = newest_revision_message(&http, &node_b, &planner, None).await;
    assert_eq!(read.as_deref(), Some("replica"));
    assert_eq!(
        newest, "经A改名",
        "the paused standby has not replayed the write"
    );
    standby_client
        .batch_execute("SELECT pg_wal_replay_resume()")
        .await
        .unwrap();
    let resumed = Instant::now();
    loop {
        let (read, newest) = newest_revision_message(&http, &node_b, &planner, Some(&lsn)).await;
        if read.as_deref() == Some("replica") {
            assert_eq!(newest, "暂停时改名");
            break;
        }
        assert!(
            resumed.elapsed() < Duration::from_secs(2),
            "the standby serves the position again once replayed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Node A killed: the balancer keeps serving public requests from B, none failing.
    let public = [
        format!("{balancer}/g/{code}"),
        format!("{balancer}/api/v1/cells/{code}/card"),
        format!("{balancer}/api/v1/cells/{code}"),
    ];
    let load = {
        let http = http.clone();
        let public = public.clone();
        tokio::spawn(async move {
            let (mut ok, mut failed) = (0usize, Vec::new());
            let until = Instant::now() + Duration::from_secs(3);
            while Instant::now() < until {
                for url in &public {
                    match http.get(url).send().await {
                        Ok(r) if r.status().is_success() => match r.bytes().await {
                            Ok(_) => ok += 1,
                            Err(e) => failed.push(format!("{url}: cut short: {e}")),
                        },
                        Ok(r) => failed.push(format!("{url}: {}", r.status())),
                        Err(e) => failed.push(format!("{url}: {e}")),
                    }
                }
            }
            (ok, failed)
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let a = &mut running.children[0];
    a.kill().unwrap();
    a.wait().unwrap();
    let (ok, failed) = load.await.unwrap();
    assert!(failed.is_empty(), "failed public requests: {failed:?}");
    assert!(ok > 30, "the load ran ({ok} answers)");
    let (status, _, _) = get(&http, &public[2], None, None).await;
    assert_eq!(status, 200);

    // The standby stopped: node B's reads fall back to the primary.
    tokio::task::spawn_blocking(move || standby.stop().expect("the standby stops"))
        .await
        .unwrap();
    let stopped = Instant::now();
    loop {
        let (status, read, _) =
            get(&http, &format!("{node_b}/api/v1/cells/{code}"), None, None).await;
        if status == 200 && read.as_deref() == Some("primary") {
            break;
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(5),
            "reads leave the stopped standby ({status}, {read:?})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for _ in 0..20 {
        let (status, read, body) = get(
            &http,
            &format!("{balancer}/api/v1/cells/{code}"),
            None,
            None,
        )
        .await;
        assert_eq!((status, read.as_deref()), (200, Some("primary")), "{body}");
        assert_eq!(body["properties"]["name"], "暂停时改名");
    }
    let (status, _, body) = get(
        &http,
        &format!("{balancer}/api/v1/incidents?limit=5"),
        Some(&command),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    drop(running);
}
