//! Writer and reader pools sized for Lambda.
//!
//! One Lambda instance serves one request at a time, so its pool needs one or two connections; RDS Proxy
//! multiplexes them onto the database. Connections are opened by [`Db::warm`] during init, so the first request
//! does not pay for the TCP and TLS handshakes.
//!
//! The password is not part of the URL in production: it comes from a [`CredentialSource`] (Secrets Manager,
//! wired at the edge) each time a connection opens. When the server rejects it (a rotated password), the pool
//! asks the source to refresh once and retries.

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::error::SqlState;

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Supplies database credentials and can be asked to refetch them after the server rejects them.
///
/// Contract: `password` MUST be cheap when cached (it runs on every new connection); `refresh` MUST fetch from the
/// source of truth, bypassing any cache.
pub trait CredentialSource: Send + Sync + 'static {
    /// The user and password to connect with; `None` keeps whatever the URL says.
    fn credentials(&self) -> BoxFuture<'_, anyhow::Result<Option<(String, kernel::SecretString)>>>;
    /// Refetch after an authentication failure.
    fn refresh(&self) -> BoxFuture<'_, anyhow::Result<()>>;
}

/// Credentials fixed at start-up (tests, local runs without a database secret).
#[derive(Debug, Default)]
pub struct StaticCredentials(pub Option<(String, kernel::SecretString)>);

impl CredentialSource for StaticCredentials {
    fn credentials(&self) -> BoxFuture<'_, anyhow::Result<Option<(String, kernel::SecretString)>>> {
        Box::pin(async move { Ok(self.0.clone()) })
    }
    fn refresh(&self) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async { Ok(()) })
    }
}

/// Whether connections use TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain TCP. An explicit local override: platform's configuration refuses it when `NIAGA_ENV=prod`, and the
    /// local stage itself accepts TCP connections only over TLS.
    Disable,
    /// TLS, the server certificate verified against the endpoint's own CA bundle ([`CaBundle`]) and its name
    /// checked against the URL's host (libpq's `sslmode=verify-full`).
    VerifyFull,
}

impl FromStr for TlsMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "disable" => Ok(TlsMode::Disable),
            "verify-full" => Ok(TlsMode::VerifyFull),
            other => Err(format!("expected `verify-full` or `disable`, got `{other}`")),
        }
    }
}

/// The RDS global CA bundle (every commercial Region's RDS root CAs), pinned: see `certs/README.md`.
pub const RDS_GLOBAL_BUNDLE_PEM: &[u8] = include_bytes!("../certs/rds-global-bundle.pem");
/// Amazon Root CA 1, pinned: see `certs/README.md`.
pub const AMAZON_ROOT_CA_1_PEM: &[u8] = include_bytes!("../certs/amazon-root-ca-1.pem");

/// Which certificate authorities one endpoint's server certificate must chain to.
///
/// Each endpoint presents a certificate from a different authority, so the writer and the reader are configured
/// separately (`DATABASE_CA`, `DATABASE_READER_CA`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaBundle {
    /// `rds-proxy`: Amazon Root CA 1. RDS Proxy presents an ACM certificate that chains to it.
    RdsProxy,
    /// `rds`: the RDS global bundle. An RDS instance's own endpoint (the read replica) presents a certificate
    /// issued by an RDS certificate authority.
    Rds,
    /// A PEM file of CA certificates (the local stage's project CA), named by a path containing `/`.
    File(PathBuf),
}

impl FromStr for CaBundle {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "rds-proxy" => Ok(CaBundle::RdsProxy),
            "rds" => Ok(CaBundle::Rds),
            path if path.contains('/') => Ok(CaBundle::File(PathBuf::from(path))),
            other => Err(format!(
                "expected `rds-proxy` (Amazon Root CA 1), `rds` (the RDS global bundle) or the path of a PEM file, got `{other}`"
            )),
        }
    }
}

impl std::fmt::Display for CaBundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CaBundle::RdsProxy => f.write_str("rds-proxy"),
            CaBundle::Rds => f.write_str("rds"),
            CaBundle::File(path) => write!(f, "{}", path.display()),
        }
    }
}

