//! The embedded PostgreSQL cluster under `<data-dir>/pg/`: created on first use from the system
//! binaries, started on a Unix socket plus a free loopback port, stopped cleanly. It owns the
//! cluster's life and never touches a cluster it did not create.
//!
//! Two lock files make concurrent use safe: `cluster.lock` is held while deciding to start or stop
//! the cluster, and `serve.lock` is held for the whole life of a `gridmap serve`, so a second
//! `serve` fails at once and a one-off command never stops a cluster a server is using.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Failures of the embedded cluster, each with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(
        "PostgreSQL server binaries not found (looked in {0}); run `make run` or install postgresql-15"
    )]
    BinariesMissing(String),
    #[error(
        "another `gridmap serve` is already running with data directory {0}; stop it first or use --data-dir"
    )]
    AlreadyServing(PathBuf),
    #[error(
        "the system user `postgres` is needed to run PostgreSQL as root, but it does not exist; install postgresql-15"
    )]
    NoPostgresUser,
    #[error("{what} failed ({status}); see {log}:\n{output}")]
    Command {
        what: String,
        status: String,
        log: String,
        output: String,
    },
    #[error("I/O error on {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> EmbeddedError + '_ {
    move |source| EmbeddedError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Where a running cluster listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub socket_dir: PathBuf,
    pub port: u16,
}

impl Endpoint {
    /// A connection config for `dbname` as the cluster's superuser `gridmap`, over the socket.
    pub fn config(&self, dbname: &str) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        config
            .host_path(&self.socket_dir)
            .port(self.port)
            .user(SUPERUSER)
            .dbname(dbname)
            .application_name("gridmap");
        config
    }
}

/// The superuser initdb creates; trust authentication, reachable only on loopback and the socket.
pub const SUPERUSER: &str = "gridmap";

/// A private cluster rooted at `<data-dir>/pg`.
#[derive(Debug, Clone)]
pub struct Cluster {
    root: PathBuf,
    bin_dir: PathBuf,
    /// `Some((uid, gid))` of `postgres` when we are root: PostgreSQL refuses to run as root.
    run_as: Option<(u32, u32)>,
}

impl Cluster {
    /// Locates the PostgreSQL binaries and decides which user runs the server.
    pub fn new(data_dir: &Path) -> Result<Self, EmbeddedError> {
        let bin_dir = find_bin_dir()?;
        let run_as = if unsafe { libc::geteuid() } == 0 {
            Some(postgres_user().ok_or(EmbeddedError::NoPostgresUser)?)
        } else {
            None
        };
        let data_dir = if data_dir.is_absolute() {
            data_dir.to_path_buf()
        } else {
            std::env::current_dir()
                .map_err(io_err(data_dir))?
                .join(data_dir)
        };
        Ok(Cluster {
            root: data_dir.join("pg"),
            bin_dir,
            run_as,
        })
    }

    pub fn pgdata(&self) -> PathBuf {
        self.root.join("data")
    }
    pub fn socket_dir(&self) -> PathBuf {
        self.root.join("run")
    }
    pub fn log_file(&self) -> PathBuf {
        self.root.join("postgresql.log")
    }
    fn data_dir(&self) -> &Path {
        self.root.parent().unwrap_or(&self.root)
    }

    /// Creates the cluster the first time (initdb); a no-op when it exists.
    pub fn init(&self) -> Result<(), EmbeddedError> {
        if self.pgdata().join("PG_VERSION").exists() {
            return Ok(());
        }
        self.prepare_dirs()?;
        let pgdata = self.pgdata();
        self.run(
            "initdb",
            &[
                "-D",
                path_str(&pgdata),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-instructions",
            ],
        )
    }

