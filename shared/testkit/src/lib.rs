//! Test support shared by every crate's tests. Only ever a `[dev-dependencies]` entry: no deployed binary may
//! link it.
//!
//! `cargo xtask test` starts a project-local PostgreSQL cluster and moto, prepares two template databases
//! (`niaga_tpl_empty`: migrated; `niaga_tpl_seeded`: migrated and seeded small), and exports:
//! - `NIAGA_TEST_PG`: an admin URL to the cluster;
//! - `NIAGA_TEST_PG_CA`: the cluster's CA certificate (PEM): the cluster accepts TCP connections only over TLS,
//!   and tests verify it `verify-full` as functions verify RDS;
//! - `AWS_ENDPOINT_URL` and the admin keys of moto, which enforces IAM (for test setup);
//! - `NIAGA_TEST_PRINCIPALS`: each function's own keys, for the clients of a function under test
//!   ([`aws_config_for`]).
//!
//! A test asks for [`fresh_db`] and gets its own database cloned from a template in a few milliseconds, so
//! tests never see each other's rows and can run in parallel.

use std::path::PathBuf;

/// Template database names, created by `cargo xtask test`.
pub const TEMPLATE_EMPTY: &str = "niaga_tpl_empty";
pub const TEMPLATE_SEEDED: &str = "niaga_tpl_seeded";
/// Sizes seeded into [`TEMPLATE_SEEDED`].
pub const SEEDED_PRODUCTS: usize = 600;
pub const SEEDED_PARTNERS: usize = 40;

fn must(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: run the tests through `cargo xtask test`, which starts PostgreSQL and moto")
    })
}

/// The cluster's admin URL.
pub fn admin_url() -> String {
    must("NIAGA_TEST_PG")
}

/// The path of the cluster's CA certificate (PEM).
pub fn database_ca() -> String {
    must("NIAGA_TEST_PG_CA")
}

/// Local pool settings for `url`, over TLS verified against the cluster's CA.
pub fn db_settings(url: &str) -> store::DbSettings {
    store::DbSettings::verified(url, store::CaBundle::File(database_ca().into()))
}

/// moto's endpoint.
pub fn moto_endpoint() -> String {
    must("AWS_ENDPOINT_URL")
}

/// A database of one's own.
#[derive(Debug, Clone)]
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    /// Pools over this database with local settings.
    pub fn db(&self) -> store::Db {
        store::Db::new(
            &db_settings(&self.url),
            std::sync::Arc::new(store::StaticCredentials(None)),
        )
        .expect("pool settings are valid")
    }

    /// Pools over this database with `size` connections each and a patient wait, standing in for many Lambda
    /// instances at once (concurrency tests).
    pub fn db_with_pool(&self, size: usize) -> store::Db {
        let mut settings = db_settings(&self.url);
        settings.pool_size = size;
        settings.wait_timeout = std::time::Duration::from_secs(60);
        store::Db::new(&settings, std::sync::Arc::new(store::StaticCredentials(None))).expect("pool settings are valid")
    }

    /// A plain client.
    pub async fn client(&self) -> tokio_postgres::Client {
        connect(&self.url).await
    }
}

/// Which template to clone.
#[derive(Debug, Clone, Copy)]
pub enum Template {
    /// No tables at all (PostgreSQL's `template0`): for migration tests.
    Blank,
    /// Migrated, no rows beyond the migrations' own.
    Empty,
    /// Migrated and seeded with [`SEEDED_PRODUCTS`] products and [`SEEDED_PARTNERS`] partners.
    Seeded,
}

/// Group role whose members must log in with a password in the test cluster (`cargo xtask test` sets this up).
pub const PASSWORD_AUTH_ROLE: &str = "niaga_password_auth";

/// Creates a fresh database from a template.
pub async fn fresh_db(template: Template) -> TestDb {
    let admin = admin_url();
    let tpl = match template {
        Template::Blank => "template0",
        Template::Empty => TEMPLATE_EMPTY,
        Template::Seeded => TEMPLATE_SEEDED,
    };
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let client = connect(&admin).await;
    // Identifiers cannot be bound; `name` is generated above and `tpl` is a constant.
    client
        .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {tpl}"))
        .await
        .unwrap_or_else(|e| panic!("creating {name} from {tpl}: {}", store::pool::describe(&e)));
    let url = with_database(&admin, &name);
    TestDb { name, url }
}

/// `url` with its database name replaced.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, _) = url.rsplit_once('/').expect("a URL with a database path");
    let query = url.split_once('?').map(|(_, q)| format!("?{q}")).unwrap_or_default();
    format!("{base}/{db}{query}")
}

