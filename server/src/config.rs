//! Typed configuration, from command-line flags or `ILIVE_*` environment variables.
use std::{fmt, net::SocketAddr, path::PathBuf};

use clap::{Args, ValueEnum};

/// A secret string: usable, but never printed by `Debug`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(pub String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

/// Which CAPTCHA guards direct sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CaptchaProvider {
    /// No CAPTCHA (rate limits still apply).
    None,
    /// Self-hosted SHA-256 proof of work: no third party, works offline.
    Pow,
    /// Cloudflare Turnstile (needs `--captcha-secret` and `--captcha-site-key`).
    Turnstile,
    /// hCaptcha (needs `--captcha-secret` and `--captcha-site-key`).
    Hcaptcha,
}

impl CaptchaProvider {
    pub fn as_str(self) -> &'static str {
        match self {
            CaptchaProvider::None => "none",
            CaptchaProvider::Pow => "pow",
            CaptchaProvider::Turnstile => "turnstile",
            CaptchaProvider::Hcaptcha => "hcaptcha",
        }
    }
}

/// Everything the service needs to run. Each field is a flag and an environment variable.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "ILIVE_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,

    /// Public base URL that users' browsers reach this service at; used to build `session_url`.
    /// Defaults to `http://<addr>`.
    #[arg(long, env = "ILIVE_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Database URL: `sqlite://PATH` (the embedded default; the file is created if missing) or
    /// `postgres://USER:PASSWORD@HOST:PORT/DATABASE` (an existing database, shared by replicas;
    /// docs/deployment.md).
    #[arg(
        long,
        env = "ILIVE_DATABASE_URL",
        hide_env_values = true,
        default_value = "sqlite://ilive.db"
    )]
    pub database_url: String,

    /// This server's name among the replicas on one database. A replica settles the captures
    /// left open under its own name when it starts; give each replica its own, stable name.
    /// Defaults to `<hostname>:<port>`.
    #[arg(long, env = "ILIVE_REPLICA_ID")]
    pub replica_id: Option<String>,

    /// Directory holding the converted model weights (`*.safetensors`).
    #[arg(long, env = "ILIVE_MODELS_DIR")]
    pub models_dir: Option<PathBuf>,

    /// Directory with the built browser assets: `pkg/ilive.css` and the bundles `pkg/ilive*.js`,
    /// `pkg/ilive*_bg.wasm` (`scripts/build-site.sh`).
    #[arg(long, env = "ILIVE_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,

    /// The capture window in seconds, from creation: a session not completed by then expires
    /// (its link stops working and its data is deleted).
    #[arg(long, env = "ILIVE_SESSION_TTL_SECS", default_value_t = 1800)]
    pub session_ttl_secs: i64,

    /// How long a completed session's result and photo are kept, in seconds from its
    /// completion; then the sweeper deletes them and keeps a tombstone. Sessions take the value
    /// in force when they are created.
    #[arg(long, env = "ILIVE_RETENTION_SECS", default_value_t = 24 * 3600)]
    pub retention_secs: i64,

    /// How long an expired session's tombstone (id and status only) is kept, in seconds, so
    /// that late requests get 410 rather than 404.
    #[arg(long, env = "ILIVE_TOMBSTONE_SECS", default_value_t = 7 * 24 * 3600)]
    pub tombstone_secs: i64,

    /// Seconds between sweeps of expired sessions.
    #[arg(long, env = "ILIVE_SWEEP_INTERVAL_SECS", default_value_t = 30)]
    pub sweep_interval_secs: u64,

    /// A single legacy API key, accepted wherever a tenant key is (it erases only the sessions
    /// it created); its sessions get unsigned webhooks. Prefer per-tenant keys (`ilive keys
    /// create`).
    #[arg(long, env = "ILIVE_LEGACY_API_KEY", hide_env_values = true)]
    pub legacy_api_key: Option<Secret>,

    /// The most faces one collection may hold (enrolment beyond it answers `collection_full`).
    /// Searches scan a collection's descriptors in memory: 100,000 faces are about 205 MB.
    #[arg(long, env = "ILIVE_COLLECTION_MAX_FACES", default_value_t = 100_000)]
    pub collection_max_faces: i64,

    /// Megabytes of collection descriptors a replica keeps in memory for searches; the least
    /// recently searched collections are dropped beyond it (and read again when searched).
    #[arg(long, env = "ILIVE_COLLECTION_CACHE_MB", default_value_t = 512)]
    pub collection_cache_mb: usize,

    /// Origins whose pages may call the public routes (direct-session creation, its CAPTCHA,
    /// result and photo by token) from the browser: comma-separated, each exactly
    /// `scheme://host[:port]`. Empty (the default): no CORS. Keyed routes never answer CORS.
    #[arg(long, env = "ILIVE_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

    /// DEVELOPMENT ONLY: accept plain-http and loopback/private `redirect_url`/`webhook_url`.
    #[arg(long, env = "ILIVE_DEV_ALLOW_INSECURE_URLS", default_value_t = false)]
    pub dev_allow_insecure_urls: bool,

    /// TESTING ONLY: an extra PEM root certificate trusted for webhook delivery.
    #[arg(long, env = "ILIVE_TEST_WEBHOOK_CA")]
    pub test_webhook_ca: Option<PathBuf>,

    /// Requests per minute per client address on `POST /api/v1/session`.
    #[arg(long, env = "ILIVE_DIRECT_RATE_LIMIT", default_value_t = 10)]
    pub direct_rate_limit: u32,

    /// Requests per minute per API key on keyed routes.
    #[arg(long, env = "ILIVE_KEY_RATE_LIMIT", default_value_t = 120)]
    pub key_rate_limit: u32,

    /// Seconds a client has to send a request's headers, from the moment the server waits for
    /// it (a new connection, or an idle kept-alive one): slow or silent connections close.
    #[arg(long, env = "ILIVE_HEADER_TIMEOUT_SECS", default_value_t = 10)]
    pub header_timeout_secs: u64,

    /// Seconds a request body may pause before the request fails.
    #[arg(long, env = "ILIVE_BODY_TIMEOUT_SECS", default_value_t = 30)]
    pub body_timeout_secs: u64,

    /// How many reverse proxies stand in front of iLive, each appending to `X-Forwarded-For`:
    /// the client address is that many entries from the right. 0 (the default) uses the socket's
    /// peer and ignores the header.
    #[arg(long, env = "ILIVE_TRUSTED_PROXIES", default_value_t = 0)]
    pub trusted_proxies: u8,

    /// The same as `--trusted-proxies 1` (kept for existing deployments).
    #[arg(long, env = "ILIVE_TRUST_FORWARDED_FOR", default_value_t = false)]
    pub trust_forwarded_for: bool,

    /// CAPTCHA on direct sessions.
    #[arg(long, env = "ILIVE_CAPTCHA", value_enum, default_value_t = CaptchaProvider::None)]
    pub captcha: CaptchaProvider,

    /// Leading zero bits required by the proof-of-work CAPTCHA (each bit doubles the work;
    /// 18 ≈ a quarter second in a browser).
    #[arg(long, env = "ILIVE_POW_DIFFICULTY", default_value_t = 18)]
    pub pow_difficulty: u32,

    /// Turnstile / hCaptcha secret key.
    #[arg(long, env = "ILIVE_CAPTCHA_SECRET", hide_env_values = true)]
    pub captcha_secret: Option<Secret>,

    /// Turnstile / hCaptcha public site key, handed to the page.
    #[arg(long, env = "ILIVE_CAPTCHA_SITE_KEY")]
    pub captcha_site_key: Option<String>,

    /// Confidence at or above which a session passes.
    #[arg(long, env = "ILIVE_PASS_THRESHOLD", default_value_t = 0.70)]
    pub pass_threshold: f64,

    /// Confidence at or above which a session that did not pass may retry (below: fail).
    #[arg(long, env = "ILIVE_RETRY_THRESHOLD", default_value_t = 0.45)]
    pub retry_threshold: f64,

    /// Seconds allowed per challenge.
    #[arg(long, env = "ILIVE_CHALLENGE_SECS", default_value_t = 8.0)]
    pub challenge_secs: f64,

    /// Frames analysed at once (defaults to the number of cores).
    #[arg(long, env = "ILIVE_INFERENCE_WORKERS")]
    pub inference_workers: Option<usize>,

    /// Captures served at once; more are refused with `capacity`. Defaults to what the machine
    /// can serve, measured at start-up (see `docs/performance.md`).
    #[arg(long, env = "ILIVE_MAX_LIVE_SESSIONS")]
    pub max_live_sessions: Option<usize>,

    /// Webhook request timeout in seconds.
    #[arg(long, env = "ILIVE_WEBHOOK_TIMEOUT_SECS", default_value_t = 10)]
    pub webhook_timeout_secs: u64,

    /// Attempts per webhook delivery before it is marked failed.
    #[arg(long, env = "ILIVE_WEBHOOK_MAX_ATTEMPTS", default_value_t = 8)]
    pub webhook_max_attempts: u32,

    /// First retry delay in seconds; doubles on each attempt (capped at one hour).
    #[arg(long, env = "ILIVE_WEBHOOK_BACKOFF_SECS", default_value_t = 5)]
    pub webhook_backoff_secs: u64,
}

