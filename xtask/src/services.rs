//! The local services the stack and the tests need: a project-local PostgreSQL cluster and moto (the AWS
//! emulator). Each is installed when missing (PostgreSQL from Debian packages; moto, pinned, from PyPI into the
//! project's own virtual environment), started on 127.0.0.1, and stopped again.
//!
//! PostgreSQL refuses to run as root, so when we are root the cluster belongs to the `postgres` system user and
//! every server command runs through `runuser`. Its data lives in `.niaga/pg` (git-ignored); if that folder is
//! not reachable by the `postgres` user (a checkout under `/root`, say), the data goes to
//! `/var/tmp/niaga-<hash>/pg` and `.niaga/pg` becomes a link to it.

use anyhow::{bail, Context, Result};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Prints a progress step, stamped with the seconds since the command started.
pub fn step(msg: impl AsRef<str>) {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let t = START.get_or_init(Instant::now).elapsed().as_secs_f64();
    println!("==> [{t:5.1}s] {}", msg.as_ref());
}

/// A `cargo` command at the workspace root, without the variables `cargo run` set for xtask itself: build scripts
/// (ring's, for one) rerun when `CARGO_MANIFEST_DIR` or `CARGO_PKG_NAME` change, so inheriting them would rebuild
/// half the dependency tree on every `cargo xtask` command and again on the next plain `cargo build`.
pub fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(crate::workspace_root());
    for (key, _) in std::env::vars() {
        let injected = key.starts_with("CARGO_PKG_")
            || key.starts_with("CARGO_BIN_")
            || matches!(
                key.as_str(),
                "CARGO_MANIFEST_DIR" | "CARGO_MANIFEST_PATH" | "CARGO_CRATE_NAME" | "CARGO_PRIMARY_PACKAGE"
            );
        if injected {
            c.env_remove(key);
        }
    }
    c
}

/// The git-ignored state folder, `.niaga/`.
pub fn state_dir() -> PathBuf {
    crate::workspace_root().join(".niaga")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Runs a command, failing with its output when it fails.
pub fn run(cmd: &mut Command, what: &str) -> Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("{what}: could not start {:?}", cmd.get_program()))?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs a command with its output shown (long installs and builds).
pub fn run_visible(cmd: &mut Command, what: &str) -> Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("{what}: could not start {:?}", cmd.get_program()))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

pub fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(program))
            .find(|p| p.is_file())
    })
}

fn apt_install(packages: &[&str]) -> Result<()> {
    let sudo: &[&str] = if is_root() {
        &[]
    } else if which("sudo").is_some() {
        &["sudo"]
    } else {
        bail!(
            "{} must be installed: run `apt-get install {}` as root",
            packages.join(", "),
            packages.join(" ")
        );
    };
    step(format!("installing {} (Debian packages)", packages.join(", ")));
    let apt = |args: &[&str]| {
        let mut c = Command::new(sudo.first().copied().unwrap_or("apt-get"));
        if !sudo.is_empty() {
            c.arg("apt-get");
        }
        c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        c
    };
    run_visible(apt(&["update", "-q"]).arg("-o=Dpkg::Use-Pty=0"), "apt-get update")?;
    run_visible(
        apt(&["install", "-y", "-q", "--no-install-recommends"]).args(packages),
        "apt-get install",
    )
}

/// The moto release the local stack and the tests run (`moto_server`, from `moto[server]`).
pub const MOTO_VERSION: &str = "5.2.1";

