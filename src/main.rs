//! The `gridmap` command line: serve, migrate, import, demo, user.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use gridmap::codec::{self, cells::parse_cells, registry::Kind};
use gridmap::demo;
use gridmap::domain::role::Role;
use gridmap::geometry::coverage;
use gridmap::geometry::crs::Crs;
use gridmap::http::{self, AppState};
use gridmap::store::{self, open::Purpose};

#[derive(Parser)]
#[command(
    name = "gridmap",
    version,
    about = "Community governance grids (网格化管理) on PostGIS"
)]
struct Cli {
    /// Where the embedded PostgreSQL cluster and lock files live (unused with DATABASE_URL).
    #[arg(long, global = true, env = "GRIDMAP_DATA_DIR", default_value = "var")]
    data_dir: PathBuf,
    /// Use this PostgreSQL/PostGIS server instead of the embedded cluster.
    #[arg(long, global = true, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Hot-standby replicas of DATABASE_URL for reads that may lag (comma-separated URLs); a
    /// request that wrote reads its own writes (see the README, "Several nodes").
    #[arg(
        long,
        global = true,
        env = "DATABASE_REPLICA_URLS",
        hide_env_values = true,
        value_delimiter = ','
    )]
    database_replica_urls: Vec<String>,
    /// A TOML configuration file (keys: web_dir, holidays_dir, tile_cache_mb, tile_cache, band);
    /// `GRIDMAP_*` variables override it and the flags below override both.
    #[arg(long, global = true, env = "GRIDMAP_CONFIG")]
    config: Option<PathBuf>,
    /// The static pages directory (else GRIDMAP_WEB_DIR, the file, `web`).
    #[arg(long, global = true)]
    web_dir: Option<PathBuf>,
    /// The working-day calendar directory (else GRIDMAP_HOLIDAYS_DIR, the file, `data/holidays`).
    #[arg(long, global = true)]
    holidays_dir: Option<PathBuf>,
    /// The tile cache's budget in MB (else GRIDMAP_TILE_CACHE_MB, the file, 256).
    #[arg(long, global = true)]
    tile_cache_mb: Option<u64>,
    /// The grid size band TARGET:MIN-MAX:MIN-MAX households/people (else GRIDMAP_BAND, the file).
    #[arg(long, global = true)]
    band: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the HTTP server (migrates first; stops the embedded cluster on SIGINT/SIGTERM).
    Serve {
        #[arg(long, env = "GRIDMAP_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        /// Load the demo deployment from this directory when the atlas is empty.
        #[arg(long)]
        demo: Option<PathBuf>,
    },
    /// Apply pending database migrations.
    Migrate,
    /// Import data: cells all or nothing; buildings and households row by row with a report.
    Import {
        #[command(subcommand)]
        what: Import,
    },
    /// Write the deterministic demo deployment (湄潭县) into a directory.
    Demo {
        #[arg(long, default_value = "data/demo")]
        out: PathBuf,
        /// The official village list with codes and names.
        #[arg(
            long,
            default_value = "../shared/data/divisions/villages_52_guizhou.csv"
        )]
        divisions: PathBuf,
    },
    /// Write a synthetic atlas at a real size as a cells GeoJSON, for benchmarks against peers: a
    /// jittered lattice of grids in villages, townships and counties (`county`: the 10,000-grid
    /// county of the tile comparison; `province`: 200,000 grids in 2,000 villages).
    Synth {
        #[arg(value_enum)]
        size: SynthSize,
        #[arg(long)]
        out: PathBuf,
    },
    /// Check that cells cover their parents exactly (no gap, no overlap, nothing outside, valid
    /// polygons, shared edges). Exit status 1 when anything is violated, 2 when unreadable.
    Validate {
        file: PathBuf,
        /// Parent cells, when they are not in FILE.
        #[arg(long)]
        parents: Option<PathBuf>,
        /// Print the full report as JSON.
        #[arg(long)]
        json: bool,
        /// How codes relate: strict (gridmap's 6/9/12/15/19 digits), prefix (child starts with parent), free.
        #[arg(long, default_value = "strict")]
        codes: CodesArg,
        /// The property holding the cell code (falls back to the feature's `id`).
        #[arg(long, default_value = "code")]
        code_property: String,
        /// Gaps/overlaps thinner than this many metres are reported as edge_mismatch slivers.
        #[arg(long, default_value_t = 1.0)]
        sliver_width: f64,
        /// Repair: snap vertices within this many metres of a neighbour's vertex or edge (needs -o).
        #[arg(long)]
        snap: Option<f64>,
        /// Where to write the snapped file (the input is never changed).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Manage API users.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// The working-day calendar (holidays and make-up working days).
    Calendar {
        #[command(subcommand)]
        action: CalendarAction,
    },
    /// Sources that post signed reports to `POST /api/v1/intake/{source}` (12345, video alarms).
    Intake {
        #[command(subcommand)]
        action: IntakeAction,
    },
}

