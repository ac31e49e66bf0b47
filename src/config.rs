//! Configuration files read at start: the working-day calendar (`data/holidays/`, national
//! years then `local/` overlays). Kept apart from the pure domain types they build.

use std::path::Path;

use std::path::PathBuf;

use crate::domain::calendar::Calendar;
use crate::domain::sizing::Band;

/// The test hook that aborts a draft commit just before COMMIT (`GRIDMAP_FAILPOINT`).
pub const FAILPOINT_BEFORE_COMMIT: &str = "commit-before-finish";

/// Everything a server is configured with, built once in `main` (defaults < `--config` file <
/// environment < command-line flags) and passed down; nothing below reads the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// The static pages and their `node_modules` (`GRIDMAP_WEB_DIR`, default `web`).
    pub web_dir: PathBuf,
    /// The shipped working-day calendar (`GRIDMAP_HOLIDAYS_DIR`, default `data/holidays`).
    pub holidays_dir: PathBuf,
    /// Byte budget of the tile cache (`GRIDMAP_TILE_CACHE_MB`, default 256).
    pub tile_cache_bytes: u64,
    /// `GRIDMAP_TILE_CACHE=off` turns the cache off (to measure encoding alone).
    pub tile_cache: bool,
    /// The grid size band drafts are measured against (`GRIDMAP_BAND`, `300:150-450:1000-1500`).
    pub band: Band,
    /// `GRIDMAP_FAILPOINT=commit-before-finish` aborts a commit before COMMIT (tests only).
    pub failpoint: Option<String>,
    /// Where field photos are stored by content hash (`<data-dir>/photos`).
    pub photos_dir: PathBuf,
    /// The public address of this deployment (`GRIDMAP_PUBLIC_URL`, e.g. `https://grid.example.cn`),
    /// written into the QR codes of printed cards and slips; unset = the address a request came to.
    pub public_url: Option<String>,
    /// The balancers in front of this node (`GRIDMAP_TRUSTED_PROXIES`, comma-separated IPs): a
    /// request from one of them is counted against the address it appended to
    /// `X-Forwarded-For`, so per-address limits stay per resident behind nginx. Empty: the
    /// socket's peer is the client, and `X-Forwarded-For` is ignored (anyone can write it).
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            web_dir: "web".into(),
            holidays_dir: HOLIDAYS_DIR.into(),
            tile_cache_bytes: 256 * 1024 * 1024,
            tile_cache: true,
            band: Band::default(),
            failpoint: None,
            photos_dir: "var/photos".into(),
            public_url: None,
            trusted_proxies: Vec::new(),
        }
    }
}

/// The keys a configuration file may set (`gridmap.toml`); an unknown key is an error, so a typo
/// never silently does nothing.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub web_dir: Option<PathBuf>,
    pub holidays_dir: Option<PathBuf>,
    pub tile_cache_mb: Option<u64>,
    pub tile_cache: Option<bool>,
    /// `target:min-max:hard_min-hard_max` households, e.g. `300:150-450:1000-1500`.
    pub band: Option<String>,
    /// `https://grid.example.cn`: the base of the links printed as QR codes.
    pub public_url: Option<String>,
}

/// Settings given on the command line (the highest precedence).
#[derive(Debug, Default, Clone)]
pub struct Flags {
    pub web_dir: Option<PathBuf>,
    pub holidays_dir: Option<PathBuf>,
    pub tile_cache_mb: Option<u64>,
    pub band: Option<String>,
}

impl Config {
    /// The defaults, overridden by the environment; a malformed value is an error naming it.
    pub fn from_env() -> Result<Config, String> {
        Config::load(None, |name| std::env::var(name).ok(), &Flags::default())
    }

