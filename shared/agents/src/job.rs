//! Job kinds, statuses and the chunk plan.
//!
//! A job works through its items in order, one chunk at a time. The number of items done is the job's checkpoint:
//! a chunk's outputs and the checkpoint's advance are committed together, so a worker that dies mid-chunk leaves the
//! checkpoint where it was and the next worker redoes only that chunk, never a finished one.

use kernel::Tier;
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// An SEO title and description for each product, from its attributes.
    GenerateProductSeo,
    /// A proposed tier price for each product, stored for an admin to approve.
    BulkPriceProposal,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown job type `{0}`; expected generate_product_seo or bulk_price_proposal")]
pub struct KindError(pub String);

impl JobKind {
    pub const ALL: [JobKind; 2] = [JobKind::GenerateProductSeo, JobKind::BulkPriceProposal];

    pub const fn as_str(self) -> &'static str {
        match self {
            JobKind::GenerateProductSeo => "generate_product_seo",
            JobKind::BulkPriceProposal => "bulk_price_proposal",
        }
    }

    pub fn parse(s: &str) -> Result<JobKind, KindError> {
        JobKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| KindError(s.to_string()))
    }
}

/// A job's parameters beyond its product set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum JobParams {
    GenerateProductSeo,
    BulkPriceProposal {
        /// The price list the proposals are for.
        tier: Tier,
        /// The margin over cost price to aim for, in basis points (2500 = 25%).
        target_margin_bp: u32,
    },
}

impl JobParams {
    /// The highest target margin a proposal may aim for: 500%.
    pub const MAX_MARGIN_BP: u32 = 50_000;

    pub fn kind(&self) -> JobKind {
        match self {
            JobParams::GenerateProductSeo => JobKind::GenerateProductSeo,
            JobParams::BulkPriceProposal { .. } => JobKind::BulkPriceProposal,
        }
    }
}

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Stored and enqueued; no chunk done yet.
    Queued,
    /// At least one chunk done.
    Running,
    /// Every item done.
    Succeeded,
}

impl JobStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
        }
    }

    pub fn parse(s: &str) -> Option<JobStatus> {
        [JobStatus::Queued, JobStatus::Running, JobStatus::Succeeded]
            .into_iter()
            .find(|k| k.as_str() == s)
    }

    /// The status after `done` of `total` items.
    pub fn after(done: usize, total: usize) -> JobStatus {
        match done {
            0 => JobStatus::Queued,
            d if d >= total => JobStatus::Succeeded,
            _ => JobStatus::Running,
        }
    }
}

/// The items of the next chunk once `done` of `total` items are done, or `None` when the job is finished.
/// Chunks are fixed by position, so every worker that resumes from the same checkpoint takes the same chunk.
pub fn next_chunk(done: usize, total: usize, chunk_size: usize) -> Option<Range<usize>> {
    (done < total && chunk_size > 0).then(|| done..total.min(done.saturating_add(chunk_size)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn kinds_round_trip_through_their_names() {
        for k in JobKind::ALL {
            assert_eq!(JobKind::parse(k.as_str()), Ok(k));
        }
        assert!(JobKind::parse("delete_everything").is_err());
    }

    #[test]
    fn status_follows_the_checkpoint() {
        assert_eq!(JobStatus::after(0, 10), JobStatus::Queued);
        assert_eq!(JobStatus::after(3, 10), JobStatus::Running);
        assert_eq!(JobStatus::after(10, 10), JobStatus::Succeeded);
    }

    proptest! {
        #[test]
        fn chunks_cover_every_item_once_in_order(total in 0usize..5000, size in 1usize..300) {
            let (mut done, mut seen) = (0, 0);
            while let Some(r) = next_chunk(done, total, size) {
                prop_assert_eq!(r.start, done);
                prop_assert!(r.len() <= size && !r.is_empty());
                seen += r.len();
                done = r.end;
            }
            prop_assert_eq!(seen, total);
            prop_assert_eq!(done, total);
        }
    }
}