impl Config {
    /// This replica's name: `--replica-id`, or `<hostname>:<port>` — stable across restarts of
    /// one server, distinct for servers on different machines or ports.
    pub fn replica_name(&self, local: SocketAddr) -> String {
        if let Some(id) = self.replica_id.as_deref().filter(|s| !s.trim().is_empty()) {
            return id.trim().to_owned();
        }
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".to_owned());
        format!("{host}:{}", local.port())
    }

    /// The number of trusted proxies in front of the server.
    pub fn trusted_proxies(&self) -> usize {
        usize::from(self.trusted_proxies).max(usize::from(self.trust_forwarded_for))
    }

    /// The models directory: the setting, else `~/.cache/ilive/models`.
    pub fn models_dir(&self) -> PathBuf {
        self.models_dir
            .clone()
            .unwrap_or_else(|| models::cache_dir("ILIVE_MODELS_DIR", "models"))
    }

    /// The engine's cut-offs and timings.
    pub fn thresholds(&self) -> crate::engine::Thresholds {
        crate::engine::Thresholds {
            pass: self.pass_threshold,
            retry: self.retry_threshold,
            challenge_secs: self.challenge_secs,
            ..Default::default()
        }
    }

    /// The base URL that `session_url` is built on, without a trailing slash.
    pub fn public_base(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.addr),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_in_debug() {
        let s = Secret("iksk_supersecret".into());
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert!(!format!("{:?}", Some(s)).contains("supersecret"));
    }
}
