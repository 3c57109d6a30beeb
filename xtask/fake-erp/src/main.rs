//! `fake-erp [--port N]`: runs the fake ERP on 127.0.0.1 (port 7070 unless told) until Ctrl-C.

use anyhow::{bail, Context as _};
use fake_erp::FakeErp;
use std::net::{Ipv4Addr, SocketAddr};

const DEFAULT_PORT: u16 = 7070;
const USAGE: &str = "usage: fake-erp [--port N]   (default port 7070; admin API under /_fake)";

fn port_from(args: impl IntoIterator<Item = String>) -> anyhow::Result<Option<u16>> {
    let mut args = args.into_iter();
    let mut port = DEFAULT_PORT;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" | "-p" => {
                let value = args.next().context("--port needs a value")?;
                port = value.parse().with_context(|| format!("not a port: {value}"))?;
            }
            "--help" | "-h" => return Ok(None),
            other => bail!("unknown argument `{other}`\n{USAGE}"),
        }
    }
    Ok(Some(port))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Some(port) = port_from(std::env::args().skip(1))? else {
        println!("{USAGE}");
        return Ok(());
    };
    let erp = FakeErp::start(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
    println!("fake ERP listening on {}", erp.url());
    tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
    erp.stop().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_port_defaults_to_7070_and_can_be_chosen() {
        assert_eq!(port_from(args(&[])).unwrap(), Some(7070));
        assert_eq!(port_from(args(&["--port", "9000"])).unwrap(), Some(9000));
    }

    #[test]
    fn a_bad_port_or_unknown_argument_is_an_error() {
        assert!(port_from(args(&["--port", "x"])).is_err());
        assert!(port_from(args(&["--port"])).is_err());
        assert!(port_from(args(&["--verbose"])).is_err());
    }
}