impl CaBundle {
    /// The bundle's certificates, parsed from PEM; an error when there are none.
    pub fn certificates(&self) -> anyhow::Result<Vec<CertificateDer<'static>>> {
        let pem = match self {
            CaBundle::RdsProxy => AMAZON_ROOT_CA_1_PEM.to_vec(),
            CaBundle::Rds => RDS_GLOBAL_BUNDLE_PEM.to_vec(),
            CaBundle::File(path) => {
                std::fs::read(path).map_err(|e| anyhow::anyhow!("reading the CA bundle {}: {e}", path.display()))?
            }
        };
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow::anyhow!("the CA bundle {self} is not valid PEM: {e}"))?;
        if certs.is_empty() {
            anyhow::bail!("the CA bundle {self} holds no certificate");
        }
        Ok(certs)
    }

    /// The trust anchors: every certificate of the bundle, and nothing else.
    pub fn root_store(&self) -> anyhow::Result<rustls::RootCertStore> {
        let mut roots = rustls::RootCertStore::empty();
        let (added, ignored) = roots.add_parsable_certificates(self.certificates()?);
        if added == 0 {
            anyhow::bail!("the CA bundle {self} holds no usable CA certificate ({ignored} unparsable)");
        }
        Ok(roots)
    }
}

/// Everything needed to open the pools.
#[derive(Debug, Clone)]
pub struct DbSettings {
    /// Writer URL (`postgres://user@host:port/db`); a password here is used only when the credential source
    /// gives none.
    pub writer_url: String,
    /// Read-replica URL; `None` reads from the writer.
    pub reader_url: Option<String>,
    /// Connections per pool per instance.
    pub pool_size: usize,
    pub tls: TlsMode,
    /// What the writer's certificate must chain to; required with [`TlsMode::VerifyFull`].
    pub writer_ca: Option<CaBundle>,
    /// What the reader's certificate must chain to; required with [`TlsMode::VerifyFull`] when the reader URL
    /// differs from the writer's.
    pub reader_ca: Option<CaBundle>,
    pub connect_timeout: Duration,
    /// How long a request waits for a free connection before the pool reports exhaustion.
    pub wait_timeout: Duration,
}

impl DbSettings {
    /// Local defaults for a URL: a tiny pool, no TLS (see [`DbSettings::verified`] for the local stage, which
    /// accepts TCP connections only over TLS).
    pub fn local(url: &str) -> Self {
        DbSettings {
            writer_url: url.to_string(),
            reader_url: None,
            pool_size: 2,
            tls: TlsMode::Disable,
            writer_ca: None,
            reader_ca: None,
            connect_timeout: Duration::from_secs(3),
            wait_timeout: Duration::from_secs(2),
        }
    }
}

impl DbSettings {
    /// Local defaults for a URL, over TLS verified against `ca` (`verify-full`).
    pub fn verified(url: &str, ca: CaBundle) -> Self {
        DbSettings {
            tls: TlsMode::VerifyFull,
            writer_ca: Some(ca.clone()),
            reader_ca: Some(ca),
            ..DbSettings::local(url)
        }
    }
}

/// Database failures as callers need to tell them apart.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No connection could be had in time: shed load (503 with Retry-After).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Query(#[from] tokio_postgres::Error),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<deadpool_postgres::PoolError> for DbError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            deadpool_postgres::PoolError::Backend(e) => DbError::Unavailable(describe(&e)),
            other => DbError::Unavailable(other.to_string()),
        }
    }
}

/// Text for a tokio-postgres error including SQLSTATE and server message (its `Display` says only "db error"),
/// or its causes (a TLS handshake failure says why: an unknown issuer, a name the certificate does not hold).
pub fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({}): {}", db.severity(), db.code().code(), db.message()),
        None => {
            let mut text = e.to_string();
            let mut cause = std::error::Error::source(e);
            while let Some(c) = cause {
                text.push_str(": ");
                text.push_str(&c.to_string());
                cause = c.source();
            }
            text
        }
    }
}

/// The writer pool and the reader pool (the same pool when no replica is configured).
#[derive(Clone)]
pub struct Db {
    writer: Pool,
    reader: Pool,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("writer", &self.writer.status())
            .field("reader", &self.reader.status())
            .finish()
    }
}

