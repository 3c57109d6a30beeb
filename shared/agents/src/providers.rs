//! The ports agent work goes through, and the providers Niaga ships.
//!
//! [`SeoWriter`] is async and fallible because the provider worth plugging in is a hosted model behind the network;
//! [`TemplateSeoWriter`] is deterministic, so the same product always gets the same text and a redone chunk writes
//! what the first attempt would have.

use kernel::{Money, Sku};
use serde::Serialize;
use std::future::Future;

/// What a provider knows about one product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductFacts {
    pub sku: Sku,
    pub name: String,
    pub brand: String,
    pub category: String,
    pub unit: String,
    pub description: String,
    pub cost_price: Money,
    /// The current price in the job's tier, for price proposals.
    pub current_price: Option<Money>,
}

/// SEO text for one product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeoText {
    pub title: String,
    pub description: String,
}

impl SeoText {
    /// Search engines cut titles after about 60 characters.
    pub const TITLE_MAX: usize = 60;
    /// ...and meta descriptions after about 160.
    pub const DESCRIPTION_MAX: usize = 160;
}

/// A provider failed; the chunk is retried later.
#[derive(Debug, thiserror::Error)]
#[error("provider failed: {0}")]
pub struct ProviderError(pub String);

/// Writes SEO text.
///
/// Contract: MUST return text within [`SeoText::TITLE_MAX`] and [`SeoText::DESCRIPTION_MAX`] characters; MAY fail,
/// and the worker then retries the whole chunk, so it must be safe to call again for the same product.
pub trait SeoWriter: Send + Sync + 'static {
    fn write(&self, product: &ProductFacts) -> impl Future<Output = Result<SeoText, ProviderError>> + Send;
}

/// The shipped writer: fills Indonesian templates from the product's attributes.
#[derive(Debug, Clone, Copy, Default)]
pub struct TemplateSeoWriter;

impl SeoWriter for TemplateSeoWriter {
    async fn write(&self, p: &ProductFacts) -> Result<SeoText, ProviderError> {
        Ok(template_seo(p))
    }
}

/// The template writer's text for `p`.
pub fn template_seo(p: &ProductFacts) -> SeoText {
    let title = clip(
        &format!("{} {} - Grosir {} | Niaga", p.brand, p.name, p.category),
        SeoText::TITLE_MAX,
    );
    let mut description = format!(
        "Beli {} dari {} harga grosir untuk mitra, per {}. Kategori {}, stok dari gudang terdekat.",
        p.name, p.brand, p.unit, p.category
    );
    if !p.description.is_empty() {
        description = format!("{} {description}", p.description.trim());
    }
    SeoText {
        title,
        description: clip(&description, SeoText::DESCRIPTION_MAX),
    }
}

/// `s` in at most `max` characters, cut at a word boundary with an ellipsis when it had to be cut.
fn clip(s: &str, max: usize) -> String {
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() <= max {
        return s;
    }
    let budget = max.saturating_sub(1);
    let mut out = String::new();
    for word in s.split(' ') {
        let extra = word.chars().count() + usize::from(!out.is_empty());
        if out.chars().count() + extra > budget {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    if out.is_empty() {
        out = s.chars().take(budget).collect();
    }
    out.push('…');
    out
}

/// Proposes a tier price for a product.
///
/// Contract: returns `None` when it has nothing to propose (no cost price); a proposal is never applied by the
/// caller, only stored for an admin.
pub trait PriceAdvisor: Send + Sync + 'static {
    fn propose(&self, product: &ProductFacts, target_margin_bp: u32) -> Option<Money>;
}

/// The shipped advisor: cost price plus the target margin, rounded up to whole hundreds of rupiah.
#[derive(Debug, Clone, Copy, Default)]
pub struct MarginAdvisor;

impl MarginAdvisor {
    /// Proposed prices are whole multiples of this many minor units (Rp 100).
    pub const ROUND_TO: i64 = 100;
}

impl PriceAdvisor for MarginAdvisor {
    fn propose(&self, p: &ProductFacts, target_margin_bp: u32) -> Option<Money> {
        let cost = i128::from(p.cost_price.minor());
        if cost <= 0 {
            return None;
        }
        let raw = (cost * (10_000 + i128::from(target_margin_bp)) + 9_999) / 10_000;
        let step = i128::from(Self::ROUND_TO);
        let rounded = (raw + step - 1) / step * step;
        i64::try_from(rounded).ok().map(Money::from_minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn product(name: &str, cost: i64) -> ProductFacts {
        ProductFacts {
            sku: Sku::parse("SHM-00001").unwrap(),
            name: name.into(),
            brand: "Makarizo".into(),
            category: "Perawatan Rambut".into(),
            unit: "botol".into(),
            description: String::new(),
            cost_price: Money::from_minor(cost),
            current_price: None,
        }
    }

    #[test]
    fn the_template_writer_is_deterministic_and_within_limits() {
        let p = product(
            "Shampoo Aloe Vera 1 Liter Ekstra Lembut untuk Salon Profesional",
            10_000,
        );
        let a = template_seo(&p);
        assert_eq!(a, template_seo(&p));
        assert!(a.title.chars().count() <= SeoText::TITLE_MAX, "{}", a.title);
        assert!(a.description.chars().count() <= SeoText::DESCRIPTION_MAX);
        assert!(a.title.starts_with("Makarizo Shampoo"));
        assert!(a.title.ends_with('…'), "a long title is cut at a word: {}", a.title);
    }

    #[test]
    fn the_margin_advisor_rounds_up_to_hundreds() {
        // 12,345 × 1.25 = 15,431.25 → 15,500.
        assert_eq!(
            MarginAdvisor.propose(&product("x", 12_345), 2500),
            Some(Money::from_minor(15_500))
        );
        assert_eq!(MarginAdvisor.propose(&product("x", 0), 2500), None);
    }

    proptest! {
        #[test]
        fn clipped_text_fits_and_keeps_a_prefix(s in "[a-zA-Z ]{0,300}", max in 2usize..200) {
            let c = clip(&s, max);
            prop_assert!(c.chars().count() <= max);
            let normal = s.split_whitespace().collect::<Vec<_>>().join(" ");
            prop_assert!(normal.starts_with(c.trim_end_matches('…')));
        }

        #[test]
        fn a_proposal_never_falls_below_the_target_margin(cost in 1i64..10_000_000_000, bp in 0u32..50_000) {
            let p = MarginAdvisor.propose(&product("x", cost), bp).unwrap().minor();
            prop_assert!(i128::from(p) * 10_000 >= i128::from(cost) * (10_000 + i128::from(bp)));
            prop_assert_eq!(p % MarginAdvisor::ROUND_TO, 0);
        }
    }
}
