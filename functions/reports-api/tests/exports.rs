//! A profit export of 50,000 rows end to end over real PostgreSQL and S3 on moto: requested through reports-api's
//! sample events, written by export-worker, downloaded through the presigned links, opened, and counted.

use calamine::Reader;
use export_worker::ExportWorker;
use identity::Role;
use lambda_glue::http::{dispatch, Runtime};
use lambda_glue::sqs::{Message, MessageHandler};
use niaga_aws::files::Files;
use platform::auth::Authenticator;
use reports_api::ReportsApi;
use serde_json::Value;
use std::time::Duration;
use store::exports::PgExports;
use store::identity::PgIdentity;
use store::outbox::PgOutbox;
use testkit::{fresh_db, Template};

const ROWS: i64 = 50_000;

async fn call(
    rt: &Runtime,
    api: &ReportsApi<PgExports, Files, PgIdentity>,
    mut ev: Value,
    token: &str,
) -> (u16, Value) {
    ev["headers"]["authorization"] = format!("Bearer {token}").into();
    let r = dispatch(rt, api, ev, lambda_runtime::Context::default()).await;
    let body = serde_json::from_str(r["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null);
    (r["statusCode"].as_u64().unwrap() as u16, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_of_fifty_thousand_rows_downloads_opens_and_counts_right() {
    let db = fresh_db(Template::Empty).await;
    let client = db.client().await;
    client
        .execute(
            "WITH p AS (
                 INSERT INTO partners (code, name, tier, lat_e6, lon_e6, credit_limit)
                 SELECT format('X-%s', lpad(g::text, 6, '0')), 'Mitra \"Ekspor\", ' || g, 'gold', -6200000, 106816666, 0
                 FROM generate_series(1, $1::int8) AS g
                 RETURNING id)
             INSERT INTO profit_reports (month, partner_id, orders, revenue, cost_of_goods, gross_margin, returns, dpp,
                                         ppn)
             SELECT '2026-10-01', id, 3, 1000000 + id, 700000, 300000 + id, 0, (1000000 + id) * 11 / 12,
                    (1000000 + id) * 11 / 100 FROM p",
            &[&ROWS],
        )
        .await
        .unwrap();
    let sdk = testkit::aws_config().await;
    let bucket = format!("niaga-{}-exports", testkit::unique_env());
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build())
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let pool = db.db();
    let rt = platform::hooks::runtime("reports-api", None, Some(pool.clone()), Duration::from_secs(5));
    let api = ReportsApi::new(
        PgExports::new(pool.clone()),
        Files::new(&testkit::aws_config_for("reports-api").await, &bucket),
        Authenticator::new(testkit::auth::jwt(), PgIdentity::new(pool.clone())),
    );
    let admin = testkit::auth::token("admin:admin", Role::Admin, None);

    let (status, problem) = call(
        &rt,
        &api,
        testkit::event("reports-api/request-export-bad-month.json"),
        &admin,
    )
    .await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (400, Some("month")));
    let (status, export) = call(&rt, &api, testkit::event("reports-api/request-export.json"), &admin).await;
    assert_eq!((status, export["status"].as_str()), (202, Some("queued")), "{export}");
    let id = export["id"].as_str().unwrap().to_string();
    let agent = testkit::auth::token("ai_agent:seo-bot", Role::AiAgent, None);
    assert_eq!(
        call(&rt, &api, testkit::event("reports-api/request-export.json"), &agent)
            .await
            .0,
        403
    );

    // What the relay puts on the exports queue, handed to the worker as SQS would.
    let body = std::sync::Mutex::new(None);
    PgOutbox::new(pool.clone())
        .relay(Some(&id), 10, |e| {
            *body.lock().unwrap() = Some(platform::outbox::message_body(&e));
            async { Ok(()) }
        })
        .await
        .unwrap();
    let message = Message {
        message_id: "m-1".into(),
        body: body.into_inner().unwrap().unwrap(),
        receive_count: 1,
        group: None,
        event_id: None,
        queue_arn: String::new(),
        receipt_handle: String::new(),
    };
    let worker = ExportWorker::new(
        PgExports::new(pool.clone()),
        Files::new(&testkit::aws_config_for("export-worker").await, &bucket),
    );
    worker.handle(&message).await.unwrap();
    worker.handle(&message).await.unwrap();

    let mut get = testkit::event("reports-api/get-export.json");
    get["rawPath"] = format!("/reports/profit-exports/{id}").into();
    let (status, done) = call(&rt, &api, get, &admin).await;
    assert_eq!(
        (status, done["status"].as_str(), done["rows"].as_i64()),
        (200, Some("done"), Some(ROWS)),
        "{done}"
    );

    // The link, signed by reports-api, opened as reports-api (moto cannot check a presigned request's signature
    // while it enforces IAM; see testkit::open_presigned).
    let bytes = testkit::open_presigned_as(done["downloads"]["xlsx"].as_str().unwrap(), "reports-api").await;
    let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let sheet = book.worksheet_range("Laba 2026-10").unwrap();
    assert_eq!(sheet.height() as i64, ROWS + 1, "the header and every row");
    assert_eq!(
        sheet.get_value((0, 5)),
        Some(&calamine::Data::String("revenue_idr".into()))
    );
    // The month's PPN base and output tax stand beside revenue, which never includes them.
    assert_eq!(
        (sheet.get_value((0, 9)), sheet.get_value((0, 10))),
        (
            Some(&calamine::Data::String("dpp_idr".into())),
            Some(&calamine::Data::String("ppn_idr".into()))
        )
    );
    let number = |c: u32| match sheet.get_value((1, c)) {
        Some(calamine::Data::Float(f)) => *f as i64,
        Some(calamine::Data::Int(i)) => *i,
        other => panic!("column {c} is a number: {other:?}"),
    };
    let revenue = number(5);
    assert_eq!((number(9), number(10)), (revenue * 11 / 12, revenue * 11 / 100));
    assert_eq!(
        sheet.get_value((1, 2)),
        Some(&calamine::Data::String("Mitra \"Ekspor\", 1".into()))
    );

    let csv =
        String::from_utf8(testkit::open_presigned_as(done["downloads"]["csv"].as_str().unwrap(), "reports-api").await)
            .unwrap();
    assert_eq!(csv.lines().count() as i64, ROWS + 1);
    assert!(csv.lines().nth(1).unwrap().contains("\"Mitra \"\"Ekspor\"\", 1\""));
}
