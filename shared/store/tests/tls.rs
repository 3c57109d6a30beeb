//! TLS to PostgreSQL as deployed: each endpoint is verified `verify-full` against the CA bundle configured for it.
//!
//! Expectations come from AWS (see docs/testing.md): an RDS instance's own endpoint (the read replica) presents a
//! certificate from an RDS CA (`rds-ca-rsa2048-g1`, `rds-ca-rsa4096-g1`, `rds-ca-ecc384-g1`), whose roots are in
//! the global bundle at truststore.pki.rds.amazonaws.com; RDS Proxy presents an ACM certificate chained to Amazon
//! Root CA 1; with `rds.force_ssl` the server refuses clients without TLS. The local cluster plays the server with
//! a certificate from the project CA (`NIAGA_TEST_PG_CA`), valid for `localhost` and `127.0.0.1`.

use sha2::{Digest, Sha256};
use std::sync::Arc;
use store::{CaBundle, Db, DbSettings, StaticCredentials, TlsMode};

fn local_ca() -> CaBundle {
    CaBundle::File(testkit::database_ca().into())
}

/// The admin URL with its host replaced by `host` (and its address pinned with `hostaddr` when given).
fn with_host(host: &str, hostaddr: Option<&str>) -> String {
    let admin = testkit::admin_url();
    let (scheme_user, rest) = admin.split_once('@').expect("a URL with a user");
    let (_, port_and_path) = rest.split_once(':').expect("a URL with a port");
    let url = format!("{scheme_user}@{host}:{port_and_path}");
    match hostaddr {
        Some(addr) if url.contains('?') => format!("{url}&hostaddr={addr}"),
        Some(addr) => format!("{url}?hostaddr={addr}"),
        None => url,
    }
}

fn subjects(ca: &CaBundle) -> Vec<Vec<u8>> {
    ca.root_store()
        .expect("the bundle loads")
        .roots
        .iter()
        .map(|anchor| anchor.subject.as_ref().to_vec())
        .collect()
}

