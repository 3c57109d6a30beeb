//! Helpers shared by xtask's integration tests.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;

/// Any free loopback port.
pub fn any_port() -> SocketAddr {
    ([127, 0, 0, 1], 0).into()
}

/// The `hello-lambda` debug binary, which `cargo xtask test` builds before the tests run.
pub fn hello_bin() -> PathBuf {
    let path = xtask::bin_path("debug", "hello-lambda");
    assert!(
        path.exists(),
        "{} is missing: build it with `cargo build -p hello-lambda` (`cargo xtask test` builds every binary first)",
        path.display()
    );
    path
}

pub mod plan;
