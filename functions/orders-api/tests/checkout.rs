//! Checkout through `orders-api` against real PostgreSQL: orders, quotes, idempotency, flash sale, credit,
//! cancellation and listing.

mod common;

use common::lost_answers::LosesAnswers;
use common::{as_caller, body, call, harness, harness_over, order_event, status};
use futures::future::join_all;
use serde_json::{json, Value};
use std::collections::HashSet;

#[tokio::test]
async fn a_quote_prices_the_cart_at_the_partner_tier_with_the_loyalty_multiplier() {
    let h = harness(2).await;
    let (p, token) = testkit::auth::partner_token(&h.client, "P-00001").await;
    let resp = h
        .call(as_caller(testkit::event("orders-api/create-quote.json"), &token))
        .await;
    assert_eq!(status(&resp), 200, "{resp}");
    let q = body(&resp);
    let bp: i64 = h
        .client
        .query_one(
            "SELECT value::text::int8 FROM system_config WHERE key = 'pricing.loyalty_multiplier_bp.' || $1",
            &[&p.tier.as_str()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(q["tier"], p.tier.as_str());
    assert_eq!(q["multiplier_bp"], bp);
    let mut total = 0;
    for line in q["lines"].as_array().unwrap() {
        let list: i64 = h
            .client
            .query_one(
                "SELECT price FROM price_lists WHERE tier = $1 AND sku = $2",
                &[&p.tier.as_str(), &line["sku"].as_str().unwrap()],
            )
            .await
            .unwrap()
            .get(0);
        // Half away from zero, to a whole rupiah.
        let unit = (list * bp + 5_000) / 10_000;
        assert_eq!(line["list_price"], list);
        assert_eq!(line["unit_price"], unit);
        assert_eq!(line["line_total"], unit * line["quantity"].as_i64().unwrap());
        total += unit * line["quantity"].as_i64().unwrap();
    }
    assert_eq!(q["total"], total);
    assert_eq!(
        h.count("SELECT count(*) FROM orders").await,
        0,
        "a quote orders nothing"
    );
}

#[tokio::test]
async fn placing_an_order_reserves_stock_and_writes_the_order_its_outbox_event_and_audit_row_together() {
    let h = harness(2).await;
    let (p, token) = testkit::auth::partner_token(&h.client, "P-00001").await;
    let before = h.stock("SHM-00001").await;
    let resp = h
        .call(as_caller(testkit::event("orders-api/place-order.json"), &token))
        .await;
    assert_eq!(status(&resp), 201, "{resp}");
    let order = body(&resp);
    assert_eq!(order["status"], "pending_payment");
    assert_eq!(order["partner_id"], p.id);
    assert_eq!(
        resp["headers"]["location"],
        format!("/orders/{}", order["id"].as_str().unwrap())
    );
    let reserved: i64 = order["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["sku"] == "SHM-00001")
        .map(|l| l["quantity"].as_i64().unwrap())
        .sum();
    assert_eq!(reserved, 12);
    assert_eq!(h.stock("SHM-00001").await.0, before.0 + 12);
    assert_eq!(
        h.count("SELECT count(*) FROM outbox WHERE event_type = 'order.placed'")
            .await,
        1
    );
    assert_eq!(
        h.count("SELECT count(*) FROM audit_log WHERE action = 'order.place'")
            .await,
        1
    );
    let resp = h
        .call(as_caller(
            {
                let mut ev = testkit::event("orders-api/get-order.json");
                let id = order["id"].as_str().unwrap();
                ev["rawPath"] = format!("/orders/{id}").into();
                ev["requestContext"]["http"]["path"] = format!("/orders/{id}").into();
                ev
            },
            &token,
        ))
        .await;
    assert_eq!(status(&resp), 200, "{resp}");
    assert_eq!(body(&resp), order, "GET returns what POST answered");
}

#[tokio::test]
async fn a_retry_with_the_same_key_and_body_replays_the_first_answer() {
    let h = harness(2).await;
    let (_, token) = testkit::auth::partner_token(&h.client, "P-00002").await;
    let ev = order_event(&token, "retry-1", json!([{ "sku": "SHM-00001", "quantity": 1 }]));
    let first = h.call(ev.clone()).await;
    let second = h.call(ev).await;
    assert_eq!(status(&first), 201);
    assert_eq!(status(&second), 201);
    assert_eq!(second["headers"]["idempotent-replayed"], "true");
    assert!(first["headers"].get("idempotent-replayed").is_none());
    assert_eq!(body(&first), body(&second));
    assert_eq!(h.count("SELECT count(*) FROM orders").await, 1);
}

#[tokio::test]
async fn reusing_a_key_with_a_different_body_is_a_422_and_orders_nothing_more() {
    let h = harness(2).await;
    let (_, token) = testkit::auth::partner_token(&h.client, "P-00002").await;
    let first = h
        .call(order_event(
            &token,
            "reuse-1",
            json!([{ "sku": "SHM-00001", "quantity": 1 }]),
        ))
        .await;
    assert_eq!(status(&first), 201);
    let second = h
        .call(order_event(
            &token,
            "reuse-1",
            json!([{ "sku": "SHM-00001", "quantity": 2 }]),
        ))
        .await;
    assert_eq!(status(&second), 422, "{second}");
    assert_eq!(body(&second)["type"], "urn:niaga:problem:idempotency-key-reused");
    assert_eq!(h.count("SELECT count(*) FROM orders").await, 1);
}

#[tokio::test]
async fn an_order_without_an_idempotency_key_is_refused_naming_the_header() {
    let h = harness(2).await;
    let (_, token) = testkit::auth::partner_token(&h.client, "P-00001").await;
    let mut ev = as_caller(testkit::event("orders-api/place-order.json"), &token);
    ev["headers"].as_object_mut().unwrap().remove("idempotency-key");
    let resp = h.call(ev).await;
    assert_eq!(status(&resp), 400);
    assert_eq!(body(&resp)["errors"][0]["field"], "Idempotency-Key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_requests_with_one_key_make_exactly_one_order() {
    let h = harness(16).await;
    let (_, token) = testkit::auth::partner_token(&h.client, "P-00003").await;
    let ev = order_event(&token, "storm-1", json!([{ "sku": "SHM-00001", "quantity": 1 }]));
    let calls = (0..50).map(|_| {
        let (rt, api, ev) = (h.rt.clone(), h.api.clone(), ev.clone());
        tokio::spawn(async move { call(&rt, &api, ev).await })
    });
    let responses: Vec<Value> = join_all(calls).await.into_iter().map(Result::unwrap).collect();
    let mut ids = HashSet::new();
    for r in &responses {
        match status(r) {
            201 => {
                ids.insert(body(r)["id"].as_str().unwrap().to_string());
            }
            409 => {
                assert_eq!(body(r)["type"], "urn:niaga:problem:request-in-flight", "{r}");
                assert!(r["headers"]["retry-after"].is_string(), "{r}");
            }
            other => panic!("unexpected {other}: {r}"),
        }
    }
    assert_eq!(ids.len(), 1, "every 201 names the same order");
    assert_eq!(h.count("SELECT count(*) FROM orders").await, 1);
    assert_eq!(h.count("SELECT count(*) FROM idempotency_keys").await, 1);
}

#[tokio::test]
async fn a_request_that_fails_after_commit_replays_on_retry_and_makes_no_second_order() {
    let lost = std::cell::OnceCell::new();
    let h = harness_over(2, false, |orders| {
        lost.get_or_init(|| LosesAnswers::new(orders)).clone()
    })
    .await;
    let (_, token) = testkit::auth::partner_token(&h.client, "P-00004").await;
    let ev = order_event(&token, "crash-1", json!([{ "sku": "SHM-00001", "quantity": 3 }]));
    lost.get().expect("the store was wrapped").after_commit(1);
    let crashed = h.call(ev.clone()).await;
    assert_eq!(status(&crashed), 503, "{crashed}");
    assert_eq!(h.count("SELECT count(*) FROM orders").await, 1, "the commit happened");
    let retry = h.call(ev).await;
    assert_eq!(status(&retry), 201, "{retry}");
    assert_eq!(retry["headers"]["idempotent-replayed"], "true");
    assert_eq!(h.count("SELECT count(*) FROM orders").await, 1);
    assert_eq!(h.count("SELECT count(*) FROM outbox").await, 1);
}

/// 200 concurrent orders for one unit each of a SKU with 55 on hand and a buffer of 5, in one warehouse.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flash_sale_sells_exactly_the_sellable_stock_and_refuses_the_rest_naming_the_sku() {
    let h = harness(16).await;
    let sku = "SRM-00004";
    h.client
        .batch_execute(&format!(
            "DELETE FROM inventory WHERE sku = '{sku}';
             INSERT INTO inventory (warehouse_code, sku, on_hand, reserved, buffer) VALUES ('JKT-CKR', '{sku}', 55, 0, 5);"
        ))
        .await
        .unwrap();
    let codes: Vec<String> = (1..=40).map(|i| format!("P-{i:05}")).collect();
    let mut tokens = Vec::new();
    for c in &codes {
        tokens.push(testkit::auth::partner_token(&h.client, c).await.1);
    }
    let calls = (0..200).map(|i| {
        let ev = order_event(
            &tokens[i % tokens.len()],
            &format!("flash-{i}"),
            json!([{ "sku": sku, "quantity": 1 }]),
        );
        let (rt, api) = (h.rt.clone(), h.api.clone());
        tokio::spawn(async move { call(&rt, &api, ev).await })
    });
    let responses: Vec<Value> = join_all(calls).await.into_iter().map(Result::unwrap).collect();
    let (mut sold, mut refused) = (0, 0);
    for r in &responses {
        match status(r) {
            201 => sold += 1,
            409 => {
                let b = body(r);
                assert_eq!(b["type"], "urn:niaga:problem:out-of-stock", "{r}");
                assert_eq!(b["skus"], json!([sku]));
                assert!(b["detail"].as_str().unwrap().contains(sku));
                assert_eq!(r["headers"]["content-type"], "application/problem+json");
                refused += 1;
            }
            other => panic!("unexpected {other} (no 5xx, no deadlock): {r}"),
        }
    }
    assert_eq!((sold, refused), (50, 150));
    assert_eq!(h.stock(sku).await, (50, 55, 5));
    assert_eq!(
        h.count("SELECT coalesce(sum(quantity), 0)::int8 FROM order_lines WHERE sku = 'SRM-00004'")
            .await,
        50
    );
    assert_eq!(
        h.count("SELECT count(*) FROM inventory WHERE reserved > 0 AND reserved > on_hand - buffer")
            .await,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_orders_from_one_partner_never_push_open_exposure_past_the_credit_limit() {
    let h = harness(16).await;
    let (p, token) = testkit::auth::partner_token(&h.client, "P-00005").await;
    // Room for exactly three orders of 10 units of SHM-00001 at this partner's price.
    let quote = h
        .call(as_caller(
            {
                let mut ev = testkit::event("orders-api/create-quote.json");
                ev["body"] = json!({ "lines": [{ "sku": "SHM-00001", "quantity": 10 }] })
                    .to_string()
                    .into();
                ev
            },
            &token,
        ))
        .await;
    // What an order owes, PPN included, is what counts against credit.
    let each = body(&quote)["total_incl_tax"].as_i64().unwrap();
    h.client
        .execute(
            "UPDATE partners SET credit_limit = $1, erp_debt = $2 WHERE id = $3",
            &[&(1_000_000i64 + each * 3 + each / 2), &1_000_000i64, &p.id],
        )
        .await
        .unwrap();
    let calls = (0..12).map(|i| {
        let ev = order_event(
            &token,
            &format!("credit-{i}"),
            json!([{ "sku": "SHM-00001", "quantity": 10 }]),
        );
        let (rt, api) = (h.rt.clone(), h.api.clone());
        tokio::spawn(async move { call(&rt, &api, ev).await })
    });
    let responses: Vec<Value> = join_all(calls).await.into_iter().map(Result::unwrap).collect();
    let placed = responses.iter().filter(|r| status(r) == 201).count();
    assert_eq!(placed, 3, "{responses:?}");
    for r in responses.iter().filter(|r| status(r) != 201) {
        assert_eq!(status(r), 422, "{r}");
        let b = body(r);
        assert_eq!(b["type"], "urn:niaga:problem:credit-limit-exceeded");
        assert!(b["short_by"].as_i64().unwrap() > 0);
        assert_eq!(b["short_by"].as_i64().unwrap(), each - b["available"].as_i64().unwrap());
    }
    let open: i64 = h
        .client
        .query_one(
            "SELECT coalesce(sum(total_incl_tax), 0)::int8 FROM orders
             WHERE partner_id = $1 AND status = 'pending_payment'",
            &[&p.id],
        )
        .await
        .unwrap()
        .get(0);
    assert!(open <= each * 3 + each / 2, "open exposure {open} within the limit");
}

#[tokio::test]
async fn an_order_below_the_minimum_is_refused_saying_by_how_much() {
    let h = harness(2).await;
    h.client
        .execute(
            "UPDATE system_config SET value = '100000000' WHERE key = 'pricing.minimum_order_total'",
            &[],
        )
        .await
        .unwrap();
    let (_, token) = testkit::auth::partner_token(&h.client, "P-00001").await;
    let resp = h
        .call(order_event(
            &token,
            "min-1",
            json!([{ "sku": "SHM-00001", "quantity": 1 }]),
        ))
        .await;
    assert_eq!(status(&resp), 422, "{resp}");
    let b = body(&resp);
    assert_eq!(b["type"], "urn:niaga:problem:below-minimum-order");
    assert_eq!(
        b["short_by"].as_i64().unwrap(),
        100_000_000 - b["total"].as_i64().unwrap()
    );
    assert_eq!(h.count("SELECT count(*) FROM orders").await, 0);
}

#[tokio::test]
async fn malformed_bodies_are_400s_naming_the_field_and_change_nothing() {
    let h = harness(2).await;
    let (_, token) = testkit::auth::partner_token(&h.client, "P-00001").await;
    let resp = h
        .call(as_caller(
            testkit::event("orders-api/place-order-malformed-body.json"),
            &token,
        ))
        .await;
    assert_eq!(status(&resp), 400, "{resp}");
    assert_eq!(body(&resp)["errors"][0]["field"], "lines[0].quantity");
    for (lines, field) in [
        (json!([{ "sku": "SHM-00001", "quantity": -3 }]), "lines[0].quantity"),
        (
            json!([{ "sku": "SHM-00001", "quantity": 1_000_000_000 }]),
            "lines[0].quantity",
        ),
        (json!([{ "sku": "SHM-00001", "quantity": 1.5 }]), "lines[0].quantity"),
        (
            json!([{ "sku": "x'; DROP TABLE orders;--", "quantity": 1 }]),
            "lines[0].sku",
        ),
        (json!([]), "lines"),
        (json!("SHM-00001"), "lines"),
    ] {
        let resp = h.call(order_event(&token, "bad-1", lines)).await;
        assert_eq!(status(&resp), 400, "{resp}");
        assert_eq!(body(&resp)["errors"][0]["field"], field, "{resp}");
    }
    let mut ev = order_event(&token, "bad-2", json!([]));
    ev["body"] = "{\"lines\": [".into();
    assert_eq!(status(&h.call(ev).await), 400);
    assert_eq!(h.count("SELECT count(*) FROM orders").await, 0);
    assert_eq!(h.count("SELECT count(*) FROM idempotency_keys").await, 0);
}

#[tokio::test]
async fn cancelling_releases_the_reservation_and_a_second_cancel_is_a_409() {
    let h = harness(2).await;
    let (_, token) = testkit::auth::partner_token(&h.client, "P-00006").await;
    let before = h.stock("SHM-00001").await;
    let placed = h
        .call(order_event(
            &token,
            "cancel-1",
            json!([{ "sku": "SHM-00001", "quantity": 4 }]),
        ))
        .await;
    let id = body(&placed)["id"].as_str().unwrap().to_string();
    assert_eq!(h.stock("SHM-00001").await.0, before.0 + 4);
    let cancel = |id: &str| {
        let mut ev = as_caller(testkit::event("orders-api/cancel-order.json"), &token);
        ev["rawPath"] = format!("/orders/{id}/cancel").into();
        ev["requestContext"]["http"]["path"] = format!("/orders/{id}/cancel").into();
        ev
    };
    let first = h.call(cancel(&id)).await;
    assert_eq!(status(&first), 200, "{first}");
    assert_eq!(body(&first)["status"], "cancelled");
    assert_eq!(h.stock("SHM-00001").await.0, before.0);
    let second = h.call(cancel(&id)).await;
    assert_eq!(status(&second), 409, "{second}");
    assert_eq!(body(&second)["type"], "urn:niaga:problem:illegal-transition");
    assert_eq!(h.stock("SHM-00001").await.0, before.0);
    assert_eq!(
        h.count("SELECT count(*) FROM outbox WHERE event_type = 'order.cancelled'")
            .await,
        1
    );
}

#[tokio::test]
async fn listing_pages_through_the_callers_orders_newest_first_and_only_theirs() {
    let h = harness(2).await;
    let (_, mine) = testkit::auth::partner_token(&h.client, "P-00007").await;
    let (_, theirs) = testkit::auth::partner_token(&h.client, "P-00008").await;
    for i in 0..5 {
        let r = h
            .call(order_event(
                &mine,
                &format!("list-{i}"),
                json!([{ "sku": "SHM-00001", "quantity": 1 }]),
            ))
            .await;
        assert_eq!(status(&r), 201);
    }
    h.call(order_event(
        &theirs,
        "other-1",
        json!([{ "sku": "SHM-00001", "quantity": 1 }]),
    ))
    .await;
    let mut seen = Vec::new();
    let mut query = "limit=2".to_string();
    loop {
        let mut ev = as_caller(testkit::event("orders-api/list-orders.json"), &mine);
        ev["rawQueryString"] = query.clone().into();
        let r = h.call(ev).await;
        assert_eq!(status(&r), 200, "{r}");
        let b = body(&r);
        for o in b["items"].as_array().unwrap() {
            seen.push((
                o["placed_at"].as_str().unwrap().to_string(),
                o["id"].as_str().unwrap().to_string(),
            ));
        }
        match b["next_cursor"].as_str() {
            Some(c) => query = format!("limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "newest first");
}
