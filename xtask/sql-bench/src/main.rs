//! The bare-SQL baseline for `cargo xtask bench`: the checkout transaction in `xtask/bench/checkout.sql`, run
//! through tokio-postgres with nothing else around it, so the orders benchmark can report Niaga's server-side time
//! as a ratio to the SQL it runs.
//!
//! It reads the pgbench script format that pgbench itself runs in the throughput comparison: `\set name
//! random(lo, hi)` lines, then one statement per `;`-terminated chunk, with `:name` replaced by its value. Every
//! statement is sent on its own, one round trip each, as the function sends them.
//!
//! Usage: `sql-bench <postgres-url> <script> <transactions> [name=value ...]`. Prints one latency per line, in
//! microseconds.

use std::collections::BTreeMap;
use std::time::Instant;

enum Step {
    Set { name: String, lo: i64, hi: i64 },
    Sql(String),
}

fn parse(script: &str) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    let mut sql = String::new();
    for line in script.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with("--") {
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix("\\set ") {
            let (name, expr) = rest.split_once(' ').ok_or(format!("bad \\set: {trimmed}"))?;
            let args = expr
                .trim()
                .strip_prefix("random(")
                .and_then(|a| a.strip_suffix(')'))
                .ok_or(format!("only random(lo, hi) is supported: {trimmed}"))?;
            let (lo, hi) = args.split_once(',').ok_or(format!("bad random(): {trimmed}"))?;
            steps.push(Step::Set {
                name: name.to_string(),
                lo: lo.trim().parse().map_err(|e| format!("{trimmed}: {e}"))?,
                hi: hi.trim().parse().map_err(|e| format!("{trimmed}: {e}"))?,
            });
            continue;
        }
        sql.push_str(line);
        sql.push('\n');
        if trimmed.ends_with(';') {
            steps.push(Step::Sql(std::mem::take(&mut sql)));
        }
    }
    Ok(steps)
}

/// Replaces `:name` with its value, longest names first so `:sku` never eats `:sku_count`.
fn substitute(sql: &str, vars: &BTreeMap<String, String>) -> String {
    let mut names: Vec<&String> = vars.keys().collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    let mut out = sql.to_string();
    for n in names {
        out = out.replace(&format!(":{n}"), &vars[n]);
    }
    out
}

/// SplitMix64: enough randomness for picking partners and keys.
struct Rng(u64);

impl Rng {
    fn between(&mut self, lo: i64, hi: i64) -> i64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        lo + (z % ((hi - lo + 1) as u64)) as i64
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, script, transactions, defines @ ..] = args.as_slice() else {
        return Err("usage: sql-bench <postgres-url> <script> <transactions> [name=value ...]".into());
    };
    let steps = parse(&std::fs::read_to_string(script)?)?;
    let transactions: usize = transactions.parse()?;
    let mut vars: BTreeMap<String, String> = defines
        .iter()
        .filter_map(|d| d.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect();
    // Over TLS verified against DATABASE_CA, as the functions connect: the baseline pays the same handshake.
    let ca: store::CaBundle = std::env::var("DATABASE_CA")
        .map_err(|_| "DATABASE_CA (the cluster's CA certificate) is not set")?
        .parse()?;
    let client = store::pool::connect_once(url, store::TlsMode::VerifyFull, Some(&ca)).await?;
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos() as u64;
    let mut rng = Rng(seed);
    let mut out = String::with_capacity(transactions * 8);
    for _ in 0..transactions {
        let started = Instant::now();
        for step in &steps {
            match step {
                Step::Set { name, lo, hi } => {
                    vars.insert(name.clone(), rng.between(*lo, *hi).to_string());
                }
                Step::Sql(sql) => {
                    client.simple_query(&substitute(sql, &vars)).await?;
                }
            }
        }
        out.push_str(&format!("{}\n", started.elapsed().as_micros()));
    }
    print!("{out}");
    Ok(())
}