/// A plain client over TLS verified against the cluster's CA.
pub async fn connect(url: &str) -> tokio_postgres::Client {
    let ca = store::CaBundle::File(database_ca().into());
    store::pool::connect_once(url, store::TlsMode::VerifyFull, Some(&ca))
        .await
        .unwrap_or_else(|e| panic!("connecting to {url}: {e:#}"))
}

/// SDK configuration pointing at moto as the setup principal: the admin keys `cargo xtask test` exports as
/// `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` (moto enforces IAM). For test setup only: a function's own clients
/// come from [`aws_config_for`].
pub async fn aws_config() -> aws_config::SdkConfig {
    config_with(&must("AWS_ACCESS_KEY_ID"), &must("AWS_SECRET_ACCESS_KEY")).await
}

/// SDK configuration pointing at moto as `function`'s own principal: the user `cargo xtask test` created with
/// exactly the policy terraform renders for that function (`NIAGA_TEST_PRINCIPALS`). A call the policy does not
/// grant gets AccessDenied, as it would in AWS.
pub async fn aws_config_for(function: &str) -> aws_config::SdkConfig {
    let principals: serde_json::Value =
        serde_json::from_str(&must("NIAGA_TEST_PRINCIPALS")).expect("NIAGA_TEST_PRINCIPALS is a JSON object");
    let keys = &principals[function];
    let (Some(id), Some(secret)) = (keys["access_key_id"].as_str(), keys["secret_access_key"].as_str()) else {
        panic!("NIAGA_TEST_PRINCIPALS has no keys for `{function}`: is it a manifest function?")
    };
    config_with(id, secret).await
}

async fn config_with(id: &str, secret: &str) -> aws_config::SdkConfig {
    config_at(&moto_endpoint(), id, secret).await
}

async fn config_at(endpoint: &str, id: &str, secret: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
            id.to_string(),
            secret.to_string(),
            None,
            None,
            "testkit",
        ))
        .load()
        .await
}

/// Opens a presigned S3 download link on moto as the principal that signed it.
///
/// moto cannot authenticate a presigned (query-string) request while it enforces IAM: its S3 authoriser reads the
/// `Authorization` header, which such a request lacks (moto/s3/responses.py, moto 5.2.1). So the link must name
/// `keys`' access key as its credential (the function signed it), and the object it points to is fetched with a
/// signed `GetObject` as that same principal: the call the link authorises, checked against the same policy.
pub async fn open_presigned(link: &str, access_key_id: &str, secret_access_key: &str) -> Result<Vec<u8>, String> {
    let (base, query) = link.split_once('?').ok_or_else(|| format!("{link} is not presigned"))?;
    let credential = query
        .split('&')
        .find_map(|p| p.strip_prefix("X-Amz-Credential="))
        .ok_or_else(|| format!("{link} has no X-Amz-Credential"))?;
    if !credential.starts_with(&format!("{access_key_id}%2F")) && !credential.starts_with(&format!("{access_key_id}/"))
    {
        return Err(format!("{link} is not signed by {access_key_id}"));
    }
    let (scheme, rest) = base.split_once("://").ok_or_else(|| format!("{link} has no scheme"))?;
    let (host, path) = rest.split_once('/').ok_or_else(|| format!("{link} has no path"))?;
    let path = percent_decode(path);
    let (bucket, key) = path.split_once('/').ok_or_else(|| format!("{link} names no key"))?;
    // The link's own endpoint (path-style, as the emulator signs it): callers outside `cargo xtask test`, such as
    // `cargo xtask up --check`, have no AWS_ENDPOINT_URL.
    let sdk = config_at(&format!("{scheme}://{host}"), access_key_id, secret_access_key).await;
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build());
    let out = s3.get_object().bucket(bucket).key(key).send().await.map_err(|e| {
        format!(
            "GetObject {bucket}/{key}: {}",
            aws_sdk_s3::error::DisplayErrorContext(&e)
        )
    })?;
    let bytes = out
        .body
        .collect()
        .await
        .map_err(|e| format!("reading {bucket}/{key}: {e}"))?;
    Ok(bytes.into_bytes().to_vec())
}