impl Db {
    /// Builds both pools; opens no connection yet (see [`Db::warm`]).
    pub fn new(settings: &DbSettings, credentials: Arc<dyn CredentialSource>) -> anyhow::Result<Self> {
        let writer = build_pool(
            &settings.writer_url,
            settings,
            settings.writer_ca.as_ref(),
            "writer",
            credentials.clone(),
        )?;
        // A reader URL equal to the writer's (deployments without a replica) shares the writer pool rather
        // than doubling the connections to one endpoint.
        let reader = match &settings.reader_url {
            Some(url) if url != &settings.writer_url => {
                build_pool(url, settings, settings.reader_ca.as_ref(), "reader", credentials)?
            }
            _ => writer.clone(),
        };
        Ok(Db { writer, reader })
    }

    /// A writer connection, or an error saying none could be had (for adapters reporting through `anyhow`).
    pub async fn write_client(&self) -> anyhow::Result<deadpool_postgres::Object> {
        self.writer
            .get()
            .await
            .map_err(|e| anyhow::anyhow!("no database connection: {}", DbError::from(e)))
    }

    /// A reader connection (the writer's pool when no replica is configured).
    pub async fn read_client(&self) -> anyhow::Result<deadpool_postgres::Object> {
        self.reader
            .get()
            .await
            .map_err(|e| anyhow::anyhow!("no database connection: {}", DbError::from(e)))
    }

    pub fn writer(&self) -> &Pool {
        &self.writer
    }

    pub fn reader(&self) -> &Pool {
        &self.reader
    }

    /// Opens the pools' connections now (cold start), so requests find them ready. Returns how many are open.
    pub async fn warm(&self) -> Result<usize, DbError> {
        // All connections open concurrently: a cold start pays for one handshake, not one per connection.
        let gets = self
            .pools()
            .into_iter()
            .flat_map(|pool| (0..pool.status().max_size).map(move |_| pool.get()));
        let held = futures_util::future::join_all(gets).await;
        let open = held.into_iter().collect::<Result<Vec<_>, _>>()?;
        Ok(open.len())
    }

    /// Round-trips `SELECT 1` on the writer and the reader.
    pub async fn ping(&self) -> Result<(), DbError> {
        for pool in self.pools() {
            let client = pool.get().await?;
            client.query_typed_one("SELECT 1", &[]).await?;
        }
        Ok(())
    }

    fn pools(&self) -> Vec<&Pool> {
        if self.reader_is_writer() {
            vec![&self.writer]
        } else {
            vec![&self.writer, &self.reader]
        }
    }

    fn reader_is_writer(&self) -> bool {
        // Pools are reference-counted handles; with no replica both handles point to one pool.
        std::ptr::eq(self.writer.manager(), self.reader.manager())
    }
}

