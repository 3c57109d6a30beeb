//! TLS for the local PostgreSQL cluster, so the stage is as strict as RDS with `rds.force_ssl`: a project-local
//! CA (`.niaga/tls/ca.pem`, made once and reused across runs, made again when missing) signs a server
//! certificate for `localhost`, `127.0.0.1` and `::1`, and everything that connects (functions, tests, xtask)
//! verifies it `verify-full` against that CA, as functions verify RDS and RDS Proxy in AWS.

use crate::services::state_dir;
use anyhow::{Context, Result};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Names the server certificate is valid for: what the local URLs use.
pub const SERVER_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

const CA_NAME: &str = "Niaga local PostgreSQL CA";

/// The project CA's certificate (PEM): what local clients trust (`DATABASE_CA`, `NIAGA_TEST_PG_CA`).
pub fn ca_path() -> PathBuf {
    state_dir().join("tls").join("ca.pem")
}

fn ca_key_path() -> PathBuf {
    state_dir().join("tls").join("ca.key")
}

/// The server's certificate and key files.
#[derive(Debug, Clone)]
pub struct ServerFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The CA's parameters; the same every time, so a certificate rebuilt from them over the saved key names the
/// saved CA as issuer (same subject, same key identifier).
fn ca_params() -> Result<CertificateParams> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, CA_NAME);
    params.distinguished_name.push(DnType::OrganizationName, "Niaga");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    Ok(params)
}

fn write_private(path: &Path, contents: &str) -> Result<()> {
    std::fs::write(path, contents).with_context(|| format!("writing {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(())
}

/// The CA's key and PEM, reusing the saved pair when both files are there and the key parses.
fn ensure_ca() -> Result<(KeyPair, String)> {
    let (cert_path, key_path) = (ca_path(), ca_key_path());
    if let (Ok(pem), Ok(key)) = (std::fs::read_to_string(&cert_path), std::fs::read_to_string(&key_path)) {
        if let Ok(key) = KeyPair::from_pem(&key) {
            return Ok((key, pem));
        }
    }
    crate::services::step(format!("creating the local PostgreSQL CA in {}", cert_path.display()));
    let dir = cert_path.parent().context("the CA folder")?;
    std::fs::create_dir_all(dir)?;
    let key = KeyPair::generate()?;
    let pem = ca_params()?.self_signed(&key)?.pem();
    write_private(&key_path, &key.serialize_pem())?;
    std::fs::write(&cert_path, &pem)?;
    Ok((key, pem))
}

/// Makes sure the CA exists and `dir` holds a server certificate signed by it (made again when missing or signed
/// by an earlier CA). The key file is 0600, as PostgreSQL requires; the caller hands both files to the server's
/// user.
pub fn ensure_server_files(dir: &Path) -> Result<ServerFiles> {
    let (ca_key, ca_pem) = ensure_ca()?;
    std::fs::create_dir_all(dir)?;
    let files = ServerFiles {
        cert: dir.join("server.crt"),
        key: dir.join("server.key"),
    };
    // The CA the server certificate was signed by, to notice a CA made anew.
    let signed_by = dir.join("signed-by-ca.pem");
    let current = files.cert.is_file()
        && files.key.is_file()
        && std::fs::read_to_string(&signed_by).ok().as_deref() == Some(ca_pem.as_str());
    if current {
        return Ok(files);
    }
    let issuer = ca_params()?.self_signed(&ca_key)?;
    let mut params = CertificateParams::new(SERVER_NAMES.iter().map(|n| n.to_string()).collect::<Vec<_>>())?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, "localhost");
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &issuer, &ca_key)?;
    write_private(&files.key, &key.serialize_pem())?;
    std::fs::write(&files.cert, cert.pem())?;
    std::fs::write(&signed_by, &ca_pem)?;
    Ok(files)
}

/// PostgreSQL settings serving TLS with `files` (included from `postgresql.conf`).
pub fn server_settings(files: &ServerFiles) -> String {
    format!(
        "# Written by cargo xtask on every start; edits are overwritten.\n\
         ssl = on\n\
         ssl_cert_file = '{}'\n\
         ssl_key_file = '{}'\n\
         ssl_min_protocol_version = 'TLSv1.2'\n",
        files.cert.display(),
        files.key.display()
    )
}