fn names(subjects: &[Vec<u8>], common_name: &str) -> bool {
    subjects
        .iter()
        .any(|s| s.windows(common_name.len()).any(|w| w == common_name.as_bytes()))
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[test]
fn the_rds_choice_is_the_rds_global_bundle_with_the_g1_roots() {
    // The checksum published for https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem.
    assert_eq!(
        sha256_hex(store::pool::RDS_GLOBAL_BUNDLE_PEM),
        "05c6b4a9bf4daa95c888711481e19cc8e2e11aed4de8db759f51f4a6fce64917"
    );
    let rds = subjects(&CaBundle::Rds);
    assert!(rds.len() > 50, "one root per Region and key type, got {}", rds.len());
    // The roots of the three authorities an instance can name, in the Region production runs in and in us-east-1.
    for region in ["ap-southeast-3", "us-east-1"] {
        for kind in ["RSA2048", "RSA4096", "ECC384"] {
            let cn = format!("Amazon RDS {region} Root CA {kind} G1");
            assert!(names(&rds, &cn), "{cn} is missing from the RDS bundle");
        }
    }
    // The proxy's ACM chain is another authority: the RDS bundle alone cannot verify RDS Proxy.
    assert!(!names(&rds, "Amazon Root CA 1"));
}

#[test]
fn the_rds_proxy_choice_is_amazon_root_ca_1_alone() {
    let certs = CaBundle::RdsProxy.certificates().unwrap();
    assert_eq!(certs.len(), 1);
    // Amazon Root CA 1's SHA-256 fingerprint as amazontrust.com and the Mozilla root store publish it.
    assert_eq!(
        sha256_hex(certs[0].as_ref()),
        "8ecde6884f3d87b1125ba31ac3fcb13d7016de7f57cc904fe1cb97c6ae98196e"
    );
    let proxy = subjects(&CaBundle::RdsProxy);
    assert!(names(&proxy, "Amazon Root CA 1"));
    assert!(!names(&proxy, "Amazon RDS"));
}

#[test]
fn a_ca_choice_is_a_known_bundle_or_a_path() {
    assert_eq!("rds".parse::<CaBundle>(), Ok(CaBundle::Rds));
    assert_eq!("rds-proxy".parse::<CaBundle>(), Ok(CaBundle::RdsProxy));
    assert_eq!(
        "/etc/niaga/ca.pem".parse::<CaBundle>(),
        Ok(CaBundle::File("/etc/niaga/ca.pem".into()))
    );
    assert!("webpki".parse::<CaBundle>().is_err());
    assert!("require".parse::<TlsMode>().is_err());
    let empty = std::env::temp_dir().join(format!("niaga-empty-ca-{}.pem", std::process::id()));
    std::fs::write(&empty, "").unwrap();
    assert!(CaBundle::File(empty.clone()).root_store().is_err());
    std::fs::remove_file(empty).unwrap();
}

/// Writer through 127.0.0.1, reader through `localhost`: two endpoints, two pools, each with its own CA.
fn split(reader_ca: CaBundle) -> Db {
    let settings = DbSettings {
        reader_url: Some(with_host("localhost", None)),
        reader_ca: Some(reader_ca),
        connect_timeout: std::time::Duration::from_secs(5),
        ..DbSettings::verified(&testkit::admin_url(), local_ca())
    };
    Db::new(&settings, Arc::new(StaticCredentials(None))).expect("pool settings are valid")
}

async fn reads(db: &Db) -> Result<i32, String> {
    let client = db.read_client().await.map_err(|e| format!("{e:#}"))?;
    let row = client.query_one("SELECT 1", &[]).await.map_err(|e| e.to_string())?;
    Ok(row.get(0))
}

#[tokio::test]
async fn the_reader_trusts_the_ca_configured_for_it_and_nothing_else() {
    // The server's certificate chains to the local CA: the reader accepts it only when that is its CA.
    assert_eq!(reads(&split(local_ca())).await, Ok(1));
    for other in [CaBundle::Rds, CaBundle::RdsProxy] {
        let db = split(other.clone());
        let err = reads(&db)
            .await
            .expect_err("a certificate outside the reader's CA is refused");
        assert!(err.to_lowercase().contains("certificate"), "{other}: {err}");
        // The writer, configured with the local CA, is unaffected.
        let writer = db.write_client().await.expect("the writer verifies against its own CA");
        writer.query_one("SELECT 1", &[]).await.unwrap();
    }
}

#[tokio::test]
async fn verify_full_refuses_a_host_name_the_certificate_does_not_name() {
    let ping = |url: String| async move {
        let db = Db::new(
            &DbSettings::verified(&url, local_ca()),
            Arc::new(StaticCredentials(None)),
        )
        .unwrap();
        db.ping().await.map_err(|e| e.to_string())
    };
    // The same server, reached by the names in its certificate...
    ping(with_host("localhost", None)).await.unwrap();
    ping(with_host("127.0.0.1", None)).await.unwrap();
    // ...and by a name that is not in it, at the same address.
    let err = ping(with_host("db.niaga.invalid", Some("127.0.0.1")))
        .await
        .expect_err("a certificate for another name is refused");
    assert!(err.to_lowercase().contains("certificate"), "{err}");
}

#[tokio::test]
async fn the_local_cluster_refuses_tcp_without_tls() {
    let admin = testkit::admin_url();
    let err = store::pool::connect_once(&admin, TlsMode::Disable, None)
        .await
        .expect_err("plain TCP is refused");
    let err = format!("{err:#}");
    assert!(err.contains("no encryption"), "{err}");
    let client = store::pool::connect_once(&admin, TlsMode::VerifyFull, Some(&local_ca()))
        .await
        .unwrap();
    let ssl: bool = client
        .query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    assert!(ssl);
}