/// Checks that `url` is a PostgreSQL connection URL, without connecting.
pub fn validate_url(url: &str) -> Result<(), String> {
    url.parse::<tokio_postgres::Config>()
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn build_pool(
    url: &str,
    settings: &DbSettings,
    ca: Option<&CaBundle>,
    endpoint: &str,
    credentials: Arc<dyn CredentialSource>,
) -> anyhow::Result<Pool> {
    let mut pg: tokio_postgres::Config = url
        .parse()
        .map_err(|e| anyhow::anyhow!("database URL is not a valid PostgreSQL URL: {e}"))?;
    pg.connect_timeout(settings.connect_timeout);
    pg.application_name("niaga");
    let connect = CredentialedConnect {
        credentials,
        tls: tls_config(settings.tls, ca, endpoint)?,
    };
    let manager = Manager::from_connect(
        pg,
        connect,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    let timeouts = deadpool_postgres::Timeouts {
        wait: Some(settings.wait_timeout),
        create: Some(settings.connect_timeout),
        recycle: Some(settings.connect_timeout),
    };
    Pool::builder(manager)
        .max_size(settings.pool_size.max(1))
        .timeouts(timeouts)
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()
        .map_err(|e| anyhow::anyhow!("building the connection pool: {e}"))
}

/// The client TLS configuration for one endpoint: `None` without TLS; with `verify-full`, trust in exactly the
/// endpoint's CA bundle. rustls checks the certificate's names against the URL's host on every handshake.
pub fn tls_config(
    mode: TlsMode,
    ca: Option<&CaBundle>,
    endpoint: &str,
) -> anyhow::Result<Option<rustls::ClientConfig>> {
    match mode {
        TlsMode::Disable => Ok(None),
        TlsMode::VerifyFull => {
            let ca = ca.ok_or_else(|| anyhow::anyhow!("verify-full needs a CA bundle for the {endpoint}"))?;
            let roots = ca
                .root_store()
                .map_err(|e| anyhow::anyhow!("the {endpoint}'s CA bundle: {e}"))?;
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| anyhow::anyhow!("TLS protocol versions: {e}"))?
                .with_root_certificates(roots)
                .with_no_client_auth();
            Ok(Some(config))
        }
    }
}

/// One connection outside any pool (tools and tests), with the same TLS as the pools: `verify-full` against
/// `ca`, or plain TCP with [`TlsMode::Disable`].
pub async fn connect_once(url: &str, tls: TlsMode, ca: Option<&CaBundle>) -> anyhow::Result<tokio_postgres::Client> {
    let mut cfg: tokio_postgres::Config = url
        .parse()
        .map_err(|e| anyhow::anyhow!("database URL is not a valid PostgreSQL URL: {e}"))?;
    let client = match tls_config(tls, ca, "database")? {
        Some(config) => {
            cfg.ssl_mode(tokio_postgres::config::SslMode::Require);
            let (client, conn) = cfg
                .connect(tokio_postgres_rustls::MakeRustlsConnect::new(config))
                .await
                .map_err(|e| anyhow::anyhow!("{}", describe(&e)))?;
            spawn_connection(conn);
            client
        }
        None => {
            let (client, conn) = cfg
                .connect(tokio_postgres::NoTls)
                .await
                .map_err(|e| anyhow::anyhow!("{}", describe(&e)))?;
            spawn_connection(conn);
            client
        }
    };
    Ok(client)
}

/// Opens connections with the current credentials, refreshing them once on an authentication failure.
struct CredentialedConnect {
    credentials: Arc<dyn CredentialSource>,
    /// `None`: plain TCP.
    tls: Option<rustls::ClientConfig>,
}

impl CredentialedConnect {
    async fn open(
        &self,
        base: &tokio_postgres::Config,
    ) -> Result<(tokio_postgres::Client, tokio::task::JoinHandle<()>), tokio_postgres::Error> {
        let mut cfg = base.clone();
        match self.credentials.credentials().await {
            Ok(Some((user, password))) => {
                cfg.user(&user);
                cfg.password(password.expose());
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "database credentials unavailable; using the URL's"),
        }
        match &self.tls {
            Some(config) => {
                // `require` makes tokio-postgres refuse a server that declines TLS instead of going on in clear.
                cfg.ssl_mode(tokio_postgres::config::SslMode::Require);
                let tls = tokio_postgres_rustls::MakeRustlsConnect::new(config.clone());
                let (client, conn) = cfg.connect(tls).await?;
                Ok((client, spawn_connection(conn)))
            }
            None => {
                let (client, conn) = cfg.connect(tokio_postgres::NoTls).await?;
                Ok((client, spawn_connection(conn)))
            }
        }
    }
}

fn spawn_connection<S, T>(conn: tokio_postgres::Connection<S, T>) -> tokio::task::JoinHandle<()>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %describe(&e), "database connection closed");
        }
    })
}

impl deadpool_postgres::Connect for CredentialedConnect {
    fn connect(
        &self,
        pg_config: &tokio_postgres::Config,
    ) -> BoxFuture<'_, Result<(tokio_postgres::Client, tokio::task::JoinHandle<()>), tokio_postgres::Error>> {
        let base = pg_config.clone();
        Box::pin(async move {
            match self.open(&base).await {
                Err(e) if e.code() == Some(&SqlState::INVALID_PASSWORD) => {
                    tracing::warn!("database rejected the password; refreshing credentials once");
                    if let Err(re) = self.credentials.refresh().await {
                        tracing::error!(error = %re, "refreshing database credentials failed");
                        return Err(e);
                    }
                    self.open(&base).await
                }
                other => other,
            }
        })
    }
}