/// [`open_presigned`] with `function`'s keys from `NIAGA_TEST_PRINCIPALS`.
pub async fn open_presigned_as(link: &str, function: &str) -> Vec<u8> {
    let principals: serde_json::Value =
        serde_json::from_str(&must("NIAGA_TEST_PRINCIPALS")).expect("NIAGA_TEST_PRINCIPALS is a JSON object");
    let keys = &principals[function];
    let (Some(id), Some(secret)) = (keys["access_key_id"].as_str(), keys["secret_access_key"].as_str()) else {
        panic!("NIAGA_TEST_PRINCIPALS has no keys for `{function}`")
    };
    open_presigned(link, id, secret).await.unwrap_or_else(|e| panic!("{e}"))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Creates a secret with a unique name in moto and returns the name.
pub async fn put_secret(prefix: &str, value: &str) -> String {
    let name = format!("{prefix}/{}", uuid::Uuid::new_v4().simple());
    let client = aws_sdk_secretsmanager::Client::new(&aws_config().await);
    client
        .create_secret()
        .name(&name)
        .secret_string(value)
        .send()
        .await
        .expect("moto creates the secret");
    name
}

/// Creates a DynamoDB table on moto with a string hash key `pk`, as niaga.json's tables have.
pub async fn create_table(name: &str) {
    use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};
    aws_sdk_dynamodb::Client::new(&aws_config().await)
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("a valid attribute definition"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .expect("a valid key schema"),
        )
        .send()
        .await
        .expect("moto creates the table");
}

/// A fresh environment name (`t` and 8 hex digits), so a test's physical resource names are its own.
pub fn unique_env() -> String {
    format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root exists")
}