#[derive(Subcommand)]
enum IntakeAction {
    /// Add a source (or give it a new secret); prints the secret alone on the last line.
    Add {
        source: String,
        /// The incident source its reports are shown as.
        #[arg(long, default_value = "12345 热线")]
        label: String,
        /// Their category code and ours, e.g. `--map 0301=0201` (repeatable).
        #[arg(long = "map")]
        map: Vec<String>,
        /// Where results are to be pushed back.
        #[arg(long)]
        callback: Option<String>,
    },
}

#[derive(Subcommand)]
enum CalendarAction {
    /// Load a year's national schedule (or a local overlay) into the database, in the shape of
    /// data/holidays/YYYY.json; re-dates open incidents and every server reloads.
    Import {
        file: PathBuf,
        /// The document's name (a second import under the same name replaces it); default: the
        /// file's name without extension.
        #[arg(long)]
        name: Option<String>,
    },
    /// Show how far the calendar reaches.
    Status,
}

/// The synthetic atlases `gridmap synth` writes.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum SynthSize {
    County,
    Province,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum CodesArg {
    Strict,
    Prefix,
    Free,
}

#[derive(Subcommand)]
enum Import {
    /// A GeoJSON FeatureCollection of cells (properties code, name, level, parent, kind) as one new revision.
    Cells {
        file: PathBuf,
        #[arg(long, default_value = "gridmap import")]
        author: String,
        #[arg(long, short)]
        message: Option<String>,
    },
    /// Buildings (房) from CSV (UTF-8 or GB18030, header row in Chinese or English) or GeoJSON
    /// Points: each placed in its grid. Prints a report per row.
    Buildings {
        file: PathBuf,
        #[command(flatten)]
        options: RegistryImportArgs,
    },
    /// Households (户) from CSV or GeoJSON: placed by their coordinates, or matched to a building
    /// by id or door plate. Prints a report per row.
    Households {
        file: PathBuf,
        #[command(flatten)]
        options: RegistryImportArgs,
    },
    /// Staff (网格长, 网格员 …) from an .xlsx workbook or a CSV (UTF-8 or GB18030): columns at
    /// least 姓名, 角色, 网格编码 (电话, 公开同意 是/否 …). Every good row is written; exit 1 when a
    /// row was not.
    Staff {
        file: PathBuf,
        /// Also write the whole per-row report as JSON to this file.
        #[arg(long)]
        report: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
struct RegistryImportArgs {
    /// CRS of the coordinates: wgs84, cgcs2000, gcj02, bd09, or a CGCS2000 Gauss-Krüger zone EPSG:4513–4554.
    #[arg(long, default_value = "cgcs2000")]
    crs: String,
    /// Write nothing unless every row can be written (default: write the good rows).
    #[arg(long)]
    all_or_nothing: bool,
    /// Also write the whole per-row report as JSON to this file.
    #[arg(long)]
    report: Option<PathBuf>,
}

#[derive(Subcommand)]
enum UserAction {
    /// Create a user; prints the new bearer token alone on the last line (shown only once).
    Add {
        name: String,
        #[arg(long)]
        role: Role,
        /// The cells (codes, comma-separated) this user is responsible for.
        #[arg(long, value_delimiter = ',')]
        cells: Vec<String>,
        /// The token stops working after this long: e.g. 90d, 12h, 30m (default: never).
        #[arg(long)]
        expires: Option<String>,
        /// The department (its code) of a user with role department.
        #[arg(long)]
        department: Option<String>,
    },
    /// Revoke tokens at once: all of a user's (by NAME) or one (by the token or its beginning).
    Revoke {
        /// A user's name, a token, or a token's first characters (gm_ and at least 4 more).
        what: String,
    },
    /// List tokens: user, role, first characters, created, last used, expiry, revoked.
    Tokens,
    /// A one-time 8-digit code (valid 10 minutes) a phone exchanges for its own device token at
    /// `/field`; printed alone on the last line. A new NAME is created as a worker of --cells.
    Pair {
        name: String,
        /// For a new user: the grids (codes, comma-separated) the worker is responsible for.
        #[arg(long, value_delimiter = ',')]
        cells: Vec<String>,
    },
}

/// `90d`, `12h`, `30m` as a duration.
fn parse_expiry(text: &str) -> Result<chrono::TimeDelta, String> {
    let text = text.trim();
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let n: i64 = number
        .parse()
        .ok()
        .filter(|n| *n > 0 && *n <= 100_000)
        .ok_or_else(|| {
            format!("--expires {text:?}: give a positive number and a unit, e.g. 90d, 12h, 30m")
        })?;
    match unit {
        "d" => Ok(chrono::TimeDelta::days(n)),
        "h" => Ok(chrono::TimeDelta::hours(n)),
        "m" => Ok(chrono::TimeDelta::minutes(n)),
        _ => Err(format!("--expires {text:?}: the unit is d, h or m")),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Validate {
        file,
        parents,
        json,
        codes,
        code_property,
        sliver_width,
        snap,
        output,
    } = &cli.command
    {
        let options = coverage::Options {
            code_rules: match codes {
                CodesArg::Strict => coverage::CodeRules::Strict,
                CodesArg::Prefix => coverage::CodeRules::Prefix,
                CodesArg::Free => coverage::CodeRules::Free,
            },
            sliver_width_m: *sliver_width,
            ..coverage::Options::default()
        };
        let repair = match (snap, output) {
            (Some(t), Some(out)) if t.is_finite() && *t > 0.0 => Some((*t, out.as_path())),
            (None, None) => None,
            (Some(_), Some(_)) => {
                eprintln!("error: --snap needs a tolerance in metres greater than 0");
                return ExitCode::from(2);
            }
            _ => {
                eprintln!(
                    "error: --snap and -o OUT go together: repair writes a new file, never the input"
                );
                return ExitCode::from(2);
            }
        };
        return validate_file(
            file,
            parents.as_deref(),
            *json,
            code_property,
            &options,
            repair,
        );
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("GRIDMAP_LOG")
                .unwrap_or_else(|_| "gridmap=info,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    // An empty DATABASE_URL means "not set": use the embedded cluster.
    let url = cli.database_url.as_deref().filter(|u| !u.trim().is_empty());
    // The one configuration: defaults < --config file < GRIDMAP_* < flags (see the README's
    // table); passed down.
    let config = gridmap::config::Config::load(
        cli.config.as_deref(),
        |name| std::env::var(name).ok(),
        &gridmap::config::Flags {
            web_dir: cli.web_dir.clone(),
            holidays_dir: cli.holidays_dir.clone(),
            tile_cache_mb: cli.tile_cache_mb,
            band: cli.band.clone(),
        },
    )?;
    let config = gridmap::config::Config {
        photos_dir: cli.data_dir.join("photos"),
        ..config
    };
    match cli.command {
        Command::Serve { listen, demo } => {
            let replicas: Vec<&str> = cli
                .database_replica_urls
                .iter()
                .map(|u| u.trim())
                .filter(|u| !u.is_empty())
                .collect();
            serve(
                url,
                &replicas,
                &cli.data_dir,
                &listen,
                demo.as_deref(),
                config,
            )
            .await
        }
        Command::Migrate => {
            with_database(url, &cli.data_dir, |_client| async {
                Ok("database is up to date".to_string())
            })
            .await
        }
        Command::Import {
            what:
                Import::Cells {
                    file,
                    author,
                    message,
                },
        } => {
            let text =
                std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let cells = parse_cells(&text)
                .map_err(|e| format!("{}: {e}; nothing was imported", file.display()))?;
            let message = message.unwrap_or_else(|| format!("import {}", file.display()));
            with_database(url, &cli.data_dir, |mut client| async move {
                gridmap::app::planning::import_cells(&mut client, &cells, &author, &message)
                    .await
                    .map(|(revision, cells)| {
                        format!("imported {cells} cells as revision {revision}")
                    })
                    .map_err(|e| format!("{}: {e}; nothing was imported", file.display()))
            })
            .await
        }
        Command::Import {
            what: Import::Buildings { file, options },
        } => import_registry(url, &cli.data_dir, Kind::Buildings, &file, options).await,
        Command::Import {
            what: Import::Households { file, options },
        } => import_registry(url, &cli.data_dir, Kind::Households, &file, options).await,
        Command::Import {
            what: Import::Staff { file, report },
        } => import_staff(url, &cli.data_dir, &file, report.as_deref()).await,
        Command::Demo { out, divisions } => {
            let names = demo::files::read_division_names(&divisions).map_err(|e| e.to_string())?;
            let generated = demo::generate::generate(&names).map_err(|e| e.to_string())?;
            demo::files::write(&generated, &out).map_err(|e| e.to_string())?;
            println!(
                "wrote {} cells, {} buildings, {} households, {} staff to {}",
                generated.cells.len(),
                generated.buildings.len(),
                generated.households.len(),
                generated.staff.len(),
                out.display()
            );
            Ok(())
        }
        Command::Synth { size, out } => {
            let spec = match size {
                SynthSize::County => demo::synthetic::Spec::county(),
                SynthSize::Province => demo::synthetic::Spec::province(),
            };
            let fc = demo::synthetic::geojson(&spec).map_err(|e| e.to_string())?;
            let n = fc["features"].as_array().map_or(0, Vec::len);
            std::fs::write(&out, fc.to_string()).map_err(|e| format!("{}: {e}", out.display()))?;
            println!("wrote {n} cells to {}", out.display());
            Ok(())
        }
        Command::Validate { .. } => Err("validate runs without a database".into()),
        Command::User {
            action:
                UserAction::Add {
                    name,
                    role,
                    cells,
                    expires,
                    department,
                },
        } => {
            match (role, &department) {
                (Role::Department, Some(code)) => {
                    if expires.is_some() || !cells.is_empty() {
                        return Err(
                            "a department user takes --department only (no --cells, no --expires)"
                                .into(),
                        );
                    }
                    let code = code.clone();
                    return with_database(url, &cli.data_dir, |mut client| async move {
                        let token = gridmap::app::departments::add_user(&mut client, &name, &code)
                            .await
                            .map_err(|e| e.to_string())?;
                        Ok(format!(
                            "created user {name} of department {code}; its token (shown only now):\n{token}"
                        ))
                    })
                    .await;
                }
                (Role::Department, None) => {
                    return Err("--role department needs --department CODE".into());
                }
                (_, Some(_)) => return Err("--department is for --role department".into()),
                _ => {}
            }
            let expires_at = expires
                .as_deref()
                .map(parse_expiry)
                .transpose()?
                .map(|d| chrono::Utc::now() + d);
            with_database(url, &cli.data_dir, |mut client| async move {
                let token =
                    store::users::add_user_expiring(&mut client, &name, role, &cells, expires_at)
                        .await
                        .map_err(|e| e.to_string())?;
                let until = expires_at
                    .map(|t| format!(", valid until {}", t.to_rfc3339()))
                    .unwrap_or_default();
                Ok(format!(
                    "created user {name} with role {role}{until}; its token (shown only now):\n{token}"
                ))
            })
            .await
        }
        Command::Intake {
            action:
                IntakeAction::Add {
                    source,
                    label,
                    map,
                    callback,
                },
        } => {
            const LABELS: [&str; 3] = ["12345 热线", "视频", "群众"];
            if !LABELS.contains(&label.as_str()) {
                return Err(format!("--label {label:?}: use {}", LABELS.join(", ")));
            }
            let mut pairs = std::collections::BTreeMap::new();
            for m in &map {
                let (theirs, ours) = m
                    .split_once('=')
                    .filter(|(a, b)| !a.trim().is_empty() && !b.trim().is_empty())
                    .ok_or_else(|| format!("--map {m:?}: write THEIRS=OURS, e.g. 0301=0201"))?;
                pairs.insert(theirs.trim().to_string(), ours.trim().to_string());
            }
            with_database(url, &cli.data_dir, |client| async move {
                let secret =
                    gridmap::app::intake::add_source(&client, &source, &label, pairs, callback)
                        .await
                        .map_err(|e| e.to_string())?;
                Ok(format!(
                    "intake source {source} ({label}): the platform signs each POST /api/v1/intake/{source} with this secret (`intake add` again gives a new one):\n{secret}"
                ))
            })
            .await
        }
        Command::Calendar {
            action: CalendarAction::Import { file, name },
        } => {
            let text =
                std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let document: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
                format!(
                    "{}: line {} column {}: {e}",
                    file.display(),
                    e.line(),
                    e.column()
                )
            })?;
            let name = name.unwrap_or_else(|| {
                file.file_stem()
                    .map(|s| s.to_string_lossy().to_string())
                    .unwrap_or_else(|| "calendar".into())
            });
            with_database(url, &cli.data_dir, |mut client| async move {
                let loaded = gridmap::app::calendar::import(
                    &mut client,
                    &config.holidays_dir,
                    &name,
                    &document,
                    "gridmap calendar import",
                    chrono::Utc::now(),
                )
                .await
                .map_err(|e| e.to_string())?;
                Ok(format!(
                    "loaded {} ({}{} holidays, {} make-up working days); calendar covered until {}{}; {} open incident deadline(s) re-dated",
                    loaded.name,
                    loaded.year.map(|y| format!("{y}: ")).unwrap_or_default(),
                    loaded.holidays,
                    loaded.workdays,
                    loaded
                        .calendar
                        .covered_until
                        .map(|d| d.to_string())
                        .unwrap_or_else(|| "-".into()),
                    if loaded.calendar.ok { "" } else { " (less than 60 days ahead)" },
                    loaded.deadlines_moved
                ))
            })
            .await
        }
        Command::Calendar {
            action: CalendarAction::Status,
        } => {
            with_database(url, &cli.data_dir, |client| async move {
                let calendar = gridmap::app::calendar::current(&client, &config.holidays_dir)
                    .await
                    .map_err(|e| e.to_string())?;
                let status = gridmap::app::calendar::status_now(&calendar);
                Ok(format!(
                    "covered until {}: {}",
                    status
                        .covered_until
                        .map(|d| d.to_string())
                        .unwrap_or_else(|| "-".into()),
                    if status.ok {
                        "ok"
                    } else {
                        "load the next year (less than 60 days ahead)"
                    }
                ))
            })
            .await
        }
        Command::User {
            action: UserAction::Revoke { what },
        } => {
            with_database(url, &cli.data_dir, |client| async move {
                let revoked = store::users::revoke(&client, &what)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(revoked
                    .iter()
                    .map(|t| {
                        format!(
                            "revoked token {} ({}…) of {}",
                            t.id,
                            t.prefix.as_deref().unwrap_or("?"),
                            t.user
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n"))
            })
            .await
        }
        Command::User {
            action: UserAction::Pair { name, cells },
        } => {
            with_database(url, &cli.data_dir, |mut client| async move {
                let existing = store::fieldwork::user_by_name(&client, &name)
                    .await
                    .map_err(|e| e.to_string())?;
                let (user, note) = match existing {
                    Some(u) => {
                        let note = if cells.is_empty() || cells == u.cells {
                            String::new()
                        } else {
                            format!(" (an existing user: its cells stay {})", u.cells.join(","))
                        };
                        (u, note)
                    }
                    None => {
                        if cells.is_empty() {
                            return Err(format!(
                                "no user named {name:?}; give --cells to create the worker"
                            ));
                        }
                        store::users::add_user(&mut client, &name, Role::Worker, &cells)
                            .await
                            .map_err(|e| e.to_string())?;
                        // The new user's bearer token is never shown: the phone gets its own.
                        store::users::revoke(&client, &name)
                            .await
                            .map_err(|e| e.to_string())?;
                        let u = store::fieldwork::user_by_name(&client, &name)
                            .await
                            .map_err(|e| e.to_string())?
                            .ok_or("the user vanished")?;
                        (u, format!(" (created worker of {})", cells.join(",")))
                    }
                };
                let (code, expires) = gridmap::app::fieldwork::pairing_code(
                    &client,
                    &user,
                    "gridmap user pair",
                    chrono::Utc::now(),
                )
                .await
                .map_err(|e| e.to_string())?;
                Ok(format!(
                    "pairing code for {}{note}, valid until {} (enter it at /field):\n{code}",
                    user.name,
                    expires
                        .with_timezone(&gridmap::domain::calendar::china())
                        .format("%H:%M")
                ))
            })
            .await
        }
        Command::User {
            action: UserAction::Tokens,
        } => {
            with_database(url, &cli.data_dir, |client| async move {
                let tokens = store::users::tokens(&client)
                    .await
                    .map_err(|e| e.to_string())?;
                let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
                    t.map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                        .unwrap_or_else(|| "-".into())
                };
                let mut out =
                    String::from("id\tuser\trole\tprefix\tcreated\tlast used\texpires\trevoked");
                for t in tokens {
                    out.push_str(&format!(
                        "\n{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                        t.id,
                        t.user,
                        t.role,
                        t.prefix.as_deref().unwrap_or("-"),
                        time(Some(t.created_at)),
                        time(t.last_used_at),
                        time(t.expires_at),
                        time(t.revoked_at)
                    ));
                }
                Ok(out)
            })
            .await
        }
    }
}

/// `gridmap validate`: no database needed; exit 0 valid, 1 violated, 2 unreadable.
fn validate_file(
    file: &Path,
    parents: Option<&Path>,
    json: bool,
    code_property: &str,
    options: &coverage::Options,
    repair: Option<(f64, &Path)>,
) -> ExitCode {
    let read = |path: &Path| -> Result<Vec<coverage::CoverageCell>, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        coverage::cells_from_geojson(&text, code_property)
            .map_err(|e| format!("{}: {e}", path.display()))
    };
    let mut cells = match read(file) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some((tolerance_m, out)) = repair {
        let snapped = gridmap::geometry::snap::snap(&mut cells, tolerance_m);
        let written = std::fs::read_to_string(file)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).map_err(|e| e.to_string()))
            .and_then(|mut collection| {
                gridmap::geometry::snap::write_back(&mut collection, &cells);
                std::fs::write(out, collection.to_string())
                    .map_err(|e| format!("{}: {e}", out.display()))
            });
        if let Err(e) = written {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
        eprintln!(
            "snapped within {tolerance_m} m: {} vertices moved (at most {:.3} m), {} inserted into neighbours' edges, {} duplicates removed; wrote {}",
            snapped.moved,
            snapped.max_move_m,
            snapped.inserted,
            snapped.removed,
            out.display()
        );
    }
    let parent_cells = match parents.map(read).transpose() {
        Ok(p) => p.unwrap_or_default(),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let report = coverage::validate(&cells, &parent_cells, options);
    if json {
        println!("{}", report.to_json());
    } else {
        println!(
            "{} cells, {} parents: {}",
            cells.len(),
            parent_cells.len(),
            report.summary(20)
        );
    }
    if report.valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Runs `work` with one connection to the (embedded or external) database, then releases it.
/// `gridmap import buildings|households`: the per-row report on stdout, progress on stderr.
async fn import_registry(
    url: Option<&str>,
    data_dir: &Path,
    kind: Kind,
    file: &Path,
    options: RegistryImportArgs,
) -> Result<(), String> {
    let crs = Crs::parse(&options.crs).ok_or_else(|| {
        format!(
            "--crs {}: use wgs84, cgcs2000, gcj02, bd09 or EPSG:4513–4554",
            options.crs
        )
    })?;
    let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let name = file.display().to_string();
    with_database(url, data_dir, |mut client| async move {
        let (revision, cells) = store::cells::load_current(&client)
            .await
            .map_err(|e| e.to_string())?;
        let atlas = gridmap::atlas::Atlas::new(revision, cells);
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{msg:>8} [{bar:30}] {pos}/{len} rows")
                .map_err(|e| e.to_string())?,
        );
        let progress = |phase: &str, done: usize, total: usize| {
            bar.set_message(phase.to_string());
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        };
        let report = gridmap::app::registry::import(
            &mut client,
            &atlas,
            kind,
            &bytes,
            crs,
            options.all_or_nothing,
            &progress,
        )
        .await
        .map_err(|e| format!("{name}: {e}; nothing was imported"))?;
        bar.finish_and_clear();
        if let Some(path) = &options.report {
            let json = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
            std::fs::write(path, json).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        let t = &report.tally;
        let mut lines = vec![format!(
            "{name} ({}, {}): {} rows — {} placed, {} matched by address, {} ambiguous, {} rejected",
            report.encoding, report.crs, t.rows, t.placed, t.matched, t.ambiguous, t.rejected
        )];
        for row in report.report.iter().filter(|r| !r.writable()).take(50) {
            let what = match &row.status {
                codec::place::Status::Ambiguous { candidates } => format!(
                    "ambiguous: {} buildings carry this door plate ({})",
                    candidates.len(),
                    candidates.iter().map(|c| c.address.as_str()).collect::<Vec<_>>().join("; ")
                ),
                codec::place::Status::Rejected { reason } => format!("rejected: {reason}"),
                _ => continue,
            };
            lines.push(format!("  line {}: {what}", row.line));
        }
        if t.ambiguous + t.rejected > 50 {
            lines.push(format!("  … and {} more (see --report)", t.ambiguous + t.rejected - 50));
        }
        match &report.written {
            Some(w) => lines.push(format!(
                "written: {} buildings, {} households ({} new buildings) in one transaction",
                w.buildings, w.households, w.new_buildings
            )),
            None => lines.push("nothing was imported (--all-or-nothing)".to_string()),
        }
        let text = lines.join("\n");
        if t.ambiguous + t.rejected > 0 {
            Err(text)
        } else {
            Ok(text)
        }
    })
    .await
}

async fn import_staff(
    url: Option<&str>,
    data_dir: &Path,
    file: &Path,
    report_path: Option<&Path>,
) -> Result<(), String> {
    let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let name = file.display().to_string();
    with_database(url, data_dir, |mut client| async move {
        let (revision, cells) = store::cells::load_current(&client)
            .await
            .map_err(|e| e.to_string())?;
        let atlas = gridmap::atlas::Atlas::new(revision, cells);
        // The command line is the operator's: it acts as an administrator.
        let operator = store::users::User {
            id: 0,
            name: "gridmap import".into(),
            role: gridmap::domain::role::Role::Admin,
            cells: Vec::new(),
            department: None,
        };
        let today = gridmap::domain::duty::local_day(chrono::Utc::now());
        let report =
            gridmap::app::teams::import_staff(&mut client, &atlas, &operator, &bytes, today)
                .await
                .map_err(|e| format!("{name}: {e}; nothing was imported"))?;
        if let Some(path) = report_path {
            let json = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
            std::fs::write(path, json).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        let mut lines = vec![format!(
            "{name} ({}): {} rows — {} written, {} unchanged, {} rejected",
            report.format, report.rows, report.written, report.unchanged, report.rejected
        )];
        for row in report
            .report
            .iter()
            .filter(|r| r.status == "rejected")
            .take(50)
        {
            lines.push(format!(
                "  line {}: rejected: {}",
                row.line,
                row.reason.as_deref().unwrap_or_default()
            ));
        }
        if report.rejected > 50 {
            lines.push(format!(
                "  … and {} more (see --report)",
                report.rejected - 50
            ));
        }
        let text = lines.join("\n");
        if report.clean() { Ok(text) } else { Err(text) }
    })
    .await
}

async fn with_database<F, Fut>(url: Option<&str>, data_dir: &Path, work: F) -> Result<(), String>
where
    F: FnOnce(tokio_postgres::Client) -> Fut,
    Fut: std::future::Future<Output = Result<String, String>>,
{
    let opened = store::open::open(url, data_dir, Purpose::Command)
        .await
        .map_err(|e| e.to_string())?;
    let result = match store::connect(&opened.config).await {
        Ok(client) => work(client).await,
        Err(e) => Err(e.to_string()),
    };
    let closed = opened.close().await.map_err(|e| e.to_string());
    let output = result?;
    closed?;
    println!("{output}");
    Ok(())
}

async fn serve(
    url: Option<&str>,
    replica_urls: &[&str],
    data_dir: &Path,
    listen: &str,
    demo_dir: Option<&Path>,
    settings: gridmap::config::Config,
) -> Result<(), String> {
    // Checked before the embedded cluster is leased, so a bad URL leaves nothing running.
    let replicas = store::replicas::standbys(replica_urls, POOL_SIZE)
        .map_err(|e| format!("DATABASE_REPLICA_URLS: {e}"))?;
    let opened = store::open::open(url, data_dir, Purpose::Server)
        .await
        .map_err(|e| e.to_string())?;
    let result = serve_opened(&opened.config, replicas, listen, demo_dir, settings).await;
    let closed = opened.close().await.map_err(|e| e.to_string());
    result?;
    closed
}

async fn serve_opened(
    config: &tokio_postgres::Config,
    replicas: Vec<(String, deadpool_postgres::Pool)>,
    listen: &str,
    demo_dir: Option<&Path>,
    settings: gridmap::config::Config,
) -> Result<(), String> {
    if let Some(dir) = demo_dir {
        let mut client = store::connect(config).await.map_err(|e| e.to_string())?;
        match gridmap::app::demo::load_if_empty(&mut client, dir)
            .await
            .map_err(|e| e.to_string())?
        {
            Some(loaded) => {
                tracing::info!(
                    "loaded the demo from {}: {} cells (revision {}), {} buildings, {} households, {} staff",
                    dir.display(),
                    loaded.cells,
                    loaded.revision,
                    loaded.buildings,
                    loaded.households,
                    loaded.staff
                );
                let seeded = gridmap::app::demo::seed_week_of_incidents(
                    &mut client,
                    &gridmap::config::calendar(&settings.holidays_dir),
                    chrono::Utc::now(),
                )
                .await
                .map_err(|e| e.to_string())?;
                tracing::info!(
                    "seeded {seeded} synthetic demo incidents (labelled 演示) over the last week"
                );
                let departments = gridmap::app::demo::seed_departments(&mut client)
                    .await
                    .map_err(|e| e.to_string())?;
                tracing::info!("seeded {departments} demo departments and a 准入清单");
                let patrols = gridmap::app::demo::seed_week_of_field_work(
                    &mut client,
                    &gridmap::config::calendar(&settings.holidays_dir),
                    chrono::Utc::now(),
                )
                .await
                .map_err(|e| e.to_string())?;
                tracing::info!(
                    "seeded a week of demo field work (labelled 演示): 8 workers, {patrols} patrols"
                );
            }
            None => tracing::info!("the atlas already has cells; demo not loaded"),
        }
    }
    let pool = store::pool(config.clone(), POOL_SIZE).map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    store::warm(&pool, POOL_SIZE)
        .await
        .map_err(|e| e.to_string())?;
    let mut state = AppState::with_config(pool.clone(), settings.clone());
    let probe = if replicas.is_empty() {
        None
    } else {
        let replicas = std::sync::Arc::new(store::replicas::Replicas::new(pool.clone(), replicas));
        replicas.probe().await;
        state.replicas = replicas.clone();
        Some(replicas.spawn_probe())
    };
    gridmap::app::atlas::reload(&state.pool, &state.atlas)
        .await
        .map_err(|e| e.to_string())?;
    {
        let client = state.pool.get().await.map_err(|e| e.to_string())?;
        let calendar = gridmap::app::calendar::current(&client, &settings.holidays_dir)
            .await
            .map_err(|e| e.to_string())?;
        let status = gridmap::app::calendar::status_now(&calendar);
        if !status.ok {
            tracing::warn!(
                "the working-day calendar covers only until {}: deadlines after it count weekends only and are marked provisional; load the next year with `gridmap calendar import`",
                status
                    .covered_until
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "nothing".into())
            );
        }
        state.calendar.store(std::sync::Arc::new(calendar));
    }
    let calendar_follower = gridmap::app::calendar::follow(
        config.clone(),
        pool.clone(),
        state.calendar.clone(),
        settings.holidays_dir.clone(),
    );
    let follower =
        gridmap::app::atlas::follow_revisions(config.clone(), pool.clone(), state.atlas.clone());
    let live = state.live.follow(config.clone(), pool.clone());
    let warmer = warm_each_revision(state.atlas.clone(), state.tiles.clone());
    // Tracks and visit positions are personal data: deleted hourly once past their retention.
    let purge_pool = pool.clone();
    let purger = tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            every.tick().await;
            let Ok(client) = purge_pool.get().await else {
                continue;
            };
            match gridmap::app::fieldwork::purge(&client, chrono::Utc::now()).await {
                Ok((0, 0)) => {}
                Ok((points, visits)) => tracing::info!(
                    "retention: deleted {points} track points and {visits} visit positions"
                ),
                Err(e) => tracing::warn!("retention purge failed: {e}"),
            }
        }
    });
    // Results owed to the platforms reports came from (12345, video): pushed every 2 s.
    let outbox_pool = pool.clone();
    let outbox = tokio::spawn(async move {
        let http = match gridmap::app::intake::http_client() {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!("no outbox delivery: {e}");
                return;
            }
        };
        let mut every = tokio::time::interval(std::time::Duration::from_secs(2));
        loop {
            every.tick().await;
            let Ok(mut client) = outbox_pool.get().await else {
                continue;
            };
            // Drain: a full batch is followed by the next at once, so a burst of results is
            // not held to one batch per tick.
            loop {
                match gridmap::app::intake::deliver_due(&mut client, &http, chrono::Utc::now())
                    .await
                {
                    Ok((0, 0)) => break,
                    Ok((delivered, failed)) => {
                        tracing::info!("outbox: {delivered} results delivered, {failed} to retry");
                        if (delivered + failed) < gridmap::app::intake::DELIVERY_BATCH as usize
                            || delivered == 0
                        {
                            break;
                        }
                    }
                    Err(e) => {
                        tracing::warn!("outbox delivery failed: {e}");
                        break;
                    }
                }
            }
        }
    });
    // Announced once everything above is ready: a supervisor (or a test) that waits for this line
    // sends its first request to a server that answers at once.
    println!("gridmap listening on http://{address}");
    let hub = state.live.clone();
    let signal = async move {
        shutdown_signal().await;
        // Open live streams would hold the graceful shutdown forever: end them.
        hub.close();
    };
    http::serve(listener, state, signal)
        .await
        .map_err(|e| e.to_string())?;
    follower.abort();
    warmer.abort();
    if let Some(probe) = probe {
        probe.abort();
    }
    calendar_follower.abort();
    live.abort();
    purger.abort();
    outbox.abort();
    pool.close();
    tracing::info!("server stopped");
    Ok(())
}

/// The server's database connections (PostgreSQL's default allows 100 across every node).
const POOL_SIZE: usize = 16;

/// Computes a new snapshot's topology and tile source as soon as it is served (at start-up and
/// after every commit, ours or another node's), so the first tile requests after it do not wait
/// on that work: at a province's 200,000 cells it takes seconds. Polls the served revision,
/// which sees every swap, whoever made it.
fn warm_each_revision(
    atlas: gridmap::atlas::SharedAtlas,
    tiles: std::sync::Arc<gridmap::tiles::cache::TileService>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut warmed = None;
        let mut every = tokio::time::interval(std::time::Duration::from_millis(200));
        loop {
            every.tick().await;
            let served = atlas.load_full();
            if warmed == Some(served.revision) || served.is_empty() {
                continue;
            }
            warmed = Some(served.revision);
            let (tiles, atlas) = (tiles.clone(), atlas.clone());
            let _ = tokio::task::spawn_blocking(move || {
                served.topology();
                tiles.follow_served(&atlas);
            })
            .await;
        }
    })
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("cannot listen for SIGTERM: {e}");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down");
}