    /// Defaults, then the file `file` (TOML, see `FileConfig`), then `GRIDMAP_*` variables
    /// (`env`), then `flags`: each layer overrides the one before. A malformed value is an error
    /// naming the file, variable or flag.
    pub fn load(
        file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
        flags: &Flags,
    ) -> Result<Config, String> {
        let mut config = Config::default();
        if let Some(path) = file {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let from: FileConfig =
                toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            let at = |key: &str| format!("{} ({key})", path.display());
            if let Some(dir) = from.web_dir {
                config.web_dir = dir;
            }
            if let Some(dir) = from.holidays_dir {
                config.holidays_dir = dir;
            }
            if let Some(mb) = from.tile_cache_mb {
                config.tile_cache_bytes =
                    cache_bytes(mb).map_err(|e| format!("{}: {e}", at("tile_cache_mb")))?;
            }
            if let Some(on) = from.tile_cache {
                config.tile_cache = on;
            }
            if let Some(band) = from.band {
                config.band = Band::parse(&band).map_err(|e| format!("{}: {e}", at("band")))?;
            }
            if let Some(url) = from.public_url {
                config.public_url =
                    Some(public_url(&url).map_err(|e| format!("{}: {e}", at("public_url")))?);
            }
        }
        let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        if let Some(dir) = var("GRIDMAP_WEB_DIR") {
            config.web_dir = dir.into();
        }
        if let Some(dir) = var("GRIDMAP_HOLIDAYS_DIR") {
            config.holidays_dir = dir.into();
        }
        if let Some(mb) = var("GRIDMAP_TILE_CACHE_MB") {
            let mb: u64 = mb
                .trim()
                .parse()
                .map_err(|_| format!("GRIDMAP_TILE_CACHE_MB={mb:?}: a whole number of MB ≥ 1"))?;
            config.tile_cache_bytes =
                cache_bytes(mb).map_err(|e| format!("GRIDMAP_TILE_CACHE_MB: {e}"))?;
        }
        if let Some(v) = var("GRIDMAP_TILE_CACHE") {
            config.tile_cache = v != "off";
        }
        if let Some(v) = var("GRIDMAP_BAND") {
            config.band = Band::parse(&v).map_err(|e| format!("GRIDMAP_BAND: {e}"))?;
        }
        if let Some(v) = var("GRIDMAP_PUBLIC_URL") {
            config.public_url =
                Some(public_url(&v).map_err(|e| format!("GRIDMAP_PUBLIC_URL: {e}"))?);
        }
        if let Some(v) = var("GRIDMAP_TRUSTED_PROXIES") {
            config.trusted_proxies = v
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| {
                    p.parse()
                        .map_err(|_| format!("GRIDMAP_TRUSTED_PROXIES: {p:?} is not an IP address"))
                })
                .collect::<Result<_, _>>()?;
        }
        config.failpoint = var("GRIDMAP_FAILPOINT");
        if let Some(dir) = &flags.web_dir {
            config.web_dir = dir.clone();
        }
        if let Some(dir) = &flags.holidays_dir {
            config.holidays_dir = dir.clone();
        }
        if let Some(mb) = flags.tile_cache_mb {
            config.tile_cache_bytes =
                cache_bytes(mb).map_err(|e| format!("--tile-cache-mb: {e}"))?;
        }
        if let Some(band) = &flags.band {
            config.band = Band::parse(band).map_err(|e| format!("--band: {e}"))?;
        }
        Ok(config)
    }

    /// Whether the commit failpoint is armed.
    pub fn abort_before_commit(&self) -> bool {
        self.failpoint.as_deref() == Some(FAILPOINT_BEFORE_COMMIT)
    }
}

/// An `http(s)://host[:port][/path]` base without a trailing slash.
fn public_url(url: &str) -> Result<String, String> {
    let url = url.trim().trim_end_matches('/');
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("{url:?} must start with http:// or https://"))?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty()
        || !rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~:/[]".contains(&b))
    {
        return Err(format!("{url:?} is not a plain http(s) address"));
    }
    Ok(url.to_string())
}

fn cache_bytes(mb: u64) -> Result<u64, String> {
    if mb == 0 {
        return Err("the tile cache needs at least 1 MB".into());
    }
    mb.checked_mul(1024 * 1024)
        .ok_or_else(|| format!("{mb} MB is too large"))
}

/// Where the calendar lives unless `GRIDMAP_HOLIDAYS_DIR` says otherwise.
pub const HOLIDAYS_DIR: &str = "data/holidays";

/// Reads `YYYY.json` files in `dir` (in name order) and then `dir/local/*.json`.
pub fn load_calendar(dir: &Path) -> Result<Calendar, String> {
    Calendar::from_documents(&calendar_documents(dir)?).map_err(|e| e.to_string())
}