/// A sample event from `events/`, parsed.
pub fn event(path: &str) -> serde_json::Value {
    let full = workspace_root().join("events").join(path);
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("reading {}: {e}", full.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", full.display()))
}

/// Sets the minimum order total to zero: tests place small orders, and the minimum is a rule with its own test.
pub async fn no_minimum_order(client: &tokio_postgres::Client) {
    client
        .execute(
            "UPDATE system_config SET value = '0' WHERE key = 'pricing.minimum_order_total'",
            &[],
        )
        .await
        .expect("system_config has the minimum order key");
}

/// Tokens for tests: a fixed key and helpers that mint tokens for seeded accounts.
pub mod auth {
    use identity::{Jwt, JwtConfig, PartnerAttrs, Role, Subject};
    use kernel::{GeoPoint, SecretString};

    /// The signing key test functions are built with.
    pub const KEY: &str = "niaga-test-signing-key-0123456789abcdef";

    pub fn jwt() -> Jwt {
        Jwt::hs256(&SecretString::new(KEY), JwtConfig::niaga("local")).expect("the test key is long enough")
    }

    /// The partner with this code (`P-00001`), as its token would carry it.
    pub async fn partner(client: &tokio_postgres::Client, code: &str) -> PartnerAttrs {
        let row = client
            .query_one(
                "SELECT id, tier, lat_e6, lon_e6 FROM partners WHERE code = $1",
                &[&code],
            )
            .await
            .unwrap_or_else(|e| panic!("partner {code}: {e}"));
        PartnerAttrs {
            id: row.get(0),
            tier: row.get::<_, String>(1).parse().expect("a tier"),
            geo: GeoPoint::new(row.get(2), row.get(3)).expect("a geotag"),
        }
    }

    /// A valid token for `sub` with `role` (and the partner's attributes for a partner token).
    pub fn token(sub: &str, role: Role, partner: Option<PartnerAttrs>) -> String {
        let subject = Subject {
            sub: sub.to_string(),
            role,
            partner,
        };
        jwt()
            .issue(
                &subject,
                chrono::Utc::now().timestamp(),
                &uuid::Uuid::new_v4().to_string(),
            )
            .expect("the subject is consistent")
    }

    /// The actor a partner's own token resolves to (for tests that call the orders use-cases directly).
    pub async fn partner_actor(client: &tokio_postgres::Client, code: &str) -> identity::Actor {
        identity::Actor {
            subject: format!("partner:{code}"),
            role: Role::Partner,
            partner: Some(partner(client, code).await),
            masquerading: false,
        }
    }

    /// A partner's own token.
    pub async fn partner_token(client: &tokio_postgres::Client, code: &str) -> (PartnerAttrs, String) {
        let p = partner(client, code).await;
        (p, token(&format!("partner:{code}"), Role::Partner, Some(p)))
    }
}

/// A stand-in for the payment gateway's Get Status API (`GET /v2/{order_id}/status`, HTTP Basic with the server
/// key), on `127.0.0.1` at a port of its own, with switches to make it fail on demand.
pub mod midtrans {
    use axum::extract::{Path, State};
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::{IntoResponse, Response};
    use axum::routing::get;
    use axum::{Json, Router};
    use base64::Engine;
    use serde_json::{json, Value};
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    #[derive(Debug, Default)]
    struct Switches {
        /// Order id → the status document the gateway answers with.
        transactions: HashMap<String, Value>,
        /// The next this many calls answer 503.
        fail_next: u32,
        /// Every call answers 503 while on.
        outage: bool,
        /// Every call waits this long before answering.
        delay: Duration,
        /// Every call answers 200 with a body that is not a status document.
        malformed: bool,
        calls: u32,
    }

    /// The fake; it stops when dropped.
    #[derive(Debug)]
    pub struct FakeMidtrans {
        url: String,
        switches: Arc<Mutex<Switches>>,
        task: tokio::task::JoinHandle<()>,
    }

    impl Drop for FakeMidtrans {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    impl FakeMidtrans {
        /// Serves on a free loopback port, accepting `server_key` only.
        pub async fn start(server_key: &str) -> FakeMidtrans {
            let switches = Arc::new(Mutex::new(Switches::default()));
            let expected = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{server_key}:"))
            );
            let app = Router::new()
                .route("/v2/{order_id}/status", get(status))
                .with_state((switches.clone(), Arc::new(expected)));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("a loopback port");
            let url = format!("http://{}", listener.local_addr().expect("bound"));
            let task = tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            });
            FakeMidtrans { url, switches, task }
        }

        /// The base URL, as `NIAGA_PAYMENTS_STATUS_URL` takes it.
        pub fn url(&self) -> &str {
            &self.url
        }

        fn with<T>(&self, f: impl FnOnce(&mut Switches) -> T) -> T {
            f(&mut self.switches.lock().expect("fake midtrans lock"))
        }

        /// From now on the gateway reports `transaction_id` settled for `gross_amount` ("1250000.00").
        pub fn settle(&self, order_id: &str, transaction_id: &str, gross_amount: &str) {
            self.report(order_id, transaction_id, "200", "settlement", gross_amount);
        }

        /// From now on the gateway reports this transaction in this status (with this status code).
        pub fn report(&self, order_id: &str, transaction_id: &str, status_code: &str, status: &str, amount: &str) {
            let doc = json!({
                "status_code": status_code,
                "status_message": "Success, transaction is found",
                "transaction_id": transaction_id,
                "order_id": order_id,
                "merchant_id": "G141532850",
                "gross_amount": amount,
                "currency": "IDR",
                "payment_type": "bank_transfer",
                "transaction_time": "2026-11-28 10:15:07",
                "transaction_status": status,
                "fraud_status": "accept",
            });
            self.with(|s| s.transactions.insert(order_id.to_string(), doc));
        }

        /// The next `n` calls answer 503.
        pub fn fail_next(&self, n: u32) {
            self.with(|s| s.fail_next = n);
        }

        /// Every call answers 503 while `on`.
        pub fn outage(&self, on: bool) {
            self.with(|s| s.outage = on);
        }

        /// Every call waits `delay` before answering.
        pub fn delay(&self, delay: Duration) {
            self.with(|s| s.delay = delay);
        }

        /// Every call answers 200 with a body that is not a status document while `on`.
        pub fn malformed(&self, on: bool) {
            self.with(|s| s.malformed = on);
        }

        /// How many calls arrived, answered or not.
        pub fn calls(&self) -> u32 {
            self.with(|s| s.calls)
        }
    }

    type Shared = (Arc<Mutex<Switches>>, Arc<String>);

    async fn status(
        State((switches, expected)): State<Shared>,
        Path(order_id): Path<String>,
        headers: HeaderMap,
    ) -> Response {
        let (delay, answer) = {
            let mut s = switches.lock().expect("fake midtrans lock");
            s.calls += 1;
            let authorized = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v == expected.as_str());
            let answer = if s.outage || s.fail_next > 0 {
                s.fail_next = s.fail_next.saturating_sub(1);
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Json(json!({"status_code": "503", "status_message": "down"})),
                )
            } else if !authorized {
                (
                    StatusCode::UNAUTHORIZED,
                    Json(
                        json!({"status_code": "401", "status_message": "Access denied due to unauthorized transaction"}),
                    ),
                )
            } else if s.malformed {
                (StatusCode::OK, Json(json!({"hello": "world"})))
            } else {
                match s.transactions.get(&order_id) {
                    Some(doc) => (StatusCode::OK, Json(doc.clone())),
                    None => (
                        StatusCode::NOT_FOUND,
                        Json(json!({"status_code": "404", "status_message": "Transaction doesn't exist."})),
                    ),
                }
            };
            (s.delay, answer)
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        answer.into_response()
    }
}
