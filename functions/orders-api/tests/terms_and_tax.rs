//! PPN and payment terms through `orders-api` against real PostgreSQL: quotes and orders carry PPN as PMK 131/2024
//! has it (12 % on a DPP of 11/12 of the price, rounded down), a rate change in system_config applies from its day,
//! and a partner on terms gets a confirmed order that goes to the ERP without the gateway and counts against credit
//! exactly once until the ERP reports it paid.

mod common;

use common::{as_caller, body, harness, order_event, status};
use serde_json::{json, Value};
use supply_sync::SyncLedger;

fn quote_event(token: &str, lines: Value) -> Value {
    let mut ev = as_caller(testkit::event("orders-api/create-quote.json"), token);
    ev["body"] = json!({ "lines": lines }).to_string().into();
    ev
}

/// The PPN the law asks on `total`, computed here from the rule, not from Niaga's code: 12 % × 11/12 × price is
/// 11 % of it, rounded down; the DPP nilai lain is 11/12 of it, shown rounded down.
fn pmk_131(total: i64) -> (i64, i64) {
    (total * 11 / 12, total * 11 / 100)
}

#[tokio::test]
async fn a_quote_and_the_order_placed_from_it_carry_ppn_at_twelve_percent_on_eleven_twelfths() {
    let h = harness(2).await;
    let (_, token) = testkit::auth::partner_token(&h.client, "P-00001").await;
    let lines = json!([{ "sku": "SHM-00001", "quantity": 7 }, { "sku": "CND-00002", "quantity": 3 }]);
    let q = body(&h.call(quote_event(&token, lines.clone())).await);
    let total = q["total"].as_i64().unwrap();
    let (dpp, ppn) = pmk_131(total);
    assert_eq!(q["ppn_tariff_bp"], 1_200, "{q}");
    assert_eq!(
        (q["dpp_numerator"].as_i64(), q["dpp_denominator"].as_i64()),
        (Some(11), Some(12))
    );
    assert_eq!(q["dpp"], dpp);
    assert_eq!(q["ppn"], ppn);
    assert_eq!(q["total_incl_tax"], total + ppn);

    let placed = h.call(order_event(&token, "ppn-1", lines)).await;
    assert_eq!(status(&placed), 201, "{placed}");
    let order = body(&placed);
    for k in ["total", "dpp", "ppn", "total_incl_tax", "ppn_tariff_bp"] {
        assert_eq!(order[k], q[k], "{k}: the order carries the quote's PPN");
    }
    assert_eq!(order["status"], "pending_payment");
    assert!(order["payment_terms_days"].is_null());
    let id = order["id"].as_str().unwrap();
    let row = h
        .client
        .query_one(
            "SELECT dpp, ppn, total_incl_tax FROM orders WHERE id = $1::text::uuid",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(
        (row.get::<_, i64>(0), row.get::<_, i64>(1), row.get::<_, i64>(2)),
        (dpp, ppn, total + ppn)
    );
    let event: Value = h
        .client
        .query_one("SELECT payload FROM outbox WHERE event_type = 'order.placed'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        event["total_incl_tax"],
        total + ppn,
        "notifications ask for what is owed"
    );
}

#[tokio::test]
async fn a_ppn_rate_entered_in_system_config_applies_from_its_day_and_not_before() {
    let h = harness(2).await;
    let (_, token) = testkit::auth::partner_token(&h.client, "P-00002").await;
    let today = commercial::tax_day(chrono::Utc::now());
    let set = |entries: Value| {
        let c = &h.client;
        async move {
            c.execute(
                "UPDATE system_config SET value = $1, version = version + 1 WHERE key = 'tax.ppn_schedule'",
                &[&entries],
            )
            .await
            .unwrap();
        }
    };
    let lines = json!([{ "sku": "SHM-00001", "quantity": 5 }]);
    // A change dated tomorrow changes nothing yet.
    set(json!([
        {"from": "2025-01-01", "tariff_bp": 1200, "dpp_twelfths": 11},
        {"from": (today + chrono::Days::new(1)).to_string(), "tariff_bp": 1500, "dpp_twelfths": 12},
    ]))
    .await;
    let q = body(&h.call(quote_event(&token, lines.clone())).await);
    assert_eq!(q["ppn"], pmk_131(q["total"].as_i64().unwrap()).1);
    // Dated today, it applies now: 15 % on the whole price, no deploy.
    set(json!([
        {"from": "2025-01-01", "tariff_bp": 1200, "dpp_twelfths": 11},
        {"from": today.to_string(), "tariff_bp": 1500, "dpp_twelfths": 12},
    ]))
    .await;
    let q = body(&h.call(quote_event(&token, lines.clone())).await);
    let total = q["total"].as_i64().unwrap();
    assert_eq!(
        (q["ppn_tariff_bp"].as_i64(), q["dpp"].as_i64()),
        (Some(1_500), Some(total))
    );
    assert_eq!(q["ppn"], total * 15 / 100);
    let order = body(&h.call(order_event(&token, "rate-1", lines)).await);
    assert_eq!(order["ppn"], total * 15 / 100);
    // A schedule that covers no day is a fault of configuration: no untaxed order is taken.
    set(json!([{"from": "2999-01-01", "tariff_bp": 1200, "dpp_twelfths": 11}])).await;
    let refused = h
        .call(order_event(
            &token,
            "rate-2",
            json!([{ "sku": "SHM-00001", "quantity": 1 }]),
        ))
        .await;
    assert_eq!(status(&refused), 503, "{refused}");
    assert_eq!(h.count("SELECT count(*) FROM orders").await, 1);
}

#[tokio::test]
async fn a_partner_on_terms_gets_a_confirmed_order_that_goes_to_the_erp_without_the_gateway() {
    let h = harness(2).await;
    h.client
        .execute(
            "UPDATE partners SET payment_terms_days = 30 WHERE code = 'P-00009'",
            &[],
        )
        .await
        .unwrap();
    let (_, token) = testkit::auth::partner_token(&h.client, "P-00009").await;
    let before = h.stock("SHM-00001").await;
    let placed = h
        .call(order_event(
            &token,
            "terms-1",
            json!([{ "sku": "SHM-00001", "quantity": 4 }]),
        ))
        .await;
    assert_eq!(status(&placed), 201, "{placed}");
    let order = body(&placed);
    assert_eq!(order["status"], "confirmed");
    assert_eq!(order["payment_terms_days"], 30);
    let placed_at = chrono::DateTime::parse_from_rfc3339(order["placed_at"].as_str().unwrap()).unwrap();
    let due = chrono::DateTime::parse_from_rfc3339(order["payment_due_at"].as_str().unwrap()).unwrap();
    assert_eq!(
        due - placed_at,
        chrono::Duration::days(30),
        "due when the ERP's invoice is"
    );
    assert_eq!(
        order["ppn"],
        pmk_131(order["total"].as_i64().unwrap()).1,
        "a terms invoice carries PPN too"
    );
    assert_eq!(
        h.stock("SHM-00001").await.0,
        before.0 + 4,
        "its stock is held for shipping"
    );
    // It goes to the ERP on its own event; nothing asks for a payment.
    assert_eq!(
        h.count("SELECT count(*) FROM outbox WHERE event_type = 'order.confirmed'")
            .await,
        1
    );
    assert_eq!(
        h.count("SELECT count(*) FROM outbox WHERE event_type = 'order.placed'")
            .await,
        0
    );
    // The expiry job has nothing to expire, however long it waits.
    let expired = h
        .api
        .orders()
        .expire_overdue(chrono::Utc::now() + chrono::Duration::days(60), 100)
        .await
        .unwrap();
    assert_eq!(expired, 0);
    let id = uuid::Uuid::parse_str(order["id"].as_str().unwrap()).unwrap();
    let sent = h
        .api
        .orders()
        .mark_sent_to_erp(id, "SO-1", chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(sent.status, orders::OrderStatus::SentToErp);
    // Cancelling is for unpaid gateway orders; a confirmed sale is the ERP's to undo.
    let mut cancel = as_caller(testkit::event("orders-api/cancel-order.json"), &token);
    let path = format!("/orders/{id}/cancel");
    cancel["rawPath"] = path.clone().into();
    cancel["requestContext"]["http"]["path"] = path.into();
    assert_eq!(status(&h.call(cancel).await), 409);
}

#[tokio::test]
async fn a_terms_order_counts_against_credit_until_an_erp_debt_snapshot_carries_it_and_never_twice() {
    let h = harness(2).await;
    let (p, token) = testkit::auth::partner_token(&h.client, "P-00010").await;
    let lines = json!([{ "sku": "SHM-00001", "quantity": 10 }]);
    let each = body(&h.call(quote_event(&token, lines.clone())).await)["total_incl_tax"]
        .as_i64()
        .unwrap();
    let debt = 1_000_000i64;
    // Room for one order and a half.
    h.client
        .execute(
            "UPDATE partners SET payment_terms_days = 14, credit_limit = $1, erp_debt = $2, erp_synced_at = NULL
             WHERE id = $3",
            &[&(debt + each + each / 2), &debt, &p.id],
        )
        .await
        .unwrap();
    let place = |key: &'static str| h.call(order_event(&token, key, lines.clone()));
    let first = place("credit-1").await;
    assert_eq!(status(&first), 201, "{first}");
    let id = uuid::Uuid::parse_str(body(&first)["id"].as_str().unwrap()).unwrap();
    let refused = |r: &Value, open: i64, erp_debt: i64| {
        assert_eq!(status(r), 422, "{r}");
        let b = body(r);
        assert_eq!(b["type"], "urn:niaga:problem:credit-limit-exceeded");
        assert_eq!(
            (b["open_unpaid"].as_i64(), b["erp_debt"].as_i64()),
            (Some(open), Some(erp_debt))
        );
    };
    // Confirmed, not yet in the ERP: counted here.
    refused(&place("credit-2").await, each, debt);

    // The ERP has it, but the last debt snapshot is older: still counted here.
    let erp = store::erp_sync::PgErpSync::new(h.db.db());
    erp.apply_balances(chrono::Utc::now(), &[(p.id, debt)], 0)
        .await
        .unwrap();
    h.api
        .orders()
        .mark_sent_to_erp(id, "SO-7", chrono::Utc::now())
        .await
        .unwrap();
    refused(&place("credit-3").await, each, debt);

    // A snapshot taken after the ERP took it carries it as debt: counted there and no longer here.
    erp.apply_balances(chrono::Utc::now(), &[(p.id, debt + each)], 0)
        .await
        .unwrap();
    refused(&place("credit-4").await, 0, debt + each);

    // The ERP records the payment: the room comes back.
    erp.apply_balances(chrono::Utc::now(), &[(p.id, debt)], 0)
        .await
        .unwrap();
    let second = place("credit-5").await;
    assert_eq!(status(&second), 201, "{second}");
    assert_eq!(body(&second)["status"], "confirmed");
}