/// The documents of the calendar directory, in load order, named by their files.
pub fn calendar_documents(dir: &Path) -> Result<Vec<(String, serde_json::Value)>, String> {
    let mut documents = Vec::new();
    for sub in [dir.to_path_buf(), dir.join("local")] {
        let Ok(entries) = std::fs::read_dir(&sub) else {
            continue; // `local/` is optional; a missing main directory gives weekends only.
        };
        let mut files: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        for file in files {
            let text =
                std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let value =
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
            documents.push((file.display().to_string(), value));
        }
    }
    Ok(documents)
}

/// The documents of `dir`, or none (with a warning) when they cannot be read.
pub fn calendar_documents_or_warn(dir: &Path) -> Vec<(String, serde_json::Value)> {
    calendar_documents(dir).unwrap_or_else(|e| {
        tracing::warn!("holiday calendar files not read ({e}); only weekends are days off");
        Vec::new()
    })
}

/// The calendar of `dir`, else (with a warning) weekends only.
pub fn calendar(dir: &Path) -> Calendar {
    match load_calendar(dir) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!("holiday calendar not loaded ({e}); only weekends are days off");
            Calendar::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), text).unwrap();
        file
    }

    #[test]
    fn the_environment_overrides_the_file_and_a_flag_overrides_both() {
        let file =
            write("tile_cache_mb = 32\nweb_dir = \"from-file\"\nband = \"200:100-300:50-600\"\n");
        let env = |name: &str| match name {
            "GRIDMAP_TILE_CACHE_MB" => Some("64".to_string()),
            _ => None,
        };
        let config = Config::load(Some(file.path()), env, &Flags::default()).unwrap();
        assert_eq!(config.web_dir, PathBuf::from("from-file"));
        assert_eq!(config.tile_cache_bytes, 64 * 1024 * 1024);
        assert_eq!(config.band, Band::parse("200:100-300:50-600").unwrap());
        let flags = Flags {
            tile_cache_mb: Some(8),
            ..Flags::default()
        };
        let config = Config::load(Some(file.path()), env, &flags).unwrap();
        assert_eq!(config.tile_cache_bytes, 8 * 1024 * 1024);
    }

    #[test]
    fn an_unknown_or_malformed_key_in_the_file_is_an_error_naming_it() {
        let none = |_: &str| None;
        let typo = write("tile_cache_megabytes = 32\n");
        let e = Config::load(Some(typo.path()), none, &Flags::default()).unwrap_err();
        assert!(e.contains("tile_cache_megabytes"), "{e}");
        let bad = write("band = \"lots\"\n");
        let e = Config::load(Some(bad.path()), none, &Flags::default()).unwrap_err();
        assert!(e.contains("band"), "{e}");
        let zero = write("tile_cache_mb = 0\n");
        let e = Config::load(Some(zero.path()), none, &Flags::default()).unwrap_err();
        assert!(e.contains("tile_cache_mb"), "{e}");
    }

    #[test]
    fn trusted_proxies_are_ip_addresses_or_the_start_fails_naming_the_variable() {
        let ok =
            |name: &str| (name == "GRIDMAP_TRUSTED_PROXIES").then(|| "127.0.0.1, ::1".to_string());
        let config = Config::load(None, ok, &Flags::default()).unwrap();
        assert_eq!(config.trusted_proxies.len(), 2);
        let bad = |name: &str| (name == "GRIDMAP_TRUSTED_PROXIES").then(|| "nginx".to_string());
        let error = Config::load(None, bad, &Flags::default()).unwrap_err();
        assert!(error.contains("GRIDMAP_TRUSTED_PROXIES"), "{error}");
    }

    #[test]
    fn the_public_url_must_be_a_plain_http_address_and_loses_its_trailing_slash() {
        let none = |_: &str| None;
        let good = write("public_url = \"https://grid.example.cn/\"\n");
        let config = Config::load(Some(good.path()), none, &Flags::default()).unwrap();
        assert_eq!(
            config.public_url.as_deref(),
            Some("https://grid.example.cn")
        );
        let bad = write("public_url = \"javascript:alert(1)\"\n");
        let e = Config::load(Some(bad.path()), none, &Flags::default()).unwrap_err();
        assert!(e.contains("public_url"), "{e}");
        let env = |name: &str| (name == "GRIDMAP_PUBLIC_URL").then(|| "http://a b".to_string());
        assert!(Config::load(None, env, &Flags::default()).is_err());
    }
}