/// Python tools from PyPI, each pinned (`(package, version)`, extras allowed: `moto[server]`), in one virtual
/// environment of the project's own (`.niaga/tools/<package>-<version>[+<package>-<version>...]`), whatever else the
/// machine has: a new release cannot change what CI runs, and tools such as checkov pin old versions of botocore,
/// which installed beside moto would replace the versions moto relies on. Returns the environment's `bin/`, which
/// holds `program`. pip's progress is shown: a first install downloads tens of megabytes.
pub fn ensure_venv(program: &str, packages: &[(&str, &str)]) -> Result<PathBuf> {
    let name = packages
        .iter()
        .map(|(package, version)| format!("{}-{version}", package.split('[').next().unwrap_or(package)))
        .collect::<Vec<_>>()
        .join("+");
    let venv = state_dir().join("tools").join(name);
    let bin = venv.join("bin");
    if bin.join(program).is_file() {
        return Ok(bin);
    }
    let pins: Vec<String> = packages.iter().map(|(p, v)| format!("{p}=={v}")).collect();
    step(format!(
        "installing {} from PyPI into {}",
        pins.join(" "),
        venv.display()
    ));
    let make_venv = || {
        run(
            Command::new("python3").args(["-m", "venv"]).arg(&venv),
            "python3 -m venv",
        )
    };
    if make_venv().is_err() {
        // Debian splits venv support out of python3.
        apt_install(&["python3-venv"])?;
        make_venv()?;
    }
    run_visible(
        Command::new(bin.join("pip"))
            .args(["install", "--disable-pip-version-check"])
            .args(&pins),
        &format!("pip install {}", pins.join(" ")),
    )?;
    if !bin.join(program).is_file() {
        bail!(
            "installed {} into {} but it has no bin/{program}",
            pins.join(" "),
            venv.display()
        );
    }
    Ok(bin)
}

/// One pinned Python tool in its own virtual environment ([`ensure_venv`]); returns the program's path.
pub fn ensure_venv_tool(program: &str, package: &str, version: &str) -> Result<PathBuf> {
    Ok(ensure_venv(program, &[(package, version)])?.join(program))
}

/// `PATH` with `dir` first, for a child process that must find a tool's companions (cargo-lambda finds zig
/// through the `python3` beside it).
pub fn path_with(dir: &Path) -> std::ffi::OsString {
    let rest = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(std::iter::once(dir.to_path_buf()).chain(std::env::split_paths(&rest))).unwrap_or(rest)
}

/// Where PostgreSQL's server binaries are, installing them when missing.
pub fn postgres_bin_dir() -> Result<PathBuf> {
    let find = || -> Option<PathBuf> {
        let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|p| p.join("initdb").is_file())
            .collect();
        versions.sort();
        versions
            .pop()
            .or_else(|| which("initdb").and_then(|p| p.parent().map(Path::to_path_buf)))
    };
    if let Some(dir) = find() {
        return Ok(dir);
    }
    apt_install(&["postgresql", "postgresql-contrib"])?;
    find().context("PostgreSQL was installed but initdb was not found")
}

/// Group role whose members authenticate with a password in the local cluster (see `Postgres::write_hba`).
pub const PASSWORD_AUTH_ROLE: &str = testkit::PASSWORD_AUTH_ROLE;

/// A running project-local PostgreSQL cluster.
#[derive(Debug)]
pub struct Postgres {
    pub port: u16,
    bin: PathBuf,
    data: PathBuf,
    as_postgres_user: bool,
    started_here: bool,
}

impl Postgres {
    /// The project's cluster, without starting it.
    pub fn locate(port: u16) -> Result<Postgres> {
        let bin = postgres_bin_dir()?;
        let as_postgres_user = is_root();
        if as_postgres_user {
            ensure_postgres_user()?;
        }
        let data = Self::cluster_root(as_postgres_user)?.join("data");
        Ok(Postgres {
            port,
            bin,
            data,
            as_postgres_user,
            started_here: false,
        })
    }