    /// Creates the cluster as a hot standby of `primary` (PostgreSQL's `pg_basebackup -R`:
    /// streaming replication, `standby.signal` written), so `start` runs it as a read-only
    /// replica that follows the primary. For deployments of several nodes and their tests.
    pub fn init_standby(&self, primary: &Endpoint) -> Result<(), EmbeddedError> {
        if self.pgdata().join("PG_VERSION").exists() {
            return Ok(());
        }
        self.prepare_dirs()?;
        let pgdata = self.pgdata();
        let port = primary.port.to_string();
        self.run(
            "pg_basebackup",
            &[
                "-D",
                path_str(&pgdata),
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                SUPERUSER,
                "-X",
                "stream",
                "-R",
                "--checkpoint=fast",
            ],
        )
    }

    fn prepare_dirs(&self) -> Result<(), EmbeddedError> {
        for dir in [
            self.data_dir().to_path_buf(),
            self.root.clone(),
            self.socket_dir(),
        ] {
            fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        }
        // The server user must be able to reach its directories through ours.
        let public = fs::Permissions::from_mode(0o755);
        fs::set_permissions(self.data_dir(), public.clone()).map_err(io_err(self.data_dir()))?;
        fs::set_permissions(&self.root, public).map_err(io_err(&self.root))?;
        if let Some((uid, gid)) = self.run_as {
            for dir in [self.root.clone(), self.socket_dir()] {
                std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).map_err(io_err(&dir))?;
            }
        }
        Ok(())
    }

    /// The endpoint of the cluster if its postmaster is alive (read from `postmaster.pid`).
    pub fn running(&self) -> Option<Endpoint> {
        let text = fs::read_to_string(self.pgdata().join("postmaster.pid")).ok()?;
        let lines: Vec<&str> = text.lines().collect();
        let pid: i32 = lines.first()?.trim().parse().ok()?;
        let alive = unsafe { libc::kill(pid, 0) } == 0
            || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
        if !alive {
            return None;
        }
        let port: u16 = lines.get(3)?.trim().parse().ok()?;
        let socket_dir = PathBuf::from(lines.get(4)?.trim());
        Some(Endpoint { socket_dir, port })
    }

    /// Starts the cluster on a free loopback port and waits until it accepts connections.
    pub fn start(&self) -> Result<Endpoint, EmbeddedError> {
        self.init()?;
        // Reuse the last port when it is free, so servers reconnect after a cluster restart.
        let port_file = self.root.join("port");
        let previous = fs::read_to_string(&port_file)
            .ok()
            .and_then(|p| p.trim().parse::<u16>().ok())
            .filter(|p| TcpListener::bind(("127.0.0.1", *p)).is_ok());
        let port = match previous {
            Some(port) => port,
            None => free_port().map_err(io_err(Path::new("127.0.0.1:0")))?,
        };
        fs::write(&port_file, port.to_string()).map_err(io_err(&port_file))?;
        let socket_dir = self.socket_dir();
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k {} -c unix_socket_permissions=0777 -c fsync=on",
            path_str(&socket_dir)
        );
        let pgdata = self.pgdata();
        let log = self.log_file();
        self.run(
            "pg_ctl",
            &[
                "-D",
                path_str(&pgdata),
                "-l",
                path_str(&log),
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        )?;
        Ok(Endpoint { socket_dir, port })
    }

    /// Stops the cluster (fast shutdown: open transactions roll back, data is flushed).
    pub fn stop(&self) -> Result<(), EmbeddedError> {
        if self.running().is_none() {
            return Ok(());
        }
        let pgdata = self.pgdata();
        self.run(
            "pg_ctl",
            &[
                "-D",
                path_str(&pgdata),
                "-m",
                "fast",
                "-w",
                "-t",
                "60",
                "stop",
            ],
        )
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<(), EmbeddedError> {
        let binary = self.bin_dir.join(program);
        let mut command = if self.run_as.is_some() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&binary);
            c
        } else {
            Command::new(&binary)
        };
        command.args(args).current_dir(&self.root);
        // A PROJ or locale setting of the caller must not leak into the server.
        command.env_remove("PGDATA").env("LC_ALL", "C.UTF-8");
        let output = command.output().map_err(io_err(&binary))?;
        if output.status.success() {
            return Ok(());
        }
        Err(EmbeddedError::Command {
            what: format!("{program} {}", args.join(" ")),
            status: output.status.to_string(),
            log: self.log_file().display().to_string(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        })
    }
}

