//! The ERP's timestamps: `dd/mm/yyyy HH:MM:SS` in WIB (Western Indonesia Time, UTC+7), with no zone written.
//!
//! WIB has no daylight saving, so a fixed offset is exact, and every WIB wall-clock time names one instant.

use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};

const FORMAT: &str = "%d/%m/%Y %H:%M:%S";

const WIB: FixedOffset = match FixedOffset::east_opt(7 * 3600) {
    Some(offset) => offset,
    // Evaluated at compile time: +07:00 is in range, so this arm cannot be reached at run time.
    None => panic!("UTC+7 is a valid offset"),
};

/// An instant as the ERP writes it; sub-second precision is dropped (truncated).
pub(crate) fn format_wib(at: DateTime<Utc>) -> String {
    at.with_timezone(&WIB).format(FORMAT).to_string()
}

/// An ERP timestamp as an instant; `None` when it is not `dd/mm/yyyy HH:MM:SS` or names no such date.
pub(crate) fn parse_wib(text: &str) -> Option<DateTime<Utc>> {
    let local = NaiveDateTime::parse_from_str(text.trim(), FORMAT).ok()?;
    let at = local.and_local_timezone(WIB).single()?;
    Some(at.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn an_instant_is_written_seven_hours_ahead_of_utc() {
        let at = Utc.with_ymd_and_hms(2026, 11, 28, 3, 15, 7).unwrap();
        assert_eq!(format_wib(at), "28/11/2026 10:15:07");
    }

    #[test]
    fn a_utc_evening_is_already_the_next_day_in_jakarta() {
        let at = Utc.with_ymd_and_hms(2026, 12, 31, 20, 0, 0).unwrap();
        assert_eq!(format_wib(at), "01/01/2027 03:00:00");
    }

    #[test]
    fn sub_seconds_are_truncated_not_rounded() {
        let at = Utc.with_ymd_and_hms(2026, 11, 28, 3, 15, 7).unwrap() + chrono::Duration::milliseconds(999);
        assert_eq!(format_wib(at), "28/11/2026 10:15:07");
    }

    #[test]
    fn reading_is_the_inverse_of_writing() {
        let at = Utc.with_ymd_and_hms(2026, 11, 28, 3, 0, 0).unwrap();
        assert_eq!(parse_wib("28/11/2026 10:00:00"), Some(at));
        assert_eq!(parse_wib(&format_wib(at)), Some(at));
    }

    #[test]
    fn other_forms_and_impossible_dates_are_not_read() {
        for text in [
            "2026-11-28 10:00:00",
            "28/11/2026",
            "31/02/2026 10:00:00",
            "28/11/2026 25:00:00",
            "",
        ] {
            assert_eq!(parse_wib(text), None, "{text}");
        }
    }
}
