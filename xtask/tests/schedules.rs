//! Every schedule in niaga.json fires at the Jakarta (WIB, UTC+7) times its `wib` text promises. Expressions are
//! UTC, as EventBridge reads them; these cases are written in WIB, converted, and checked against the same
//! evaluator the local gateway fires schedules with, across day, month and year boundaries.

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use xtask::cron::Schedule;
use xtask::manifest::Manifest;

fn wib(s: &str) -> DateTime<Utc> {
    FixedOffset::east_opt(7 * 3600)
        .unwrap()
        .from_local_datetime(&chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

/// (schedule, after this WIB time, the next firing in WIB).
const CASES: &[(&str, &str, &str)] = &[
    // Business hours only: the first ping at 07:00, the last at 18:55, none in the evening.
    ("warmup", "2026-11-30 06:59", "2026-11-30 07:00"),
    ("warmup", "2026-11-30 18:50", "2026-11-30 18:55"),
    ("warmup", "2026-11-30 18:55", "2026-12-01 07:00"),
    ("order-expiry", "2026-11-30 23:58", "2026-12-01 00:00"),
    ("outbox-sweep", "2026-11-30 23:59", "2026-12-01 00:00"),
    ("stock-sync", "2026-11-30 10:00", "2026-11-30 10:05"),
    // Nightly jobs, each on the WIB calendar day, across a month boundary.
    ("price-sync", "2026-11-30 00:00", "2026-12-01 00:00"),
    ("price-sync", "2026-11-30 23:59", "2026-12-01 00:00"),
    ("cleanup", "2026-11-30 03:00", "2026-12-01 02:00"),
    ("partition", "2026-12-31 02:00", "2027-01-01 01:30"),
    // Just after midnight on the 1st, whatever the length of the month that ended (and across a year).
    ("monthly-profit", "2026-11-15 12:00", "2026-12-01 00:05"),
    ("monthly-profit", "2026-12-01 00:05", "2027-01-01 00:05"),
    ("monthly-profit", "2027-01-20 00:00", "2027-02-01 00:05"),
    ("monthly-profit", "2027-02-10 00:00", "2027-03-01 00:05"),
    ("monthly-profit", "2028-02-10 00:00", "2028-03-01 00:05"),
];

#[test]
fn every_schedule_fires_at_the_local_times_it_promises_across_month_boundaries() {
    let manifest = Manifest::load_workspace().unwrap();
    for s in &manifest.schedules {
        assert!(
            CASES.iter().any(|(name, _, _)| *name == s.name),
            "schedule `{}` has no WIB expectations here",
            s.name
        );
    }
    for (name, after, expected) in CASES {
        let s = manifest
            .schedules
            .iter()
            .find(|s| s.name == *name)
            .unwrap_or_else(|| panic!("no schedule `{name}` in niaga.json"));
        // Rates are anchored at the local epoch of the case so their period shows.
        let schedule = Schedule::parse(&s.expression)
            .unwrap()
            .rate_anchor(wib("2026-01-01 00:00"));
        let next = schedule.next_after(wib(after)).unwrap();
        assert_eq!(
            next,
            wib(expected),
            "`{name}` ({}, {}) after {after} WIB",
            s.expression,
            s.wib
        );
    }
}
