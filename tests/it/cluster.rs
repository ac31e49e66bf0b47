//! The embedded cluster through the real binary: start, refuse a second server, share with a
//! command, report a stopped database, reconnect, and stop cleanly on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use gridmap::store::embedded::Cluster;

use crate::harness::binary;

fn get(address: &str, path: &str) -> (u16, serde_json::Value) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("");
    (
        status,
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    )
}

/// Starts `gridmap serve` on a free port; returns the child and its address.
fn start_server(data_dir: &Path) -> (Child, String) {
    let mut child = Command::new(binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(address) = line.strip_prefix("gridmap listening on http://") {
                let _ = send.send(address.to_string());
            }
        }
    });
    let address = receive
        .recv_timeout(Duration::from_secs(120))
        .expect("server starts");
    (child, address)
}

fn run(args: &[&str], data_dir: &Path) -> (bool, String) {
    let output = Command::new(binary())
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("DATABASE_URL")
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

fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn the_embedded_cluster_lives_and_dies_with_its_server() {
    let dir = tempfile::Builder::new()
        .prefix("gridmap-serve-")
        .tempdir()
        .unwrap();
    let data_dir = dir.path();
    let (mut server, address) = start_server(data_dir);
    let (status, body) = get(&address, "/health");
    assert_eq!(
        (status, body["revision"].as_i64()),
        (200, Some(0)),
        "{body}"
    );

    // A second server on the same data directory is refused, clearly, and harms nothing.
    let (ok, out) = run(&["serve", "--listen", "127.0.0.1:0"], data_dir);
    assert!(!ok);
    assert!(out.contains("already running"), "{out}");
    assert_eq!(get(&address, "/health").0, 200);

    // A command shares the running cluster and leaves it running.
    let (ok, out) = run(&["migrate"], data_dir);
    assert!(ok, "{out}");
    assert_eq!(get(&address, "/health").0, 200);

    // The database goes away: health says so with 503; it comes back: the server reconnects.
    let cluster = Cluster::new(data_dir).unwrap();
    cluster.stop().unwrap();
    let (status, body) = get(&address, "/health");
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["database"], "unavailable");
    assert_eq!(get(&address, "/api/v1/cells").0, 503);
    cluster.start().unwrap();
    wait_for("reconnect", || get(&address, "/health").0 == 200);

    // SIGTERM: graceful exit, cluster stopped.
    unsafe { libc::kill(server.id() as i32, libc::SIGTERM) };
    let start = Instant::now();
    let status = loop {
        if let Some(status) = server.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "server did not stop"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "{status}");
    assert!(
        cluster.running().is_none(),
        "cluster still running after SIGTERM"
    );
    assert!(TcpStream::connect(&address).is_err());
}

#[test]
fn a_command_starts_the_cluster_for_itself_and_stops_it_after() {
    let dir = tempfile::Builder::new()
        .prefix("gridmap-cmd-")
        .tempdir()
        .unwrap();
    let (ok, out) = run(&["migrate"], dir.path());
    assert!(ok, "{out}");
    assert!(out.contains("up to date"), "{out}");
    let cluster = Cluster::new(dir.path()).unwrap();
    assert!(cluster.running().is_none());
    assert!(dir.path().join("pg/data/PG_VERSION").exists());
    // Second time: the existing cluster is reused, not re-initialised.
    let (ok, out) = run(&["migrate"], dir.path());
    assert!(ok, "{out}");
}