/// A cluster in use by this process. `release` stops it when this process started it and no
/// server still needs it.
#[derive(Debug)]
pub struct Lease {
    cluster: Cluster,
    pub endpoint: Endpoint,
    started_here: bool,
    serve_lock: Option<File>,
}

impl Lease {
    /// For `gridmap serve`: refuses when another server holds the data directory, starts the
    /// cluster unless it already runs, and keeps the serve lock until `release`.
    pub fn for_server(data_dir: &Path) -> Result<Lease, EmbeddedError> {
        let cluster = Cluster::new(data_dir)?;
        let serve_lock = lock_file(cluster.data_dir(), "serve.lock")?;
        match serve_lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(EmbeddedError::AlreadyServing(
                    cluster.data_dir().to_path_buf(),
                ));
            }
            Err(fs::TryLockError::Error(e)) => return Err(io_err(cluster.data_dir())(e)),
        }
        let mut lease = Self::acquire(cluster)?;
        lease.serve_lock = Some(serve_lock);
        Ok(lease)
    }

    /// For one-off commands: connect to the running cluster, or start it for this command.
    pub fn for_command(data_dir: &Path) -> Result<Lease, EmbeddedError> {
        Self::acquire(Cluster::new(data_dir)?)
    }

    fn acquire(cluster: Cluster) -> Result<Lease, EmbeddedError> {
        fs::create_dir_all(cluster.data_dir()).map_err(io_err(cluster.data_dir()))?;
        let guard = lock_file(cluster.data_dir(), "cluster.lock")?;
        guard.lock().map_err(io_err(cluster.data_dir()))?;
        let (endpoint, started_here) = match cluster.running() {
            Some(endpoint) => (endpoint, false),
            None => (cluster.start()?, true),
        };
        drop(guard);
        Ok(Lease {
            cluster,
            endpoint,
            started_here,
            serve_lock: None,
        })
    }

    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// Stops the cluster if this process should: a server always stops it on exit; a command
    /// only when it started the cluster and no server has adopted it meanwhile.
    pub fn release(self) -> Result<(), EmbeddedError> {
        let guard = lock_file(self.cluster.data_dir(), "cluster.lock")?;
        guard.lock().map_err(io_err(self.cluster.data_dir()))?;
        let should_stop = if self.serve_lock.is_some() {
            true
        } else if self.started_here {
            let serve_lock = lock_file(self.cluster.data_dir(), "serve.lock")?;
            serve_lock.try_lock().is_ok()
        } else {
            false
        };
        if should_stop {
            self.cluster.stop()?;
        }
        Ok(())
    }
}

fn lock_file(dir: &Path, name: &str) -> Result<File, EmbeddedError> {
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let path = dir.join(name);
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_err(&path))
}

fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap_or_default()
}

/// The newest `/usr/lib/postgresql/N/bin`, or `GRIDMAP_PG_BIN`.
fn find_bin_dir() -> Result<PathBuf, EmbeddedError> {
    if let Ok(dir) = std::env::var("GRIDMAP_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let base = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir(base)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("pg_ctl").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, p)| p)
        .ok_or_else(|| EmbeddedError::BinariesMissing(base.display().to_string()))
}

fn postgres_user() -> Option<(u32, u32)> {
    let name = std::ffi::CString::new("postgres").ok()?;
    // SAFETY: getpwnam returns a pointer to static storage or null; we copy the ids out at once.
    let entry = unsafe { libc::getpwnam(name.as_ptr()) };
    if entry.is_null() {
        return None;
    }
    let entry = unsafe { &*entry };
    Some((entry.pw_uid, entry.pw_gid))
}
