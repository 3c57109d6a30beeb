//! Test support shared by the unit tests: this crate has no async runtime, and needs none to drive futures
//! that are ready on their first poll.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// Polls `fut` to completion with a no-op waker. The fakes in these tests never return `Pending`, so the loop runs
/// once; it would spin, not hang silently, if one ever did.
pub(crate) fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

/// Compiles only for `Send` values; used to pin down that the crate's futures can run on a multi-threaded runtime.
pub(crate) fn assert_send<T: Send>(_: &T) {}