    /// Starts the cluster (initialising it on first use), or adopts it when it already runs.
    pub fn start(port: u16) -> Result<Postgres> {
        let pg = Self::locate(port)?;
        let root = pg.data.parent().context("the data folder has a parent")?.to_path_buf();
        if !pg.data.join("PG_VERSION").is_file() {
            step(format!("initialising a PostgreSQL cluster in {}", root.display()));
            std::fs::create_dir_all(&root)?;
            pg.chown(&root)?;
            run(
                &mut pg.server_cmd(
                    "initdb",
                    &[
                        "-D",
                        &pg.data.to_string_lossy(),
                        "-A",
                        "trust",
                        "-U",
                        "postgres",
                        "-E",
                        "UTF8",
                        "--locale=C",
                        "--no-sync",
                    ],
                ),
                "initdb",
            )?;
        }
        pg.write_hba()?;
        pg.write_tls(&root)?;
        if pg.status_running() {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                // Pick up pg_hba.conf and TLS changes without a restart.
                let _ = run(
                    &mut pg.server_cmd("pg_ctl", &["-D", &pg.data.to_string_lossy(), "reload"]),
                    "pg_ctl reload",
                );
                step(format!("PostgreSQL already running on 127.0.0.1:{port}"));
                return Ok(pg);
            }
            // Running, but on another port: restart it on ours.
            pg.stop()?;
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            bail!(
                "port {port} is taken by another program (another checkout's cluster?); stop it \
                 (`cargo xtask down` there) or set NIAGA_PG_PORT to a free port"
            );
        }
        step(format!("starting PostgreSQL on 127.0.0.1:{port}"));
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=128MB",
            root.display()
        );
        let log = root.join("postgres.log");
        run(
            &mut pg.server_cmd(
                "pg_ctl",
                &[
                    "-D",
                    &pg.data.to_string_lossy(),
                    "-o",
                    &options,
                    "-l",
                    &log.to_string_lossy(),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
            ),
            "pg_ctl start",
        )
        .with_context(|| format!("see {}", log.display()))?;
        Ok(Postgres {
            started_here: true,
            ..pg
        })
    }

    /// TCP connections must use TLS, as RDS with `rds.force_ssl` demands: plain TCP is rejected. Loopback TLS
    /// connections are trusted, except for members of [`PASSWORD_AUTH_ROLE`], which must present a password:
    /// tests use them to prove that a rotated password is refetched from Secrets Manager.
    fn write_hba(&self) -> Result<()> {
        let hba = format!(
            "# Written by cargo xtask on every start; edits are overwritten.\n\
             local all all trust\n\
             hostnossl all all 0.0.0.0/0 reject\n\
             hostnossl all all ::/0 reject\n\
             hostssl all +{PASSWORD_AUTH_ROLE} 127.0.0.1/32 scram-sha-256\n\
             hostssl all all 127.0.0.1/32 trust\n\
             hostssl all all ::1/128 trust\n"
        );
        let path = self.data.join("pg_hba.conf");
        if std::fs::read_to_string(&path).ok().as_deref() != Some(hba.as_str()) {
            std::fs::write(&path, hba)?;
            self.chown(&path)?;
        }
        Ok(())
    }

    /// Serves TLS with a certificate from the project CA ([`crate::pgtls`]), its files in the cluster's folder
    /// owned by the server's user, through `niaga-tls.conf` included from `postgresql.conf`.
    fn write_tls(&self, root: &Path) -> Result<()> {
        let dir = root.join("tls");
        let files = crate::pgtls::ensure_server_files(&dir)?;
        self.chown(&dir)?;
        let conf = self.data.join("niaga-tls.conf");
        let settings = crate::pgtls::server_settings(&files);
        if std::fs::read_to_string(&conf).ok().as_deref() != Some(settings.as_str()) {
            std::fs::write(&conf, settings)?;
            self.chown(&conf)?;
        }
        let main = self.data.join("postgresql.conf");
        let include = "include_if_exists = 'niaga-tls.conf'";
        let text = std::fs::read_to_string(&main).with_context(|| format!("reading {}", main.display()))?;
        if !text.lines().any(|l| l.trim() == include) {
            std::fs::write(&main, format!("{text}\n{include}\n"))?;
        }
        Ok(())
    }

    /// The project CA's certificate, which the server's certificate chains to.
    pub fn ca_path(&self) -> PathBuf {
        crate::pgtls::ca_path()
    }

    /// `postgres://postgres@127.0.0.1:<port>/<db>`
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Whether this process started the server (and so should stop it).
    pub fn started_here(&self) -> bool {
        self.started_here
    }

    pub fn stop(&self) -> Result<()> {
        if self.status_running() {
            run(
                &mut self.server_cmd(
                    "pg_ctl",
                    &["-D", &self.data.to_string_lossy(), "-m", "fast", "-w", "stop"],
                ),
                "pg_ctl stop",
            )?;
        }
        Ok(())
    }

    fn status_running(&self) -> bool {
        self.server_cmd("pg_ctl", &["-D", &self.data.to_string_lossy(), "status"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }

    fn server_cmd(&self, program: &str, args: &[&str]) -> Command {
        let exe = self.bin.join(program);
        let mut c = if self.as_postgres_user {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        c.args(args).current_dir("/");
        c
    }

    fn chown(&self, path: &Path) -> Result<()> {
        if self.as_postgres_user {
            run(
                Command::new("chown").args(["-R", "postgres:postgres"]).arg(path),
                "chown",
            )?;
        }
        Ok(())
    }

    fn cluster_root(as_postgres_user: bool) -> Result<PathBuf> {
        let local = state_dir().join("pg");
        std::fs::create_dir_all(state_dir())?;
        if !as_postgres_user {
            return Ok(local);
        }
        if local.is_symlink() {
            return Ok(std::fs::read_link(&local)?);
        }
        // Can the postgres user reach the state folder?
        let reachable = Command::new("runuser")
            .args(["-u", "postgres", "--", "test", "-x"])
            .arg(state_dir())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if reachable {
            return Ok(local);
        }
        let hash = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            crate::workspace_root().hash(&mut h);
            h.finish()
        };
        let elsewhere = PathBuf::from(format!("/var/tmp/niaga-{hash:016x}/pg"));
        std::fs::create_dir_all(&elsewhere)?;
        if !local.exists() {
            std::os::unix::fs::symlink(&elsewhere, &local)?;
        }
        Ok(elsewhere)
    }
}

fn ensure_postgres_user() -> Result<()> {
    let exists = Command::new("id")
        .arg("postgres")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?
        .success();
    if !exists {
        step("creating the `postgres` system user for the local cluster");
        run(
            Command::new("useradd").args([
                "--system",
                "--user-group",
                "--home-dir",
                "/var/lib/postgresql",
                "postgres",
            ]),
            "useradd postgres",
        )?;
    }
    Ok(())
}

/// A running moto server, stopped on drop.
#[derive(Debug)]
pub struct Moto {
    pub port: u16,
    child: std::process::Child,
    pidfile: PathBuf,
    /// The setup principal's keys once IAM is enforced ([`crate::iam::Window::admin`]).
    admin: Option<crate::iam::Keys>,
}

impl Moto {
    /// Starts a fresh moto on 127.0.0.1:`port`, replacing one this project left running.
    pub fn start(port: u16) -> Result<Moto> {
        Moto::start_with(port, &[])
    }

    /// [`Moto::start`] with IAM enforcement ahead: moto answers unauthenticated requests only until
    /// [`crate::iam::Window::close`] (`INITIAL_NO_AUTH_ACTION_COUNT` is the window's upper bound; closing it sets
    /// the count to 0), and authenticates and authorises every request after that.
    pub fn start_enforcing(port: u16) -> Result<Moto> {
        Moto::start_with(port, &[("INITIAL_NO_AUTH_ACTION_COUNT", "1000000")])
    }

    /// [`Moto::start`] with AWS's managed IAM policies loaded (slower to start), for terraform that attaches one.
    pub fn start_with_managed_policies(port: u16) -> Result<Moto> {
        Moto::start_with(port, &[("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")])
    }

    fn start_with(port: u16, env: &[(&str, &str)]) -> Result<Moto> {
        let exe = ensure_venv_tool("moto_server", "moto[server]", MOTO_VERSION)?;
        let logs = state_dir().join("logs");
        std::fs::create_dir_all(&logs)?;
        let pidfile = state_dir().join(format!("moto-{port}.pid"));
        if let Ok(old) = std::fs::read_to_string(&pidfile) {
            let _ = Command::new("kill").arg(old.trim()).stderr(Stdio::null()).status();
            wait_until(Duration::from_secs(5), || {
                TcpStream::connect(("127.0.0.1", port)).is_err()
            });
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            bail!("port {port} is taken by another program; set NIAGA_MOTO_PORT to a free port");
        }
        step(format!("starting moto (AWS emulator) on 127.0.0.1:{port}"));
        let log = std::fs::File::create(logs.join(format!("moto-{port}.log")))?;
        let child = Command::new(exe)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(env.iter().copied())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting moto_server")?;
        std::fs::write(&pidfile, child.id().to_string())?;
        let moto = Moto {
            port,
            child,
            pidfile,
            admin: None,
        };
        if !wait_until(Duration::from_secs(30), || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        }) {
            bail!("moto did not start listening on {port} within 30 s; see .niaga/logs/moto-{port}.log");
        }
        Ok(moto)
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The AWS SDK configuration that reaches this emulator (region us-east-1) as the setup principal (its admin
    /// keys once IAM is enforced, else moto's `test` credentials).
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        let (id, secret) = self.admin.as_ref().map_or(("test", "test"), |k| {
            (k.access_key_id.as_str(), k.secret_access_key.as_str())
        });
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(self.endpoint())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_sqs::config::Credentials::new(
                id.to_string(),
                secret.to_string(),
                None,
                None,
                "moto",
            ))
            .load()
            .await
    }

    /// The setup principal's keys, once IAM is enforced.
    pub fn admin(&self) -> Option<&crate::iam::Keys> {
        self.admin.as_ref()
    }

    /// Records the setup principal, also in `.niaga/moto-<port>.admin.json` for commands that reach this emulator
    /// from another process (`cargo xtask redrive`).
    pub fn set_admin(&mut self, keys: crate::iam::Keys) -> Result<()> {
        std::fs::write(admin_keys_file(self.port), serde_json::to_string(&keys)?)?;
        self.admin = Some(keys);
        Ok(())
    }

    /// The environment that reaches this emulator as the setup principal.
    pub fn admin_env(&self) -> Vec<(String, String)> {
        match &self.admin {
            Some(k) => aws_env_as(&self.endpoint(), k),
            None => aws_env(&self.endpoint()),
        }
    }

    /// The server's process id (fault scenarios pause it to make the emulator unreachable).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.pidfile);
        let _ = std::fs::remove_file(admin_keys_file(self.port));
    }
}

/// Where a running emulator's setup keys are kept (see [`Moto::set_admin`]).
pub fn admin_keys_file(port: u16) -> PathBuf {
    state_dir().join(format!("moto-{port}.admin.json"))
}

/// Polls `ready` until it is true or `timeout` passes.
pub fn wait_until(timeout: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if ready() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    ready()
}

/// The environment an AWS SDK client needs to reach moto with `keys`.
pub fn aws_env_as(endpoint: &str, keys: &crate::iam::Keys) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = aws_env(endpoint)
        .into_iter()
        .filter(|(k, _)| !k.starts_with("AWS_ACCESS_KEY_ID") && !k.starts_with("AWS_SECRET_ACCESS_KEY"))
        .collect();
    env.push(("AWS_ACCESS_KEY_ID".into(), keys.access_key_id.clone()));
    env.push(("AWS_SECRET_ACCESS_KEY".into(), keys.secret_access_key.clone()));
    env
}

/// The environment every AWS SDK client needs to reach moto without IAM enforcement (moto's `test` keys).
pub fn aws_env(endpoint: &str) -> Vec<(String, String)> {
    [
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}
