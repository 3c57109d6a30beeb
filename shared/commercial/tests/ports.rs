//! The ports can be implemented by a plain in-memory adapter and their futures are `Send`, as a Lambda handler
//! on a multi-threaded runtime needs.

use commercial::{quote, CartLine, PriceLists, PricingPolicy, PricingSettings};
use kernel::{Money, Quantity, Sku, Tier};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

struct InMemory {
    prices: BTreeMap<(Tier, Sku), Money>,
}

impl PriceLists for InMemory {
    async fn list_prices(&self, tier: Tier, skus: &[Sku]) -> anyhow::Result<BTreeMap<Sku, Money>> {
        Ok(skus
            .iter()
            .filter_map(|s| self.prices.get(&(tier, s.clone())).map(|p| (s.clone(), *p)))
            .collect())
    }
}

impl PricingSettings for InMemory {
    async fn pricing_policy(&self) -> anyhow::Result<PricingPolicy> {
        Ok(PricingPolicy::new(
            Tier::ALL.map(|t| (t, 9_000)),
            Money::from_minor(100),
        )?)
    }
}

/// Drives a future that never waits; enough for an in-memory adapter, and keeps tokio out of this crate.
fn ready<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("an in-memory adapter never waits"),
    }
}

fn assert_send<T: Send>(t: T) -> T {
    t
}

#[test]
fn an_in_memory_adapter_feeds_the_engine_through_send_futures() {
    let a = Sku::parse("SHM-00001").unwrap();
    let b = Sku::parse("SHM-00002").unwrap();
    let store = InMemory {
        prices: BTreeMap::from([((Tier::Gold, a.clone()), Money::from_minor(1_000))]),
    };
    let skus = [a.clone(), b.clone()];
    let prices = ready(assert_send(store.list_prices(Tier::Gold, &skus))).unwrap();
    // An unpriced SKU is simply absent.
    assert_eq!(prices.keys().collect::<Vec<_>>(), [&a]);
    let policy = ready(assert_send(store.pricing_policy())).unwrap();
    let cart = [CartLine {
        sku: a,
        quantity: Quantity::new(2).unwrap(),
    }];
    let q = quote(Tier::Gold, &cart, &prices, &policy).unwrap();
    assert_eq!(q.total, Money::from_minor(1_800));
}
